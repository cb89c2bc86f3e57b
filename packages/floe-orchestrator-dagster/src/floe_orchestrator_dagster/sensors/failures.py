"""Alerts on failures: the run-failure sensor and the failed-check sensor.

- a :class:`~floe_orchestration_core.artifacts.RunFailureSensor` becomes a
  ``run_failure_sensor`` over every job of the code location that sends a ``run_failure``
  alert (the failure message, the failed steps and their errors, a link to the run);
- an :class:`~floe_orchestration_core.artifacts.AssetCheckFailureSensor` becomes a ``@sensor``
  that reads the ``ASSET_CHECK_EVALUATION`` events of every run finished since its cursor (the
  runs' update time plus the ids of runs already read: SQLite's run-sharded event log answers
  per-run queries only, so the sensor reads runs, not a global event stream); each failed
  evaluation of a check on a selected asset (``*``: every asset, sources included) sends a
  ``check_failure`` alert. Its first tick starts at the latest finished run, so failures from
  before the sensor existed are not alerted; evaluations reported outside a run are not seen.

Both send through the code location's
:class:`~floe_orchestrator_dagster.sensors.alerts.AlertRouter`.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

import dagster as dg

from floe_orchestration_core.alerts import Alert
from floe_orchestration_core.artifacts import AssetCheckFailureSensor, RunFailureSensor
from floe_orchestrator_dagster.sensors.alerts import DEFAULT_CHANNELS, AlertRouter, first_line
from floe_orchestrator_dagster.sensors.file_arrival import TRIGGER_FILE_TAG

__all__ = [
    "check_failure_alerts",
    "check_failure_sensor",
    "decode_check_cursor",
    "encode_check_cursor",
    "run_failure_alert",
    "run_failure_sensor",
]

#: Finished runs read per tick of the failed-check sensor.
_RUN_BATCH = 200


def _status(enabled: bool) -> dg.DefaultSensorStatus:
    return dg.DefaultSensorStatus.RUNNING if enabled else dg.DefaultSensorStatus.STOPPED


def run_failure_alert(context: dg.RunFailureSensorContext, router: AlertRouter) -> Alert:
    """The alert for the failed run of ``context``."""
    run = context.dagster_run
    steps: dict[str, str] = {}
    for event in context.get_step_failure_events():
        error = getattr(event.event_specific_data, "error", None)
        while getattr(error, "cause", None) is not None:  # the user's exception, not Dagster's
            error = error.cause  # type: ignore[union-attr]
        message = getattr(error, "message", None) or event.message or ""
        steps[event.step_key or "?"] = first_line(message)
    summary = first_line(context.failure_event.message) or "the run failed"
    if steps:
        summary += "; failed steps: " + "; ".join(f"{step}: {msg}" for step, msg in steps.items())
    details: dict[str, str | None] = {"failed_steps": ", ".join(steps) or None}
    for tag in (TRIGGER_FILE_TAG, "dagster/schedule_name", "dagster/sensor_name"):
        if tag in run.tags:
            details[tag] = run.tags[tag]
    return Alert(
        kind="run_failure",
        title=f"Run failed: {run.job_name}",
        summary=summary,
        product=router.product,
        job=run.job_name,
        run_id=run.run_id,
        url=router.run_url(run.run_id),
        details=details,
        dedup_key=f"run_failure|{router.product}|{run.job_name}|{','.join(sorted(steps))}",
    )


def run_failure_sensor(config: RunFailureSensor, router: AlertRouter) -> dg.SensorDefinition:
    @dg.run_failure_sensor(
        name=config.name,
        minimum_interval_seconds=config.minimum_interval_seconds,
        default_status=_status(config.enabled),
        description=config.description
        or f"floe: alerts {', '.join(config.alert_channels or DEFAULT_CHANNELS)} on failed runs",
    )
    def on_run_failure(context: dg.RunFailureSensorContext) -> None:
        router.send(context.instance, run_failure_alert(context, router), config.alert_channels,
                    context.log)  # fmt: skip

    return on_run_failure


_FINISHED = [
    dg.DagsterRunStatus.SUCCESS,
    dg.DagsterRunStatus.FAILURE,
    dg.DagsterRunStatus.CANCELED,
]
#: Runs updated this long before the cursor are read again (and skipped when already seen):
#: a margin for timestamps written in the same second and for clock rounding in storages.
_OVERLAP_SECONDS = 60.0
_SEEN_RUNS = 500


def decode_check_cursor(cursor: str | None) -> tuple[float, list[str]] | None:
    """``(updated_after, run ids already read)`` of a check sensor's cursor; None when unset
    or unreadable (the sensor then starts at the latest finished run)."""
    if not cursor:
        return None
    try:
        data = json.loads(cursor)
        return float(data["after"]), [str(run_id) for run_id in data["seen"]]
    except (ValueError, KeyError, TypeError):
        return None


def encode_check_cursor(after: float, seen: Sequence[str]) -> str:
    return json.dumps({"after": after, "seen": list(seen)[-_SEEN_RUNS:]}, separators=(",", ":"))


def _finished_runs(instance: dg.DagsterInstance, after: float | None, limit: int) -> Sequence[Any]:
    filters = dg.RunsFilter(
        statuses=_FINISHED,
        updated_after=None if after is None else datetime.fromtimestamp(after, UTC),
    )
    return instance.get_run_records(
        filters=filters, limit=limit, order_by="update_timestamp", ascending=after is not None
    )


def _timestamp(record: Any) -> float:
    value = record.update_timestamp
    return float(value.timestamp()) if isinstance(value, datetime) else float(value)


def _check_evaluations(instance: dg.DagsterInstance, run_id: str) -> list[Any]:
    return list(instance.all_logs(run_id, of_type=dg.DagsterEventType.ASSET_CHECK_EVALUATION))


def _metadata_details(metadata: Mapping[str, Any]) -> dict[str, str | int | float | bool | None]:
    details: dict[str, str | int | float | bool | None] = {}
    for name, value in list(metadata.items())[:10]:
        raw = getattr(value, "value", value)
        if isinstance(raw, str | int | float | bool):
            details[name] = raw if not isinstance(raw, str) else raw[:300]
    return details


def check_failure_alerts(
    entries: Sequence[Any],
    selected: frozenset[dg.AssetKey] | None,
    router: AlertRouter,
) -> list[Alert]:
    """Alerts for the failed check evaluations among ``entries`` (event log entries) on
    ``selected`` assets (every asset when None)."""
    alerts: list[Alert] = []
    for entry in entries:
        event = entry.dagster_event
        evaluation = None if event is None else event.event_specific_data
        if evaluation is None or getattr(evaluation, "passed", True):
            continue
        asset_key: dg.AssetKey = evaluation.asset_key
        if selected is not None and asset_key not in selected:
            continue
        asset = asset_key.to_user_string()
        severity = str(getattr(evaluation.severity, "value", evaluation.severity)).upper()
        description = getattr(evaluation, "description", None)
        run_id = entry.run_id or None
        alerts.append(
            Alert(
                kind="check_failure",
                severity="warning" if severity == "WARN" else "error",
                title=f"Check failed: {evaluation.check_name} on {asset}",
                summary=first_line(description)
                or f"asset check {evaluation.check_name!r} of asset {asset!r} failed "
                f"(severity {severity})",
                product=router.product,
                job=getattr(event, "job_name", None),
                run_id=run_id,
                asset=asset,
                check=evaluation.check_name,
                url=router.run_url(run_id) if run_id else None,
                details={"check_severity": severity, **_metadata_details(evaluation.metadata)},
                dedup_key=f"check_failure|{router.product}|{asset}|{evaluation.check_name}",
            )
        )
    return alerts


def check_failure_sensor(
    config: AssetCheckFailureSensor,
    selected: frozenset[dg.AssetKey] | None,
    router: AlertRouter,
) -> dg.SensorDefinition:
    @dg.sensor(
        name=config.name,
        minimum_interval_seconds=config.minimum_interval_seconds,
        default_status=_status(config.enabled),
        description=config.description
        or f"floe: alerts {', '.join(config.alert_channels or DEFAULT_CHANNELS)} when a check "
        f"of {config.selection!r} fails",
    )
    def on_check_failure(context: dg.SensorEvaluationContext) -> dg.SkipReason:
        instance = context.instance
        state = decode_check_cursor(context.cursor)
        if state is None:
            latest = _finished_runs(instance, None, 1)
            after = _timestamp(latest[0]) if latest else 0.0
            seen = [latest[0].dagster_run.run_id] if latest else []
            context.update_cursor(encode_check_cursor(after, seen))
            return dg.SkipReason("watching the check evaluations of runs finishing from now on")
        after, seen = state
        already = set(seen)
        records = [
            record
            for record in _finished_runs(instance, after - _OVERLAP_SECONDS, _RUN_BATCH)
            if record.dagster_run.run_id not in already
        ]
        entries = [e for r in records for e in _check_evaluations(instance, r.dagster_run.run_id)]
        alerts = check_failure_alerts(entries, selected, router)
        for alert in alerts:
            router.send(instance, alert, config.alert_channels, context.log)
        router.dispatcher(instance).flush_summaries()
        if records:
            after = max(after, *(_timestamp(r) for r in records))
            seen = [*seen, *(r.dagster_run.run_id for r in records)]
        context.update_cursor(encode_check_cursor(after, seen))
        return dg.SkipReason(
            f"{len(records)} finished run(s) read, {len(alerts)} failed check(s) alerted"
        )

    return on_check_failure
