"""TransformGraph: building, validation errors, traversal, topological order and impact."""

from __future__ import annotations

import pytest

from floe_orchestration_core.artifacts import TransformConfig
from floe_orchestration_core.errors import (
    CycleError,
    DuplicateTransformError,
    SelectionError,
    UnknownDependencyError,
    ValidationError,
)
from floe_orchestration_core.graph import TransformGraph, validate_artifacts
from floe_orchestration_core.testing.factories import make_artifacts, make_transform


def _shop() -> list[TransformConfig]:
    """raw_orders (seed) -> stg_orders -> orders -> revenue; stg_customers -> orders, customers."""
    return [
        make_transform("raw_orders", resource_type="seed", materialization="seed"),
        make_transform("stg_orders", depends_on=["raw_orders"]),
        make_transform("stg_customers"),
        make_transform("orders", depends_on=["stg_orders", "stg_customers"]),
        make_transform("customers", depends_on=["stg_customers"]),
        make_transform("revenue", depends_on=["orders"]),
    ]


@pytest.fixture
def shop() -> TransformGraph:
    return TransformGraph.from_transforms(_shop())


# Building -----------------------------------------------------------------------------------
def test_from_artifacts_keeps_every_transform_in_input_order() -> None:
    artifacts = make_artifacts(_shop())
    graph = TransformGraph.from_artifacts(artifacts)
    assert list(graph) == [t.name for t in artifacts.transforms]
    assert list(graph.transforms) == list(graph)
    assert graph.transforms["orders"] is artifacts.transforms[3]
    assert len(graph) == 6


def test_validate_artifacts_returns_the_same_graph_as_from_artifacts() -> None:
    artifacts = make_artifacts(_shop())
    assert validate_artifacts(artifacts).edges == TransformGraph.from_artifacts(artifacts).edges


def test_contains_answers_for_names_only(shop: TransformGraph) -> None:
    assert "orders" in shop
    assert "nope" not in shop
    assert 3 not in shop


def test_edges_point_from_dependency_to_dependent_and_are_sorted(shop: TransformGraph) -> None:
    assert shop.edges == [
        ("orders", "revenue"),
        ("raw_orders", "stg_orders"),
        ("stg_customers", "customers"),
        ("stg_customers", "orders"),
        ("stg_orders", "orders"),
    ]


def test_transforms_mapping_is_read_only(shop: TransformGraph) -> None:
    with pytest.raises(TypeError):
        shop.transforms["x"] = make_transform("x")  # type: ignore[index]


def test_source_dependencies_do_not_become_nodes() -> None:
    graph = TransformGraph.from_transforms(
        [make_transform("stg", source_dependencies=("raw.orders",))]
    )
    assert list(graph) == ["stg"]
    assert graph.edges == []


def test_repeated_dependency_gives_one_edge() -> None:
    graph = TransformGraph.from_transforms(
        [make_transform("a"), make_transform("b", depends_on=["a", "a"])]
    )
    assert graph.edges == [("a", "b")]


def test_empty_graph_is_valid() -> None:
    graph = TransformGraph.from_artifacts(make_artifacts())
    assert len(graph) == 0
    assert graph.topological_order() == []
    assert graph.select("*") == frozenset()


def test_to_networkx_is_a_copy_with_the_same_edges(shop: TransformGraph) -> None:
    copy = shop.to_networkx()
    assert sorted(copy.edges) == shop.edges
    copy.add_edge("revenue", "raw_orders")
    assert ("revenue", "raw_orders") not in shop.edges


def test_repr_counts_transforms_and_edges(shop: TransformGraph) -> None:
    assert repr(shop) == "TransformGraph(6 transforms, 5 edges)"


# External dependencies ----------------------------------------------------------------------
def test_allow_external_records_dependencies_outside_the_subset() -> None:
    graph = TransformGraph.from_transforms(
        [make_transform("orders", depends_on=["stg_orders", "stg_customers"]), make_transform("x")],
        allow_external=True,
    )
    assert dict(graph.external_dependencies) == {
        "orders": frozenset({"stg_orders", "stg_customers"})
    }
    assert "stg_orders" not in graph
    assert graph.edges == []


def test_without_allow_external_there_are_no_external_dependencies(shop: TransformGraph) -> None:
    assert dict(shop.external_dependencies) == {}


def test_allow_external_still_refuses_cycles() -> None:
    with pytest.raises(CycleError):
        TransformGraph.from_transforms(
            [
                make_transform("a", depends_on=["b", "outside"]),
                make_transform("b", depends_on=["a"]),
            ],
            allow_external=True,
        )


def test_allow_external_still_refuses_duplicates() -> None:
    with pytest.raises(DuplicateTransformError):
        TransformGraph.from_transforms(
            [make_transform("a"), make_transform("a", package_name="other")], allow_external=True
        )


