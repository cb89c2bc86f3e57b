"""Tests of the lineage port: events, run ids, and the LineageBackendPlugin template."""

from __future__ import annotations

import logging
import threading
import uuid
from datetime import UTC, datetime, timedelta, timezone
from typing import ClassVar

import pytest
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import StatusCode

from floe_orchestration_core import FLOE_API_VERSION
from floe_orchestration_core.errors import LineageError, PluginError
from floe_orchestration_core.lineage import (
    BacklogReport,
    Dataset,
    ErrorInfo,
    LineageBackendPlugin,
    LineageEvent,
    LineageStats,
    NoOpLineageBackend,
    ParentRun,
    RunState,
    new_run_id,
)
from floe_orchestration_core.lineage.events import _RunIdGenerator
from floe_orchestration_core.plugin import PluginMetadata
from floe_orchestration_core.testing import sample_event

LOGGER = "floe_orchestration_core.lineage"


def make_event(event_type: RunState | str = RunState.START, **overrides: object) -> LineageEvent:
    fields: dict[str, object] = {
        "event_type": event_type,
        "job_name": "analytics.orders",
        "job_namespace": "floe",
        "run_id": new_run_id(),
    }
    fields.update(overrides)
    return LineageEvent(**fields)  # type: ignore[arg-type]


class RecordingBackend(LineageBackendPlugin):
    """Delivers into a list; fails while ``failing`` is set."""

    metadata: ClassVar[PluginMetadata] = PluginMetadata(
        name="recording", version="1.2.3", floe_api_version="1.0"
    )

    def __init__(self, **kwargs: object) -> None:
        super().__init__(**kwargs)  # type: ignore[arg-type]
        self.delivered: list[LineageEvent] = []
        self.failing = False
        self.closed_with: list[float] = []

    def _emit(self, event: LineageEvent) -> None:
        if self.failing:
            raise ConnectionError("backend at http://marquez:5000 refused the connection")
        self.delivered.append(event)

    def _close(self, timeout: float) -> None:
        self.closed_with.append(timeout)


# --- RunState and value objects -------------------------------------------------------------


def test_run_states_are_the_openlineage_event_types() -> None:
    assert [state.value for state in RunState] == [
        "START",
        "RUNNING",
        "COMPLETE",
        "ABORT",
        "FAIL",
        "OTHER",
    ]
    assert RunState.COMPLETE == "COMPLETE"


@pytest.mark.parametrize("given", ["complete", "COMPLETE", " Complete ", RunState.COMPLETE])
def test_event_type_accepts_state_names_in_any_case(given: str) -> None:
    assert make_event(given).event_type is RunState.COMPLETE


def test_unknown_event_type_lists_the_valid_states() -> None:
    with pytest.raises(
        LineageError, match="unknown event type 'DONE'; valid states: START, RUNNING, COMPLETE"
    ):
        make_event("DONE")


def test_dataset_requires_namespace_and_name() -> None:
    with pytest.raises(LineageError, match=r"Dataset\.namespace must be a non-empty string"):
        Dataset("", "analytics.orders")
    with pytest.raises(LineageError, match=r"Dataset\.name must be a non-empty string"):
        Dataset("duckdb://warehouse", "  ")


def test_dataset_facets_are_a_read_only_copy() -> None:
    facets: dict[str, object] = {"schema": {"fields": []}}
    dataset = Dataset("duckdb://warehouse", "analytics.orders", facets)
    facets["extra"] = {}
    assert dict(dataset.facets) == {"schema": {"fields": []}}
    with pytest.raises(TypeError):
        dataset.facets["x"] = 1  # type: ignore[index]


def test_datasets_are_hashable_and_compare_facets() -> None:
    first = Dataset("ns", "a", {"schema": {"fields": []}})
    same = Dataset("ns", "a", {"schema": {"fields": []}})
    other = Dataset("ns", "a", {"schema": {"fields": [1]}})
    assert first == same
    assert hash(first) == hash(same)
    assert first != other
    assert len({first, same}) == 1


