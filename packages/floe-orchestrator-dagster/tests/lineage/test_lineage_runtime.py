"""Run-time lineage of the Dagster adapter: dbt events → lineage events, Dagster runs, assets.

dbt events are shaped like the ones real dbt (1.8 to 1.11) prints with ``--log-format json`` at
the info level (``LogStartLine``, ``LogModelResult``, ``LogTestResult``, ``RunResultError``,
``SkippingDetails``); the integration test ``integration/test_dagster_lineage.py`` runs real dbt.
"""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import dagster as dg
import pytest

from floe_orchestration_core.artifacts import CompiledArtifacts, LineageSettings
from floe_orchestration_core.lineage import LineageBackendPlugin, LineageEvent, ParentRun, RunState
from floe_orchestration_core.plugin import PluginMetadata
from floe_orchestration_core.testing import InMemoryLineageBackend
from floe_orchestration_core.testing.factories import make_artifacts, make_source, make_transform
from floe_orchestrator_dagster.lineage.assets import AssetLineage
from floe_orchestrator_dagster.lineage.dbt_events import DbtLineageTap, stream_with_lineage
from floe_orchestrator_dagster.lineage.emitter import (
    FLUSH_BUDGET_SECONDS,
    INLINE_TAG,
    RUN_ID_TAG,
    LineageEmitter,
    lineage_emitter,
    lineage_run_id,
)
from floe_orchestrator_dagster.lineage.redaction import redact
from floe_orchestrator_dagster.lineage.runs import RunLineage
from floe_orchestrator_dagster.lineage.sensor import emit_run_lineage

CANARY = "hunter2-canary-7f3a"
PKG = "analytics"


# Fixtures -----------------------------------------------------------------------------------
def _artifacts(**lineage: Any) -> CompiledArtifacts:
    from floe_orchestration_core.artifacts import ColumnInfo, QualityCheck, Severity

    check = QualityCheck(
        name="accepted_values_stg_payments_method",
        unique_id="test.analytics.accepted_values_stg_payments_method.1a",
        kind="generic",
        test_name="accepted_values",
        column="method",
        severity=Severity.ERROR,
        attached_to="stg_payments",
        references=("stg_payments",),
    )
    warn = check.model_copy(
        update={
            "name": "not_null_stg_payments_email",
            "unique_id": "test.analytics.not_null_stg_payments_email.2b",
            "test_name": "not_null",
            "column": "email",
            "severity": Severity.WARN,
        }
    )
    transforms = [
        make_transform(
            "stg_payments",
            source_dependencies=("landing.payments",),
            columns=(ColumnInfo(name="method", data_type="varchar", description="how"),),
            quality_checks=(check, warn),
            description="Payments, cleaned.",
            database="warehouse",
        ),
        make_transform(
            "eph", depends_on=("stg_payments",), materialization="ephemeral", database="warehouse"
        ),
        make_transform("orders", depends_on=("eph",), database="warehouse"),
        make_transform("after_orders", depends_on=("orders",), database="warehouse"),
    ]
    return make_artifacts(
        transforms,
        sources=(make_source("landing.payments", database="warehouse"),),
        product_name="shop",
        lineage=LineageSettings(**lineage),
    )


@pytest.fixture
def backend() -> InMemoryLineageBackend:
    return InMemoryLineageBackend(namespace="platform")


@pytest.fixture
def emitter(backend: InMemoryLineageBackend, tmp_path: Path) -> LineageEmitter:
    made = lineage_emitter(backend, _artifacts(), cwd=tmp_path)
    assert made is not None
    return made


PARENT = ParentRun("platform", "shop.__ASSET_JOB", "0190a3c4-5b6d-7e8f-9a0b-1c2d3e4f5a6b")


def _raw(
    name: str, unique_id: str, *, status: str = "", msg: str = "", **data: Any
) -> dict[str, Any]:
    kind = unique_id.split(".", 1)[0]
    node_name = unique_id.split(".")[2]
    return {
        "info": {"name": name, "msg": msg, "level": "info", "ts": "2026-01-02T03:04:05.123456Z"},
        "data": {
            "node_info": {
                "unique_id": unique_id,
                "node_name": node_name,
                "resource_type": kind,
                "node_status": status or "started",
                "node_relation": {"database": "warehouse", "schema": "main", "alias": node_name},
            },
            **({"status": status} if status else {}),
            **data,
        },
    }


