"""Lineage that loses nothing, run by run: ``floe run`` of the example against a real local
HTTP endpoint that is refused, a black hole, answering 503 throughout, answering 503 for 8 s
then recovering; and a ``floe run`` killed with SIGKILL in the middle.

Reference: the same product run with the ``file`` transport (what the run writes). After each
faulty run, ``floe lineage flush`` against a healthy endpoint leaves the endpoint holding
exactly those events: the same count, none twice ((runId, eventType, job)), START before the
terminal event of each run id. The run's summary accounts for every event (emitted =
delivered + spooled + dropped), and the run waits for the backend less than 2 s in all: the
waits the run reports (``--debug``: each flush during the run, and the one at its end) add up
to less than 2 s. Wall times of whole runs vary by seconds on a busy 2-core machine, so they
are measured with medians of alternating runs by ``benchmarks/bench_lineage_run_faults.py``
(``docs/benchmarks.md``), not asserted here.
"""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from lineage_receivers import (
    BlackHole,
    LineageReceiver,
    check_delivery,
    example_copy,
    identities,
    point_lineage_at,
    refused_url,
)

FLOE = Path(sys.executable).parent / "floe"
VALIDATOR = Path(__file__).resolve().parents[2] / "shared" / "tools" / "ol_validate.py"
#: What the run says it waited for lineage delivery (a flush during the run, or at its end).
WAITED = re.compile(r"lineage.*(?:not delivered|not delivered yet) after waiting ([0-9.]+) s")

pytestmark = pytest.mark.slow


def _floe(*args: str, timeout: float = 900) -> tuple[subprocess.CompletedProcess[str], float]:
    started = time.monotonic()
    done = subprocess.run(
        [str(FLOE), *args], capture_output=True, text=True, timeout=timeout, check=False
    )
    return done, time.monotonic() - started


def _run(product: Path) -> tuple[dict[str, Any], float]:
    """The run's summary, and the seconds it says it waited for lineage delivery."""
    done, _ = _floe("--debug", "run", str(product), "--wait", "--json")
    assert done.returncode == 0, done.stderr[-4000:]
    waited = sum(float(m.group(1)) for m in WAITED.finditer(done.stderr))
    return json.loads(done.stdout), waited


def _assert_valid(events: list[dict[str, Any]], folder: Path) -> None:
    """Every event valid OpenLineage 2-0-2, format checks on (../shared/tools/ol_validate.py)."""
    if not VALIDATOR.is_file():
        pytest.skip(f"the shared OpenLineage validator is absent ({VALIDATOR})")
    path = folder / "received.jsonl"
    path.write_text("".join(json.dumps(e) + "\n" for e in events))
    done = subprocess.run(
        [sys.executable, str(VALIDATOR), str(path)], capture_output=True, text=True, check=False
    )
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]


def _flush(product: Path, url: str) -> dict[str, Any]:
    point_lineage_at(product, {"type": "http", "url": url, "timeout": 5.0})
    done, _ = _floe("lineage", "flush", str(product), "--json", "--timeout", "120")
    assert done.returncode == 0, done.stdout + done.stderr[-4000:]
    report: dict[str, Any] = json.loads(done.stdout)
    return report


@pytest.fixture(scope="module")
def reference(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, list[dict[str, Any]]]:
    """The example run with the file transport: the events a run writes (and a product copy
    whose dbt parse, warehouse and instance the other cases start from)."""
    product = example_copy(tmp_path_factory.mktemp("reference") / "retail-analytics")
    point_lineage_at(
        product, {"type": "file", "log_file_path": ".floe/lineage/events.jsonl", "append": True}
    )
    _run(product)  # warm: dbt parse, the warehouse, the instance (its events are not kept)
    (product / ".floe" / "lineage" / "events.jsonl").unlink()
    summary, _ = _run(product)
    lines = (product / ".floe" / "lineage" / "events.jsonl").read_text().splitlines()
    events = [json.loads(line) for line in lines]
    assert summary["lineage"] == {
        "emitted": len(events),
        "delivered": len(events),
        "spooled": 0,
        "dropped": 0,
    }
    return product, events