def test_event_time_defaults_to_now_in_utc() -> None:
    before = datetime.now(UTC)
    event = make_event()
    assert before <= event.event_time <= datetime.now(UTC)
    assert event.event_time.tzinfo is not None


def test_naive_event_time_is_refused() -> None:
    with pytest.raises(LineageError, match=r"has no timezone; pass an aware datetime"):
        make_event(event_time=datetime(2026, 1, 1, 12, 0))


def test_aware_event_time_in_any_zone_is_kept() -> None:
    zoned = datetime(2026, 1, 1, 12, 0, tzinfo=timezone(timedelta(hours=2)))
    assert make_event(event_time=zoned).event_time == zoned


def test_inputs_and_outputs_accept_any_iterable_of_datasets() -> None:
    datasets = [Dataset("ns", "a"), Dataset("ns", "b")]
    event = make_event(inputs=iter(datasets), outputs=(d for d in datasets[:1]))
    assert event.inputs == tuple(datasets)
    assert event.outputs == (datasets[0],)


@pytest.mark.parametrize("bad", [Dataset("ns", "a"), "ns.a", ["ns.a"], 3])
def test_inputs_must_be_an_iterable_of_datasets(bad: object) -> None:
    with pytest.raises(LineageError, match="Dataset"):
        make_event(inputs=bad)


def test_run_id_accepts_a_uuid_string_and_refuses_garbage() -> None:
    run_id = uuid.uuid4()
    assert make_event(run_id=str(run_id)).run_id == run_id
    with pytest.raises(LineageError, match=r"run_id must be a UUID, got 'run-1'.*new_run_id"):
        make_event(run_id="run-1")


def test_job_name_and_namespace_must_not_be_empty() -> None:
    with pytest.raises(LineageError, match="job_name must be a non-empty string"):
        make_event(job_name="")
    with pytest.raises(LineageError, match="job_namespace must be a non-empty string"):
        make_event(job_namespace=None)


def test_run_facets_are_copied_read_only() -> None:
    facets: dict[str, object] = {"nominalTime": {"nominalStartTime": "2026-01-01T00:00:00Z"}}
    event = make_event(run_facets=facets, job_facets={"sql": {"query": "select 1"}})
    facets.clear()
    assert "nominalTime" in event.run_facets
    assert event.job_facets["sql"] == {"query": "select 1"}
    with pytest.raises(TypeError):
        event.run_facets["x"] = 1  # type: ignore[index]


def test_facet_names_must_be_strings() -> None:
    with pytest.raises(LineageError, match="facet names must be non-empty strings"):
        make_event(run_facets={1: {}})


@pytest.mark.parametrize("state", [RunState.FAIL, RunState.ABORT])
def test_error_is_allowed_with_fail_and_abort(state: RunState) -> None:
    error = ErrorInfo("boom")
    assert make_event(state, error=error).error == error


@pytest.mark.parametrize("state", ["START", "RUNNING", "COMPLETE", "OTHER"])
def test_error_is_refused_with_other_states(state: str) -> None:
    with pytest.raises(LineageError, match="errors belong only to FAIL or ABORT events"):
        make_event(state, error=ErrorInfo("boom"))


def _look_up_missing_key() -> None:
    raise KeyError("missing")


def test_error_info_from_exception_has_type_message_and_traceback() -> None:
    try:
        _look_up_missing_key()
    except KeyError as exc:
        info = ErrorInfo.from_exception(exc)
    assert info.message == "KeyError: 'missing'"
    assert info.stack_trace is not None
    assert "Traceback (most recent call last)" in info.stack_trace
    assert "_look_up_missing_key" in info.stack_trace
    assert info.language == "python"


def test_parent_and_error_must_have_their_types() -> None:
    with pytest.raises(LineageError, match="parent must be a ParentRun"):
        make_event(parent="pipeline")
    parent = ParentRun("floe", "pipeline", str(uuid.uuid4()))
    assert isinstance(make_event(parent=parent).parent, ParentRun)


def test_events_are_immutable() -> None:
    event = make_event()
    with pytest.raises(AttributeError):
        event.job_name = "other"  # type: ignore[misc]


# --- run ids --------------------------------------------------------------------------------


