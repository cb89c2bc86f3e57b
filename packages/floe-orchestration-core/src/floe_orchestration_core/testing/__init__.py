"""The testing kit: contract suites, hypothesis strategies, in-memory fakes and factories.

Install with the ``testing`` extra (``pip install 'floe-orchestration-core[testing]'``):
this package imports ``pytest`` and ``hypothesis``. Nothing in the core's runtime path
imports it.

- :class:`OrchestratorPluginContract` — subclass as ``TestXxx`` in an orchestrator
  adapter's ``tests/contract/`` with a ``plugin`` fixture and three ``describe_*`` methods;
- :class:`LineageBackendContract` — subclass with a ``backend`` fixture;
- :class:`IngestionPluginContract` — subclass with ``plugin``, ``entry`` and
  ``misconfigured_entry`` fixtures; :class:`InMemoryIngestion` is its reference adapter;
- :mod:`~floe_orchestration_core.testing.strategies` — ``artifacts()``, ``dags()``,
  ``crons()``, ``invalid_crons()``, ``timezones()``, ``quantities()``, ``resource_specs()``;
- :class:`InMemoryLineageBackend` (keeps events) and :class:`InMemoryOrchestrator` (the
  reference adapter, which passes the orchestrator contract);
- :func:`make_artifacts`, :func:`make_transform`, :func:`make_source`, :func:`make_ingestion`
  — small valid objects.
"""

from __future__ import annotations

from floe_orchestration_core.testing import strategies
from floe_orchestration_core.testing.contract_ingestion import IngestionPluginContract, request_for
from floe_orchestration_core.testing.contract_lineage import LineageBackendContract, sample_event
from floe_orchestration_core.testing.contract_orchestrator import (
    DefinitionsSummary,
    OrchestratorPluginContract,
    expected_upstreams,
)
from floe_orchestration_core.testing.factories import (
    FIXED_TIME,
    make_artifacts,
    make_ingestion,
    make_source,
    make_transform,
)
from floe_orchestration_core.testing.fake_ingestion import InMemoryIngestion
from floe_orchestration_core.testing.fakes import (
    InMemoryAsset,
    InMemoryDefinitions,
    InMemoryLineageBackend,
    InMemoryOrchestrator,
    InMemoryOrchestratorConfig,
    InMemorySchedule,
)

__all__ = [
    "FIXED_TIME",
    "DefinitionsSummary",
    "InMemoryAsset",
    "InMemoryDefinitions",
    "InMemoryIngestion",
    "InMemoryLineageBackend",
    "InMemoryOrchestrator",
    "InMemoryOrchestratorConfig",
    "InMemorySchedule",
    "IngestionPluginContract",
    "LineageBackendContract",
    "OrchestratorPluginContract",
    "expected_upstreams",
    "make_artifacts",
    "make_ingestion",
    "make_source",
    "make_transform",
    "request_for",
    "sample_event",
    "strategies",
]
