"""Fail when modules of a package's ``src/`` import each other, directly or through others.

    python tools/import_cycles.py                # every package under packages/*/src
    python tools/import_cycles.py floe_registry  # named top-level packages only

An import cycle is a set of modules each of which reaches every other one by imports. Every
import counts: at module level, inside a function, and under ``if TYPE_CHECKING:`` — an
import deferred into a function still ties the two modules together, it only hides the
cycle from the interpreter. (Deferring an import is for keeping a heavy library off a hot
path, never for breaking a cycle.) Imports between different top-level packages are the
import-linter contracts' business; this check looks inside each one.

The import graph is grimp's (what import-linter uses). Each cycle is printed as its modules
and one shortest loop through them, every step with the line that imports; the exit code is
1 when there is a cycle, 0 otherwise.
"""

from __future__ import annotations

import argparse
import itertools
import sys
from collections import deque
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path

import grimp

ROOT = Path(__file__).resolve().parent.parent

__all__ = ["Cycle", "find_cycles", "main", "workspace_packages"]

Cycle = tuple[str, ...]


def workspace_packages(root: Path = ROOT) -> list[str]:
    """The top-level import packages of every workspace member (``packages/*/src/*``)."""
    return sorted(
        init.parent.name for init in root.glob("packages/*/src/*/__init__.py") if init.is_file()
    )


def _strongly_connected(edges: Mapping[str, Iterable[str]]) -> list[list[str]]:
    """Tarjan's strongly connected components of the graph ``edges`` (iterative)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    on_stack: set[str] = set()
    stack: list[str] = []
    components: list[list[str]] = []
    counter = 0
    for start in sorted(edges):
        if start in index:
            continue
        work: list[tuple[str, Iterable[str]]] = [(start, iter(sorted(edges[start])))]
        index[start] = low[start] = counter
        counter += 1
        stack.append(start)
        on_stack.add(start)
        while work:
            node, successors = work[-1]
            advanced = False
            for successor in successors:
                if successor not in index:
                    index[successor] = low[successor] = counter
                    counter += 1
                    stack.append(successor)
                    on_stack.add(successor)
                    work.append((successor, iter(sorted(edges.get(successor, ())))))
                    advanced = True
                    break
                if successor in on_stack:
                    low[node] = min(low[node], index[successor])
            if advanced:
                continue
            work.pop()
            if work:
                parent = work[-1][0]
                low[parent] = min(low[parent], low[node])
            if low[node] == index[node]:
                component: list[str] = []
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    component.append(member)
                    if member == node:
                        break
                components.append(sorted(component))
    return components


def _shortest_loop(edges: Mapping[str, Iterable[str]], members: Sequence[str]) -> Cycle:
    """One shortest loop through ``members`` (a strongly connected set), as a module path."""
    inside = set(members)
    best: Cycle | None = None
    for start in members:
        parents: dict[str, str] = {}
        queue = deque([start])
        found = False
        while queue and not found:
            node = queue.popleft()
            for successor in sorted(edges.get(node, ())):
                if successor not in inside:
                    continue
                if successor == start:
                    path = [node]
                    while path[-1] != start:
                        path.append(parents[path[-1]])
                    loop = (start, *reversed(path[:-1]), start)
                    if best is None or len(loop) < len(best):
                        best = loop
                    found = True
                    break
                if successor not in parents:
                    parents[successor] = node
                    queue.append(successor)
    assert best is not None, members
    return best


def find_cycles(graph: grimp.ImportGraph, packages: Iterable[str]) -> list[tuple[list[str], Cycle]]:
    """Each import cycle inside one of ``packages``: (its modules, one shortest loop)."""
    found: list[tuple[list[str], Cycle]] = []
    for package in sorted(packages):
        modules = {package, *graph.find_descendants(package)}
        edges = {
            module: {
                imported
                for imported in graph.find_modules_directly_imported_by(module)
                if imported in modules
            }
            for module in modules
        }
        for component in _strongly_connected(edges):
            if len(component) > 1 or component[0] in edges[component[0]]:
                found.append((component, _shortest_loop(edges, component)))
    return found


def _describe(graph: grimp.ImportGraph, members: list[str], loop: Cycle) -> str:
    lines = [f"import cycle between {len(members)} module(s): {', '.join(members)}"]
    for importer, imported in itertools.pairwise(loop):
        details = graph.get_import_details(importer=importer, imported=imported)
        where = (
            "; ".join(f"line {d['line_number']}: {d['line_contents'].strip()}" for d in details)
            or "(no line recorded)"
        )
        lines.append(f"  {importer} -> {imported}   [{where}]")
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("packages", nargs="*", help="top-level packages (default: all of src/)")
    args = parser.parse_args(argv)
    packages = args.packages or workspace_packages()
    graph = grimp.build_graph(*packages, cache_dir=None)
    cycles = find_cycles(graph, packages)
    for members, loop in cycles:
        print(_describe(graph, members, loop))
    checked = sum(1 + len(graph.find_descendants(p)) for p in packages)
    if cycles:
        print(f"{len(cycles)} import cycle(s) in {checked} modules of {', '.join(packages)}")
        return 1
    print(f"no import cycles in {checked} modules of {', '.join(packages)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
