"""The contract suite every lineage backend runs: :class:`LineageBackendContract`.

How a backend uses it (in the backend's ``tests/contract/``)::

    import pytest
    from floe_orchestration_core.testing import LineageBackendContract

    class TestMyBackendContract(LineageBackendContract):
        @pytest.fixture
        def backend(self) -> MyBackend:
            return MyBackend(...)                 # fresh; point it at a local receiver or file

Checklist of what the suite holds a backend to (one test each):

- metadata is valid and compatible with this core's API version;
- emitting START, RUNNING, COMPLETE, ABORT and FAIL events (with datasets, facets, a parent
  run and error info) never raises;
- ``stats()`` keeps ``delivered + dropped + spooled + pending == emitted`` after every step,
  and counts every emitted event; once closed nothing is ``pending``;
- ``flush`` returns a bool within its timeout (plus slack) and leaves nothing pending when
  it returns True;
- ``close`` is idempotent; emitting after it neither raises nor breaks the invariant;
- ``deliver_backlog`` answers within its timeout with non-negative counts;
- eight threads emitting at once lose no count;
- something that is not a :class:`~floe_orchestration_core.lineage.LineageEvent` is refused
  with :class:`~floe_orchestration_core.errors.LineageError`.

The backend fixture should yield a backend that can really deliver (a temporary file, a
local HTTP receiver) so the suite exercises delivery, not only dropping.
"""

from __future__ import annotations

import dataclasses
import threading
import time
from typing import Any

import pytest

from floe_orchestration_core import FLOE_API_VERSION
from floe_orchestration_core.errors import LineageError
from floe_orchestration_core.lineage import (
    Dataset,
    ErrorInfo,
    LineageBackendPlugin,
    LineageEvent,
    ParentRun,
    RunState,
    new_run_id,
)
from floe_orchestration_core.plugin import PluginMetadata

__all__ = ["LineageBackendContract", "sample_event"]

#: Seconds a flush or close may overrun its timeout before the suite calls it blocking.
SLACK_SECONDS = 2.0
THREADS = 8
EVENTS_PER_THREAD = 25


def sample_event(
    event_type: RunState | str = RunState.START,
    *,
    job_name: str = "analytics.orders",
    error: ErrorInfo | None = None,
    **overrides: Any,
) -> LineageEvent:
    """A realistic event: one input, one output, facets and a parent run."""
    fields: dict[str, Any] = {
        "event_type": event_type,
        "job_name": job_name,
        "job_namespace": "floe-contract",
        "run_id": new_run_id(),
        "inputs": (Dataset("duckdb://warehouse", "main.stg_orders"),),
        "outputs": (
            Dataset(
                "duckdb://warehouse",
                "main.orders",
                facets={"schema": {"fields": [{"name": "order_id", "type": "INTEGER"}]}},
            ),
        ),
        "run_facets": {"floe": {"product": "contract", "compute": "default"}},
        "job_facets": {"jobType": {"processingType": "BATCH", "integration": "DBT"}},
        "parent": ParentRun("floe-contract", "nightly_build", new_run_id()),
        "error": error,
    }
    fields.update(overrides)
    return LineageEvent(**fields)


def _assert_consistent(backend: LineageBackendPlugin, *, emitted: int) -> None:
    stats = backend.stats()
    assert stats.delivered + stats.dropped + stats.spooled + stats.pending == stats.emitted
    assert stats.emitted == emitted
    if backend.closed:
        assert stats.pending == 0


