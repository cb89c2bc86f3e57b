"""What a dbt invocation built, measured, on real warehouses: row counts and column lineage on
the model's COMPLETE and on its Dagster materialization, DuckDB read after dbt exited,
Postgres read as dbt runs, and nothing failing when the warehouse cannot be read."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import dagster as dg
import duckdb
import pytest

from floe_orchestration_core.artifacts import ComputeTarget
from floe_orchestration_core.lineage import LineageEvent, RunState
from floe_orchestration_core.testing import InMemoryLineageBackend
from floe_orchestration_core.testing.factories import make_artifacts, make_source, make_transform
from floe_orchestrator_dagster.lineage.dbt_facts import (
    COLUMN_LINEAGE_BUDGET_SECONDS,
    BuildFacts,
    relation_key,
)
from floe_orchestrator_dagster.lineage.dbt_op import (
    COLUMN_LINEAGE_KEY,
    ROW_COUNT_KEY,
    dbt_op_with_lineage,
)
from floe_orchestrator_dagster.lineage.emitter import RUN_ID_TAG, LineageEmitter, lineage_emitter
from floe_orchestrator_dagster.lineage.sensor import deliver_backlog
from floe_orchestrator_dagster.lineage.warehouse import read_warehouse, rows_from_status

PKG = "analytics"
MODEL = "model.analytics.totals"
SOURCE = "source.analytics.raw.orders"


def _raw(name: str, status: str = "", **data: Any) -> dict[str, Any]:
    return {
        "info": {"name": name, "ts": "2026-01-02T03:04:05Z", "invocation_id": "inv-1"},
        "data": {
            "node_info": {
                "unique_id": MODEL,
                "node_name": "totals",
                "resource_type": "model",
                "node_status": "success" if status else "started",
            },
            **({"status": status} if status else {}),
            **data,
        },
    }


def _manifest(schema: str, database: str, adapter: str) -> dict[str, Any]:
    return {
        "metadata": {"adapter_type": adapter, "project_name": PKG},
        "nodes": {
            MODEL: {
                "unique_id": MODEL,
                "resource_type": "model",
                "name": "totals",
                "package_name": PKG,
                "path": "totals.sql",
                "original_file_path": "models/totals.sql",
                "database": database,
                "schema": schema,
                "alias": "totals",
                "config": {"materialized": "table"},
                "depends_on": {"nodes": [SOURCE]},
            }
        },
        "sources": {
            SOURCE: {
                "unique_id": SOURCE,
                "resource_type": "source",
                "name": "orders",
                "identifier": "orders",
                "database": database,
                "schema": schema,
            }
        },
    }


class _Translator:
    def get_asset_key(self, props: dict[str, Any]) -> dg.AssetKey:
        return dg.AssetKey([props["resource_type"], props["name"]])


class _Invocation:
    """dagster-dbt's DbtCliInvocation as far as the op uses it."""

    def __init__(self, manifest: dict[str, Any], target: Path, fail: bool = False) -> None:
        self.manifest = manifest
        self.target_path = target
        self.dagster_dbt_translator = _Translator()
        self.fail = fail
        self.raws = [
            {"info": {"name": "MainReportVersion"}, "data": {"version": "=1.11.16"}},
            _raw("LogStartLine"),
            _raw("LogModelResult", status="SELECT 3"),
        ]

    def stream_raw_events(self) -> Iterator[Any]:
        for raw in self.raws:
            yield type("Msg", (), {"raw_event": raw})()

    def stream(self) -> Iterator[Any]:
        for message in self.stream_raw_events():
            if message.raw_event["info"]["name"] == "LogModelResult":
                yield dg.Output(None, output_name="totals", metadata={"unique_id": MODEL})
        if self.fail:
            raise RuntimeError("dbt exited with code 1")


class _Context:
    def __init__(self) -> None:
        self.run = type(
            "Run",
            (),
            {"run_id": "dagster-run-1", "job_name": "job", "tags": {RUN_ID_TAG: str(uuid.uuid4())}},
        )()
        self.has_partition_key = False


def _emitter(
    backend: InMemoryLineageBackend, target: ComputeTarget, schema: str, database: str, cwd: Path
) -> LineageEmitter:
    artifacts = make_artifacts(
        [
            make_transform(
                "totals",
                source_dependencies=("raw.orders",),
                database=database,
                schema=schema,
                compute=target.name,
            )
        ],
        compute_targets=[target],
        default_compute=target.name,
        sources=(make_source("raw.orders", database=database, schema=schema, identifier="orders"),),
    )
    emitter = lineage_emitter(backend, artifacts, cwd=cwd)
    assert emitter is not None
    return emitter


