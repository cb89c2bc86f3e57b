"""The rendered ``dagster.yaml`` is one Dagster accepts, and a real instance runs on it.

Two layers of Dagster's own validation, as a webserver or daemon applies them on start:

1. the instance schema (``dagster_instance_config``: unknown keys, wrong shapes);
2. each configured class's own ``config_type()`` (run launcher, run coordinator, storage,
   compute logs, scheduler, artifact storage), which the instance schema leaves open. This is
   what ``ConfigurableClassData.rehydrate`` checks before it builds the class; the check is
   made here without building them (the Kubernetes run launcher would look for a cluster).

Then, with the guide's site values pointed at the local PostgreSQL (a database of the test's
own), a real ``DagsterInstance`` opens the rendered config, creates its tables and stores a
run, which a second instance reads back.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from contextlib import AbstractContextManager
from pathlib import Path
from typing import Any

import dagster as dg
import pytest
import yaml
from dagster._config import process_config, resolve_to_config_type
from dagster._core.errors import DagsterInvalidConfigError
from dagster._core.instance.config import dagster_instance_config
from dagster._core.instance.ref import InstanceRef
from dagster._serdes import ConfigurableClassData

from k8s.release import PG_HOST, PG_PORT, RELEASES, documents_named, render, site_values

PASSWORD_ENV = "DAGSTER_PG_PASSWORD"  # what the chart's pods read the password from

#: What each release's instance must configure: (module, class) per InstanceRef field.
EXPECTED = {
    "storage_data": ("dagster_postgres", "DagsterPostgresStorage"),
    "run_coordinator_data": ("dagster._core.run_coordinator", "QueuedRunCoordinator"),
    "compute_logs_data": (
        "dagster._core.storage.noop_compute_log_manager",
        "NoOpComputeLogManager",
    ),
    "scheduler_data": ("dagster._core.scheduler", "DagsterDaemonScheduler"),
    "local_artifact_storage_data": ("dagster._core.storage.root", "LocalArtifactStorage"),
}
LAUNCHERS = {
    "K8sRunLauncher": ("dagster_k8s", "K8sRunLauncher"),
    "DefaultRunLauncher": ("dagster._core.launcher", "DefaultRunLauncher"),
}


def instance_yaml(values: dict[str, Any]) -> str:
    """The ``dagster.yaml`` of the instance ConfigMap the chart renders with ``values``."""
    config_map = documents_named(render(values), "ConfigMap")["floe-dagster-instance"]
    text: str = config_map["data"]["dagster.yaml"]
    return text


def write_home(text: str, home: Path) -> Path:
    home.mkdir(parents=True, exist_ok=True)
    (home / "dagster.yaml").write_text(text, encoding="utf-8")
    return home


def class_problems(data: ConfigurableClassData) -> list[str]:
    """What the configured class's own config schema refuses in its config."""
    klass = getattr(importlib.import_module(data.module_name), data.class_name)
    result = process_config(resolve_to_config_type(klass.config_type()), data.config_dict)
    if result.success:
        return []
    return [f"{data.class_name}: {error.message}" for error in result.errors or []]


def instance_problems(home: Path) -> list[str]:
    """Both layers of validation of ``home/dagster.yaml`` (empty: Dagster accepts it)."""
    try:
        dagster_instance_config(str(home))
    except DagsterInvalidConfigError as exc:
        return [f"instance schema: {error.message}" for error in exc.errors]
    ref = InstanceRef.from_dir(str(home))
    problems: list[str] = []
    for field in (*EXPECTED, "run_launcher_data"):
        data = getattr(ref, field)
        problems += [f"{field} is not configured"] if data is None else class_problems(data)
    return problems


def _configured(home: Path, field: str) -> tuple[str, str]:
    data = getattr(InstanceRef.from_dir(str(home)), field)
    return data.module_name, data.class_name


