"""The transform graph port: a validated DAG of transforms built from CompiledArtifacts.

Checklist for an orchestrator adapter (and anyone reading artifacts):

- Build the graph first: ``graph = TransformGraph.from_artifacts(artifacts)`` (or
  :func:`validate_artifacts`). It raises, naming every offending model:

  - :class:`~floe_orchestration_core.errors.CycleError` when transforms depend on each
    other in a loop (a self-dependency is a loop); ``cycles`` holds concrete cycles;
  - :class:`~floe_orchestration_core.errors.DuplicateTransformError` when names repeat;
    ``duplicates`` maps each name to its unique_ids;
  - :class:`~floe_orchestration_core.errors.UnknownDependencyError` when ``depends_on``
    names a transform that does not exist (with a did-you-mean);
  - a plain :class:`~floe_orchestration_core.errors.ValidationError` listing every problem
    in ``problems`` when problems of several kinds exist at once.

- Only ``depends_on`` forms edges (upstream → downstream); sources and exposures are not
  nodes. :class:`AssetGraph` is the product's whole graph: transforms, dbt sources and Python
  assets, each with its kind (what ``floe graph export`` and ``floe impact`` show).
  ``from_transforms(subset, allow_external=True)`` builds a graph of part of a product and
  records dependencies outside it in ``external_dependencies``.
- Iterate in ``topological_order()`` (lexicographic among ready transforms: deterministic).
- Resolve schedule and sensor selections with ``select`` (dbt syntax, see
  :mod:`floe_orchestration_core.graph.selection`); use ``unmatched`` to refuse selectors whose
  atoms match nothing and ``suggest`` for did-you-mean hints.
- ``impact(name)`` lists everything downstream with its distance; ``to_json``, ``to_mermaid``
  and ``to_dot`` export the graph (see :mod:`floe_orchestration_core.graph.export`).

A graph is immutable once built; every query is safe to call repeatedly and results are
cached where recomputing would cost more than a lookup.
"""

from __future__ import annotations

from floe_orchestration_core.graph.asset_graph import AssetGraph
from floe_orchestration_core.graph.transform_graph import TransformGraph, validate_artifacts

__all__ = ["AssetGraph", "TransformGraph", "validate_artifacts"]
