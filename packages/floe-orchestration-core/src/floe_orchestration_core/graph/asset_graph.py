"""``AssetGraph``: the product's whole graph — transforms, dbt sources and Python assets.

:class:`~floe_orchestration_core.graph.TransformGraph` is the graph of what dbt builds; this
one adds what surrounds it, as the orchestrator shows it: the dbt sources the transforms read
and the product's Python assets (ingestion that produces sources, publication that reads
marts). ``floe graph export`` and ``floe impact`` use it.

Checklist:

- Nodes, in this order: sources (named by their key, ``source_name.table``), Python assets,
  transforms (the artifacts' order within each). Each has a :class:`NodeKind`: ``type``
  ``source`` / ``python_asset`` / ``transform`` and ``kind`` ``source`` / the Python asset's
  kind (``ingestion``, ``publication``, ``python``) / the transform's resource type.
- Edges (upstream → downstream): a transform's ``depends_on`` and ``source_dependencies``, a
  Python asset's ``depends_on``, and a Python asset → each source it ``produces``.
- Built from artifacts only after the transform graph validates (cycles, duplicates, unknown
  dependencies raise as they do for ``TransformGraph``); the artifacts' own validation already
  refuses Python assets named like transforms, unknown sources and cycles through Python
  assets. A name used by two nodes of different types is a
  :class:`~floe_orchestration_core.errors.ValidationError` all the same.
- ``impact(name)`` works from any node (``floe impact raw.orders``); an unknown name is a
  :class:`~floe_orchestration_core.errors.SelectionError` with the close matches.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from types import MappingProxyType
from typing import Any

from floe_orchestration_core.artifacts import CompiledArtifacts
from floe_orchestration_core.errors import SelectionError, ValidationError
from floe_orchestration_core.graph.close_matches import did_you_mean
from floe_orchestration_core.graph.export import NodeKind, dot_document, mermaid_document
from floe_orchestration_core.graph.transform_graph import TransformGraph, hop_distances

__all__ = ["AssetGraph"]


class AssetGraph:
    """The product's transforms, sources and Python assets with every edge between them.

    Build it with :meth:`from_artifacts`.
    """

    __slots__ = ("_children", "_edges", "_kinds", "_nodes")

    def __init__(
        self,
        nodes: dict[str, dict[str, Any]],
        kinds: dict[str, NodeKind],
        edges: list[tuple[str, str]],
    ) -> None:
        self._nodes = nodes
        self._kinds = kinds
        self._edges = sorted(set(edges))
        children: dict[str, list[str]] = {name: [] for name in nodes}
        for upstream, downstream in self._edges:
            children[upstream].append(downstream)
        self._children = {name: tuple(found) for name, found in children.items()}

    @classmethod
    def from_artifacts(cls, artifacts: CompiledArtifacts) -> AssetGraph:
        """The asset graph of ``artifacts`` (raises as ``TransformGraph.from_artifacts`` does)."""
        transforms = TransformGraph.from_artifacts(artifacts)
        nodes: dict[str, dict[str, Any]] = {}
        kinds: dict[str, NodeKind] = {}

        def add(name: str, kind: NodeKind, fields: dict[str, Any]) -> None:
            if name in nodes:
                raise ValidationError(
                    f"'{name}' names a {kinds[name].type} and a {kind.type}; rename one of "
                    "them: the asset graph needs one name per node",
                    [f"'{name}' is used by a {kinds[name].type} and a {kind.type}"],
                )
            kinds[name] = kind
            nodes[name] = {"name": name, "type": kind.type, "kind": kind.kind, **fields}

        for source in artifacts.sources:
            add(
                source.key,
                NodeKind("source", "source"),
                {
                    "unique_id": source.unique_id,
                    "resource_type": "source",
                    "compute": None,
                    "tags": list(source.tags),
                },
            )
        for asset in artifacts.python_assets:
            add(
                asset.name,
                NodeKind("python_asset", asset.kind),
                {
                    "unique_id": None,
                    "resource_type": None,
                    "compute": asset.compute,
                    "tags": list(asset.tags),
                },
            )
        for transform in artifacts.transforms:
            resource_type = str(transform.resource_type.value)
            add(
                transform.name,
                NodeKind("transform", resource_type),
                {
                    "unique_id": transform.unique_id,
                    "resource_type": resource_type,
                    "compute": transform.compute,
                    "tags": list(transform.tags),
                },
            )
        edges = list(transforms.edges)
        for transform in artifacts.transforms:
            edges += [
                (key, transform.name) for key in transform.source_dependencies if key in nodes
            ]
        for asset in artifacts.python_assets:
            edges += [(upstream, asset.name) for upstream in asset.depends_on if upstream in nodes]
            edges += [(asset.name, key) for key in asset.produces if key in nodes]
        return cls(nodes, kinds, edges)

    # Queries -----------------------------------------------------------------------------
    @property
    def kinds(self) -> Mapping[str, NodeKind]:
        """Name → :class:`NodeKind`, in node order (read-only)."""
        return MappingProxyType(self._kinds)

    @property
    def edges(self) -> list[tuple[str, str]]:
        """Every ``(upstream, downstream)`` pair, sorted."""
        return list(self._edges)

    def __len__(self) -> int:
        return len(self._nodes)

    def __contains__(self, name: object) -> bool:
        return name in self._nodes

    def __iter__(self) -> Iterator[str]:
        return iter(self._nodes)

    def impact(self, name: str) -> dict[str, int]:
        """Every node downstream of ``name`` → shortest distance (1 = direct child)."""
        if name not in self._nodes:
            hint = did_you_mean(name, self._nodes) or (
                f"the product has {len(self)} transforms, sources and Python assets"
            )
            raise SelectionError(f"no transform, source or Python asset named '{name}'; {hint}")
        return hop_distances(self._children, name)

    # Export ------------------------------------------------------------------------------
    def to_json(self) -> dict[str, Any]:
        """``{"nodes": [{"name", "type", "kind", "unique_id", "resource_type", "compute",
        "tags"}], "edges": [[upstream, downstream], ...]}``."""
        return {
            "nodes": [dict(node) for node in self._nodes.values()],
            "edges": [[upstream, downstream] for upstream, downstream in self._edges],
        }

    def to_mermaid(self) -> str:
        """A Mermaid ``flowchart LR``: sources as cylinders, Python assets as subroutines."""
        return mermaid_document(self._nodes, self._edges, kinds=self._kinds)

    def to_dot(self) -> str:
        """A Graphviz ``digraph floe``: sources as cylinders, Python assets as components."""
        return dot_document(self._nodes, self._edges, kinds=self._kinds)
