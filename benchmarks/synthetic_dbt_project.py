"""Generate a real, seeded dbt project of any size and parse it with ``dbt parse``.

Unlike :mod:`synthetic_manifest` (a hand-written manifest for the core's compiler), this writes
the files a data engineer writes — ``dbt_project.yml``, ``profiles.yml`` (DuckDB), one ``.sql``
file per model and ``schema.yml`` files with sources and generic tests — and runs the installed
``dbt parse`` on them, so the manifest is exactly what dbt (and so dagster-dbt) sees:

- sources: ``max(2, models // 20)`` tables in one source ``raw``; every fifth has a
  ``not_null`` test on ``id``;
- staging (first quarter of the models): one ``{{ source() }}`` each, materialized as views;
- intermediate (next half) and marts (last quarter): 1-3 ``{{ ref() }}`` to earlier models in
  a window of 400, so the graph is deep and wide like a real warehouse;
- about 1 % of the intermediate models are ephemeral (``config(materialized='ephemeral')``);
- tags: every model has its layer's tag; 2 % of the marts are ``heavy`` (a compute-target-worthy
  tag, used by ``floe.yaml``'s override) and every 7th model is ``finance``;
- tests: ``not_null`` + ``unique`` on ``id`` for 9 in 10 models;
- ``floe.yaml``: two DuckDB compute targets, ``tag:heavy`` runs on ``duckdb_heavy``.

``dbt parse`` of 10,000 models takes minutes, so :func:`parsed_project` keeps each parsed
project under ``benchmarks/.cache/`` keyed by ``(models, GENERATOR_VERSION)``; bump the version
whenever the output changes. The cache directory must be git-ignored.

    .venv/bin/python benchmarks/synthetic_dbt_project.py 500          # prints the project dir
    .venv/bin/python benchmarks/synthetic_dbt_project.py 10000 --force
"""

from __future__ import annotations

import argparse
import os
import random
import shutil
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from timed_process import run_timed

#: Bump when the generated project changes; it is part of the cache key.
GENERATOR_VERSION = 1
PROJECT = "synthetic"
SEED = 7
CACHE_DIR = Path(__file__).parent / ".cache"
_WINDOW = 400
_PER_DIR = 500  # models per folder; one schema.yml per folder keeps every YAML file small
_DONE = ".parsed"


@dataclass(frozen=True)
class ParsedProject:
    """A generated project whose ``target/manifest.json`` dbt has written."""

    models: int
    project_dir: Path
    parse_seconds: float

    @property
    def manifest_path(self) -> Path:
        return self.project_dir / "target" / "manifest.json"

    @property
    def product_path(self) -> Path:
        return self.project_dir / "floe.yaml"


@dataclass(frozen=True)
class _Model:
    index: int
    layer: str
    refs: tuple[str, ...]
    source: str | None
    tags: tuple[str, ...]
    ephemeral: bool
    tested: bool

    @property
    def name(self) -> str:
        return f"{self.layer}_model_{self.index:05d}"


