"""The scheduling port: cron and IANA timezone validation, and a preview of fire times.

Checklist for an orchestrator adapter (and for anyone showing a schedule to a user):

- Validate every schedule with :func:`validate_cron` and :func:`validate_timezone` before
  creating native schedules; both raise :class:`~floe_orchestration_core.errors.SchedulingError`
  subclasses whose messages explain the cron format or list close timezone names.
  ``ScheduleConfig`` in the artifacts already calls them.
- The cron dialect (what is accepted and refused) is described in
  :mod:`floe_orchestration_core.cron`; everything it accepts is accepted by Dagster too.
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
"""

from __future__ import annotations

import difflib
import functools
import re
import zoneinfo
from collections import deque
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta, tzinfo

import attrs

from floe_orchestration_core.cron import FORMAT_HELP, CronExpression, parse_cron
from floe_orchestration_core.errors import (
    InvalidCronError,
    InvalidTimezoneError,
    SchedulingError,
)

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

#: Largest ``count`` :func:`preview` accepts.
MAX_PREVIEW_COUNT = 10_000

#: How far before ``start`` (in wall time) candidates are considered, so that the second
#: occurrence of a repeated wall time earlier than ``start``'s wall time is not missed. Larger
#: than any offset change in the tz database (Pacific/Apia skipped a whole day in 2011).
_LOOK_BEHIND = timedelta(hours=26)
_MAX_SUGGESTIONS = 5
_TIMEZONE_NAME = re.compile(r"^[A-Za-z0-9_+\-]+(?:/[A-Za-z0-9_+\-]+)*$")
_MAX_TIMEZONE_NAME_LENGTH = 64


def validate_cron(expression: str) -> CronExpression:
    """Parse and validate a cron expression; raise InvalidCronError explaining the format.

    Results are cached, so validating the same schedule many times is cheap.
    """
    if not isinstance(expression, str):
        raise InvalidCronError(
            f"a cron expression must be a string, got {type(expression).__name__}. {FORMAT_HELP}"
        )
    return _cached_cron(expression)


@functools.lru_cache(maxsize=1024)
def _cached_cron(expression: str) -> CronExpression:
    return parse_cron(expression)


@functools.lru_cache(maxsize=1)
def _known_timezones() -> frozenset[str]:
    """The IANA names zoneinfo can load (read from disk once, on first use)."""
    return frozenset(zoneinfo.available_timezones())


def _suggestions(name: str) -> list[str]:
    known = _known_timezones()
    by_lower: dict[str, str] = {}
    for zone in sorted(known):
        by_lower.setdefault(zone.lower(), zone)
    wanted = name.lower()[:_MAX_TIMEZONE_NAME_LENGTH]
    found: list[str] = []
    if wanted in by_lower:
        found.append(by_lower[wanted])
    if "/" not in wanted:
        # 'new_york' → 'America/New_York': compare with the last component too.
        found.extend(zone for lower, zone in by_lower.items() if lower.rsplit("/", 1)[-1] == wanted)
    found.extend(
        by_lower[lower]
        for lower in difflib.get_close_matches(wanted, by_lower, n=_MAX_SUGGESTIONS, cutoff=0.6)
    )
    return list(dict.fromkeys(found))[:_MAX_SUGGESTIONS]


def validate_timezone(name: str) -> zoneinfo.ZoneInfo:
    """The ZoneInfo for an IANA timezone name such as ``'Europe/Paris'`` or ``'UTC'``.

    Names are exact (case-sensitive, as on Linux). Raises InvalidTimezoneError listing up to
    five close matches otherwise.
    """
    if not isinstance(name, str):
        raise InvalidTimezoneError(
            f"a timezone must be a string naming an IANA timezone such as 'Europe/Paris', "
            f"got {type(name).__name__}"
        )
    if (
        len(name) > _MAX_TIMEZONE_NAME_LENGTH
        or not _TIMEZONE_NAME.match(name)
        or ".." in name.split("/")
    ):
        shown = name if len(name) <= _MAX_TIMEZONE_NAME_LENGTH else name[:40] + "…"
        raise InvalidTimezoneError(
            f"{shown!r} is not an IANA timezone name; names look like 'Area/City' "
            "(e.g. 'Europe/Paris', 'America/New_York') or 'UTC', using letters, digits, "
            "'_', '-', '+' and '/' only"
        )
    if name in _known_timezones():
        try:
            return zoneinfo.ZoneInfo(name)
        except (zoneinfo.ZoneInfoNotFoundError, ValueError, OSError) as exc:
            raise InvalidTimezoneError(
                f"timezone {name!r} is listed but cannot be loaded ({exc}); reinstall the "
                "'tzdata' package"
            ) from exc
    close = _suggestions(name)
    hint = f"; did you mean {', '.join(repr(zone) for zone in close)}?" if close else ""
    raise InvalidTimezoneError(
        f"unknown timezone {name!r}: expected an IANA timezone name such as 'Europe/Paris' "
        f"or 'UTC'{hint}"
    )


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