def start(uid: str) -> dict[str, Any]:
    return _raw("LogStartLine", uid)


def result(uid: str, status: str, msg: str = "") -> dict[str, Any]:
    name = "LogTestResult" if uid.startswith("test.") else "LogModelResult"
    raw = _raw(name, uid, status=status, msg=msg)
    if name == "LogModelResult":  # a model's data.status is the adapter's response
        raw["data"]["status"] = "OK" if status == "success" else status.upper()
    return raw


def run_error(uid: str, message: str) -> dict[str, Any]:
    return _raw("RunResultError", uid, status="None", msg=message)


STG = "model.analytics.stg_payments"
ORDERS = "model.analytics.orders"
AFTER = "model.analytics.after_orders"
ERROR_TEST = "test.analytics.accepted_values_stg_payments_method.1a"
WARN_TEST = "test.analytics.not_null_stg_payments_email.2b"


def _by_job(events: tuple[LineageEvent, ...]) -> dict[str, list[LineageEvent]]:
    grouped: dict[str, list[LineageEvent]] = {}
    for event in events:
        grouped.setdefault(event.job_name, []).append(event)
    return grouped


def _assert_one_start_one_terminal(events: tuple[LineageEvent, ...]) -> None:
    by_run: dict[uuid.UUID, list[RunState]] = {}
    for event in events:
        by_run.setdefault(event.run_id, []).append(event.event_type)
    for run_id, states in by_run.items():
        assert len(states) == 2, (run_id, states)
        assert states[0] is RunState.START, (run_id, states)
        assert states[1] in (RunState.COMPLETE, RunState.FAIL, RunState.ABORT), (run_id, states)


# dbt events → lineage -------------------------------------------------------------------------
def test_a_model_run_is_start_then_complete_with_parent_datasets_and_compiled_sql(
    emitter: LineageEmitter, backend: InMemoryLineageBackend, tmp_path: Path
) -> None:
    compiled = tmp_path / "target" / "compiled" / PKG / "models" / "stg_payments.sql"
    compiled.parent.mkdir(parents=True)
    compiled.write_text("select id, method from warehouse.landing.payments", encoding="utf-8")
    manifest = {
        "nodes": {
            STG: {
                "resource_type": "model",
                "package_name": PKG,
                "path": "stg_payments.sql",
                "original_file_path": "models/stg_payments.sql",
            }
        }
    }
    tap = DbtLineageTap(emitter, parent=PARENT, manifest=manifest, target_path=tmp_path / "target")
    tap.observe(start(STG))
    assert [e.event_type for e in backend.events] == [RunState.START]  # as it streams
    tap.observe(result(STG, "success"))
    tap.close()
    assert tap.holds  # DuckDB: the COMPLETE waits until dbt exited, for the warehouse's facts
    assert [e.event_type for e in backend.events] == [RunState.START]
    tap.finish()

    first, last = backend.events
    assert (first.event_type, last.event_type) == (RunState.START, RunState.COMPLETE)
    assert first.run_id == last.run_id
    assert first.run_id.version == 7
    assert last.job_name == "shop.model.stg_payments"
    assert last.job_namespace == "platform"
    assert last.parent == PARENT
    assert [d.name for d in last.inputs] == ["warehouse.landing.payments"]
    (output,) = last.outputs
    assert output.name == "warehouse.main.stg_payments"
    assert output.facets["schema"] == {
        "fields": [{"name": "method", "type": "varchar", "description": "how"}]
    }
    assert output.facets["documentation"] == {"description": "Payments, cleaned."}
    assert output.facets["dbt_model"] == {"config": {"materialized": "table"}}
    assert last.job_facets["dbt_node"]["unique_id"] == STG
    assert last.job_facets["jobType"] == {
        "processingType": "BATCH",
        "integration": "DBT",
        "jobType": "MODEL",
    }
    assert last.job_facets["documentation"] == {"description": "Payments, cleaned."}
    assert last.job_facets["sql"] == {
        "query": "select id, method from warehouse.landing.payments",
        "dialect": "duckdb",
    }
    assert last.event_time == datetime(2026, 1, 2, 3, 4, 5, 123456, tzinfo=UTC)


