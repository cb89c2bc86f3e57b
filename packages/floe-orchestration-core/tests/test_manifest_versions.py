"""Reading dbt manifests across schema versions (v4-v12) and dbt Fusion into typed records."""

from __future__ import annotations

import copy
import hashlib
import json
import re
from pathlib import Path
from typing import Any

import pytest

from floe_orchestration_core.compile.manifest import load_manifest, parse_manifest
from floe_orchestration_core.errors import CompileError, InvalidManifestError

FIXTURES = Path(__file__).parent / "fixtures"
SHAPES = ["v4", "v5", "v7", "v10", "v12", "fusion"]
EXPECTED_VERSION = {"v4": "v4", "v5": "v5", "v7": "v7", "v10": "v10", "v12": "v12", "fusion": "v12"}


def _raw(shape: str) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((FIXTURES / f"manifest_{shape}.json").read_text())
    return data


@pytest.mark.parametrize("shape", SHAPES)
def test_every_fixture_shape_is_read_with_its_schema_version(shape: str) -> None:
    manifest = load_manifest(FIXTURES / f"manifest_{shape}.json")
    assert manifest.schema_version == EXPECTED_VERSION[shape]
    assert manifest.project_name == "shop"
    assert manifest.adapter_type == "duckdb"


@pytest.mark.parametrize("shape", SHAPES)
def test_transform_nodes_are_models_seeds_and_snapshots_in_manifest_order(shape: str) -> None:
    manifest = load_manifest(FIXTURES / f"manifest_{shape}.json")
    raw_order = [
        uid
        for uid, node in _raw(shape)["nodes"].items()
        if node["resource_type"] in ("model", "seed", "snapshot")
        and (node["config"] or {}).get("enabled", True)
    ]
    assert [n.unique_id for n in manifest.nodes] == raw_order
    assert {n.resource_type for n in manifest.nodes} == {"model", "seed", "snapshot"}


@pytest.mark.parametrize("shape", SHAPES)
def test_disabled_nodes_are_excluded_and_remembered(shape: str) -> None:
    manifest = load_manifest(FIXTURES / f"manifest_{shape}.json")
    ids = {n.unique_id for n in manifest.nodes}
    assert "model.shop.legacy_orders" not in ids
    assert "model.shop.old_customers" not in ids
    assert {"model.shop.legacy_orders", "model.shop.old_customers"} <= manifest.disabled_ids


@pytest.mark.parametrize("shape", SHAPES)
def test_analyses_and_operations_are_not_transforms_but_are_known(shape: str) -> None:
    manifest = load_manifest(FIXTURES / f"manifest_{shape}.json")
    assert "analysis.shop.orders_analysis" in manifest.other_ids
    assert all(n.resource_type != "analysis" for n in manifest.nodes)


def test_v12_semantic_layer_and_unit_tests_are_known_not_transforms() -> None:
    manifest = load_manifest(FIXTURES / "manifest_v12.json")
    assert {
        "metric.shop.order_count",
        "semantic_model.shop.orders",
        "unit_test.shop.stg_orders.test_stg_orders_casts",
        "operation.shop.shop-on-run-start-0",
    } <= manifest.other_ids


def test_v4_node_without_language_reads_as_unknown_language() -> None:
    manifest = load_manifest(FIXTURES / "manifest_v4.json")
    assert all(n.language is None for n in manifest.nodes)


def test_v7_python_model_keeps_its_language() -> None:
    manifest = load_manifest(FIXTURES / "manifest_v7.json")
    scores = next(n for n in manifest.nodes if n.name == "customer_scores")
    assert scores.language == "python"
    assert scores.path == "models/customer_scores.py"


def test_v10_versioned_models_carry_their_version_as_text() -> None:
    manifest = load_manifest(FIXTURES / "manifest_v10.json")
    versions = {n.unique_id: n.version for n in manifest.nodes if n.name == "dim_customers"}
    assert versions == {"model.shop.dim_customers.v1": "1", "model.shop.dim_customers.v2": "2"}


def test_v10_group_owner_becomes_a_node_owner() -> None:
    manifest = load_manifest(FIXTURES / "manifest_v10.json")
    dim = next(n for n in manifest.nodes if n.unique_id == "model.shop.dim_customers.v2")
    assert dim.owners == ("cs@example.com",)


def test_meta_owner_and_owners_lists_are_merged_without_duplicates() -> None:
    data = _raw("v12")
    node = data["nodes"]["model.shop.fct_orders"]
    node["meta"] = {"owner": "a@example.com", "owners": ["b@example.com", "a@example.com"]}
    node["config"]["meta"] = {"owners": "c@example.com"}
    record = next(n for n in parse_manifest(data).nodes if n.name == "fct_orders")
    assert record.owners == ("a@example.com", "b@example.com", "c@example.com")


