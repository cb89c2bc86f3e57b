"""Dagster Definitions from a dbt manifest: floe's adapter against the stock dagster-dbt path.

Targets (issue "Dagster adapter", spec NFR-002): ``create_definitions`` plus asset-graph
resolution for 500 transforms under 5 s in process; at 10,000 models the whole process —
import, definitions, resolution, ``validate_loadable``, repository snapshot — at least 2x
faster than the stock path, with an identical asset graph and peak RSS under 400 MB.

Projects come from :mod:`synthetic_dbt_project` (real ``dbt parse``, cached under
``benchmarks/.cache/``). Two paths over the same manifest:

- ``stock`` — ``@dbt_assets(manifest=manifest.json)`` with a no-op body, dagster-dbt's
  translator with ``enable_source_tests_as_checks=True`` (floe turns tests on sources into
  checks too), and
  ``Definitions(assets=[...], resources={"dbt": DbtCliResource(project_dir=...)})``;
- ``floe`` — ``load_artifacts(compiled_artifacts.json)`` and
  ``DagsterOrchestratorPlugin().create_definitions(artifacts)`` (one ``@dbt_assets`` per
  compute target; the synthetic ``floe.yaml`` defines two). As in production, where
  ``floe compile`` runs in CI and the code server only loads its output, the artifacts are
  compiled once by the parent, outside every measured process
  (``compile_artifacts(manifest, product=floe.yaml)``, written to
  ``<project>/compiled_artifacts.json`` in the cache, with the slim dbt manifest
  ``compiled_artifacts.dbt_manifest.json`` beside it, as ``floe compile -o`` writes it); the
  code server hashes the dbt ``manifest.json`` (unchanged, so it reads the slim one).
  Skipped until the adapter's ``definitions.py`` exists.

Every run is a fresh ``python`` process that times its phases in order:

``import``     dagster and the path's entry points;
``build``      the decorator and ``Definitions`` (stock) / ``load_artifacts`` +
               ``create_definitions`` (floe);
``resolve``    ``defs.resolve_asset_graph()`` (``get_repository_def().asset_graph`` before 1.10);
``validate``   ``Definitions.validate_loadable(defs)``;
``snapshot``   ``serialize_value(RepositorySnap.from_def(repo, defer_snapshots=True))`` — what a
               code server answers to the webserver's ``ExternalRepository`` gRPC call.

It reports peak RSS (``ru_maxrss`` at the end of the child) and writes the asset graph (keys,
parents per key, check keys) so the parent can compare the two paths.

**Identical asset graph** means: the same asset keys (models, seeds, snapshots and the sources
some model reads — neither path makes a source nobody reads an asset), the same parent keys
for every asset, the same materializable keys and the same asset-check keys (tests on models
and on read sources). Metadata, descriptions, groups, tags and op layout are not compared:
floe adds ``floe/*`` metadata, groups by compute target, leaves the SQL out of descriptions
and splits the assets into one op per compute target (and stage). Paths are interleaved
(A B A B ...) after one discarded warm-up run each; the tables give medians.

    .venv/bin/python benchmarks/bench_dagster_definitions.py                 # 500 and 10,000
    .venv/bin/python benchmarks/bench_dagster_definitions.py --sizes 500 --runs 5 --paths stock
    .venv/bin/python benchmarks/bench_dagster_definitions.py --sizes 10000 --runs 1 \\
        --profile /tmp/prof     # cProfile per phase: /tmp/prof/<path>_<size>_<phase>.prof
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import sys
import tempfile
import time
from dataclasses import dataclass, field
from importlib import metadata as importlib_metadata
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).parent))
from synthetic_dbt_project import CACHE_DIR, parsed_project
from timed_process import run_timed

ROOT = Path(__file__).resolve().parent.parent
FLOE_DEFINITIONS = (
    ROOT / "packages/floe-orchestrator-dagster/src/floe_orchestrator_dagster/definitions/build.py"
)
PHASES = ("import", "build", "resolve", "validate", "snapshot")
PATHS = ("stock", "floe")
SPEED_TARGET = 2.0
RSS_TARGET_MB = 400.0
NFR_002_S = 5.0
ARTIFACTS_FILE = "compiled_artifacts.json"

# The child: one fresh interpreter per run. Kept as source text (as the other benchmarks do)
# so nothing but the standard library is imported before the clock starts, and so the dbt
# resource parameter's annotation is a real class, as in user code.
_CHILD = r"""
import json, os, resource, sys, time
T0 = time.perf_counter()
cfg = json.loads(sys.argv[1])
phases, cpu, rss_after = {}, {}, {}
_page = os.sysconf("SC_PAGE_SIZE")


