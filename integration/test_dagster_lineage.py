"""Run-time lineage of a real ``dbt build`` on DuckDB through Dagster, validated against the spec.

One module-scoped run of the product of ``dagster_product`` (copied; lineage enabled in its
floe.yaml) with two additions that fail: a model whose SQL fails at run time (``stg_broken``) and
a payment with an unknown method, so that ``stg_payments``' error-severity ``accepted_values``
test fails (which blocks ``orders`` and ``customers``). The warn-severity test on customers'
emails fails too, as always. The Dagster run is executed in process with
:class:`~floe_orchestrator_dagster.lineage.runs.RunLineage`, as ``floe run`` does.

Events go to an in-memory backend and, when the OpenLineage backend is installed, to its file
transport too; every line of that file must validate against the OpenLineage 2-0-2 JSON Schemas
in ``../shared/specs/openlineage`` with format checking on (uuid, date-time, uri), using
``../shared/tools/ol_validate.py``. When the ``jsonschema`` format extras are not installed,
the test registers equivalent uuid, date-time and uri checks itself (the validator refuses to
run without them).
"""

from __future__ import annotations

import importlib
import json
import re
import sys
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

import dagster as dg
import pytest

from floe_orchestration_core.artifacts import CompiledArtifacts, load_artifacts
from floe_orchestration_core.lineage import LineageBackendPlugin, LineageEvent, RunState
from floe_orchestration_core.plugin import PluginMetadata
from floe_orchestration_core.testing import InMemoryLineageBackend
from floe_orchestrator_dagster.lineage.runs import RunLineage
from floe_orchestrator_dagster.plugin import DagsterOrchestratorPlugin
from harness import (
    BAD_PAYMENT,
    GOOD_PAYMENTS,
    ProductCopy,
    compile_product,
    path_with_venv,
    run_dbt,
    write_landing_payments,
)

pytestmark = pytest.mark.slow

SHARED = Path(__file__).resolve().parents[2] / "shared"
PRODUCT = "floe-dagster-it"
FAILING_CHECK = "accepted_values_stg_payments_payment_method__credit_card__coupon__bank_transfer"
WARN_CHECK = "not_null_stg_customers_email"
BROKEN_SQL = "{{ config(materialized='table') }}\nselect cast('not a number' as integer) as x\n"


class _Tee(LineageBackendPlugin):
    """Keeps every event in memory and hands it to a second backend (the OpenLineage one)."""

    metadata = PluginMetadata(name="tee", version="0", floe_api_version="1.0")

    def __init__(self, memory: InMemoryLineageBackend, other: LineageBackendPlugin | None) -> None:
        super().__init__(namespace="platform")
        self.memory, self.other = memory, other

    def _emit(self, event: LineageEvent) -> None:
        self.memory.emit(event)
        if self.other is not None:
            self.other.emit(event)

    def flush(self, timeout: float = 5.0) -> bool:
        return self.other.flush(timeout) if self.other is not None else True


def _openlineage_backend(events_file: Path) -> tuple[LineageBackendPlugin | None, str]:
    """The OpenLineage backend writing ``events_file``, through the registry (else through the
    class its entry point names, when the environment predates the entry point)."""
    config = {"transport": {"type": "file", "log_file_path": str(events_file), "append": True}}
    try:
        from floe_registry.platform import load_platform

        platform = load_platform(
            {
                "orchestrator": {"type": "dagster"},
                "lineage": {"type": "openlineage", "config": config},
            }
        )
        return platform.lineage_backend, ""
    except Exception as exc:
        reason = f"{type(exc).__name__}: {exc}"
    try:
        module = importlib.import_module("floe_lineage_openlineage.backend")
        backend: LineageBackendPlugin = module.OpenLineageBackend(**config)
        return backend, ""
    except Exception as exc:
        return (
            None,
            f"the OpenLineage backend is not usable ({reason}; {type(exc).__name__}: {exc})",
        )


