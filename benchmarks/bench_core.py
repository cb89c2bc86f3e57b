"""Benchmark: compile a dbt manifest into CompiledArtifacts and build the transform graph.

Targets (issue "Foundation"): 10,000 models compiled in under 2 s, graph built in under 1 s.
Each size runs in a fresh interpreter per repetition (so no warm caches carry over), and the
script prints the median and range of each phase as a markdown table for docs/benchmarks.md.

    uv run python benchmarks/bench_core.py            # 500 and 10,000 models, 5 runs each
    uv run python benchmarks/bench_core.py 2000 -n 3
"""

from __future__ import annotations

import argparse
import json
import platform
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from synthetic_manifest import write_manifest

_ONE_RUN = """
import json, sys, time
t0 = time.perf_counter()
from floe_orchestration_core.compile import compile_artifacts
from floe_orchestration_core.graph import TransformGraph
t1 = time.perf_counter()
artifacts = compile_artifacts(sys.argv[1])
t2 = time.perf_counter()
graph = TransformGraph.from_artifacts(artifacts)
t3 = time.perf_counter()
order = graph.topological_order()
t4 = time.perf_counter()
print(json.dumps({"import": t1 - t0, "compile": t2 - t1, "graph": t3 - t2, "topo": t4 - t3,
                  "transforms": len(artifacts.transforms), "edges": len(graph.edges)}))
"""


def _measure(manifest: Path, runs: int) -> dict[str, list[float]]:
    samples: dict[str, list[float]] = {}
    for _ in range(runs + 1):  # the first run warms the OS file cache and is discarded
        out = subprocess.run(
            [sys.executable, "-c", _ONE_RUN, str(manifest)],
            check=True,
            capture_output=True,
            text=True,
        ).stdout
        for key, value in json.loads(out).items():
            samples.setdefault(key, []).append(float(value))
    return {key: values[1:] for key, values in samples.items()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("sizes", nargs="*", type=int, default=[500, 10_000])
    parser.add_argument("-n", "--runs", type=int, default=5)
    args = parser.parse_args()
    print(f"python {platform.python_version()} on {platform.machine()}, runs={args.runs}")
    print("| models | edges | compile s (median [min-max]) | graph build s | topo order s |")
    print("|---:|---:|---|---|---|")
    with tempfile.TemporaryDirectory() as tmp:
        for size in args.sizes:
            manifest = write_manifest(size, Path(tmp) / f"manifest_{size}.json")
            s = _measure(manifest, args.runs)

            def cell(key: str, s: dict[str, list[float]] = s) -> str:
                values = s[key]
                return f"{statistics.median(values):.3f} [{min(values):.3f}-{max(values):.3f}]"

            edges = int(s["edges"][0])
            print(
                f"| {size:,} | {edges:,} | {cell('compile')} | {cell('graph')} | {cell('topo')} |"
            )


if __name__ == "__main__":
    main()
