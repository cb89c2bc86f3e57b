"""``floe logs``: one run's events and captured output, read from the product's instance.

The run is found by its whole id or a unique prefix (``floe status`` prints eight
characters); otherwise :class:`~floe_orchestration_core.run_log.RunNotFoundError` names the
runs a prefix could mean, or the close ids and the latest runs.

Events are the instance's event log (``DagsterInstance.all_logs``), kept when a user acts on
them: run start and end, step start/success/failure/skip/retry, materializations, check
evaluations, and messages the product's code logged at INFO or above (Dagster's own DEBUG
chatter, outputs, inputs and engine events are left out). The captured output is what the
compute log manager stored for each ``LOGS_CAPTURED`` event: one process of an in-process run
(every step), or one per step process of a run the daemon launched.

Works whether or not ``floe up`` runs: the storage is shared. A product that never ran (no
instance storage yet) has no runs, and nothing is created for it.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, Literal

import attrs

from floe_orchestration_core.graph.close_matches import close_matches
from floe_orchestration_core.run_log import (
    CapturedOutput,
    RunBrief,
    RunLog,
    RunLogEntry,
    RunNotFoundError,
)
from floe_orchestration_core.runtime import ProductWorkspace
from floe_orchestrator_dagster.runtime.home import open_instance

if TYPE_CHECKING:
    import dagster as dg

__all__ = ["LATEST_RUNS", "read_run_log"]

#: How many of the latest runs an unknown run id's error lists.
LATEST_RUNS = 5

Level = Literal["info", "warning", "error"]

_RUN_EVENTS: dict[str, tuple[str, Level]] = {
    "RUN_START": ("run started", "info"),
    "RUN_SUCCESS": ("run succeeded", "info"),
    "RUN_FAILURE": ("run failed", "error"),
    "RUN_CANCELED": ("run canceled", "warning"),
}


def _time(timestamp: float | None) -> datetime | None:
    return None if timestamp is None else datetime.fromtimestamp(timestamp, UTC)


def _brief(record: Any) -> RunBrief:
    run = record.dagster_run
    return RunBrief(
        run_id=run.run_id,
        job=run.job_name,
        status=run.status.value.lower(),
        started=_time(record.start_time),
    )


def _briefs(instance: dg.DagsterInstance, run_ids: list[str]) -> tuple[RunBrief, ...]:
    import dagster as dg

    if not run_ids:
        return ()
    records = instance.get_run_records(filters=dg.RunsFilter(run_ids=run_ids))
    by_id = {record.dagster_run.run_id: _brief(record) for record in records}
    return tuple(by_id[run_id] for run_id in run_ids if run_id in by_id)


def _resolve(instance: dg.DagsterInstance, run_id: str) -> Any:
    """The run record of ``run_id`` or of the one run whose id starts with it."""
    import dagster as dg

    exact = instance.get_run_records(filters=dg.RunsFilter(run_ids=[run_id]), limit=1)
    if exact:
        return exact[0]
    ids = [str(found) for found in instance.get_run_ids()]
    starting = [found for found in ids if found.startswith(run_id)]
    if len(starting) == 1:
        return instance.get_run_records(filters=dg.RunsFilter(run_ids=starting), limit=1)[0]
    latest = tuple(_brief(r) for r in instance.get_run_records(limit=LATEST_RUNS))
    if starting:
        raise RunNotFoundError.unknown(
            run_id, candidates=_briefs(instance, starting), latest=latest, ambiguous=True
        )
    prefixes = {found[: len(run_id)]: found for found in ids}
    close = [prefixes[p] for p in close_matches(run_id, prefixes)]
    raise RunNotFoundError.unknown(run_id, candidates=_briefs(instance, close), latest=latest)


def _error_text(error: Any) -> tuple[str, str | None]:
    """(message, full text) of a Dagster ``SerializableErrorInfo`` (or None): the message of
    the error that caused the others (a step's exception, not Dagster's wrapper around it),
    and the whole chain with its tracebacks."""
    if error is None:
        return "", None
    innermost = error
    while getattr(innermost, "cause", None) is not None:
        innermost = innermost.cause
    message = (getattr(innermost, "message", "") or "").strip()
    try:
        detail = error.to_string()
    except Exception:
        detail = message
    return message, detail


def _level(python_level: int) -> Level:
    if python_level >= logging.ERROR:
        return "error"
    return "warning" if python_level >= logging.WARNING else "info"


def _run_entry(kind: str, event: Any, time: datetime, step: str | None) -> RunLogEntry:
    message, level = _RUN_EVENTS[kind]
    error, detail = _error_text(getattr(event.event_specific_data, "error", None))
    return RunLogEntry(time, "run", message + (f": {error}" if error else ""), level, None, detail)


def _step_entry(kind: str, event: Any, time: datetime, step: str | None) -> RunLogEntry:
    data = event.event_specific_data
    if kind in ("STEP_FAILURE", "STEP_UP_FOR_RETRY"):
        error, detail = _error_text(getattr(data, "error", None))
        failed = kind == "STEP_FAILURE"
        what = "FAILED" if failed else "failed and will be retried"
        message = f"step {step} {what}" + (f": {error}" if error else "")
        return RunLogEntry(time, "step", message, "error" if failed else "warning", step, detail)
    if kind == "STEP_SUCCESS":
        duration = getattr(data, "duration_ms", None)
        took = f" in {duration / 1000:.1f} s" if duration is not None else ""
        return RunLogEntry(time, "step", f"step {step} succeeded{took}", "info", step)
    if kind == "STEP_SKIPPED":
        return RunLogEntry(time, "step", f"step {step} skipped", "warning", step)
    return RunLogEntry(time, "step", f"step {step} started", "info", step)


def _asset_entry(kind: str, event: Any, time: datetime, step: str | None) -> RunLogEntry | None:
    if kind == "ASSET_MATERIALIZATION":
        if event.asset_key is None:
            return None
        asset = event.asset_key.to_user_string()
        return RunLogEntry(time, "materialization", f"materialized {asset}", "info", step)
    data = event.event_specific_data
    severity = str(getattr(getattr(data, "severity", None), "value", "ERROR")).upper()
    outcome: str = "passed"
    level: Level = "info"
    if not data.passed:
        outcome = "FAILED" + ("" if severity == "ERROR" else f" ({severity.lower()})")
        level = "error" if severity == "ERROR" else "warning"
    message = f"check {data.check_name} on {data.asset_key.to_user_string()}: {outcome}"
    return RunLogEntry(time, "check", message, level, step)


#: Dagster event type name -> the function making its entry; other events are not shown.
_ENTRIES: dict[str, Callable[[str, Any, datetime, str | None], RunLogEntry | None]] = {
    **dict.fromkeys(_RUN_EVENTS, _run_entry),
    **dict.fromkeys(
        ("STEP_START", "STEP_SUCCESS", "STEP_FAILURE", "STEP_UP_FOR_RETRY", "STEP_SKIPPED"),
        _step_entry,
    ),
    **dict.fromkeys(("ASSET_MATERIALIZATION", "ASSET_CHECK_EVALUATION"), _asset_entry),
}


def _entry(entry: Any) -> tuple[RunLogEntry | None, Any]:
    """The :class:`RunLogEntry` of one event log entry (None: not shown), and the
    ``LOGS_CAPTURED`` data of one that announces captured output."""
    time = _time(entry.timestamp) or datetime.now(UTC)
    event = entry.dagster_event
    if event is None:  # a message the product's code (or a library) logged
        if entry.level < logging.INFO:
            return None, None
        return RunLogEntry(
            time, "log", entry.user_message, _level(entry.level), entry.step_key
        ), None
    if event.event_type.name == "LOGS_CAPTURED":
        return None, event.event_specific_data
    make = _ENTRIES.get(event.event_type.name)
    return (make(event.event_type.name, event, time, entry.step_key) if make else None), None


def _captured(instance: dg.DagsterInstance, run_id: str, data: Any) -> CapturedOutput:
    manager = instance.compute_log_manager
    log_key = manager.build_log_key_for_run(run_id, data.file_key)
    captured = manager.get_log_data(log_key)
    return CapturedOutput(
        steps=tuple(data.step_keys or ()),
        stdout=(captured.stdout or b"").decode("utf-8", errors="replace"),
        stderr=(captured.stderr or b"").decode("utf-8", errors="replace"),
    )


def read_run_log(workspace: ProductWorkspace, run_id: str) -> RunLog:
    """The :class:`RunLog` of ``run_id`` (or a unique prefix of it) in ``workspace``."""
    storage = workspace.storage
    if storage.kind == "sqlite" and not (storage.sqlite_dir and storage.sqlite_dir.is_dir()):
        raise RunNotFoundError.unknown(run_id)
    instance = open_instance(workspace)
    try:
        record = _resolve(instance, run_id)
        found = record.dagster_run.run_id
        entries: list[RunLogEntry] = []
        output: list[CapturedOutput] = []
        for log_entry in instance.all_logs(found):
            entry, captured = _entry(log_entry)
            if entry is not None:
                entries.append(entry)
            if captured is not None:
                output.append(_captured(instance, found, captured))
        brief = _brief(record)
        if any(e.kind == "step" and e.level == "error" for e in entries):
            # Dagster repeats the first failed step's error on the run: say it once.
            entries = [
                attrs.evolve(e, message="run failed (the failed steps are above)")
                if e.kind == "run" and e.level == "error"
                else e
                for e in entries
            ]
        return RunLog(
            run_id=found,
            job=brief.job,
            status=brief.status,
            started=brief.started,
            ended=_time(record.end_time),
            entries=tuple(entries),
            output=tuple(output),
        )
    finally:
        instance.dispose()
