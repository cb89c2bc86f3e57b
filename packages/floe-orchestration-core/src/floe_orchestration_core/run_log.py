"""A run's log as ``floe logs`` shows it: :class:`RunLog`, its entries and captured output.

An orchestrator's local runtime reads it from the product's instance
(:meth:`LocalRuntime.run_log <floe_orchestration_core.runtime.LocalRuntime.run_log>`).

Implementer's checklist (for ``LocalRuntime._run_log``):

- Accept a whole run id or a unique prefix of one (``floe status`` prints eight characters).
  A prefix of several runs, or an id of none, is :class:`RunNotFoundError` with
  ``candidates`` (the runs it could mean, or the close ones) and ``latest`` (the most recent
  runs), newest first.
- :attr:`RunLog.entries` in time order, one per event a user acts on: the run's start and
  end (``run``), each step's start, success, failure, skip and retry (``step``), each asset
  materialized (``materialization``), each check evaluated (``check``) and each message the
  product's code logged at INFO or above (``log``). A failure's ``message`` is the error's
  message; ``detail`` holds the whole error (its traceback and causes).
- :attr:`RunLog.output`: the stdout and stderr the run's processes printed (dbt's log,
  ``print`` in Python assets), one :class:`CapturedOutput` per process with the steps it ran.
- Times are timezone-aware UTC ``datetime`` values.

Standard library and ``attrs`` only: the CLI imports this module before any adapter.
"""

from __future__ import annotations

from datetime import datetime
from typing import Literal

import attrs

from floe_orchestration_core.errors import RuntimeServiceError

__all__ = ["CapturedOutput", "RunBrief", "RunLog", "RunLogEntry", "RunNotFoundError"]

EntryKind = Literal["run", "step", "materialization", "check", "log"]


@attrs.frozen
class RunBrief:
    """One run, in a few words: for lists of candidates and of the latest runs."""

    run_id: str
    job: str
    status: str
    started: datetime | None = None


@attrs.frozen
class RunLogEntry:
    """One event of a run. ``level`` is ``info``, ``warning`` or ``error``; ``step`` names
    the step (None for run-level events); ``detail`` is a failure's full error text."""

    time: datetime
    kind: EntryKind
    message: str
    level: Literal["debug", "info", "warning", "error"] = "info"
    step: str | None = None
    detail: str | None = None


@attrs.frozen
class CapturedOutput:
    """What one process of the run printed, and the steps it ran."""

    steps: tuple[str, ...]
    stdout: str
    stderr: str


@attrs.frozen
class RunLog:
    """A run's events and its processes' output."""

    run_id: str
    job: str
    status: str
    started: datetime | None
    ended: datetime | None
    entries: tuple[RunLogEntry, ...] = ()
    output: tuple[CapturedOutput, ...] = ()


class RunNotFoundError(RuntimeServiceError):
    """No run has this id (or the prefix matches several); ``candidates`` are the runs it
    could mean or the close ones, ``latest`` the most recent runs, newest first."""

    def __init__(
        self,
        message: str,
        *,
        run_id: str,
        candidates: tuple[RunBrief, ...] = (),
        latest: tuple[RunBrief, ...] = (),
    ) -> None:
        super().__init__(message)
        self.run_id = run_id
        self.candidates = candidates
        self.latest = latest

    @classmethod
    def unknown(
        cls,
        run_id: str,
        *,
        candidates: tuple[RunBrief, ...] = (),
        latest: tuple[RunBrief, ...] = (),
        ambiguous: bool = False,
    ) -> RunNotFoundError:
        """The error for ``run_id``: a prefix of several ``candidates`` (``ambiguous``), or
        no run, with the close ``candidates`` and the ``latest`` runs."""
        if ambiguous:
            message = (
                f"run id {run_id!r} is the start of {len(candidates)} runs: "
                f"{_listed(candidates)}; give more of the id"
            )
        elif not latest:
            message = f"no run {run_id!r}: the product has no runs yet; start one with 'floe run'"
        else:
            close = f"; did you mean {_listed(candidates)}?" if candidates else ""
            message = (
                f"no run {run_id!r} in the product's instance{close}; latest runs: "
                f"{_listed(latest)} ('floe status' lists them)"
            )
        return cls(message, run_id=run_id, candidates=candidates, latest=latest)


def _listed(runs: tuple[RunBrief, ...]) -> str:
    return ", ".join(
        f"{run.run_id[:8]} ({run.status}, {run.job}"
        + (f", started {run.started.isoformat(timespec='seconds')}" if run.started else "")
        + ")"
        for run in runs
    )
