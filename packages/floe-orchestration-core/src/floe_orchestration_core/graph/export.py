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
- Kinds (the product's whole asset graph, :class:`~floe_orchestration_core.graph.AssetGraph`):
  given each node's :class:`NodeKind`, Mermaid draws a source as a cylinder and a Python asset
  as a subroutine box, each with a ``:::kind`` class (``source``, ``ingestion``,
  ``publication``, ``python``) styled by a ``classDef``; DOT draws a source as a cylinder and a
  Python asset as a component, its kind in the ``tooltip``. Transforms look as they do alone.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from typing import Any, NamedTuple

from floe_orchestration_core.artifacts import TransformConfig

__all__ = ["NodeKind", "dot_document", "json_document", "mermaid_document", "mermaid_ids"]

_UNSAFE_ID_CHARS = re.compile(r"[^A-Za-z0-9_]")
_MERMAID_ENTITIES = {"#": "#35;", '"': "#quot;", "<": "#lt;", ">": "#gt;", "\\": "#92;"}


class NodeKind(NamedTuple):
    """What a node of the asset graph is: its ``type`` (``transform``, ``source``,
    ``python_asset``) and its ``kind`` (a transform's resource type, ``source``, a Python
    asset's kind: ``ingestion``, ``publication`` or ``python``)."""

    type: str
    kind: str


#: Mermaid node shapes by node type, around the quoted label.
_MERMAID_SHAPES = {"source": ('[("', '")]'), "python_asset": ('[["', '"]]')}
#: Fill colours of the Mermaid classes of the kinds that are not transforms.
_MERMAID_CLASSES = {
    "source": "fill:#eef6ee,stroke:#5a8f5a",
    "ingestion": "fill:#e8f0fb,stroke:#4a74b0",
    "publication": "fill:#fbf0e4,stroke:#b07a3a",
    "python": "fill:#f2ecf8,stroke:#7a5aa8",
}
_DOT_SHAPES = {"source": "cylinder", "python_asset": "component"}


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


def _mermaid_node(name: str, node_id: str, kind: NodeKind | None) -> str:
    if kind is None or kind.type not in _MERMAID_SHAPES:
        return f'    {node_id}["{_mermaid_label(name)}"]'
    opening, closing = _MERMAID_SHAPES[kind.type]
    node = f"    {node_id}{opening}{_mermaid_label(name)}{closing}"
    return f"{node}:::{kind.kind}" if kind.kind in _MERMAID_CLASSES else node


def mermaid_document(
    names: Iterable[str],
    edges: Iterable[tuple[str, str]],
    *,
    kinds: Mapping[str, NodeKind] | None = None,
) -> str:
    """A Mermaid ``flowchart LR`` with one quoted node per name and one arrow per edge; with
    ``kinds``, sources and Python assets are drawn by kind (see the module docstring)."""
    ids = mermaid_ids(names)
    known = kinds or {}
    lines = ["flowchart LR"]
    lines.extend(_mermaid_node(name, node_id, known.get(name)) for name, node_id in ids.items())
    lines.extend(f"    {ids[upstream]} --> {ids[downstream]}" for upstream, downstream in edges)
    used = {kind.kind for name, kind in known.items() if name in ids and kind.type != "transform"}
    lines.extend(
        f"    classDef {kind} {style}" for kind, style in _MERMAID_CLASSES.items() if kind in used
    )
    return "\n".join(lines) + "\n"


def _dot_id(name: str) -> str:
    escaped = (
        name.replace("\\", "\\\\").replace('"', '\\"').replace("\r", "\\r").replace("\n", "\\n")
    )
    return f'"{escaped}"'


def _dot_node(name: str, kind: NodeKind | None) -> str:
    if kind is None or kind.type not in _DOT_SHAPES:
        return f"    {_dot_id(name)};"
    description = "source" if kind.type == "source" else f"python asset ({kind.kind})"
    return f"    {_dot_id(name)} [shape={_DOT_SHAPES[kind.type]}, tooltip={_dot_id(description)}];"


def dot_document(
    names: Iterable[str],
    edges: Iterable[tuple[str, str]],
    *,
    kinds: Mapping[str, NodeKind] | None = None,
) -> str:
    """A Graphviz ``digraph floe`` laid out left to right, one box per name; with ``kinds``,
    sources and Python assets are drawn by kind (see the module docstring)."""
    known = kinds or {}
    lines = ["digraph floe {", "    rankdir=LR;", "    node [shape=box];"]
    lines.extend(_dot_node(name, known.get(name)) for name in names)
    lines.extend(
        f"    {_dot_id(upstream)} -> {_dot_id(downstream)};" for upstream, downstream in edges
    )
    lines.append("}")
    return "\n".join(lines) + "\n"
