"""Delivery to a real local HTTP receiver, and the faults that must never reach a pipeline:
connections refused, a black hole (accepts, never answers), 503s, then recovery, a full
spool, two processes on one spool, a process killed with events undelivered.

Each test bounds its waits with short client timeouts and backoffs; assertions are on what
the receiver got and on the backend's counters, not on wall time (the benchmark
``benchmarks/bench_lineage_faults.py`` measures that).
"""

from __future__ import annotations

import json
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
    assert stats.delivered + stats.dropped + stats.spooled + stats.pending == emitted


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


def test_refused_connections_never_block_emit_and_without_a_product_are_dropped_at_close(
    refused_url: str, backends: list[OpenLineageBackend], caplog: pytest.LogCaptureFixture
) -> None:
    backend = http_backend(backends, refused_url, flush_timeout=0.3)
    assert not backend.spool_is_durable  # no product: a private spool removed at close
    for _ in range(50):
        backend.emit(sample_event())
    # emit only stored: nothing is lost or delivered yet, the calls all returned
    assert backend.stats().dropped == 0
    assert backend.stats().delivered == 0
    assert backend.flush(10.0) is False
    caplog.set_level(logging.WARNING)
    backend.close(10.0)
    stats = backend.stats()
    assert (stats.emitted, stats.delivered, stats.dropped, stats.spooled, stats.pending) == (
        50,
        0,
        50,
        0,
        0,
    )
    assert not backend.spool_folder.exists()
    (warning,) = [r.getMessage() for r in caplog.records if "not delivered" in r.getMessage()]
    assert "50 of 50 event(s) not delivered after waiting 0.3 s" in warning
    assert "lineage.config.flush_timeout is 0.3 s" in warning
    assert "they are dropped" in warning


def test_with_a_product_undelivered_events_are_spooled_and_a_later_backend_delivers_them(
    refused_url: str,
    receiver: Any,
    backends: list[OpenLineageBackend],
    tmp_path: Path,
    caplog: pytest.LogCaptureFixture,
) -> None:
    state = str(tmp_path / ".floe")
    down = http_backend(backends, refused_url, flush_timeout=0.2, state_dir=state)
    run_ids = [new_run_id() for _ in range(30)]
    for run_id in run_ids:
        down.emit(sample_event(RunState.START, run_id=run_id))
        down.emit(sample_event(RunState.COMPLETE, run_id=run_id))
    caplog.set_level(logging.WARNING)
    down.close(5.0)
    stats = down.stats()
    assert (stats.emitted, stats.delivered, stats.dropped, stats.spooled) == (60, 0, 0, 60)
    (warning,) = [r.getMessage() for r in caplog.records if "not delivered" in r.getMessage()]
    assert str(tmp_path / ".floe" / "lineage" / "spool") in warning
    assert "floe lineage flush" in warning

    up = http_backend(backends, receiver.url, state_dir=state)  # the next process
    report = up.deliver_backlog(10.0)
    assert (report.delivered, report.dropped, report.remaining) == (60, 0, 0)
    assert report.location == str(tmp_path / ".floe" / "lineage" / "spool")
    got = [(e["run"]["runId"], e["eventType"]) for e in receiver.received()]
    assert got == [(str(r), state) for r in run_ids for state in ("START", "COMPLETE")]
    assert up.stats().emitted == 0  # another process's events: not counted as this one's
    again = up.deliver_backlog(1.0)  # counts are this backend's so far
    assert (again.delivered, again.remaining) == (60, 0)
    assert len(receiver.received()) == 60


def test_a_black_hole_costs_each_flush_its_bounded_time_and_loses_nothing(
    black_hole: Any, backends: list[OpenLineageBackend], tmp_path: Path
) -> None:
    backend = http_backend(
        backends, black_hole.url, timeout=5.0, flush_timeout=0.3, state_dir=str(tmp_path)
    )
    for _ in range(5):
        backend.emit(sample_event())
    for _ in range(2):  # every flush waits its own time: no flush returns at once
        started = time.monotonic()
        assert backend.flush(30.0) is False
        assert 0.3 <= time.monotonic() - started < 2.0
    started = time.monotonic()
    backend.close(30.0)
    assert time.monotonic() - started < 2.0  # the request in flight is not waited for
    stats = backend.stats()
    assert (stats.emitted, stats.delivered, stats.dropped, stats.spooled) == (5, 0, 0, 5)