def test_run_ids_are_uuid_version_7_with_rfc_variant() -> None:
    run_id = new_run_id()
    assert run_id.version == 7
    assert run_id.variant == uuid.RFC_4122
    assert (run_id.int >> 62) & 0b11 == 0b10


def test_run_id_timestamp_is_the_current_unix_millisecond() -> None:
    before = int(datetime.now(UTC).timestamp() * 1000)
    run_id = new_run_id()
    after = int(datetime.now(UTC).timestamp() * 1000)
    assert before - 1 <= run_id.int >> 80 <= after + 1


def test_consecutive_run_ids_strictly_increase() -> None:
    ids = [new_run_id() for _ in range(1000)]
    assert ids == sorted(ids)
    assert len(set(ids)) == 1000
    assert [str(i) for i in ids] == sorted(str(i) for i in ids)  # text order matches too


def test_run_ids_within_one_millisecond_still_increase() -> None:
    generate = _RunIdGenerator(clock_ns=lambda: 1_700_000_000_123_456_789)
    ids = [generate() for _ in range(1000)]
    assert ids == sorted(ids)
    assert len(set(ids)) == 1000
    assert {i.int >> 80 for i in ids} <= {1_700_000_000_123, 1_700_000_000_124}
    assert all(i.version == 7 for i in ids)


def test_run_ids_still_increase_when_the_clock_steps_back() -> None:
    ticks = iter([5_000_000_000, 4_000_000_000, 4_000_000_000, 6_000_000_000])
    generate = _RunIdGenerator(clock_ns=lambda: next(ticks))
    ids = [generate() for _ in range(4)]
    assert ids == sorted(ids)
    assert ids[1].int >> 80 == 5000  # keeps the later timestamp rather than going back
    assert ids[3].int >> 80 == 6000


def test_run_ids_from_many_threads_are_unique() -> None:
    results: list[list[uuid.UUID]] = [[] for _ in range(8)]

    def work(slot: list[uuid.UUID]) -> None:
        slot.extend(new_run_id() for _ in range(500))

    threads = [threading.Thread(target=work, args=(slot,)) for slot in results]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    every = [run_id for slot in results for run_id in slot]
    assert len(set(every)) == 4000
    assert all(slot == sorted(slot) for slot in results)


# --- LineageStats ---------------------------------------------------------------------------


def test_stats_refuse_counters_that_do_not_add_up() -> None:
    LineageStats(emitted=3, delivered=1, dropped=1, pending=1)
    LineageStats(emitted=4, delivered=1, dropped=1, pending=0, spooled=2)
    with pytest.raises(
        LineageError, match="delivered \\+ dropped \\+ spooled \\+ pending must equal emitted"
    ):
        LineageStats(emitted=3, delivered=3, dropped=1, pending=0)
    with pytest.raises(LineageError, match="cannot be negative"):
        LineageStats(emitted=0, delivered=1, dropped=0, pending=-1)
    with pytest.raises(LineageError, match="cannot be negative"):
        LineageStats(emitted=0, delivered=1, dropped=0, pending=0, spooled=-1)


def test_backlog_reports_refuse_negative_counts() -> None:
    assert BacklogReport(delivered=2, remaining=1, location="/p/.floe").remaining == 1
    with pytest.raises(LineageError, match="cannot be negative"):
        BacklogReport(delivered=-1)


# --- the backend template -------------------------------------------------------------------


def test_noop_backend_has_metadata_and_counts_events_as_delivered() -> None:
    backend = NoOpLineageBackend()
    assert (backend.name, backend.floe_api_version) == ("noop", FLOE_API_VERSION)
    assert isinstance(NoOpLineageBackend.metadata, PluginMetadata)
    assert NoOpLineageBackend.metadata is backend.metadata
    assert backend.namespace == "floe"
    for state in ("START", "COMPLETE"):
        backend.emit(make_event(state))
    assert backend.stats() == LineageStats(emitted=2, delivered=2, dropped=0, pending=0)
    assert backend.flush()
    backend.close()
    assert backend.closed


