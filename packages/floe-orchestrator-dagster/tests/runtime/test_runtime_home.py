"""The product-local DAGSTER_HOME: dagster.yaml (SQLite and Postgres) and workspace.yaml,
validated by loading a real DagsterInstance from them."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import dagster as dg
import pytest
import yaml

from floe_orchestration_core.errors import RuntimeServiceError
from floe_orchestration_core.runtime import InstanceStorage, ProductWorkspace
from floe_orchestrator_dagster.runtime.home import (
    MAX_CONCURRENT_RUNS,
    dagster_home,
    open_instance,
    process_environment,
    write_dagster_home,
)

PG_HOST, PG_PORT = "127.0.0.1", 5432
PASSWORD_ENV = "FLOE_TEST_PG_PASSWORD"


def _workspace(tmp_path: Path, storage: InstanceStorage | None = None) -> ProductWorkspace:
    return ProductWorkspace(
        product_dir=tmp_path,
        artifacts_path=tmp_path / ".floe" / "compiled_artifacts.json",
        platform_manifest_path=None,
        storage=storage or InstanceStorage(sqlite_dir=tmp_path / ".floe" / "instance"),
        product_name="shop",
        code_location="floe_registry.code_location",
        environment={"FLOE_ARTIFACTS": str(tmp_path / ".floe" / "compiled_artifacts.json")},
    )


def _connect(database: str = "postgres") -> Any:
    import psycopg2  # type: ignore[import-untyped]

    try:
        return psycopg2.connect(
            host=PG_HOST, port=PG_PORT, user="postgres", dbname=database, connect_timeout=3
        )
    except psycopg2.OperationalError:
        return None


def _start_postgres() -> None:
    versions = sorted(os.listdir("/etc/postgresql")) if Path("/etc/postgresql").is_dir() else []
    if not versions or shutil.which("pg_ctlcluster") is None:
        return
    subprocess.run(
        ["pg_ctlcluster", "--skip-systemctl-redirect", versions[-1], "main", "start"],
        capture_output=True,
        timeout=60,
        check=False,
    )


@pytest.fixture
def postgres_database() -> Iterator[str]:
    """A fresh database ``floe_it_<random>`` on 127.0.0.1:5432 (trust auth), dropped after."""
    connection = _connect()
    if connection is None:
        _start_postgres()
        deadline = time.monotonic() + 30
        while connection is None and time.monotonic() < deadline:
            time.sleep(1)
            connection = _connect()
    if connection is None:
        pytest.skip(
            f"no PostgreSQL server answers on {PG_HOST}:{PG_PORT} and none could be started "
            "(pg_ctlcluster --skip-systemctl-redirect <version> main start)"
        )
    name = f"floe_it_{uuid.uuid4().hex[:12]}"
    connection.autocommit = True
    with connection.cursor() as cursor:
        cursor.execute(f'CREATE DATABASE "{name}"')
    try:
        yield name
    finally:
        with connection.cursor() as cursor:
            cursor.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        connection.close()


def test_sqlite_home_loads_as_a_dagster_instance_with_queued_runs(tmp_path: Path) -> None:
    workspace = _workspace(tmp_path)
    home = write_dagster_home(workspace)
    assert home.path == tmp_path / ".floe" / "dagster"
    instance = dg.DagsterInstance.from_config(str(home.path))
    try:
        assert type(instance.run_coordinator).__name__ == "QueuedRunCoordinator"
        assert instance.run_coordinator.get_run_queue_config().max_concurrent_runs == (  # type: ignore[attr-defined]
            MAX_CONCURRENT_RUNS
        )
        assert type(instance.run_storage).__name__ == "SqliteRunStorage"
        assert type(instance.event_log_storage).__name__ == "CachedEngineSqliteEventLogStorage"
        assert not instance.telemetry_enabled
        assert not instance.nux_enabled  # no "Join the Dagster community" dialog in the UI
        # The storage lives where the manifest's storage.path says, not inside DAGSTER_HOME.
        assert (tmp_path / ".floe" / "instance" / "history").is_dir()
    finally:
        instance.dispose()


def test_workspace_yaml_points_at_the_code_location_with_this_interpreter(tmp_path: Path) -> None:
    home = write_dagster_home(_workspace(tmp_path))
    location = yaml.safe_load(home.workspace_yaml.read_text())["load_from"][0]["python_module"]
    assert location == {
        "module_name": "floe_registry.code_location",
        "attribute": "defs",
        "location_name": "shop",
        "working_directory": str(tmp_path),
        "executable_path": sys.executable,
    }


def test_service_logs_stay_out_of_dagster_homes_logs_folder(tmp_path: Path) -> None:
    # Dagster's telemetry uploader moves $DAGSTER_HOME/logs away whenever it holds anything.
    home = dagster_home(_workspace(tmp_path))
    assert home.logs_dir == tmp_path / ".floe" / "logs"
    assert home.logs_dir.parent != home.path


def test_process_environment_carries_home_workspace_variables_and_venv_path(
    tmp_path: Path,
) -> None:
    workspace = _workspace(tmp_path)
    environment = process_environment(workspace)
    assert environment["DAGSTER_HOME"] == str(tmp_path / ".floe" / "dagster")
    assert environment["FLOE_ARTIFACTS"] == workspace.environment["FLOE_ARTIFACTS"]
    assert environment["PATH"].split(os.pathsep)[0] == str(Path(sys.executable).parent)


def test_a_workspace_without_code_location_is_refused(tmp_path: Path) -> None:
    workspace = ProductWorkspace(
        product_dir=tmp_path,
        artifacts_path=tmp_path / "a.json",
        platform_manifest_path=None,
        storage=InstanceStorage(sqlite_dir=tmp_path),
        product_name="shop",
    )
    with pytest.raises(RuntimeServiceError, match="no code location"):
        write_dagster_home(workspace)


def test_postgres_password_is_an_env_reference_never_a_value(tmp_path: Path) -> None:
    storage = InstanceStorage(
        kind="postgres",
        host="db",
        database="dagster",
        user="dagster",
        password_env="DAGSTER_PG_PASSWORD",
    )
    home = write_dagster_home(_workspace(tmp_path, storage))
    config = yaml.safe_load(home.dagster_yaml.read_text())
    assert config["storage"]["postgres"]["postgres_db"] == {
        "hostname": "db",
        "port": 5432,
        "db_name": "dagster",
        "username": "dagster",
        "password": {"env": "DAGSTER_PG_PASSWORD"},
        "scheme": "postgresql+psycopg2",
    }


def test_opening_postgres_storage_without_the_password_variable_names_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv(PASSWORD_ENV, raising=False)
    storage = InstanceStorage(
        kind="postgres", host=PG_HOST, database="x", user="postgres", password_env=PASSWORD_ENV
    )
    with pytest.raises(RuntimeServiceError, match=PASSWORD_ENV):
        open_instance(_workspace(tmp_path, storage))


def test_postgres_home_loads_as_a_dagster_instance_that_stores_runs(
    tmp_path: Path, postgres_database: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(PASSWORD_ENV, "")  # trust authentication
    storage = InstanceStorage(
        kind="postgres",
        host=PG_HOST,
        port=PG_PORT,
        database=postgres_database,
        user="postgres",
        password_env=PASSWORD_ENV,
    )
    instance = open_instance(_workspace(tmp_path, storage))
    try:
        assert type(instance.run_storage).__name__ == "PostgresRunStorage"

        @dg.asset
        def one() -> int:
            return 1

        result = dg.materialize([one], instance=instance)
        assert result.success
        assert [r.dagster_run.run_id for r in instance.get_run_records()] == [result.run_id]
    finally:
        instance.dispose()


def test_sqlite_event_log_keeps_one_engine_per_file(tmp_path: Path) -> None:
    import dagster as dg

    from floe_orchestrator_dagster.runtime.sqlite_events import CachedEngineSqliteEventLogStorage

    storage = CachedEngineSqliteEventLogStorage(str(tmp_path))
    with dg.instance_for_test() as instance:
        storage.register_instance(instance)
        with storage.index_connection():
            pass
        with storage.index_connection():
            pass
        with storage.run_connection("some-run"):
            pass
        assert len(storage._engines) == 2  # the index file and the run's shard, reused
        assert storage.get_logs_for_run("some-run") == []
    storage.dispose()
    assert storage._engines == {}


def _materialization(run_id: str, name: str) -> Any:
    from dagster._core.events import DagsterEvent, DagsterEventType, StepMaterializationData
    from dagster._core.events.log import EventLogEntry

    return EventLogEntry(  # type: ignore[no-untyped-call]
        error_info=None,
        level="debug",
        user_message="",
        run_id=run_id,
        timestamp=time.time(),
        dagster_event=DagsterEvent(
            DagsterEventType.ASSET_MATERIALIZATION.value,
            "job",
            event_specific_data=StepMaterializationData(dg.AssetMaterialization(name)),
        ),
    )


def test_sqlite_event_log_bounds_open_files_and_other_readers_see_every_event(
    tmp_path: Path,
) -> None:
    from dagster._core.storage.event_log import SqliteEventLogStorage

    from floe_orchestrator_dagster.runtime.sqlite_events import (
        MAX_OPEN_SHARDS,
        CachedEngineSqliteEventLogStorage,
    )

    writer = CachedEngineSqliteEventLogStorage(str(tmp_path))
    with dg.instance_for_test() as instance:
        writer.register_instance(instance)
        runs = [f"run-{i:02d}" for i in range(MAX_OPEN_SHARDS * 2 + 3)]
        for run_id in runs:
            writer.store_event(_materialization(run_id, f"asset_{run_id[4:]}"))
        # every run file plus the index was opened; only the most recent stay open
        assert len(writer._engines) == MAX_OPEN_SHARDS
        with writer.run_connection(runs[-1]) as connection:
            mode = connection.exec_driver_sql("PRAGMA synchronous").scalar()
        assert mode == 1  # NORMAL
        # a second storage on the same files (another process, say) reads what was written
        other = SqliteEventLogStorage(str(tmp_path))
        other.register_instance(instance)
        for run_id in runs:
            [entry] = other.get_logs_for_run(run_id)
            assert entry.dagster_event is not None
            assert entry.dagster_event.asset_key == dg.AssetKey(f"asset_{run_id[4:]}")
        assert other.get_latest_materialization_events([dg.AssetKey("asset_00")])
        other.dispose()
    writer.dispose()
    assert writer._engines == {}


def test_sqlite_event_log_remembers_tables_that_exist(tmp_path: Path) -> None:
    from floe_orchestrator_dagster.runtime.sqlite_events import CachedEngineSqliteEventLogStorage

    storage = CachedEngineSqliteEventLogStorage(str(tmp_path))
    with dg.instance_for_test() as instance:
        storage.register_instance(instance)
        assert storage.has_table("asset_check_executions")
        assert not storage.has_table("no_such_table")
        assert storage._tables == {"asset_check_executions"}  # a no is asked again next time
    storage.dispose()