def test_events_spooled_during_503s_are_delivered_in_order_after_recovery(
    receiver: Any, backends: list[OpenLineageBackend], caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    receiver.set_status(503)
    backend = http_backend(backends, receiver.url, flush_timeout=0.1)
    run_ids = [new_run_id() for _ in range(10)]
    for run_id in run_ids:
        backend.emit(sample_event(run_id=run_id))
    wait_until(lambda: receiver.refused >= 3)  # the first event was retried
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


def test_a_flush_cuts_a_long_backoff_short_so_a_recovered_backend_gets_the_events(
    receiver: Any, backends: list[OpenLineageBackend]
) -> None:
    receiver.set_status(503)
    backend = http_backend(
        backends, receiver.url, retry_backoff=30.0, retry_backoff_max=60.0, flush_timeout=5.0
    )
    backend.emit(sample_event())
    wait_until(lambda: receiver.refused == 1)  # now waiting 30 s before the next attempt
    receiver.set_status(200)
    started = time.monotonic()
    assert backend.flush(5.0) is True
    assert time.monotonic() - started < 5.0
    assert len(receiver.received()) == 1


def test_a_full_spool_drops_new_events_with_one_warning_naming_the_setting(
    black_hole: Any, backends: list[OpenLineageBackend], caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING)
    backend = http_backend(
        backends, black_hole.url, timeout=5.0, spool_max_bytes=65536, flush_timeout=0.1
    )
    emitted = 0
    while backend.stats().dropped == 0:
        backend.emit(sample_event())
        emitted += 1
    for _ in range(5):
        backend.emit(sample_event())
    stats = backend.stats()
    assert (stats.emitted, stats.dropped, stats.pending) == (emitted + 5, 6, emitted - 1)
    drop_warnings = [r for r in caplog.records if "dropped a" in r.getMessage()]
    assert len(drop_warnings) == 1
    assert "spool_max_bytes" in drop_warnings[0].getMessage()
    backend.close(0.5)
    assert_accounted(backend, emitted + 5)


def test_max_attempts_gives_an_event_up_after_its_retries_and_moves_on(
    receiver: Any,
    backends: list[OpenLineageBackend],
    caplog: pytest.LogCaptureFixture,
    tmp_path: Path,
) -> None:
    caplog.set_level(logging.WARNING)
    receiver.set_status(503)
    backend = http_backend(backends, receiver.url, max_attempts=2, state_dir=str(tmp_path))
    for _ in range(4):
        backend.emit(sample_event())
    wait_until(lambda: backend.stats().dropped == 4)
    assert receiver.refused == 8  # 2 attempts each
    assert_accounted(backend, 4)
    assert sum("gave up an event" in r.getMessage() for r in caplog.records) == 1
    rejected = (tmp_path / "lineage" / "spool" / "rejected.jsonl").read_text().splitlines()
    assert len(rejected) == 4
    assert json.loads(json.loads(rejected[0])["event"])["eventType"] == "START"
    receiver.set_status(200)
    backend.emit(sample_event())
    assert backend.flush(5.0)
    assert backend.stats().delivered == 1


def test_a_permanent_client_error_gives_the_event_up_without_retrying(
    receiver: Any, backends: list[OpenLineageBackend]
) -> None:
    receiver.set_status(400)
    backend = http_backend(backends, receiver.url)
    backend.emit(sample_event())
    backend.emit(sample_event())
    wait_until(lambda: backend.stats().dropped == 2)
    assert receiver.refused == 2
    assert backend.flush(1.0)


def test_an_unreadable_line_in_the_spool_is_given_up_and_the_rest_delivered(
    receiver: Any, backends: list[OpenLineageBackend], tmp_path: Path
) -> None:
    folder = tmp_path / "lineage" / "spool"
    folder.mkdir(parents=True)
    event = json.dumps({"eventType": "START", "job": {"name": "j", "namespace": "n"}})
    (folder / "seg-00000000000000000000.jsonl").write_text(f"garbage\n{event}\n")
    backend = http_backend(backends, receiver.url, state_dir=str(tmp_path))
    report = backend.deliver_backlog(5.0)
    assert (report.delivered, report.dropped, report.remaining) == (1, 1, 0)
    assert receiver.received() == [json.loads(event)]


_EMITTER = """
import sys
from floe_lineage_openlineage.backend import OpenLineageBackend
from floe_orchestration_core.lineage import RunState, new_run_id
from floe_orchestration_core.testing import sample_event

url, state, label, count = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
backend = OpenLineageBackend(
    transport={"type": "http", "url": url, "timeout": 2.0},
    state_dir=state, flush_timeout=30.0, retry_backoff=0.02, retry_backoff_max=0.1,
)
for index in range(count):
    backend.emit(sample_event(RunState.START, job_name=f"{label}.{index}", run_id=new_run_id()))
print("done", flush=True)
if sys.argv[5:] == ["kill"]:
    import os, signal
    os.kill(os.getpid(), signal.SIGKILL)
"""


def test_two_processes_on_one_spool_never_send_the_same_event(
    receiver: Any, tmp_path: Path
) -> None:
    args = [receiver.url, str(tmp_path), "", "150"]
    processes = [
        subprocess.Popen([sys.executable, "-c", _EMITTER, *args[:2], label, *args[3:]])
        for label in ("a", "b")
    ]
    for process in processes:
        assert process.wait(timeout=120) == 0
    names = [e["job"]["name"] for e in receiver.received()]
    assert len(names) == 300
    assert len(set(names)) == 300  # no duplicates
    for label in ("a", "b"):  # each process's events in its own order
        mine = [int(n.split(".")[1]) for n in names if n.startswith(f"{label}.")]
        assert mine == list(range(150))


def test_events_of_a_killed_process_are_delivered_by_the_next_one(
    refused_url: str, receiver: Any, backends: list[OpenLineageBackend], tmp_path: Path
) -> None:
    process = subprocess.run(
        [sys.executable, "-c", _EMITTER, refused_url, str(tmp_path), "k", "40", "kill"],
        capture_output=True,
        timeout=120,
        check=False,
    )
    assert process.returncode == -9
    assert process.stdout.strip() == b"done"
    backend = http_backend(backends, receiver.url, state_dir=str(tmp_path))
    report = backend.deliver_backlog(10.0)
    assert (report.delivered, report.remaining) == (40, 0)
    names = [e["job"]["name"] for e in receiver.received()]
    assert names == [f"k.{index}" for index in range(40)]


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


def test_the_next_backend_of_a_product_delivers_the_backlog_by_itself(
    refused_url: str, receiver: Any, backends: list[OpenLineageBackend], tmp_path: Path
) -> None:
    down = http_backend(backends, refused_url, flush_timeout=0.1, state_dir=str(tmp_path))
    down.emit(sample_event(RunState.START))
    down.close(1.0)
    assert down.stats().spooled == 1
    # the next process of the product (floe run, floe up): nothing asked, it delivers
    http_backend(backends, receiver.url, state_dir=str(tmp_path))
    wait_until(lambda: len(receiver.received()) == 1)