def test_generic_test_records_macro_column_and_attachment() -> None:
    manifest = load_manifest(FIXTURES / "manifest_v12.json")
    test = next(t for t in manifest.tests if t.name == "unique_fct_orders_order_id")
    assert test.test_name == "unique"
    assert test.column_name == "order_id"
    assert test.attached_node == "model.shop.fct_orders"
    assert test.severity == "ERROR"


def test_package_generic_test_is_named_with_its_namespace() -> None:
    manifest = load_manifest(FIXTURES / "manifest_v5.json")
    test = next(t for t in manifest.tests if t.name.startswith("dbt_utils_expression"))
    assert test.test_name == "dbt_utils.expression_is_true"


def test_singular_test_has_no_macro_name() -> None:
    manifest = load_manifest(FIXTURES / "manifest_v4.json")
    test = next(t for t in manifest.tests if t.name == "assert_orders_match_staging")
    assert test.test_name is None
    assert test.attached_node is None


def test_exposure_owner_and_dependencies_are_read() -> None:
    manifest = load_manifest(FIXTURES / "manifest_v10.json")
    (exposure,) = manifest.exposures
    assert exposure.owner == "bi@example.com"
    assert exposure.url == "https://bi.example.com/orders"
    assert "metric.shop.order_count" in exposure.depends_on


# dbt Fusion ----------------------------------------------------------------------------------
def test_fusion_manifest_is_recognised() -> None:
    manifest = load_manifest(FIXTURES / "manifest_fusion.json")
    assert manifest.is_fusion
    assert manifest.dbt_version == "2.0.0-preview.94"
    assert not load_manifest(FIXTURES / "manifest_v12.json").is_fusion


def test_fusion_null_config_and_meta_read_as_empty() -> None:
    manifest = load_manifest(FIXTURES / "manifest_fusion.json")
    stg = next(n for n in manifest.nodes if n.name == "stg_customers")
    assert stg.materialized is None
    assert stg.meta == {}
    assert stg.tags == ("staging",)


def test_fusion_empty_strings_read_as_not_set() -> None:
    manifest = load_manifest(FIXTURES / "manifest_fusion.json")
    dates = next(n for n in manifest.nodes if n.name == "dim_dates")
    assert dates.database is None
    assert dates.alias is None


def test_fusion_meta_under_config_only_still_gives_owners() -> None:
    manifest = load_manifest(FIXTURES / "manifest_fusion.json")
    fct = next(n for n in manifest.nodes if n.name == "fct_orders")
    assert fct.owners == ("orders-team@example.com",)
    assert fct.meta == {"owner": "orders-team@example.com"}


def test_fusion_missing_keys_read_as_defaults() -> None:
    manifest = load_manifest(FIXTURES / "manifest_fusion.json")
    seed = next(n for n in manifest.nodes if n.name == "raw_orders")
    assert seed.depends_on == ()
    assert seed.description == ""
    source = manifest.sources[0]
    assert source.meta == {}
    assert manifest.exposures[0].owner == "BI team"


def test_fusion_v20_schema_is_read_as_v12() -> None:
    data = _raw("fusion")
    data["metadata"]["dbt_schema_version"] = "https://schemas.getdbt.com/dbt/manifest/v20.json"
    manifest = parse_manifest(data)
    assert manifest.schema_version == "v20"
    assert manifest.is_fusion
    assert len(manifest.nodes) == len(load_manifest(FIXTURES / "manifest_fusion.json").nodes)


def test_nulls_dbt_and_fusion_write_read_as_not_set() -> None:
    data = _raw("v12")
    for node in data["nodes"].values():
        for key in ("config", "meta", "columns", "tags", "test_metadata", "description"):
            node[key] = None
    for key in ("disabled", "groups", "metrics", "semantic_models", "unit_tests"):
        data[key] = None
    transform_ids = [
        uid
        for uid, node in data["nodes"].items()
        if uid.split(".")[0] in ("model", "seed", "snapshot")
    ]
    manifest = parse_manifest(data)
    # legacy_orders counts as enabled again: the config that disabled it is gone
    assert [n.unique_id for n in manifest.nodes] == transform_ids
    assert all(n.columns == () and n.tags == () and n.meta == {} for n in manifest.nodes)
    assert all(t.test_name is None for t in manifest.tests)
    # dependencies are kept: they are not null
    assert {n.name: n.depends_on for n in manifest.nodes}["stg_orders"] == ("seed.shop.raw_orders",)


