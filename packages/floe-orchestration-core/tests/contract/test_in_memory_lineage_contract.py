"""InMemoryLineageBackend passes the lineage contract and keeps exactly what it was given."""

from __future__ import annotations

import pytest

from floe_orchestration_core.lineage import RunState
from floe_orchestration_core.testing import (
    InMemoryLineageBackend,
    LineageBackendContract,
    sample_event,
)


class TestInMemoryLineageContract(LineageBackendContract):
    @pytest.fixture
    def backend(self) -> InMemoryLineageBackend:
        return InMemoryLineageBackend()


def test_events_are_kept_in_emission_order() -> None:
    backend = InMemoryLineageBackend()
    events = [sample_event(state) for state in (RunState.START, RunState.RUNNING)]
    for event in events:
        backend.emit(event)
    assert backend.events == tuple(events)
    assert backend.stats().delivered == 2


def test_clear_forgets_events_but_not_counts() -> None:
    backend = InMemoryLineageBackend()
    backend.emit(sample_event())
    backend.clear()
    assert backend.events == ()
    assert backend.stats().emitted == 1


def test_events_emitted_after_close_are_not_kept() -> None:
    backend = InMemoryLineageBackend()
    backend.close()
    backend.emit(sample_event())
    assert backend.events == ()
    assert backend.stats().dropped == 1
