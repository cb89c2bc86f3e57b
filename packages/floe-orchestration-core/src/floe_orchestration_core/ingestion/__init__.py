"""Ingestion: the port connector adapters implement, its value objects, and run requests.

- :mod:`~floe_orchestration_core.ingestion.port` — :class:`IngestionPlugin` (its docstring is
  the implementer's checklist)
- :mod:`~floe_orchestration_core.ingestion.model` — :class:`IngestionRequest`,
  :class:`IngestionResult`, :class:`StreamResult`, the destinations
- :mod:`~floe_orchestration_core.ingestion.destinations` — a compute target as a destination,
  config secrets from the environment, :func:`ingestion_request` (imports the artifacts
  models, so pydantic: import it from its module)

What users declare is the artifacts' :class:`~floe_orchestration_core.artifacts.IngestionConfig`
(floe.yaml's ``ingestion:`` section). This package exports the port and the value objects,
which import the standard library only.
"""

from __future__ import annotations

from floe_orchestration_core.ingestion.model import (
    Destination,
    DuckDBDestination,
    IngestionRequest,
    IngestionResult,
    PostgresDestination,
    StreamResult,
)
from floe_orchestration_core.ingestion.port import IngestionPlugin

__all__ = [
    "Destination",
    "DuckDBDestination",
    "IngestionPlugin",
    "IngestionRequest",
    "IngestionResult",
    "PostgresDestination",
    "StreamResult",
]
