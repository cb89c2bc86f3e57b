"""Wall time of ``floe run --wait`` against a plain ``dbt build`` of the same project.

    .venv/bin/python benchmarks/bench_floe_run.py [--runs 3] [--cases example,synthetic500]
                                                     [--stock]

Each case is copied into a temporary folder and prepared once (``dbt parse``, ``floe run``
warm-up so the DuckDB file, the raw tables and dbt's partial-parse cache exist). Then, in
alternating pairs (A B A B …, so drift of a shared machine hits both sides alike):

- **A, floe**: ``floe run DIR --wait --select SELECT`` in a fresh process, in-process execution
  (no webserver up): compile check, Definitions, Dagster's run with its event log, dbt;
- **B, dbt**: ``dbt build`` in a fresh process on the same project and warehouse;
- **C, stock** (with ``--stock``): stock dagster-dbt in a fresh process — one
  ``@dbt_assets`` over the project's manifest, a ``DbtCliResource`` (its default dbt target),
  ``dbt.cli(["build"]).stream()``, ``materialize`` on a persistent default SQLite instance
  (its own ``DAGSTER_HOME``): what a user of dagster-dbt alone runs, as a same-machine baseline.

``SELECT`` is ``path:models``: the dbt transforms only, the same work ``dbt build`` does (the
example's Python ingestion and publication steps are timed separately as ``floe (whole
product)``). Prints each side's median and the median of the per-pair ratios A/B.

Cases: ``example`` (examples/retail-analytics: 8 models, 26 tests, two compute targets) and
``synthetic500`` (benchmarks/synthetic_dbt_project.py at 500 models, its raw tables created
with DuckDB first, two compute targets).
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import sys
import tempfile
from collections.abc import Sequence
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from timed_process import run_timed

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent


def _run(command: Sequence[str], cwd: Path, env: dict[str, str]) -> float:
    return run_timed(command, cwd=cwd, env=env).seconds


def _example(tmp: Path) -> tuple[Path, dict[str, str]]:
    product = tmp / "retail-analytics"
    shutil.copytree(
        ROOT / "examples" / "retail-analytics",
        product,
        ignore=shutil.ignore_patterns(".floe", "target", "output", "logs"),
    )
    return product, {}


def _synthetic(tmp: Path, models: int) -> tuple[Path, dict[str, str]]:
    sys.path.insert(0, str(ROOT / "benchmarks"))
    import duckdb

    import synthetic_dbt_project

    project = tmp / f"synthetic{models}"
    shutil.copytree(synthetic_dbt_project.parsed_project(models).project_dir, project)
    database = project / "synthetic.duckdb"
    sources = max(2, models // 20)
    with duckdb.connect(str(database)) as connection:
        connection.execute("create schema if not exists raw")
        for s in range(sources):
            connection.execute(
                f"create or replace table raw.table_{s:04d} as "
                "select range as id, range * 1.5 as amount from range(100)"
            )
    return project, {"FLOE_BENCH_DUCKDB": str(database)}


def _case(name: str, tmp: Path) -> tuple[Path, dict[str, str]]:
    if name == "example":
        return _example(tmp)
    if name.startswith("synthetic"):
        return _synthetic(tmp, int(name.removeprefix("synthetic")))
    raise SystemExit(f"unknown case {name!r}; use example or synthetic<N>")


_STOCK = """
import sys
from pathlib import Path

import dagster as dg
from dagster_dbt import DbtCliResource, dbt_assets

project = Path(sys.argv[1])


@dbt_assets(manifest=project / "target" / "manifest.json")
def stock_dbt_assets(context: dg.AssetExecutionContext, dbt: DbtCliResource):
    yield from dbt.cli(["build"], context=context).stream()


resource = DbtCliResource(
    project_dir=str(project),
    profiles_dir=str(project),
    dbt_executable=str(Path(sys.executable).with_name("dbt")),
)
with dg.DagsterInstance.get() as instance:
    result = dg.materialize(
        [stock_dbt_assets], resources={"dbt": resource}, instance=instance, raise_on_error=False
    )
sys.exit(0 if result.success else 1)
"""


def bench(name: str, runs: int, stock: bool = False) -> None:
    with tempfile.TemporaryDirectory(prefix=f"floe-bench-{name}-") as tmp:
        product, extra = _case(name, Path(tmp))
        env = {**os.environ, **extra, "DAGSTER_HOME": str(product / ".floe" / "dagster")}
        floe = [str(BIN / "floe"), "run", str(product), "--wait"]
        dbt = [str(BIN / "dbt"), "build", "--profiles-dir", str(product), "--quiet"]
        whole = _run(floe, product, env)  # warm-up: parse, compile, raw tables, DuckDB file
        _run(dbt, product, env)
        stock_home = Path(tmp) / "stock-dagster-home"
        stock_home.mkdir()
        stock_env = {**env, "DAGSTER_HOME": str(stock_home)}
        stock_cmd = [sys.executable, "-c", _STOCK, str(product)]
        if stock:
            _run(stock_cmd, product, stock_env)  # warm-up: the instance's files
        pairs: list[tuple[float, float]] = []
        stocks: list[float] = []
        for _ in range(runs):
            a = _run([*floe, "--select", "path:models"], product, env)
            b = _run(dbt, product, env)
            pairs.append((a, b))
            if stock:
                stocks.append(_run(stock_cmd, product, stock_env))
            print(
                f"  {name} pair {len(pairs)}: floe {a:.2f} s, dbt {b:.2f} s"
                + (f", stock {stocks[-1]:.2f} s" if stock else ""),
                file=sys.stderr,
                flush=True,
            )
        whole_runs = [whole] + [_run(floe, product, env) for _ in range(max(1, runs // 2))]
    floe_median = statistics.median(a for a, _ in pairs)
    dbt_median = statistics.median(b for _, b in pairs)
    ratio = statistics.median(a / b for a, b in pairs)
    print(
        f"{name}: floe run (dbt models) {floe_median:.2f} s | dbt build {dbt_median:.2f} s | "
        f"ratio {ratio:.2f}x (median of {runs} pairs) | floe (whole product) "
        f"{statistics.median(whole_runs):.2f} s"
    )
    if stocks:
        stock_ratio = statistics.median(c / b for c, (_, b) in zip(stocks, pairs, strict=True))
        print(
            f"{name}: stock dagster-dbt {statistics.median(stocks):.2f} s | ratio to dbt build "
            f"{stock_ratio:.2f}x (median of {runs})"
        )


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3, help="A/B pairs per case (default 3)")
    parser.add_argument("--cases", default="example,synthetic500")
    parser.add_argument("--stock", action="store_true", help="also time stock dagster-dbt (C)")
    args = parser.parse_args(argv)
    for name in args.cases.split(","):
        bench(name.strip(), args.runs, stock=args.stock)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
