"""AssetGraph: the product's transforms with its dbt sources and Python assets, by kind."""

from __future__ import annotations

import json

import pytest

from floe_orchestration_core.artifacts import CompiledArtifacts, PythonAssetConfig
from floe_orchestration_core.errors import CycleError, SelectionError, ValidationError
from floe_orchestration_core.graph import AssetGraph
from floe_orchestration_core.graph.export import NodeKind
from floe_orchestration_core.testing.factories import make_artifacts, make_source, make_transform


def _asset(name: str, kind: str, **fields: object) -> PythonAssetConfig:
    return PythonAssetConfig.model_validate(
        {"name": name, "kind": kind, "function": f"pipeline/{name}.py:run", **fields}
    )


@pytest.fixture
def shop() -> CompiledArtifacts:
    """ingest -> raw.orders -> stg_orders -> orders -> publish; raw.unused read by no one."""
    return make_artifacts(
        [
            make_transform("stg_orders", source_dependencies=("raw.orders",), tags=("staging",)),
            make_transform("orders", depends_on=["stg_orders"]),
        ],
        sources=(make_source("raw.orders", tags=("landing",)), make_source("raw.unused")),
        python_assets=(
            _asset("ingest", "ingestion", produces=["raw.orders"]),
            _asset("publish", "publication", depends_on=["orders"], compute="default"),
        ),
    )


def test_nodes_are_sources_then_python_assets_then_transforms_each_with_its_kind(
    shop: CompiledArtifacts,
) -> None:
    graph = AssetGraph.from_artifacts(shop)

    assert dict(graph.kinds) == {
        "raw.orders": NodeKind("source", "source"),
        "raw.unused": NodeKind("source", "source"),
        "ingest": NodeKind("python_asset", "ingestion"),
        "publish": NodeKind("python_asset", "publication"),
        "stg_orders": NodeKind("transform", "model"),
        "orders": NodeKind("transform", "model"),
    }
    assert len(graph) == 6
    assert "raw.unused" in graph
    assert list(graph) == list(graph.kinds)


def test_edges_join_producers_sources_transforms_and_readers(shop: CompiledArtifacts) -> None:
    assert AssetGraph.from_artifacts(shop).edges == [
        ("ingest", "raw.orders"),
        ("orders", "publish"),
        ("raw.orders", "stg_orders"),
        ("stg_orders", "orders"),
    ]


def test_to_json_gives_every_node_the_same_keys(shop: CompiledArtifacts) -> None:
    document = AssetGraph.from_artifacts(shop).to_json()

    assert json.loads(json.dumps(document)) == document
    by_name = {node["name"]: node for node in document["nodes"]}
    assert by_name["raw.orders"] == {
        "name": "raw.orders",
        "type": "source",
        "kind": "source",
        "unique_id": "source.analytics.raw.orders",
        "resource_type": "source",
        "compute": None,
        "tags": ["landing"],
    }
    assert by_name["publish"] == {
        "name": "publish",
        "type": "python_asset",
        "kind": "publication",
        "unique_id": None,
        "resource_type": None,
        "compute": "default",
        "tags": [],
    }
    assert by_name["stg_orders"]["type"] == "transform"
    assert by_name["stg_orders"]["kind"] == by_name["stg_orders"]["resource_type"] == "model"
    assert ["ingest", "raw.orders"] in document["edges"]


def test_to_mermaid_draws_sources_and_python_assets_by_kind(shop: CompiledArtifacts) -> None:
    assert AssetGraph.from_artifacts(shop).to_mermaid() == (
        "flowchart LR\n"
        '    t_raw_orders[("raw.orders")]:::source\n'
        '    t_raw_unused[("raw.unused")]:::source\n'
        '    t_ingest[["ingest"]]:::ingestion\n'
        '    t_publish[["publish"]]:::publication\n'
        '    t_stg_orders["stg_orders"]\n'
        '    t_orders["orders"]\n'
        "    t_ingest --> t_raw_orders\n"
        "    t_orders --> t_publish\n"
        "    t_raw_orders --> t_stg_orders\n"
        "    t_stg_orders --> t_orders\n"
        "    classDef source fill:#eef6ee,stroke:#5a8f5a\n"
        "    classDef ingestion fill:#e8f0fb,stroke:#4a74b0\n"
        "    classDef publication fill:#fbf0e4,stroke:#b07a3a\n"
    )


def test_to_dot_draws_sources_as_cylinders_and_python_assets_as_components(
    shop: CompiledArtifacts,
) -> None:
    dot = AssetGraph.from_artifacts(shop).to_dot()

    assert '    "raw.orders" [shape=cylinder, tooltip="source"];\n' in dot
    assert '    "ingest" [shape=component, tooltip="python asset (ingestion)"];\n' in dot
    assert '    "stg_orders";\n' in dot
    assert '    "ingest" -> "raw.orders";\n' in dot


def test_impact_of_a_source_reaches_the_python_assets_reading_its_marts(
    shop: CompiledArtifacts,
) -> None:
    assert AssetGraph.from_artifacts(shop).impact("raw.orders") == {
        "stg_orders": 1,
        "orders": 2,
        "publish": 3,
    }
    assert AssetGraph.from_artifacts(shop).impact("raw.unused") == {}


def test_impact_of_an_unknown_name_suggests_any_kind_of_node(shop: CompiledArtifacts) -> None:
    with pytest.raises(SelectionError, match=r"did you mean 'ingest'\?"):
        AssetGraph.from_artifacts(shop).impact("ingst")
    with pytest.raises(SelectionError, match="has 6 transforms, sources and Python assets"):
        AssetGraph.from_artifacts(shop).impact("zzzzzzzz")


def test_a_cycle_of_transforms_raises_as_the_transform_graph_does() -> None:
    artifacts = make_artifacts(
        [make_transform("a", depends_on=["b"]), make_transform("b", depends_on=["a"])]
    )
    with pytest.raises(CycleError):
        AssetGraph.from_artifacts(artifacts)


def test_a_name_used_by_a_source_and_a_transform_is_refused() -> None:
    artifacts = make_artifacts([make_transform("raw.orders")], sources=(make_source("raw.orders"),))
    with pytest.raises(ValidationError, match=r"'raw\.orders' names a source and a transform"):
        AssetGraph.from_artifacts(artifacts)
