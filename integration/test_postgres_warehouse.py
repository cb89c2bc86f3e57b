"""A product on PostgreSQL, end to end: ``floe run examples/saas-subscriptions --wait`` on a
fresh copy, against the local server, each test in a database of its own (dropped afterwards,
whatever happens).

The copy starts without ``dbt_packages/`` and without a lock: floe runs ``dbt deps`` (a
``local:`` package, offline), ``dbt parse``, the ingestion asset (which writes through the
connection floe builds from the dbt profile), then dbt seeds, models, the snapshot and every
test. The tests read what a user would check: the relations in ``information_schema`` and their
rows, the OpenLineage file (Postgres datasets named ``postgres://host:port`` and
``database.schema.table``), the exit code, and what a failing test leaves unbuilt.
"""

from __future__ import annotations

import csv
import json
import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from floe_orchestration_core.artifacts import load_artifacts
from floe_orchestration_core.python_assets import AssetRunContext
from harness import PG_HOST, PG_PORT, pg_connect, postgres_database

ROOT = Path(__file__).resolve().parent.parent
EXAMPLE = ROOT / "examples" / "saas-subscriptions"
VALIDATOR = ROOT.parent / "shared" / "tools" / "ol_validate.py"
FLOE = Path(sys.executable).parent / "floe"
SCHEMA = "saas"
#: Every relation the product builds: (schema, name) → (table type, rows).
RELATIONS = {
    ("saas_raw", "customers"): ("BASE TABLE", 20),
    ("saas_raw", "subscription_events"): ("BASE TABLE", 41),
    ("saas_reference", "plans"): ("BASE TABLE", 3),
    ("saas_staging", "stg_customers"): ("VIEW", 20),
    ("saas_staging", "stg_subscription_events"): ("VIEW", 41),
    ("saas_staging", "stg_plans"): ("VIEW", 3),
    ("saas_marts", "fct_subscriptions"): ("BASE TABLE", 20),
    ("saas_marts", "mart_mrr_by_plan"): ("BASE TABLE", 3),
    ("saas_snapshots", "subscriptions_snapshot"): ("BASE TABLE", 20),
}
#: What a failed plan check on the events keeps from being built (downstream of it).
DOWNSTREAM_OF_EVENTS = {
    ("saas_marts", "fct_subscriptions"),
    ("saas_marts", "mart_mrr_by_plan"),
    ("saas_snapshots", "subscriptions_snapshot"),
}

pytestmark = pytest.mark.slow


def _copy(destination: Path) -> Path:
    product = destination / "saas-subscriptions"
    shutil.copytree(
        EXAMPLE,
        product,
        ignore=shutil.ignore_patterns(
            ".floe", "target", "logs", "dbt_packages", "package-lock.yml"
        ),
    )
    return product


def _environment(database: str) -> dict[str, str]:
    environment = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("PG", "DBT_")) and key != "SAAS_SCHEMA"
    }
    return {
        **environment,
        "PGHOST": PG_HOST,
        "PGPORT": str(PG_PORT),
        "PGDATABASE": database,
        "SAAS_SCHEMA": SCHEMA,
    }


def _floe_run(product: Path, database: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(FLOE), "run", str(product), "--wait", "--json"],
        env=_environment(database),
        capture_output=True,
        text=True,
        timeout=900,
        check=False,
    )


def _relations(database: str) -> dict[tuple[str, str], tuple[str, int]]:
    """Every relation of the product's schemas: (schema, name) → (table type, rows)."""
    connection = pg_connect(database)
    assert connection is not None
    try:
        with connection.cursor() as cursor:
            cursor.execute(
                "select table_schema, table_name, table_type from information_schema.tables "
                "where table_schema like %s order by 1, 2",
                (f"{SCHEMA}%",),
            )
            found = cursor.fetchall()
            relations: dict[tuple[str, str], tuple[str, int]] = {}
            for schema, name, kind in found:
                cursor.execute(f'select count(*) from "{schema}"."{name}"')
                relations[(schema, name)] = (kind, cursor.fetchone()[0])
            return relations
    finally:
        connection.close()


def _events(product: Path) -> list[dict[str, Any]]:
    lines = (product / ".floe" / "lineage" / "events.jsonl").read_text().splitlines()
    return [json.loads(line) for line in lines if line]


@pytest.fixture(scope="module")
def database() -> Iterator[str]:
    with postgres_database("floe_pg_product") as name:
        yield name


@pytest.fixture(scope="module")
def run(
    tmp_path_factory: pytest.TempPathFactory, database: str
) -> tuple[Path, subprocess.CompletedProcess[str]]:
    product = _copy(tmp_path_factory.mktemp("postgres"))
    assert not (product / "dbt_packages").exists()
    return product, _floe_run(product, database)


def test_the_product_runs_and_says_it_installed_its_packages(
    run: tuple[Path, subprocess.CompletedProcess[str]],
) -> None:
    product, done = run
    assert done.returncode == 0, done.stderr[-4000:]
    assert json.loads(done.stdout)["status"] == "success"
    assert f"dbt deps in {product} (packages.yml lists packages" in done.stderr
    package = product / "dbt_packages" / "saas_metrics"
    assert (package / "macros" / "cents_to_dollars.sql").is_file()