# Validation errors --------------------------------------------------------------------------
def test_cycle_error_names_every_model_in_the_cycle() -> None:
    transforms = [
        make_transform("a", depends_on=["c"]),
        make_transform("b", depends_on=["a"]),
        make_transform("c", depends_on=["b"]),
        make_transform("ok"),
    ]
    with pytest.raises(CycleError) as caught:
        TransformGraph.from_transforms(transforms)
    message = str(caught.value)
    assert "a -> b -> c -> a" in message
    assert "break it by removing one of these dependencies" in message
    assert "ok" not in message
    assert caught.value.cycles == (("a", "b", "c"),)
    assert caught.value.problems == (message,)


def test_self_dependency_is_a_cycle() -> None:
    with pytest.raises(CycleError) as caught:
        TransformGraph.from_transforms([make_transform("loop", depends_on=["loop"])])
    assert caught.value.cycles == (("loop",),)
    assert "loop -> loop" in str(caught.value)
    assert "depends on itself" in str(caught.value)


def test_cycle_error_covers_every_model_of_a_tangled_loop() -> None:
    # a -> b -> c -> a and c -> d -> c share c: one strongly connected set of four models.
    transforms = [
        make_transform("a", depends_on=["c"]),
        make_transform("b", depends_on=["a"]),
        make_transform("c", depends_on=["b", "d"]),
        make_transform("d", depends_on=["c"]),
    ]
    with pytest.raises(CycleError) as caught:
        TransformGraph.from_transforms(transforms)
    named = {name for cycle in caught.value.cycles for name in cycle}
    assert named == {"a", "b", "c", "d"}
    for name in "abcd":
        assert name in str(caught.value)
    assert len(caught.value.problems) == len(caught.value.cycles)


def test_cycle_error_reports_each_separate_cycle() -> None:
    transforms = [
        make_transform("a", depends_on=["b"]),
        make_transform("b", depends_on=["a"]),
        make_transform("x", depends_on=["y"]),
        make_transform("y", depends_on=["x"]),
    ]
    with pytest.raises(CycleError) as caught:
        TransformGraph.from_transforms(transforms)
    assert caught.value.cycles == (("a", "b"), ("x", "y"))
    assert str(caught.value).startswith("2 dependency cycles:")


def test_duplicate_error_names_the_name_and_all_its_unique_ids() -> None:
    transforms = [
        make_transform("orders"),
        make_transform("orders", package_name="finance"),
        make_transform("orders", package_name="sales"),
    ]
    with pytest.raises(DuplicateTransformError) as caught:
        TransformGraph.from_transforms(transforms)
    message = str(caught.value)
    assert "'orders'" in message
    for unique_id in ("model.analytics.orders", "model.finance.orders", "model.sales.orders"):
        assert unique_id in message
    assert caught.value.duplicates == {
        "orders": ("model.analytics.orders", "model.finance.orders", "model.sales.orders")
    }


def test_unknown_dependency_error_suggests_the_close_name() -> None:
    transforms = [make_transform("stg_order"), make_transform("orders", depends_on=["stg_ordr"])]
    with pytest.raises(UnknownDependencyError) as caught:
        TransformGraph.from_transforms(transforms)
    assert str(caught.value) == (
        "model 'orders' depends on 'stg_ordr', which does not exist; did you mean 'stg_order'?"
    )


def test_unknown_dependency_without_close_name_says_how_to_fix_it() -> None:
    with pytest.raises(UnknownDependencyError) as caught:
        TransformGraph.from_transforms([make_transform("orders", depends_on=["zzz"])])
    assert "'zzz', which does not exist" in str(caught.value)
    assert "add a transform named 'zzz' or remove it from depends_on" in str(caught.value)


def test_unknown_dependency_error_lists_every_unknown_dependency() -> None:
    transforms = [
        make_transform("orders", depends_on=["missing_one"]),
        make_transform("snap", resource_type="snapshot", depends_on=["missing_two"]),
    ]
    with pytest.raises(UnknownDependencyError) as caught:
        TransformGraph.from_transforms(transforms)
    assert len(caught.value.problems) == 2
    assert "model 'orders' depends on 'missing_one'" in caught.value.problems[0]
    assert "snapshot 'snap' depends on 'missing_two'" in caught.value.problems[1]


def test_problems_of_several_kinds_raise_one_validation_error_listing_all() -> None:
    transforms = [
        make_transform("stg_order"),
        make_transform("orders", depends_on=["stg_ordr"]),
        make_transform("orders", package_name="other"),
        make_transform("loop", depends_on=["loop"]),
    ]
    with pytest.raises(ValidationError) as caught:
        TransformGraph.from_transforms(transforms)
    error = caught.value
    assert type(error) is ValidationError
    assert len(error.problems) == 3
    assert "'orders' is used by 2 transforms" in error.problems[0]
    assert "did you mean 'stg_order'?" in error.problems[1]
    assert "loop -> loop" in error.problems[2]
    assert str(error).startswith("3 problems in the transform graph:")


