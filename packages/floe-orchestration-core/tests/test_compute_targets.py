"""Compute targets from the dbt profile, floe.yaml over it, and mixes refused at compile time."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from floe_orchestration_core.artifacts import CompiledArtifacts
from floe_orchestration_core.compile import compile_artifacts
from floe_orchestration_core.errors import ProductSpecError, ProfileVariableMissingError

MANIFEST = Path(__file__).parent / "fixtures" / "manifest_v12.json"
WHEN = datetime(2026, 1, 1, tzinfo=UTC)
PROFILE = """\
shop:
  target: dev
  outputs:
    dev:
      type: postgres
      host: "{{ env_var('SHOP_PG_HOST', '127.0.0.1') }}"
      port: 5432
      user: postgres
      password: "{{ env_var('SHOP_PG_PASSWORD') }}"
      dbname: test
      schema: shop
      threads: 4
    heavy:
      type: postgres
      host: "{{ env_var('SHOP_PG_HOST', '127.0.0.1') }}"
      port: 5432
      user: postgres
      password: "{{ env_var('SHOP_PG_PASSWORD') }}"
      dbname: test
      schema: shop
      threads: 8
    local:
      type: duckdb
      path: .floe/shop.duckdb
    other_file:
      type: duckdb
      path: .floe/other.duckdb