def test_inputs_of_a_model_reach_through_ephemeral_models(
    emitter: LineageEmitter, backend: InMemoryLineageBackend
) -> None:
    tap = DbtLineageTap(emitter, parent=PARENT)
    tap.observe(start(ORDERS))
    (event,) = backend.events
    assert [d.name for d in event.inputs] == ["warehouse.main.stg_payments"]  # not "eph"


def test_a_failing_model_fails_with_dbt_s_message_and_its_skipped_child_gets_nothing(
    emitter: LineageEmitter, backend: InMemoryLineageBackend
) -> None:
    tap = DbtLineageTap(emitter, parent=PARENT)
    tap.observe(start(ORDERS))
    tap.observe(result(ORDERS, "error", msg="1 of 2 ERROR creating sql table model main.orders"))
    tap.observe(_raw("SkippingDetails", AFTER, status="skipped"))
    assert [e.event_type for e in backend.events] == [RunState.START]  # waits for the message
    tap.observe(run_error(ORDERS, "Runtime Error in model orders\n  Conversion Error: 'x'"))
    tap.close()

    start_event, fail = backend.events
    assert fail.event_type is RunState.FAIL
    assert fail.run_id == start_event.run_id
    assert fail.error is not None
    assert "Conversion Error" in fail.error.message
    assert fail.error.language == "SQL"
    assert not any(e.job_name.endswith("after_orders") for e in backend.events)


def test_a_failure_whose_message_never_comes_fails_at_close_with_dbt_s_summary(
    emitter: LineageEmitter, backend: InMemoryLineageBackend
) -> None:
    tap = DbtLineageTap(emitter, parent=PARENT)
    tap.observe(start(ORDERS))
    tap.observe(result(ORDERS, "error", msg="\x1b[31mERROR\x1b[0m creating model main.orders"))
    tap.close(RuntimeError("dbt exited 1"))
    fail = backend.events[-1]
    assert fail.event_type is RunState.FAIL
    assert fail.error is not None
    assert "ERROR creating model main.orders" in fail.error.message
    assert "\x1b" not in fail.error.message


def test_tests_report_assertions_on_the_tested_dataset_error_fails_warn_completes(
    emitter: LineageEmitter, backend: InMemoryLineageBackend
) -> None:
    tap = DbtLineageTap(emitter, parent=PARENT)
    for uid in (ERROR_TEST, WARN_TEST):
        tap.observe(start(uid))
    tap.observe(result(ERROR_TEST, "fail"))
    tap.observe(result(WARN_TEST, "warn"))
    tap.observe(run_error(ERROR_TEST, "Got 1 result, configured to fail if != 0"))
    tap.close()
    _assert_one_start_one_terminal(backend.events)

    jobs = _by_job(backend.events)
    error_end = jobs["shop.test.accepted_values_stg_payments_method"][-1]
    warn_end = jobs["shop.test.not_null_stg_payments_email"][-1]
    assert error_end.event_type is RunState.FAIL
    assert error_end.error is not None
    assert "Got 1 result" in error_end.error.message
    assert warn_end.event_type is RunState.COMPLETE
    assert warn_end.error is None
    for end, success, column, assertion in (
        (error_end, False, "method", "accepted_values"),
        (warn_end, False, "email", "not_null"),
    ):
        (tested,) = end.inputs
        assert tested.name == "warehouse.main.stg_payments"
        assert tested.facets["dataQualityAssertions"] == {
            "assertions": [{"assertion": assertion, "success": success, "column": column}]
        }
        assert end.job_facets["jobType"]["jobType"] == "TEST"
        assert end.parent == PARENT
    assert (
        "dataQualityAssertions"
        not in jobs["shop.test.not_null_stg_payments_email"][0].inputs[0].facets
    )  # START does not know the result yet