@pytest.mark.parametrize(
    ("where", "path"),
    [
        (
            ("nodes", "model.shop.stg_orders", "depends_on"),
            'nodes["model.shop.stg_orders"].depends_on',
        ),
        (("sources",), "sources"),
        (("exposures",), "exposures"),
        (("nodes",), "nodes"),
    ],
)
def test_null_where_dbt_never_writes_one_is_refused_at_its_path(
    where: tuple[str, ...], path: str
) -> None:
    data = _raw("v12")
    parent = data
    for key in where[:-1]:
        parent = parent[key]
    parent[where[-1]] = None
    with pytest.raises(InvalidManifestError, match=re.escape(f"{path}: expected ")) as caught:
        parse_manifest(data)
    assert caught.value.path == path


# Versions and errors ---------------------------------------------------------------------------
@pytest.mark.parametrize("version", ["v1", "v3", "v13", "v19", "v21"])
def test_unsupported_schema_version_is_refused_naming_it_and_the_range(version: str) -> None:
    data = _raw("v12")
    data["metadata"]["dbt_schema_version"] = (
        f"https://schemas.getdbt.com/dbt/manifest/{version}.json"
    )
    with pytest.raises(CompileError, match=f"manifest schema {version} is not supported.*v4-v12"):
        parse_manifest(data, origin="target/manifest.json")


def test_missing_schema_version_is_refused() -> None:
    data = _raw("v12")
    del data["metadata"]["dbt_schema_version"]
    with pytest.raises(InvalidManifestError, match=r"metadata\.dbt_schema_version: missing"):
        parse_manifest(data)


def test_non_manifest_schema_url_is_refused() -> None:
    data = _raw("v12")
    data["metadata"]["dbt_schema_version"] = "https://schemas.getdbt.com/dbt/catalog/v1-beta"
    with pytest.raises(CompileError, match="is not a dbt manifest schema"):
        parse_manifest(data)


def test_top_level_list_is_refused() -> None:
    with pytest.raises(CompileError, match="expected a JSON object at the top level, got an array"):
        parse_manifest([])  # type: ignore[arg-type]


def test_invalid_json_file_names_the_file_and_position(tmp_path: Path) -> None:
    path = tmp_path / "manifest.json"
    path.write_text('{"metadata": ')
    with pytest.raises(CompileError, match=r"manifest\.json: not valid JSON \(line 1, column"):
        load_manifest(path)


def test_missing_file_says_how_to_create_it(tmp_path: Path) -> None:
    with pytest.raises(CompileError, match="no such file; run 'dbt parse'"):
        load_manifest(str(tmp_path / "target" / "manifest.json"))


def test_node_without_a_name_is_refused_naming_it() -> None:
    data = _raw("v12")
    del data["nodes"]["model.shop.stg_orders"]["name"]
    expected = 'nodes["model.shop.stg_orders"].name: expected a non-empty string, got missing'
    with pytest.raises(InvalidManifestError, match=re.escape(expected)) as caught:
        parse_manifest(data)
    assert caught.value.path == 'nodes["model.shop.stg_orders"].name'


# Root project -----------------------------------------------------------------------------------
def test_root_project_comes_from_project_id_md5_when_name_is_absent() -> None:
    data = _raw("v5")
    data["metadata"]["project_id"] = hashlib.md5(b"calendar_pkg").hexdigest()
    assert parse_manifest(data).project_name == "calendar_pkg"


def test_root_project_falls_back_to_the_package_owning_most_nodes() -> None:
    data = _raw("v5")
    data["metadata"]["project_id"] = None
    assert parse_manifest(data).project_name == "shop"


def test_root_project_tie_is_broken_by_name() -> None:
    data = _raw("v5")
    data["metadata"]["project_id"] = "0" * 32
    data["nodes"] = {
        uid: node
        for uid, node in data["nodes"].items()
        if uid.endswith(("stg_orders", "dim_dates"))
    }
    assert parse_manifest(data).project_name == "calendar_pkg"


def test_project_name_in_metadata_wins() -> None:
    data = copy.deepcopy(_raw("v10"))
    data["metadata"]["project_name"] = "renamed"
    assert parse_manifest(data).project_name == "renamed"


def test_empty_manifest_without_project_name_is_refused() -> None:
    data = {
        "metadata": {"dbt_schema_version": "https://schemas.getdbt.com/dbt/manifest/v5.json"},
        **{section: {} for section in ("nodes", "sources", "exposures")},
    }
    with pytest.raises(CompileError, match="cannot tell the dbt project's name"):
        parse_manifest(data)
