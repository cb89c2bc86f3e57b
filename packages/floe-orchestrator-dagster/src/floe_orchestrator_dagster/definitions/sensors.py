"""Which sensors a product's definitions get, and the jobs its file-arrival sensors run.

What :func:`build_sensors` maps, and how:

- a :class:`~floe_orchestration_core.artifacts.FileArrivalSensor` becomes an asset job
  ``<sensor>_job`` over its selection (:func:`~.jobs.file_arrival_job`) and the file-arrival
  sensor of :mod:`floe_orchestrator_dagster.sensors.file_arrival` watching ``path`` (relative
  paths start where ``dbt.project_dir``'s do); a file modified less than ``settle_seconds``
  ago (default 2 s) is still being written;
- a :class:`~floe_orchestration_core.artifacts.RunFailureSensor` and an
  :class:`~floe_orchestration_core.artifacts.AssetCheckFailureSensor` become the alert sensors
  of :mod:`floe_orchestrator_dagster.sensors.failures` (a check sensor watches the assets of
  its selection; ``*``: every asset, sources included);
- ``monitoring.alert_channels`` (when not empty) adds the slow-run sensor of
  :mod:`floe_orchestrator_dagster.sensors.slow_runs`.

All alerts of the code location go through one
:class:`~floe_orchestrator_dagster.sensors.alerts.AlertRouter`, whose channels are built here
(a missing secret variable is an ``AlertError`` now, not when an alert is sent).
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING

import dagster as dg

from floe_orchestration_core.alerts import channels_from_config
from floe_orchestration_core.artifacts import (
    CompiledArtifacts,
    FileArrivalSensor,
    RunFailureSensor,
)
from floe_orchestration_core.graph import TransformGraph
from floe_orchestrator_dagster.definitions.jobs import file_arrival_job
from floe_orchestrator_dagster.definitions.selection import selected_asset_keys
from floe_orchestrator_dagster.sensors.alerts import AlertRouter
from floe_orchestrator_dagster.sensors.failures import check_failure_sensor, run_failure_sensor
from floe_orchestrator_dagster.sensors.file_arrival import file_arrival_sensor
from floe_orchestrator_dagster.sensors.slow_runs import build_slow_run_sensor

if TYPE_CHECKING:
    from floe_orchestrator_dagster.compat import UnresolvedAssetJobDefinition

__all__ = ["build_sensors"]


def _resolve(path: str, cwd: Path | None) -> Path:
    folder = Path(path)
    return folder if folder.is_absolute() else (cwd or Path.cwd()) / folder


def build_sensors(
    artifacts: CompiledArtifacts,
    graph: TransformGraph,
    asset_keys: Mapping[str, dg.AssetKey],
    *,
    cwd: Path | None = None,
    webserver_url: str | None = None,
    settle_seconds: float = 2.0,
    environ: Mapping[str, str] | None = None,
) -> tuple[list[UnresolvedAssetJobDefinition], list[dg.SensorDefinition]]:
    """The jobs and sensors of ``artifacts`` (see the module docstring).

    ``asset_keys`` maps each non-ephemeral transform name to its asset key; ``cwd`` is where
    relative paths start (default: the current directory); ``webserver_url`` makes alerts link
    to runs; ``environ`` (default ``os.environ``) holds the channels' secrets. Raises
    :class:`~floe_orchestration_core.errors.AlertError` for a missing secret variable and
    :class:`~floe_orchestrator_dagster.errors.JobDefinitionError` for an unusable selection.
    """
    jobs: list[UnresolvedAssetJobDefinition] = []
    sensors: list[dg.SensorDefinition] = []
    alerting = [s for s in artifacts.sensors if not isinstance(s, FileArrivalSensor)]
    router: AlertRouter | None = None
    if alerting or artifacts.monitoring.alert_channels:
        router = AlertRouter(
            channels_from_config(artifacts.alert_channels, environ),
            product=artifacts.metadata.product_name,
            webserver_url=webserver_url,
        )
    for config in artifacts.sensors:
        if isinstance(config, FileArrivalSensor):
            job = file_arrival_job(config, artifacts, graph, asset_keys)
            jobs.append(job)
            sensors.append(
                file_arrival_sensor(config, _resolve(config.path, cwd), job, settle_seconds)
            )
        elif isinstance(config, RunFailureSensor):
            assert router is not None
            sensors.append(run_failure_sensor(config, router))
        else:
            assert router is not None
            selected = (
                None
                if config.selection.strip() == "*"
                else frozenset(
                    selected_asset_keys(
                        graph, config.selection, asset_keys, selector=f"sensor {config.name!r}"
                    )
                )
            )
            sensors.append(check_failure_sensor(config, selected, router))
    if artifacts.monitoring.alert_channels:
        assert router is not None
        sensors.append(
            build_slow_run_sensor(
                artifacts.monitoring, router, product=artifacts.metadata.product_name
            )
        )
    return jobs, sensors
