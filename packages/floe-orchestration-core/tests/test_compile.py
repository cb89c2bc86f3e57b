"""compile_artifacts: the mapping rules from a dbt manifest and floe.yaml to CompiledArtifacts."""

from __future__ import annotations

import gc
import hashlib
import json
import re
import shutil
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from floe_orchestration_core import __version__
from floe_orchestration_core.artifacts import CompiledArtifacts, QualityCheck, Severity
from floe_orchestration_core.compile import compile_artifacts
from floe_orchestration_core.compile.product import load_product_spec
from floe_orchestration_core.errors import CompileError, ProductSpecError

FIXTURES = Path(__file__).parent / "fixtures"
WHEN = datetime(2026, 1, 1, tzinfo=UTC)


def _raw(shape: str = "v12") -> dict[str, Any]:
    data: dict[str, Any] = json.loads((FIXTURES / f"manifest_{shape}.json").read_text())
    return data


def _compile(shape: str = "v12", **kwargs: Any) -> CompiledArtifacts:
    return compile_artifacts(FIXTURES / f"manifest_{shape}.json", compiled_at=WHEN, **kwargs)


def _check(artifacts: CompiledArtifacts, name: str) -> QualityCheck:
    checks = [c for t in artifacts.transforms for c in t.quality_checks]
    checks += [c for s in artifacts.sources for c in s.quality_checks]
    return next(c for c in checks if c.name == name)


def _compute(spec: dict[str, Any]) -> dict[str, Any]:
    return {
        "compute": {
            "default": "duckdb",
            "targets": {"duckdb": {"type": "duckdb"}, "heavy": {"type": "duckdb", "threads": 8}},
            **spec,
        }
    }


# Transforms ----------------------------------------------------------------------------------
def test_transforms_follow_manifest_order_and_skip_disabled_nodes() -> None:
    names = [t.name for t in _compile().transforms]
    assert names == [
        "raw_orders",
        "stg_customers",
        "stg_orders",
        "int_orders_enriched",
        "dim_dates",
        "fct_orders",
        "fct_orders_snapshot",
        "dim_customers_v1",
        "dim_customers_v2",
    ]


def test_versioned_models_are_named_with_their_version() -> None:
    artifacts = _compile("v10")
    v2 = artifacts.transform("dim_customers_v2")
    assert v2.unique_id == "model.shop.dim_customers.v2"
    assert v2.version == "2"
    assert v2.owners == ("cs@example.com",)


def test_dependencies_are_names_deduplicated_in_manifest_order() -> None:
    fct = _compile().transform("fct_orders")
    assert fct.depends_on == ("int_orders_enriched", "dim_dates")
    assert _compile().transform("stg_customers").source_dependencies == ("app.customers",)


def test_materialization_defaults_depend_on_the_resource_type() -> None:
    data = _raw()
    for uid in (
        "seed.shop.raw_orders",
        "model.shop.stg_orders",
        "snapshot.shop.fct_orders_snapshot",
    ):
        data["nodes"][uid]["config"] = None
    artifacts = compile_artifacts(data, compiled_at=WHEN)
    assert artifacts.transform("raw_orders").materialization == "seed"
    assert artifacts.transform("stg_orders").materialization == "view"
    assert artifacts.transform("fct_orders_snapshot").materialization == "snapshot"


def test_ephemeral_python_and_package_models_are_transforms() -> None:
    artifacts = _compile("v7")
    assert artifacts.transform("int_orders_enriched").is_ephemeral
    assert artifacts.transform("customer_scores").language == "python"
    assert artifacts.transform("dim_dates").package_name == "calendar_pkg"


def test_node_fields_are_carried_over() -> None:
    stg = _compile().transform("stg_orders")
    assert stg.path == "models/stg_orders.sql"
    assert stg.relation_name == "warehouse.analytics.stg_orders"
    assert stg.tags == ("staging",)
    assert [(c.name, c.data_type, c.description) for c in stg.columns] == [
        ("order_id", "integer", "the order")
    ]


