"""``TransformGraph``: the validated DAG of transforms (see the package docstring)."""

from __future__ import annotations

from collections import deque
from collections.abc import Iterable, Iterator, Mapping, Sequence
from types import MappingProxyType
from typing import Any

import networkx as nx

from floe_orchestration_core.artifacts import CompiledArtifacts, TransformConfig
from floe_orchestration_core.errors import (
    CycleError,
    DuplicateTransformError,
    SelectionError,
    UnknownDependencyError,
    ValidationError,
)
from floe_orchestration_core.graph.close_matches import close_matches, did_you_mean
from floe_orchestration_core.graph.export import dot_document, json_document, mermaid_document
from floe_orchestration_core.graph.selection import (
    SelectionIndex,
    evaluate_selector,
    parse_selector,
    unmatched_atoms,
    unmatched_hints,
)

__all__ = ["TransformGraph", "hop_distances", "validate_artifacts"]

#: Concrete cycles reported per strongly connected group before the rest are only listed.
_MAX_CYCLES_PER_GROUP = 20


def hop_distances(children: Mapping[str, Sequence[str]], start: str) -> dict[str, int]:
    """Every node downstream of ``start`` → its shortest distance in hops (1 = a direct
    child), ordered by distance, then name."""
    distances: dict[str, int] = {}
    frontier = [start]
    hops = 0
    while frontier:
        hops += 1
        following: list[str] = []
        for node in frontier:
            for child in children[node]:
                if child not in distances:
                    distances[child] = hops
                    following.append(child)
        frontier = following
    return dict(sorted(distances.items(), key=lambda item: (item[1], item[0])))


def _reach(
    adjacency: Mapping[str, Sequence[str]], sources: Iterable[str], depth: int | None
) -> set[str]:
    """Nodes reachable from ``sources`` in 1..depth hops (a source only if reached again)."""
    seen: set[str] = set()
    frontier = list(dict.fromkeys(sources))
    hops = 0
    while frontier and (depth is None or hops < depth):
        hops += 1
        following: list[str] = []
        for node in frontier:
            for other in adjacency[node]:
                if other not in seen:
                    seen.add(other)
                    following.append(other)
        frontier = following
    return seen


def _shortest_cycle_through(
    start: str, children: Mapping[str, Sequence[str]], members: frozenset[str]
) -> tuple[str, ...]:
    """A shortest cycle through ``start`` inside its strongly connected group ``members``."""
    parent = {start: start}
    queue = deque([start])
    while queue:
        node = queue.popleft()
        for child in children[node]:
            if child == start:
                path = [node]
                while path[-1] != start:
                    path.append(parent[path[-1]])
                path.reverse()
                return tuple(path)
            if child in members and child not in parent:
                parent[child] = node
                queue.append(child)
    raise RuntimeError(
        f"internal error: '{start}' lies on no cycle of its strongly connected group"
    )


def _rotate(cycle: tuple[str, ...]) -> tuple[str, ...]:
    first = cycle.index(min(cycle))
    return cycle[first:] + cycle[:first]


def _cycle_sentence(cycle: tuple[str, ...], others: Sequence[str]) -> str:
    path = " -> ".join((*cycle, cycle[0]))
    if len(cycle) == 1:
        sentence = (
            f"transforms form a cycle: {path} ('{cycle[0]}' depends on itself); "
            f"remove '{cycle[0]}' from its own depends_on"
        )
    else:
        sentence = (
            f"transforms form a cycle: {path} (each arrow points to a transform that depends "
            "on the one before it); break it by removing one of these dependencies"
        )
    if others:
        sentence += f"; also caught in the same dependency loop: {', '.join(others)}"
    return sentence


