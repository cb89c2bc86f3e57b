"""PyAirbyte's DuckDB cache copied into the warehouse, with the product's own duckdb.

PyAirbyte's duckdb (1.4.3) cannot open a file created by duckdb 2.0 (storage version 999), which
is what dbt-duckdb and dlt create. So for a DuckDB destination PyAirbyte syncs into a cache file
of its own under the entry's state folder (which also holds its incremental state), and this
module copies each stream's table into the warehouse: ``ATTACH <cache> (READ_ONLY)`` and
``CREATE OR REPLACE TABLE <schema>.<stream> AS SELECT * FROM <cache table>`` (about 15 ms for a
thousand rows). A table whose warehouse copy already has the cache's row count and newest
``_airbyte_extracted_at`` is left alone. The connection is closed before returning: dbt, the
next writer, finds the file unlocked.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import duckdb

from floe_orchestration_core.errors import IngestionError

__all__ = ["copy_streams"]


def _quoted(identifier: str) -> str:
    return '"' + identifier.replace('"', '""') + '"'


def _literal(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def _stats(connection: duckdb.DuckDBPyConnection, qualified: str) -> tuple[int, Any] | None:
    try:
        row = connection.execute(
            f"select count(*), max(_airbyte_extracted_at) from {qualified}"
        ).fetchone()
    except duckdb.CatalogException:
        return None
    return (int(row[0]), row[1]) if row is not None else (0, None)


def copy_streams(
    cache: Path, warehouse: Path, schema: str, tables: Mapping[str, str]
) -> dict[str, bool]:
    """Copy ``tables`` (stream → table name in the cache's ``schema``) into ``warehouse``'s
    ``schema`` as tables named like the streams; returns stream → whether it was copied."""
    warehouse.parent.mkdir(parents=True, exist_ok=True)
    copied: dict[str, bool] = {}
    try:
        connection = duckdb.connect(str(warehouse))
    except duckdb.IOException as exc:
        raise IngestionError(
            f"the warehouse {warehouse} cannot be opened to copy the synced streams into it "
            f"(another program holds it?): {exc}"
        ) from exc
    try:
        connection.execute(f"attach {_literal(str(cache))} as floe_airbyte_cache (read_only)")
        connection.execute(f"create schema if not exists {_quoted(schema)}")
        for stream, table in tables.items():
            source = f"floe_airbyte_cache.{_quoted(schema)}.{_quoted(table)}"
            target = f"{_quoted(schema)}.{_quoted(stream)}"
            wanted = _stats(connection, source)
            if wanted is None:
                raise IngestionError(
                    f"stream '{stream}': PyAirbyte's cache {cache} holds no table "
                    f"{schema}.{table} after the sync"
                )
            if _stats(connection, target) == wanted:
                copied[stream] = False
                continue
            connection.execute(f"create or replace table {target} as select * from {source}")
            copied[stream] = True
        connection.execute("detach floe_airbyte_cache")
    finally:
        connection.close()
    return copied
