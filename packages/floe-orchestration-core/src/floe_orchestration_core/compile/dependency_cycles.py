"""Cycles among the transforms of a manifest, found before anything is compiled from them.

dbt refuses a project whose models depend on each other in a cycle, so a manifest holding one
was edited (or written by another tool); the compiler refuses it naming the models.
:func:`find_cycles` takes each transform's upstream transforms (by unique_id; edges to
anything else are ignored) and returns the cycles, each in dependency order and starting at
its first node in manifest order, itself the first member of the cycle in that order. A
self-dependency is a cycle of one.

Cost: Kahn's algorithm over every edge (what is left afterwards lies on a cycle or downstream
of one); only what is left goes through networkx's strongly connected components, and one
cycle is walked inside each component.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

__all__ = ["find_cycles"]


def find_cycles(upstreams: Mapping[str, Sequence[str]]) -> list[list[str]]:
    """Every cycle of the graph (node → its upstream nodes), in the order described above.

    One cycle per strongly connected component: when cycles share nodes, one of them is
    returned (walked from the component's earliest node), the others through those nodes not.
    """
    parents = {
        node: [p for p in dict.fromkeys(ups) if p in upstreams] for node, ups in upstreams.items()
    }
    waiting = {node: len(ps) for node, ps in parents.items()}
    children: dict[str, list[str]] = {node: [] for node in parents}
    for node, ps in parents.items():
        for parent in ps:
            children[parent].append(node)
    ready = [node for node, count in waiting.items() if count == 0]
    while ready:
        node = ready.pop()
        for child in children[node]:
            waiting[child] -= 1
            if waiting[child] == 0:
                ready.append(child)
    left = [node for node, count in waiting.items() if count > 0]
    if not left:
        return []
    order = {node: index for index, node in enumerate(upstreams)}
    import networkx as nx  # only when there is a cycle to name

    left_graph = nx.DiGraph()
    left_graph.add_nodes_from(left)
    left_graph.add_edges_from((p, n) for n in left for p in parents[n] if waiting[p] > 0)
    cycles: list[list[str]] = []
    for members in nx.strongly_connected_components(left_graph):
        start = min(members, key=order.__getitem__)
        if len(members) == 1 and start not in parents[start]:
            continue  # downstream of a cycle, not on one
        walked: dict[str, int] = {}
        node = start
        while node not in walked:
            walked[node] = len(walked)
            node = min((p for p in parents[node] if p in members), key=order.__getitem__)
        path = list(walked)[walked[node] :]
        path.reverse()  # walked upstream: reversed, each node is followed by its downstream
        first = min(range(len(path)), key=lambda i: order[path[i]])
        cycles.append(path[first:] + path[:first])
    cycles.sort(key=lambda cycle: order[cycle[0]])
    return cycles