class LineageBackendContract:
    """Subclass as ``TestXxx`` with a ``backend`` fixture yielding a fresh backend."""

    def test_metadata_is_valid_and_compatible_with_this_core(
        self, backend: LineageBackendPlugin
    ) -> None:
        metadata = type(backend).metadata
        assert isinstance(metadata, PluginMetadata)
        # Re-validating its own fields gives it back: the metadata is valid as declared.
        assert PluginMetadata(**dataclasses.asdict(metadata)) == metadata
        assert metadata.is_compatible_with(FLOE_API_VERSION)
        assert (backend.name, backend.version) == (metadata.name, metadata.version)
        assert backend.namespace

    def test_emitting_a_whole_run_never_raises_and_counts_every_event(
        self, backend: LineageBackendPlugin
    ) -> None:
        run_id = new_run_id()
        failure = ErrorInfo.from_exception(RuntimeError("model 'orders' failed"))
        events = [
            sample_event(RunState.START, run_id=run_id),
            sample_event(RunState.RUNNING, run_id=run_id),
            sample_event(RunState.COMPLETE, run_id=run_id),
            sample_event(RunState.FAIL, error=failure),
            sample_event(RunState.ABORT, error=ErrorInfo("cancelled by the operator")),
            sample_event(RunState.OTHER, inputs=(), outputs=(), parent=None),
        ]
        for count, event in enumerate(events, start=1):
            backend.emit(event)
            _assert_consistent(backend, emitted=count)

    def test_flush_answers_within_its_timeout(self, backend: LineageBackendPlugin) -> None:
        for state in (RunState.START, RunState.COMPLETE):
            backend.emit(sample_event(state))
        started = time.monotonic()
        flushed = backend.flush(timeout=2.0)
        assert time.monotonic() - started < 2.0 + SLACK_SECONDS
        assert isinstance(flushed, bool)
        stats = backend.stats()
        if flushed:
            assert stats.pending == 0
        _assert_consistent(backend, emitted=2)

    def test_close_is_idempotent_and_bounded(self, backend: LineageBackendPlugin) -> None:
        backend.emit(sample_event())
        started = time.monotonic()
        backend.close(timeout=2.0)
        backend.close(timeout=2.0)
        assert time.monotonic() - started < 2 * 2.0 + SLACK_SECONDS
        assert backend.closed
        _assert_consistent(backend, emitted=1)

    def test_deliver_backlog_answers_within_its_timeout(
        self, backend: LineageBackendPlugin
    ) -> None:
        backend.emit(sample_event())
        started = time.monotonic()
        report = backend.deliver_backlog(timeout=1.0)
        assert time.monotonic() - started < 1.0 + SLACK_SECONDS
        assert min(report.delivered, report.dropped, report.remaining) >= 0
        _assert_consistent(backend, emitted=1)

    def test_emit_after_close_neither_raises_nor_breaks_the_counts(
        self, backend: LineageBackendPlugin
    ) -> None:
        backend.emit(sample_event(RunState.START))
        backend.close(timeout=2.0)
        dropped_before = backend.stats().dropped
        backend.emit(sample_event(RunState.COMPLETE))
        _assert_consistent(backend, emitted=2)
        assert backend.stats().dropped == dropped_before + 1

    def test_concurrent_emits_lose_no_count(self, backend: LineageBackendPlugin) -> None:
        barrier = threading.Barrier(THREADS)
        failures: list[BaseException] = []

        def emit_many() -> None:
            try:
                barrier.wait(timeout=30)
                for _ in range(EVENTS_PER_THREAD):
                    backend.emit(sample_event())
            except BaseException as exc:  # reported to the main thread below
                failures.append(exc)

        threads = [threading.Thread(target=emit_many) for _ in range(THREADS)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=60)
        assert not any(thread.is_alive() for thread in threads)
        assert failures == []
        backend.flush(timeout=5.0)
        _assert_consistent(backend, emitted=THREADS * EVENTS_PER_THREAD)

    @pytest.mark.parametrize(
        "not_an_event",
        [None, "START", {"eventType": "START", "job": {"name": "orders"}}, RunState.START],
    )
    def test_something_that_is_not_an_event_is_refused(
        self, backend: LineageBackendPlugin, not_an_event: Any
    ) -> None:
        with pytest.raises(LineageError, match="LineageEvent"):
            backend.emit(not_an_event)
        _assert_consistent(backend, emitted=0)
