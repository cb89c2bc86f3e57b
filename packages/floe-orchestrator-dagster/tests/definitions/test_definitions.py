"""build_definitions: one @dbt_assets per compute target, sources, checks, partitions, runs."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import dagster as dg
import pytest
from dagster_dbt import DbtCliResource, build_dbt_asset_specs
from dagster_dbt.asset_utils import get_manifest_and_translator_from_dbt_assets

from floe_orchestration_core.artifacts import CompiledArtifacts
from floe_orchestration_core.compile import compile_artifacts
from floe_orchestration_core.graph import TransformGraph
from floe_orchestration_core.testing import make_artifacts, make_transform
from floe_orchestrator_dagster.config import DagsterAdapterConfig, TranslatorSettings
from floe_orchestrator_dagster.dbt.manifest import ProjectManifest
from floe_orchestrator_dagster.dbt.resource import MissingDbtProject
from floe_orchestrator_dagster.dbt.translator import asset_key_for
from floe_orchestrator_dagster.definitions.build import build_definitions
from floe_orchestrator_dagster.errors import DbtProjectMissingError, TagCollisionError

_PRODUCT: dict[str, Any] = {
    "compute": {
        "default": "duckdb",
        "targets": {
            "duckdb": {"type": "duckdb", "dbt_target": "dev"},
            # Two dbt targets of one warehouse: reads across warehouses are refused at compile.
            "heavy": {"type": "duckdb", "dbt_target": "big"},
        },
        "overrides": [{"select": "tag:heavy", "compute": "heavy"}],
    },
    "partitions": [
        {
            "name": "daily",
            "granularity": "daily",
            "start": "2024-01-01",
            "select": "dim_customers_v2",
        }
    ],
    "schedules": [{"name": "nightly", "cron": "0 2 * * *", "timezone": "Europe/Paris"}],
}


def _build(artifacts: CompiledArtifacts, **config: Any) -> dg.Definitions:
    return build_definitions(
        artifacts,
        TransformGraph.from_artifacts(artifacts),
        DagsterAdapterConfig.model_validate(config),
    )


def _dbt_assets(definitions: dg.Definitions) -> dict[str, dg.AssetsDefinition]:
    return {
        a.node_def.name: a
        for a in definitions.assets or ()
        if isinstance(a, dg.AssetsDefinition) and a.is_executable
    }


def _uid(graph: Any, key: dg.AssetKey) -> str:
    return str(graph.get(key).metadata["floe/unique_id"])


@pytest.fixture(scope="module")
def shop(tmp_path_factory: pytest.TempPathFactory) -> tuple[CompiledArtifacts, dg.Definitions]:
    fixtures = (
        Path(__file__).resolve().parents[3] / "floe-orchestration-core" / "tests" / "fixtures"
    )
    project = tmp_path_factory.mktemp("shop")
    (project / "dbt_project.yml").write_text("name: shop\n")
    artifacts = compile_artifacts(
        fixtures / "manifest_fusion.json", product=_PRODUCT, project_dir=project
    )
    return artifacts, _build(artifacts)


def test_each_dbt_assets_builds_transforms_of_one_compute_target_and_partitioning(
    shop: tuple[CompiledArtifacts, dg.Definitions],
) -> None:
    artifacts, definitions = shop
    graph = definitions.resolve_asset_graph()
    by_uid = {t.unique_id: t for t in artifacts.transforms}
    built = {
        name: {_uid(graph, key) for key in assets.keys}
        for name, assets in _dbt_assets(definitions).items()
    }
    for name, uids in built.items():
        groups = {(by_uid[u].compute, by_uid[u].partition) for u in uids}
        assert len(groups) == 1, name
        compute, partition = groups.pop()
        assert name.startswith(f"dbt_{compute}" + (f"_{partition}" if partition else ""))
    every = [u for uids in built.values() for u in uids]
    assert sorted(every) == sorted(t.unique_id for t in artifacts.transforms if not t.is_ephemeral)
    # duckdb feeds heavy (fct_orders), which feeds duckdb back (its snapshot): a later stage
    assert built["dbt_heavy_stage1"] == {"model.shop.fct_orders"}
    assert built["dbt_duckdb_stage2"] == {"snapshot.shop.fct_orders_snapshot"}


def test_the_ops_form_no_cycle_so_jobs_need_no_splitting(
    shop: tuple[CompiledArtifacts, dg.Definitions],
) -> None:
    _, definitions = shop
    graph = definitions.resolve_asset_graph()
    op_of = {key: name for name, a in _dbt_assets(definitions).items() for key in a.keys}
    edges = {
        (op_of[parent], op_of[key])
        for key in op_of
        for parent in graph.get(key).parent_keys
        if parent in op_of and op_of[parent] != op_of[key]
    }
    order: dict[str, int] = {}
    for name in sorted(set(op_of.values())):
        order[name] = 0
    for _ in range(len(order)):
        for up, down in edges:
            order[down] = max(order[down], order[up] + 1)
    assert all(order[up] < order[down] for up, down in edges)


def test_the_run_selection_of_each_op_selects_exactly_its_transforms_in_the_whole_project(
    shop: tuple[CompiledArtifacts, dg.Definitions],
) -> None:
    artifacts, definitions = shop
    project = ProjectManifest.load(artifacts)
    everything = project.subset([t.unique_id for t in artifacts.transforms], adapter_type="duckdb")
    for assets in _dbt_assets(definitions).values():
        manifest = get_manifest_and_translator_from_dbt_assets([assets])[0]
        mine = {str(s.metadata["floe/unique_id"]) for s in assets.specs}
        select = assets.op.tags["dagster_dbt/select"]
        if select.startswith("tag:"):
            # dbt selects nothing with the marker tag in the real project; the op adds its fqns
            tagged = {uid for uid, n in manifest["nodes"].items() if select[4:] in n["tags"]}
            assert tagged == mine
            continue
        specs = build_dbt_asset_specs(manifest=everything, select=select)
        assert {str(s.metadata["dagster_dbt/unique_id"]) for s in specs} == mine


def test_dependencies_across_compute_targets_are_kept_through_ephemeral_models(
    shop: tuple[CompiledArtifacts, dg.Definitions],
) -> None:
    _, definitions = shop
    graph = definitions.resolve_asset_graph()
    fct = next(k for k in graph.get_all_asset_keys() if _uid(graph, k) == "model.shop.fct_orders")
    parents = {_uid(graph, p) for p in graph.get(fct).parent_keys}
    # int_orders_enriched is ephemeral: fct_orders reads through it
    assert parents == {
        "model.shop.stg_orders",
        "model.shop.stg_customers",
        "model.calendar_pkg.dim_dates",
    }
    assert graph.get(fct).metadata["floe/compute_target"] == "heavy"


def test_sources_are_declared_assets_upstream_of_the_models(
    shop: tuple[CompiledArtifacts, dg.Definitions],
) -> None:
    _, definitions = shop
    graph = definitions.resolve_asset_graph()
    source = dg.AssetKey(["app", "customers"])
    assert source in graph.get_all_asset_keys()
    assert not graph.get(source).is_materializable
    assert graph.get(source).metadata["floe/source_key"] == "app.customers"
    children = {_uid(graph, c) for c in graph.get(source).child_keys}
    assert "model.shop.stg_customers" in children


def test_error_checks_block_warn_checks_do_not(
    shop: tuple[CompiledArtifacts, dg.Definitions],
) -> None:
    artifacts, definitions = shop
    specs = {
        spec.key.name: spec
        for assets in _dbt_assets(definitions).values()
        for spec in assets.check_specs
    }
    severities = {c.name: c.severity.value for t in artifacts.transforms for c in t.quality_checks}
    severities.update(
        {c.name: c.severity.value for s in artifacts.sources for c in s.quality_checks}
    )
    assert set(specs) == set(severities)
    for name, spec in specs.items():
        assert spec.blocking == (severities[name] == "error"), name
    assert "relationships_stg_orders_order_id__order_id__ref_fct_orders_" in specs


def test_checks_are_off_or_never_blocking_when_the_settings_say_so(
    shop: tuple[CompiledArtifacts, dg.Definitions],
) -> None:
    artifacts, _ = shop
    relaxed = _build(artifacts, translator={"blocking_error_checks": False})
    assert not any(s.blocking for a in _dbt_assets(relaxed).values() for s in a.check_specs)
    off = _build(artifacts, translator={"enable_asset_checks": False})
    assert not [s for a in _dbt_assets(off).values() for s in a.check_specs]


def test_every_asset_carries_floe_metadata_and_the_descriptions_come_from_the_manifest(
    shop: tuple[CompiledArtifacts, dg.Definitions],
) -> None:
    artifacts, definitions = shop
    by_uid = {t.unique_id: t for t in artifacts.transforms}
    for assets in _dbt_assets(definitions).values():
        for spec in assets.specs:
            transform = by_uid[str(spec.metadata["floe/unique_id"])]
            assert spec.metadata["floe/compute_target"] == transform.compute
            assert spec.metadata["floe/schema"] == (transform.schema_name or "")
            assert spec.metadata["floe/materialization"] == transform.materialization
            assert spec.group_name == transform.compute
    stg = next(
        s
        for a in _dbt_assets(definitions).values()
        for s in a.specs
        if s.metadata["floe/unique_id"] == "model.shop.stg_customers"
    )
    assert stg.description == "dbt model stg_customers"  # no SQL unless sql_in_description
    with_sql = _build(artifacts, translator={"sql_in_description": True})
    stg_sql = next(
        s
        for a in _dbt_assets(with_sql).values()
        for s in a.specs
        if s.metadata["floe/unique_id"] == "model.shop.stg_customers"
    )
    assert "Raw SQL" in (stg_sql.description or "")
    assert "dagster/table_name" in stg.metadata
    lean = _build(artifacts, translator={"dbt_table_metadata": False})
    for assets in _dbt_assets(lean).values():
        for spec in assets.specs:
            assert "dagster/column_schema" not in spec.metadata
            assert "dagster/table_name" not in spec.metadata
            assert spec.metadata["floe/unique_id"]


def test_partitioned_transforms_get_time_window_partitions(
    shop: tuple[CompiledArtifacts, dg.Definitions],
) -> None:
    _, definitions = shop
    daily = _dbt_assets(definitions)["dbt_duckdb_daily_stage1"]
    assert isinstance(daily.partitions_def, dg.DailyPartitionsDefinition)
    assert {k.to_user_string() for k in daily.keys} == {"dim_customers_v2"}
    assert _dbt_assets(definitions)["dbt_duckdb"].partitions_def is None


def test_one_dbt_resource_per_compute_target_with_its_dbt_target(
    shop: tuple[CompiledArtifacts, dg.Definitions],
) -> None:
    _, definitions = shop
    resources: Mapping[str, Any] = definitions.resources or {}
    assert set(resources) == {"dbt_duckdb", "dbt_heavy"}
    assert isinstance(resources["dbt_heavy"], DbtCliResource)
    assert resources["dbt_heavy"].target == "big"
    assert resources["dbt_duckdb"].target == "dev"
    assert {j.name for j in definitions.jobs or ()} == {"nightly_job"}
    schedule = next(iter(definitions.schedules or ()))
    assert isinstance(schedule, dg.ScheduleDefinition)
    assert schedule.execution_timezone == "Europe/Paris"


def test_zero_transforms_give_valid_empty_definitions() -> None:
    definitions = _build(make_artifacts())
    dg.Definitions.validate_loadable(definitions)
    assert not list(definitions.resolve_asset_graph().get_all_asset_keys())


def test_colliding_tags_fail_at_generation() -> None:
    artifacts = make_artifacts(
        [make_transform("a", tags=("x y",)), make_transform("b", tags=("x_y",))]
    )
    with pytest.raises(TagCollisionError):
        _build(artifacts)


def test_asset_key_for_matches_the_translator_without_a_manifest() -> None:
    artifacts = make_artifacts([make_transform("orders"), make_transform("stg")])
    settings = TranslatorSettings(key_prefix=("acme",))
    definitions = _build(artifacts, translator={"key_prefix": ["acme"]})
    keys = set(definitions.resolve_asset_graph().get_all_asset_keys())
    assert keys == {asset_key_for(t, settings) for t in artifacts.transforms}


def test_without_the_dbt_project_definitions_load_and_a_run_fails_naming_the_folder(
    tmp_path: Path,
) -> None:
    missing = tmp_path / "not_checked_out"
    artifacts = make_artifacts([make_transform("orders")])
    artifacts = artifacts.model_copy(
        update={"dbt": artifacts.dbt.model_copy(update={"project_dir": str(missing)})}
    )
    definitions = _build(artifacts)
    dg.Definitions.validate_loadable(definitions)
    assert isinstance((definitions.resources or {})["dbt_default"], dg.ResourceDefinition)
    job = definitions.resolve_implicit_global_asset_job_def()
    with (
        dg.DagsterInstance.ephemeral() as instance,
        pytest.raises(DbtProjectMissingError) as raised,
    ):
        job.execute_in_process(instance=instance)
    assert str(missing) in str(raised.value)
    assert "--project-dir" in str(raised.value)
    assert MissingDbtProject("x").message == "x"


def test_a_model_named_like_a_python_keyword_gets_a_typed_error_naming_the_fix() -> None:
    from floe_orchestration_core.errors import InvalidNameError
    from floe_orchestration_core.testing.factories import make_artifacts, make_transform
    from floe_orchestrator_dagster.plugin import DagsterOrchestratorPlugin

    artifacts = make_artifacts(
        [make_transform("config"), make_transform("b", depends_on=["config"])]
    )
    with pytest.raises(InvalidNameError, match=r"model 'config'.*key_prefix") as raised:
        DagsterOrchestratorPlugin().create_definitions(artifacts)
    assert raised.value.names == ("config",)
    prefixed = DagsterOrchestratorPlugin({"translator": {"key_prefix": ["dbt"]}})
    assert prefixed.create_definitions(artifacts) is not None
