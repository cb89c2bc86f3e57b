"""Graph export: exact JSON, Mermaid and DOT for small graphs, and escaping of odd names."""

from __future__ import annotations

import json

import pytest

from floe_orchestration_core.graph import TransformGraph
from floe_orchestration_core.graph.export import mermaid_ids
from floe_orchestration_core.testing.factories import make_transform


@pytest.fixture
def small() -> TransformGraph:
    return TransformGraph.from_transforms(
        [
            make_transform("stg_orders", tags=("staging", "daily")),
            make_transform("raw", resource_type="seed", materialization="seed"),
            make_transform("orders", depends_on=["stg_orders", "raw"], compute="spark"),
        ]
    )


@pytest.fixture
def odd() -> TransformGraph:
    return TransformGraph.from_transforms(
        [
            make_transform("a-b"),
            make_transform("a_b", depends_on=["a-b"]),
            make_transform("end"),
            make_transform('x"y<z>#1\\', depends_on=["end"]),
        ]
    )


def test_to_json_golden(small: TransformGraph) -> None:
    assert small.to_json() == {
        "nodes": [
            {
                "name": "stg_orders",
                "unique_id": "model.analytics.stg_orders",
                "resource_type": "model",
                "compute": "default",
                "tags": ["staging", "daily"],
            },
            {
                "name": "raw",
                "unique_id": "seed.analytics.raw",
                "resource_type": "seed",
                "compute": "default",
                "tags": [],
            },
            {
                "name": "orders",
                "unique_id": "model.analytics.orders",
                "resource_type": "model",
                "compute": "spark",
                "tags": [],
            },
        ],
        "edges": [["raw", "orders"], ["stg_orders", "orders"]],
    }


def test_to_json_uses_plain_types_only(small: TransformGraph) -> None:
    document = small.to_json()
    assert json.loads(json.dumps(document)) == document
    assert type(document["nodes"][1]["resource_type"]) is str


def test_to_mermaid_golden(small: TransformGraph) -> None:
    assert small.to_mermaid() == (
        "flowchart LR\n"
        '    t_stg_orders["stg_orders"]\n'
        '    t_raw["raw"]\n'
        '    t_orders["orders"]\n'
        "    t_raw --> t_orders\n"
        "    t_stg_orders --> t_orders\n"
    )


def test_to_dot_golden(small: TransformGraph) -> None:
    assert small.to_dot() == (
        "digraph floe {\n"
        "    rankdir=LR;\n"
        "    node [shape=box];\n"
        '    "stg_orders";\n'
        '    "raw";\n'
        '    "orders";\n'
        '    "raw" -> "orders";\n'
        '    "stg_orders" -> "orders";\n'
        "}\n"
    )


def test_mermaid_ids_are_safe_and_unique_and_labels_escaped(odd: TransformGraph) -> None:
    assert odd.to_mermaid() == (
        "flowchart LR\n"
        '    t_a_b["a-b"]\n'
        '    t_a_b_2["a_b"]\n'
        '    t_end["end"]\n'
        '    t_x_y_z__1_["x#quot;y#lt;z#gt;#35;1#92;"]\n'
        "    t_a_b --> t_a_b_2\n"
        "    t_end --> t_x_y_z__1_\n"
    )


def test_mermaid_ids_never_collide_with_a_generated_suffix() -> None:
    ids = mermaid_ids(["a-b", "a_b", "a_b_2", "a.b"])
    assert len(set(ids.values())) == 4
    assert all(node_id.startswith("t_") for node_id in ids.values())


def test_dot_escapes_quotes_and_backslashes(odd: TransformGraph) -> None:
    assert odd.to_dot() == (
        "digraph floe {\n"
        "    rankdir=LR;\n"
        "    node [shape=box];\n"
        '    "a-b";\n'
        '    "a_b";\n'
        '    "end";\n'
        '    "x\\"y<z>#1\\\\";\n'
        '    "a-b" -> "a_b";\n'
        '    "end" -> "x\\"y<z>#1\\\\";\n'
        "}\n"
    )


def test_empty_graph_exports_are_valid_documents() -> None:
    empty = TransformGraph.from_transforms([])
    assert empty.to_json() == {"nodes": [], "edges": []}
    assert empty.to_mermaid() == "flowchart LR\n"
    assert empty.to_dot() == "digraph floe {\n    rankdir=LR;\n    node [shape=box];\n}\n"