"""


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    (tmp_path / "dbt_project.yml").write_text("name: shop\nprofile: shop\n")
    (tmp_path / "profiles.yml").write_text(PROFILE)
    monkeypatch.setenv("SHOP_PG_PASSWORD", "s3cret-pw")
    for name in ("DBT_TARGET", "DBT_PROFILE", "DBT_PROFILES_DIR", "SHOP_PG_HOST"):
        monkeypatch.delenv(name, raising=False)
    return tmp_path


def _compile(project: Path, product: dict[str, Any] | None = None, **kw: Any) -> CompiledArtifacts:
    return compile_artifacts(MANIFEST, product=product, project_dir=project, compiled_at=WHEN, **kw)


def test_without_compute_the_profile_s_default_target_is_the_compute_target(
    project: Path,
) -> None:
    artifacts = _compile(project)
    (target,) = artifacts.compute_targets
    assert artifacts.default_compute == "postgres"
    assert (target.name, target.type, target.dbt_target, target.threads) == (
        "postgres",
        "postgres",
        "dev",
        4,
    )
    details = {"host": "127.0.0.1", "port": 5432, "database": "test", "schema": "shop"}
    assert target.properties == details
    assert target.from_profile == details
    assert {t.compute for t in artifacts.transforms} == {"postgres"}
    assert "s3cret-pw" not in artifacts.to_json()


def test_the_target_asked_for_and_rendered_variables_are_used(
    project: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SHOP_PG_HOST", "db.internal")
    (target,) = _compile(project, target="heavy").compute_targets
    assert (target.dbt_target, target.threads, target.properties["host"]) == (
        "heavy",
        8,
        "db.internal",
    )
    (local,) = _compile(project, {"dbt": {"target": "local"}}).compute_targets
    assert (local.name, local.type, local.properties) == (
        "duckdb",
        "duckdb",
        {"path": ".floe/shop.duckdb"},
    )


def test_floe_yaml_targets_take_the_profile_s_details_unless_they_set_them(
    project: Path,
) -> None:
    product = {
        "compute": {
            "default": "main",
            "targets": {
                "main": {},
                "big": {"dbt_target": "heavy", "threads": 16, "properties": {"host": "pub"}},
            },
        }
    }
    artifacts = _compile(project, product)
    main, big = artifacts.compute_targets
    assert (main.type, main.dbt_target, main.threads) == ("postgres", "dev", 4)
    assert (big.type, big.dbt_target, big.threads) == ("postgres", "heavy", 16)
    assert big.properties["host"] == "pub"
    assert big.from_profile["host"] == "127.0.0.1"
    assert big.property_overrides == {"host": "pub"}
    assert main.property_overrides == {}


def test_a_type_other_than_the_profile_s_is_refused(project: Path) -> None:
    product = {"compute": {"targets": {"main": {"type": "duckdb", "dbt_target": "dev"}}}}
    with pytest.raises(ProductSpecError, match=r"compute.targets.main.type: type 'duckdb'.*'post"):
        _compile(project, product)


def test_an_unknown_dbt_target_names_the_profile_s_targets(project: Path) -> None:
    product = {"compute": {"targets": {"main": {"dbt_target": "prod"}}}}
    with pytest.raises(ValueError, match="no target 'prod'; defined: dev, heavy, local"):
        _compile(project, product)


def test_an_unset_variable_the_compiler_reads_is_a_typed_error(project: Path) -> None:
    (project / "profiles.yml").write_text(
        PROFILE.replace("env_var('SHOP_PG_HOST', '127.0.0.1')", "env_var('SHOP_PG_HOST')")
    )
    with pytest.raises(ProfileVariableMissingError) as info:
        _compile(project)
    assert info.value.variable == "SHOP_PG_HOST"
    assert info.value.profiles_file == str(project / "profiles.yml")


def test_without_a_profile_floe_yaml_and_the_manifest_say_everything(tmp_path: Path) -> None:
    (target,) = _compile(tmp_path).compute_targets
    assert (target.name, target.type, target.from_profile) == ("duckdb", "duckdb", {})
    with pytest.raises(ProductSpecError, match=r"compute.targets.main.type: no dbt profile"):
        _compile(tmp_path, {"compute": {"targets": {"main": {}}}})


_TWO_ADAPTERS = {"a": {"dbt_target": "local"}, "b": {"dbt_target": "dev"}}
#: An ingestion asset writing the source app.customers on compute target 'b'.
_INGEST_ON_B = {
    "name": "load",
    "kind": "ingestion",
    "function": "pipeline/load.py:run",
    "produces": ["app.customers"],
    "compute": "b",
}


def _mixed(project: Path, targets: dict[str, Any], select: str, **extra: Any) -> None:
    product = {
        "compute": {
            "default": "a",
            "targets": targets,
            "overrides": [{"select": select, "compute": "b"}],
        },
        **extra,
    }
    _compile(project, product)


def test_two_targets_of_one_warehouse_mix(project: Path) -> None:
    _mixed(project, {"a": {"dbt_target": "dev"}, "b": {"dbt_target": "heavy"}}, "fct_orders")


def test_a_read_across_adapters_is_refused_naming_both_ends(project: Path) -> None:
    with pytest.raises(ProductSpecError) as info:
        _mixed(project, {"a": {"dbt_target": "local"}, "b": {"dbt_target": "dev"}}, "fct_orders")
    message = str(info.value)
    assert "read(s) across warehouses that dbt cannot run" in message
    # through the ephemeral int_orders_enriched, to the staging model it reads
    assert (
        "'fct_orders' on compute target 'b' (postgres) reads 'stg_orders' on compute target "
        "'a' (duckdb)" in message
    )
    assert "test 'relationships_stg_orders_order_id__order_id__ref_fct_orders_'" in message
    assert "compute.overrides" in message


def test_two_duckdb_files_are_two_warehouses(project: Path) -> None:
    targets = {"a": {"dbt_target": "local"}, "b": {"dbt_target": "other_file"}}
    with pytest.raises(ProductSpecError, match="'dim_customers_v2' on compute target 'b'"):
        _mixed(project, targets, "dim_customers_v2")


def test_parts_that_run_on_their_own_may_use_different_adapters(project: Path) -> None:
    # The fixture's graph is one component: all of it on the postgres target, none on duckdb,
    # and the ingestion asset writing where its readers run.
    _mixed(project, _TWO_ADAPTERS, "*", python_assets=[_INGEST_ON_B])


def test_a_source_written_on_another_warehouse_is_refused(project: Path) -> None:
    with pytest.raises(ProductSpecError, match=r"reads source 'app\.customers', which python"):
        _mixed(project, _TWO_ADAPTERS, "dim_customers_v1", python_assets=[_INGEST_ON_B])


def test_the_artifacts_round_trip_with_from_profile(project: Path) -> None:
    artifacts = _compile(project)
    again = CompiledArtifacts.model_validate(json.loads(artifacts.to_json()))
    assert again.compute_targets == artifacts.compute_targets
