"""Delivery to a real local HTTP receiver, and the faults that must never reach a pipeline:
connections refused, a black hole (accepts, never answers), 503s, then recovery.

Each test bounds its waits with short client timeouts and backoffs; assertions are on what
the receiver got and on the backend's counters, not on wall time (the benchmark
``benchmarks/bench_lineage_faults.py`` measures that).
"""

from __future__ import annotations

import logging
import subprocess
import sys
import textwrap
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from floe_lineage_openlineage.backend import OpenLineageBackend
from floe_orchestration_core.lineage import RunState, new_run_id
from floe_orchestration_core.testing import sample_event

FAST = {"retry_backoff": 0.02, "retry_backoff_max": 0.1}


def wait_until(condition: Callable[[], bool], timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "condition not reached in time"
        time.sleep(0.01)


@pytest.fixture
def backends() -> Iterator[list[OpenLineageBackend]]:
    made: list[OpenLineageBackend] = []
    yield made
    for backend in made:
        backend.close(0.5)


def http_backend(made: list[OpenLineageBackend], url: str, **config: Any) -> OpenLineageBackend:
    transport = {"type": "http", "url": url, "timeout": config.pop("timeout", 1.0)}
    transport.update(config.pop("transport_extra", {}))
    backend = OpenLineageBackend(transport=transport, **{**FAST, **config})
    made.append(backend)
    return backend


def assert_accounted(backend: OpenLineageBackend, emitted: int) -> None:
    stats = backend.stats()
    assert stats.emitted == emitted
    assert stats.delivered + stats.dropped + stats.pending == emitted


def test_events_reach_the_receiver_in_order_with_the_api_key_and_headers(
    receiver: Any, backends: list[OpenLineageBackend], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("FLOE_TEST_OL_KEY", "key-123")
    monkeypatch.setenv("FLOE_TEST_OL_TENANT", "tenant-9")
    backend = http_backend(
        backends,
        receiver.url,
        transport_extra={
            "endpoint": "api/v1/lineage",
            "api_key_env": "FLOE_TEST_OL_KEY",
            "headers_env": {"X-Tenant": "FLOE_TEST_OL_TENANT"},
            "custom_headers": {"X-Source": "floe"},
        },
    )
    run_ids = [new_run_id() for _ in range(20)]
    for run_id in run_ids:
        backend.emit(sample_event(RunState.START, run_id=run_id))
    assert backend.flush(5.0)
    assert [e["run"]["runId"] for e in receiver.received()] == [str(r) for r in run_ids]
    headers = receiver.headers[0]
    assert headers["Authorization"] == "Bearer key-123"
    assert headers["X-Tenant"] == "tenant-9"
    assert headers["X-Source"] == "floe"
    assert headers["Content-Type"] == "application/json"
    stats = backend.stats()
    assert (stats.emitted, stats.delivered, stats.dropped, stats.pending) == (20, 20, 0, 0)


def test_refused_connections_never_block_emit_and_every_event_is_accounted(
    refused_url: str, backends: list[OpenLineageBackend]
) -> None:
    backend = http_backend(backends, refused_url, flush_timeout=0.3)
    for _ in range(50):
        backend.emit(sample_event())
    # emit only enqueued: nothing is lost or delivered yet, the calls all returned
    assert backend.stats().dropped == 0
    assert backend.stats().delivered == 0
    assert backend.flush(10.0) is False
    backend.close(10.0)
    stats = backend.stats()
    assert (stats.emitted, stats.delivered, stats.dropped, stats.pending) == (50, 0, 50, 0)


def test_a_black_hole_is_bounded_by_the_request_timeout_and_the_flush_deadline(
    black_hole: Any, backends: list[OpenLineageBackend]
) -> None:
    backend = http_backend(backends, black_hole.url, timeout=0.2, flush_timeout=0.3)
    for _ in range(5):
        backend.emit(sample_event())
    wait_until(lambda: backend._queue.failing)  # the first request has timed out
    started = time.monotonic()
    assert backend.flush(30.0) is False  # waits flush_timeout, not 30 s
    assert time.monotonic() - started >= 0.3
    started = time.monotonic()
    assert backend.flush(30.0) is False  # known down and already waited for: no second wait
    assert backend.flush(30.0) is False
    assert time.monotonic() - started < 0.25
    backend.close(30.0)
    stats = backend.stats()
    assert (stats.emitted, stats.delivered, stats.dropped, stats.pending) == (5, 0, 5, 0)


def test_events_queued_during_503s_are_delivered_in_order_after_recovery(
    receiver: Any, backends: list[OpenLineageBackend], caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    receiver.set_status(503)
    backend = http_backend(backends, receiver.url, flush_timeout=0.1)
    run_ids = [new_run_id() for _ in range(10)]
    for run_id in run_ids:
        backend.emit(sample_event(run_id=run_id))
    wait_until(lambda: receiver.refused >= 3)  # the head event was retried
    assert backend.flush(5.0) is False
    assert backend.stats().pending == 10
    receiver.set_status(200)
    wait_until(lambda: backend.stats().delivered == 10)
    assert backend.flush(1.0) is True
    assert [e["run"]["runId"] for e in receiver.received()] == [str(r) for r in run_ids]
    assert_accounted(backend, 10)
    assert backend.stats().dropped == 0
    failing = [r for r in caplog.records if "delivery failing" in r.getMessage()]
    assert len(failing) == 1  # one warning for the outage, not one per attempt
    assert failing[0].levelno == logging.WARNING
    assert any("delivery resumed" in r.getMessage() for r in caplog.records)


def test_a_full_queue_drops_new_events_with_one_warning_per_burst(
    black_hole: Any, backends: list[OpenLineageBackend], caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING)
    backend = http_backend(backends, black_hole.url, timeout=5.0, queue_size=3)
    for _ in range(10):
        backend.emit(sample_event())
    stats = backend.stats()
    assert (stats.emitted, stats.dropped, stats.pending) == (10, 7, 3)
    drop_warnings = [r for r in caplog.records if "dropped a" in r.getMessage()]
    assert len(drop_warnings) == 1
    assert "queue is full" in drop_warnings[0].getMessage()
    backend.close(0.5)
    assert_accounted(backend, 10)
    assert backend.stats().dropped == 10


def test_max_attempts_drops_an_event_after_its_retries_and_moves_on(
    receiver: Any, backends: list[OpenLineageBackend], caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING)
    receiver.set_status(503)
    backend = http_backend(backends, receiver.url, max_attempts=2)
    for _ in range(4):
        backend.emit(sample_event())
    wait_until(lambda: backend.stats().dropped == 4)
    assert receiver.refused == 8  # 2 attempts each
    assert_accounted(backend, 4)
    assert sum("dropped an event" in r.getMessage() for r in caplog.records) == 1
    receiver.set_status(200)
    backend.emit(sample_event())
    assert backend.flush(5.0)
    assert backend.stats().delivered == 1
    assert any("dropped 4 events in a row" in r.getMessage() for r in caplog.records)


def test_a_permanent_client_error_drops_the_event_without_retrying(
    receiver: Any, backends: list[OpenLineageBackend]
) -> None:
    receiver.set_status(400)
    backend = http_backend(backends, receiver.url)
    backend.emit(sample_event())
    backend.emit(sample_event())
    wait_until(lambda: backend.stats().dropped == 2)
    assert receiver.refused == 2
    assert backend.flush(1.0)


def test_events_are_written_at_interpreter_exit_without_an_explicit_close(tmp_path: Path) -> None:
    script = textwrap.dedent(
        f"""
        from floe_lineage_openlineage.backend import OpenLineageBackend
        from floe_orchestration_core.testing import sample_event

        backend = OpenLineageBackend(
            transport={{"type": "file", "log_file_path": {str(tmp_path / "ol.jsonl")!r},
                        "append": True}},
            flush_timeout=5.0,
        )
        for _ in range(200):
            backend.emit(sample_event())
        """
    )
    subprocess.run([sys.executable, "-c", script], check=True, timeout=60)
    lines = (tmp_path / "ol.jsonl").read_text().splitlines()
    assert len(lines) == 200