def _layer(index: int, models: int) -> str:
    if index < max(1, models // 4):
        return "stg"
    return "int" if index < models * 3 // 4 else "fct"


def _plan(models: int, sources: int, rng: random.Random) -> list[_Model]:
    plan: list[_Model] = []
    names: list[str] = []
    for i in range(models):
        layer = _layer(i, models)
        tags = [layer]
        if layer == "fct" and i % 50 == 0:
            tags.append("heavy")
        if i % 7 == 0:
            tags.append("finance")
        if layer == "stg":
            refs: tuple[str, ...] = ()
            source: str | None = f"table_{rng.randrange(sources):04d}"
        else:
            window = names[max(0, i - _WINDOW) : i]
            refs = tuple(sorted(rng.sample(window, k=min(len(window), rng.randint(1, 3)))))
            source = None
        model = _Model(
            index=i,
            layer=layer,
            refs=refs,
            source=source,
            tags=tuple(tags),
            ephemeral=layer == "int" and i % 97 == 0,
            tested=i % 10 != 3,
        )
        plan.append(model)
        names.append(model.name)
    return plan


def _sql(model: _Model) -> str:
    config = [f"tags={list(model.tags)!r}"]
    if model.ephemeral:
        config.append("materialized='ephemeral'")
    head = "{{ config(" + ", ".join(config) + ") }}\n"
    if model.source is not None:
        return head + f"select id, amount from {{{{ source('raw', '{model.source}') }}}}\n"
    first, *rest = model.refs
    lines = [head, f"select t0.id, t0.amount from {{{{ ref('{first}') }}}} as t0\n"]
    for n, ref in enumerate(rest, start=1):
        lines.append(f"left join {{{{ ref('{ref}') }}}} as t{n} on t{n}.id = t0.id\n")
    return "".join(lines)


def _schema_yml(models: list[_Model]) -> str:
    lines = ["version: 2", "models:"]
    for model in models:
        lines += [
            f"  - name: {model.name}",
            f"    description: Synthetic {model.layer} model {model.index}",
            "    columns:",
            "      - name: id",
            "        description: Primary key",
        ]
        if model.tested and not model.ephemeral:
            lines += ["        data_tests: [not_null, unique]"]
        lines += ["      - name: amount", "        description: An amount"]
    return "\n".join(lines) + "\n"


def _sources_yml(sources: int) -> str:
    lines = ["version: 2", "sources:", "  - name: raw", "    schema: raw", "    tables:"]
    for s in range(sources):
        lines.append(f"      - name: table_{s:04d}")
        if s % 5 == 0:
            lines += [
                "        columns:",
                "          - name: id",
                "            data_tests: [not_null]",
            ]
    return "\n".join(lines) + "\n"


_DBT_PROJECT = f"""\
name: {PROJECT}
version: "1.0.0"
profile: {PROJECT}
model-paths: ["models"]
target-path: target
models:
  {PROJECT}:
    +materialized: table
    stg:
      +materialized: view
"""

_PROFILES = f"""\
{PROJECT}:
  target: dev
  outputs:
    dev:
      type: duckdb
      path: "{{{{ env_var('FLOE_BENCH_DUCKDB', 'synthetic.duckdb') }}}}"
      threads: 4
    heavy:
      type: duckdb
      path: "{{{{ env_var('FLOE_BENCH_DUCKDB', 'synthetic.duckdb') }}}}"
      threads: 8
"""

_FLOE_YAML = """\
name: synthetic
version: 1.0.0
dbt: {project_dir: ., profiles_dir: ., target: dev}
compute:
  default: duckdb
  targets:
    duckdb: {type: duckdb, dbt_target: dev, threads: 4}
    duckdb_heavy: {type: duckdb, dbt_target: heavy, threads: 8}
  overrides:
    - {select: "tag:heavy", compute: duckdb_heavy}
"""


def write_project(models: int, root: Path, *, seed: int = SEED) -> Path:
    """Write the dbt project for ``models`` models under ``root`` (created); returns ``root``."""
    if models < 4:
        raise ValueError(f"models: {models} is too few for three layers; use 4 or more")
    rng = random.Random(seed)
    sources = max(2, models // 20)
    plan = _plan(models, sources, rng)
    (root / "models").mkdir(parents=True, exist_ok=True)
    (root / "dbt_project.yml").write_text(_DBT_PROJECT, encoding="utf-8")
    (root / "profiles.yml").write_text(_PROFILES, encoding="utf-8")
    (root / "floe.yaml").write_text(_FLOE_YAML, encoding="utf-8")
    (root / "models" / "sources.yml").write_text(_sources_yml(sources), encoding="utf-8")
    for layer in ("stg", "int", "fct"):
        in_layer = [m for m in plan if m.layer == layer]
        for start in range(0, len(in_layer), _PER_DIR):
            chunk = in_layer[start : start + _PER_DIR]
            folder = root / "models" / layer / f"part_{start // _PER_DIR:03d}"
            folder.mkdir(parents=True, exist_ok=True)
            for model in chunk:
                (folder / f"{model.name}.sql").write_text(_sql(model), encoding="utf-8")
            (folder / "schema.yml").write_text(_schema_yml(chunk), encoding="utf-8")
    return root


def _dbt_executable() -> str:
    beside = Path(sys.executable).parent / "dbt"
    found = str(beside) if beside.exists() else shutil.which("dbt")
    if found is None:
        raise FileNotFoundError("dbt: not found beside the interpreter or on PATH; install dbt")
    return found


def dbt_parse(project_dir: Path) -> float:
    """Run ``dbt parse`` (no partial parse, no telemetry); returns the wall time in seconds."""
    env = dict(os.environ)
    env.update(
        DBT_SEND_ANONYMOUS_USAGE_STATS="false",
        DBT_PARTIAL_PARSE="false",
        DBT_USE_COLORS="false",
        DBT_STATIC_PARSER="true",
    )
    argv = [_dbt_executable(), "parse", "--project-dir", str(project_dir)]
    return run_timed(
        [*argv, "--profiles-dir", str(project_dir)],
        cwd=project_dir,
        env=env,
        label=f"dbt parse in {project_dir}",
    ).seconds


def parsed_project(
    models: int, *, cache_dir: Path = CACHE_DIR, force: bool = False
) -> ParsedProject:
    """The parsed project for ``models`` models, from the cache or generated and parsed now.

    A project is written and parsed in a temporary folder beside its final place and renamed
    into place only after ``dbt parse`` succeeds, so an interrupted run leaves no half project.
    """
    final = cache_dir / f"dbt_{models}_v{GENERATOR_VERSION}"
    done = final / _DONE
    if done.exists() and not force:
        return ParsedProject(models, final, float(done.read_text(encoding="utf-8")))
    cache_dir.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix=f"dbt_{models}_", dir=cache_dir))
    try:
        write_project(models, work)
        seconds = dbt_parse(work)
        (work / _DONE).write_text(f"{seconds:.3f}", encoding="utf-8")
        if final.exists():
            shutil.rmtree(final)
        work.rename(final)
    except BaseException:
        shutil.rmtree(work, ignore_errors=True)
        raise
    return ParsedProject(models, final, seconds)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("models", nargs="+", type=int)
    parser.add_argument("--force", action="store_true", help="regenerate and re-parse")
    args = parser.parse_args(argv)
    for models in args.models:
        project = parsed_project(models, force=args.force)
        print(f"{models} models: {project.project_dir} (dbt parse {project.parse_seconds:.1f} s)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
