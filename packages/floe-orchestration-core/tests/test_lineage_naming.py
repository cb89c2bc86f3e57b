"""Dataset names and the one lineage model: what every emitter calls a job's datasets."""

from __future__ import annotations

from pathlib import Path

import pytest

from floe_orchestration_core.artifacts import ComputeTarget, QualityCheck
from floe_orchestration_core.lineage.jobs import ProductLineage
from floe_orchestration_core.lineage.naming import (
    dataset_for_file,
    dataset_for_relation,
    namespace_for_compute,
)
from floe_orchestration_core.testing.factories import make_artifacts, make_source, make_transform


@pytest.mark.parametrize(
    ("kind", "properties", "namespace"),
    [
        # as written in the profile / compute target, the way dbt-ol names it
        ("duckdb", {"path": ".floe/warehouse.duckdb"}, "duckdb://.floe/warehouse.duckdb"),
        ("duckdb", {"path": "/data/w.duckdb"}, "duckdb:///data/w.duckdb"),
        ("duckdb", {"path": ":memory:"}, "duckdb://memory"),
        ("duckdb", {}, "duckdb://memory"),
        ("postgres", {"host": "db", "port": 6543}, "postgres://db:6543"),
        ("postgres", {"host": "localhost"}, "postgres://localhost:5432"),
        ("postgres", {}, "postgres"),
        ("snowflake", {"account": "acme-1"}, "snowflake://acme-1"),
        ("snowflake", {}, "snowflake"),
        ("bigquery", {"project": "p"}, "bigquery"),
        ("clickhouse", {"host": "ch"}, "clickhouse://ch"),
    ],
)
def test_namespaces_follow_the_naming_spec_and_dbt_ol(
    kind: str, properties: dict[str, object], namespace: str
) -> None:
    target = ComputeTarget.model_validate({"name": "t", "type": kind, "properties": properties})
    assert namespace_for_compute(target) == namespace


def test_relations_join_database_schema_and_table_and_files_are_absolute() -> None:
    target = ComputeTarget(name="t", type="duckdb", properties={"path": "w.duckdb"})
    dataset = dataset_for_relation(target, "w", "main", "orders")
    assert (dataset.namespace, dataset.name) == ("duckdb://w.duckdb", "w.main.orders")
    assert dataset_for_relation(None, None, "main", "orders").namespace == "floe"
    assert dataset_for_relation(None, None, "main", "orders").name == "main.orders"
    assert dataset_for_file("data/x.csv", base_dir=Path("/p")).name == "/p/data/x.csv"
    assert dataset_for_file("/abs/x.csv").name == "/abs/x.csv"


def _model() -> ProductLineage:
    check = QualityCheck(
        name="not_null_orders_id",
        unique_id="test.analytics.not_null_orders_id",
        kind="generic",
        test_name="not_null",
        column="id",
        attached_to="orders",
        references=("raw.orders", "missing"),
        description="ids are never null",
    )
    transforms = [
        make_transform("orders", source_dependencies=("raw.orders",), quality_checks=(check,)),
        make_transform("eph", materialization="ephemeral"),
    ]
    artifacts = make_artifacts(
        transforms,
        compute_targets=[ComputeTarget(name="default", type="postgres", properties={})],
        sources=(make_source("raw.orders"),),
    )
    return ProductLineage(artifacts, Path("/p"), "ns")


def test_a_test_job_reads_what_it_tests() -> None:
    model = _model()
    job = model.check_job(model.checks["test.analytics.not_null_orders_id"])
    assert job.job_name.endswith(".test.not_null_orders_id")
    assert [d.name for d in job.inputs] == ["main.orders", "raw.orders"]
    assert job.job_facets["documentation"] == {"description": "ids are never null"}
    # a namespace that is not a URI is the data source's name only
    assert job.inputs[0].facets["dataSource"] == {"name": "postgres"}


def test_lookups_of_datasets_by_name() -> None:
    model = _model()
    assert model.dataset_of("eph") is None  # ephemeral models build nothing
    assert model.dataset_of("nothing") is None
    orders = model.dataset_of("orders")
    assert orders is not None
    assert orders.name == "main.orders"
    relation = model.relation(None, "db", "s", "t", {"schema": {"fields": [{"name": "a"}]}})
    assert relation.name == "db.s.t"
    assert set(relation.facets) == {"dataSource", "schema"}
    assert model.compute("unknown") is None
