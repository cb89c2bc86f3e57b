"""dbt-style selection on TransformGraph: every selector form, malformed selectors, unmatched."""

from __future__ import annotations

import pytest

from floe_orchestration_core.errors import SelectionError
from floe_orchestration_core.graph import TransformGraph
from floe_orchestration_core.graph.selection import SUPPORTED_METHODS, parse_selector
from floe_orchestration_core.testing.factories import make_transform


@pytest.fixture(scope="module")
def graph() -> TransformGraph:
    """raw_orders -> stg_orders -> orders -> revenue, orders -> snap; stg_customers -> orders,
    customers."""
    return TransformGraph.from_transforms(
        [
            make_transform(
                "raw_orders",
                resource_type="seed",
                materialization="seed",
                path="seeds/raw_orders.csv",
            ),
            make_transform(
                "stg_orders",
                depends_on=["raw_orders"],
                path="models/staging/stg_orders.sql",
                tags=("staging", "daily"),
            ),
            make_transform(
                "stg_customers", path="models/staging/stg_customers.sql", tags=("staging",)
            ),
            make_transform(
                "orders",
                depends_on=["stg_orders", "stg_customers"],
                path="models/marts/finance/orders.sql",
                tags=("finance", "daily"),
                compute="spark",
            ),
            make_transform(
                "customers",
                depends_on=["stg_customers"],
                path="models/marts/customers.sql",
                materialization="view",
            ),
            make_transform(
                "revenue",
                depends_on=["orders"],
                path="models/marts/finance/revenue.sql",
                tags=("finance",),
                package_name="finance_pkg",
            ),
            make_transform(
                "snap",
                depends_on=["orders"],
                resource_type="snapshot",
                materialization="snapshot",
                path="snapshots/snap.sql",
            ),
        ]
    )


ALL = frozenset(
    {"raw_orders", "stg_orders", "stg_customers", "orders", "customers", "revenue", "snap"}
)


# Atoms and methods --------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("selector", "expected"),
    [
        ("orders", {"orders"}),
        ("name:orders", {"orders"}),
        ("stg_*", {"stg_orders", "stg_customers"}),
        ("name:*orders", {"raw_orders", "stg_orders", "orders"}),
        ("*", ALL),
        ("tag:finance", {"orders", "revenue"}),
        ("tag:fin*", {"orders", "revenue"}),
        ("tag:daily", {"stg_orders", "orders"}),
        ("path:models/staging", {"stg_orders", "stg_customers"}),
        ("path:models/staging/", {"stg_orders", "stg_customers"}),
        ("path:./models/marts", {"orders", "customers", "revenue"}),
        ("path:models/marts/customers.sql", {"customers"}),
        ("path:models/*/finance", {"orders", "revenue"}),
        ("path:*.csv", {"raw_orders"}),
        ("path:models", {"stg_orders", "stg_customers", "orders", "customers", "revenue"}),
        ("path:.", ALL),
        ("models/staging", {"stg_orders", "stg_customers"}),
        ("package:finance_pkg", {"revenue"}),
        ("package:analytics", ALL - {"revenue"}),
        ("resource_type:seed", {"raw_orders"}),
        ("resource_type:snapshot", {"snap"}),
        ("config.materialized:view", {"customers"}),
        ("compute:spark", {"orders"}),
        ("compute:default", ALL - {"orders"}),
    ],
)
def test_each_method_selects_its_transforms(
    graph: TransformGraph, selector: str, expected: set[str]
) -> None:
    assert graph.select(selector) == expected


def test_path_method_does_not_match_a_directory_prefix_of_a_name(graph: TransformGraph) -> None:
    assert graph.select("path:models/stag") == frozenset()