def test_from_artifacts_raises_for_an_invalid_graph() -> None:
    artifacts = make_artifacts([make_transform("a", depends_on=["b"]), make_transform("b")])
    assert TransformGraph.from_artifacts(artifacts).edges == [("b", "a")]
    broken = make_artifacts([make_transform("a", depends_on=["a"])])
    with pytest.raises(CycleError):
        validate_artifacts(broken)


# Traversal ----------------------------------------------------------------------------------
def test_upstream_is_every_ancestor(shop: TransformGraph) -> None:
    assert shop.upstream("revenue") == {"orders", "stg_orders", "stg_customers", "raw_orders"}
    assert shop.upstream("raw_orders") == frozenset()


def test_upstream_depth_limits_the_hops(shop: TransformGraph) -> None:
    assert shop.upstream("revenue", depth=1) == {"orders"}
    assert shop.upstream("revenue", depth=2) == {"orders", "stg_orders", "stg_customers"}
    assert shop.upstream("revenue", depth=0) == frozenset()


def test_downstream_is_every_descendant(shop: TransformGraph) -> None:
    assert shop.downstream("stg_customers") == {"orders", "customers", "revenue"}
    assert shop.downstream("stg_customers", depth=1) == {"orders", "customers"}


def test_unknown_name_in_traversal_raises_selection_error_with_suggestion(
    shop: TransformGraph,
) -> None:
    with pytest.raises(SelectionError, match=r"no transform named 'ordrs'; did you mean 'orders'"):
        shop.upstream("ordrs")
    with pytest.raises(SelectionError, match=r"no transform named 'revnue'"):
        shop.downstream("revnue")


def test_negative_depth_is_refused(shop: TransformGraph) -> None:
    with pytest.raises(SelectionError, match="at least 0, got -1"):
        shop.upstream("orders", depth=-1)


def test_ancestors_of_several_names_is_their_union(shop: TransformGraph) -> None:
    assert shop.ancestors_of(["stg_orders", "customers"]) == {"raw_orders", "stg_customers"}
    assert shop.descendants_of(["stg_orders", "orders"]) == {"orders", "revenue"}


def test_suggest_returns_close_names(shop: TransformGraph) -> None:
    assert shop.suggest("order")[0] == "orders"
    assert shop.suggest("zzzzzz") == []


# Order and impact ---------------------------------------------------------------------------
def test_topological_order_is_lexicographic_among_ready_transforms(shop: TransformGraph) -> None:
    assert shop.topological_order() == [
        "raw_orders",
        "stg_customers",
        "customers",
        "stg_orders",
        "orders",
        "revenue",
    ]


def test_topological_order_returns_a_fresh_list_each_time(shop: TransformGraph) -> None:
    first = shop.topological_order()
    first.clear()
    assert len(shop.topological_order()) == 6


def test_impact_gives_shortest_distance_ordered_by_distance_then_name(
    shop: TransformGraph,
) -> None:
    impact = shop.impact("raw_orders")
    assert impact == {"stg_orders": 1, "orders": 2, "revenue": 3}
    assert list(shop.impact("stg_customers").items()) == [
        ("customers", 1),
        ("orders", 1),
        ("revenue", 2),
    ]


def test_impact_uses_the_shortest_of_several_paths() -> None:
    graph = TransformGraph.from_transforms(
        [
            make_transform("a"),
            make_transform("b", depends_on=["a"]),
            make_transform("c", depends_on=["b", "a"]),
        ]
    )
    assert graph.impact("a") == {"b": 1, "c": 1}


def test_impact_of_a_leaf_is_empty(shop: TransformGraph) -> None:
    assert shop.impact("revenue") == {}


def test_impact_of_unknown_name_suggests_a_close_one(shop: TransformGraph) -> None:
    with pytest.raises(SelectionError) as caught:
        shop.impact("revenu")
    assert str(caught.value) == "no transform named 'revenu'; did you mean 'revenue'?"


def test_cycle_error_lists_models_beyond_the_reported_cycles_of_a_large_loop() -> None:
    spokes = [f"s{index:02d}" for index in range(30)]
    transforms = [make_transform("hub", depends_on=spokes)] + [
        make_transform(spoke, depends_on=["hub"]) for spoke in spokes
    ]
    with pytest.raises(CycleError) as caught:
        TransformGraph.from_transforms(transforms)
    message = str(caught.value)
    for name in ["hub", *spokes]:
        assert f"{name}" in message
    assert "also caught in the same dependency loop" in message
    assert len(caught.value.cycles) == 20