def _rss_mb():
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * _page / 2**20


def phase(name, fn):
    prof = None
    if cfg["profile_dir"]:
        import cProfile
        prof = cProfile.Profile()
        prof.enable()
    start, cpu_start = time.perf_counter(), time.process_time()
    result = fn()
    phases[name] = time.perf_counter() - start
    cpu[name] = time.process_time() - cpu_start
    if prof is not None:
        prof.disable()
        stem = f"{cfg['path']}_{cfg['size']}_{name}.prof"
        prof.dump_stats(os.path.join(cfg["profile_dir"], stem))
    rss_after[name] = _rss_mb()
    return result


project_dir = cfg["project_dir"]
manifest_path = os.path.join(project_dir, "target", "manifest.json")


def do_import():
    import dagster
    from dagster._serdes import serialize_value
    if cfg["path"] == "stock":
        from dagster_dbt import (
            DagsterDbtTranslator, DagsterDbtTranslatorSettings, DbtCliResource, dbt_assets,
        )
        return dict(dagster=dagster, DbtCliResource=DbtCliResource, dbt_assets=dbt_assets,
                    serialize_value=serialize_value, DagsterDbtTranslator=DagsterDbtTranslator,
                    DagsterDbtTranslatorSettings=DagsterDbtTranslatorSettings)
    from floe_orchestration_core.artifacts import load_artifacts
    from floe_orchestrator_dagster.plugin import DagsterOrchestratorPlugin
    return dict(dagster=dagster, load_artifacts=load_artifacts,
                plugin=DagsterOrchestratorPlugin, serialize_value=serialize_value)


ns = phase("import", do_import)
dagster = ns["dagster"]


def build_stock():
    DbtCliResource = ns["DbtCliResource"]

    # Source tests as checks, as floe makes them (dagster-dbt >= 0.23 has the setting).
    settings = ns["DagsterDbtTranslatorSettings"](enable_source_tests_as_checks=True)
    translator = ns["DagsterDbtTranslator"](settings=settings)

    @ns["dbt_assets"](manifest=manifest_path, dagster_dbt_translator=translator)
    def synthetic_dbt_assets(context: dagster.AssetExecutionContext, dbt: DbtCliResource):
        yield from ()

    return dagster.Definitions(
        assets=[synthetic_dbt_assets],
        resources={"dbt": DbtCliResource(project_dir=project_dir)},
    )


def build_floe():
    artifacts = ns["load_artifacts"](cfg["artifacts_path"])
    return ns["plugin"]().create_definitions(artifacts)


defs = phase("build", build_stock if cfg["path"] == "stock" else build_floe)


def resolve():
    if hasattr(defs, "resolve_asset_graph"):
        return defs.resolve_asset_graph()
    return defs.get_repository_def().asset_graph


graph = phase("resolve", resolve)
phase("validate", lambda: dagster.Definitions.validate_loadable(defs))


def snapshot():
    from dagster._core.remote_representation import external_data
    repo = defs.get_repository_def()
    if hasattr(external_data, "RepositorySnap"):
        snap = external_data.RepositorySnap.from_def(repo, defer_snapshots=True)
    else:  # dagster < 1.9
        snap = external_data.external_repository_data_from_def(repo, defer_snapshots=True)
    return ns["serialize_value"](snap)


serialized = phase("snapshot", snapshot)
total = time.perf_counter() - T0
maxrss_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024

