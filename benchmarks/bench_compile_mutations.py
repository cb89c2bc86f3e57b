"""Benchmark: time and peak memory of compiling each malformed variant of the corpus manifests.

Issue 14 asks that every case of the property test (``tests/test_compile_faithful_properties``:
real manifests with a type swapped, a field deleted, a unique_id or key written twice, a cycle,
a hostile name, deep nesting) finish in under 2 s and 200 MB. This script draws ``--per-kind``
cases of each kind from every manifest of the shared corpus and the core's fixtures
(:func:`floe_orchestration_core.testing.manifest_mutations.manifest_cases`), writes each to a
file, then compiles each file in a fresh child process forked from a parent that has imported
the compiler and nothing else: the time is ``compile_artifacts(path)`` (JSON decoding
included) measured in the child, the memory is the child's peak resident set (``wait4``'s
``ru_maxrss``: the interpreter, the compiler's imports, the decoded manifest and the compile).
The cases are drawn in another process, so the parent the children are forked from holds no
manifest.

    uv run python benchmarks/bench_compile_mutations.py              # 3 cases per kind
    uv run python benchmarks/bench_compile_mutations.py --per-kind 5
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
FIXTURES = ROOT / "packages" / "floe-orchestration-core" / "tests" / "fixtures"
CORPUS = ROOT.parent / "shared" / "corpus" / "dbt-manifests"
PRODUCT = {"name": "mutated", "compute": {"targets": {"main": {"type": "duckdb"}}}}


def _draw(manifest: dict[str, object], raw: bytes, kind: str, count: int) -> list[bytes]:
    """``count`` cases of ``kind`` drawn from ``manifest`` (whose bytes are ``raw``), as bytes."""
    from hypothesis import HealthCheck, Phase, given, settings
    from hypothesis import strategies as st

    from floe_orchestration_core.testing.manifest_mutations import manifest_cases

    drawn: list[bytes] = []

    @settings(
        max_examples=count,
        database=None,
        deadline=None,
        phases=[Phase.generate],
        suppress_health_check=list(HealthCheck),
    )
    @given(st.data())
    def draw(data: st.DataObject) -> None:
        case = data.draw(manifest_cases(manifest, raw, kinds=(kind,)))
        drawn.append(case.text if case.text is not None else json.dumps(case.data).encode())

    draw()
    return drawn


def _write_cases(folder: Path, per_kind: int) -> list[tuple[str, str, Path]]:
    """(manifest, kind, file) of every case drawn, written to ``folder``."""
    from floe_orchestration_core.testing.manifest_mutations import KINDS

    paths = sorted(FIXTURES.glob("manifest_*.json")) + sorted(CORPUS.glob("*.json"))
    written: list[tuple[str, str, Path]] = []
    for path in paths:
        raw = path.read_bytes()
        manifest = json.loads(raw)
        for kind in KINDS:
            for index, text in enumerate(_draw(manifest, raw, kind, per_kind)):
                file = folder / f"{path.stem}.{kind}.{index}.json"
                file.write_bytes(text)
                written.append((path.stem, kind, file))
    return written


def _measure(file: Path) -> tuple[float, float, str]:
    """(seconds, peak MiB, outcome) of compiling ``file`` in a forked child."""
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: compile, report, leave without cleanup
        os.close(read)
        from floe_orchestration_core.compile import compile_artifacts
        from floe_orchestration_core.errors import InvalidManifestError

        start = time.perf_counter()
        try:
            compile_artifacts(file, product=PRODUCT)
            outcome = "compiled"
        except InvalidManifestError:
            outcome = "refused"
        except Exception as exc:  # reported, not hidden: the property test would fail
            outcome = f"ERROR {type(exc).__name__}"
        seconds = time.perf_counter() - start
        os.write(write, json.dumps([seconds, outcome]).encode())
        os._exit(0)
    os.close(write)
    _, _, usage = os.wait4(pid, 0)
    with os.fdopen(read) as pipe:
        seconds, outcome = json.loads(pipe.read())
    return seconds, usage.ru_maxrss / 1024, outcome


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--per-kind", type=int, default=3, help="cases per kind and manifest")
    parser.add_argument("--write-cases", metavar="DIR", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.write_cases:  # the child that draws the cases (hypothesis, decoded manifests)
        listing = _write_cases(Path(args.write_cases), args.per_kind)
        print(json.dumps([[m, k, str(f)] for m, k, f in listing]))
        return
    with tempfile.TemporaryDirectory(prefix="floe-mutations-") as tmp:
        drawn = subprocess.run(
            [sys.executable, __file__, "--per-kind", str(args.per_kind), "--write-cases", tmp],
            check=True,
            capture_output=True,
            text=True,
        ).stdout
        cases = [(m, k, Path(f)) for m, k, f in json.loads(drawn)]
        # The parent imports the compiler and nothing else: each forked child starts lean.
        import floe_orchestration_core.compile  # noqa: F401

        by_kind: dict[str, list[tuple[float, float, str]]] = defaultdict(list)
        worst: tuple[float, float, str] = (0.0, 0.0, "")
        for manifest, kind, file in cases:
            seconds, peak, outcome = _measure(file)
            by_kind[kind].append((seconds, peak, outcome))
            if seconds > worst[0]:
                worst = (seconds, peak, f"{manifest} {kind}")
    print(f"python {platform.python_version()} on {platform.machine()}, {len(cases)} cases")
    print(
        "| kind | cases | refused | compiled | s median | s max | peak MiB median | peak MiB max |"
    )
    print("|---|---:|---:|---:|---:|---:|---:|---:|")
    for kind, rows in by_kind.items():
        times = [r[0] for r in rows]
        peaks = [r[1] for r in rows]
        outcomes = [r[2] for r in rows]
        errors = [o for o in outcomes if o.startswith("ERROR")]
        print(
            f"| {kind} | {len(rows)} | {outcomes.count('refused')} | {outcomes.count('compiled')} "
            f"| {statistics.median(times):.3f} | {max(times):.3f} "
            f"| {statistics.median(peaks):.0f} | {max(peaks):.0f} |"
            + (f" errors: {errors}" if errors else "")
        )
    print(f"slowest case: {worst[2]} {worst[0]:.3f} s, {worst[1]:.0f} MiB")
    if any(o.startswith("ERROR") for rows in by_kind.values() for _, _, o in rows):
        sys.exit(1)


if __name__ == "__main__":
    main()
