"""Python assets: the product's own Python steps (ingestion, publication) beside dbt.

A Python asset is declared in ``floe.yaml`` under ``python_assets`` (see
:class:`~floe_orchestration_core.artifacts.PythonAssetConfig`) and implemented as a plain
function in a file of the product::

    # pipeline/ingest.py
    def load_landing(context: AssetRunContext) -> dict[str, object]:
        rows = ...  # read context.path("data/landing"), write to the warehouse
        return {"rows": rows}

The function gets one :class:`AssetRunContext` and may return a mapping of metadata (JSON
values). It reaches its compute target's warehouse through the context, with the connection
details of the dbt profile (read when the asset runs, so secrets never pass through the
artifacts)::

    def load_events(context: AssetRunContext) -> dict[str, object]:
        with context.connect() as connection:  # psycopg2 for postgres, duckdb for duckdb
            cursor = connection.cursor()
            cursor.execute("create schema if not exists raw")
            ...
        return {"rows": 42}

``context.warehouse_path()`` is the DuckDB file, ``context.sqlalchemy_url()`` a URL for
pandas or SQLAlchemy, ``context.warehouse`` the details (host, port, database, schema).

The function knows nothing of the orchestrator: an adapter wraps it (the Dagster adapter in an
``@asset``), calls :func:`run_python_asset`, and records the metadata. Files are imported by
path under a private module name, so a product needs no package layout and no ``sys.path``
changes.

Errors are :class:`~floe_orchestration_core.errors.PythonAssetError` naming the asset, the file
and what to fix; a warehouse that cannot be reached as asked is a
:class:`~floe_orchestration_core.errors.WarehouseError`, a profile that cannot be read a
:class:`~floe_orchestration_core.errors.DbtProfileError`.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager, suppress
from datetime import datetime
from pathlib import Path
from typing import Any

import attrs

from floe_orchestration_core.artifacts import ComputeTarget, PythonAssetConfig
from floe_orchestration_core.dbt_profiles import Warehouse, compute_warehouse
from floe_orchestration_core.errors import PythonAssetError, WarehouseError
from floe_orchestration_core.product_code import load_product_function

__all__ = [
    "AssetFunction",
    "AssetRunContext",
    "load_asset_function",
    "run_python_asset",
]

AssetFunction = Callable[["AssetRunContext"], Mapping[str, Any] | None]


@attrs.frozen
class AssetRunContext:
    """What a Python asset's function gets when it runs."""

    asset: PythonAssetConfig
    #: The folder relative paths of the asset (``inputs``, ``outputs``, files) start from.
    base_dir: Path
    compute: ComputeTarget | None = None
    #: The dbt project folder: where dbt runs, so relative warehouse paths (a DuckDB file in
    #: the compute target's ``properties``) start here, as they do for dbt itself.
    project_dir: Path | None = None
    run_id: str = ""
    #: The partition's time window (start, end) for partitioned runs.
    partition_window: tuple[datetime, datetime] | None = None
    log: logging.Logger = attrs.field(factory=lambda: logging.getLogger("floe.python_assets"))
    #: The dbt profiles folder (None: dbt's own search from :attr:`project_dir`).
    profiles_dir: Path | None = None
    #: The dbt target when the compute target names none (the artifacts' ``dbt.target``).
    dbt_target: str | None = None
    _warehouse: list[Warehouse] = attrs.field(factory=list, init=False, repr=False, eq=False)

    @property
    def name(self) -> str:
        return self.asset.name

    def path(self, relative: str | Path) -> Path:
        """``relative`` resolved against :attr:`base_dir` (absolute paths are kept)."""
        candidate = Path(relative)
        return candidate if candidate.is_absolute() else self.base_dir / candidate

    @property
    def inputs(self) -> tuple[Path, ...]:
        return tuple(self.path(p) for p in self.asset.inputs)

    @property
    def outputs(self) -> tuple[Path, ...]:
        return tuple(self.path(p) for p in self.asset.outputs)

    @property
    def warehouse(self) -> Warehouse:
        """The compute target's warehouse: the dbt profile's target read now (rendered as dbt
        renders it), floe.yaml's properties over it; the artifacts' properties alone when no
        profile is found. :class:`WarehouseError` without a compute target."""
        if not self._warehouse:
            self._warehouse.append(self._read_warehouse())
        return self._warehouse[0]

    def _read_warehouse(self) -> Warehouse:
        compute = self.compute
        if compute is None:
            raise WarehouseError(
                f"python asset '{self.name}' has no compute target; give it 'compute:' in "
                "floe.yaml (or define compute targets)"
            )
        return compute_warehouse(
            compute,
            project_dir=self.project_dir or self.base_dir,
            profiles_dir=self.profiles_dir,
            dbt_target=self.dbt_target,
        )

    def warehouse_path(self, key: str = "path") -> Path:
        """The DuckDB file of the compute target, absolute (relative paths start in the dbt
        project, as for dbt). Read from floe.yaml's ``properties.path``, else from the dbt
        profile's target. :class:`WarehouseError` when there is none (a server warehouse, an
        in-memory DuckDB): never None. ``key`` names another file property."""
        warehouse = self.warehouse
        if key == "path":
            return warehouse.duckdb_path()
        value = warehouse.values.get(key)
        if not isinstance(value, str) or not value:
            raise WarehouseError(
                f"compute target '{warehouse.compute}' has no file property '{key}'; set it "
                "in the dbt profile's target or in floe.yaml's properties"
            )
        candidate = Path(value)
        return candidate if candidate.is_absolute() else warehouse.base_dir / candidate

    @contextmanager
    def connect(self) -> Iterator[Any]:
        """A DB-API connection to the compute target's warehouse, as dbt connects (psycopg2 for
        postgres, duckdb for duckdb): committed when the block ends, rolled back when it
        raises, closed either way."""
        connection = self.warehouse.connect()
        try:
            yield connection
            connection.commit()
        except BaseException:
            with suppress(Exception):  # DuckDB refuses a rollback outside a transaction
                connection.rollback()
            raise
        finally:
            connection.close()

    def sqlalchemy_url(self) -> str:
        """A SQLAlchemy URL of the warehouse (``postgresql+psycopg2://…``, ``duckdb:///…``).
        It holds the password: pass it to ``create_engine``, never to a log."""
        return self.warehouse.sqlalchemy_url()

    @property
    def properties(self) -> Mapping[str, Any]:
        """The compute target's ``properties`` (empty without a compute target)."""
        return dict(self.compute.properties) if self.compute is not None else {}


