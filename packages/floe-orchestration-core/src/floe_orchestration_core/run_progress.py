"""A run's progress as structured events, for a caller that draws more than lines.

:meth:`RunLauncher.run <floe_orchestration_core.runtime.RunLauncher.run>` takes a
``progress`` callable that receives one human line per event. A caller that wants the events
themselves (``floe run``'s live view: assets done of total, failures so far, the steps running
now) passes a :class:`RunObserver` as ``progress``: it is still called with every line, and
its :meth:`RunObserver.event` receives each :class:`RunEvent`. A launcher reports an event
with :func:`report_run_event`: an observer gets the event, a plain callable the event's human
line; the port's signature is unchanged, and an observer of a launcher that reports no events
still gets every line.

Implementer's checklist (for a ``RunLauncher._run``):

- ``planned`` once, before the first step, with ``total`` = the assets the run will try
  (the selected ones, or all of them);
- ``step_started`` / ``step_succeeded`` / ``step_failed`` for each step, and
  ``step_retrying`` when a failed step will run again (``message``: one line saying why);
- ``materialized`` for each asset built (``name``: the asset key as ``a/b``), ``check`` for
  each check evaluated (``passed``, ``severity``: ``ERROR`` or ``WARN``).

Standard library and ``attrs`` only: the CLI imports this module before any adapter.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Literal

import attrs

__all__ = ["RunEvent", "RunEventKind", "RunObserver", "report_run_event"]

RunEventKind = Literal[
    "planned",
    "step_started",
    "step_succeeded",
    "step_failed",
    "step_retrying",
    "materialized",
    "check",
]


@attrs.frozen
class RunEvent:
    """One thing that happened in a run (see the module docstring for each ``kind``).

    ``name``: the step key, asset key (``a/b``) or check name; ``asset``: the checked asset
    of a ``check``; ``total``: the assets a ``planned`` run will try.
    """

    kind: RunEventKind
    name: str = ""
    asset: str = ""
    passed: bool = True
    severity: str = "ERROR"
    message: str = ""
    total: int = 0


class RunObserver:
    """A ``progress`` callable that also receives the run's :class:`RunEvent` values.

    Subclasses override :meth:`line` (each human line) and :meth:`event`; both do nothing
    here. The launcher calls the observer from the thread running the run (or its event
    listener), so an observer that also draws on a timer must lock.
    """

    def __call__(self, line: str) -> None:
        self.line(line)

    def line(self, text: str) -> None:
        """One human progress line (``dbt parse …``, ``running in-process``)."""

    def event(self, event: RunEvent) -> None:
        """One structured event of the run."""


def report_run_event(progress: Callable[[str], None], event: RunEvent, line: str | None) -> None:
    """``event`` to ``progress`` when it is a :class:`RunObserver`, else ``line`` (if any)."""
    if isinstance(progress, RunObserver):
        progress.event(event)
    elif line is not None:
        progress(line)
