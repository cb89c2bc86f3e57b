"""OpenLineage dataset naming for floe: which namespace and name a table or a file gets.

Follows the OpenLineage naming conventions (https://openlineage.io/docs/spec/naming):

=============  ===========================================  ===========================
platform       namespace                                    name
=============  ===========================================  ===========================
DuckDB         ``duckdb://{database file as written}``      ``{database}.{schema}.{table}``
               (``duckdb://memory`` for ``:memory:``/none)
Postgres       ``postgres://{host}:{port}``                 ``{database}.{schema}.{table}``
Snowflake      ``snowflake://{account}``                    ``{database}.{schema}.{table}``
BigQuery       ``bigquery``                                 ``{project}.{dataset}.{table}``
other          ``{type}://{host}:{port}`` or ``{type}``     ``{database}.{schema}.{table}``
local file     ``file``                                     absolute path
=============  ===========================================  ===========================

The connection details come from the compute target's ``properties`` (``path`` for DuckDB;
``host``/``port`` for Postgres; ``account`` for Snowflake), which ``floe.yaml`` declares
beside the dbt target (or the dbt profile's target gives). Nothing secret is ever read: only
host, port, account and file paths.

A DuckDB file is named as written, the way OpenLineage's dbt integration (``dbt-ol``) names it
from the dbt profile: ``path: .floe/warehouse.duckdb`` gives ``duckdb://.floe/warehouse.duckdb``
(relative to the dbt project directory, where dbt runs), so a catalog fed by both sees one
dataset (decision ``0013-lineage-naming``). The database part of a DuckDB relation is
the file's stem (``warehouse``), as dbt-duckdb reports it.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from floe_orchestration_core.artifacts import ComputeTarget
from floe_orchestration_core.lineage.events import Dataset

__all__ = ["dataset_for_file", "dataset_for_relation", "namespace_for_compute"]

_DEFAULT_PORTS = {"postgres": 5432, "redshift": 5439, "mysql": 3306, "trino": 8080}


def _text(properties: dict[str, Any], key: str) -> str | None:
    value = properties.get(key)
    return str(value) if value not in (None, "") else None


def _duckdb_namespace(path: str | None) -> str:
    if path is None or path.strip() in ("", ":memory:") or path.startswith(":memory:"):
        return "duckdb://memory"
    return f"duckdb://{Path(path).as_posix()}"


def namespace_for_compute(compute: ComputeTarget | None) -> str:
    """The dataset namespace of tables on ``compute`` (see the module's table)."""
    if compute is None:
        return "floe"
    kind = compute.type.lower()
    props = dict(compute.properties)
    if kind == "duckdb":
        return _duckdb_namespace(_text(props, "path"))
    if kind == "bigquery":
        return "bigquery"
    if kind == "snowflake":
        account = _text(props, "account")
        return f"snowflake://{account}" if account else "snowflake"
    host = _text(props, "host")
    if host is None:
        return kind
    port = _text(props, "port") or (str(_DEFAULT_PORTS[kind]) if kind in _DEFAULT_PORTS else None)
    return f"{kind}://{host}:{port}" if port else f"{kind}://{host}"


def dataset_for_relation(
    compute: ComputeTarget | None,
    database: str | None,
    schema: str | None,
    table: str,
    *,
    facets: dict[str, Any] | None = None,
) -> Dataset:
    """The dataset of table ``table`` (an alias or identifier) on ``compute``."""
    name = ".".join(part for part in (database, schema, table) if part)
    return Dataset(namespace=namespace_for_compute(compute), name=name, facets=facets or {})


def dataset_for_file(path: str | Path, *, base_dir: Path | None = None) -> Dataset:
    """The dataset of a local file or folder (namespace ``file``, absolute path as name)."""
    file = Path(path)
    if not file.is_absolute():
        file = (base_dir or Path.cwd()) / file
    return Dataset(namespace="file", name=file.resolve().as_posix())