def test_a_passing_test_is_a_successful_assertion(
    emitter: LineageEmitter, backend: InMemoryLineageBackend
) -> None:
    tap = DbtLineageTap(emitter, parent=PARENT)
    tap.observe(start(ERROR_TEST))
    tap.observe(result(ERROR_TEST, "pass"))
    end = backend.events[-1]
    assert end.event_type is RunState.COMPLETE
    assert end.inputs[0].facets["dataQualityAssertions"]["assertions"][0]["success"] is True


def test_runs_left_open_end_exactly_once_fail_or_abort_when_interrupted(
    emitter: LineageEmitter, backend: InMemoryLineageBackend
) -> None:
    tap = DbtLineageTap(emitter, parent=PARENT)
    tap.observe(start(STG))
    tap.observe(start(STG))  # a repeated start (NodeStart after LogStartLine) is one START
    tap.close(RuntimeError("dbt was killed"))
    tap.close()
    tap.observe(result(STG, "success"))  # too late: already ended
    assert [e.event_type for e in backend.events] == [RunState.START, RunState.FAIL]

    backend.clear()
    interrupted = DbtLineageTap(emitter, parent=PARENT)
    interrupted.observe(start(ORDERS))
    interrupted.close(interrupted=True)
    assert [e.event_type for e in backend.events] == [RunState.START, RunState.ABORT]


def test_a_malformed_dbt_event_is_ignored_not_raised(
    emitter: LineageEmitter, backend: InMemoryLineageBackend
) -> None:
    tap = DbtLineageTap(emitter, parent=PARENT)
    tap.observe({"info": {"name": "LogStartLine"}, "data": {"node_info": "not a mapping"}})
    tap.observe({})
    assert backend.events == ()


class _FakeInvocation:
    """dagster-dbt's DbtCliInvocation as far as stream() and stream_raw_events() go: stream()
    maps each raw event read through ``self.stream_raw_events()`` to Dagster events."""

    def __init__(self, raws: list[dict[str, Any]], fail: bool = False) -> None:
        self.raws = raws
        self.fail = fail

    def stream_raw_events(self) -> Iterator[Any]:
        for raw in self.raws:
            yield type("Msg", (), {"raw_event": raw})()
        if self.fail:
            raise RuntimeError("dbt exited with code 1")

    def stream(self) -> Iterator[str]:
        for event in self.stream_raw_events():
            yield f"dagster event for {event.raw_event['info']['name']}"


def test_stream_with_lineage_yields_the_same_dagster_events_and_taps_each_raw_event(
    emitter: LineageEmitter, backend: InMemoryLineageBackend
) -> None:
    raws = [start(STG), result(STG, "success"), start(ORDERS)]
    expected = list(_FakeInvocation(raws).stream())
    tap = DbtLineageTap(emitter, parent=PARENT)
    invocation = _FakeInvocation(raws, fail=True)
    received: list[str] = []
    with pytest.raises(RuntimeError, match="exited"):
        received.extend(stream_with_lineage(invocation, tap))
    assert received == expected
    states = [(e.job_name, e.event_type) for e in backend.events]
    assert states == [
        ("shop.model.stg_payments", RunState.START),
        ("shop.model.stg_payments", RunState.COMPLETE),
        ("shop.model.orders", RunState.START),
        ("shop.model.orders", RunState.FAIL),  # open when dbt failed
    ]
    assert "dbt exited with code 1" in (backend.events[-1].error.message or "")  # type: ignore[union-attr]


# Run ids, names, redaction ----------------------------------------------------------------------
def test_the_dagster_run_s_lineage_id_is_a_deterministic_uuidv7_of_run_id_and_creation() -> None:
    created = datetime(2026, 3, 4, 5, 6, 7, 890000, tzinfo=UTC)
    first = lineage_run_id("5c1f7e0a-1111-4222-8333-444455556666", created)
    assert first == lineage_run_id("5c1f7e0a-1111-4222-8333-444455556666", created)
    assert first == lineage_run_id("5c1f7e0a-1111-4222-8333-444455556666", created.timestamp())
    assert first == lineage_run_id(  # a naive storage timestamp means UTC
        "5c1f7e0a-1111-4222-8333-444455556666", created.replace(tzinfo=None)
    )
    assert first.version == 7
    assert first.variant == uuid.RFC_4122
    assert first.int >> 80 == int(created.timestamp() * 1000)
    assert first != lineage_run_id("5c1f7e0a-1111-4222-8333-444455556667", created)


