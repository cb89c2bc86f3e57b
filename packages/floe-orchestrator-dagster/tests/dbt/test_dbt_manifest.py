"""The manifest is found, checked against the artifacts, normalised and cut per decorator."""

from __future__ import annotations

import hashlib
import json
import shutil
from pathlib import Path

import pytest

from floe_orchestration_core.artifacts import CompiledArtifacts
from floe_orchestration_core.compile import compile_artifacts
from floe_orchestration_core.testing import make_artifacts, make_source, make_transform
from floe_orchestrator_dagster.dbt.manifest import ProjectManifest
from floe_orchestrator_dagster.dbt.manifest_files import resolve_manifest_path
from floe_orchestrator_dagster.errors import DbtManifestError


def _with_paths(
    artifacts: CompiledArtifacts, manifest_path: str, project_dir: str
) -> CompiledArtifacts:
    dbt = artifacts.dbt.model_copy(
        update={"manifest_path": manifest_path, "project_dir": project_dir}
    )
    return artifacts.model_copy(update={"dbt": dbt})


def test_a_relative_manifest_path_is_found_from_the_cwd_then_the_project_dir(
    tmp_path: Path,
) -> None:
    (tmp_path / "proj" / "target").mkdir(parents=True)
    (tmp_path / "proj" / "target" / "manifest.json").write_text("{}")
    artifacts = _with_paths(make_artifacts(), "target/manifest.json", "proj")
    assert (
        resolve_manifest_path(artifacts, tmp_path) == tmp_path / "proj" / "target" / "manifest.json"
    )
    (tmp_path / "target").mkdir()
    (tmp_path / "target" / "manifest.json").write_text("{}")
    assert resolve_manifest_path(artifacts, tmp_path) == tmp_path / "target" / "manifest.json"


def test_an_absent_manifest_resolves_to_none_and_is_rebuilt_from_the_artifacts(
    tmp_path: Path,
) -> None:
    artifacts = make_artifacts(
        [
            make_transform("stg", source_dependencies=("raw.orders",), tags=("a",)),
            make_transform("orders", depends_on=["stg"], path="models/marts/orders.sql"),
        ],
        sources=[make_source("raw.orders")],
    )
    assert resolve_manifest_path(artifacts, tmp_path) is None
    project = ProjectManifest.load(artifacts, cwd=tmp_path)
    assert project.path is None
    orders = project.nodes["model.analytics.orders"]
    assert orders["fqn"] == ["analytics", "marts", "orders"]
    assert orders["depends_on"]["nodes"] == ["model.analytics.stg"]
    assert orders["config"]["materialized"] == "table"
    assert project.nodes["model.analytics.stg"]["depends_on"]["nodes"] == [
        "source.analytics.raw.orders"
    ]
    assert project.sources["source.analytics.raw.orders"]["source_name"] == "raw"


def test_a_manifest_rewritten_with_the_same_graph_is_used(
    tmp_path: Path, core_fixtures: Path
) -> None:
    manifest = tmp_path / "manifest.json"
    shutil.copy(core_fixtures / "manifest_v12.json", manifest)
    artifacts = compile_artifacts(manifest)
    data = json.loads(manifest.read_text())
    data["metadata"]["generated_at"] = "2030-01-01T00:00:00Z"  # what any dbt command changes
    manifest.write_text(json.dumps(data))
    project = ProjectManifest.load(artifacts)
    assert set(project.nodes) >= {t.unique_id for t in artifacts.transforms}


def test_a_manifest_whose_dependencies_changed_after_compiling_is_refused(
    tmp_path: Path, core_fixtures: Path
) -> None:
    manifest = tmp_path / "manifest.json"
    shutil.copy(core_fixtures / "manifest_v12.json", manifest)
    artifacts = compile_artifacts(manifest)
    data = json.loads(manifest.read_text())
    child = next(t for t in artifacts.transforms if t.depends_on)
    data["nodes"][child.unique_id]["depends_on"]["nodes"] = []
    manifest.write_text(json.dumps(data))
    with pytest.raises(DbtManifestError, match="re-run 'floe compile'") as raised:
        ProjectManifest.load(artifacts)
    assert f"'{child.unique_id}' now depends on []" in str(raised.value)


def test_a_manifest_that_is_not_json_is_refused_naming_the_file(
    tmp_path: Path, core_fixtures: Path
) -> None:
    manifest = tmp_path / "manifest.json"
    artifacts = compile_artifacts(core_fixtures / "manifest_v12.json")
    manifest.write_bytes(b"{not json")
    dbt = artifacts.dbt.model_copy(
        update={
            "manifest_path": str(manifest),
            "manifest_checksum": hashlib.sha256(b"{not json").hexdigest(),
        }
    )
    with pytest.raises(DbtManifestError, match="not valid JSON") as raised:
        ProjectManifest.load(artifacts.model_copy(update={"dbt": dbt}))
    assert str(manifest) in str(raised.value)