def test_two_transforms_with_one_name_are_refused_naming_both() -> None:
    data = _raw()
    clone = dict(data["nodes"]["model.calendar_pkg.dim_dates"])
    clone["unique_id"] = "model.other_pkg.dim_dates"
    data["nodes"]["model.other_pkg.dim_dates"] = clone
    both = "'model.calendar_pkg.dim_dates' and 'model.other_pkg.dim_dates'"
    with pytest.raises(CompileError, match=re.escape(both)):
        compile_artifacts(data)


def test_dependency_on_a_disabled_node_is_refused_naming_both() -> None:
    data = _raw()
    data["nodes"]["model.shop.fct_orders"]["depends_on"]["nodes"].append("model.shop.legacy_orders")
    with pytest.raises(
        CompileError,
        match=re.escape(
            "'model.shop.fct_orders' depends on 'model.shop.legacy_orders', which is disabled"
        ),
    ):
        compile_artifacts(data)


def test_dependency_on_a_missing_node_is_refused_naming_both() -> None:
    data = _raw()
    data["nodes"]["model.shop.fct_orders"]["depends_on"]["nodes"].append("model.shop.ghost")
    with pytest.raises(CompileError, match=re.escape("'model.shop.ghost', which is not")):
        compile_artifacts(data)


def test_every_problem_is_listed_in_one_error() -> None:
    data = _raw()
    data["nodes"]["model.shop.fct_orders"]["depends_on"]["nodes"].append("model.shop.ghost")
    data["nodes"]["model.shop.stg_orders"]["depends_on"]["nodes"].append("model.shop.phantom")
    with pytest.raises(CompileError, match="2 problem") as exc:
        compile_artifacts(data)
    assert "ghost" in str(exc.value)
    assert "phantom" in str(exc.value)


def test_dependencies_on_metrics_and_semantic_models_are_ignored() -> None:
    exposure = _compile("v10").exposures[0]
    assert exposure.depends_on == ("fct_orders",)
    assert exposure.source_dependencies == ("app.customers",)
    assert exposure.owner == "bi@example.com"
    assert exposure.type == "dashboard"


# Quality checks --------------------------------------------------------------------------------
def test_generic_test_is_attached_to_its_model_with_column_and_severity() -> None:
    check = _check(_compile(), "unique_fct_orders_order_id")
    assert check.kind == "generic"
    assert check.test_name == "unique"
    assert check.attached_to == "fct_orders"
    assert check.column == "order_id"
    assert check.severity is Severity.ERROR


def test_source_test_is_attached_to_the_source() -> None:
    artifacts = _compile()
    (source,) = artifacts.sources
    assert [c.name for c in source.quality_checks] == ["source_not_null_app_customers_id"]
    assert source.quality_checks[0].attached_to == "app.customers"


@pytest.mark.parametrize("shape", ["v4", "v5", "v7", "v10", "v12", "fusion"])
def test_relationships_test_is_attached_to_the_tested_model_and_references_both(shape: str) -> None:
    check = _check(_compile(shape), "relationships_stg_orders_order_id__order_id__ref_fct_orders_")
    assert check.attached_to == "stg_orders"
    assert check.references == ("fct_orders", "stg_orders")
    assert check.severity is Severity.WARN


def test_multi_parent_test_without_hints_goes_to_the_downstream_most_parent() -> None:
    check = _check(_compile("v4"), "assert_orders_match_staging")
    assert check.kind == "singular"
    assert check.test_name == "assert_orders_match_staging"
    assert check.attached_to == "fct_orders"
    assert check.references == ("stg_orders", "fct_orders")


def test_downstream_most_tie_is_broken_by_name() -> None:
    data = _raw("v5")
    test = data["nodes"]["test.shop.assert_orders_match_staging"]
    test["depends_on"]["nodes"] = ["model.shop.stg_customers", "model.calendar_pkg.dim_dates"]
    check = _check(compile_artifacts(data), "assert_orders_match_staging")
    assert check.attached_to == "dim_dates"  # both are roots of the graph


def test_downstream_most_parent_wins_over_a_name_that_sorts_first() -> None:
    data = _raw("v5")
    test = data["nodes"]["test.shop.assert_orders_match_staging"]
    test["depends_on"]["nodes"] = ["model.shop.stg_customers", "model.shop.stg_orders"]
    check = _check(compile_artifacts(data), "assert_orders_match_staging")
    assert check.attached_to == "stg_orders"  # stg_orders reads a seed: one level deeper