def test_every_relation_is_built_in_postgres_with_its_rows(
    run: tuple[Path, subprocess.CompletedProcess[str]], database: str
) -> None:
    assert run[1].returncode == 0, run[1].stderr[-4000:]
    assert _relations(database) == RELATIONS


def test_the_marts_hold_what_the_landing_files_say(
    run: tuple[Path, subprocess.CompletedProcess[str]], database: str
) -> None:
    product, done = run
    assert done.returncode == 0, done.stderr[-4000:]
    prices = {"starter": 29.0, "team": 99.0, "business": 299.0}
    latest: dict[str, tuple[str, str, str]] = {}
    with (product / "data" / "landing" / "subscription_events.csv").open() as handle:
        for row in csv.DictReader(handle):
            key = (row["occurred_at"], row["event_id"].zfill(6))
            if row["customer_id"] not in latest or key > latest[row["customer_id"]][:2]:
                latest[row["customer_id"]] = (*key, f"{row['event_type']}:{row['plan_id']}")
    expected = sum(
        prices[state.split(":")[1]]
        for *_, state in latest.values()
        if not state.startswith("cancel")
    )
    connection = pg_connect(database)
    assert connection is not None
    try:
        with connection.cursor() as cursor:
            cursor.execute("select sum(mrr_dollars) from saas_marts.mart_mrr_by_plan")
            assert float(cursor.fetchone()[0]) == pytest.approx(expected)
    finally:
        connection.close()


def test_lineage_names_postgres_datasets_as_the_spec_does(
    run: tuple[Path, subprocess.CompletedProcess[str]], database: str
) -> None:
    product, done = run
    assert done.returncode == 0, done.stderr[-4000:]
    datasets = {
        (dataset["namespace"], dataset["name"])
        for event in _events(product)
        for dataset in event.get("inputs", []) + event.get("outputs", [])
        if dataset["namespace"] != "file"
    }
    namespace = f"postgres://{PG_HOST}:{PG_PORT}"
    assert datasets == {(namespace, f"{database}.{s}.{n}") for s, n in RELATIONS}


@pytest.mark.skipif(not VALIDATOR.is_file(), reason="../shared/tools/ol_validate.py is absent")
def test_the_lineage_events_validate_against_openlineage_2_0_2(
    run: tuple[Path, subprocess.CompletedProcess[str]],
) -> None:
    product, _ = run
    done = subprocess.run(
        [sys.executable, str(VALIDATOR), str(product / ".floe" / "lineage" / "events.jsonl")],
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]


def test_the_asset_context_reaches_the_warehouse_the_profile_names(
    run: tuple[Path, subprocess.CompletedProcess[str]],
    database: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """What a Python asset gets: the connection and SQLAlchemy URL of the profile's target."""
    product, done = run
    assert done.returncode == 0, done.stderr[-4000:]
    for key, value in _environment(database).items():
        monkeypatch.setenv(key, value)
    artifacts = load_artifacts(product / ".floe" / "compiled_artifacts.json")
    (compute,) = artifacts.compute_targets
    assert compute.properties == {
        "host": PG_HOST,
        "port": PG_PORT,
        "database": database,
        "schema": SCHEMA,
    }
    (asset,) = artifacts.python_assets
    context = AssetRunContext(
        asset=asset,
        base_dir=product,
        compute=compute,
        project_dir=product,
        profiles_dir=product,
    )
    with context.connect() as connection, connection.cursor() as cursor:
        cursor.execute("select count(*) from saas_raw.customers")
        assert cursor.fetchone() == (20,)
    sqlalchemy = pytest.importorskip("sqlalchemy")
    engine = sqlalchemy.create_engine(context.sqlalchemy_url())
    try:
        with engine.connect() as connection:
            query = sqlalchemy.text("select count(*) from saas_marts.fct_subscriptions")
            assert connection.execute(query).scalar_one() == 20
    finally:
        engine.dispose()


def test_a_failing_test_blocks_what_is_downstream_of_it(tmp_path: Path) -> None:
    """An event on an unknown plan fails the error-severity relationships test on
    stg_subscription_events: the run fails and builds nothing downstream of it, as dbt build
    (and floe on DuckDB) does; what does not depend on it is built."""
    product = _copy(tmp_path)
    events = product / "data" / "landing" / "subscription_events.csv"
    with events.open("a", encoding="utf-8") as handle:
        handle.write("999,3,enterprise,upgrade,2026-04-30 12:00:00\n")
    with postgres_database("floe_pg_failing") as database:
        done = _floe_run(product, database)
        assert done.returncode == 1, done.stderr[-4000:]
        assert json.loads(done.stdout)["status"] == "failure"
        relations = _relations(database)
    assert set(relations) == set(RELATIONS) - DOWNSTREAM_OF_EVENTS
    assert relations[("saas_raw", "subscription_events")] == ("BASE TABLE", 42)
    assert "relationships_stg_subscription_events_plan_id" in done.stdout + done.stderr