@pytest.fixture(scope="module")
def fusion(core_fixtures_module: Path) -> tuple[CompiledArtifacts, ProjectManifest]:
    artifacts = compile_artifacts(core_fixtures_module / "manifest_fusion.json")
    return artifacts, ProjectManifest.load(artifacts)


@pytest.fixture(scope="module")
def core_fixtures_module() -> Path:
    return Path(__file__).resolve().parents[3] / "floe-orchestration-core" / "tests" / "fixtures"


def test_fusion_null_configs_become_dicts_with_the_fields_dbt_reads(
    fusion: tuple[CompiledArtifacts, ProjectManifest], core_fixtures_module: Path
) -> None:
    raw = json.loads((core_fixtures_module / "manifest_fusion.json").read_text())
    assert raw["nodes"]["model.shop.stg_customers"]["config"] is None
    _, project = fusion
    assert project.path is not None
    for node in (*project.nodes.values(), *project.sources.values()):
        assert isinstance(node["config"], dict)
        assert node["config"]["enabled"] is True
        assert isinstance(node["fqn"], list)
        assert node["fqn"]
        assert isinstance(node["meta"], dict)
        assert isinstance(node["tags"], list)
    assert project.nodes["model.shop.stg_customers"]["config"]["materialized"] == "view"
    # The manifest's own content is kept: the SQL feeds descriptions and code versions.
    assert project.nodes["model.shop.stg_customers"]["raw_code"]


def test_versions_sharing_an_alias_get_dbts_default_alias(
    fusion: tuple[CompiledArtifacts, ProjectManifest],
) -> None:
    _, project = fusion
    assert project.nodes["model.shop.dim_customers.v1"]["alias"] == "dim_customers_v1"
    assert project.nodes["model.shop.dim_customers.v2"]["alias"] == "dim_customers_v2"


def test_test_names_become_valid_check_names() -> None:
    check = {
        "name": "block_id-assert no gaps",
        "unique_id": "test.analytics.gaps",
        "kind": "singular",
        "test_name": "gaps",
        "attached_to": "orders",
        "references": ("orders",),
    }
    artifacts = make_artifacts([make_transform("orders", quality_checks=(check,))])
    project = ProjectManifest.from_artifacts(artifacts)
    test = project.nodes["test.analytics.gaps"]
    assert test["name"] == "block_id_assert_no_gaps"
    assert test["attached_node"] == "model.analytics.orders"
    assert test["config"]["severity"] == "ERROR"


def test_a_subset_holds_its_transforms_ephemeral_upstreams_stubs_and_tests(
    fusion: tuple[CompiledArtifacts, ProjectManifest],
) -> None:
    _, project = fusion
    subset = project.subset(["model.shop.fct_orders"], adapter_type="snowflake")
    nodes = subset["nodes"]
    # the ephemeral upstream in full, with its own dependencies
    assert nodes["model.shop.int_orders_enriched"]["depends_on"]["nodes"]
    # the transforms read through it (and by the tests) are stubs: keys only
    for stub in (
        "model.shop.stg_orders",
        "model.shop.stg_customers",
        "model.calendar_pkg.dim_dates",
    ):
        assert nodes[stub]["depends_on"]["nodes"] == []
    # tests reading fct_orders, including the multi-parent ones attached elsewhere
    assert {
        "test.shop.unique_fct_orders_order_id",
        "test.shop.assert_orders_match_staging",
        "test.shop.relationships_stg_orders_order_id__order_id__ref_fct_orders_",
    } <= set(nodes)
    # nothing unrelated
    assert "model.shop.dim_customers.v1" not in nodes
    assert "seed.shop.raw_orders" not in nodes
    assert subset["metadata"]["adapter_type"] == "snowflake"
    every = {*nodes, *subset["sources"]}
    assert set(subset["child_map"]) == every
    assert set(subset["parent_map"]) == every
    assert "model.shop.fct_orders" in subset["child_map"]["model.shop.int_orders_enriched"]


def test_tests_under_prefixes_are_found_by_their_flattened_fqn(
    fusion: tuple[CompiledArtifacts, ProjectManifest],
) -> None:
    _, project = fusion
    found = project.tests_under([("shop", "unique_fct_orders_order_id")])
    assert found == ["test.shop.unique_fct_orders_order_id"]
    assert project.tests_under([]) == []
