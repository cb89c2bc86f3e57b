"""Properties of TransformGraph building and selection, on generated DAGs (hypothesis)."""

from __future__ import annotations

from dataclasses import dataclass

import networkx as nx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from floe_orchestration_core.artifacts import TransformConfig
from floe_orchestration_core.errors import CycleError
from floe_orchestration_core.graph import TransformGraph
from floe_orchestration_core.testing.factories import make_transform

PROPERTY_SETTINGS = settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow]
)
TAGS = ("daily", "finance", "pii", "staging")
COMPUTES = ("default", "spark")


@dataclass(frozen=True)
class Dag:
    """Generated transforms, each depending only on earlier ones, plus a reference graph."""

    transforms: tuple[TransformConfig, ...]

    @property
    def names(self) -> list[str]:
        return [t.name for t in self.transforms]

    def reference(self) -> nx.DiGraph:
        reference = nx.DiGraph()
        reference.add_nodes_from(self.names)
        reference.add_edges_from((d, t.name) for t in self.transforms for d in t.depends_on)
        return reference


@st.composite
def dags(draw: st.DrawFn, max_size: int = 12) -> Dag:
    names = draw(
        st.lists(
            st.from_regex(r"[a-z][a-z0-9_]{0,5}", fullmatch=True),
            min_size=1,
            max_size=max_size,
            unique=True,
        )
    )
    transforms = []
    for index, name in enumerate(names):
        depends_on = (
            draw(st.lists(st.sampled_from(names[:index]), max_size=3, unique=True)) if index else []
        )
        transforms.append(
            make_transform(
                name,
                depends_on=depends_on,
                tags=tuple(draw(st.lists(st.sampled_from(TAGS), max_size=2, unique=True))),
                compute=draw(st.sampled_from(COMPUTES)),
                path=f"models/{draw(st.sampled_from(('staging', 'marts')))}/{name}.sql",
            )
        )
    return Dag(tuple(transforms))


@st.composite
def dag_and_name(draw: st.DrawFn) -> tuple[Dag, str]:
    dag = draw(dags())
    return dag, draw(st.sampled_from(dag.names))


def atoms(dag: Dag) -> st.SearchStrategy[str]:
    """Selector atoms over a DAG's names, tags and paths, with and without graph operators."""
    base = st.one_of(
        st.sampled_from(dag.names),
        st.sampled_from([f"tag:{tag}" for tag in TAGS]),
        st.sampled_from([f"compute:{c}" for c in COMPUTES]),
        st.just("path:models/staging"),
        st.just("fct_missing"),
    )
    operators = st.sampled_from(("{}", "+{}", "{}+", "1+{}", "{}+1", "+{}+", "@{}"))
    return st.builds(lambda op, atom: op.format(atom), operators, base)


@given(dags())
@PROPERTY_SETTINGS
def test_topological_order_respects_every_edge(dag: Dag) -> None:
    graph = TransformGraph.from_transforms(dag.transforms)
    order = graph.topological_order()
    assert sorted(order) == sorted(dag.names)
    position = {name: index for index, name in enumerate(order)}
    for upstream, downstream in graph.edges:
        assert position[upstream] < position[downstream]


@given(dags())
@PROPERTY_SETTINGS
def test_json_edges_are_exactly_the_depends_on_pairs(dag: Dag) -> None:
    graph = TransformGraph.from_transforms(dag.transforms)
    expected = sorted({(d, t.name) for t in dag.transforms for d in t.depends_on})
    document = graph.to_json()
    assert [tuple(edge) for edge in document["edges"]] == expected
    assert graph.edges == expected
    assert [node["name"] for node in document["nodes"]] == dag.names


@given(dag_and_name())
@PROPERTY_SETTINGS
def test_upstream_and_downstream_match_networkx_ancestors_and_descendants(
    case: tuple[Dag, str],
) -> None:
    dag, name = case
    graph = TransformGraph.from_transforms(dag.transforms)
    reference = dag.reference()
    assert graph.upstream(name) == nx.ancestors(reference, name)
    assert graph.downstream(name) == nx.descendants(reference, name)
    assert graph.upstream(name, depth=1) == set(reference.predecessors(name))
    assert graph.downstream(name, depth=1) == set(reference.successors(name))


