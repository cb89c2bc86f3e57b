"""Everyday use of the installed ``floe`` command on a real product: ``floe init`` on a plain
dbt project, real runs on DuckDB, ``floe logs`` of a run that succeeded and of one that failed,
``floe status --json`` times, and a selector typo.

The dbt project is written by the test (a seed and a model on a DuckDB file in the test's
folder); ``floe init`` makes it a product, and everything after goes through the ``floe``
command the workspace installs.
"""

from __future__ import annotations

import json
import subprocess
import sys
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import duckdb
import pytest

FLOE = Path(sys.executable).parent / "floe"

pytestmark = pytest.mark.slow


@dataclass
class Tiny:
    """The product, its warehouse, and the runs made in it."""

    folder: Path
    warehouse: Path
    good_run: str = ""
    bad_run: str = ""


def floe(*args: str, cwd: Path, timeout: float = 300) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(FLOE), *args], cwd=cwd, capture_output=True, text=True, timeout=timeout, check=False
    )


def _write_dbt_project(folder: Path, warehouse: Path) -> None:
    folder.mkdir(parents=True)
    (folder / "dbt_project.yml").write_text(
        "name: tiny_shop\nversion: '0.3.0'\nconfig-version: 2\nprofile: tiny_shop\n"
        "model-paths: [models]\nseed-paths: [seeds]\n",
        encoding="utf-8",
    )
    (folder / "profiles.yml").write_text(
        "tiny_shop:\n  target: dev\n  outputs:\n"
        f"    dev: {{type: duckdb, path: '{warehouse}', threads: 1}}\n",
        encoding="utf-8",
    )
    (folder / "seeds").mkdir()
    (folder / "seeds" / "customers.csv").write_text("id,name\n1,ada\n2,bo\n3,cy\n")
    (folder / "models").mkdir()
    (folder / "models" / "customer_count.sql").write_text(
        "select count(*) as n from {{ ref('customers') }}\n"
    )
    (folder / "models" / "schema.yml").write_text(
        "version: 2\nmodels:\n  - name: customer_count\n"
        "    columns:\n      - name: n\n        data_tests: [not_null]\n"
    )


@pytest.fixture(scope="module")
def tiny(tmp_path_factory: pytest.TempPathFactory) -> Tiny:
    """``floe init`` on the plain dbt project, then a run that succeeds and one that fails."""
    root = tmp_path_factory.mktemp("everyday")
    product = Tiny(folder=root / "tiny_shop", warehouse=root / "warehouse.duckdb")
    _write_dbt_project(product.folder, product.warehouse)
    init = floe("init", str(product.folder), cwd=root)
    assert init.returncode == 0, init.stderr

    good = floe("run", str(product.folder), "--wait", "--json", cwd=root)
    assert good.returncode == 0, good.stderr[-3000:]
    product.good_run = json.loads(good.stdout)["run_id"]

    (product.folder / "models" / "customer_count.sql").write_text(
        "select count(*) as n from no_such_table\n"
    )
    bad = floe("run", str(product.folder), "--wait", "--json", cwd=root)
    assert bad.returncode == 1, bad.stderr[-3000:]
    product.bad_run = json.loads(bad.stdout)["run_id"]
    return product


def test_init_makes_a_plain_dbt_project_a_product_that_compiles_and_runs(tiny: Tiny) -> None:
    written = {p.name for p in tiny.folder.iterdir()}
    assert {"floe.yaml", "manifest.yaml", ".gitignore"} <= written
    assert ".floe/" in (tiny.folder / ".gitignore").read_text(encoding="utf-8").splitlines()
    assert (tiny.folder / ".floe" / "compiled_artifacts.json").is_file()
    artifacts = json.loads((tiny.folder / ".floe" / "compiled_artifacts.json").read_text())
    assert [(t["name"], t["type"], t["dbt_target"]) for t in artifacts["compute_targets"]] == [
        ("dev", "duckdb", "dev")
    ]
    # The first run built the model in the warehouse the profile names.
    with duckdb.connect(str(tiny.warehouse), read_only=True) as connection:
        assert connection.execute("select n from customer_count").fetchall() == [(3,)]


