"""A compute target's warehouse as a Python asset reaches it: a DB-API connection, a
SQLAlchemy URL, the DuckDB file.

:class:`Warehouse` is built from the dbt profile's target *at run time* (secrets are read then,
never stored in the artifacts), with the compute target's floe.yaml ``properties`` over it, so
a Python asset writes where dbt reads:

=========  ====================================================  ==============================
type       ``connect()``                                         ``sqlalchemy_url()``
=========  ====================================================  ==============================
postgres   ``psycopg2.connect`` with dbt-postgres's parameters   ``postgresql+psycopg2://…``
           (host, port, user, password, dbname,
           connect_timeout, sslmode, search_path, role…)
duckdb     ``duckdb.connect(path)``                              ``duckdb:///<absolute path>``
=========  ====================================================  ==============================

The drivers are imported when a connection is asked for: ``psycopg2`` comes with dbt-postgres
(``floe-orchestrator-dagster[postgres-warehouse]``), ``duckdb`` with dbt-duckdb. Any other
adapter, or a missing driver, is a :class:`~floe_orchestration_core.errors.WarehouseError`
naming the compute target and the fix.
"""

from __future__ import annotations

import importlib
from collections.abc import Mapping
from pathlib import Path
from typing import Any
from urllib.parse import quote

import attrs

from floe_orchestration_core.artifacts import ComputeTarget
from floe_orchestration_core.dbt_profiles.reading import find_profile
from floe_orchestration_core.errors import WarehouseError

__all__ = ["CONNECTABLE_TYPES", "Warehouse", "compute_warehouse"]

#: Adapter types :meth:`Warehouse.connect` and :meth:`Warehouse.sqlalchemy_url` support.
CONNECTABLE_TYPES = ("duckdb", "postgres")
_POSTGRES_OPTIONAL = ("sslmode", "sslcert", "sslkey", "sslrootcert", "application_name")
_SECRET_KEYS = ("password", "pass", "token", "private_key", "private_key_passphrase")


