"""dbt-style node selection over a transform graph: parsing and evaluation.

Use it through :meth:`floe_orchestration_core.graph.TransformGraph.select`; this module holds
the grammar and the evaluation so that the graph module stays about graph shape.

Checklist of the supported syntax (dbt's, restricted to what a transform carries):

- A selector is a **union** of space-separated terms; a term is an **intersection** of
  comma-separated atoms: ``"tag:daily stg_*"`` is "tagged daily OR named stg_…",
  ``"tag:daily,compute:duckdb"`` is "tagged daily AND running on duckdb".
- An atom is ``[@][N+]method:value[+N]``:

  - ``+x`` adds every ancestor of ``x``, ``2+x`` ancestors up to two hops away;
  - ``x+`` adds every descendant, ``x+1`` only direct children;
  - ``@x`` adds every descendant of ``x`` and every ancestor of those descendants (what a
    run of ``x+`` needs to have built); ``@`` cannot be combined with a ``+`` suffix.

- Methods: ``name`` (the default when no method is written), ``tag``, ``path``,
  ``package``, ``resource_type``, ``config.materialized`` and ``compute`` (the floe compute
  target). Values may use the wildcards ``*``, ``?`` and ``[…]`` (``stg_*``, ``tag:fin*``).
  ``*`` alone selects every transform.
- ``path:models/staging`` selects everything under that directory, ``path:models/a.sql``
  one file, and globs match files or directories (``path:models/*/marts``). A bare value
  containing ``/`` (``models/staging``) is a path, as in dbt.
- A well-formed atom that matches nothing selects nothing (dbt behaviour);
  :func:`unmatched_atoms` reports such atoms so callers can refuse them, and
  :func:`unmatched_hints` says so with the close matches among the method's values
  (``'stg_ordrs' matches no transform; did you mean 'stg_orders'?``).
- A malformed selector (empty, empty atom, unknown method, ``+`` or ``@`` in the wrong
  place, ``@`` with a ``+`` suffix) raises :class:`~floe_orchestration_core.errors.SelectionError`
  whose message names the problem and the supported syntax.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from fnmatch import fnmatchcase
from typing import Protocol

from floe_orchestration_core.artifacts import TransformConfig
from floe_orchestration_core.errors import SelectionError
from floe_orchestration_core.graph.close_matches import close_matches, suggestion

__all__ = [
    "SELECTOR_SYNTAX",
    "SUPPORTED_METHODS",
    "GraphTraversal",
    "SelectionIndex",
    "Selector",
    "SelectorAtom",
    "evaluate_selector",
    "parse_selector",
    "unmatched_atoms",
    "unmatched_hints",
]

#: Selector methods, in the order error messages list them.
SUPPORTED_METHODS: tuple[str, ...] = (
    "name",
    "tag",
    "path",
    "package",
    "resource_type",
    "config.materialized",
    "compute",
)

#: One-line reminder of the syntax, appended to every SelectionError.
SELECTOR_SYNTAX = (
    "selector syntax: space-separated union of comma-separated intersections of atoms "
    "'[@][N+]method:value[+N]' (e.g. '+orders', 'stg_*+1', 'tag:daily,compute:duckdb', '*'); "
    f"methods: {', '.join(SUPPORTED_METHODS)} (name is the default)"
)

_ATOM = re.compile(
    r"\A"
    r"(?P<at>@)?"
    r"(?:(?P<parents_depth>\d*)(?P<parents>\+))?"
    r"(?:(?P<method>[A-Za-z_][\w.]*):)?"
    r"(?P<value>.*?)"
    r"(?:(?P<children>\+)(?P<children_depth>\d*))?"
    r"\Z",
    re.DOTALL,
)
_GLOB_CHARS = frozenset("*?[")


class GraphTraversal(Protocol):
    """What selection needs from a graph: multi-source ancestor and descendant sets."""

    def ancestors_of(self, names: Iterable[str], *, depth: int | None = None) -> frozenset[str]:
        """Every transform upstream of any of ``names``, at most ``depth`` hops away."""
        ...

    def descendants_of(self, names: Iterable[str], *, depth: int | None = None) -> frozenset[str]:
        """Every transform downstream of any of ``names``, at most ``depth`` hops away."""
        ...


@dataclass(frozen=True, slots=True)
class SelectorAtom:
    """One atom of a selector: a method match plus optional graph operators."""

    raw: str
    method: str
    value: str
    parents: bool = False
    parents_depth: int | None = None
    children: bool = False
    children_depth: int | None = None
    childrens_parents: bool = False


@dataclass(frozen=True, slots=True)
class Selector:
    """A parsed selector: a union (outer tuple) of intersections (inner tuples) of atoms."""

    raw: str
    terms: tuple[tuple[SelectorAtom, ...], ...]

    @property
    def atoms(self) -> tuple[SelectorAtom, ...]:
        """Every atom, in the order written."""
        return tuple(atom for term in self.terms for atom in term)


def _fail(selector: str, problem: str) -> SelectionError:
    return SelectionError(f"invalid selector {selector!r}: {problem}; {SELECTOR_SYNTAX}")


def _depth(text: str) -> int | None:
    return int(text) if text else None


def _parse_atom(selector: str, raw: str) -> SelectorAtom:
    match = _ATOM.match(raw)
    if match is None:  # the pattern accepts every string; kept for the type checker
        raise _fail(selector, f"atom {raw!r} cannot be parsed")
    method = match["method"] or ""
    value = match["value"]
    if not value:
        raise _fail(selector, f"atom {raw!r} has no value to match (write e.g. 'tag:daily')")
    if "+" in value or "@" in value:
        raise _fail(
            selector,
            f"atom {raw!r}: '+' may only prefix (ancestors) or suffix (descendants) an atom "
            "and '@' may only prefix it",
        )
    if match["at"] and match["children"]:
        raise _fail(selector, f"atom {raw!r}: the '@' prefix and a '+' suffix are incompatible")
    if not method:
        method = "path" if "/" in value or "\\" in value else "name"
    elif method not in SUPPORTED_METHODS:
        close = close_matches(method, SUPPORTED_METHODS, limit=1)
        hint = f" (did you mean '{close[0]}'?)" if close else ""
        raise _fail(selector, f"unknown selector method '{method}' in {raw!r}{hint}")
    return SelectorAtom(
        raw=raw,
        method=method,
        value=value,
        parents=bool(match["parents"]),
        parents_depth=_depth(match["parents_depth"] or ""),
        children=bool(match["children"]),
        children_depth=_depth(match["children_depth"] or ""),
        childrens_parents=bool(match["at"]),
    )


def parse_selector(selector: str) -> Selector:
    """Parse a dbt-style selector; :class:`SelectionError` if it is malformed."""
    if not isinstance(selector, str):
        raise SelectionError(
            f"a selector must be a string, got {type(selector).__name__}; {SELECTOR_SYNTAX}"
        )
    words = selector.split()
    if not words:
        raise _fail(selector, "it is empty (use '*' to select every transform)")
    terms: list[tuple[SelectorAtom, ...]] = []
    for word in words:
        parts = word.split(",")
        if any(not part for part in parts):
            raise _fail(selector, f"term {word!r} has an empty atom around a comma")
        terms.append(tuple(_parse_atom(selector, part) for part in parts))
    return Selector(raw=selector, terms=tuple(terms))


def _normalise_path(path: str) -> str:
    path = path.replace("\\", "/")
    while path.startswith("./"):
        path = path[2:]
    path = path.rstrip("/")
    return "" if path == "." else path


def _is_glob(value: str) -> bool:
    return not _GLOB_CHARS.isdisjoint(value)


class SelectionIndex:
    """Lookup tables from each method's values to transform names, built once per graph.

    Exact values are dictionary lookups; wildcard values scan the distinct values of the
    method (tags, packages, …), never every transform, except for ``name`` and ``path``.
    """

    def __init__(self, transforms: Mapping[str, TransformConfig]) -> None:
        self._names: tuple[str, ...] = tuple(transforms)
        self._name_set: frozenset[str] = frozenset(transforms)
        self._by_method: dict[str, dict[str, set[str]]] = {
            method: {} for method in SUPPORTED_METHODS if method != "name"
        }
        files = self._by_method["path"]
        directories: dict[str, set[str]] = {}
        for name, transform in transforms.items():
            keys = {
                "package": (transform.package_name,),
                "resource_type": (str(transform.resource_type.value),),
                "config.materialized": (transform.materialization,),
                "compute": (transform.compute,),
                "tag": transform.tags,
            }
            for method, values in keys.items():
                table = self._by_method[method]
                for value in values:
                    table.setdefault(value, set()).add(name)
            path = _normalise_path(transform.path)
            if path:
                files.setdefault(path, set()).add(name)
                parts = path.split("/")
                for end in range(1, len(parts)):
                    directories.setdefault("/".join(parts[:end]), set()).add(name)
        self._directories = directories

    def values(self, method: str) -> list[str]:
        """Every value ``method`` can match: transform names, file and folder paths, tags…"""
        if method == "name":
            return list(self._names)
        if method == "path":
            return [*self._by_method["path"], *self._directories]
        return list(self._by_method[method])

    def match(self, atom: SelectorAtom) -> frozenset[str]:
        """Names matched by the atom's method and value, before graph operators."""
        value = atom.value
        if atom.method == "name":
            if not _is_glob(value):
                return frozenset((value,)) if value in self._name_set else frozenset()
            return frozenset(n for n in self._names if fnmatchcase(n, value))
        if atom.method == "path":
            return self._match_path(_normalise_path(value))
        table = self._by_method[atom.method]
        if not _is_glob(value):
            return frozenset(table.get(value, ()))
        found: set[str] = set()
        for key, names in table.items():
            if fnmatchcase(key, value):
                found |= names
        return frozenset(found)

    def _match_path(self, value: str) -> frozenset[str]:
        files = self._by_method["path"]
        if not value:
            return frozenset(self._names)
        if not _is_glob(value):
            return frozenset(files.get(value, set()) | self._directories.get(value, set()))
        found: set[str] = set()
        for table in (files, self._directories):
            for key, names in table.items():
                if fnmatchcase(key, value):
                    found |= names
        return frozenset(found)