def test_namespaced_generic_test_keeps_its_package() -> None:
    check = _check(_compile(), "dbt_utils_expression_is_true_stg_customers")
    assert check.test_name == "dbt_utils.expression_is_true"


def test_test_of_a_disabled_model_is_dropped() -> None:
    names = {c.name for t in _compile().transforms for c in t.quality_checks}
    assert "not_null_legacy_orders_id" not in names
    assert "unique_fct_orders_order_id" in names


def test_unknown_severity_is_refused() -> None:
    data = _raw()
    data["nodes"]["test.shop.unique_fct_orders_order_id"]["config"]["severity"] = "fatal"
    with pytest.raises(CompileError, match="severity 'fatal'; dbt accepts error or warn"):
        compile_artifacts(data)


# Defaults, hashes, metadata --------------------------------------------------------------------
def test_defaults_without_floe_yaml_come_from_the_dbt_project() -> None:
    artifacts = _compile()
    assert artifacts.metadata.product_name == "shop"
    assert artifacts.metadata.product_version == "0.0.0"
    assert [(t.name, t.type) for t in artifacts.compute_targets] == [("duckdb", "duckdb")]
    assert artifacts.default_compute == "duckdb"
    assert {t.compute for t in artifacts.transforms} == {"duckdb"}
    assert artifacts.metadata.floe_version == __version__
    assert artifacts.dbt.manifest_schema_version == "v12"
    assert artifacts.dbt.dbt_version == "1.9.1"


def test_missing_adapter_type_gives_a_default_target() -> None:
    data = _raw()
    del data["metadata"]["adapter_type"]
    artifacts = compile_artifacts(data)
    assert [(t.name, t.type) for t in artifacts.compute_targets] == [("default", "unknown")]


def test_manifest_in_target_folder_gives_the_project_folder(tmp_path: Path) -> None:
    (tmp_path / "target").mkdir()
    path = tmp_path / "target" / "manifest.json"
    shutil.copy(FIXTURES / "manifest_v12.json", path)
    artifacts = compile_artifacts(path)
    assert artifacts.dbt.project_dir == str(tmp_path)
    assert artifacts.dbt.manifest_path == str(path)


def test_manifest_elsewhere_gives_its_own_folder() -> None:
    artifacts = _compile()
    assert artifacts.dbt.project_dir == str(FIXTURES)


def test_hashes_cover_manifest_then_floe_yaml_bytes(tmp_path: Path) -> None:
    floe = tmp_path / "floe.yaml"
    floe.write_text("name: shop-product\n")
    manifest_bytes = (FIXTURES / "manifest_v12.json").read_bytes()
    artifacts = _compile(product=floe)
    assert artifacts.dbt.manifest_checksum == hashlib.sha256(manifest_bytes).hexdigest()
    expected = hashlib.sha256(manifest_bytes + floe.read_bytes()).hexdigest()
    assert artifacts.metadata.source_hash == expected


def test_mapping_inputs_are_hashed_as_canonical_json() -> None:
    data = _raw()
    reordered = dict(reversed(list(data.items())))
    first = compile_artifacts(data, product={"name": "a", "version": "1"}, compiled_at=WHEN)
    second = compile_artifacts(reordered, product={"version": "1", "name": "a"}, compiled_at=WHEN)
    assert first.metadata.source_hash == second.metadata.source_hash
    assert first.dbt.manifest_path == "manifest.json"
    assert first.dbt.project_dir == "."


def test_spec_model_is_hashed_as_its_canonical_json() -> None:
    spec = load_product_spec({"name": "a", "owners": ["x@example.com"]})
    artifacts = _compile(product=spec)
    manifest_bytes = (FIXTURES / "manifest_v12.json").read_bytes()
    expected = hashlib.sha256(manifest_bytes + spec.canonical_bytes()).hexdigest()
    assert artifacts.metadata.source_hash == expected
    assert artifacts.metadata.owners == ("x@example.com",)


