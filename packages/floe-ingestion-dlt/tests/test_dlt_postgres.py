"""dlt's filesystem source into the local PostgreSQL (127.0.0.1:5432, trust authentication):
a schema of its own per test, dropped afterwards with dlt's staging schema."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from floe_ingestion_dlt.plugin import DltIngestion
from floe_orchestration_core.ingestion import PostgresDestination
from floe_orchestration_core.testing import request_for
from landing import landing_entry, write_customers, write_orders

psycopg2 = pytest.importorskip("psycopg2")


def _connect() -> Any:
    try:
        return psycopg2.connect(
            host="127.0.0.1", port=5432, user="postgres", dbname="test", connect_timeout=3
        )
    except psycopg2.OperationalError:
        pytest.skip("no PostgreSQL on 127.0.0.1:5432 with a 'test' database")


@pytest.fixture
def schema() -> Iterator[str]:
    name = f"floe_dlt_{uuid.uuid4().hex[:10]}"
    yield name
    connection = _connect()
    connection.autocommit = True
    with connection.cursor() as cursor:
        for each in (name, f"{name}_staging"):
            cursor.execute(f'DROP SCHEMA IF EXISTS "{each}" CASCADE')
    connection.close()


def test_files_land_in_postgres_and_a_second_run_loads_only_the_new_file(
    tmp_path: Path, schema: str
) -> None:
    landing = tmp_path / "landing"
    write_orders(landing, "2026_01", 1, 12)
    write_customers(landing, 3)
    entry = landing_entry(landing, destination={"compute": "pg", "schema": schema})
    destination = PostgresDestination(
        compute="pg", host="127.0.0.1", port=5432, database="test", user="postgres", schema=schema
    )
    plugin = DltIngestion()
    first = plugin.run(request_for(entry, destination, tmp_path / "state"))
    assert first.stream("orders").rows_loaded == 12
    write_orders(landing, "2026_02", 13, 5)
    second = plugin.run(request_for(entry, destination, tmp_path / "state"))
    assert (second.stream("orders").rows_loaded, second.stream("orders").rows_total) == (5, 17)
    assert second.stream("customers").rows_loaded == 0
    connection = _connect()
    with connection.cursor() as cursor:
        cursor.execute(f'select count(*), max(order_id) from "{schema}".orders')
        assert cursor.fetchone() == (17, 17)
    connection.close()
