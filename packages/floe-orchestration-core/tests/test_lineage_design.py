"""Design-time lineage: one job per built transform and per Python asset, with its datasets."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings

from floe_orchestration_core.artifacts import (
    ColumnInfo,
    CompiledArtifacts,
    ComputeTarget,
    PythonAssetConfig,
)
from floe_orchestration_core.errors import LineageError
from floe_orchestration_core.lineage import Dataset, LineageBackendPlugin, NoOpLineageBackend
from floe_orchestration_core.lineage.design import (
    StaticJob,
    asset_job_name,
    dbt_test_job_name,
    design_lineage,
    run_job_name,
    transform_job_name,
)
from floe_orchestration_core.testing.factories import make_artifacts, make_source, make_transform
from floe_orchestration_core.testing.strategies import artifacts as artifacts_strategy

WAREHOUSE = "/data/warehouse.duckdb"


def _artifacts() -> CompiledArtifacts:
    transforms = [
        make_transform(
            "stg_orders",
            materialization="view",
            source_dependencies=("raw.orders",),
            database="warehouse",
        ),
        make_transform("int_orders", depends_on=["stg_orders"], materialization="ephemeral"),
        make_transform(
            "orders",
            depends_on=["int_orders", "stg_customers"],
            database="warehouse",
            description="one row per order",
            columns=(
                ColumnInfo(name="order_id", data_type="INTEGER", description="the key"),
                ColumnInfo(name="amount"),
            ),
            compute="heavy",
        ),
        make_transform("stg_customers", database="warehouse"),
        make_transform(
            "raw_seed", resource_type="seed", materialization="seed", path="seeds/raw_seed.csv"
        ),
    ]
    return make_artifacts(
        transforms,
        compute_targets=[
            ComputeTarget(name="default", type="duckdb", properties={"path": WAREHOUSE}),
            ComputeTarget(name="heavy", type="postgres", properties={"host": "db"}),
        ],
        product_name="shop",
        sources=(make_source("raw.orders", database="warehouse", identifier="orders_v2"),),
        python_assets=(
            PythonAssetConfig(
                name="load_orders",
                kind="ingestion",
                function="ingest/load.py:load",
                produces=("raw.orders",),
                inputs=("landing/orders.csv",),
            ),
            PythonAssetConfig(
                name="publish",
                kind="publication",
                function="publish.py:run",
                depends_on=("orders", "load_orders"),
                outputs=("/exports/orders.parquet",),
                description="exports orders",
            ),
        ),
    )


def _by_name(jobs: tuple[StaticJob, ...]) -> dict[str, StaticJob]:
    return {job.job_name: job for job in jobs}


def test_one_job_per_built_transform_and_per_python_asset_named_by_convention() -> None:
    jobs = design_lineage(_artifacts(), base_dir=Path("/project"))
    assert [job.job_name for job in jobs] == [
        "shop.model.stg_orders",
        "shop.model.orders",
        "shop.model.stg_customers",
        "shop.seed.raw_seed",
        "shop.asset.load_orders",
        "shop.asset.publish",
    ]
    assert {job.job_namespace for job in jobs} == {"floe"}


def test_inputs_go_through_ephemeral_models_and_sources_use_the_readers_compute() -> None:
    jobs = _by_name(design_lineage(_artifacts(), base_dir=Path("/project")))
    orders = jobs["shop.model.orders"]
    assert [(d.namespace, d.name) for d in orders.inputs] == [  # sorted, unique
        (f"duckdb://{WAREHOUSE}", "warehouse.main.stg_customers"),
        (f"duckdb://{WAREHOUSE}", "warehouse.main.stg_orders"),
    ]
    assert [(d.namespace, d.name) for d in orders.outputs] == [
        ("postgres://db:5432", "warehouse.main.orders")
    ]
    staging = jobs["shop.model.stg_orders"]
    assert [(d.namespace, d.name) for d in staging.inputs] == [
        (f"duckdb://{WAREHOUSE}", "warehouse.raw.orders_v2")
    ]


def test_outputs_carry_schema_and_documentation_and_jobs_their_type() -> None:
    orders = _by_name(design_lineage(_artifacts(), base_dir=Path("/project")))["shop.model.orders"]
    (table,) = orders.outputs
    assert table.facets["schema"] == {
        "fields": [
            {"name": "order_id", "type": "INTEGER", "description": "the key"},
            {"name": "amount"},  # what is not known is absent, as at run time
        ]
    }
    assert table.facets["documentation"] == {"description": "one row per order"}
    assert table.facets["dataSource"] == {
        "name": "postgres://db:5432",
        "uri": "postgres://db:5432",
    }
    assert table.facets["dbt_model"] == {"config": {"materialized": "table"}}
    assert orders.job_facets["dbt_node"] == {
        "unique_id": "model.analytics.orders",
        "original_file_path": "models/orders.sql",
        "database": "warehouse",
        "schema": "main",
        "alias": "orders",
    }
    assert orders.job_facets["jobType"] == {
        "processingType": "BATCH",
        "integration": "DBT",
        "jobType": "MODEL",
    }
    assert orders.job_facets["documentation"] == {"description": "one row per order"}
    assert "sql" not in orders.job_facets


def test_python_assets_read_and_write_relations_and_files() -> None:
    jobs = _by_name(design_lineage(_artifacts(), base_dir=Path("/project")))
    load = jobs["shop.asset.load_orders"]
    assert [(d.namespace, d.name) for d in load.inputs] == [("file", "/project/landing/orders.csv")]
    assert [(d.namespace, d.name) for d in load.outputs] == [
        (f"duckdb://{WAREHOUSE}", "warehouse.raw.orders_v2")
    ]
    assert load.job_facets["jobType"]["integration"] == "DAGSTER"
    assert load.job_facets["jobType"]["jobType"] == "ASSET"
    publish = jobs["shop.asset.publish"]
    assert [(d.namespace, d.name) for d in publish.inputs] == [
        (f"duckdb://{WAREHOUSE}", "warehouse.raw.orders_v2"),  # what load_orders writes
        ("postgres://db:5432", "warehouse.main.orders"),
    ]
    assert [(d.namespace, d.name) for d in publish.outputs] == [("file", "/exports/orders.parquet")]


def test_the_namespace_defaults_to_the_artifacts_lineage_namespace() -> None:
    artifacts = _artifacts().model_copy(
        update={"lineage": _artifacts().lineage.model_copy(update={"namespace": "analytics"})}
    )
    assert {j.job_namespace for j in design_lineage(artifacts)} == {"analytics"}
    assert {j.job_namespace for j in design_lineage(artifacts, namespace="x")} == {"x"}


def test_relative_paths_resolve_against_the_dbt_project_dir_by_default(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    jobs = _by_name(design_lineage(_artifacts()))  # project_dir is "."
    (landing,) = jobs["shop.asset.load_orders"].inputs
    assert landing.name == (tmp_path / "landing" / "orders.csv").resolve().as_posix()


def test_a_seed_reads_its_csv_file_from_the_project_dir() -> None:
    seed = _by_name(design_lineage(_artifacts(), base_dir=Path("/project")))["shop.seed.raw_seed"]
    assert [(d.namespace, d.name) for d in seed.inputs] == [("file", "/project/seeds/raw_seed.csv")]


def test_naming_helpers_follow_the_documented_convention() -> None:
    transform = make_transform("orders")
    assert transform_job_name("shop", transform) == "shop.model.orders"
    assert asset_job_name("shop", "load") == "shop.asset.load"
    assert dbt_test_job_name("shop", "not_null_orders_id") == "shop.test.not_null_orders_id"
    assert run_job_name("shop", "nightly") == "shop.nightly"


def test_static_jobs_validate_their_fields() -> None:
    with pytest.raises(LineageError, match="job_name"):
        StaticJob(job_namespace="floe", job_name="")
    with pytest.raises(LineageError, match="iterable of Dataset"):
        StaticJob(job_namespace="floe", job_name="j", inputs=Dataset("a", "b"))  # type: ignore[arg-type]


def test_a_backend_without_design_export_refuses_with_a_lineage_error() -> None:
    backend: LineageBackendPlugin = NoOpLineageBackend()
    with pytest.raises(LineageError, match="cannot export design-time lineage"):
        backend.export_design(design_lineage(_artifacts()))


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(artifacts_strategy())
def test_every_built_transform_has_one_job_whose_output_is_its_relation(
    artifacts: CompiledArtifacts,
) -> None:
    jobs = design_lineage(artifacts, base_dir=Path("/p"))
    built = [t for t in artifacts.transforms if not t.is_ephemeral]
    assert len(jobs) == len(built) + len(artifacts.python_assets)
    names = [job.job_name for job in jobs]
    assert len(set(names)) == len(names)
    outputs = {job.job_name: job.outputs for job in jobs}
    relations = {}
    for transform in built:
        (output,) = outputs[transform_job_name(artifacts.metadata.product_name, transform)]
        assert output.name.endswith(transform.alias or transform.name)
        relations[transform.name] = (output.namespace, output.name)
    for transform in built:
        job = _by_name(jobs)[transform_job_name(artifacts.metadata.product_name, transform)]
        read = {(d.namespace, d.name) for d in job.inputs}
        # every built direct upstream is an input; nothing a transform writes is its own input
        for upstream in transform.depends_on:
            if upstream in relations:
                assert relations[upstream] in read
        assert relations[transform.name] not in read or transform.name in transform.depends_on