def test_compilation_is_deterministic() -> None:
    assert _compile().to_json() == _compile().to_json()


def test_naive_compiled_at_is_refused() -> None:
    with pytest.raises(CompileError, match="has no timezone"):
        compile_artifacts(_raw(), compiled_at=datetime(2026, 1, 1))


def test_compiled_at_defaults_to_now_in_utc() -> None:
    before = datetime.now(UTC)
    artifacts = compile_artifacts(_raw())
    assert before <= artifacts.metadata.compiled_at <= datetime.now(UTC)


def test_garbage_collector_state_is_restored() -> None:
    assert gc.isenabled()
    _compile()
    assert gc.isenabled()
    gc.disable()
    try:
        _compile()
        assert not gc.isenabled()
    finally:
        gc.enable()


def test_unsupported_manifest_version_names_the_file(tmp_path: Path) -> None:
    data = _raw()
    data["metadata"]["dbt_schema_version"] = "https://schemas.getdbt.com/dbt/manifest/v13.json"
    path = tmp_path / "manifest.json"
    path.write_text(json.dumps(data))
    expected = f"^{path}: metadata.dbt_schema_version: manifest schema v13 is not supported"
    with pytest.raises(CompileError, match=expected):
        compile_artifacts(path)


def test_compiled_artifacts_round_trip_through_json() -> None:
    artifacts = _compile("fusion")
    assert CompiledArtifacts.model_validate_json(artifacts.to_json()) == artifacts


# floe.yaml -------------------------------------------------------------------------------------
def test_floe_yaml_settings_reach_the_artifacts(tmp_path: Path) -> None:
    floe = tmp_path / "floe.yaml"
    floe.write_text(
        "name: retail\nversion: 1.2.0\nowners: [team@example.com]\n"
        "dbt: {project_dir: dbt, profiles_dir: profiles, target: prod}\n"
        "retry: {max_retries: 3}\nlineage: {namespace: retail}\n"
    )
    artifacts = _compile(product=floe)
    assert artifacts.metadata.product_name == "retail"
    assert artifacts.metadata.product_version == "1.2.0"
    assert artifacts.metadata.owners == ("team@example.com",)
    assert artifacts.dbt.project_dir == str(tmp_path / "dbt")
    assert artifacts.dbt.profiles_dir == str(tmp_path / "profiles")
    assert artifacts.dbt.target == "prod"
    assert artifacts.retry_policy.max_retries == 3
    assert artifacts.lineage.namespace == "retail"


def test_explicit_arguments_override_the_dbt_section(tmp_path: Path) -> None:
    spec = {"dbt": {"project_dir": "x", "profiles_dir": "y", "target": "prod"}}
    artifacts = _compile(product=spec, project_dir=tmp_path, profiles_dir="p", target="dev")
    assert artifacts.dbt.project_dir == str(tmp_path)
    assert artifacts.dbt.profiles_dir == "p"
    assert artifacts.dbt.target == "dev"
    assert artifacts.compute_targets[0].dbt_target == "dev"


def test_compute_overrides_apply_in_order_and_a_later_match_wins() -> None:
    overrides = [
        {"select": "tag:staging", "compute": "heavy"},
        {"select": "stg_orders", "compute": "duckdb"},
    ]
    artifacts = _compile(product=_compute({"overrides": overrides}))
    assert artifacts.transform("stg_customers").compute == "heavy"
    assert artifacts.transform("stg_orders").compute == "duckdb"
    assert artifacts.transform("fct_orders").compute == "duckdb"


def test_override_selector_with_graph_operators_selects_descendants() -> None:
    overrides = [{"select": "fct_orders+", "compute": "heavy"}]
    artifacts = _compile(product=_compute({"overrides": overrides}))
    heavy = {t.name for t in artifacts.transforms if t.compute == "heavy"}
    assert heavy == {"fct_orders", "fct_orders_snapshot"}


def test_override_matching_nothing_is_an_error_naming_the_selector() -> None:
    overrides = [{"select": "tag:heavy tag:nonexistent", "compute": "heavy"}]
    with pytest.raises(ProductSpecError) as exc:
        _compile(product=_compute({"overrides": overrides}))
    problems = dict(exc.value.problems)
    assert "tag:nonexistent" in problems["compute.overrides[0].select"]


