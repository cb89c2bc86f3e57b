"""What the warehouse says about relations a dbt invocation built: columns and row counts.

Column lineage needs the real columns of a model's parents (the manifest has only the
documented ones), and DuckDB reports no row counts for tables. Both come from the warehouse:

The connection is the one a Python asset gets (the core's
:func:`~floe_orchestration_core.dbt_profiles.compute_warehouse`: the dbt profile's target read
now, secrets included, floe.yaml's properties over it):

- **DuckDB**: one read-only connection to the target's file (relative to the dbt project)
  *after the dbt process exited* — while dbt runs it holds the file's lock and another process
  cannot open it, even read-only (and opening it first would make dbt fail).
  ``information_schema.columns`` for the columns, ``count(*)`` per table.
- **Postgres**: ``information_schema.columns`` through ``psycopg2`` with dbt-postgres's
  connection parameters (a 3 s connect timeout); row counts come from dbt's adapter response
  instead (:func:`rows_from_status`).
- Other adapters: nothing (no column lineage, row counts only where dbt reports them).

Nothing here raises: a warehouse that cannot be read gives ``None`` and one DEBUG line.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any, Final

import attrs

from floe_orchestration_core.artifacts import ComputeTarget
from floe_orchestration_core.dbt_profiles import Warehouse, compute_warehouse
from floe_orchestrator_dagster.lineage.column_lineage import RelationKey
from floe_orchestrator_dagster.lineage.redaction import redact

__all__ = ["WarehouseSnapshot", "read_warehouse", "reads_after_exit", "rows_from_status"]

logger = logging.getLogger(__name__)

_STATUS: Final = re.compile(r"^(SELECT|INSERT|UPDATE|DELETE|MERGE|COPY)(?: \d+)? (\d+)$")


@attrs.frozen
class WarehouseSnapshot:
    """Columns (name → type, in table order) and row counts of relations."""

    columns: Mapping[RelationKey, Mapping[str, str]]
    row_counts: Mapping[RelationKey, int]


def rows_from_status(status: object) -> int | None:
    """Rows written, from an adapter's status text (``SELECT 4``, ``INSERT 0 3``)."""
    match = _STATUS.match(str(status or "").strip().upper())
    return int(match.group(2)) if match else None


def reads_after_exit(compute: ComputeTarget) -> bool:
    """True when the warehouse can be read only once the dbt process has exited (DuckDB)."""
    return compute.type.lower() == "duckdb"


def read_warehouse(
    compute: ComputeTarget,
    project_dir: Path,
    *,
    relations: Iterable[RelationKey],
    count: Iterable[RelationKey] = (),
    profiles_dir: Path | None = None,
    dbt_target: str | None = None,
) -> WarehouseSnapshot | None:
    """The columns of ``relations`` and the row counts of ``count`` (None: cannot read).

    ``profiles_dir`` and ``dbt_target`` find the dbt profile's target as dbt does (the
    artifacts' ``dbt.profiles_dir`` and ``dbt.target``).
    """
    wanted = set(relations) | set(count)
    if not wanted:
        return WarehouseSnapshot({}, {})
    kind = compute.type.lower()
    try:
        if kind not in ("duckdb", "postgres"):
            logger.debug("lineage: no column lineage on %s (compute target %r)", kind, compute.name)
            return None
        warehouse = compute_warehouse(
            compute, project_dir=project_dir, profiles_dir=profiles_dir, dbt_target=dbt_target
        )
        if warehouse.type.lower() == "duckdb":
            return _duckdb(warehouse, wanted, set(count))
        return _postgres(warehouse, wanted)
    except Exception as exc:
        logger.debug(
            "lineage: the %s warehouse of compute target %r could not be read (%s); no "
            "column lineage or row counts from it",
            kind,
            compute.name,
            redact(f"{type(exc).__name__}: {exc}"),
        )
        return None


def _snapshot(
    rows: Iterable[tuple[Any, ...]], wanted: set[RelationKey]
) -> dict[RelationKey, dict[str, str]]:
    columns: dict[RelationKey, dict[str, str]] = {}
    for database, schema, table, column, data_type in rows:
        key = (str(database).lower(), str(schema).lower(), str(table).lower())
        if key in wanted:
            columns.setdefault(key, {})[str(column)] = str(data_type or "")
    return columns


def _quoted(key: RelationKey) -> str:
    return ".".join('"' + part.replace('"', '""') + '"' for part in key)


def _duckdb(
    warehouse: Warehouse, wanted: set[RelationKey], count: set[RelationKey]
) -> WarehouseSnapshot | None:
    import duckdb

    connection = duckdb.connect(str(warehouse.duckdb_path()), read_only=True)
    try:
        schemas = sorted({schema for _, schema, _ in wanted})
        rows = connection.execute(
            "select table_catalog, table_schema, table_name, column_name, data_type "
            "from information_schema.columns where lower(table_schema) in "
            f"({', '.join('?' for _ in schemas)}) "
            "order by table_catalog, table_schema, table_name, ordinal_position",
            schemas,
        ).fetchall()
        counts: dict[RelationKey, int] = {}
        for key in sorted(count):
            result = connection.execute(f"select count(*) from {_quoted(key)}").fetchone()
            if result is not None:
                counts[key] = int(result[0])
    finally:
        connection.close()
    return WarehouseSnapshot(_snapshot(rows, wanted), counts)


def _postgres(warehouse: Warehouse, wanted: set[RelationKey]) -> WarehouseSnapshot | None:
    import psycopg2  # type: ignore[import-untyped]

    parameters = {**warehouse.postgres_parameters(), "connect_timeout": 3}
    schemas = sorted({schema for _, schema, _ in wanted})
    connection = psycopg2.connect(**parameters)
    try:
        with connection.cursor() as cursor:
            cursor.execute(
                "select table_catalog, table_schema, table_name, column_name, data_type "
                "from information_schema.columns where lower(table_schema) = any(%s) "
                "order by table_catalog, table_schema, table_name, ordinal_position",
                (schemas,),
            )
            rows = cursor.fetchall()
    finally:
        connection.close()
    return WarehouseSnapshot(_snapshot(rows, wanted), {})
