"""The product-local ``DAGSTER_HOME``: ``<product>/.floe/dagster``.

:func:`write_dagster_home` writes two files there (rewritten on every ``floe up``; edit the
platform manifest, not them):

``dagster.yaml`` — the instance:

- ``storage``: SQLite under the manifest's ``storage.path`` (default ``.floe/instance`` of
  the product), or Postgres (dagster-postgres) when ``manifest.yaml`` says
  ``storage: {type: postgres, host, port, database, user, password_env}``; the password
  is written as ``{env: <password_env>}``, so Dagster reads it from the environment and it
  never lands in a file; the SQLAlchemy scheme is ``postgresql+psycopg2`` (the driver
  dagster-postgres installs; SQLAlchemy 2.1 would pick psycopg 3 for a bare ``postgresql``);
- ``run_coordinator``: ``QueuedRunCoordinator`` with ``max_concurrent_runs``
  (:data:`MAX_CONCURRENT_RUNS`), so runs launched from the UI, schedules and sensors queue
  instead of overloading one machine (the daemon dequeues them);
- ``telemetry: {enabled: false}``;
- ``nux: {enabled: false}``: the UI opens on the product's asset graph, without Dagster's
  "Join the Dagster community" dialog over it (the webserver's ``shouldShowNux`` answers
  ``instance.nux_enabled and not seen``).

``workspace.yaml`` — one code location named after the product, loading
``workspace.code_location`` (the registry's :mod:`floe_registry.code_location`; this
package never imports it) with attribute ``defs``, with the interpreter that runs floe
(``executable_path``) and the product folder as working directory. Where the artifacts
and the platform manifest are reaches the code server through the *process environment*
(:func:`process_environment`): the webserver and the daemon pass their environment to the
code servers they start.
"""

from __future__ import annotations

import os
import sys
import threading
from pathlib import Path
from typing import TYPE_CHECKING, Any

import attrs
import yaml

from floe_orchestration_core.errors import RuntimeServiceError
from floe_orchestration_core.runtime import InstanceStorage, ProductWorkspace
from floe_orchestrator_dagster.compat import (
    QUEUED_RUN_COORDINATOR,
    SQLITE_RUN_STORAGE,
    SQLITE_SCHEDULE_STORAGE,
)

if TYPE_CHECKING:
    import dagster as dg

__all__ = [
    "MAX_CONCURRENT_RUNS",
    "DagsterHome",
    "dagster_home",
    "instance_config",
    "open_instance",
    "process_environment",
    "workspace_config",
    "write_dagster_home",
]

#: Runs the queued run coordinator lets run at once.
MAX_CONCURRENT_RUNS = 4


@attrs.frozen
class DagsterHome:
    """The files of a product-local ``DAGSTER_HOME``."""

    path: Path

    @property
    def dagster_yaml(self) -> Path:
        return self.path / "dagster.yaml"

    @property
    def workspace_yaml(self) -> Path:
        return self.path / "workspace.yaml"

    @property
    def logs_dir(self) -> Path:
        """``<product>/.floe/logs`` — *not* ``$DAGSTER_HOME/logs``: Dagster's telemetry
        uploader owns that folder and moves it away (to ``.logs_queue``) whenever it holds
        anything, telemetry setting or not."""
        return self.path.parent / "logs"


def dagster_home(workspace: ProductWorkspace) -> DagsterHome:
    """``<product>/.floe/dagster``."""
    return DagsterHome(workspace.state_dir / "dagster")


def instance_config(
    storage: InstanceStorage, *, max_concurrent_runs: int = MAX_CONCURRENT_RUNS
) -> dict[str, Any]:
    """The content of ``dagster.yaml`` for ``storage``."""
    if storage.kind == "postgres":
        store: dict[str, Any] = {
            "postgres": {
                "postgres_db": {
                    "hostname": storage.host,
                    "port": storage.port,
                    "db_name": storage.database,
                    "username": storage.user,
                    "password": {"env": storage.password_env},
                    # SQLAlchemy 2.1 maps a bare postgresql:// to psycopg 3, which
                    # dagster-postgres does not install; it installs psycopg2.
                    "scheme": "postgresql+psycopg2",
                }
            }
        }
    else:
        assert storage.sqlite_dir is not None  # InstanceStorage guarantees it
        return {**_sqlite_storages(str(storage.sqlite_dir)), **_common(max_concurrent_runs)}
    return {"storage": store, **_common(max_concurrent_runs)}