def _compiled(target: Path, sql: str) -> Path:
    file = target / "compiled" / PKG / "models" / "totals.sql"
    file.parent.mkdir(parents=True)
    file.write_text(sql)
    return target


def _complete(backend: InMemoryLineageBackend) -> LineageEvent:
    (event,) = [e for e in backend.events if e.event_type is RunState.COMPLETE]
    return event


def test_duckdb_facts_are_read_after_dbt_exited_and_reach_lineage_and_dagster(
    tmp_path: Path,
) -> None:
    warehouse = tmp_path / "warehouse.duckdb"
    with duckdb.connect(str(warehouse)) as connection:
        connection.execute("create table orders (id integer, amount decimal(10, 2))")
        connection.execute("insert into orders values (1, 2.5), (2, 3), (3, 4)")
        connection.execute("create table totals as select id, amount * 2 as doubled from orders")
    target_def = ComputeTarget(name="local", type="duckdb", properties={"path": str(warehouse)})
    backend = InMemoryLineageBackend()
    emitter = _emitter(backend, target_def, "main", "warehouse", tmp_path)
    target = _compiled(
        tmp_path / "target",
        'select id, amount * 2 as doubled from "warehouse"."main"."orders"',
    )
    invocation = _Invocation(_manifest("main", "warehouse", "duckdb"), target)

    yielded = list(dbt_op_with_lineage(_Context(), invocation, emitter))

    (output,) = yielded
    assert output.metadata[ROW_COUNT_KEY] == dg.MetadataValue.int(3)
    lineage = output.metadata[COLUMN_LINEAGE_KEY].value
    assert lineage.deps_by_column["doubled"] == [
        dg.TableColumnDep(asset_key=dg.AssetKey(["source", "orders"]), column_name="amount")
    ]
    complete = _complete(backend)
    (out,) = complete.outputs
    assert out.facets["outputStatistics"] == {"rowCount": 3}
    fields = out.facets["columnLineage"]["fields"]
    assert fields["doubled"]["inputFields"] == [
        {
            "namespace": f"duckdb://{warehouse}",
            "name": "warehouse.main.orders",
            "field": "amount",
            "transformations": [{"type": "DIRECT", "subtype": "TRANSFORMATION"}],
        }
    ]
    assert complete.run_facets["dbt_version"] == {"version": "1.11.16"}
    assert complete.run_facets["dbt_run"]["invocation_id"] == "inv-1"
    assert complete.run_facets["tags"]["tags"][0]["value"] == "dagster-run-1"


def test_a_failing_dbt_yields_what_it_built_then_raises(tmp_path: Path) -> None:
    target_def = ComputeTarget(name="local", type="duckdb", properties={"path": ":memory:"})
    backend = InMemoryLineageBackend()
    emitter = _emitter(backend, target_def, "main", "warehouse", tmp_path)
    invocation = _Invocation(_manifest("main", "warehouse", "duckdb"), tmp_path, fail=True)
    yielded: list[Any] = []
    with pytest.raises(RuntimeError, match="exited"):
        yielded.extend(dbt_op_with_lineage(_Context(), invocation, emitter))
    assert len(yielded) == 1  # the model dbt built before failing
    # no warehouse to read (in memory): the COMPLETE goes out with what is known, the
    # adapter's count ("SELECT 3") and no column lineage
    (out,) = _complete(backend).outputs
    assert "columnLineage" not in out.facets
    assert out.facets["outputStatistics"] == {"rowCount": 3}


def test_a_locked_duckdb_file_gives_no_facts_and_fails_nothing(tmp_path: Path) -> None:
    warehouse = tmp_path / "w.duckdb"
    holder = duckdb.connect(str(warehouse))
    try:
        holder.execute("create table orders (id integer)")
        target = ComputeTarget(name="t", type="duckdb", properties={"path": str(warehouse)})
        snapshot = read_warehouse(
            target, tmp_path, relations={("w", "main", "orders")}, count={("w", "main", "orders")}
        )
        # the same process may open it: another process could not (dbt's lock)
        assert snapshot is None or snapshot.row_counts[("w", "main", "orders")] == 0
    finally:
        holder.close()
    missing = ComputeTarget(
        name="t", type="duckdb", properties={"path": str(tmp_path / "no" / "x.duckdb")}
    )
    assert read_warehouse(missing, tmp_path, relations={("x", "main", "t")}) is None
    other = ComputeTarget(name="t", type="snowflake", properties={"account": "a"})
    assert read_warehouse(other, tmp_path, relations={("x", "main", "t")}) is None
    assert read_warehouse(other, tmp_path, relations=()) is not None  # nothing asked