@dataclass(frozen=True)
class LineageRun:
    artifacts: CompiledArtifacts
    result: dg.ExecuteInProcessResult
    events: tuple[LineageEvent, ...]
    dagster_run_lineage_id: uuid.UUID
    events_file: Path
    openlineage_missing: str


@pytest.fixture(scope="module")
def lineage_run(
    fresh_product: Callable[[], ProductCopy], tmp_path_factory: pytest.TempPathFactory
) -> LineageRun:
    product = fresh_product()
    root = tmp_path_factory.mktemp("lineage")
    floe_yaml = product.floe_yaml.read_text(encoding="utf-8")
    product.floe_yaml.write_text(
        floe_yaml.replace("enabled: false", "enabled: true"), encoding="utf-8"
    )
    (product.project_dir / "models" / "staging" / "stg_broken.sql").write_text(
        BROKEN_SQL, encoding="utf-8"
    )
    write_landing_payments(product.duckdb_path, (*GOOD_PAYMENTS, BAD_PAYMENT))
    run_dbt(product, "parse", "--target", "dev")
    artifacts = load_artifacts(compile_product(product, root / "compiled_artifacts.json"))
    assert artifacts.lineage.enabled

    events_file = root / "events.jsonl"
    openlineage, missing = _openlineage_backend(events_file)
    memory = InMemoryLineageBackend(namespace="platform")
    backend = _Tee(memory, openlineage)
    with (
        dg.DagsterInstance.ephemeral(tempdir=str(root / "dagster_home")) as instance,
        pytest.MonkeyPatch.context() as patch,
    ):
        patch.setenv("PATH", path_with_venv())
        for name, value in product.environment().items():
            patch.setenv(name, value)
        definitions = DagsterOrchestratorPlugin(lineage_backend=backend).create_definitions(
            artifacts
        )
        job = definitions.resolve_implicit_global_asset_job_def()
        lineage = RunLineage(backend, artifacts)
        run_id = str(uuid.uuid4())
        inline = lineage.started(run_id, job.name)
        result = job.execute_in_process(
            instance=instance, run_id=run_id, tags=dict(inline.tags), raise_on_error=False
        )
        failures = result.get_step_failure_events()
        error = failures[0].step_failure_data.error if failures else None
        lineage.finished(
            run_id, job.name, success=result.success, error=error.message if error else None
        )
    if openlineage is not None:
        openlineage.close(5.0)
    return LineageRun(artifacts, result, memory.events, inline.run_id, events_file, missing)


def _ends(events: tuple[LineageEvent, ...]) -> dict[str, LineageEvent]:
    return {e.job_name: e for e in events if e.event_type is not RunState.START}


def test_every_run_id_has_one_start_then_one_terminal_event(lineage_run: LineageRun) -> None:
    assert not lineage_run.result.success
    by_run: dict[uuid.UUID, list[RunState]] = {}
    for event in lineage_run.events:
        by_run.setdefault(event.run_id, []).append(event.event_type)
    assert len(by_run) >= 15
    for run_id, states in by_run.items():
        assert len(states) == 2, (run_id, states)
        assert states[0] is RunState.START, (run_id, states)
        assert states[1] in (RunState.COMPLETE, RunState.FAIL), (run_id, states)
        assert run_id.version == 7


def test_the_dagster_run_and_each_model_run_are_linked(lineage_run: LineageRun) -> None:
    ends = _ends(lineage_run.events)
    dagster_run = ends[f"{PRODUCT}.__ASSET_JOB"]
    assert dagster_run.event_type is RunState.FAIL
    assert dagster_run.run_id == lineage_run.dagster_run_lineage_id
    model = ends[f"{PRODUCT}.model.stg_payments"]
    assert model.event_type is RunState.COMPLETE
    assert model.parent is not None
    assert model.parent.run_id == lineage_run.dagster_run_lineage_id
    assert [d.name.rsplit(".", 1)[-1] for d in model.inputs] == ["payments"]
    assert [d.name.rsplit(".", 1)[-1] for d in model.outputs] == ["stg_payments"]
    assert "landing" in model.job_facets["sql"]["query"]  # dbt's compiled SQL
    assert model.job_facets["sql"]["dialect"] == "duckdb"