def test_logs_of_a_run_show_steps_materializations_checks_and_dbt_output(tiny: Tiny) -> None:
    result = floe("logs", tiny.good_run[:8], str(tiny.folder), cwd=tiny.folder.parent)

    assert result.returncode == 0, result.stderr
    out = result.stdout
    assert out.startswith(f"run {tiny.good_run} (")
    assert ": SUCCESS, started " in out.splitlines()[0]
    assert " started\n" in out  # step starts
    assert "materialized customer_count" in out
    assert "materialized customers" in out
    assert "check not_null_customer_count_n on customer_count: passed" in out
    assert "Running with dbt=" in out  # the captured stdout of the run's process


def test_logs_of_a_failed_run_name_the_step_and_dbt_s_error(tiny: Tiny) -> None:
    human = floe("logs", tiny.bad_run, str(tiny.folder), "--no-output", cwd=tiny.folder)
    machine = floe("logs", tiny.bad_run, str(tiny.folder), "--json", cwd=tiny.folder)

    assert human.returncode == machine.returncode == 0
    assert ": FAILURE, started " in human.stdout.splitlines()[0]
    assert " FAILED: " in human.stdout
    assert "no_such_table" in human.stdout
    assert "---" not in human.stdout
    data = json.loads(machine.stdout)
    failures = [e for e in data["entries"] if e["kind"] == "step" and e["level"] == "error"]
    assert failures, data["entries"]
    assert failures[0]["detail"]
    assert datetime.fromisoformat(data["started"]).tzinfo is not None


def test_logs_of_an_unknown_run_name_the_latest_runs(tiny: Tiny) -> None:
    result = floe("logs", "zzzzzzzz", str(tiny.folder), cwd=tiny.folder)

    assert result.returncode == 2
    assert "no run 'zzzzzzzz'" in result.stderr
    assert tiny.good_run[:8] in result.stderr
    assert tiny.bad_run[:8] in result.stderr


def test_status_json_times_are_iso_8601(tiny: Tiny) -> None:
    result = floe("status", str(tiny.folder), "--json", cwd=tiny.folder)

    assert result.returncode == 0, result.stderr
    runs: list[dict[str, Any]] = json.loads(result.stdout)["runs"]
    assert {r["run_id"] for r in runs} >= {tiny.good_run, tiny.bad_run}
    for run in runs:
        assert "T" in run["started"]
        assert datetime.fromisoformat(run["started"]).utcoffset() is not None


def test_a_selector_typo_names_the_close_transform_before_anything_runs(tiny: Tiny) -> None:
    result = floe("run", str(tiny.folder), "--select", "+custmer_count", cwd=tiny.folder)

    assert result.returncode == 2
    assert "did you mean '+customer_count'" in result.stderr
    assert "running in-process" not in result.stderr


def test_the_readme_counts_the_checks_the_example_has(tmp_path: Path) -> None:
    """README: "... 8 dbt models on two compute targets, N checks ..." is what a run reports
    (one check per dbt test of the example, sources' tests included)."""
    import re
    import shutil

    root = Path(__file__).resolve().parent.parent
    example = tmp_path / "retail-analytics"
    shutil.copytree(
        root / "examples" / "retail-analytics",
        example,
        ignore=shutil.ignore_patterns(".floe", "target", "output", "logs"),
    )
    dbt = FLOE.parent / "dbt"
    parse = subprocess.run(
        [str(dbt), "parse", "--project-dir", str(example), "--profiles-dir", str(example)],
        cwd=example, capture_output=True, text=True, timeout=300, check=False,
    )  # fmt: skip
    assert parse.returncode == 0, parse.stdout[-2000:]
    compiled = floe(
        "compile", "--dbt-manifest", "target/manifest.json", "--product", "floe.yaml",
        "-o", str(tmp_path / "artifacts.json"), "--json", cwd=example,
    )  # fmt: skip
    assert compiled.returncode == 0, compiled.stderr
    summary = json.loads(compiled.stdout)
    readme = (root / "README.md").read_text(encoding="utf-8")
    match = re.search(r"(\d+) dbt models\s+on two compute targets, (\d+) checks", readme)
    assert match is not None, "the README no longer counts the example's models and checks"
    assert (int(match.group(1)), int(match.group(2))) == (
        summary["transforms"],
        summary["quality_checks"],
    )