@pytest.mark.parametrize("case", RELEASES)
def test_the_instance_config_validates_against_dagster_and_each_configured_class(
    case: str, releases: dict[str, dict[str, Any]], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(PASSWORD_ENV, "from-the-secret")
    home = write_home(instance_yaml(releases[case]), tmp_path / "home")
    assert instance_problems(home) == []
    # The classes are the ones the chart names, not Dagster's defaults for a missing key.
    for field, expected in EXPECTED.items():
        assert _configured(home, field) == expected, field
    launcher = "DefaultRunLauncher" if case.endswith("default-launcher") else "K8sRunLauncher"
    assert _configured(home, "run_launcher_data") == LAUNCHERS[launcher]


# Each layer catches what it is there for ---------------------------------------------------
def _changed(text: str, change: Callable[[dict[str, Any]], None]) -> str:
    config = yaml.safe_load(text)
    change(config)
    return yaml.safe_dump(config)


def _rename(config: dict[str, Any]) -> None:
    config["run_launchr"] = config.pop("run_launcher")


def _launcher_key(config: dict[str, Any]) -> None:
    config["run_launcher"]["config"]["job_namespce"] = "runs"


def _coordinator_type(config: dict[str, Any]) -> None:
    config["run_coordinator"]["config"]["max_concurrent_runs"] = "ten"


def _storage_port(config: dict[str, Any]) -> None:
    config["storage"]["postgres"]["postgres_db"]["port"] = "5432/tcp"


def _missing_class(config: dict[str, Any]) -> None:
    config["compute_logs"]["class"] = "NoSuchComputeLogManager"


@pytest.mark.parametrize(
    ("change", "needle"),
    [
        (_rename, "instance schema"),
        (_launcher_key, "K8sRunLauncher"),
        (_coordinator_type, "QueuedRunCoordinator"),
        (_storage_port, "postgres_db:port"),
        (_missing_class, "NoSuchComputeLogManager"),
    ],
    ids=["misspelled-section", "launcher-key", "coordinator-type", "storage-port", "unknown-class"],
)
def test_a_broken_instance_config_is_refused(
    change: Callable[[dict[str, Any]], None],
    needle: str,
    releases: dict[str, dict[str, Any]],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv(PASSWORD_ENV, "from-the-secret")
    home = write_home(_changed(instance_yaml(releases["medium"]), change), tmp_path / "home")
    try:
        problems = instance_problems(home)
    except (AttributeError, ModuleNotFoundError) as exc:  # a class that does not exist
        problems = [str(exc)]
    assert any(needle in problem for problem in problems), problems


def test_the_class_layer_sees_what_the_instance_schema_lets_through(
    releases: dict[str, dict[str, Any]], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(PASSWORD_ENV, "from-the-secret")
    home = write_home(_changed(instance_yaml(releases["medium"]), _launcher_key), tmp_path / "h")
    dagster_instance_config(str(home))  # the instance schema accepts it...
    launcher = InstanceRef.from_dir(str(home)).run_launcher_data
    assert launcher is not None
    assert class_problems(launcher) != []  # ...K8sRunLauncher's own schema does not


# A real instance on PostgreSQL -----------------------------------------------------------------
@dg.asset
def k8s_probe() -> int:
    return 42


def test_a_real_instance_on_the_rendered_config_stores_a_run_in_postgres(
    releases: dict[str, dict[str, Any]],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    postgres_database: Callable[[], AbstractContextManager[str]],
) -> None:
    import psycopg2  # type: ignore[import-untyped]

    # Trust authentication: the password from the Secret is read but not checked.
    monkeypatch.setenv(PASSWORD_ENV, "from-the-secret")
    with postgres_database() as database:
        values = {**releases["medium"], **site_values(database)}
        home = write_home(instance_yaml(values), tmp_path / "home")
        assert instance_problems(home) == []
        with dg.DagsterInstance.from_ref(InstanceRef.from_dir(str(home))) as instance:
            result = dg.materialize(
                [k8s_probe], instance=instance, resources={"io_manager": dg.mem_io_manager}
            )
            assert result.success
            assert not instance.nux_enabled  # the UI shows no community dialog
        with dg.DagsterInstance.from_ref(InstanceRef.from_dir(str(home))) as fresh:
            run = fresh.get_run_by_id(result.run_id)
            assert run is not None
            assert run.status == dg.DagsterRunStatus.SUCCESS
            event = fresh.get_latest_materialization_event(dg.AssetKey("k8s_probe"))
            assert event is not None
            assert event.run_id == result.run_id
        connection = psycopg2.connect(
            host=PG_HOST, port=PG_PORT, user="postgres", dbname=database, connect_timeout=3
        )
        try:
            with connection.cursor() as cursor:
                cursor.execute("SELECT tablename FROM pg_tables WHERE schemaname = 'public'")
                tables = {row[0] for row in cursor.fetchall()}
                cursor.execute("SELECT run_id, status FROM runs")
                runs = cursor.fetchall()
        finally:
            connection.close()
        assert {"runs", "event_logs", "jobs", "job_ticks", "alembic_version"} <= tables
        assert runs == [(result.run_id, "SUCCESS")]