def test_a_failing_model_fails_with_dbt_s_error_and_blocked_models_get_no_events(
    lineage_run: LineageRun,
) -> None:
    ends = _ends(lineage_run.events)
    broken = ends[f"{PRODUCT}.model.stg_broken"]
    assert broken.event_type is RunState.FAIL
    assert broken.error is not None
    assert "Conversion Error" in broken.error.message
    names = {e.job_name for e in lineage_run.events}
    assert f"{PRODUCT}.model.orders" not in names  # blocked by the failing check
    assert f"{PRODUCT}.model.customers" not in names


def test_the_failing_error_test_fails_and_the_warn_test_completes_unsuccessfully(
    lineage_run: LineageRun,
) -> None:
    ends = _ends(lineage_run.events)
    failing = ends[f"{PRODUCT}.test.{FAILING_CHECK}"]
    warning = ends[f"{PRODUCT}.test.{WARN_CHECK}"]
    assert failing.event_type is RunState.FAIL
    assert failing.error is not None
    assert "configured to fail" in failing.error.message
    assert warning.event_type is RunState.COMPLETE
    for end, tested in ((failing, "stg_payments"), (warning, "stg_customers")):
        (dataset,) = [d for d in end.inputs if d.name.endswith(tested)]
        (assertion,) = dataset.facets["dataQualityAssertions"]["assertions"]
        assert assertion["success"] is False


def _format_checker() -> Any:
    from jsonschema import Draft202012Validator, FormatChecker

    checker: FormatChecker = Draft202012Validator.FORMAT_CHECKER
    if not (checker.conforms("yesterday", "date-time") or checker.conforms("x y", "uri")):
        return checker
    checker = FormatChecker()

    @checker.checks("uuid", raises=ValueError)
    def _uuid(value: object) -> bool:
        return not isinstance(value, str) or bool(uuid.UUID(value))

    @checker.checks("date-time", raises=ValueError)
    def _date_time(value: object) -> bool:
        if not isinstance(value, str):
            return True
        pattern = r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?(Z|[+-]\d\d:\d\d)"
        return bool(re.fullmatch(pattern, value)) and bool(
            datetime.fromisoformat(value.replace("Z", "+00:00"))
        )

    @checker.checks("uri")
    def _uri(value: object) -> bool:
        if not isinstance(value, str):
            return True
        parsed = urlparse(value)
        return bool(parsed.scheme) and " " not in value

    return checker


def test_every_openlineage_event_validates_against_the_2_0_2_schemas(
    lineage_run: LineageRun, monkeypatch: pytest.MonkeyPatch
) -> None:
    tools = SHARED / "tools"
    if not (tools / "ol_validate.py").is_file():
        pytest.skip(f"{tools / 'ol_validate.py'} is absent (../shared is not checked out)")
    if lineage_run.openlineage_missing:
        pytest.skip(lineage_run.openlineage_missing)
    monkeypatch.syspath_prepend(str(tools))
    ol_validate = importlib.import_module("ol_validate")
    from jsonschema import Draft202012Validator

    monkeypatch.setattr(Draft202012Validator, "FORMAT_CHECKER", _format_checker())
    lines = lineage_run.events_file.read_text(encoding="utf-8").splitlines()
    assert len(lines) == len(lineage_run.events)
    count, bad, problems = ol_validate.validate([lineage_run.events_file])
    assert (count, bad) == (len(lineage_run.events), 0), "\n".join(problems)
    kinds = {json.loads(line)["eventType"] for line in lines}
    assert kinds == {"START", "COMPLETE", "FAIL"}
    assert "ol_validate" in sys.modules
