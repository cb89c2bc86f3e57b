"""Declared dlt ingestion end to end: the example product (its landing files loaded by
``connector: dlt``) run twice with the installed ``floe``; the second run, after a new month
of order files lands, loads only that file's rows and the dbt models see them.

Asserts what a user checks: rows in the warehouse tables and in the models built on them, the
materializations in Dagster's storage (rows loaded, data versions), the lineage file.
"""

from __future__ import annotations

import csv
import json
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import dagster as dg
import duckdb
import pytest
from dagster._core.instance.ref import InstanceRef

ROOT = Path(__file__).resolve().parent.parent
EXAMPLE = ROOT / "examples" / "retail-analytics"
VALIDATOR = ROOT.parent / "shared" / "tools" / "ol_validate.py"
FLOE = Path(sys.executable).parent / "floe"
NEW_MONTH = "2026-11"

pytestmark = pytest.mark.slow


def _floe_run(product: Path) -> dict[str, Any]:
    done = subprocess.run(
        [str(FLOE), "run", str(product), "--wait", "--json"],
        capture_output=True,
        text=True,
        timeout=900,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-4000:]
    summary: dict[str, Any] = json.loads(done.stdout)
    assert summary["status"] == "success"
    return summary


def _query(product: Path, sql: str) -> list[tuple[Any, ...]]:
    warehouse = product / ".floe" / "warehouse.duckdb"
    with duckdb.connect(str(warehouse), read_only=True) as connection:
        return connection.execute(sql).fetchall()


def _csv_rows(*files: Path) -> int:
    return sum(sum(1 for _ in csv.DictReader(f.open(encoding="utf-8"))) for f in files)


def _version(materialization: dg.AssetMaterialization) -> str:
    tags = materialization.tags or {}
    return tags["dagster/data_version"]


def _value(materialization: dg.AssetMaterialization, key: str) -> Any:
    return getattr(materialization.metadata[key], "value", None)


def _latest(product: Path, *path: str) -> dg.AssetMaterialization:
    home = product / ".floe" / "dagster"
    with dg.DagsterInstance.from_ref(InstanceRef.from_dir(str(home))) as instance:
        event = instance.get_latest_materialization_event(dg.AssetKey(list(path)))
    assert event is not None, path
    assert event.asset_materialization is not None, path
    return event.asset_materialization


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, Any]]:
    product = tmp_path_factory.mktemp("dlt") / "retail-analytics"
    shutil.copytree(
        EXAMPLE, product, ignore=shutil.ignore_patterns(".floe", "target", "output", "logs")
    )
    first = _floe_run(product)
    recorded = {
        "orders": _query(product, "select count(*) from raw.orders")[0][0],
        "customers_version": _version(_latest(product, "raw", "customers")),
        "orders_version": _version(_latest(product, "raw", "orders")),
        "first": first,
    }
    done = subprocess.run(
        [sys.executable, "scripts/generate_landing.py", "--month", NEW_MONTH],
        cwd=product,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    _floe_run(product)
    return product, recorded


def test_the_first_run_loads_every_landing_file_and_the_models_read_them(
    runs: tuple[Path, dict[str, Any]],
) -> None:
    product, recorded = runs
    landing = product / "data" / "landing"
    before = [f for f in landing.glob("orders_*.csv") if NEW_MONTH not in f.name]
    assert recorded["orders"] == _csv_rows(*before)
    materialized = {key.rsplit("/", 1)[-1] for key in recorded["first"]["assets_materialized"]}
    assert {"customers", "products", "orders", "order_items", "fct_orders"} <= materialized


def test_the_second_run_loads_only_the_new_files_rows(runs: tuple[Path, dict[str, Any]]) -> None:
    product, recorded = runs
    new_file = product / "data" / "landing" / f"orders_{NEW_MONTH}.csv"
    new_rows = _csv_rows(new_file)
    assert new_rows > 0
    assert _query(product, "select count(*) from raw.orders") == [(recorded["orders"] + new_rows,)]
    # The rows of the newest load are exactly the new file's.
    assert _query(
        product,
        "select count(*) from raw.orders where _dlt_load_id = "
        "(select max(_dlt_load_id) from raw.orders)",
    ) == [(new_rows,)]
    orders = _latest(product, "raw", "orders")
    assert _value(orders, "floe/rows_loaded") == new_rows
    assert _value(orders, "dagster/row_count") == recorded["orders"] + new_rows
    assert _version(orders) != recorded["orders_version"]
    # Nothing new for customers: nothing loaded, the same data version.
    customers = _latest(product, "raw", "customers")
    assert _value(customers, "floe/rows_loaded") == 0
    assert _version(customers) == recorded["customers_version"]


def test_the_models_built_on_the_sources_hold_the_new_month(
    runs: tuple[Path, dict[str, Any]],
) -> None:
    product, _ = runs
    (count, month) = _query(
        product,
        "select count(*), strftime(max(order_date), '%Y-%m') from main_marts.fct_orders",
    )[0]
    assert month == NEW_MONTH
    assert count == _query(product, "select count(distinct order_id) from raw.orders")[0][0]


def test_lineage_runs_from_the_landing_files_to_the_raw_tables(
    runs: tuple[Path, dict[str, Any]],
) -> None:
    product, _ = runs
    events = [
        json.loads(line)
        for line in (product / ".floe" / "lineage" / "events.jsonl").read_text().splitlines()
        if line
    ]
    ingestion = [e for e in events if e["job"]["name"] == "retail-analytics.asset.landing"]
    assert [e["eventType"] for e in ingestion] == ["START", "COMPLETE", "START", "COMPLETE"]
    complete = ingestion[-1]
    landing = (product / "data" / "landing").resolve().as_posix()
    assert {(d["namespace"], d["name"]) for d in complete["inputs"]} == {
        ("file", f"{landing}/{glob}")
        for glob in ("customers.csv", "products.csv", "orders_*.csv", "order_items_*.csv")
    }
    # The warehouse is named as dbt-ol names it (decision 0013: the path as the profile writes
    # it), so the raw tables the ingestion writes are the very datasets the staging models read.
    warehouse = "duckdb://.floe/warehouse.duckdb"
    outputs = {(d["namespace"], *d["name"].split(".")[-2:]) for d in complete["outputs"]}
    assert outputs == {
        (warehouse, "raw", table) for table in ("customers", "products", "orders", "order_items")
    }
    read_by_dbt = {
        (d["namespace"], d["name"])
        for e in events
        if e["eventType"] == "COMPLETE"
        and e["job"]["name"].startswith("retail-analytics.model.stg_")
        for d in e["inputs"]
    }
    written = {(d["namespace"], d["name"]) for d in complete["outputs"]}
    assert read_by_dbt
    assert read_by_dbt <= written, (read_by_dbt, written)
    assert complete["job"]["facets"]["jobType"]["integration"] == "DLT"
    assert complete["run"]["facets"]["parent"]["job"]["name"].startswith("retail-analytics.")


@pytest.mark.skipif(not VALIDATOR.is_file(), reason="../shared/tools/ol_validate.py is absent")
def test_every_lineage_event_validates_against_openlineage_2_0_2(
    runs: tuple[Path, dict[str, Any]],
) -> None:
    product, _ = runs
    done = subprocess.run(
        [sys.executable, str(VALIDATOR), str(product / ".floe" / "lineage" / "events.jsonl")],
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
