"""``floe logs`` in-process, against a local runtime that answers with a known run log."""

from __future__ import annotations

import io
import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import ClassVar

import pytest

from floe_orchestration_core.plugin import Capability, PluginMetadata
from floe_orchestration_core.run_log import (
    CapturedOutput,
    RunBrief,
    RunLog,
    RunLogEntry,
    RunNotFoundError,
)
from floe_orchestration_core.runtime import (
    LocalRuntime,
    ProductWorkspace,
    RuntimeStatus,
    StopReport,
)
from floe_orchestration_core.testing.fakes import InMemoryOrchestrator
from floe_registry.cli.app import main
from floe_registry.loading import register

T0 = datetime(2026, 12, 7, 19, 51, 58, tzinfo=UTC)
RUN_ID = "01a37eda-e8d5-42ff-b288-1af40461e715"
LOG = RunLog(
    run_id=RUN_ID,
    job="__ASSET_JOB",
    status="failure",
    started=T0,
    ended=T0 + timedelta(seconds=6.25),
    entries=(
        RunLogEntry(T0, "run", "run started"),
        RunLogEntry(T0, "step", "step ingest started", step="ingest"),
        RunLogEntry(T0, "materialization", "materialized raw/orders", step="ingest"),
        RunLogEntry(
            T0 + timedelta(seconds=2),
            "step",
            "step dbt FAILED: Database Error in model orders\n  column x does not exist",
            "error",
            "dbt",
            "Traceback (most recent call last):\n  File dbt.py\nDbtError: column x",
        ),
        RunLogEntry(T0 + timedelta(seconds=6), "run", "run failed", "error"),
    ),
    output=(
        CapturedOutput(("ingest",), "loaded 3 files\n", ""),
        CapturedOutput(("dbt",), "Running with dbt=1.11\n", "dbt: error\n"),
    ),
)


class _Runtime(LocalRuntime):
    def _start(self, *_: object) -> int:
        return 0

    def _stop(self, workspace: ProductWorkspace, timeout: float) -> StopReport:
        return StopReport(was_running=False)

    def _status(self, workspace: ProductWorkspace) -> RuntimeStatus:
        raise NotImplementedError

    def _run_log(self, workspace: ProductWorkspace, run_id: str) -> RunLog:
        if RUN_ID.startswith(run_id):
            return LOG
        raise RunNotFoundError.unknown(
            run_id, latest=(RunBrief(RUN_ID, "__ASSET_JOB", "failure", T0),)
        )


class _LogsOrchestrator(InMemoryOrchestrator):
    metadata = PluginMetadata(name="with_logs", version="1", floe_api_version="1.0")
    capabilities: ClassVar[frozenset[Capability]] = frozenset({Capability.LOCAL_RUNTIME})

    def _local_runtime(self) -> LocalRuntime:
        return _Runtime()


@pytest.fixture
def product(tmp_path: Path) -> Iterator[Path]:
    (tmp_path / "manifest.yaml").write_text("orchestrator: with_logs\n", encoding="utf-8")
    with register(_LogsOrchestrator):
        yield tmp_path


def _main(*argv: str) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    code = main(list(argv), stdout=out, stderr=err)
    return code, out.getvalue(), err.getvalue()


def test_logs_print_the_header_each_event_and_each_process_output(product: Path) -> None:
    code, out, _ = _main("logs", "01a37eda", str(product))

    assert code == 0
    lines = out.splitlines()
    assert lines[0] == (
        f"run {RUN_ID} (__ASSET_JOB): FAILURE, started 2026-12-07T19:51:58+00:00, 6.2 s"
    )
    assert "19:51:58  materialized raw/orders" in lines
    assert "19:52:00  step dbt FAILED: Database Error in model orders" in lines
    assert "            column x does not exist" in lines  # continuation lines are indented
    assert "Traceback (most recent call last):" not in out  # only with --debug
    assert "--- stdout of the process running dbt ---" in lines
    assert "--- stderr of the process running dbt ---" in lines
    assert "--- stderr of the process running ingest ---" not in lines  # it printed nothing


def test_debug_adds_each_failure_s_whole_error(product: Path) -> None:
    code, out, _ = _main("logs", "01a37eda", str(product), "--debug")

    assert code == 0
    assert "          Traceback (most recent call last):" in out.splitlines()


def test_step_and_no_output_narrow_what_is_shown(product: Path) -> None:
    code, out, _ = _main("logs", RUN_ID, str(product), "--step", "ingest")
    assert code == 0
    assert "materialized raw/orders" in out
    assert "dbt" not in out.split("\n", 1)[1]
    assert "loaded 3 files" in out

    code, out, _ = _main("logs", RUN_ID, str(product), "--no-output")
    assert code == 0
    assert "---" not in out


def test_logs_json_has_iso_times_entries_and_output(product: Path) -> None:
    code, out, _ = _main("logs", "01a3", str(product), "--json")

    assert code == 0
    data = json.loads(out)
    assert data["started"] == "2026-12-07T19:51:58+00:00"
    assert data["ended"] == "2026-12-07T19:52:04.250000+00:00"
    assert data["duration_s"] == 6.25
    assert data["entries"][3] == {
        "time": "2026-12-07T19:52:00+00:00",
        "kind": "step",
        "message": "step dbt FAILED: Database Error in model orders\n  column x does not exist",
        "level": "error",
        "step": "dbt",
        "detail": "Traceback (most recent call last):\n  File dbt.py\nDbtError: column x",
    }
    assert data["output"][1] == {
        "steps": ["dbt"],
        "stdout": "Running with dbt=1.11\n",
        "stderr": "dbt: error\n",
    }


def test_an_unknown_run_is_an_input_error_naming_the_latest_runs(product: Path) -> None:
    code, _, err = _main("logs", "zzz", str(product))

    assert code == 2
    assert err.startswith("floe: error: no run 'zzz' in the product's instance; latest runs: ")
    assert "01a37eda (failure, __ASSET_JOB, started 2026-12-07T19:51:58+00:00)" in err


def test_a_missing_product_folder_hint_names_floe_logs(tmp_path: Path) -> None:
    code, _, err = _main("logs", "abc", str(tmp_path / "nope"))

    assert code == 2
    assert "e.g. 'floe logs examples/retail-analytics'" in err
