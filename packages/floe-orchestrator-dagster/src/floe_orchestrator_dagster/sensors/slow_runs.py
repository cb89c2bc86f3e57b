"""Run and asset durations from a Dagster instance, and the slow-run alert sensor.

- :func:`run_durations`: the durations of a job's latest finished runs (newest first), read from
  the instance's run records (Dagster stores each run's start and end time); usable by any
  tool holding a ``DagsterInstance`` (``floe status``, benchmarks).
- :func:`asset_durations`: how long dbt took for an asset in its latest materializations
  (dagster-dbt's ``Execution Duration`` metadata, from dbt's own timing).
- :func:`build_slow_run_sensor`: a ``run_status_sensor`` on SUCCESS that compares each run with
  the median of the job's previous ``window`` successful runs and alerts when it took more
  than ``slow_run_factor`` times as long (after ``min_history`` runs), through
  :class:`~floe_orchestrator_dagster.sensors.alerts.AlertRouter`.

Only APIs present from Dagster 1.10 through 1.13 are used.
"""

from __future__ import annotations

from collections.abc import Sequence

import attrs
import dagster as dg

from floe_orchestration_core.alerts import Alert, slow_run_verdict
from floe_orchestration_core.artifacts import MonitoringSettings
from floe_orchestrator_dagster.sensors.alerts import AlertRouter

__all__ = [
    "SLOW_RUN_SENSOR_NAME",
    "RunDuration",
    "asset_durations",
    "build_slow_run_sensor",
    "run_durations",
]

#: The name of the slow-run monitoring sensor in the Definitions.
SLOW_RUN_SENSOR_NAME = "floe_slow_run_monitor"
_FINISHED = (dg.DagsterRunStatus.SUCCESS, dg.DagsterRunStatus.FAILURE)


@attrs.frozen
class RunDuration:
    """One finished run's timing (seconds since the epoch; duration in seconds)."""

    run_id: str
    job_name: str
    status: str
    start_time: float
    end_time: float

    @property
    def duration_seconds(self) -> float:
        return max(0.0, self.end_time - self.start_time)


def run_durations(
    instance: dg.DagsterInstance,
    job_name: str | None = None,
    limit: int = 20,
    *,
    statuses: Sequence[dg.DagsterRunStatus] = (dg.DagsterRunStatus.SUCCESS,),
    exclude_run_ids: Sequence[str] = (),
) -> list[RunDuration]:
    """The latest ``limit`` runs of ``job_name`` (all jobs when None) with one of ``statuses``
    that have a start and an end time, newest first."""
    excluded = set(exclude_run_ids)
    records = instance.get_run_records(
        filters=dg.RunsFilter(job_name=job_name, statuses=list(statuses)),
        limit=limit + len(excluded),
    )
    durations: list[RunDuration] = []
    for record in records:
        run = record.dagster_run
        if run.run_id in excluded or record.start_time is None or record.end_time is None:
            continue
        durations.append(
            RunDuration(
                run_id=run.run_id,
                job_name=run.job_name,
                status=run.status.value,
                start_time=float(record.start_time),
                end_time=float(record.end_time),
            )
        )
    return durations[:limit]


def asset_durations(
    instance: dg.DagsterInstance, asset_key: dg.AssetKey, limit: int = 20
) -> list[tuple[str, float]]:
    """``(run_id, seconds)`` of the asset's latest materializations that carry dbt's
    ``Execution Duration`` metadata, newest first."""
    result = instance.fetch_materializations(asset_key, limit=limit)
    out: list[tuple[str, float]] = []
    for record in result.records:
        materialization = record.asset_materialization
        if materialization is None:
            continue
        value = materialization.metadata.get("Execution Duration")
        seconds = getattr(value, "value", value)
        if isinstance(seconds, int | float):
            out.append((record.run_id, float(seconds)))
    return out


def build_slow_run_sensor(
    settings: MonitoringSettings, router: AlertRouter, *, product: str
) -> dg.SensorDefinition:
    """The slow-run sensor (monitors every job of the code location)."""

    @dg.run_status_sensor(
        run_status=dg.DagsterRunStatus.SUCCESS,
        name=SLOW_RUN_SENSOR_NAME,
        minimum_interval_seconds=30,
        default_status=dg.DefaultSensorStatus.RUNNING,
        description=(
            f"floe monitoring: alerts when a run takes more than {settings.slow_run_factor:g}x "
            f"the median of its job's last {settings.window} successful runs"
        ),
    )
    def floe_slow_run_monitor(context: dg.RunStatusSensorContext) -> None:
        alert = slow_run_alert(context.instance, context.dagster_run, settings, router, product)
        if alert is not None:
            router.send(context.instance, alert, settings.alert_channels, context.log)

    return floe_slow_run_monitor


def slow_run_alert(
    instance: dg.DagsterInstance,
    run: dg.DagsterRun,
    settings: MonitoringSettings,
    router: AlertRouter,
    product: str,
) -> Alert | None:
    """The slow-run alert for ``run`` (a finished run), or None when it is not slow."""
    record = instance.get_run_record_by_id(run.run_id)
    if record is None or record.start_time is None or record.end_time is None:
        return None
    duration = float(record.end_time) - float(record.start_time)
    history = run_durations(instance, run.job_name, settings.window, exclude_run_ids=[run.run_id])
    history = [d for d in history if d.end_time <= float(record.end_time)]
    verdict = slow_run_verdict(
        duration,
        [d.duration_seconds for d in history],
        factor=settings.slow_run_factor,
        window=settings.window,
        min_history=settings.min_history,
    )
    if not verdict.slow or verdict.median_seconds is None:
        return None
    return Alert(
        kind="slow_run",
        severity="warning",
        title=f"Slow run: {run.job_name}",
        summary=(
            f"run {run.run_id} of job {run.job_name!r} took {duration:.1f} s, "
            f"{verdict.ratio or 0:.1f}x the median of {verdict.median_seconds:.1f} s over its "
            f"last {verdict.history} successful runs (threshold {settings.slow_run_factor:g}x)"
        ),
        product=product,
        job=run.job_name,
        run_id=run.run_id,
        url=router.run_url(run.run_id),
        details={
            "duration_seconds": round(duration, 3),
            "median_seconds": round(verdict.median_seconds, 3),
            "history": verdict.history,
            "factor": settings.slow_run_factor,
        },
        dedup_key=f"slow_run|{product}|{run.job_name}",
    )