def _evaluate_atom(
    atom: SelectorAtom, index: SelectionIndex, graph: GraphTraversal
) -> frozenset[str]:
    base = index.match(atom)
    if not base:
        return base
    if atom.childrens_parents:
        family = base | graph.descendants_of(base)
        return family | graph.ancestors_of(family)
    selected = set(base)
    if atom.parents:
        selected |= graph.ancestors_of(base, depth=atom.parents_depth)
    if atom.children:
        selected |= graph.descendants_of(base, depth=atom.children_depth)
    return frozenset(selected)


def evaluate_selector(
    selector: Selector, index: SelectionIndex, graph: GraphTraversal
) -> frozenset[str]:
    """Names selected by a parsed selector (union of intersections of atoms)."""
    selected: set[str] = set()
    for term in selector.terms:
        found: frozenset[str] | None = None
        for atom in term:
            matched = _evaluate_atom(atom, index, graph)
            found = matched if found is None else found & matched
            if not found:
                break
        if found:
            selected |= found
    return frozenset(selected)


def unmatched_atoms(selector: Selector, index: SelectionIndex) -> list[str]:
    """Atoms (as written, in order, once each) whose method and value match no transform.

    Graph operators never make an atom match: ``+fct_ordr`` is unmatched when ``fct_ordr``
    is. An intersection whose atoms each match something but not in common is not reported.
    """
    seen: dict[str, None] = {}
    for atom in selector.atoms:
        if atom.raw not in seen and not index.match(atom):
            seen[atom.raw] = None
    return list(seen)


def _with_value(raw: str, value: str) -> str:
    """The atom ``raw`` with its value replaced, its method and graph operators kept."""
    match = _ATOM.match(raw)
    if match is None:  # every parsed atom matches the grammar
        return value
    start, end = match.span("value")
    return raw[:start] + value + raw[end:]


def unmatched_hints(selector: Selector, index: SelectionIndex) -> list[str]:
    """One sentence per atom of :func:`unmatched_atoms`, with the close matches among the
    values of its method, written as the atom would be (``'+tag:nightyl'`` → ``'+tag:nightly'``).
    """
    by_raw = {atom.raw: atom for atom in selector.atoms}
    hints = []
    for raw in unmatched_atoms(selector, index):
        atom = by_raw[raw]
        sentence = f"{raw!r} matches no transform"
        if atom.value and not _is_glob(atom.value):
            close = close_matches(atom.value, index.values(atom.method))
            if close:
                sentence += "; " + suggestion([_with_value(raw, value) for value in close])
        hints.append(sentence)
    return hints
