"""An ingestion run's destination and config, resolved when it runs.

:func:`destination_for` turns a compute target into a :class:`DuckDBDestination` or a
:class:`PostgresDestination` from the warehouse dbt itself would open: the dbt profile's target
read now (rendered as dbt renders it, decision 0008), floe.yaml's ``properties`` over it; the
``properties`` alone when no profile is found:

=========  ==================================================================================
duckdb     ``path``: the warehouse file, relative to the dbt project folder (where dbt runs)
postgres   ``host``, ``port`` (5432), ``database`` (or ``dbname``), ``user`` (or
           ``username``); the profile's ``password``, else the variable named by
           ``password_env``, else ``PGPASSWORD``, else none (trust or peer authentication)
=========  ==================================================================================

:func:`resolved_config` fills an entry's ``config_env`` secrets into a copy of its config.
:func:`ingestion_request` puts both together with the streams to run and the entry's state
folder (``<floe.yaml's folder>/.floe/ingestion/<entry>``, kept between runs). Every problem is
an :class:`~floe_orchestration_core.errors.IngestionConfigError` naming the
compute target or the variable and the fix: running again cannot help.
"""

from __future__ import annotations

import copy
import logging
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from floe_orchestration_core.artifacts import CompiledArtifacts, ComputeTarget, IngestionConfig
from floe_orchestration_core.dbt_profiles import compute_warehouse
from floe_orchestration_core.env_secrets import EnvironmentSecrets
from floe_orchestration_core.errors import IngestionConfigError
from floe_orchestration_core.ingestion.model import (
    Destination,
    DuckDBDestination,
    IngestionRequest,
    PostgresDestination,
)

__all__ = ["destination_for", "ingestion_request", "resolved_config", "state_dir_for"]

#: Where an entry keeps its connector's state between runs, under the product's folder.
STATE_FOLDER = Path(".floe") / "ingestion"


def _text(properties: Mapping[str, Any], *keys: str) -> str | None:
    for key in keys:
        value = properties.get(key)
        if value not in (None, ""):
            return str(value)
    return None


def destination_for(
    compute: ComputeTarget,
    schema: str,
    *,
    project_dir: Path,
    environ: Mapping[str, str] | None = None,
    profiles_dir: Path | None = None,
    dbt_target: str | None = None,
) -> Destination:
    """Where streams land on ``compute`` (see the module's table). ``profiles_dir`` and
    ``dbt_target`` find the dbt profile as dbt would (``dbt_target``: the target when the
    compute target names none)."""
    warehouse = compute_warehouse(
        compute, project_dir=project_dir, profiles_dir=profiles_dir, dbt_target=dbt_target
    )
    props = dict(warehouse.values)
    kind = warehouse.type.lower()
    where = f"compute target '{compute.name}'"
    if kind == "duckdb":
        path = _text(props, "path")
        if path is None or path == ":memory:":
            raise IngestionConfigError(
                f"{where} (duckdb) has no warehouse file: set properties: {{path: "
                ".floe/warehouse.duckdb}} in floe.yaml (an in-memory database keeps nothing)"
            )
        file = Path(path)
        if not file.is_absolute():
            file = project_dir / file
        return DuckDBDestination(compute=compute.name, path=file.resolve(), schema=schema)
    if kind in ("postgres", "postgresql"):
        return _postgres(compute.name, props, schema, environ)
    raise IngestionConfigError(
        f"{where} is a {compute.type} target; ingestion lands in duckdb or postgres compute "
        "targets: point destination.compute at one"
    )


