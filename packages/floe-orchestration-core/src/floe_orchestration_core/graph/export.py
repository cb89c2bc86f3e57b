"""Export a transform graph as JSON, Mermaid or Graphviz DOT.

Use it through :meth:`~floe_orchestration_core.graph.TransformGraph.to_json`,
``to_mermaid`` and ``to_dot``; the functions here take plain transforms and edges so they can
render any subset of a graph.

Checklist of what every format guarantees:

- Deterministic output: nodes in the order given (the artifacts' order), edges in the order
  given (``TransformGraph.edges`` is sorted), so exports diff cleanly between compiles.
- JSON: ``{"nodes": [{"name", "unique_id", "resource_type", "compute", "tags"}],
  "edges": [[upstream, downstream], ...]}`` with plain strings and lists only
  (``json.dumps`` works without a custom encoder).
- Mermaid: a ``flowchart LR`` whose node ids are safe identifiers derived from the names
  (``t_`` prefix, other characters replaced by ``_``, ``_2``… appended on collisions) and
  whose labels are quoted, with ``"``, ``<``, ``>``, ``#`` and ``\\`` written as Mermaid
  entity codes and line breaks as spaces.
- DOT: ``digraph floe { rankdir=LR; ... }`` with every id a double-quoted string in which
  ``\\``, ``"`` and line breaks are escaped, so any transform name is a valid id.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any

from floe_orchestration_core.artifacts import TransformConfig

__all__ = ["dot_document", "json_document", "mermaid_document", "mermaid_ids"]

_UNSAFE_ID_CHARS = re.compile(r"[^A-Za-z0-9_]")
_MERMAID_ENTITIES = {"#": "#35;", '"': "#quot;", "<": "#lt;", ">": "#gt;", "\\": "#92;"}


def json_document(
    transforms: Iterable[TransformConfig], edges: Iterable[tuple[str, str]]
) -> dict[str, Any]:
    """The graph as a JSON-serialisable dictionary of nodes and ``[upstream, downstream]`` edges."""
    return {
        "nodes": [
            {
                "name": transform.name,
                "unique_id": transform.unique_id,
                "resource_type": str(transform.resource_type.value),
                "compute": transform.compute,
                "tags": list(transform.tags),
            }
            for transform in transforms
        ],
        "edges": [[upstream, downstream] for upstream, downstream in edges],
    }


def mermaid_ids(names: Iterable[str]) -> dict[str, str]:
    """A safe, unique Mermaid node id for each name, stable for a given order of names."""
    ids: dict[str, str] = {}
    used: set[str] = set()
    for name in names:
        base = "t_" + _UNSAFE_ID_CHARS.sub("_", name)
        candidate, suffix = base, 1
        while candidate in used:
            suffix += 1
            candidate = f"{base}_{suffix}"
        used.add(candidate)
        ids[name] = candidate
    return ids


def _mermaid_label(name: str) -> str:
    text = "".join(_MERMAID_ENTITIES.get(char, char) for char in name)
    return text.replace("\r", " ").replace("\n", " ")


def mermaid_document(names: Iterable[str], edges: Iterable[tuple[str, str]]) -> str:
    """A Mermaid ``flowchart LR`` with one quoted node per name and one arrow per edge."""
    ids = mermaid_ids(names)
    lines = ["flowchart LR"]
    lines.extend(f'    {node_id}["{_mermaid_label(name)}"]' for name, node_id in ids.items())
    lines.extend(f"    {ids[upstream]} --> {ids[downstream]}" for upstream, downstream in edges)
    return "\n".join(lines) + "\n"


def _dot_id(name: str) -> str:
    escaped = (
        name.replace("\\", "\\\\").replace('"', '\\"').replace("\r", "\\r").replace("\n", "\\n")
    )
    return f'"{escaped}"'


def dot_document(names: Iterable[str], edges: Iterable[tuple[str, str]]) -> str:
    """A Graphviz ``digraph floe`` laid out left to right, one box per name."""
    lines = ["digraph floe {", "    rankdir=LR;", "    node [shape=box];"]
    lines.extend(f"    {_dot_id(name)};" for name in names)
    lines.extend(
        f"    {_dot_id(upstream)} -> {_dot_id(downstream)};" for upstream, downstream in edges
    )
    lines.append("}")
    return "\n".join(lines) + "\n"