def _find_cycles(
    children: Mapping[str, Sequence[str]], digraph: Any
) -> tuple[list[tuple[str, ...]], list[str]]:
    """Concrete cycles covering every model of every loop, and one sentence per cycle."""
    cycles: list[tuple[str, ...]] = []
    sentences: list[str] = []
    groups: list[frozenset[str]] = [
        frozenset(group)
        for group in nx.strongly_connected_components(digraph)
        if len(group) > 1 or next(iter(group)) in children[next(iter(group))]
    ]
    for group in sorted(groups, key=min):
        uncovered = set(group)
        found: list[tuple[str, ...]] = []
        while uncovered and len(found) < _MAX_CYCLES_PER_GROUP:
            cycle = _rotate(_shortest_cycle_through(min(uncovered), children, group))
            found.append(cycle)
            uncovered.difference_update(cycle)
        for position, cycle in enumerate(found):
            rest = sorted(uncovered) if position == len(found) - 1 else []
            cycles.append(cycle)
            sentences.append(_cycle_sentence(cycle, rest))
    return cycles, sentences


def _summary(problems: Sequence[str], kind: str) -> str:
    if len(problems) == 1:
        return problems[0]
    return f"{len(problems)} {kind}:\n" + "\n".join(f"  - {problem}" for problem in problems)