@pytest.mark.parametrize(
    ("status", "rows"),
    [
        ("SELECT 4", 4),
        ("INSERT 0 3", 3),
        ("INSERT 12", 12),
        ("OK", None),
        ("CREATE VIEW", None),
        (None, None),
    ],
)
def test_rows_come_from_the_adapter_s_status_text(status: object, rows: int | None) -> None:
    assert rows_from_status(status) == rows


def _postgres() -> Any:
    psycopg2 = pytest.importorskip("psycopg2")
    try:
        return psycopg2.connect(
            host="127.0.0.1", port=5432, user="postgres", dbname="test", connect_timeout=3
        )
    except Exception as exc:
        pytest.skip(f"PostgreSQL on 127.0.0.1:5432 is not available: {exc}")


def test_postgres_facts_are_read_as_dbt_runs_and_rows_come_from_dbt(tmp_path: Path) -> None:
    connection = _postgres()
    connection.autocommit = True
    schema = f"floe_lineage_{uuid.uuid4().hex[:8]}"
    try:
        with connection.cursor() as cursor:
            cursor.execute(f"create schema {schema}")
            cursor.execute(f"create table {schema}.orders (id integer, amount numeric(10, 2))")
        target_def = ComputeTarget(
            name="pg",
            type="postgres",
            properties={
                "host": "127.0.0.1",
                "port": 5432,
                "user": "postgres",
                "database": "test",  # what the compiler records from the profile's target
            },
        )
        backend = InMemoryLineageBackend()
        emitter = _emitter(backend, target_def, schema, "test", tmp_path)
        target = _compiled(
            tmp_path / "target", f'select id, amount as total from "test"."{schema}"."orders"'
        )
        invocation = _Invocation(_manifest(schema, "test", "postgres"), target)
        (output,) = list(dbt_op_with_lineage(_Context(), invocation, emitter))
    finally:
        with connection.cursor() as cursor:
            cursor.execute(f"drop schema if exists {schema} cascade")
        connection.close()
    assert output.metadata[ROW_COUNT_KEY] == dg.MetadataValue.int(3)  # dbt's "SELECT 3"
    (out,) = _complete(backend).outputs
    assert out.namespace == "postgres://127.0.0.1:5432"
    assert out.facets["columnLineage"]["fields"]["total"]["inputFields"][0]["transformations"] == [
        {"type": "DIRECT", "subtype": "IDENTITY"}
    ]


def test_parents_are_found_through_ephemeral_models_and_views_are_not_counted(
    tmp_path: Path,
) -> None:
    manifest = _manifest("main", "w", "duckdb")
    manifest["nodes"]["model.analytics.eph"] = {
        "resource_type": "model",
        "name": "eph",
        "database": "w",
        "schema": "main",
        "alias": "eph",
        "config": {"materialized": "ephemeral"},
        "depends_on": {"nodes": [SOURCE, "model.analytics.gone"]},
    }
    manifest["nodes"][MODEL]["depends_on"]["nodes"] = ["model.analytics.eph"]
    manifest["nodes"]["model.analytics.view"] = {
        "resource_type": "model",
        "config": {"materialized": "view"},
    }
    backend = InMemoryLineageBackend()
    target = ComputeTarget(name="local", type="duckdb", properties={})
    emitter = _emitter(backend, target, "main", "w", tmp_path)
    facts = BuildFacts(emitter.model, manifest, tmp_path)
    assert facts.parents(MODEL) == {("w", "main", "orders")}  # not the ephemeral model
    assert facts.counted(MODEL)
    assert not facts.counted("model.analytics.view")
    assert relation_key({"resource_type": "model"}) is None
    assert facts.lineage(MODEL, None, None) is None
    assert COLUMN_LINEAGE_BUDGET_SECONDS > 0


def test_the_sensor_tick_delivers_the_backlog_and_says_what_waits(tmp_path: Path) -> None:
    backend = InMemoryLineageBackend()
    target = ComputeTarget(name="local", type="duckdb", properties={})
    emitter = _emitter(backend, target, "main", "w", tmp_path)
    assert deliver_backlog(emitter) == ""  # a backend without a spool: nothing waits

    class Waiting(InMemoryLineageBackend):
        def deliver_backlog(self, timeout: float = 5.0) -> Any:
            from floe_orchestration_core.lineage import BacklogReport

            return BacklogReport(delivered=2, remaining=5, location="/p/.floe/lineage/spool")

    emitter.backend = Waiting()
    said = deliver_backlog(emitter)
    assert "delivered 2 spooled event(s)" in said
    assert "5 spooled event(s) wait" in said