def test_the_product_namespace_wins_over_the_backend_s_unless_left_at_the_default(
    tmp_path: Path,
) -> None:
    backend = InMemoryLineageBackend(namespace="platform")
    default = lineage_emitter(backend, _artifacts(), cwd=tmp_path)
    chosen = lineage_emitter(backend, _artifacts(namespace="sales"), cwd=tmp_path)
    assert default is not None
    assert default.namespace == "platform"
    assert chosen is not None
    assert chosen.namespace == "sales"
    assert lineage_emitter(backend, _artifacts(enabled=False)) is None
    assert lineage_emitter(None, _artifacts()) is None


def test_redact_removes_dsn_passwords_key_values_headers_and_secret_env_values(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("WAREHOUSE_PASSWORD", "envsecret-42xyz")
    text = redact(
        f"connect postgresql://etl:{CANARY}@db:5432/shop failed; dsn password={CANARY} "
        f"api_key: '{CANARY}' Authorization: Bearer {CANARY} env envsecret-42xyz"
    )
    assert CANARY not in text
    assert "envsecret-42xyz" not in text
    assert "postgresql://***@db:5432/shop" in text


# Dagster runs executed in process ----------------------------------------------------------------
def test_run_lineage_emits_exactly_one_start_and_one_terminal_and_tags_the_run(
    backend: InMemoryLineageBackend, tmp_path: Path
) -> None:
    lineage = RunLineage(backend, _artifacts(), cwd=tmp_path)
    started_at = datetime(2026, 1, 1, tzinfo=UTC)
    inline = lineage.started("run-1", "daily_job", started_at)
    again = lineage.started("run-1", "daily_job")
    assert again == inline
    assert inline.tags == {INLINE_TAG: "inline", RUN_ID_TAG: str(inline.run_id)}
    assert inline.run_id == lineage_run_id("run-1", started_at)
    lineage.finished("run-1", "daily_job", success=True)
    lineage.finished("run-1", "daily_job", success=False, error="late")
    assert [(e.event_type, e.job_name) for e in backend.events] == [
        (RunState.START, "shop.daily_job"),
        (RunState.COMPLETE, "shop.daily_job"),
    ]
    assert {e.run_id for e in backend.events} == {inline.run_id}
    assert backend.events[0].job_facets["jobType"]["integration"] == "DAGSTER"


def test_a_failed_run_never_started_is_started_then_failed_with_a_redacted_error(
    backend: InMemoryLineageBackend, tmp_path: Path
) -> None:
    lineage = RunLineage(backend, _artifacts(), cwd=tmp_path)
    error = ConnectionError(f"could not reach postgresql://etl:{CANARY}@db/shop")
    lineage.finished("run-2", "daily_job", success=False, error=error)
    start_event, fail = backend.events
    assert (start_event.event_type, fail.event_type) == (RunState.START, RunState.FAIL)
    assert fail.error is not None
    assert CANARY not in fail.error.message
    assert CANARY not in (fail.error.stack_trace or "")
    assert "ConnectionError" in fail.error.message


def test_run_lineage_without_a_backend_emits_nothing_but_still_tags(tmp_path: Path) -> None:
    lineage = RunLineage(None, _artifacts(), cwd=tmp_path)
    inline = lineage.started("run-3", "job")
    lineage.finished("run-3", "job", success=True)
    assert inline.tags[INLINE_TAG] == "inline"


# Python assets ----------------------------------------------------------------------------------
def test_asset_lineage_completes_on_success_and_fails_with_redacted_error(
    emitter: LineageEmitter, backend: InMemoryLineageBackend
) -> None:
    assets = AssetLineage(emitter)
    with assets.start(asset_name="load_landing", parent=PARENT) as run:
        pass
    run.complete()  # a second end is ignored
    with (
        pytest.raises(ValueError, match="boom"),
        assets.start(asset_name="publish", description="Publishes.", parent=PARENT),
    ):
        raise ValueError(f"boom password={CANARY}")
    _assert_one_start_one_terminal(backend.events)
    jobs = _by_job(backend.events)
    assert [e.event_type for e in jobs["shop.asset.load_landing"]] == [
        RunState.START,
        RunState.COMPLETE,
    ]
    fail = jobs["shop.asset.publish"][-1]
    assert fail.event_type is RunState.FAIL
    assert fail.error is not None
    assert CANARY not in fail.error.message + (fail.error.stack_trace or "")
    assert fail.parent == PARENT
    assert fail.job_facets["jobType"]["jobType"] == "ASSET"
    assert AssetLineage(None).start(asset_name="x").run_id is None  # no backend: no events


# Flushing never stalls a run --------------------------------------------------------------------
class _BlackHole(LineageBackendPlugin):
    """Accepts events and never delivers them: flush waits its whole timeout."""

    metadata = PluginMetadata(name="black_hole", version="0", floe_api_version="1.0")

    def _emit(self, event: LineageEvent) -> None:
        return None

    def flush(self, timeout: float = 5.0) -> bool:
        threading.Event().wait(timeout)
        return False


def test_flushes_of_one_run_share_a_bounded_budget(tmp_path: Path) -> None:
    emitter = lineage_emitter(_BlackHole(), _artifacts(), cwd=tmp_path)
    other = lineage_emitter(_BlackHole(), _artifacts(), cwd=tmp_path)  # the run's own emitter
    assert emitter is not None
    assert other is not None
    run_id = f"run-{uuid.uuid4()}"
    began = time.monotonic()
    for _ in range(3):  # three ops of one run in one process, then the run's end
        assert emitter.flush(run_id) is False
    assert other.flush(run_id) is False
    assert time.monotonic() - began < FLUSH_BUDGET_SECONDS + 0.5


# The run status sensor --------------------------------------------------------------------------
@dg.op
def _ok() -> None:
    return None


@dg.op
def _boom() -> None:
    raise RuntimeError(f"broken with password={CANARY}")


def test_the_sensor_emits_start_and_terminal_once_per_run_and_skips_inline_runs(
    emitter: LineageEmitter, backend: InMemoryLineageBackend, tmp_path: Path
) -> None:
    good = dg.GraphDefinition(name="good_job", node_defs=[_ok]).to_job()
    bad = dg.GraphDefinition(name="bad_job", node_defs=[_boom]).to_job()
    with dg.DagsterInstance.ephemeral(tempdir=str(tmp_path / "home")) as instance:
        cursor = emit_run_lineage(emitter, instance, None, now=datetime.now(UTC))
        ok = good.execute_in_process(instance=instance)
        failed = bad.execute_in_process(instance=instance, raise_on_error=False)
        good.execute_in_process(instance=instance, tags={INLINE_TAG: "inline"})
        cursor = emit_run_lineage(emitter, instance, cursor)
        emit_run_lineage(emitter, instance, cursor)  # nothing new: nothing emitted
        records = {r.dagster_run.run_id: r for r in instance.get_run_records()}

    _assert_one_start_one_terminal(backend.events)
    jobs = _by_job(backend.events)
    assert set(jobs) == {"shop.good_job", "shop.bad_job"}
    assert [e.event_type for e in jobs["shop.good_job"]] == [RunState.START, RunState.COMPLETE]
    assert jobs["shop.good_job"][0].run_id == lineage_run_id(
        ok.run_id, records[ok.run_id].create_timestamp
    )
    fail = jobs["shop.bad_job"][-1]
    assert fail.event_type is RunState.FAIL
    assert fail.error is not None
    assert fail.run_id == lineage_run_id(failed.run_id, records[failed.run_id].create_timestamp)
    assert CANARY not in str(fail.error)