class TransformGraph:
    """A validated, immutable DAG of transforms; edges point from upstream to downstream.

    Build it with :meth:`from_artifacts` or :meth:`from_transforms`, never directly.
    """

    __slots__ = (
        "_children",
        "_digraph",
        "_edges",
        "_external",
        "_index",
        "_parents",
        "_topological",
        "_transforms",
    )

    def __init__(
        self,
        transforms: dict[str, TransformConfig],
        parents: dict[str, tuple[str, ...]],
        children: dict[str, tuple[str, ...]],
        digraph: Any,
        external: dict[str, frozenset[str]],
    ) -> None:
        self._transforms = transforms
        self._parents = parents
        self._children = children
        self._digraph = digraph
        self._external = external
        self._edges: tuple[tuple[str, str], ...] | None = None
        self._topological: tuple[str, ...] | None = None
        self._index: SelectionIndex | None = None

    # Building ----------------------------------------------------------------------------
    @classmethod
    def from_artifacts(cls, artifacts: CompiledArtifacts) -> TransformGraph:
        """The graph of every transform in ``artifacts``; raises ValidationError if invalid."""
        return cls.from_transforms(artifacts.transforms)

    @classmethod
    def from_transforms(
        cls, transforms: Sequence[TransformConfig], *, allow_external: bool = False
    ) -> TransformGraph:
        """The graph of ``transforms``.

        With ``allow_external``, dependencies on names outside ``transforms`` are allowed and
        recorded in :attr:`external_dependencies`; cycles and duplicates still raise.
        """
        by_name: dict[str, TransformConfig] = {}
        unique_ids: dict[str, list[str]] = {}
        for transform in transforms:
            if transform.name in by_name:
                unique_ids[transform.name].append(transform.unique_id)
            else:
                by_name[transform.name] = transform
                unique_ids[transform.name] = [transform.unique_id]
        duplicates = {name: tuple(ids) for name, ids in unique_ids.items() if len(ids) > 1}

        parent_lists: dict[str, dict[str, None]] = {name: {} for name in by_name}
        child_lists: dict[str, dict[str, None]] = {name: {} for name in by_name}
        external: dict[str, dict[str, None]] = {}
        unknown: list[str] = []
        for transform in transforms:
            for dependency in transform.depends_on:
                if dependency in by_name:
                    parent_lists[transform.name][dependency] = None
                    child_lists[dependency][transform.name] = None
                elif allow_external:
                    external.setdefault(transform.name, {})[dependency] = None
                else:
                    unknown.append(cls._unknown_sentence(transform, dependency, by_name))

        parents = {name: tuple(found) for name, found in parent_lists.items()}
        children = {name: tuple(found) for name, found in child_lists.items()}
        digraph = nx.DiGraph()
        digraph.add_nodes_from(by_name)
        digraph.add_edges_from((up, down) for down, ups in parents.items() for up in ups)
        cycles: list[tuple[str, ...]] = []
        cycle_sentences: list[str] = []
        if not nx.is_directed_acyclic_graph(digraph):
            cycles, cycle_sentences = _find_cycles(children, digraph)

        cls._raise_problems(duplicates, unknown, cycles, cycle_sentences)
        return cls(
            by_name,
            parents,
            children,
            digraph,
            {name: frozenset(names) for name, names in external.items()},
        )

    @staticmethod
    def _unknown_sentence(
        transform: TransformConfig, dependency: str, known: Mapping[str, TransformConfig]
    ) -> str:
        kind = str(transform.resource_type.value)
        hint = did_you_mean(dependency, known) or (
            f"add a transform named '{dependency}' or remove it from depends_on"
        )
        return f"{kind} '{transform.name}' depends on '{dependency}', which does not exist; {hint}"

    @staticmethod
    def _raise_problems(
        duplicates: Mapping[str, tuple[str, ...]],
        unknown: Sequence[str],
        cycles: Sequence[tuple[str, ...]],
        cycle_sentences: Sequence[str],
    ) -> None:
        duplicate_sentences = [
            f"transform name '{name}' is used by {len(ids)} transforms ({', '.join(ids)}); "
            "names must be unique: rename all but one (versioned models are named name_vN)"
            for name, ids in duplicates.items()
        ]
        kinds = [bool(duplicate_sentences), bool(unknown), bool(cycle_sentences)]
        error: ValidationError
        if sum(kinds) > 1:
            problems = [*duplicate_sentences, *unknown, *cycle_sentences]
            error = ValidationError(_summary(problems, "problems in the transform graph"), problems)
        elif duplicate_sentences:
            error = DuplicateTransformError(
                _summary(duplicate_sentences, "duplicate transform names"), dict(duplicates)
            )
            error.problems = tuple(duplicate_sentences)
        elif unknown:
            error = UnknownDependencyError(_summary(unknown, "unknown dependencies"), unknown)
        elif cycle_sentences:
            error = CycleError(_summary(cycle_sentences, "dependency cycles"), cycles)
            error.problems = tuple(cycle_sentences)
        else:
            return
        raise error

    # Container protocol ------------------------------------------------------------------
    @property
    def transforms(self) -> Mapping[str, TransformConfig]:
        """Name → transform, in input order (read-only)."""
        return MappingProxyType(self._transforms)

    @property
    def external_dependencies(self) -> Mapping[str, frozenset[str]]:
        """Transform name → dependencies outside this graph (only with ``allow_external``)."""
        return MappingProxyType(self._external)

    def __len__(self) -> int:
        return len(self._transforms)

    def __contains__(self, name: object) -> bool:
        return name in self._transforms

    def __iter__(self) -> Iterator[str]:
        return iter(self._transforms)

    def __repr__(self) -> str:
        return f"TransformGraph({len(self)} transforms, {len(self.edges)} edges)"

    @property
    def edges(self) -> list[tuple[str, str]]:
        """Every ``(upstream, downstream)`` pair, sorted."""
        if self._edges is None:
            self._edges = tuple(
                sorted((up, down) for down, ups in self._parents.items() for up in ups)
            )
        return list(self._edges)

    def to_networkx(self) -> Any:
        """A copy of the underlying ``networkx.DiGraph`` (edges upstream → downstream)."""
        return self._digraph.copy()

    # Queries -----------------------------------------------------------------------------
    def suggest(self, name: str) -> list[str]:
        """Up to three transform names close to ``name`` (for did-you-mean messages)."""
        return close_matches(name, self._transforms)

    def _require(self, name: str) -> None:
        if name not in self._transforms:
            hint = did_you_mean(name, self._transforms) or f"the graph has {len(self)} transforms"
            raise SelectionError(f"no transform named '{name}'; {hint}")

    @staticmethod
    def _check_depth(depth: int | None) -> None:
        if depth is not None and depth < 0:
            raise SelectionError(f"depth must be None (unlimited) or at least 0, got {depth}")

    def ancestors_of(self, names: Iterable[str], *, depth: int | None = None) -> frozenset[str]:
        """Every transform upstream of any of ``names`` within ``depth`` hops.

        A given name is included only when it is upstream of another given name.
        """
        sources = list(names)
        for name in sources:
            self._require(name)
        self._check_depth(depth)
        return frozenset(_reach(self._parents, sources, depth))

    def descendants_of(self, names: Iterable[str], *, depth: int | None = None) -> frozenset[str]:
        """Every transform downstream of any of ``names`` within ``depth`` hops."""
        sources = list(names)
        for name in sources:
            self._require(name)
        self._check_depth(depth)
        return frozenset(_reach(self._children, sources, depth))

    def upstream(self, name: str, *, depth: int | None = None) -> frozenset[str]:
        """Ancestors of ``name`` (not ``name`` itself); ``depth=1`` gives direct parents."""
        return self.ancestors_of((name,), depth=depth)

    def downstream(self, name: str, *, depth: int | None = None) -> frozenset[str]:
        """Descendants of ``name`` (not ``name`` itself); ``depth=1`` gives direct children."""
        return self.descendants_of((name,), depth=depth)

    def topological_order(self) -> list[str]:
        """Every name, each after all its ancestors; ties broken lexicographically."""
        if self._topological is None:
            self._topological = tuple(nx.lexicographical_topological_sort(self._digraph))
        return list(self._topological)

    def impact(self, name: str) -> dict[str, int]:
        """Every downstream transform → shortest distance (1 = direct child), by distance."""
        self._require(name)
        return hop_distances(self._children, name)

    # Selection ---------------------------------------------------------------------------
    def _selection_index(self) -> SelectionIndex:
        if self._index is None:
            self._index = SelectionIndex(self._transforms)
        return self._index

    def select(self, selector: str, *, exclude: str | None = None) -> frozenset[str]:
        """Names selected by a dbt-style ``selector`` minus those selected by ``exclude``.

        A selector matching nothing gives an empty set; a malformed one raises
        :class:`~floe_orchestration_core.errors.SelectionError`.
        """
        parsed = parse_selector(selector)
        excluded = parse_selector(exclude) if exclude is not None else None
        index = self._selection_index()
        selected = evaluate_selector(parsed, index, self)
        if excluded is not None and selected:
            selected -= evaluate_selector(excluded, index, self)
        return selected

    def unmatched(self, selector: str) -> list[str]:
        """The atoms of ``selector`` (as written) that match no transform, e.g. ``tag:nope``."""
        return unmatched_atoms(parse_selector(selector), self._selection_index())

    def unmatched_hints(self, selector: str) -> list[str]:
        """For each atom of :meth:`unmatched`, a sentence with its close matches:
        ``"'stg_ordrs' matches no transform; did you mean 'stg_orders'?"``."""
        return unmatched_hints(parse_selector(selector), self._selection_index())

    def require_match(self, selector: str, *, who: str = "the selector") -> frozenset[str]:
        """The names ``selector`` selects, or :class:`SelectionError` naming ``who`` selects
        (``"floe run --select"``) when an atom matches nothing (with its close matches) or
        the whole selects nothing."""
        selected = self.select(selector)
        hints = self.unmatched_hints(selector)
        if hints:
            raise SelectionError(f"{who} {selector!r}: {'; '.join(hints)}")
        if not selected:
            raise SelectionError(
                f"{who} {selector!r} selects no transform (its parts match transforms, but "
                "none in common)"
            )
        return selected

    # Export ------------------------------------------------------------------------------
    def to_json(self) -> dict[str, Any]:
        """``{"nodes": [...], "edges": [[upstream, downstream], ...]}``; nodes in input order."""
        return json_document(self._transforms.values(), self.edges)

    def to_mermaid(self) -> str:
        """A Mermaid ``flowchart LR`` of the graph."""
        return mermaid_document(self._transforms, self.edges)

    def to_dot(self) -> str:
        """A Graphviz ``digraph floe`` of the graph."""
        return dot_document(self._transforms, self.edges)


def validate_artifacts(artifacts: CompiledArtifacts) -> TransformGraph:
    """Validate the transform graph of ``artifacts`` and return it (= ``from_artifacts``)."""
    return TransformGraph.from_artifacts(artifacts)
