"""Ingestion: the landing CSV files into PostgreSQL, through the connection floe hands over.

``context.connect()`` opens the compute target's warehouse as the dbt profile describes it
(``profiles.yml``: host, port, user, password and database rendered from the environment the
way dbt renders them), commits when the block ends and closes the connection. The tables go to
``<target schema>_raw``, the schema of the dbt source ``landing`` (``models/staging/
sources.yml``), so the staging models read what this asset wrote.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from floe_orchestration_core.python_assets import AssetRunContext

#: Each landing file's table and column types (the CSV header gives the column order).
TABLES = {
    "customers": {
        "customer_id": "integer",
        "company_name": "text",
        "country": "text",
        "signed_up_at": "timestamp",
        "updated_at": "timestamp",
    },
    "subscription_events": {
        "event_id": "integer",
        "customer_id": "integer",
        "plan_id": "text",
        "event_type": "text",
        "occurred_at": "timestamp",
    },
}
_IDENTIFIER = re.compile(r"^[a-z_][a-z0-9_]*$")


def _schema(context: AssetRunContext) -> str:
    schema = f"{context.warehouse.schema or 'public'}_raw"
    if not _IDENTIFIER.match(schema):
        raise ValueError(f"schema {schema!r} is not a plain lower-case identifier")
    return schema


def _load(cursor: Any, schema: str, table: str, file: Path) -> int:
    columns = ", ".join(f"{name} {kind}" for name, kind in TABLES[table].items())
    cursor.execute(f"drop table if exists {schema}.{table}")
    cursor.execute(f"create table {schema}.{table} ({columns}, _loaded_at timestamptz)")
    with file.open(encoding="utf-8") as handle:
        cursor.copy_expert(
            f"copy {schema}.{table} ({', '.join(TABLES[table])}) from stdin "
            "with (format csv, header true)",
            handle,
        )
    cursor.execute(f"update {schema}.{table} set _loaded_at = now()")
    cursor.execute(f"select count(*) from {schema}.{table}")
    return int(cursor.fetchone()[0])


def load_landing(context: AssetRunContext) -> dict[str, Any]:
    """customers.csv and subscription_events.csv → <schema>_raw.customers, ….subscription_events."""
    (landing,) = context.inputs  # floe.yaml: inputs: [data/landing]
    schema = _schema(context)
    with context.connect() as connection, connection.cursor() as cursor:
        cursor.execute(f"create schema if not exists {schema}")
        counts = {table: _load(cursor, schema, table, landing / f"{table}.csv") for table in TABLES}
    warehouse = context.warehouse
    context.log.info(
        "loaded %s into %s on %s:%s/%s",
        counts,
        schema,
        warehouse.host,
        warehouse.port,
        warehouse.database,
    )
    return {"schema": schema, **{f"rows_{table}": rows for table, rows in counts.items()}}
