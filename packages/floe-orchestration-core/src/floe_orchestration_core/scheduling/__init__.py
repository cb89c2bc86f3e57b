"""The scheduling port: cron and IANA timezone validation, and a preview of fire times.

Checklist for an orchestrator adapter (and for anyone showing a schedule to a user):

- Validate every schedule with :func:`validate_cron` and :func:`validate_timezone` before
  creating native schedules; both raise :class:`~floe_orchestration_core.errors.SchedulingError`
  subclasses whose messages explain the cron format or list close timezone names.
  ``ScheduleConfig`` in the artifacts already calls them.
- The cron dialect (what is accepted and refused) is described in
  :mod:`floe_orchestration_core.scheduling.cron`; everything it accepts is accepted by Dagster too.
- Show users when a schedule fires with :func:`preview`; it follows Dagster's documented
  daylight-saving semantics, so an adapter whose orchestrator behaves differently must say so:

  * a wall time that does not exist (spring forward) runs at the first wall time that exists
    after the gap (New York: 02:30 runs at 03:00), flagged ``shifted``;
  * a wall time that occurs twice (fall back) runs once, at its second occurrence, flagged
    ``ambiguous``;
  * schedules that select every hour ("hourly or finer", e.g. ``0 * * * *``,
    ``*/30 * * * *``) instead skip wall times that do not exist and run at both occurrences
    of repeated wall times, so they fire at every real hour.

- Instants are timezone-aware; ``FireTime.at`` is in the schedule's timezone and
  ``FireTime.utc`` in UTC. Naive datetimes are refused, never guessed.

Modules: :mod:`~floe_orchestration_core.scheduling.cron` (the parser and matcher),
:mod:`~floe_orchestration_core.scheduling.validation` (``validate_cron``, ``validate_timezone``),
:mod:`~floe_orchestration_core.scheduling.fire_times` (``preview``, ``fire_times``).
"""

from __future__ import annotations

from floe_orchestration_core.scheduling.cron import FORMAT_HELP, CronExpression
from floe_orchestration_core.scheduling.fire_times import (
    MAX_PREVIEW_COUNT,
    FireTime,
    fire_times,
    preview,
)
from floe_orchestration_core.scheduling.validation import validate_cron, validate_timezone

__all__ = [
    "FORMAT_HELP",
    "MAX_PREVIEW_COUNT",
    "CronExpression",
    "FireTime",
    "fire_times",
    "preview",
    "validate_cron",
    "validate_timezone",
]
