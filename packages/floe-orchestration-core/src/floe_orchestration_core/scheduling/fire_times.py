"""When a schedule fires: :func:`preview` and :func:`fire_times`, with Dagster's documented
daylight-saving semantics (see the package docstring)."""

from __future__ import annotations

from collections import deque
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta, tzinfo

import attrs

from floe_orchestration_core.errors import SchedulingError
from floe_orchestration_core.scheduling.cron import CronExpression
from floe_orchestration_core.scheduling.validation import validate_cron, validate_timezone

__all__ = ["MAX_PREVIEW_COUNT", "FireTime", "fire_times", "preview"]

#: Largest ``count`` :func:`preview` accepts.
MAX_PREVIEW_COUNT = 10_000

#: How far before ``start`` (in wall time) candidates are considered, so that the second
#: occurrence of a repeated wall time earlier than ``start``'s wall time is not missed. Larger
#: than any offset change in the tz database (Pacific/Apia skipped a whole day in 2011).
_LOOK_BEHIND = timedelta(hours=26)


@attrs.frozen
class FireTime:
    """One run of a schedule.

    ``at`` is the instant in the schedule's timezone and ``utc`` the same instant in UTC.
    ``scheduled_local`` is the naive wall time the cron asked for. ``shifted`` says that wall
    time did not exist (``at`` is the first wall time after the gap); ``ambiguous`` says it
    occurred twice and ``at`` is the occurrence chosen (``at.fold`` tells which).

    Compare and sort runs by ``utc``: Python (PEP 495) makes ``==`` between datetimes of
    different zones False whenever one is an ambiguous wall time, even for the same instant.
    """

    at: datetime
    utc: datetime
    shifted: bool
    ambiguous: bool
    scheduled_local: datetime


def _offset(moment: datetime) -> timedelta:
    offset = moment.utcoffset()
    if offset is None:
        raise SchedulingError(
            f"timezone {moment.tzinfo!r} gives no UTC offset for {moment.isoformat()}; "
            "use a zoneinfo.ZoneInfo (see validate_timezone)"
        )
    return offset


def _transition_end(wall: datetime, zone: tzinfo) -> datetime:
    """The first instant after the gap that swallowed the non-existent ``wall``, in ``zone``.

    With offsets ``before`` < ``after`` around the transition instant T, the gap is the
    wall-time interval [T + before, T + after); T lies in (wall - after, wall - before].
    """
    before = _offset(wall.replace(tzinfo=zone, fold=0))
    after = _offset(wall.replace(tzinfo=zone, fold=1))
    low = (wall - after).replace(tzinfo=UTC)  # before the transition
    high = (wall - before).replace(tzinfo=UTC)  # at or after it
    offset_before = _offset(low.astimezone(zone))
    while high - low > timedelta(seconds=1):
        middle = low + (high - low) // 2
        middle = middle.replace(microsecond=0)
        if middle <= low:
            break
        if _offset(middle.astimezone(zone)) == offset_before:
            low = middle
        else:
            high = middle
    return high.astimezone(zone)


def _instants(expression: CronExpression, wall: datetime, zone: tzinfo) -> list[FireTime]:
    """The runs ``wall`` produces: none, one, or (hourly-or-finer, repeated time) two."""
    first = wall.replace(tzinfo=zone, fold=0)
    second = wall.replace(tzinfo=zone, fold=1)
    first_offset, second_offset = _offset(first), _offset(second)
    if first_offset == second_offset:
        return [FireTime(first, first.astimezone(UTC), False, False, wall)]
    if first_offset < second_offset:  # a gap: the wall time does not exist
        if expression.is_hourly_or_finer:
            return []
        moved = _transition_end(wall, zone)
        return [FireTime(moved, moved.astimezone(UTC), True, False, wall)]
    later = FireTime(second, second.astimezone(UTC), False, True, wall)
    if expression.is_hourly_or_finer:
        return [FireTime(first, first.astimezone(UTC), False, True, wall), later]
    return [later]