# Graph operators ----------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("selector", "expected"),
    [
        ("+orders", {"orders", "stg_orders", "stg_customers", "raw_orders"}),
        ("1+orders", {"orders", "stg_orders", "stg_customers"}),
        ("0+orders", {"orders"}),
        ("orders+", {"orders", "revenue", "snap"}),
        ("stg_customers+1", {"stg_customers", "orders", "customers"}),
        ("raw_orders+2", {"raw_orders", "stg_orders", "orders"}),
        ("+orders+", {"raw_orders", "stg_orders", "stg_customers", "orders", "revenue", "snap"}),
        ("@stg_orders", {"raw_orders", "stg_orders", "stg_customers", "orders", "revenue", "snap"}),
        ("@customers", {"customers", "stg_customers"}),
        ("+tag:finance", {"orders", "revenue", "stg_orders", "stg_customers", "raw_orders"}),
        ("tag:staging+", {"stg_orders", "stg_customers", "orders", "customers", "revenue", "snap"}),
        ("path:seeds+1", {"raw_orders", "stg_orders"}),
    ],
)
def test_graph_operators_add_ancestors_and_descendants(
    graph: TransformGraph, selector: str, expected: set[str]
) -> None:
    assert graph.select(selector) == expected


# Set operations -----------------------------------------------------------------------------
def test_space_is_union(graph: TransformGraph) -> None:
    assert graph.select("customers tag:finance") == {"customers", "orders", "revenue"}


def test_comma_is_intersection(graph: TransformGraph) -> None:
    assert graph.select("tag:daily,tag:finance") == {"orders"}
    assert graph.select("+revenue,tag:staging") == {"stg_orders", "stg_customers"}


def test_union_of_intersections(graph: TransformGraph) -> None:
    assert graph.select("tag:daily,compute:spark resource_type:seed") == {"orders", "raw_orders"}


def test_extra_whitespace_between_atoms_is_ignored(graph: TransformGraph) -> None:
    assert graph.select("  orders \n\t revenue ") == {"orders", "revenue"}


def test_exclude_removes_its_selection(graph: TransformGraph) -> None:
    assert graph.select("+revenue", exclude="tag:staging") == {"raw_orders", "orders", "revenue"}
    assert graph.select("*", exclude="*") == frozenset()


def test_selector_matching_nothing_selects_nothing(graph: TransformGraph) -> None:
    assert graph.select("tag:nope") == frozenset()
    assert graph.select("+fct_ordr+") == frozenset()
    assert graph.select("tag:finance,tag:staging") == frozenset()


def test_selection_is_case_sensitive(graph: TransformGraph) -> None:
    assert graph.select("Orders") == frozenset()


# Malformed selectors ------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("selector", "fragment"),
    [
        ("", "it is empty"),
        ("   ", "it is empty"),
        ("tag:", "has no value"),
        ("+", "has no value"),
        ("@", "has no value"),
        ("a,,b", "empty atom"),
        ("orders,", "empty atom"),
        ("tags:finance", "unknown selector method 'tags'"),
        ("materialized:view", "unknown selector method 'materialized'"),
        ("orders++", "'+' may only prefix"),
        ("a+b", "'+' may only prefix"),
        ("+@orders", "'@' may only prefix"),
        ("@orders+", "'@' prefix and a '+' suffix are incompatible"),
    ],
)
def test_malformed_selector_raises_naming_the_problem_and_the_syntax(
    graph: TransformGraph, selector: str, fragment: str
) -> None:
    with pytest.raises(SelectionError) as caught:
        graph.select(selector)
    message = str(caught.value)
    assert fragment in message
    assert "selector syntax:" in message
    for method in SUPPORTED_METHODS:
        assert method in message


def test_unknown_method_suggests_the_close_one(graph: TransformGraph) -> None:
    with pytest.raises(SelectionError, match=r"did you mean 'tag'\?"):
        graph.select("tags:finance")


def test_malformed_exclude_raises_even_when_nothing_is_selected(graph: TransformGraph) -> None:
    with pytest.raises(SelectionError, match="unknown selector method 'bogus'"):
        graph.select("tag:nope", exclude="bogus:x")


