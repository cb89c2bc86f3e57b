"""What a failing lineage backend costs a whole ``floe run`` of the example, and that nothing
is lost: wall time per case (median of alternating runs) and the events delivered after
``floe lineage flush``.

    .venv/bin/python benchmarks/bench_lineage_run_faults.py [--runs 3] [--check]

The example (examples/retail-analytics) is copied and run once with the file transport (the
reference: the events a run writes; it also parses dbt and fills the warehouse). Then, in
rounds (each case once per round, so a shared machine's drift hits every case alike), a fresh
copy is run with the HTTP transport pointed at a local endpoint:

- ``healthy``    — answers 200 (the baseline);
- ``refused``    — nothing listens on the port;
- ``black_hole`` — accepts connections and never answers;
- ``503``        — answers 503 throughout;
- ``503_for_8s`` — answers 503 for 8 s after its first request, then 200.

For each case: the median wall time of ``floe run --wait``, the median added over ``healthy``,
the median of what the run says it waited for lineage delivery (``--debug``: the flushes
after its dbt ops and at its end; the machine's noise does not move this one), what the run's
summary says about its events, and whether, after ``floe lineage flush`` to a healthy
endpoint (the recovered one for ``503_for_8s``), the endpoint holds exactly the reference's
events (same count, none twice, START before each terminal event). ``--check`` exits 1 when
a run waited 2 s or more for lineage, or events are lost.
"""

from __future__ import annotations

import argparse
import json
import re
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "integration"))
from lineage_receivers import (
    BlackHole,
    LineageReceiver,
    check_delivery,
    example_copy,
    point_lineage_at,
    refused_url,
)

FLOE = Path(sys.executable).parent / "floe"
WAITED = re.compile(r"lineage.*not delivered(?: yet)? after waiting ([0-9.]+) s")
CASES = ("healthy", "refused", "black_hole", "503", "503_for_8s")


def _floe(*args: str) -> tuple[subprocess.CompletedProcess[str], float]:
    started = time.monotonic()
    done = subprocess.run(
        [str(FLOE), *args], capture_output=True, text=True, timeout=1800, check=False
    )
    if done.returncode not in (0, 1):
        raise SystemExit(f"floe {' '.join(args)} failed:\n{done.stderr[-3000:]}")
    return done, time.monotonic() - started


def _endpoint(case: str) -> Any:
    if case == "black_hole":
        return BlackHole()
    if case == "healthy":
        return LineageReceiver()
    return LineageReceiver(status=503, fail_for=8.0 if case == "503_for_8s" else None)


def _one(case: str, source: Path, folder: Path, written: list[dict[str, Any]]) -> dict[str, Any]:
    endpoint = _endpoint(case) if case != "refused" else None
    flush_to: LineageReceiver | None = None
    try:
        product = example_copy(folder, source)
        url = endpoint.url if endpoint is not None else refused_url()
        point_lineage_at(product, {"type": "http", "url": url, "timeout": 1.0})
        done, seconds = _floe("--debug", "run", str(product), "--wait", "--json")
        lineage = json.loads(done.stdout)["lineage"]
        waited = sum(float(m.group(1)) for m in WAITED.finditer(done.stderr))
        if isinstance(endpoint, LineageReceiver) and case in ("healthy", "503_for_8s"):
            flush_to = endpoint
        else:
            flush_to = LineageReceiver()
        point_lineage_at(product, {"type": "http", "url": flush_to.url, "timeout": 5.0})
        _floe("lineage", "flush", str(product), "--timeout", "120")
        problems = check_delivery(flush_to.received(), written)
        return {"seconds": seconds, "waited": waited, "lineage": lineage, "problems": problems}
    finally:
        for server in {id(s): s for s in (endpoint, flush_to) if s is not None}.values():
            server.stop()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--check", action="store_true")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="floe-bench-lineage-runs-") as tmp:
        root = Path(tmp)
        source = example_copy(root / "reference")
        point_lineage_at(
            source, {"type": "file", "log_file_path": ".floe/lineage/events.jsonl", "append": True}
        )
        _floe("run", str(source), "--wait")
        events_file = source / ".floe" / "lineage" / "events.jsonl"
        events_file.unlink()
        _floe("run", str(source), "--wait")
        written = [json.loads(line) for line in events_file.read_text().splitlines()]
        results: dict[str, list[dict[str, Any]]] = {case: [] for case in CASES}
        for round_ in range(args.runs):
            for case in CASES:
                results[case].append(_one(case, source, root / f"{case}-{round_}", written))
    base = statistics.median(r["seconds"] for r in results["healthy"])
    print(f"reference: {len(written)} events per run (file transport)")
    print(
        "| case | floe run s (median) | added s | lineage waits s | summary: delivered / "
        "spooled / dropped | after flush |"
    )
    print("|---|---|---|---|---|---|")
    failed = False
    for case, runs in results.items():
        median = statistics.median(r["seconds"] for r in runs)
        waited = statistics.median(r["waited"] for r in runs)
        counts = runs[-1]["lineage"]
        problems = [p for r in runs for p in r["problems"]]
        print(
            f"| {case} | {median:.1f} | {median - base:+.1f} | {waited:.1f} | "
            f"{counts['delivered']} / "
            f"{counts['spooled']} / {counts['dropped']} | "
            f"{'exactly the run' + chr(39) + 's events' if not problems else problems[0]} |"
        )
        failed |= waited >= 2.0 or bool(problems)
    return 1 if args.check and failed else 0


if __name__ == "__main__":
    sys.exit(main())
