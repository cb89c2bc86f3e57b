"""Ingestion: load the landing CSV files into the warehouse's ``raw`` schema (DuckDB).

``context.connect()`` opens the compute target's warehouse as the dbt profile describes it (here
the DuckDB file of target ``dev``), commits when the block ends and closes the connection.

Two Python assets of ``floe.yaml`` call these functions. Each produces dbt sources
(``raw.customers`` …), so the staging models that read those sources run after them.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import duckdb

from floe_orchestration_core.python_assets import AssetRunContext


def _load(connection: duckdb.DuckDBPyConnection, table: str, files: list[Path]) -> int:
    if not files:
        raise FileNotFoundError(f"no landing file for raw.{table}")
    listing = ", ".join("'" + f.as_posix().replace("'", "''") + "'" for f in files)
    connection.execute(
        f"create or replace table raw.{table} as "
        f"select *, filename as _landing_file, now() as _loaded_at "
        f"from read_csv([{listing}], header = true, filename = true)"
    )
    row = connection.execute(f"select count(*) from raw.{table}").fetchone()
    return int(row[0]) if row else 0


def load_reference(context: AssetRunContext) -> dict[str, Any]:
    """customers.csv and products.csv → raw.customers, raw.products."""
    files = {path.stem: path for path in context.inputs}  # floe.yaml: inputs
    with context.connect() as connection:  # the DuckDB file of the dbt profile's target
        connection.execute("create schema if not exists raw")
        counts = {
            table: _load(connection, table, [files[table]]) for table in ("customers", "products")
        }
    context.log.info("loaded reference data: %s", counts)
    return {f"rows_{table}": rows for table, rows in counts.items()}


def load_orders(context: AssetRunContext) -> dict[str, Any]:
    """Every orders_*.csv and order_items_*.csv → raw.orders, raw.order_items."""
    (landing,) = context.inputs  # floe.yaml: inputs: [data/landing]
    orders = sorted(landing.glob("orders_*.csv"))
    items = sorted(landing.glob("order_items_*.csv"))
    with context.connect() as connection:
        connection.execute("create schema if not exists raw")
        counts = {"orders": _load(connection, "orders", orders)}
        counts["order_items"] = _load(connection, "order_items", items)
    context.log.info("loaded %d order file(s): %s", len(orders), counts)
    return {
        "files": [f.name for f in orders + items],
        **{f"rows_{table}": rows for table, rows in counts.items()},
    }
