"""``floe logs``' port: the run log value objects, the unknown-run error, the runtime's hook."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from floe_orchestration_core.errors import RuntimeServiceError
from floe_orchestration_core.run_log import RunBrief, RunLog, RunNotFoundError
from floe_orchestration_core.runtime import (
    InstanceStorage,
    LocalRuntime,
    ProductWorkspace,
    RuntimeStatus,
    StopReport,
)

STARTED = datetime(2026, 12, 7, 19, 51, 58, tzinfo=UTC)
FIRST = RunBrief("01a37eda-e8d5-42ff", "__ASSET_JOB", "success", STARTED)
SECOND = RunBrief("01a3ffff-0000-4000", "daily", "failure", None)


class _NoLogsRuntime(LocalRuntime):
    """A runtime that does not implement ``_run_log``."""

    def _start(self, *_: object) -> int:
        return 0

    def _stop(self, workspace: ProductWorkspace, timeout: float) -> StopReport:
        return StopReport(was_running=False)

    def _status(self, workspace: ProductWorkspace) -> RuntimeStatus:
        raise NotImplementedError


class _LogsRuntime(_NoLogsRuntime):
    def __init__(self) -> None:
        self.asked: list[str] = []

    def _run_log(self, workspace: ProductWorkspace, run_id: str) -> RunLog:
        self.asked.append(run_id)
        return RunLog(run_id=run_id, job="j", status="success", started=None, ended=None)


def _workspace(tmp_path: Path) -> ProductWorkspace:
    return ProductWorkspace(
        product_dir=tmp_path,
        artifacts_path=tmp_path / "a.json",
        platform_manifest_path=None,
        storage=InstanceStorage(sqlite_dir=tmp_path),
        product_name="shop",
    )


def test_an_ambiguous_prefix_lists_the_runs_it_could_mean() -> None:
    error = RunNotFoundError.unknown("01a3", candidates=(FIRST, SECOND), ambiguous=True)

    assert str(error) == (
        "run id '01a3' is the start of 2 runs: 01a37eda (success, __ASSET_JOB, started "
        "2026-12-07T19:51:58+00:00), 01a3ffff (failure, daily); give more of the id"
    )
    assert error.candidates == (FIRST, SECOND)
    assert isinstance(error, RuntimeServiceError)


def test_an_unknown_id_offers_the_close_runs_and_the_latest() -> None:
    error = RunNotFoundError.unknown("01a38", candidates=(FIRST,), latest=(SECOND, FIRST))

    assert str(error).startswith(
        "no run '01a38' in the product's instance; did you mean 01a37eda (success, "
    )
    assert "; latest runs: 01a3ffff (failure, daily), 01a37eda " in str(error)
    assert error.latest == (SECOND, FIRST)
    assert error.run_id == "01a38"


def test_a_product_without_runs_says_how_to_start_one() -> None:
    assert str(RunNotFoundError.unknown("x")) == (
        "no run 'x': the product has no runs yet; start one with 'floe run'"
    )


def test_run_log_strips_the_id_and_refuses_a_blank_one(tmp_path: Path) -> None:
    runtime = _LogsRuntime()

    assert runtime.run_log(_workspace(tmp_path), " 01a37eda\n").run_id == "01a37eda"
    for blank in ("", "   "):
        with pytest.raises(RuntimeServiceError, match="a run id must be"):
            runtime.run_log(_workspace(tmp_path), blank)
    assert runtime.asked == ["01a37eda"]


def test_a_runtime_without_run_logs_says_so(tmp_path: Path) -> None:
    with pytest.raises(RuntimeServiceError, match="does not provide 'floe logs'"):
        _NoLogsRuntime().run_log(_workspace(tmp_path), "abc")
