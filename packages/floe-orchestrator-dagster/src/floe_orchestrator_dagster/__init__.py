"""Dagster adapter for floe orchestration: Dagster ``Definitions`` from CompiledArtifacts.

The plugin is :class:`floe_orchestrator_dagster.plugin.DagsterOrchestratorPlugin`, registered
as ``floe.orchestrators: dagster``. This package module stays light on purpose (only the
version): importing it, or the plugin class, imports neither ``dagster`` nor ``dagster_dbt``;
they are imported when definitions are first requested.
"""

__version__ = "0.1.0"