def test_non_string_selector_is_refused(graph: TransformGraph) -> None:
    with pytest.raises(SelectionError, match="must be a string, got int"):
        graph.select(3)  # type: ignore[arg-type]


# Parsing ------------------------------------------------------------------------------------
def test_parse_keeps_union_of_intersections_and_operators() -> None:
    parsed = parse_selector("2+tag:a,b+1 @c")
    assert [[atom.raw for atom in term] for term in parsed.terms] == [["2+tag:a", "b+1"], ["@c"]]
    first, second, third = parsed.atoms
    assert (first.method, first.value, first.parents, first.parents_depth) == ("tag", "a", True, 2)
    assert (second.method, second.children, second.children_depth) == ("name", True, 1)
    assert third.childrens_parents
    assert not third.parents


def test_bare_value_with_a_slash_is_a_path() -> None:
    assert parse_selector("models/staging").atoms[0].method == "path"
    assert parse_selector("stg_orders").atoms[0].method == "name"


# Unmatched and suggestions ------------------------------------------------------------------
def test_unmatched_lists_atoms_that_match_nothing_in_order(graph: TransformGraph) -> None:
    assert graph.unmatched("tag:nope orders fct_ordr,tag:finance +stg_x tag:nope") == [
        "tag:nope",
        "fct_ordr",
        "+stg_x",
    ]


def test_unmatched_is_empty_when_every_atom_matches(graph: TransformGraph) -> None:
    assert graph.unmatched("orders+ tag:staging,path:models compute:spark") == []


def test_unmatched_does_not_report_an_empty_intersection_of_matching_atoms(
    graph: TransformGraph,
) -> None:
    assert graph.unmatched("tag:finance,tag:staging") == []


def test_unmatched_raises_for_a_malformed_selector(graph: TransformGraph) -> None:
    with pytest.raises(SelectionError):
        graph.unmatched("tag:")


def test_suggest_offers_the_intended_name_for_an_unmatched_atom(graph: TransformGraph) -> None:
    assert graph.suggest("ordrs")[0] == "orders"


@pytest.mark.parametrize(
    ("selector", "hint"),
    [
        ("ordrs", "'ordrs' matches no transform; did you mean 'orders'"),
        ("+stg_ordrs+1", "'+stg_ordrs+1' matches no transform; did you mean '+stg_orders+1'"),
        ("tag:finanse", "'tag:finanse' matches no transform; did you mean 'tag:finance'?"),
        ("compute:sparc", "'compute:sparc' matches no transform; did you mean 'compute:spark'?"),
        (
            "path:models/mart",
            "'path:models/mart' matches no transform; did you mean 'path:models/marts'",
        ),
    ],
)
def test_unmatched_hints_offer_close_matches_written_as_the_atom(
    graph: TransformGraph, selector: str, hint: str
) -> None:
    (sentence,) = graph.unmatched_hints(selector)
    assert sentence.startswith(hint)


def test_unmatched_hints_without_a_close_value_or_for_a_glob_only_say_so(
    graph: TransformGraph,
) -> None:
    assert graph.unmatched_hints("tag:zzzzzz fct_*x orders") == [
        "'tag:zzzzzz' matches no transform",
        "'fct_*x' matches no transform",
    ]


def test_require_match_names_who_selects_and_the_close_match(graph: TransformGraph) -> None:
    with pytest.raises(SelectionError) as raised:
        graph.require_match("orders tag:finanse", who="floe run --select")
    assert str(raised.value) == (
        "floe run --select 'orders tag:finanse': 'tag:finanse' matches no transform; did you "
        "mean 'tag:finance'?"
    )


def test_require_match_refuses_parts_that_match_but_not_together(graph: TransformGraph) -> None:
    with pytest.raises(SelectionError, match="selects no transform"):
        graph.require_match("tag:finance,tag:staging")


def test_require_match_returns_the_selection(graph: TransformGraph) -> None:
    assert graph.require_match("revenue+") == {"revenue"}