if cfg["graph_out"]:
    keys = graph.get_all_asset_keys()
    doc = {
        "assets": {
            k.to_user_string(): sorted(p.to_user_string() for p in graph.get(k).parent_keys)
            for k in keys
        },
        "materializable": sorted(
            k.to_user_string() for k in keys if graph.get(k).is_materializable
        ),
        "checks": sorted(
            f"{c.asset_key.to_user_string()}:{c.name}" for c in graph.asset_check_keys
        ),
    }
    with open(cfg["graph_out"], "w") as f:
        json.dump(doc, f)

print(json.dumps({"phases": phases, "cpu": cpu, "rss_after": rss_after, "total": total,
                  "maxrss_mb": maxrss_mb, "snapshot_bytes": len(serialized)}))
sys.stdout.flush()
os._exit(0)  # a code server keeps its heap; tearing it down is not part of the measurement
"""


@dataclass
class Samples:
    """Every measured run of one (size, path)."""

    phases: dict[str, list[float]] = field(default_factory=dict)
    cpu: list[float] = field(default_factory=list)
    total: list[float] = field(default_factory=list)
    wall: list[float] = field(default_factory=list)
    rss_mb: list[float] = field(default_factory=list)
    rss_after: dict[str, list[float]] = field(default_factory=dict)
    snapshot_bytes: int = 0

    def add(self, result: dict[str, Any], wall: float) -> None:
        for name, value in result["phases"].items():
            self.phases.setdefault(name, []).append(float(value))
        for name, value in result["rss_after"].items():
            self.rss_after.setdefault(name, []).append(float(value))
        self.cpu.append(sum(float(v) for v in result["cpu"].values()))
        self.total.append(float(result["total"]))
        self.wall.append(wall)
        self.rss_mb.append(float(result["maxrss_mb"]))
        self.snapshot_bytes = int(result["snapshot_bytes"])


def _run_child(
    path: str,
    size: int,
    project_dir: Path,
    *,
    graph_out: Path | None = None,
    profile_dir: Path | None = None,
) -> tuple[dict[str, Any], float]:
    cfg = {
        "path": path,
        "size": size,
        "project_dir": str(project_dir),
        "artifacts_path": str(project_dir / ARTIFACTS_FILE),
        "graph_out": str(graph_out) if graph_out else None,
        "profile_dir": str(profile_dir) if profile_dir else None,
    }
    # The interpreter's bin first on PATH, as an activated venv has it: DbtCliResource looks
    # the dbt executable up when it is constructed.
    bin_dir = str(Path(sys.executable).parent)
    env = dict(
        os.environ,
        DAGSTER_HOME=str(CACHE_DIR / "dagster_home"),
        PATH=os.pathsep.join([bin_dir, os.environ.get("PATH", "")]),
    )
    (CACHE_DIR / "dagster_home").mkdir(parents=True, exist_ok=True)
    child = run_timed(
        [sys.executable, "-c", _CHILD, json.dumps(cfg)],
        env=env,
        label=f"{path} at {size} models",
    )
    return json.loads(child.stdout.strip().splitlines()[-1]), child.seconds


def compile_floe_artifacts(project_dir: Path) -> float:
    """``floe compile`` of the project, outside the measured processes (as CI does it).

    Writes ``<project_dir>/compiled_artifacts.json`` (and the slim manifest beside it, as
    ``floe compile -o`` does) for the floe children to load; compiled
    afresh on every benchmark run, so it always matches the installed floe and the manifest.
    """
    from floe_orchestration_core.compile import compile_artifacts
    from floe_orchestration_core.compile.slim_manifest import (
        slim_manifest_path_for,
        write_slim_manifest,
    )

    started = time.perf_counter()
    manifest = project_dir / "target" / "manifest.json"
    artifacts = compile_artifacts(manifest, product=project_dir / "floe.yaml")
    # As 'floe compile -o' does: the slim manifest beside the artifacts, which the code
    # server reads instead of the full one while that is unchanged.
    artifacts = write_slim_manifest(
        artifacts, slim_manifest_path_for(project_dir / ARTIFACTS_FILE), manifest=manifest
    )
    (project_dir / ARTIFACTS_FILE).write_text(artifacts.to_json(indent=None), encoding="utf-8")
    return time.perf_counter() - started


def compare_graphs(stock: dict[str, Any], floe: dict[str, Any]) -> list[str]:
    """Differences between two graph documents written by the child; empty when identical."""
    problems: list[str] = []
    a, b = stock["assets"], floe["assets"]
    only_stock, only_floe = sorted(a.keys() - b.keys()), sorted(b.keys() - a.keys())
    if only_stock:
        problems.append(f"{len(only_stock)} asset keys only in stock, e.g. {only_stock[:3]}")
    if only_floe:
        problems.append(f"{len(only_floe)} asset keys only in floe, e.g. {only_floe[:3]}")
    differing = sorted(k for k in a.keys() & b.keys() if a[k] != b[k])
    if differing:
        k = differing[0]
        problems.append(
            f"{len(differing)} assets with different parents, e.g. {k}: stock {a[k]} vs floe {b[k]}"
        )
    for part in ("materializable", "checks"):
        sa, sb = set(stock[part]), set(floe[part])
        if sa != sb:
            problems.append(
                f"{part}: {len(sa - sb)} only in stock (e.g. {sorted(sa - sb)[:2]}), "
                f"{len(sb - sa)} only in floe (e.g. {sorted(sb - sa)[:2]})"
            )
    return problems


def _median(values: list[float]) -> float:
    return statistics.median(values)


def _version(dist: str) -> str:
    try:
        return importlib_metadata.version(dist)
    except importlib_metadata.PackageNotFoundError:
        return "-"


def machine_info() -> str:
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text(encoding="utf-8").splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
        mem_kb = int(Path("/proc/meminfo").read_text(encoding="utf-8").split()[1])
        mem = f"{mem_kb / 2**20:.0f} GiB RAM"
    except OSError:
        mem = "RAM unknown"
    versions = ", ".join(
        f"{d} {_version(d)}" for d in ("dagster", "dagster-dbt", "dbt-core", "dbt-duckdb")
    )
    return (
        f"{os.cpu_count()} vCPU {cpu}, {mem}, Linux {platform.release()}, "
        f"CPython {platform.python_version()}; {versions}"
    )


def table(results: dict[tuple[int, str], Samples], runs: dict[int, int]) -> str:
    """Medians per phase (wall seconds), the total, its CPU time, peak RSS and snapshot size."""
    lines = [
        "| models | path | runs | "
        + " | ".join(f"{p} s" for p in PHASES)
        + " | total s [min-max] | CPU s | process wall s | peak RSS MB | snapshot MB |",
        "|---:|---|---:|" + "---:|" * len(PHASES) + "---|---:|---:|---:|---:|",
    ]
    for (size, path), s in sorted(results.items()):
        cells = " | ".join(f"{_median(s.phases[p]):.2f}" for p in PHASES)
        lines.append(
            f"| {size:,} | {path} | {runs[size]} | {cells} | {_median(s.total):.2f} "
            f"[{min(s.total):.2f}-{max(s.total):.2f}] | {_median(s.cpu):.2f} | "
            f"{_median(s.wall):.2f} | {_median(s.rss_mb):.0f} | {s.snapshot_bytes / 2**20:.1f} |"
        )
    return "\n".join(lines)


def rss_table(results: dict[tuple[int, str], Samples]) -> str:
    """Resident memory (MB, medians) after each phase: where the peak is built up."""
    lines = [
        "| models | path | " + " | ".join(f"after {p}" for p in PHASES) + " | peak |",
        "|---:|---|" + "---:|" * (len(PHASES) + 1),
    ]
    for (size, path), s in sorted(results.items()):
        cells = " | ".join(f"{_median(s.rss_after[p]):.0f}" for p in PHASES)
        lines.append(f"| {size:,} | {path} | {cells} | {_median(s.rss_mb):.0f} |")
    return "\n".join(lines)


def verdicts(results: dict[tuple[int, str], Samples]) -> list[str]:
    out: list[str] = []
    for (size, path), s in sorted(results.items()):
        if path != "floe":
            continue
        build_resolve = _median(
            [b + r for b, r in zip(s.phases["build"], s.phases["resolve"], strict=True)]
        )
        out.append(
            f"- {size:,} models: floe build + resolve {build_resolve:.2f} s "
            f"(NFR-002 < {NFR_002_S:.0f} s at 500: "
            f"{'ok' if build_resolve < NFR_002_S else 'MISSED'}); "
            f"peak RSS {_median(s.rss_mb):.0f} MB (< {RSS_TARGET_MB:.0f} MB: "
            f"{'ok' if _median(s.rss_mb) < RSS_TARGET_MB else 'MISSED'})"
        )
        stock = results.get((size, "stock"))
        if stock is not None:
            speedup = _median(stock.total) / _median(s.total)
            out.append(
                f"  - speed-up over stock (median totals): {speedup:.2f}x "
                f"(target >= {SPEED_TARGET:.0f}x: {'ok' if speedup >= SPEED_TARGET else 'MISSED'})"
            )
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="500,10000", help="model counts (default 500,10000)")
    parser.add_argument(
        "--runs", type=int, default=None, help="runs per path (default 5 at <=1000, 3 above)"
    )
    parser.add_argument("--paths", default="stock,floe", help="stock,floe (default both)")
    parser.add_argument("--profile", type=Path, help="write cProfile stats per phase here")
    parser.add_argument("--no-warmup", action="store_true", help="skip the discarded first run")
    args = parser.parse_args(argv)

    sizes = [int(s) for s in args.sizes.split(",") if s]
    paths = [p for p in args.paths.split(",") if p]
    unknown = sorted(set(paths) - set(PATHS))
    if unknown:
        parser.error(f"--paths: unknown {unknown}; choose from {', '.join(PATHS)}")
    if "floe" in paths and not FLOE_DEFINITIONS.exists():
        print(f"floe path skipped: {FLOE_DEFINITIONS.relative_to(ROOT)} does not exist yet")
        paths.remove("floe")
    if args.profile:
        args.profile.mkdir(parents=True, exist_ok=True)

    print(machine_info())
    results: dict[tuple[int, str], Samples] = {}
    runs_by_size: dict[int, int] = {}
    graph_notes: list[str] = []
    with tempfile.TemporaryDirectory(prefix="floe-bench-dagster-") as tmp:
        for size in sizes:
            project = parsed_project(size)
            print(
                f"{size:,} models: {project.project_dir} "
                f"(dbt parse {project.parse_seconds:.1f} s when generated)",
                flush=True,
            )
            if "floe" in paths:
                seconds = compile_floe_artifacts(project.project_dir)
                print(f"  floe compile (not measured): {seconds:.1f} s", flush=True)
            runs = args.runs or (5 if size <= 1000 else 3)
            runs_by_size[size] = runs
            graphs = {p: Path(tmp) / f"graph_{size}_{p}.json" for p in paths}
            if not args.no_warmup:
                for path in paths:  # warms the OS file cache and bytecode; also writes graphs
                    _run_child(path, size, project.project_dir, graph_out=graphs[path])
            for run in range(runs):
                for path in paths if run % 2 == 0 else paths[::-1]:
                    first = args.no_warmup and run == 0
                    result, wall = _run_child(
                        path,
                        size,
                        project.project_dir,
                        graph_out=graphs[path] if first else None,
                        profile_dir=args.profile if run == 0 else None,
                    )
                    results.setdefault((size, path), Samples()).add(result, wall)
                    print(f"  {path} run {run + 1}: {result['total']:.2f} s", flush=True)
            if len(paths) == 2:
                docs = {p: json.loads(graphs[p].read_text(encoding="utf-8")) for p in paths}
                problems = compare_graphs(docs["stock"], docs["floe"])
                counts = (
                    f"{len(docs['stock']['assets']):,} asset keys, "
                    f"{len(docs['stock']['checks']):,} checks"
                )
                graph_notes.append(
                    f"- {size:,} models: "
                    + (f"identical asset graphs ({counts})" if not problems else "DIFFERENT: ")
                    + "; ".join(problems)
                )
    print()
    print(table(results, runs_by_size))
    print()
    print(rss_table(results))
    print()
    print(
        "Profiled runs (first measured run of each path) are slower: cProfile adds overhead."
        if args.profile
        else "Phases in seconds, medians; total = the five phases; "
        "wall = the process as the parent saw it."
    )
    for line in graph_notes + verdicts(results):
        print(line)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
