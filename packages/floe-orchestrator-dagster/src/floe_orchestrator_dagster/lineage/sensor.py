"""The sensor that emits START and COMPLETE/FAIL/ABORT of Dagster runs launched by Dagster.

Runs launched by the webserver, a schedule or a sensor are executed by a run launcher in a
process floe does not control, so their lineage comes from the sensor ``floe_lineage_runs``
(added to the Definitions when a lineage backend is configured and lineage is enabled). Like
every sensor it is evaluated by ``dagster-daemon``: without the daemon running, Dagster runs
get no START or terminal event (their models still do, from the step process).

Each tick reads the run records updated since the last tick (oldest first, bounded), and for
every run of this code location that is not tagged ``floe/lineage: inline`` (runs whose
launcher emits their lineage, see :class:`~floe_orchestrator_dagster.lineage.runs.RunLineage`):

- a run that has started and has no START yet gets START (event time: the run's start);
- a run that has ended gets its terminal event (after its START, in the same tick if need be):
  SUCCESS → COMPLETE, FAILURE → FAIL with Dagster's failure message, CANCELED → ABORT.

The cursor remembers which runs got which event, so a run gets exactly one START and one
terminal event even when ticks overlap.

Each tick also delivers the lineage backend's backlog
(:meth:`~floe_orchestration_core.lineage.LineageBackendPlugin.deliver_backlog`): the events
runs of the product could not deliver (their step processes ended while the backend was
down) wait in the product's spool, and the sensor, the one long-lived process of ``floe up``
that already exists for lineage, hands them to the backend once it answers again. It waits
at most :data:`BACKLOG_SECONDS` per tick; the code server's delivery thread keeps going in
between. Why a sensor rather than a thread of its own: it runs only where the daemon runs,
its ticks (and their "N spooled event(s) wait" messages) show in the UI, and a step process
never starts a poller. The run id is
:func:`~floe_orchestrator_dagster.lineage.emitter.lineage_run_id` of the Dagster run id and its
creation time, which is what the run's steps use as their models' parent.
"""

from __future__ import annotations

import json
import logging
from datetime import UTC, datetime
from typing import Any, Final

import dagster as dg

from floe_orchestration_core.lineage import RunState
from floe_orchestrator_dagster.lineage.emitter import INLINE_TAG, LineageEmitter, lineage_run_id
from floe_orchestrator_dagster.lineage.redaction import redact, safe_error

__all__ = [
    "BACKLOG_SECONDS",
    "LINEAGE_SENSOR_NAME",
    "build_lineage_sensor",
    "deliver_backlog",
    "emit_run_lineage",
]

logger = logging.getLogger(__name__)

#: The sensor's name in the Definitions.
LINEAGE_SENSOR_NAME: Final = "floe_lineage_runs"
#: Longest time one tick waits for the backlog to be delivered.
BACKLOG_SECONDS: Final = 1.0
_INTERVAL_SECONDS: Final = 5
_BATCH: Final = 200
#: How far back each tick looks again (runs updated within one timestamp tick).
_OVERLAP_SECONDS: Final = 2.0
#: How many ended runs the cursor remembers.
_REMEMBERED_ENDED: Final = 500
_TERMINAL: Final = {
    dg.DagsterRunStatus.SUCCESS: RunState.COMPLETE,
    dg.DagsterRunStatus.FAILURE: RunState.FAIL,
    dg.DagsterRunStatus.CANCELED: RunState.ABORT,
}


def _aware(moment: datetime) -> datetime:
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def _from_epoch(seconds: float | None, default: datetime) -> datetime:
    return datetime.fromtimestamp(seconds, UTC) if seconds is not None else _aware(default)


def _location_of(run: dg.DagsterRun) -> str | None:
    origin = getattr(run, "remote_job_origin", None) or getattr(run, "external_job_origin", None)
    try:
        return str(origin.repository_origin.code_location_origin.location_name)  # type: ignore[union-attr]
    except AttributeError:
        return None


def _failure_message(instance: dg.DagsterInstance, run_id: str) -> str:
    try:
        records = instance.get_records_for_run(
            run_id, of_type=dg.DagsterEventType.RUN_FAILURE, limit=1
        ).records
    except Exception:  # an older storage API: fall back to a generic message
        records = []
    for record in records:
        event = record.event_log_entry.dagster_event
        if event is not None and event.message:
            return str(event.message)
    return f"Dagster run {run_id} failed"


def _load_cursor(cursor: str | None) -> tuple[float | None, dict[str, str]]:
    if not cursor:
        return None, {}
    try:
        state = json.loads(cursor)
        return float(state["after"]), {str(k): str(v) for k, v in state["runs"].items()}
    except (ValueError, KeyError, TypeError, AttributeError):
        logger.warning("lineage sensor: unreadable cursor, starting from now")
        return None, {}