def load_asset_function(asset: PythonAssetConfig, base_dir: Path) -> AssetFunction:
    """Import ``asset.function``'s file (relative to ``base_dir``) and return the function."""
    path = Path(asset.file)
    path = (path if path.is_absolute() else base_dir / path).resolve()
    return load_product_function(
        path,
        asset.callable_name,
        where=f"python asset '{asset.name}'",
        missing_hint=(
            f"fix 'function: {asset.function}' in floe.yaml (the path is relative to floe.yaml's "
            "folder)"
        ),
        error=PythonAssetError,
    )


def run_python_asset(function: AssetFunction, context: AssetRunContext) -> dict[str, Any]:
    """Call ``function(context)`` and check what it returns: a JSON-able mapping, or None."""
    result = function(context)
    if result is None:
        return {}
    if not isinstance(result, Mapping) or not all(isinstance(k, str) for k in result):
        raise PythonAssetError(
            f"python asset '{context.name}' returned {type(result).__name__}; return None or a "
            "mapping of str to JSON values (e.g. {'rows': 42})"
        )
    try:
        json.dumps(dict(result))
    except (TypeError, ValueError) as exc:
        raise PythonAssetError(
            f"python asset '{context.name}' returned metadata that is not JSON: {exc}; convert "
            "values to str, int, float, bool, lists or dicts"
        ) from exc
    return dict(result)