def _sqlite_storages(base_dir: str) -> dict[str, Any]:
    """Dagster's SQLite layout (what ``storage: {sqlite: {base_dir}}`` gives), with the event
    log keeping its SQLAlchemy engines (:mod:`~floe_orchestrator_dagster.runtime.sqlite_events`)."""
    run_module, run_class = SQLITE_RUN_STORAGE
    schedule_module, schedule_class = SQLITE_SCHEDULE_STORAGE
    return {
        "run_storage": {
            "module": run_module,
            "class": run_class,
            "config": {"base_dir": os.path.join(base_dir, "history")},
        },
        "event_log_storage": {
            "module": "floe_orchestrator_dagster.runtime.sqlite_events",
            "class": "CachedEngineSqliteEventLogStorage",
            "config": {"base_dir": os.path.join(base_dir, "history", "runs")},
        },
        "schedule_storage": {
            "module": schedule_module,
            "class": schedule_class,
            "config": {"base_dir": os.path.join(base_dir, "schedules")},
        },
    }


def _common(max_concurrent_runs: int) -> dict[str, Any]:
    module, class_name = QUEUED_RUN_COORDINATOR
    return {
        "run_coordinator": {
            "module": module,
            "class": class_name,
            "config": {"max_concurrent_runs": max_concurrent_runs},
        },
        "telemetry": {"enabled": False},
        "nux": {"enabled": False},
    }


def workspace_config(workspace: ProductWorkspace) -> dict[str, Any]:
    """The content of ``workspace.yaml``: the product's one code location."""
    if not workspace.code_location:
        raise RuntimeServiceError(
            "the product workspace names no code location module; prepare it with the "
            "registry (floe_registry.product_workspace.prepare_product)"
        )
    return {
        "load_from": [
            {
                "python_module": {
                    "module_name": workspace.code_location,
                    "attribute": "defs",
                    "location_name": workspace.product_name,
                    "working_directory": str(workspace.product_dir),
                    "executable_path": sys.executable,
                }
            }
        ]
    }


def _write_yaml(path: Path, document: dict[str, Any]) -> None:
    text = "# Written by floe; rewritten by every 'floe up'.\n" + yaml.safe_dump(
        document, sort_keys=False
    )
    temporary = path.with_name(f".{path.name}.{os.getpid()}.{threading.get_ident()}.tmp")
    temporary.write_text(text, encoding="utf-8")
    os.replace(temporary, path)


def write_dagster_home(
    workspace: ProductWorkspace, *, max_concurrent_runs: int = MAX_CONCURRENT_RUNS
) -> DagsterHome:
    """Write ``dagster.yaml`` and ``workspace.yaml`` for ``workspace``; return the home."""
    home = dagster_home(workspace)
    home.path.mkdir(parents=True, exist_ok=True)
    home.logs_dir.mkdir(parents=True, exist_ok=True)
    if workspace.storage.kind == "sqlite":
        assert workspace.storage.sqlite_dir is not None
        workspace.storage.sqlite_dir.mkdir(parents=True, exist_ok=True)
    _write_yaml(
        home.dagster_yaml,
        instance_config(workspace.storage, max_concurrent_runs=max_concurrent_runs),
    )
    _write_yaml(home.workspace_yaml, workspace_config(workspace))
    return home


def process_environment(workspace: ProductWorkspace) -> dict[str, str]:
    """The environment of the webserver and daemon: this one, ``DAGSTER_HOME``, the
    workspace's variables, and this interpreter's ``bin`` first on ``PATH`` (dagster-dbt
    and the run workers look ``dbt`` and ``dagster`` up there)."""
    bin_dir = str(Path(sys.executable).parent)
    return {
        **os.environ,
        **workspace.environment,
        "DAGSTER_HOME": str(dagster_home(workspace).path),
        "PATH": os.pathsep.join([bin_dir, os.environ.get("PATH", "")]),
    }


def _check_password(storage: InstanceStorage) -> None:
    if storage.kind == "postgres" and storage.password_env not in os.environ:
        raise RuntimeServiceError(
            f"Postgres instance storage reads its password from the environment variable "
            f"{storage.password_env}, which is not set; export it (an empty value is allowed "
            "for trust authentication) or change storage.password_env in manifest.yaml"
        )


def open_instance(workspace: ProductWorkspace) -> dg.DagsterInstance:
    """The product's Dagster instance (writing its ``DAGSTER_HOME`` first)."""
    import dagster as dg

    _check_password(workspace.storage)
    home = write_dagster_home(workspace)
    try:
        return dg.DagsterInstance.from_config(str(home.path))
    except Exception as exc:
        raise RuntimeServiceError(
            f"the Dagster instance in {home.path} cannot be opened ({type(exc).__name__}: "
            f"{exc}); check 'storage' in manifest.yaml"
        ) from exc
