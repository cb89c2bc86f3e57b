"""Dagster's naming rules, checked by the plugin before Dagster sees a name.

The property: for any name, the plugin's ``check_names`` accepts it exactly when Dagster
itself builds and loads the definitions holding it — so a name is either refused with a typed
:class:`InvalidNameError` naming the model and the rule, or it loads; never a
``DagsterInvalidDefinitionError`` at run time.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import dagster as dg
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from floe_orchestration_core.artifacts import CompiledArtifacts
from floe_orchestration_core.compile import compile_artifacts
from floe_orchestration_core.errors import InvalidNameError
from floe_orchestration_core.graph import TransformGraph
from floe_orchestration_core.testing import make_artifacts, make_transform
from floe_orchestrator_dagster.config import DagsterAdapterConfig
from floe_orchestrator_dagster.definitions.build import build_definitions
from floe_orchestrator_dagster.plugin import DagsterOrchestratorPlugin

MODEL = "model.shop.stg_orders"


def _two(name: str) -> CompiledArtifacts:
    return make_artifacts(
        [make_transform("upstream"), make_transform(name, depends_on=["upstream"])]
    )


def _dagster_loads(artifacts: CompiledArtifacts) -> bool:
    """Whether Dagster itself accepts the definitions (built without the plugin's checks)."""
    try:
        built = build_definitions(
            artifacts, TransformGraph.from_artifacts(artifacts), DagsterAdapterConfig()
        )
        dg.Definitions.validate_loadable(built)
    except dg.DagsterInvalidDefinitionError:
        return False
    return True


def _refusal(plugin: DagsterOrchestratorPlugin, artifacts: CompiledArtifacts) -> str | None:
    try:
        plugin.check_names(artifacts)
    except InvalidNameError as exc:
        return str(exc)
    return None


_NAMES = st.text(
    alphabet=st.sampled_from(
        [*"abcXYZ019_.-", " ", "'", '"', "/", "\\", "\n", "\u00e9", "\U0001f600", ":", "@"]
    ),
    min_size=1,
    max_size=8,
)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(_NAMES)
def test_the_name_check_accepts_a_name_exactly_when_dagster_loads_it(name: str) -> None:
    artifacts = _two(name)
    refusal = _refusal(DagsterOrchestratorPlugin(), artifacts)
    assert (refusal is None) == _dagster_loads(artifacts), refusal


@pytest.mark.parametrize("name", ["stg.orders", "stg-orders", "1st_orders"])
def test_a_dot_or_a_hyphen_stays_in_the_key_and_dagster_maps_op_names(name: str) -> None:
    definitions = DagsterOrchestratorPlugin().load_definitions(_two(name))
    keys = definitions.resolve_asset_graph().materializable_asset_keys
    assert dg.AssetKey([name]) in keys


@pytest.mark.parametrize(
    ("name", "rule"),
    [
        ("o'brien", "allows only letters, digits and '_' there"),
        ("\U0001f600", "allows only letters, digits and '_' there"),
        ("../etc", "allows only letters, digits and '_' there"),
        ("class", "a name Dagster reserves"),
        ("context", "translator.key_prefix: [dbt]"),
    ],
)
def test_a_name_dagster_refuses_is_a_typed_error_naming_the_model_and_the_rule(
    name: str, rule: str
) -> None:
    with pytest.raises(InvalidNameError) as raised:
        DagsterOrchestratorPlugin().create_definitions(_two(name))
    assert raised.value.names == (name,)
    assert rule in str(raised.value)
    assert f"model {name!r}" in str(raised.value)


def test_two_names_that_map_to_one_op_name_are_refused_naming_both() -> None:
    artifacts = make_artifacts([make_transform("stg.orders"), make_transform("stg_orders")])
    with pytest.raises(InvalidNameError, match="give Dagster one op name, 'stg_orders'") as raised:
        DagsterOrchestratorPlugin().create_definitions(artifacts)
    assert "'stg.orders'" in str(raised.value)


def test_two_assets_with_one_key_are_refused_naming_both() -> None:
    key = {"dagster": {"asset_key": ["shared"]}}
    artifacts = make_artifacts([make_transform("a", meta=key), make_transform("b", meta=key)])
    with pytest.raises(InvalidNameError, match="is also the key of model 'a'"):
        DagsterOrchestratorPlugin().create_definitions(artifacts)


def test_a_hostile_key_given_in_meta_is_refused_too() -> None:
    artifacts = make_artifacts([make_transform("a", meta={"dagster": {"asset_key": ["x y"]}})])
    with pytest.raises(InvalidNameError, match="asset key 'x y'"):
        DagsterOrchestratorPlugin().check_names(artifacts)


def test_a_key_prefix_makes_a_reserved_name_valid() -> None:
    plugin = DagsterOrchestratorPlugin({"translator": {"key_prefix": ["dbt"]}})
    definitions = plugin.load_definitions(_two("class"))
    assert (
        dg.AssetKey(["dbt", "class"]) in definitions.resolve_asset_graph().materializable_asset_keys
    )


def test_the_configured_schema_of_the_real_manifest_is_part_of_the_key_checked(
    tmp_path: Path, core_fixtures: Path
) -> None:
    data: dict[str, Any] = json.loads((core_fixtures / "manifest_v12.json").read_text())
    data["nodes"][MODEL]["config"]["schema"] = "my schema"
    manifest = tmp_path / "target" / "manifest.json"
    manifest.parent.mkdir()
    manifest.write_text(json.dumps(data))
    artifacts = compile_artifacts(manifest, project_dir=tmp_path)
    with pytest.raises(InvalidNameError, match=r"asset key 'my schema/stg_orders'") as raised:
        DagsterOrchestratorPlugin().load_definitions(artifacts)
    assert raised.value.unique_ids == (MODEL,)


def test_checks_of_one_asset_that_map_to_one_name_are_refused() -> None:
    checks = [
        {
            "name": name,
            "unique_id": f"test.analytics.{name}",
            "kind": "singular",
            "test_name": name,
            "attached_to": "a",
            "references": ["a"],
        }
        for name in ("assert-no-gaps", "assert_no_gaps")
    ]
    artifacts = make_artifacts([make_transform("a", quality_checks=checks)])
    with pytest.raises(InvalidNameError, match="both become the Dagster check name"):
        DagsterOrchestratorPlugin().check_names(artifacts)
