"""Real syncs of source-faker through PyAirbyte in its own venv: misconfigurations, PostgreSQL,
an interrupted sync."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import duckdb
import psutil
import pytest

from faker import STREAMS, faker_entry
from floe_ingestion_airbyte.plugin import AirbyteIngestion
from floe_orchestration_core.errors import IngestionConfigError
from floe_orchestration_core.ingestion import DuckDBDestination, PostgresDestination
from floe_orchestration_core.testing import request_for

pytestmark = pytest.mark.slow


def _duckdb(tmp_path: Path) -> DuckDBDestination:
    return DuckDBDestination(compute="duckdb", path=tmp_path / "w.duckdb", schema="raw")


def test_an_unknown_stream_fails_naming_the_streams_the_source_offers(tmp_path: Path) -> None:
    entry = faker_entry(streams=[{"name": "users"}, {"name": "userz"}])
    with pytest.raises(IngestionConfigError) as caught:
        AirbyteIngestion().run(request_for(entry, _duckdb(tmp_path), tmp_path / "state"))
    message = str(caught.value)
    assert "userz" in message
    assert "the source offers: products, purchases, users" in message
    assert caught.value.retryable is False


def test_a_config_the_connector_refuses_fails_without_echoing_secrets(tmp_path: Path) -> None:
    entry = faker_entry(config={"count": "many", "seed": 1})
    request = request_for(entry, _duckdb(tmp_path), tmp_path / "state")
    request = type(request)(
        entry=request.entry,
        streams=request.streams,
        config={**request.config, "seed": "s3cret-seed"},
        destination=request.destination,
        state_dir=request.state_dir,
        base_dir=request.base_dir,
        secrets=frozenset({"s3cret-seed"}),
    )
    with pytest.raises(IngestionConfigError, match="refused its config") as caught:
        AirbyteIngestion().run(request)
    assert "s3cret-seed" not in str(caught.value)


def test_the_warehouse_holds_the_streams_and_an_unchanged_table_is_not_copied_again(
    tmp_path: Path,
) -> None:
    plugin = AirbyteIngestion()
    entry = faker_entry(count=10)
    first = plugin.run(request_for(entry, _duckdb(tmp_path), tmp_path / "state"))
    assert all(s.metadata["copied"] for s in first.streams)
    second = plugin.run(request_for(entry, _duckdb(tmp_path), tmp_path / "state"))
    assert not any(s.metadata["copied"] for s in second.streams)
    with duckdb.connect(str(tmp_path / "w.duckdb"), read_only=True) as connection:
        columns = {
            row[0]
            for row in connection.execute(
                "select column_name from information_schema.columns "
                "where table_schema = 'raw' and table_name = 'users'"
            ).fetchall()
        }
        assert {"id", "_airbyte_raw_id", "_airbyte_extracted_at"} <= columns
        assert connection.execute("select count(*) from raw.purchases").fetchone() == (10,)


def _connect() -> Any:
    psycopg2 = pytest.importorskip("psycopg2")
    try:
        return psycopg2.connect(
            host="127.0.0.1", port=5432, user="postgres", dbname="test", connect_timeout=3
        )
    except psycopg2.OperationalError:
        pytest.skip("no PostgreSQL on 127.0.0.1:5432 with a 'test' database")


@pytest.fixture
def schema() -> Iterator[str]:
    name = f"floe_airbyte_{uuid.uuid4().hex[:10]}"
    yield name
    connection = _connect()
    connection.autocommit = True
    with connection.cursor() as cursor:
        cursor.execute(f'DROP SCHEMA IF EXISTS "{name}" CASCADE')
    connection.close()


def test_source_faker_syncs_into_postgres_incrementally(tmp_path: Path, schema: str) -> None:
    entry = faker_entry(count=15, destination={"compute": "pg", "schema": schema})
    destination = PostgresDestination(
        compute="pg", host="127.0.0.1", port=5432, database="test", user="postgres", schema=schema
    )
    plugin = AirbyteIngestion()
    first = plugin.run(request_for(entry, destination, tmp_path / "state"))
    assert {s.stream: s.rows_total for s in first.streams} == dict.fromkeys(STREAMS, 15)
    second = plugin.run(request_for(entry, destination, tmp_path / "state"))
    assert [s.rows_loaded for s in second.streams] == [0, 0, 0]
    assert [s.data_version for s in second.streams] == [s.data_version for s in first.streams]
    connection = _connect()
    with connection.cursor() as cursor:
        cursor.execute(f'select count(*) from "{schema}".users')
        assert cursor.fetchone() == (15,)
        cursor.execute(f'select count(*) from "{schema}"._airbyte_state')
        assert cursor.fetchone()[0] >= 3  # PyAirbyte's state, kept beside the tables
    connection.close()


_INTERRUPTED = """
import sys
from pathlib import Path
sys.path.insert(0, {tests!r})
from faker import faker_entry
from floe_ingestion_airbyte.plugin import AirbyteIngestion
from floe_orchestration_core.ingestion import DuckDBDestination
from floe_orchestration_core.testing import request_for
root = Path({root!r})
destination = DuckDBDestination(compute="duckdb", path=root / "w.duckdb", schema="raw")
AirbyteIngestion().run(request_for(faker_entry(count=200000), destination, root / "state"))
"""


def test_an_interrupted_sync_leaves_no_connector_process(tmp_path: Path) -> None:
    script = tmp_path / "sync.py"
    script.write_text(
        _INTERRUPTED.format(tests=str(Path(__file__).parent), root=str(tmp_path)),
        encoding="utf-8",
    )
    floe = subprocess.Popen([sys.executable, str(script)], start_new_session=True)
    deadline = time.monotonic() + 120
    connector: psutil.Process | None = None
    while connector is None and time.monotonic() < deadline:
        time.sleep(0.5)
        for child in psutil.Process(floe.pid).children(recursive=True):
            try:
                if any("source-faker" in part for part in child.cmdline()):
                    connector = child
            except psutil.NoSuchProcess:
                continue
    assert connector is not None, "the connector never started"
    runner = [
        p for p in psutil.Process(floe.pid).children(recursive=True) if p.pid != connector.pid
    ]
    os.kill(floe.pid, signal.SIGINT)  # Ctrl-C in the process running floe
    assert floe.wait(timeout=60) != 0
    _, alive = psutil.wait_procs([connector, *runner], timeout=30)
    assert alive == [], [p.cmdline() for p in alive]