def emit_run_lineage(
    emitter: LineageEmitter,
    instance: dg.DagsterInstance,
    cursor: str | None,
    *,
    location_name: str | None = None,
    now: datetime | None = None,
) -> str:
    """One tick: emit what changed since ``cursor``; return the next cursor.

    Without a cursor (the first tick), runs updated from ``now`` on are considered; runs of
    other code locations than ``location_name`` (when both are known) are left alone.
    """
    current = _aware(now or datetime.now(UTC))
    after, seen = _load_cursor(cursor)
    since = current.timestamp() - _OVERLAP_SECONDS if after is None else after - _OVERLAP_SECONDS
    records = instance.get_run_records(
        filters=dg.RunsFilter(updated_after=datetime.fromtimestamp(since, UTC)),
        limit=_BATCH,
        order_by="update_timestamp",
        ascending=True,
    )
    newest = after if after is not None else current.timestamp()
    emitted = 0
    for record in records:
        run = record.dagster_run
        newest = max(newest, _aware(record.update_timestamp).timestamp())
        if run.tags.get(INLINE_TAG) or seen.get(run.run_id) == "T":
            continue
        location = _location_of(run)
        if location_name and location and location != location_name:
            continue
        if record.start_time is None:
            continue  # queued or starting: nothing to say yet
        run_id = lineage_run_id(run.run_id, record.create_timestamp)
        job_name = emitter.job_name(None, run.job_name)
        job_facets = emitter.job_facets("DAGSTER", "JOB")
        if run.run_id not in seen:
            emitter.event(
                RunState.START,
                job_name,
                run_id,
                event_time=_from_epoch(record.start_time, record.create_timestamp),
                job_facets=job_facets,
            )
            seen[run.run_id] = "S"
            emitted += 1
        state = _TERMINAL.get(run.status)
        if state is not None:
            extra: dict[str, Any] = {}
            if state is RunState.FAIL:
                extra["error"] = safe_error(_failure_message(instance, run.run_id))
            emitter.event(
                state,
                job_name,
                run_id,
                event_time=_from_epoch(record.end_time, record.update_timestamp),
                job_facets=job_facets,
                **extra,
            )
            seen.pop(run.run_id, None)
            seen[run.run_id] = "T"  # re-inserted: the newest ended runs come last
            emitted += 1
    if emitted:
        emitter.flush(None, limit=2.0)
    # Keep open runs, and the most recently ended ones: a run updated again after it ended
    # (tags added by hand) must not get a second START or terminal event.
    ended = [run_id for run_id, mark in seen.items() if mark == "T"][-_REMEMBERED_ENDED:]
    kept = {run_id: mark for run_id, mark in seen.items() if mark == "S"} | dict.fromkeys(
        ended, "T"
    )
    return json.dumps({"after": newest, "runs": kept})


def deliver_backlog(emitter: LineageEmitter) -> str:
    """Deliver what earlier processes spooled (bounded); a sentence for the tick's reason."""
    try:
        report = emitter.backend.deliver_backlog(BACKLOG_SECONDS)
    except Exception as exc:
        logger.warning("lineage sensor: backlog delivery failed: %s", redact(repr(exc)))
        return ""
    said = f"; delivered {report.delivered} spooled event(s)" if report.delivered else ""
    if report.remaining:
        said += f"; {report.remaining} spooled event(s) wait for the lineage backend"
    return said


def build_lineage_sensor(emitter: LineageEmitter) -> dg.SensorDefinition:
    """The ``floe_lineage_runs`` sensor (running by default; needs ``dagster-daemon``)."""

    @dg.sensor(
        name=LINEAGE_SENSOR_NAME,
        minimum_interval_seconds=_INTERVAL_SECONDS,
        default_status=dg.DefaultSensorStatus.RUNNING,
        description=(
            "Emits OpenLineage START and COMPLETE/FAIL/ABORT events of this code location's "
            f"Dagster runs to the lineage backend (namespace {emitter.namespace!r})."
        ),
    )
    def floe_lineage_runs(context: dg.SensorEvaluationContext) -> dg.SkipReason:
        origin = getattr(context, "code_location_origin", None)
        location = getattr(origin, "location_name", None)
        try:
            cursor = emit_run_lineage(
                emitter, context.instance, context.cursor, location_name=location
            )
        except Exception as exc:  # a storage hiccup: try again next tick
            logger.warning(
                "lineage sensor: tick failed: %s", redact(f"{type(exc).__name__}: {exc}")
            )
            return dg.SkipReason("lineage tick failed; retrying on the next tick")
        context.update_cursor(cursor)
        backlog = deliver_backlog(emitter)
        return dg.SkipReason(f"lineage emitted{backlog}; this sensor launches no runs")

    return floe_lineage_runs
