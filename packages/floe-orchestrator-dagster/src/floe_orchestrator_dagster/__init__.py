"""Dagster adapter for floe orchestration: Dagster ``Definitions`` from CompiledArtifacts.

The plugin is :class:`floe_orchestrator_dagster.plugin.DagsterOrchestratorPlugin`, registered
as ``floe.orchestrators: dagster``. This package module stays light on purpose: importing it,
or the plugin class, imports neither ``dagster`` nor ``dagster_dbt``; they are imported when
definitions are first requested.

The names users work with are importable from here, whichever module holds them (each is
imported the first time it is asked for)::

    from floe_orchestrator_dagster import FloeDagsterDbtTranslator, RunLineage

===============================================  ==========================================
name                                             defined in
===============================================  ==========================================
``FloeDagsterDbtTranslator``, ``asset_key_for``  :mod:`.dbt.translator`
``DagsterAdapterConfig``, ``TranslatorSettings``  :mod:`.config`
``FloeAssetMetadata``                            :mod:`.metadata`
``RunLineage``                                   :mod:`.lineage.runs`
``AssetLineage``                                 :mod:`.lineage.assets`
``lineage_emitter``, ``parent_run``              :mod:`.lineage.emitter`
``RunDuration``, ``run_durations``,              :mod:`.sensors.slow_runs`
``asset_durations``
``ChartValues``                                  :mod:`.deploy.chart_values`
===============================================  ==========================================

The layout of the package (one subpackage per thing the adapter talks to, and the layers
between them) is described in ``docs/architecture.md``.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any, Final

if TYPE_CHECKING:
    from floe_orchestrator_dagster.config import DagsterAdapterConfig, TranslatorSettings
    from floe_orchestrator_dagster.dbt.translator import FloeDagsterDbtTranslator, asset_key_for
    from floe_orchestrator_dagster.deploy.chart_values import ChartValues
    from floe_orchestrator_dagster.lineage.assets import AssetLineage
    from floe_orchestrator_dagster.lineage.emitter import lineage_emitter, parent_run
    from floe_orchestrator_dagster.lineage.runs import RunLineage
    from floe_orchestrator_dagster.metadata import FloeAssetMetadata
    from floe_orchestrator_dagster.sensors.slow_runs import (
        RunDuration,
        asset_durations,
        run_durations,
    )

__version__ = "0.1.0"

__all__ = [
    "AssetLineage",
    "ChartValues",
    "DagsterAdapterConfig",
    "FloeAssetMetadata",
    "FloeDagsterDbtTranslator",
    "RunDuration",
    "RunLineage",
    "TranslatorSettings",
    "__version__",
    "asset_durations",
    "asset_key_for",
    "lineage_emitter",
    "parent_run",
    "run_durations",
]

#: Public name -> the module that defines it.
_DEFINED_IN: Final[dict[str, str]] = {
    "FloeDagsterDbtTranslator": "floe_orchestrator_dagster.dbt.translator",
    "asset_key_for": "floe_orchestrator_dagster.dbt.translator",
    "DagsterAdapterConfig": "floe_orchestrator_dagster.config",
    "TranslatorSettings": "floe_orchestrator_dagster.config",
    "FloeAssetMetadata": "floe_orchestrator_dagster.metadata",
    "RunLineage": "floe_orchestrator_dagster.lineage.runs",
    "AssetLineage": "floe_orchestrator_dagster.lineage.assets",
    "lineage_emitter": "floe_orchestrator_dagster.lineage.emitter",
    "parent_run": "floe_orchestrator_dagster.lineage.emitter",
    "RunDuration": "floe_orchestrator_dagster.sensors.slow_runs",
    "run_durations": "floe_orchestrator_dagster.sensors.slow_runs",
    "asset_durations": "floe_orchestrator_dagster.sensors.slow_runs",
    "ChartValues": "floe_orchestrator_dagster.deploy.chart_values",
}


def __getattr__(name: str) -> Any:
    """Import the public name ``name`` from the module that defines it, on first use."""
    module = _DEFINED_IN.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value