def fire_times(expression: CronExpression, zone: tzinfo, start: datetime) -> Iterator[FireTime]:
    """Every run of ``expression`` in ``zone`` at or after the aware instant ``start``.

    Strictly increasing, without duplicates, until the calendar ends (year 9999). Use
    :func:`preview` unless you already hold a validated expression and zone.
    """
    start_utc = start.astimezone(UTC)
    start_wall = start.astimezone(zone).replace(tzinfo=None)
    scan_from = (
        start_wall - _LOOK_BEHIND if start_wall - datetime.min > _LOOK_BEHIND else datetime.min
    )
    # Runs mapped with the first occurrence are increasing in wall order; so are the second
    # occurrences of repeated wall times (hourly-or-finer). Merge the two increasing streams.
    second_occurrences: deque[FireTime] = deque()
    last: datetime | None = None
    try:
        for wall in expression.wall_times(scan_from):
            runs = _instants(expression, wall, zone)
            if not runs:
                continue
            main, *later = runs
            while second_occurrences and second_occurrences[0].utc < main.utc:
                pending = second_occurrences.popleft()
                if pending.utc >= start_utc and (last is None or pending.utc > last):
                    last = pending.utc
                    yield pending
            second_occurrences.extend(later)
            if main.utc >= start_utc and (last is None or main.utc > last):
                last = main.utc
                yield main
    except OverflowError:
        return  # instants past year 9999 cannot be represented
    for pending in second_occurrences:
        if pending.utc >= start_utc and (last is None or pending.utc > last):
            last = pending.utc
            yield pending


def preview(
    cron: str,
    timezone: str = "UTC",
    *,
    start: datetime | None = None,
    count: int = 10,
) -> list[FireTime]:
    """The first ``count`` runs of ``cron`` in ``timezone`` at or after ``start``.

    ``start`` must be timezone-aware (default: now). Raises InvalidCronError,
    InvalidTimezoneError, or SchedulingError for a naive ``start``, a ``count`` outside
    1-10000, or a schedule with fewer than ``count`` runs before the end of year 9999.

    >>> [f.at.isoformat() for f in preview("30 2 * * *", "America/New_York",
    ...     start=datetime(2026, 3, 7, tzinfo=UTC), count=2)]
    ['2026-03-07T02:30:00-05:00', '2026-03-08T03:00:00-04:00']
    """
    expression = validate_cron(cron)
    zone = validate_timezone(timezone)
    if isinstance(count, bool) or not isinstance(count, int):
        raise SchedulingError(
            f"count must be an integer between 1 and {MAX_PREVIEW_COUNT}, got {count!r}"
        )
    if not 1 <= count <= MAX_PREVIEW_COUNT:
        raise SchedulingError(
            f"count must be between 1 and {MAX_PREVIEW_COUNT}, got {count}; ask for fewer "
            "fire times or preview again from a later start"
        )
    if start is None:
        start = datetime.now(UTC)
    elif not isinstance(start, datetime):
        raise SchedulingError(
            f"start must be a timezone-aware datetime, got {type(start).__name__}; pass e.g. "
            "datetime(2026, 1, 1, tzinfo=ZoneInfo('Europe/Paris'))"
        )
    elif start.tzinfo is None or start.utcoffset() is None:
        raise SchedulingError(
            f"start {start.isoformat()} is a naive datetime; pass a timezone-aware datetime, "
            "e.g. datetime(2026, 1, 1, tzinfo=ZoneInfo('Europe/Paris')) or "
            "datetime.now(timezone.utc)"
        )
    runs: list[FireTime] = []
    for run in fire_times(expression, zone, start):
        runs.append(run)
        if len(runs) == count:
            return runs
    raise SchedulingError(
        f"cron {cron!r} fires only {len(runs)} time(s) in {timezone} between "
        f"{start.isoformat()} and the end of year 9999, fewer than the {count} asked for; "
        "ask for fewer fire times"
    )
