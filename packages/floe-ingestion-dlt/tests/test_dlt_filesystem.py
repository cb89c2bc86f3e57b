"""dlt's filesystem source through floe: real files, real DuckDB, incremental by file."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import duckdb
import pytest

from floe_ingestion_dlt.plugin import DltIngestion
from floe_orchestration_core.errors import IngestionConfigError, IngestionError
from floe_orchestration_core.ingestion import DuckDBDestination, IngestionResult
from floe_orchestration_core.testing import request_for
from landing import landing_entry, write_customers, write_orders


def _run(tmp_path: Path, entry: object, **kwargs: object) -> IngestionResult:
    destination = DuckDBDestination(compute="duckdb", path=tmp_path / "w.duckdb", schema="raw")
    request = request_for(entry, destination, tmp_path / "state", base_dir=tmp_path, **kwargs)  # type: ignore[arg-type]
    return DltIngestion().run(request)


def _rows(tmp_path: Path, sql: str) -> list[tuple[object, ...]]:
    with duckdb.connect(str(tmp_path / "w.duckdb"), read_only=True) as connection:
        return connection.execute(sql).fetchall()


def _touch_later(path: Path) -> None:
    """Make ``path`` newer than anything loaded so far (file systems keep ~ms mtimes)."""
    later = time.time() + 5
    os.utime(path, (later, later))


@pytest.fixture
def landing(tmp_path: Path) -> Path:
    folder = tmp_path / "landing"
    write_orders(folder, "2026_01", 1, 30)
    write_orders(folder, "2026_02", 31, 20)
    write_customers(folder)
    return folder


def test_a_new_file_loads_only_its_rows(tmp_path: Path, landing: Path) -> None:
    entry = landing_entry("landing")  # relative to floe.yaml's folder (base_dir)
    first = _run(tmp_path, entry)
    assert first.stream("orders").rows_loaded == 50
    assert first.stream("customers").rows_loaded == 4
    assert _rows(tmp_path, "select count(*), count(distinct _dlt_load_id) from raw.orders") == [
        (50, 1)
    ]
    second = _run(tmp_path, entry)
    assert second.stream("orders").rows_loaded == 0
    assert second.stream("orders").data_version == first.stream("orders").data_version

    _touch_later(write_orders(landing, "2026_03", 51, 7))
    third = _run(tmp_path, entry)
    orders, customers = third.stream("orders"), third.stream("customers")
    assert (orders.rows_loaded, orders.rows_total) == (7, 57)
    assert orders.data_version != first.stream("orders").data_version
    # The other stream's cursor is its own: nothing new there.
    assert customers.rows_loaded == 0
    assert customers.data_version == first.stream("customers").data_version
    assert _rows(tmp_path, "select min(order_id), max(order_id) from raw.orders") == [(1, 57)]
    assert _rows(tmp_path, "select count(distinct _dlt_load_id) from raw.orders") == [(2,)]
    # Types: the column hint holds, the other values stay as the CSV wrote them.
    types = {
        row[0]: row[1]
        for row in _rows(
            tmp_path,
            "select column_name, data_type from information_schema.columns "
            "where table_schema = 'raw' and table_name = 'orders'",
        )
    }
    assert types["order_id"] == "BIGINT"


def test_the_state_survives_a_lost_state_folder(tmp_path: Path, landing: Path) -> None:
    entry = landing_entry(landing)
    _run(tmp_path, entry)
    shutil.rmtree(tmp_path / "state")
    again = _run(tmp_path, entry)  # dlt restores the cursor from raw._dlt_pipeline_state
    assert again.stream("orders").rows_loaded == 0
    assert again.stream("orders").rows_total == 50


def test_the_warehouse_file_is_free_for_the_next_writer_after_a_run(
    tmp_path: Path, landing: Path
) -> None:
    _run(tmp_path, landing_entry(landing))
    code = (
        "import duckdb, sys; c = duckdb.connect(sys.argv[1]);"
        "c.execute('create table raw.dbt_was_here as select 1 as x'); print('ok')"
    )
    done = subprocess.run(
        [sys.executable, "-c", code, str(tmp_path / "w.duckdb")],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.stdout.strip() == "ok", done.stderr


def test_a_primary_key_merges_a_rewritten_file_without_duplicates(
    tmp_path: Path, landing: Path
) -> None:
    entry = landing_entry(
        landing,
        streams=[{"name": "orders", "options": {"primary_key": "order_id"}}],
    )
    _run(tmp_path, entry)
    rewritten = write_orders(landing, "2026_02", 31, 25)  # 5 more rows, 20 rewritten
    _touch_later(rewritten)
    result = _run(tmp_path, entry)
    assert result.stream("orders").rows_loaded == 25
    assert _rows(tmp_path, "select count(*), count(distinct order_id) from raw.orders") == [
        (55, 55)
    ]


def test_incremental_false_rereads_every_file(tmp_path: Path, landing: Path) -> None:
    entry = landing_entry(
        landing,
        streams=[
            {
                "name": "orders",
                "options": {"incremental": False, "write_disposition": "replace"},
            }
        ],
    )
    _run(tmp_path, entry)
    again = _run(tmp_path, entry)
    assert again.stream("orders").rows_loaded == 50
    assert again.stream("orders").rows_total == 50


def test_a_missing_folder_is_a_configuration_error(tmp_path: Path) -> None:
    with pytest.raises(IngestionConfigError, match="is not a folder") as caught:
        _run(tmp_path, landing_entry("nowhere"))
    assert caught.value.retryable is False


def test_a_glob_that_matches_nothing_on_the_first_run_names_the_glob(
    tmp_path: Path, landing: Path
) -> None:
    entry = landing_entry(
        landing, streams=[{"name": "orders", "options": {"file_glob": "ordrs_*.csv"}}]
    )
    with pytest.raises(IngestionConfigError, match=r"matches 'ordrs_\*\.csv'"):
        _run(tmp_path, entry)


def test_a_broken_jsonl_file_names_the_line(tmp_path: Path, landing: Path) -> None:
    (landing / "customers.jsonl").write_text('{"customer_id": 1}\nnot json\n', encoding="utf-8")
    with pytest.raises(IngestionConfigError, match="line 2 is not JSON"):
        _run(tmp_path, landing_entry(landing))


def test_a_product_defined_source_loads_its_selected_resources(tmp_path: Path) -> None:
    (tmp_path / "shop.py").write_text(
        "import dlt\n\n"
        "@dlt.source\n"
        "def shop(count: int = 3):\n"
        "    @dlt.resource(primary_key='id', write_disposition='merge')\n"
        "    def users():\n"
        "        yield [{'id': i, 'name': f'u{i}'} for i in range(count)]\n"
        "    @dlt.resource\n"
        "    def events():\n"
        "        yield [{'id': 1}]\n"
        "    return users, events\n",
        encoding="utf-8",
    )
    entry = landing_entry(
        "unused",
        source="shop.py:shop",
        config={"count": 5},
        streams=[{"name": "users"}],
    )
    assert DltIngestion().check(entry) == []
    result = _run(tmp_path, entry)
    assert result.stream("users").rows_total == 5
    assert _rows(tmp_path, "select count(*) from information_schema.tables "
                 "where table_schema = 'raw' and table_name = 'events'") == [(0,)]  # fmt: skip
    unknown = landing_entry("x", source="shop.py:shop", config={}, streams=[{"name": "orders"}])
    with pytest.raises(IngestionConfigError, match="it offers: events, users"):
        _run(tmp_path, unknown)
    wrong = landing_entry(
        "x", source="shop.py:shop", config={"size": 1}, streams=[{"name": "users"}]
    )
    with pytest.raises(IngestionConfigError, match="does not fit the function's parameters"):
        _run(tmp_path, wrong)


def test_a_source_function_that_cannot_be_found_says_where(tmp_path: Path) -> None:
    entry = landing_entry("x", source="missing.py:shop", streams=[{"name": "users"}])
    with pytest.raises(IngestionConfigError, match=r"missing\.py does not exist"):
        _run(tmp_path, entry)


@pytest.mark.parametrize(
    ("overrides", "expected"),
    [
        ({"source": "rest_api"}, "neither 'filesystem' nor a dlt source function"),
        ({"config": {}}, "config.bucket_url: the folder"),
        ({"config": {"bucket_url": "x", "chunk": 3}}, "config.chunk: unknown key"),
        ({"streams": [{"name": "Orders"}]}, "use a lowercase snake_case name"),
        ({"streams": [{"name": "a__b"}]}, "without '__'"),
        ({"streams": [{"name": "o", "options": {"colour": 1}}]}, "streams[0].colour: unknown"),
        ({"streams": [{"name": "o", "options": {"format": "xml"}}]}, "'xml' is not one of"),
        ({"streams": [{"name": "o", "options": {"file_glob": "o.txt"}}]}, "add format: csv"),
        ({"streams": [{"name": "o", "options": {"write_disposition": "merge"}}]}, "merge needs"),
        ({"streams": [{"name": "o", "options": {"write_disposition": "upsert"}}]}, "'upsert'"),
        ({"streams": [{"name": "o", "options": {"primary_key": 3}}]}, "a column name or a list"),
        ({"streams": [{"name": "o", "options": {"columns": {"a": "int"}}}]}, "'int' is not a"),
        ({"streams": [{"name": "o", "options": {"columns": ["a"]}}]}, "a mapping of column"),
        ({"streams": [{"name": "o", "options": {"incremental": "yes"}}]}, "true or false"),
    ],
)
def test_check_names_every_misconfiguration(overrides: dict[str, object], expected: str) -> None:
    problems = DltIngestion().check(landing_entry("landing", **overrides))
    assert any(expected in problem for problem in problems), problems


def test_source_datasets_are_the_files_each_stream_reads(tmp_path: Path) -> None:
    plugin = DltIngestion()
    local = plugin.source_datasets(landing_entry("landing"), tmp_path)
    assert (local["orders"].namespace, local["orders"].name) == (
        "file",
        f"{(tmp_path / 'landing').resolve().as_posix()}/orders_*.csv",
    )
    remote = plugin.source_datasets(landing_entry("s3://bucket/in"), tmp_path)
    assert (remote["customers"].namespace, remote["customers"].name) == (
        "s3://bucket",
        "in/customers.jsonl",
    )
    own = plugin.source_datasets(
        landing_entry("x", source="p.py:shop", streams=[{"name": "users"}]), tmp_path
    )
    assert own["users"].namespace == "dlt://p.py:shop"


def test_a_destination_that_does_not_answer_is_retryable(tmp_path: Path, landing: Path) -> None:
    from floe_orchestration_core.ingestion import PostgresDestination

    closed = PostgresDestination(
        compute="pg", host="127.0.0.1", port=1, database="x", user="u", schema="raw"
    )
    request = request_for(landing_entry(landing), closed, tmp_path / "state")
    with pytest.raises(IngestionError) as caught:
        DltIngestion().run(request)
    assert caught.value.retryable is True
    assert "127.0.0.1:1" in str(caught.value)
