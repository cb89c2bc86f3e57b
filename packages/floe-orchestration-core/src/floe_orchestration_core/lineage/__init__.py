"""Lineage: the backend port, its events, dataset naming and design-time lineage.

- :mod:`~floe_orchestration_core.lineage.port` — :class:`LineageBackendPlugin` (its docstring is
  the implementer's checklist) and :class:`NoOpLineageBackend`
- :mod:`~floe_orchestration_core.lineage.events` — the value objects: :class:`LineageEvent`,
  :class:`RunState`, :class:`Dataset`, :class:`ParentRun`, :class:`ErrorInfo`,
  :class:`LineageStats`, :class:`BacklogReport`, :func:`new_run_id`
- :mod:`~floe_orchestration_core.lineage.naming` — OpenLineage dataset namespaces and names
- :mod:`~floe_orchestration_core.lineage.jobs` — the one lineage model of a product: each
  job's name, facets, inputs and outputs, used at design time and at run time
- :mod:`~floe_orchestration_core.lineage.design` — design-time lineage

This package exports the port and the events; import naming, jobs and design from their
modules (they read CompiledArtifacts, so they import pydantic).
"""

from __future__ import annotations

from floe_orchestration_core.lineage.events import (
    BacklogReport,
    Dataset,
    ErrorInfo,
    LineageEvent,
    LineageStats,
    ParentRun,
    RunState,
    new_run_id,
)
from floe_orchestration_core.lineage.port import LineageBackendPlugin, NoOpLineageBackend

__all__ = [
    "BacklogReport",
    "Dataset",
    "ErrorInfo",
    "LineageBackendPlugin",
    "LineageEvent",
    "LineageStats",
    "NoOpLineageBackend",
    "ParentRun",
    "RunState",
    "new_run_id",
]