def test_malformed_selector_is_a_spec_error_at_its_path() -> None:
    with pytest.raises(ProductSpecError) as exc:
        _compile(product=_compute({"overrides": [{"select": "bogus:x", "compute": "heavy"}]}))
    assert "compute.overrides[0].select" in dict(exc.value.problems)


def test_partitions_are_assigned_to_the_transforms_they_select() -> None:
    partitions = [
        {"name": "daily", "granularity": "daily", "start": "2024-01-01", "select": "tag:daily"}
    ]
    artifacts = _compile(product={"partitions": partitions})
    assert artifacts.transform("fct_orders").partition == "daily"
    assert artifacts.transform("stg_orders").partition is None
    assert artifacts.partitions[0].name == "daily"


def test_transform_in_two_partitions_is_an_error_naming_both() -> None:
    partitions = [
        {"name": "daily", "granularity": "daily", "start": "2024-01-01", "select": "tag:daily"},
        {"name": "hourly", "granularity": "hourly", "start": "2024-01-01", "select": "fct_orders"},
    ]
    with pytest.raises(ProductSpecError) as exc:
        _compile(product={"partitions": partitions})
    message = dict(exc.value.problems)["partitions[1].select"]
    assert "partitions 'daily' and 'hourly' both select 'fct_orders'" in message


def test_schedules_and_sensors_keep_their_selection() -> None:
    spec = {
        "schedules": [{"name": "daily", "cron": "0 8 * * *", "select": "+fct_orders"}],
        "sensors": [
            {"type": "file_arrival", "name": "landing", "path": "data", "select": "stg_orders"},
            {"type": "run_failure", "name": "on_failure", "alert_channels": ["console"]},
        ],
    }
    artifacts = _compile(product=spec)
    assert artifacts.schedules[0].selection == "+fct_orders"
    assert [s.type for s in artifacts.sensors] == ["file_arrival", "run_failure"]
    assert artifacts.sensors[0].selection == "stg_orders"  # type: ignore[union-attr]


def test_schedule_selector_matching_nothing_is_an_error() -> None:
    spec = {"schedules": [{"name": "daily", "cron": "0 8 * * *", "select": "tag:nope"}]}
    with pytest.raises(ProductSpecError, match=r"schedules\[0\]\.select: selector 'tag:nope'"):
        _compile(product=spec)


def test_sensor_selector_matching_nothing_is_an_error() -> None:
    sensor = {"type": "asset_check_failure", "name": "checks", "select": "missing_model"}
    with pytest.raises(ProductSpecError) as exc:
        _compile(product={"sensors": [sensor]})
    assert "'missing_model'" in dict(exc.value.problems)["sensors[0].select"]


def test_invalid_cron_in_floe_yaml_is_a_spec_error_with_its_path(tmp_path: Path) -> None:
    floe = tmp_path / "floe.yaml"
    floe.write_text("schedules:\n  - {name: daily, cron: '0 25 * * *'}\n")
    with pytest.raises(ProductSpecError, match=str(floe)) as exc:
        _compile(product=floe)
    assert "schedules[0].cron" in dict(exc.value.problems)


def test_floe_yaml_that_cannot_be_read_is_a_spec_error(tmp_path: Path) -> None:
    with pytest.raises(ProductSpecError, match="no such file"):
        _compile(product=tmp_path / "floe.yaml")


def test_product_name_defaults_to_a_cleaned_dbt_project_name() -> None:
    data = _raw()
    data["metadata"]["project_name"] = "_my project"
    assert compile_artifacts(data).metadata.product_name == "my-project"


def test_selectors_in_a_project_without_transforms_are_errors() -> None:
    data = _raw()
    data["nodes"], data["exposures"] = {}, {}
    spec = _compute({"overrides": [{"select": "*", "compute": "heavy"}]})
    with pytest.raises(ProductSpecError) as exc:
        compile_artifacts(data, product=spec)
    assert (
        "no models, seeds or snapshots" in dict(exc.value.problems)["compute.overrides[0].select"]
    )