def _postgres(
    name: str, props: Mapping[str, Any], schema: str, environ: Mapping[str, str] | None
) -> PostgresDestination:
    where = f"compute target '{name}' (postgres)"
    environ = os.environ if environ is None else environ
    host = _text(props, "host")
    database = _text(props, "database", "dbname")
    user = _text(props, "user", "username")
    missing = [
        label
        for label, value in (("host", host), ("database", database), ("user", user))
        if value is None
    ]
    if missing or host is None or database is None or user is None:
        raise IngestionConfigError(
            f"{where} lacks {', '.join(missing)}; set it in the dbt profile's target (or "
            "floe.yaml's properties: {host: 127.0.0.1, port: 5432, database: analytics, user: "
            "loader, password_env: PG_PASSWORD})"
        )
    port_text = _text(props, "port") or "5432"
    try:
        port = int(port_text)
    except ValueError:
        raise IngestionConfigError(f"{where}: port {port_text!r} is not a number") from None
    secrets = EnvironmentSecrets(environ)
    variable = _text(props, "password_env")
    password = _text(props, "password")  # the dbt profile's, rendered as dbt renders it
    if password is None and variable is not None:
        password = secrets.read(variable, needed_by=where)
        if password is None:
            raise IngestionConfigError(
                f"{where}: the password variable {variable} (properties.password_env) is not "
                f"set; export {variable}=... before the run"
            )
    elif password is None:
        password = environ.get("PGPASSWORD")
    return PostgresDestination(
        compute=name,
        host=host,
        port=port,
        database=database,
        user=user,
        schema=schema,
        password=password or None,
    )


def _set_path(config: dict[str, Any], dotted: str, value: str) -> None:
    node = config
    parts = dotted.split(".")
    for part in parts[:-1]:
        child = node.get(part)
        if not isinstance(child, dict):
            child = {}
            node[part] = child
        node = child
    node[parts[-1]] = value


def resolved_config(
    entry: IngestionConfig, environ: Mapping[str, str] | None = None
) -> tuple[dict[str, Any], frozenset[str]]:
    """A copy of ``entry.config`` with each ``config_env`` secret read from its variable, and
    the secret values (to redact). Every unset variable is named at once."""
    config: dict[str, Any] = copy.deepcopy(dict(entry.config))
    secrets = EnvironmentSecrets(environ, empty_is_unset=True)
    for dotted, variable in entry.config_env.items():
        value = secrets.read(variable, needed_by=f"config_env.{dotted}")
        if value is not None:
            _set_path(config, dotted, value)
    if secrets.missing:
        listing = ", ".join(f"{m.variable} (for {m.needed_by})" for m in secrets.missing)
        raise IngestionConfigError(
            f"ingestion '{entry.name}': environment variable(s) not set: {listing}; export "
            "them before the run (floe never reads secrets from floe.yaml)"
        )
    return config, secrets.values


def _from(cwd: Path, value: str) -> Path:
    path = Path(value)
    return path if path.is_absolute() else cwd / path


def state_dir_for(base_dir: Path, entry: IngestionConfig) -> Path:
    """``<base_dir>/.floe/ingestion/<entry>``: the entry's connector state between runs."""
    return base_dir / STATE_FOLDER / entry.name


def ingestion_request(
    artifacts: CompiledArtifacts,
    entry: IngestionConfig,
    *,
    streams: tuple[str, ...] | None = None,
    cwd: Path | None = None,
    run_id: str = "",
    log: logging.Logger | None = None,
    environ: Mapping[str, str] | None = None,
) -> IngestionRequest:
    """The request to run ``entry`` of ``artifacts`` (all its streams unless ``streams``).

    ``cwd`` is the folder the artifacts' relative paths start from (default: the current
    directory): the dbt project folder (DuckDB paths) and floe.yaml's folder (config paths,
    the state folder) are resolved against it.
    """
    cwd = (cwd or Path.cwd()).resolve()
    project_dir = _from(cwd, artifacts.dbt.project_dir)
    base_dir = _from(cwd, entry.base_dir).resolve()
    try:
        compute = artifacts.compute_target(entry.destination.compute)
    except KeyError as exc:
        raise IngestionConfigError(f"ingestion '{entry.name}': {exc.args[0]}") from None
    profiles_dir = artifacts.dbt.profiles_dir
    destination = destination_for(
        compute,
        entry.destination.schema_name,
        project_dir=project_dir,
        environ=environ,
        profiles_dir=_from(cwd, profiles_dir) if profiles_dir else None,
        dbt_target=artifacts.dbt.target,
    )
    config, secrets = resolved_config(entry, environ)
    return IngestionRequest(
        entry=entry,
        streams=streams if streams is not None else tuple(s.name for s in entry.streams),
        config=config,
        destination=destination,
        state_dir=state_dir_for(base_dir, entry),
        base_dir=base_dir,
        run_id=run_id,
        secrets=secrets,
        log=log or logging.getLogger("floe.ingestion"),
    )
