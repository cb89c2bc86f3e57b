"""build_assets: asset specs for transforms, consistent with build_definitions."""

from __future__ import annotations

import dagster as dg
import pytest

from floe_orchestration_core.graph import TransformGraph
from floe_orchestration_core.testing import make_transform
from floe_orchestration_core.testing.contract_orchestrator import diamond_and_chain
from floe_orchestrator_dagster.config import DagsterAdapterConfig
from floe_orchestrator_dagster.definitions.asset_specs import build_assets
from floe_orchestrator_dagster.definitions.build import build_definitions
from floe_orchestrator_dagster.errors import TagCollisionError


def _specs(transforms: list[object], **config: object) -> dict[str, dg.AssetSpec]:
    graph = TransformGraph.from_transforms(transforms, allow_external=True)  # type: ignore[arg-type]
    built = build_assets(
        tuple(graph.transforms.values()), graph, DagsterAdapterConfig.model_validate(config)
    )
    return {s.key.to_user_string(): s for s in built if isinstance(s, dg.AssetSpec)}


def test_assets_have_the_same_keys_and_upstreams_as_the_definitions() -> None:
    artifacts = diamond_and_chain()
    specs = _specs(list(artifacts.transforms))
    graph = build_definitions(
        artifacts, TransformGraph.from_artifacts(artifacts), DagsterAdapterConfig()
    ).resolve_asset_graph()
    materializable = {k for k in graph.get_all_asset_keys() if graph.get(k).is_materializable}
    assert {dg.AssetKey.from_user_string(k) for k in specs} == materializable
    for key, spec in specs.items():
        parents = graph.get(dg.AssetKey.from_user_string(key)).parent_keys
        assert {d.asset_key for d in spec.deps} == set(parents), key


def test_ephemeral_transforms_are_skipped_and_their_upstreams_connect_through() -> None:
    specs = _specs(
        [
            make_transform("stg", source_dependencies=("raw.orders",)),
            make_transform("eph", depends_on=["stg"], materialization="ephemeral"),
            make_transform("orders", depends_on=["eph"]),
        ]
    )
    assert set(specs) == {"stg", "orders"}
    assert {d.asset_key for d in specs["orders"].deps} == {dg.AssetKey(["stg"])}
    assert {d.asset_key for d in specs["stg"].deps} == {dg.AssetKey(["raw", "orders"])}


def test_upstreams_outside_the_part_are_kept_by_name() -> None:
    specs = _specs([make_transform("orders", depends_on=["stg_orders"])])
    assert {d.asset_key for d in specs["orders"].deps} == {dg.AssetKey(["stg_orders"])}


def test_assets_carry_tags_metadata_owners_and_group() -> None:
    specs = _specs(
        [
            make_transform(
                "orders",
                compute="heavy",
                tags=("pii:email",),
                owners=("Data Eng",),
                description="orders",
            )
        ],
        translator={"tag_prefix": "floe", "key_prefix": ["acme"]},
    )
    spec = specs["acme/orders"]
    assert {k: v for k, v in spec.tags.items() if not k.startswith("dagster/")} == {
        "floe/pii_email": ""
    }
    assert spec.metadata["floe/compute_target"] == "heavy"
    assert spec.metadata["floe/schema"] == "main"
    assert spec.owners == ["team:Data Eng"]
    assert spec.group_name == "heavy"
    assert spec.description == "orders"


def test_colliding_tags_are_refused() -> None:
    with pytest.raises(TagCollisionError):
        _specs([make_transform("a", tags=("a b",)), make_transform("b", tags=("a_b",))])