def test_backend_properties_read_metadata() -> None:
    backend = RecordingBackend(namespace="analytics-prod")
    assert (backend.name, backend.version, backend.floe_api_version) == (
        "recording",
        "1.2.3",
        "1.0",
    )
    assert backend.namespace == "analytics-prod"


def test_backend_without_metadata_is_refused() -> None:
    class Nameless(LineageBackendPlugin):
        def _emit(self, event: LineageEvent) -> None:
            raise AssertionError("never called")

    with pytest.raises(PluginError, match="Nameless declares no metadata"):
        Nameless()


def test_empty_namespace_is_refused() -> None:
    with pytest.raises(LineageError, match="namespace must be a non-empty string"):
        RecordingBackend(namespace="")


def test_emit_delivers_through_the_hook() -> None:
    backend = RecordingBackend()
    event = make_event()
    backend.emit(event)
    assert backend.delivered == [event]
    assert backend.stats() == LineageStats(emitted=1, delivered=1, dropped=0, pending=0)


def test_emit_refuses_something_that_is_not_an_event() -> None:
    backend = RecordingBackend()
    with pytest.raises(LineageError, match="emit\\(\\) takes a LineageEvent, got dict"):
        backend.emit({"eventType": "START"})  # type: ignore[arg-type]
    assert backend.stats().emitted == 0


def test_failing_delivery_is_counted_as_dropped_and_never_raises() -> None:
    backend = RecordingBackend()
    backend.failing = True
    for _ in range(3):
        backend.emit(make_event())
    assert backend.stats() == LineageStats(emitted=3, delivered=0, dropped=3, pending=0)


def test_a_burst_of_drops_logs_one_warning_then_a_summary_on_recovery(
    caplog: pytest.LogCaptureFixture,
) -> None:
    backend = RecordingBackend()
    caplog.set_level(logging.INFO, logger=LOGGER)
    backend.failing = True
    for _ in range(5):
        backend.emit(make_event())
    warnings = [r for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warnings) == 1
    assert "refused the connection" in warnings[0].getMessage()
    assert "'recording'" in warnings[0].getMessage()
    backend.failing = False
    backend.emit(make_event())
    warnings = [r for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warnings) == 2
    assert "dropped 5 events in a row before delivery resumed" in warnings[1].getMessage()
    # a second burst warns again
    backend.failing = True
    backend.emit(make_event())
    backend.emit(make_event())
    assert len([r for r in caplog.records if r.levelno == logging.WARNING]) == 3
    assert backend.stats() == LineageStats(emitted=8, delivered=1, dropped=7, pending=0)


def test_a_burst_still_open_at_close_is_summarised(caplog: pytest.LogCaptureFixture) -> None:
    backend = RecordingBackend()
    caplog.set_level(logging.WARNING, logger=LOGGER)
    backend.failing = True
    for _ in range(4):
        backend.emit(make_event())
    backend.close()
    messages = [r.getMessage() for r in caplog.records]
    assert len(messages) == 2
    assert "dropped 4 events in a row at close" in messages[1]


def test_emitting_after_close_is_a_drop_not_an_error(caplog: pytest.LogCaptureFixture) -> None:
    backend = RecordingBackend()
    backend.close()
    caplog.set_level(logging.WARNING, logger=LOGGER)
    backend.emit(make_event())
    backend.emit(make_event())
    assert backend.delivered == []
    assert backend.stats() == LineageStats(emitted=2, delivered=0, dropped=2, pending=0)
    assert len(caplog.records) == 1
    assert "the backend is closed" in caplog.records[0].getMessage()


def test_close_is_idempotent_and_calls_the_hook_once() -> None:
    backend = RecordingBackend()
    backend.close(timeout=2.0)
    backend.close(timeout=2.0)
    assert len(backend.closed_with) == 1
    assert 0.0 <= backend.closed_with[0] <= 2.0


def test_close_never_raises_when_the_hook_fails(caplog: pytest.LogCaptureFixture) -> None:
    class Broken(RecordingBackend):
        def _close(self, timeout: float) -> None:
            raise OSError("socket already closed")

    backend = Broken()
    caplog.set_level(logging.WARNING, logger=LOGGER)
    backend.close()
    assert backend.closed
    assert "releasing resources failed at close" in caplog.records[0].getMessage()


