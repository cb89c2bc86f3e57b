"""What a failing lineage backend costs a pipeline run: emit latency and added wall time.

Each case simulates one run against a local HTTP endpoint: ``--events`` events emitted
``--interval`` seconds apart (the run's own work), then the end of a run as the platform does
it (``Platform.close``: ``close(5.0)``, one flush bounded by ``flush_timeout``). Cases:

- ``healthy``    — a receiver answering 200 (the baseline);
- ``refused``    — nothing listens on the port;
- ``black_hole`` — accepts connections and never answers;
- ``503``        — answers 503 for ``--outage`` seconds (longer than the run);
- ``recovery``   — answers 503 for 2 s after its first request, then 200; the run then waits
  for delivery (``flush`` until empty) to show that queued events are delivered after recovery.

Each case's backend spools into a fresh product state folder (as under ``floe run``). For each
case it prints: emit latency (median, p99, max, in µs: mapping, serialising and appending to
the spool), the time the end of the run took, the wall time added over ``healthy``, and
``delivered + spooled + dropped == emitted`` (what was not delivered is spooled, not lost).
Whole runs of the example are measured by ``bench_lineage_run_faults.py``.

Usage::

    .venv/bin/python benchmarks/bench_lineage_faults.py [--events 200] [--interval 0.005]
        [--outage 60] [--check]   # --check: exit 1 if a fault adds 2 s or more, or loses count
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "integration"))
from floe_lineage_openlineage.backend import OpenLineageBackend
from floe_orchestration_core.testing import sample_event
from lineage_receivers import BlackHole, LineageReceiver, refused_url


def run_case(
    url: str, events: int, interval: float, *, wait_for_delivery: float = 0.0
) -> dict[str, Any]:
    state = tempfile.mkdtemp(prefix="floe-bench-lineage-")
    backend = OpenLineageBackend(
        transport={"type": "http", "url": url, "timeout": 1.0}, state_dir=state
    )
    latencies = []
    for _ in range(events):
        event = sample_event()
        started = time.perf_counter()
        backend.emit(event)
        latencies.append(time.perf_counter() - started)
        time.sleep(interval)
    if wait_for_delivery:
        deadline = time.monotonic() + wait_for_delivery
        while backend.stats().pending and time.monotonic() < deadline:
            time.sleep(0.05)
    end_started = time.monotonic()
    backend.close(5.0)  # what Platform.close does: one flush, bounded by flush_timeout
    end = time.monotonic() - end_started
    stats = backend.stats()
    shutil.rmtree(state, ignore_errors=True)
    latencies.sort()
    return {
        "emit_median_us": statistics.median(latencies) * 1e6,
        "emit_p99_us": latencies[int(len(latencies) * 0.99) - 1] * 1e6,
        "emit_max_us": latencies[-1] * 1e6,
        "end_of_run_s": end,
        "emitted": stats.emitted,
        "delivered": stats.delivered,
        "spooled": stats.spooled,
        "dropped": stats.dropped,
        "accounted": stats.delivered + stats.spooled + stats.dropped == stats.emitted
        and stats.pending == 0,
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=200)
    parser.add_argument("--interval", type=float, default=0.005)
    parser.add_argument("--outage", type=float, default=60.0)
    parser.add_argument("--check", action="store_true")
    args = parser.parse_args()
    results: dict[str, dict[str, Any]] = {}

    healthy = LineageReceiver()
    results["healthy"] = run_case(healthy.url, args.events, args.interval)
    healthy.stop()
    results["refused"] = run_case(refused_url(), args.events, args.interval)
    hole = BlackHole()
    results["black_hole"] = run_case(hole.url, args.events, args.interval)
    hole.stop()
    failing = LineageReceiver(status=503, fail_for=args.outage)
    results["503"] = run_case(failing.url, args.events, args.interval)
    failing.stop()
    recovering = LineageReceiver(fail_for=2.0)
    results["recovery"] = run_case(
        recovering.url, args.events, args.interval, wait_for_delivery=30.0
    )
    recovering.stop()

    base = results["healthy"]["end_of_run_s"]
    print(
        "| case | emit median µs | emit p99 µs | emit max µs | end of run s | added s "
        "| emitted | delivered | spooled | dropped | accounted |"
    )
    print("|---|---|---|---|---|---|---|---|---|---|---|")
    failed = False
    for name, r in results.items():
        added = r["end_of_run_s"] - base
        print(
            f"| {name} | {r['emit_median_us']:.0f} | {r['emit_p99_us']:.0f} | "
            f"{r['emit_max_us']:.0f} | {r['end_of_run_s']:.3f} | {added:+.3f} | {r['emitted']} | "
            f"{r['delivered']} | {r['spooled']} | {r['dropped']} | {r['accounted']} |"
        )
        failed |= added >= 2.0 or not r["accounted"]
    failed |= results["recovery"]["delivered"] != results["recovery"]["emitted"]
    return 1 if args.check and failed else 0


if __name__ == "__main__":
    sys.exit(main())