@attrs.frozen
class Warehouse:
    """The warehouse of compute target ``compute`` (values rendered from the dbt profile).

    ``repr`` never shows a value: the values hold the password.
    """

    compute: str
    type: str
    #: The dbt target's fields rendered (secrets included), floe.yaml's properties over them.
    values: Mapping[str, Any] = attrs.field(repr=False)
    #: Where a relative DuckDB path starts: the dbt project folder, where dbt runs.
    base_dir: Path = attrs.field(repr=False)
    #: The dbt profile and target the values come from, for messages (``profile 'x', target
    #: 'dev' in /path/profiles.yml``); empty when they come from the artifacts alone.
    origin: str = ""

    def _text(self, key: str) -> str | None:
        value = self.values.get(key)
        return None if value is None or value == "" else str(value)

    @property
    def host(self) -> str | None:
        return self._text("host")

    @property
    def port(self) -> int | None:
        value = self._text("port")
        return int(value) if value is not None and value.isdigit() else None

    @property
    def database(self) -> str | None:
        return self._text("database")

    @property
    def schema(self) -> str | None:
        """The dbt target's schema (where dbt builds models without a custom schema)."""
        return self._text("schema")

    @property
    def user(self) -> str | None:
        return self._text("user")

    def _where(self) -> str:
        origin = f", {self.origin}" if self.origin else ""
        return f"compute target '{self.compute}' ({self.type}{origin})"

    def duckdb_path(self) -> Path:
        """The DuckDB file as an absolute path; :class:`WarehouseError` when there is none."""
        if self.type.lower() != "duckdb":
            raise WarehouseError(
                f"{self._where()} is not a DuckDB file; use context.connect() or "
                "context.sqlalchemy_url() to reach it"
            )
        path = self._text("path")
        if path is None or path == ":memory:":
            raise WarehouseError(
                f"{self._where()} has no DuckDB file ({'in-memory' if path else 'no path'}): "
                "dbt's data would vanish with its process; set 'path:' in the dbt profile's "
                "target (or properties: {path: ...} of the compute target in floe.yaml)"
            )
        candidate = Path(path).expanduser()
        return candidate if candidate.is_absolute() else self.base_dir / candidate

    def _unsupported(self) -> WarehouseError:
        return WarehouseError(
            f"{self._where()}: floe connects Python assets to {', '.join(CONNECTABLE_TYPES)} "
            f"warehouses; connect to a {self.type} warehouse with its own client, reading "
            "context.warehouse.values (the dbt profile's fields)"
        )

    def _driver(self, module: str, extra: str) -> Any:
        try:
            return importlib.import_module(module)
        except ImportError as exc:
            raise WarehouseError(
                f"{self._where()}: the '{module}' driver is not installed; install "
                f"'floe-orchestrator-dagster[{extra}]' (or the dbt adapter, which brings it)"
            ) from exc

    def postgres_parameters(self) -> dict[str, Any]:
        """``psycopg2.connect`` keyword arguments, as dbt-postgres opens its connections."""
        parameters: dict[str, Any] = {
            "host": self.host,
            "port": self.port or 5432,
            "user": self.user,
            "password": self._text("password") or "",
            "dbname": self.database,
            "connect_timeout": int(self.values.get("connect_timeout") or 10),
        }
        parameters.update({k: self.values[k] for k in _POSTGRES_OPTIONAL if self.values.get(k)})
        if self.values.get("keepalives_idle"):
            parameters["keepalives_idle"] = int(self.values["keepalives_idle"])
        search_path = self._text("search_path")
        if search_path:
            parameters["options"] = "-c search_path=" + search_path.replace(" ", "\\ ")
        return parameters

    def connect(self) -> Any:
        """A new DB-API connection (the caller closes it; ``context.connect()`` does that)."""
        kind = self.type.lower()
        if kind == "duckdb":
            duckdb = self._driver("duckdb", "duckdb")
            path = self.duckdb_path()
            path.parent.mkdir(parents=True, exist_ok=True)
            return duckdb.connect(str(path))
        if kind == "postgres":
            psycopg2 = self._driver("psycopg2", "postgres-warehouse")
            try:
                connection = psycopg2.connect(**self.postgres_parameters())
            except psycopg2.OperationalError as exc:
                where = f"{self.host}:{self.port or 5432}/{self.database}"
                raise WarehouseError(
                    f"{self._where()}: cannot connect to PostgreSQL at {where} as "
                    f"{self.user!r}: {str(exc).strip()}; check the dbt profile (dbt debug "
                    "says the same) and that the server runs"
                ) from exc
            role = self._text("role")
            if role:
                with connection.cursor() as cursor:
                    cursor.execute("set role %s", (role,))
            return connection
        raise self._unsupported()

    def sqlalchemy_url(self) -> str:
        """A SQLAlchemy URL for the warehouse (password included: do not log it)."""
        kind = self.type.lower()
        if kind == "duckdb":
            return f"duckdb:///{self.duckdb_path().as_posix()}"
        if kind == "postgres":
            user = quote(self.user or "", safe="")
            password = self._text("password")
            credentials = f"{user}:{quote(password, safe='')}" if password else user
            url = (
                f"postgresql+psycopg2://{credentials}@{self.host or 'localhost'}:"
                f"{self.port or 5432}/{quote(self.database or '', safe='')}"
            )
            options = {k: str(self.values[k]) for k in ("sslmode",) if self.values.get(k)}
            if options:
                url += "?" + "&".join(f"{k}={quote(v, safe='')}" for k, v in options.items())
            return url
        raise self._unsupported()

    def redacted(self) -> dict[str, Any]:
        """The values with every secret replaced by ``***`` (for logs and messages)."""
        return {k: "***" if k in _SECRET_KEYS else v for k, v in self.values.items()}


def compute_warehouse(
    compute: ComputeTarget,
    *,
    project_dir: Path,
    profiles_dir: Path | None = None,
    dbt_target: str | None = None,
) -> Warehouse:
    """The warehouse of compute target ``compute``: the dbt profile's target read now
    (rendered as dbt renders it, secrets included), floe.yaml's properties over it; the
    artifacts' properties alone when no profile is found. ``dbt_target`` is the target when
    the compute target names none (the artifacts' ``dbt.target``)."""
    profile = find_profile(project_dir, profiles_dir=profiles_dir)
    if profile is None:
        return Warehouse(
            compute=compute.name, type=compute.type, values=compute.properties, base_dir=project_dir
        )
    target = profile.target(compute.dbt_target or dbt_target)
    return Warehouse(
        compute=compute.name,
        type=target.type,
        values={**target.connection_values(), **compute.property_overrides},
        base_dir=project_dir,
        origin=f"dbt profile '{profile.name}', target '{target.name}' in {profile.file}",
    )