def test_a_healthy_endpoint_gets_every_event_during_the_run(
    reference: tuple[Path, list[dict[str, Any]]], tmp_path: Path
) -> None:
    receiver = LineageReceiver()
    try:
        product = example_copy(tmp_path / "p", reference[0])
        point_lineage_at(product, {"type": "http", "url": receiver.url, "timeout": 1.0})
        summary, waited = _run(product)
        assert summary["lineage"]["delivered"] == len(reference[1])
        assert check_delivery(receiver.received(), reference[1]) == []
        assert waited == 0.0  # no flush had to wait
    finally:
        receiver.stop()


@pytest.fixture
def endpoints() -> Iterator[dict[str, Any]]:
    made: dict[str, Any] = {}
    yield made
    for endpoint in made.values():
        endpoint.stop()


@pytest.mark.parametrize("fault", ["refused", "black_hole", "503", "503_for_8s"])
def test_a_faulty_backend_loses_nothing_and_costs_the_run_under_2_s(
    fault: str,
    reference: tuple[Path, list[dict[str, Any]]],
    endpoints: dict[str, Any],
    tmp_path: Path,
) -> None:
    source, written = reference
    if fault == "refused":
        url = refused_url()
    elif fault == "black_hole":
        endpoints["fault"] = BlackHole()
        url = endpoints["fault"].url
    else:
        endpoints["fault"] = LineageReceiver(
            status=503, fail_for=8.0 if fault == "503_for_8s" else None
        )
        url = endpoints["fault"].url
    product = example_copy(tmp_path / "p", source)
    point_lineage_at(product, {"type": "http", "url": url, "timeout": 1.0})

    summary, waited = _run(product)

    assert waited < 2.0
    lineage = summary["lineage"]
    assert lineage["emitted"] == len(written)
    assert lineage["delivered"] + lineage["spooled"] + lineage["dropped"] == lineage["emitted"]
    assert lineage["dropped"] == 0
    if fault != "503_for_8s":
        assert (lineage["delivered"], lineage["spooled"]) == (0, len(written))

    if fault == "503_for_8s":
        receiver = endpoints["fault"]  # recovering: the same endpoint gets the rest
    else:
        receiver = endpoints["healthy"] = LineageReceiver()
    report = _flush(product, receiver.url)
    assert report["remaining"] == 0
    assert report["delivered"] == lineage["spooled"]
    assert check_delivery(receiver.received(), written) == []
    _assert_valid(receiver.received(), tmp_path)
    again = _flush(product, receiver.url)  # nothing left, nothing sent twice
    assert (again["delivered"], again["remaining"]) == (0, 0)
    assert len(receiver.received()) == len(written)


def _spooled_events(product: Path) -> list[dict[str, Any]]:
    spool = product / ".floe" / "lineage" / "spool"
    lines = [
        line
        for segment in sorted(spool.glob("seg-*.jsonl"))
        for line in segment.read_text().splitlines()
    ]
    return [json.loads(line) for line in lines if line.strip()]


def test_a_run_killed_mid_way_keeps_every_event_it_emitted_for_the_next_flush(
    reference: tuple[Path, list[dict[str, Any]]], endpoints: dict[str, Any], tmp_path: Path
) -> None:
    source, written = reference
    product = example_copy(tmp_path / "p", source)
    point_lineage_at(product, {"type": "http", "url": refused_url(), "timeout": 1.0})
    process = subprocess.Popen(
        [str(FLOE), "run", str(product), "--wait"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    try:
        deadline = time.monotonic() + 600
        while len(_spooled_events(product)) < len(written) // 3:
            assert process.poll() is None, "the run ended before it could be killed"
            assert time.monotonic() < deadline, "no lineage events were spooled"
            time.sleep(0.05)
    finally:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait(timeout=60)
    kept = _spooled_events(product)
    assert len(written) // 3 <= len(kept) < len(written)  # killed mid-run

    receiver = endpoints["healthy"] = LineageReceiver()
    report = _flush(product, receiver.url)
    assert (report["delivered"], report["remaining"]) == (len(kept), 0)
    received = receiver.received()
    assert identities(received) == identities(kept)  # all of them, in order, once
    assert check_delivery(received, kept) == []
    _assert_valid(received, tmp_path)
    done = {(kind, job) for _, kind, _, job in identities(written)}
    assert {(kind, job) for _, kind, _, job in identities(received)} <= done
