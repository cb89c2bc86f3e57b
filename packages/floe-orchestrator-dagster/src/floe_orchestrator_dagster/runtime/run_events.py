"""One run's progress: a line per event, and the counts ``floe run`` summarises.

:class:`RunTally` counts the materializations, check results and failed steps of one run and
prints a progress line for each; :func:`tally_event` feeds it the Dagster events of an
in-process run, :func:`tally_graphql` the events the webserver's GraphQL API returns.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any, Literal

from floe_orchestration_core.run_progress import RunEvent, report_run_event
from floe_orchestration_core.runtime import Progress, RunSummary

__all__ = ["RunOutcome", "RunTally", "failure_headline", "tally_event", "tally_graphql"]

#: How a run that ended ended.
RunOutcome = Literal["success", "failure", "canceled"]


class RunTally:
    """Counts of one run's events, and the progress line for each."""

    def __init__(self, progress: Progress) -> None:
        self.progress = progress
        self.materialized: list[str] = []
        self.passed: list[str] = []
        self.failed: list[str] = []
        self.failed_steps: list[str] = []

    def materialization(self, asset: str) -> None:
        self.materialized.append(asset)
        line = f"  materialized {asset}"
        report_run_event(self.progress, RunEvent("materialized", asset), line)

    def check(self, name: str, asset: str, passed: bool, severity: str = "ERROR") -> None:
        warn = "" if severity.upper() == "ERROR" else f" ({severity.lower()})"
        (self.passed if passed else self.failed).append(f"{asset}:{name}{warn}")
        outcome = "passed" if passed else f"FAILED{warn}"
        event = RunEvent("check", name, asset=asset, passed=passed, severity=severity.upper())
        report_run_event(self.progress, event, f"  check {name} on {asset}: {outcome}")

    def summary(
        self,
        run_id: str,
        status: RunOutcome,
        *,
        where: Literal["webserver", "in-process"],
        duration_s: float,
        url: str | None = None,
    ) -> RunSummary:
        """The :class:`RunSummary` of the run, with what was counted."""
        return RunSummary(
            run_id=run_id,
            status=status,
            where=where,
            assets_materialized=tuple(self.materialized),
            checks_passed=tuple(self.passed),
            checks_failed=tuple(self.failed),
            failed_steps=tuple(self.failed_steps),
            duration_s=duration_s,
            url=url,
        )

    def planned(self, total: int) -> None:
        """The run will try ``total`` assets (for a live view's "done of total")."""
        report_run_event(self.progress, RunEvent("planned", total=total), None)

    def step_started(self, step: str) -> None:
        report_run_event(self.progress, RunEvent("step_started", step), f"step {step} started")

    def step_succeeded(self, step: str) -> None:
        report_run_event(self.progress, RunEvent("step_succeeded", step), None)

    def step_failed(self, step: str, message: str) -> None:
        self.failed_steps.append(step)
        first = failure_headline(message)
        line = f"step {step} FAILED{': ' + first if first else ''}"
        report_run_event(self.progress, RunEvent("step_failed", step, message=first), line)

    def step_retrying(self, step: str, message: str) -> None:
        first = failure_headline(message)
        line = f"step {step} failed, retrying{': ' + first if first else ''}"
        report_run_event(self.progress, RunEvent("step_retrying", step, message=first), line)


def failure_headline(message: str) -> str:
    """One line saying why a step failed: for dagster-dbt's error, the first dbt failure and
    its cause (``Failure in model m (models/m.sql): Binder Error: …``); else the first line
    (of the innermost cause, which :func:`tally_event` puts first)."""
    lines = [line.strip() for line in message.strip().splitlines()]
    if _DBT_ERRORS in lines:
        rest = lines[lines.index(_DBT_ERRORS) + 1 :]
        failure = next((line for line in rest if line.startswith("Failure in ")), None)
        if failure is not None:
            after = [line for line in rest[rest.index(failure) + 1 :] if line][:2]
            if after and " Error in " in after[0]:  # "Runtime Error in model m (…)": the cause
                after = after[1:]
            return f"{failure}: {after[0]}"[:300] if after else failure[:300]
    return next((line for line in lines if line), "")[:300]


#: The line of dagster-dbt's error after which dbt's own error lines follow.
_DBT_ERRORS = "Errors parsed from dbt logs:"


def tally_event(tally: RunTally, event: Any) -> None:
    """Count and print one Dagster event of an in-process run (a ``DagsterEvent``)."""
    import dagster as dg

    kind = event.event_type
    if kind == dg.DagsterEventType.STEP_START:
        tally.step_started(event.step_key or "?")
    elif kind == dg.DagsterEventType.STEP_SUCCESS:
        tally.step_succeeded(event.step_key or "?")
    elif kind == dg.DagsterEventType.ASSET_MATERIALIZATION and event.asset_key is not None:
        tally.materialization(event.asset_key.to_user_string())
    elif kind == dg.DagsterEventType.ASSET_CHECK_EVALUATION:
        data = event.event_specific_data
        severity = getattr(getattr(data, "severity", None), "value", "ERROR")
        tally.check(data.check_name, data.asset_key.to_user_string(), bool(data.passed), severity)
    elif kind == dg.DagsterEventType.STEP_FAILURE:
        error = getattr(event.event_specific_data, "error", None)
        tally.step_failed(event.step_key or "?", _error_text(error))
    elif kind == dg.DagsterEventType.STEP_UP_FOR_RETRY:
        error = getattr(event.event_specific_data, "error", None)
        tally.step_retrying(event.step_key or "?", _error_text(error))


def _error_text(error: Any) -> str:
    """A Dagster error's message and its causes' (innermost last), one after the other."""
    messages: list[str] = []
    while error is not None and len(messages) < 10:
        messages.append(getattr(error, "message", "") or "")
        error = getattr(error, "cause", None)
    return "\n".join(reversed(messages))


def _path(key: Mapping[str, Any] | None) -> str:
    return "/".join((key or {}).get("path", []))


def tally_graphql(tally: RunTally, events: Iterable[Mapping[str, Any]]) -> None:
    """Count and print the events of a run read through the webserver's GraphQL ``logsForRun``."""
    for event in events:
        kind = event.get("__typename")
        if kind == "ExecutionStepStartEvent":
            tally.step_started(event.get("stepKey") or "?")
        elif kind == "ExecutionStepSuccessEvent":
            tally.step_succeeded(event.get("stepKey") or "?")
        elif kind == "MaterializationEvent":
            tally.materialization(_path(event.get("assetKey")))
        elif kind == "AssetCheckEvaluationEvent":
            evaluation = event["evaluation"]
            tally.check(
                evaluation["checkName"],
                _path(evaluation["assetKey"]),
                bool(evaluation["success"]),
                evaluation.get("severity") or "ERROR",
            )
        elif kind == "ExecutionStepFailureEvent":
            tally.step_failed(event.get("stepKey") or "?", event.get("message") or "")
        elif kind == "ExecutionStepUpForRetryEvent":
            tally.step_retrying(event.get("stepKey") or "?", event.get("message") or "")