@given(dag_and_name())
@PROPERTY_SETTINGS
def test_graph_operators_equal_the_traversals(case: tuple[Dag, str]) -> None:
    dag, name = case
    graph = TransformGraph.from_transforms(dag.transforms)
    itself = frozenset({name})
    assert graph.select(f"+{name}") == itself | graph.upstream(name)
    assert graph.select(f"{name}+") == itself | graph.downstream(name)
    assert graph.select(f"1+{name}") == itself | set(graph.transforms[name].depends_on)
    assert graph.select(f"{name}+1") == itself | graph.downstream(name, depth=1)
    family = itself | graph.downstream(name)
    expected_at = set(family)
    for member in family:
        expected_at |= graph.upstream(member)
    assert graph.select(f"@{name}") == expected_at


@given(st.data())
@PROPERTY_SETTINGS
def test_space_is_union_and_comma_is_intersection(data: st.DataObject) -> None:
    dag = data.draw(dags())
    graph = TransformGraph.from_transforms(dag.transforms)
    first = data.draw(atoms(dag))
    second = data.draw(atoms(dag))
    assert graph.select(f"{first} {second}") == graph.select(first) | graph.select(second)
    assert graph.select(f"{first},{second}") == graph.select(first) & graph.select(second)
    assert graph.select(first, exclude=second) == graph.select(first) - graph.select(second)
    assert graph.select(f"{first},{first}") == graph.select(first)


@given(st.data())
@PROPERTY_SETTINGS
def test_unmatched_reports_exactly_the_atoms_that_select_nothing(data: st.DataObject) -> None:
    dag = data.draw(dags())
    graph = TransformGraph.from_transforms(dag.transforms)
    chosen = data.draw(st.lists(atoms(dag), min_size=1, max_size=4, unique=True))
    unmatched = graph.unmatched(" ".join(chosen))
    assert unmatched == [atom for atom in chosen if not graph.select(atom)]


@given(dags())
@PROPERTY_SETTINGS
def test_tag_selection_is_every_transform_carrying_the_tag(dag: Dag) -> None:
    graph = TransformGraph.from_transforms(dag.transforms)
    for tag in TAGS:
        assert graph.select(f"tag:{tag}") == {t.name for t in dag.transforms if tag in t.tags}
    assert graph.select("*") == set(dag.names)


@given(dag_and_name())
@PROPERTY_SETTINGS
def test_impact_is_downstream_with_shortest_path_lengths(case: tuple[Dag, str]) -> None:
    dag, name = case
    graph = TransformGraph.from_transforms(dag.transforms)
    impact = graph.impact(name)
    assert set(impact) == graph.downstream(name)
    lengths = nx.single_source_shortest_path_length(dag.reference(), name)
    assert impact == {node: lengths[node] for node in impact}
    ordered = [(distance, node) for node, distance in impact.items()]
    assert ordered == sorted(ordered)


@given(dag_and_name())
@PROPERTY_SETTINGS
def test_a_subset_records_its_dependencies_outside_as_external(case: tuple[Dag, str]) -> None:
    dag, name = case
    graph = TransformGraph.from_transforms(dag.transforms)
    members = graph.select(f"{name}+")
    subset = [t for t in dag.transforms if t.name in members]
    partial = TransformGraph.from_transforms(subset, allow_external=True)
    expected = {
        t.name: frozenset(d for d in t.depends_on if d not in members)
        for t in subset
        if any(d not in members for d in t.depends_on)
    }
    assert dict(partial.external_dependencies) == expected
    assert set(partial.edges) <= set(graph.edges)


@given(st.data())
@PROPERTY_SETTINGS
def test_a_back_edge_always_raises_a_cycle_error_of_real_cycles(data: st.DataObject) -> None:
    dag = data.draw(dags())
    graph = TransformGraph.from_transforms(dag.transforms)
    target = data.draw(st.sampled_from(dag.names))
    # `source` depends on `target` although `target` is (or is downstream of) `source`.
    source = data.draw(st.sampled_from(sorted(graph.upstream(target) | {target})))
    transforms = [
        t.model_copy(update={"depends_on": (*t.depends_on, target)}) if t.name == source else t
        for t in dag.transforms
    ]
    with pytest.raises(CycleError) as caught:
        TransformGraph.from_transforms(transforms)
    edges = {(d, t.name) for t in transforms for d in t.depends_on}
    error = caught.value
    assert error.cycles
    for cycle in error.cycles:
        assert len(set(cycle)) == len(cycle)
        for position, upstream in enumerate(cycle):
            assert (upstream, cycle[(position + 1) % len(cycle)]) in edges
    reference = nx.DiGraph(edges)
    reference.add_nodes_from(t.name for t in transforms)
    looped = {
        name
        for group in nx.strongly_connected_components(reference)
        for name in group
        if len(group) > 1 or reference.has_edge(name, name)
    }
    assert {name for cycle in error.cycles for name in cycle} == looped
    assert {source, target} <= looped
