"""floe orchestration core: the orchestrator-agnostic contract of floe.

Ports (one module each, each docstring the implementer's checklist):

- :mod:`~floe_orchestration_core.artifacts` — CompiledArtifacts, the versioned contract
- :mod:`~floe_orchestration_core.compile` — dbt manifest + floe.yaml → CompiledArtifacts
  (:mod:`~floe_orchestration_core.compile.quality_checks`: which node each dbt test attaches to)
- :mod:`~floe_orchestration_core.graph` — the transform graph, selection, impact, export
- :mod:`~floe_orchestration_core.scheduling` — cron and timezone validation, fire-time preview
- :mod:`~floe_orchestration_core.resources` — Kubernetes resource specs and size presets
- :mod:`~floe_orchestration_core.lineage` — the LineageBackendPlugin port, re-exporting
  :mod:`~floe_orchestration_core.lineage` (LineageEvent, Dataset, run ids)
- :mod:`~floe_orchestration_core.connectivity` — ValidationResult and deadlines
- :mod:`~floe_orchestration_core.plugin` — PluginMetadata and the OrchestratorPlugin port
- :mod:`~floe_orchestration_core.telemetry` — OpenTelemetry span helpers (API only)
- :mod:`~floe_orchestration_core.testing` — the contract suite, strategies and fakes

This module imports nothing heavy: import the port modules you need.
"""

__version__ = "0.1.0"

#: The plugin API version this core implements. A plugin is compatible when its major equals
#: this major and its minor is at most this minor.
FLOE_API_VERSION = "1.0"