def test_close_warns_about_what_was_not_delivered_and_how_long_it_waited(
    caplog: pytest.LogCaptureFixture,
) -> None:
    class Stuck(RecordingBackend):
        def flush(self, timeout: float = 5.0) -> bool:
            return False

        def stats(self) -> LineageStats:
            return LineageStats(emitted=3, delivered=1, dropped=0, pending=2)

    caplog.set_level(logging.WARNING, logger=LOGGER)
    Stuck().close(timeout=0.5)
    message = caplog.records[0].getMessage()
    # the time actually waited (the flush returned at once), not the timeout it was given
    assert "2 of 3 event(s) were not delivered after waiting 0.0 s at close" in message
    assert "close timeout" not in message


def test_close_is_quiet_when_everything_was_delivered(caplog: pytest.LogCaptureFixture) -> None:
    backend = RecordingBackend()
    backend.emit(sample_event())
    caplog.set_level(logging.WARNING, logger=LOGGER)
    backend.close(timeout=0.5)
    assert caplog.records == []


def test_close_survives_a_backend_whose_counters_fail(caplog: pytest.LogCaptureFixture) -> None:
    class NoCounters(RecordingBackend):
        def stats(self) -> LineageStats:
            raise RuntimeError("counter store gone")

    caplog.set_level(logging.WARNING, logger=LOGGER)
    NoCounters().close(timeout=0.1)
    assert "no counters at close" in caplog.records[0].getMessage()


def test_the_default_backlog_delivery_flushes_and_has_nothing_stored() -> None:
    backend = RecordingBackend()
    backend.emit(sample_event())
    assert backend.deliver_backlog(timeout=0.1) == BacklogReport()
    with pytest.raises(LineageError, match="timeout must be"):
        backend.deliver_backlog(-1.0)


@pytest.mark.parametrize("timeout", [-1.0, float("nan"), float("inf"), "5"])
def test_flush_and_close_refuse_a_bad_timeout(timeout: object) -> None:
    backend = RecordingBackend()
    with pytest.raises(LineageError, match="timeout must be"):
        backend.flush(timeout)  # type: ignore[arg-type]
    with pytest.raises(LineageError, match="timeout must be"):
        backend.close(timeout)  # type: ignore[arg-type]


def test_backend_closes_when_used_as_a_context_manager() -> None:
    with RecordingBackend() as backend:
        backend.emit(make_event())
    assert backend.closed


def test_emit_runs_in_a_span_marked_error_on_failure() -> None:
    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    backend = RecordingBackend(tracer_provider=provider)
    event = make_event("COMPLETE")
    backend.emit(event)
    backend.failing = True
    backend.emit(make_event("FAIL"))
    ok, failed = exporter.get_finished_spans()
    assert ok.name == "lineage.emit"
    assert dict(ok.attributes or {}) == {
        "floe.lineage.backend": "recording",
        "floe.lineage.event_type": "COMPLETE",
        "floe.lineage.job": "floe/analytics.orders",
        "floe.lineage.run_id": str(event.run_id),
    }
    assert ok.status.status_code is StatusCode.UNSET
    assert failed.status.status_code is StatusCode.ERROR


def test_counters_stay_consistent_under_concurrent_emits() -> None:
    class Flaky(RecordingBackend):
        def _emit(self, event: LineageEvent) -> None:
            if event.event_type is RunState.FAIL:
                raise ConnectionError("flaky")

    backend = Flaky()
    events = [make_event("FAIL" if i % 5 == 0 else "COMPLETE") for i in range(500)]
    barrier = threading.Barrier(8)
    failures: list[BaseException] = []

    def work() -> None:
        barrier.wait()
        try:
            for event in events:
                backend.emit(event)
                backend.stats()  # LineageStats refuses a snapshot that does not add up
        except BaseException as exc:  # collected: an exception in a thread would be lost
            failures.append(exc)

    threads = [threading.Thread(target=work) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert failures == []
    assert backend.stats() == LineageStats(emitted=4000, delivered=3200, dropped=800, pending=0)
