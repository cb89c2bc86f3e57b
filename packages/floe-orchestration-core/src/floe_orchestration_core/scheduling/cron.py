"""Cron expressions: parse the standard 5-field syntax, match calendar dates, list wall times.

This module knows calendars, not timezones: it answers "which local wall-clock minutes does
this cron select?". Turning wall times into instants (daylight-saving gaps and folds) is the
job of :mod:`floe_orchestration_core.scheduling`.

Checklist of the accepted syntax (the Vixie/croniter dialect Dagster accepts, minus traps):

- Exactly 5 fields separated by whitespace: minute (0-59), hour (0-23), day-of-month (1-31),
  month (1-12 or JAN-DEC), day-of-week (0-7 or SUN-SAT; 0 and 7 are Sunday). Names are
  case-insensitive and may be range ends (``MON-FRI``, ``jan-mar``).
- Items, separated by commas: ``*``, ``N``, ``A-B``, ``*/S``, ``A-B/S``, ``N/S`` (from N to the
  field's maximum every S). ``?`` means ``*`` in the day-of-month and day-of-week fields.
- Day-of-month ``L`` is the last day of the month; ``N-L`` runs from N to the month's end.
- Day-of-week ``D#N`` is the N-th (1-5) weekday D of the month (``FRI#2``); ``LD`` is the last
  weekday D of the month (``L5``, last Friday). They cannot be mixed with plain weekdays.
- Macros, written exactly and alone: ``@yearly`` ``@annually`` ``@monthly`` ``@weekly``
  ``@daily`` ``@midnight`` ``@hourly``.
- When both day fields are restricted, a day matches if EITHER matches (croniter's rule,
  which Dagster uses; a field counts as unrestricted when it is ``*``/``?``, or when it lists
  every value and the other day field contains a ``*``).

Refused (each with an :class:`~floe_orchestration_core.errors.InvalidCronError` naming the
field, the value and the allowed range, and ending with :data:`FORMAT_HELP`):

- anything but 5 fields (seconds or years fields), empty items, unknown names or macros;
- values out of range, step 0, a step larger than the field's span (``*/90`` in minutes
  silently means "minute 0" in cron), reversed ranges (``5-1``) and single-value ranges
  (``5-5``; croniter reads both as "wrap around", which nobody means);
- day-of-month values that exist in none of the selected months (``0 0 30 2 *``,
  ``0 0 31 4,6,9,11 *``), even when a day-of-week is also given. ``29 2`` is valid: leap years.
"""

from __future__ import annotations

import calendar
import re
from collections.abc import Iterator, Mapping
from datetime import date, datetime, time, timedelta

import attrs

from floe_orchestration_core.errors import InvalidCronError

__all__ = [
    "FORMAT_HELP",
    "MACROS",
    "CronExpression",
    "parse_cron",
]

FORMAT_HELP = (
    "cron has 5 fields: minute hour day-of-month month day-of-week, e.g. '0 8 * * MON-FRI'; "
    "macros: @hourly @daily @weekly @monthly @yearly"
)

#: The macros cron accepts, and the 5-field expression each stands for.
MACROS: Mapping[str, str] = {
    "@yearly": "0 0 1 1 *",
    "@annually": "0 0 1 1 *",
    "@monthly": "0 0 1 * *",
    "@weekly": "0 0 * * 0",
    "@daily": "0 0 * * *",
    "@midnight": "0 0 * * *",
    "@hourly": "0 * * * *",
}

_MONTHS = ("jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec")
_WEEKDAYS = ("sun", "mon", "tue", "wed", "thu", "fri", "sat")
_MONTH_NAMES = {name: number for number, name in enumerate(_MONTHS, start=1)}
_WEEKDAY_NAMES = {name: number for number, name in enumerate(_WEEKDAYS)}
#: Longest day of each month in any year (February: leap years).
_MAX_MONTH_DAYS = (0, 31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31)
_MAX_EXPRESSION_LENGTH = 1024

_NUMBER = r"[0-9]+"
_VALUE = r"[0-9]+|[a-z]+"
_RANGE_ITEM = re.compile(
    rf"^(?:(?P<star>\*)|(?P<start>{_VALUE})(?:-(?P<end>{_VALUE}))?)(?:/(?P<step>{_NUMBER}))?$",
    re.ASCII | re.IGNORECASE,
)
_NTH_WEEKDAY_ITEM = re.compile(rf"^(?P<day>{_VALUE})#(?P<nth>{_NUMBER})$", re.ASCII | re.IGNORECASE)
_LAST_WEEKDAY_ITEM = re.compile(rf"^l(?P<day>{_NUMBER})$", re.ASCII | re.IGNORECASE)


@attrs.frozen
class _Field:
    """One of the five cron fields: its name, bounds and the names it accepts."""

    index: int
    label: str
    low: int
    high: int
    #: Largest value a ``*/S`` or ``N/S`` item expands to (day-of-week: 6, not 7).
    step_high: int
    names: Mapping[str, int] = attrs.field(factory=dict)

    @property
    def allowed(self) -> str:
        text = f"{self.low}-{self.high}"
        if self.index == _DAY_OF_WEEK.index:
            return f"{text} or SUN-SAT (0 and 7 are Sunday)"
        if self.names:
            return f"{text} or JAN-DEC"
        return text


_MINUTE = _Field(0, "minute", 0, 59, 59)
_HOUR = _Field(1, "hour", 0, 23, 23)
_DAY_OF_MONTH = _Field(2, "day-of-month", 1, 31, 31)
_MONTH = _Field(3, "month", 1, 12, 12, _MONTH_NAMES)
_DAY_OF_WEEK = _Field(4, "day-of-week", 0, 7, 6, _WEEKDAY_NAMES)
_FIELDS = (_MINUTE, _HOUR, _DAY_OF_MONTH, _MONTH, _DAY_OF_WEEK)


@attrs.frozen
class CronExpression:
    """A validated cron expression, expanded into the values each field selects.

    ``days_of_week`` uses 0-6 with Sunday = 0. ``last_day_of_month`` is day-of-month ``L``;
    ``nth_weekdays`` holds ``(weekday, n)`` pairs from ``D#N``; ``last_weekdays`` holds the
    weekdays of ``LD`` items. ``day_of_month_restricted``/``day_of_week_restricted`` say whether
    the field takes part in day matching (both restricted: a day matches if either matches).
    """

    expression: str
    minutes: frozenset[int]
    hours: frozenset[int]
    days_of_month: frozenset[int]
    months: frozenset[int]
    days_of_week: frozenset[int]
    last_day_of_month: bool = False
    nth_weekdays: frozenset[tuple[int, int]] = frozenset()
    last_weekdays: frozenset[int] = frozenset()
    day_of_month_restricted: bool = False
    day_of_week_restricted: bool = False

    @property
    def is_hourly_or_finer(self) -> bool:
        """True when every hour is selected (Dagster: the schedule "repeats every hour").

        Such schedules skip wall times that do not exist and fire at both occurrences of
        repeated wall times, instead of being shifted or fired once.
        """
        return len(self.hours) == 24

    def _day_of_month_matches(self, day: date) -> bool:
        if day.day in self.days_of_month:
            return True
        return self.last_day_of_month and day.day == _month_length(day.year, day.month)

    def _day_of_week_matches(self, day: date) -> bool:
        weekday = (day.weekday() + 1) % 7
        if weekday in self.days_of_week:
            return True
        if (weekday, (day.day - 1) // 7 + 1) in self.nth_weekdays:
            return True
        return weekday in self.last_weekdays and day.day + 7 > _month_length(day.year, day.month)

    def matches_date(self, d: date) -> bool:
        """Whether the cron selects calendar date ``d`` (month and day fields)."""
        if d.month not in self.months:
            return False
        if self.day_of_month_restricted and self.day_of_week_restricted:
            return self._day_of_month_matches(d) or self._day_of_week_matches(d)
        if self.day_of_month_restricted:
            return self._day_of_month_matches(d)
        if self.day_of_week_restricted:
            return self._day_of_week_matches(d)
        return True

    def matches(self, wall_time: datetime) -> bool:
        """Whether the cron selects the wall-clock minute of ``wall_time`` (seconds ignored)."""
        return (
            wall_time.minute in self.minutes
            and wall_time.hour in self.hours
            and self.matches_date(wall_time.date())
        )

    def next_date(self, d: date) -> date | None:
        """The first date at or after ``d`` the cron selects; None past year 9999.

        Jumps over unselected months, so sparse crons (``0 0 29 2 *``) cost a few checks
        per year, not one per day.
        """
        year, month, day = d.year, d.month, d.day
        while year <= date.max.year:
            if month in self.months:
                for candidate in self._candidate_days(year, month, day):
                    found = date(year, month, candidate)
                    if self.matches_date(found):
                        return found
            month, day = month + 1, 1
            if month > 12:
                year, month = year + 1, 1
        return None

    def _candidate_days(self, year: int, month: int, first: int) -> Iterator[int]:
        length = _month_length(year, month)
        if self.day_of_month_restricted and not self.day_of_week_restricted:
            days = sorted(day for day in self.days_of_month if first <= day <= length)
            if self.last_day_of_month and length not in days:
                days.append(length)
            yield from days
        else:
            yield from range(first, length + 1)

    def wall_times(self, start: datetime) -> Iterator[datetime]:
        """Selected naive wall times at or after ``start`` (its tzinfo and seconds ignored
        beyond rounding up to the next whole minute), in increasing order, until year 9999."""
        begin = start.replace(tzinfo=None, second=0, microsecond=0)
        if begin < start.replace(tzinfo=None):
            if begin >= datetime.max - timedelta(minutes=1):
                return
            begin += timedelta(minutes=1)
        minutes = sorted(self.minutes)
        hours = sorted(self.hours)
        day: date | None = self.next_date(begin.date())
        while day is not None:
            floor = begin.time() if day == begin.date() else time.min
            for hour in hours:
                if hour < floor.hour:
                    continue
                for minute in minutes:
                    if hour == floor.hour and minute < floor.minute:
                        continue
                    yield datetime(day.year, day.month, day.day, hour, minute)
            if day == date.max:
                return
            day = self.next_date(day + timedelta(days=1))


def _month_length(year: int, month: int) -> int:
    return calendar.monthrange(year, month)[1]


def _fail(expression: str, detail: str) -> InvalidCronError:
    return InvalidCronError(f"invalid cron expression {expression!r}: {detail}. {FORMAT_HELP}")


@attrs.define
class _Expansion:
    """What one field's items expanded to, before the cross-field checks."""

    values: set[int] = attrs.field(factory=set)
    bare_star: bool = False
    last_day: bool = False
    nth: set[tuple[int, int]] = attrs.field(factory=set)
    last_weekdays: set[int] = attrs.field(factory=set)


def _value(expression: str, field: _Field, token: str, item: str) -> int:
    if token.isdigit():
        number = int(token)
    elif token.lower() in field.names:
        number = field.names[token.lower()]
    elif field.names:
        known = " ".join(name.upper() for name in field.names)
        raise _fail(
            expression,
            f"{field.label} item {item!r}: unknown name {token.upper()!r}; "
            f"{field.label} names are {known}",
        )
    else:
        raise _fail(
            expression,
            f"{field.label} item {item!r}: {token!r} is not a number; "
            f"{field.label} allows {field.allowed}",
        )
    if not field.low <= number <= field.high:
        raise _fail(
            expression,
            f"{field.label} value {number} is out of range; {field.label} allows {field.allowed}",
        )
    return number


def _weekday(expression: str, token: str, item: str) -> int:
    return _value(expression, _DAY_OF_WEEK, token, item) % 7


def _expand_special_weekday(expression: str, item: str, expansion: _Expansion) -> bool:
    nth = _NTH_WEEKDAY_ITEM.match(item)
    if nth is not None:
        weekday = _weekday(expression, nth["day"], item)
        number = int(nth["nth"])
        if not 1 <= number <= 5:
            raise _fail(
                expression,
                f"day-of-week item {item!r}: occurrence {number} is out of range; "
                "'D#N' allows N 1-5 (e.g. 'FRI#2', the second Friday)",
            )
        expansion.nth.add((weekday, number))
        return True
    last = _LAST_WEEKDAY_ITEM.match(item)
    if last is not None:
        expansion.last_weekdays.add(_weekday(expression, last["day"], item))
        return True
    return False


def _expand_item(expression: str, field: _Field, item: str, expansion: _Expansion) -> None:
    if not item:
        raise _fail(
            expression,
            f"{field.label} field has an empty item; separate values with single commas "
            "(e.g. '1,15')",
        )
    if item == "?" and field in (_DAY_OF_MONTH, _DAY_OF_WEEK):
        item = "*"
    if field is _DAY_OF_MONTH and item in ("l", "L"):
        expansion.last_day = True
        return
    if field is _DAY_OF_WEEK and _expand_special_weekday(expression, item, expansion):
        return
    _expand_range(expression, field, item, expansion)


def _expand_range(expression: str, field: _Field, item: str, expansion: _Expansion) -> None:
    match = _RANGE_ITEM.match(item)
    if match is None:
        extra = " or 'L' (last day)" if field is _DAY_OF_MONTH else ""
        if field is _DAY_OF_WEEK:
            extra = ", 'D#N' (N-th weekday D) or 'LD' (last weekday D)"
        raise _fail(
            expression,
            f"{field.label} item {item!r} is not valid; use '*', 'N', 'A-B', '*/S', 'A-B/S' "
            f"or 'N/S'{extra}, with {field.label} values {field.allowed}",
        )
    step_text = match["step"]
    step = _step(expression, field, item, step_text)
    if match["star"] is not None:
        if step_text is None:
            expansion.bare_star = True
        low, high = field.low, field.step_high
    else:
        low = _value(expression, field, match["start"], item)
        if match["end"] is None and step_text is not None:
            if low >= field.step_high:
                raise _fail(
                    expression,
                    f"{field.label} item {item!r} starts at or after the last {field.label} "
                    f"{field.step_high}, so it selects at most one value (croniter, which "
                    f"Dagster uses, reads it as '*/{step}'); write '{match['start']}'",
                )
            high = field.step_high
        elif match["end"] is None:
            high = low
        elif field is _DAY_OF_MONTH and match["end"] in ("l", "L"):
            high = field.high
        else:
            high = _value(expression, field, match["end"], item)
        if match["end"] is not None and low >= high:
            problem = "is reversed" if low > high else "starts and ends at the same value"
            advice = f"write '{low}'" if low == high else _wrap_advice(field, low, high)
            raise _fail(
                expression,
                f"{field.label} range {item!r} {problem} (cron would read it as a "
                f"wrap-around); {advice}",
            )
    for number in range(low, high + 1, step):
        expansion.values.add(number % 7 if field is _DAY_OF_WEEK else number)


def _step(expression: str, field: _Field, item: str, step_text: str | None) -> int:
    if step_text is None:
        return 1
    step = int(step_text)
    span = field.step_high - field.low
    if step == 0:
        raise _fail(expression, f"{field.label} item {item!r}: step 0 never advances; use 1-{span}")
    if step > span:
        raise _fail(
            expression,
            f"{field.label} item {item!r}: step {step} is larger than the {field.label} "
            f"span {field.low}-{field.step_high}, so it would select only its start; "
            f"use a step of 1-{span} or list the values",
        )
    return step


def _wrap_advice(field: _Field, low: int, high: int) -> str:
    if field is _DAY_OF_WEEK and high == 0:
        return f"write '{low}-7' (7 is Sunday)"
    tail = str(high) if high == field.low else f"{field.low}-{high}"
    return f"to wrap around, list both parts: '{low}-{field.high},{tail}'"


def _expand_field(expression: str, field: _Field, text: str) -> _Expansion:
    expansion = _Expansion()
    if "?" in text and text != "?":
        raise _fail(
            expression,
            f"{field.label} {text!r}: '?' must be the whole field (it means '*' and "
            "is allowed only in day-of-month and day-of-week)",
        )
    items = text.split(",")
    if "*" in items and len(items) > 1:
        raise _fail(
            expression,
            f"{field.label} {text!r}: '*' already selects every {field.label}; write '*' "
            "alone or list only the values you mean",
        )
    for item in items:
        _expand_item(expression, field, item, expansion)
    if field is _DAY_OF_WEEK and (expansion.nth or expansion.last_weekdays) and expansion.values:
        raise _fail(
            expression,
            f"day-of-week {text!r} mixes plain weekdays with 'D#N'/'LD' items, which cron "
            "cannot combine; use only 'D#N'/'LD' items, or only weekdays",
        )
    return expansion


def _check_day_of_month_possible(expression: str, days: _Expansion, months: set[int]) -> None:
    if days.last_day or days.bare_star:
        return
    if any(day <= _MAX_MONTH_DAYS[month] for day in days.values for month in months):
        return
    listed = ",".join(str(day) for day in sorted(days.values))
    month_names = ", ".join(_MONTHS[month - 1].upper() for month in sorted(months))
    raise _fail(
        expression,
        f"day-of-month {listed} never occurs in {month_names}; use a day that exists in "
        "the selected months, 'L' for the last day of the month, or '*' to run by "
        "day-of-week only",
    )


def _split(expression: str) -> list[str]:
    if not isinstance(expression, str):
        raise InvalidCronError(
            f"a cron expression must be a string, got {type(expression).__name__}. {FORMAT_HELP}"
        )
    if len(expression) > _MAX_EXPRESSION_LENGTH:
        raise _fail(
            expression[:40] + "…",
            f"expression is {len(expression)} characters long; a cron expression has at most "
            f"{_MAX_EXPRESSION_LENGTH}",
        )
    if not expression.isascii():
        raise _fail(
            expression,
            "expression contains non-ASCII characters; use ASCII digits, names and spaces",
        )
    lowered = expression.lower()
    if lowered in MACROS:
        return MACROS[lowered].split()
    if lowered.strip().startswith("@"):
        macro = lowered.strip()
        if macro in MACROS:
            raise _fail(
                expression,
                f"macro {macro!r} must be written alone without surrounding spaces "
                "(Dagster refuses it otherwise)",
            )
        raise _fail(expression, f"unknown macro {expression.strip()!r}; known: {' '.join(MACROS)}")
    fields = expression.split()
    if len(fields) != 5:
        hint = ""
        if len(fields) in (6, 7):
            hint = " (seconds and years fields are not supported)"
        raise _fail(expression, f"found {len(fields)} fields, expected 5{hint}")
    return fields


def parse_cron(expression: str) -> CronExpression:
    """Parse and validate ``expression``; raise InvalidCronError explaining what is wrong.

    Prefer :func:`floe_orchestration_core.scheduling.validate_cron`, which caches results.
    """
    fields = _split(expression)
    minute, hour, day_of_month, month, day_of_week = (
        _expand_field(expression, field, text) for field, text in zip(_FIELDS, fields, strict=True)
    )
    _check_day_of_month_possible(expression, day_of_month, month.values)
    # croniter: a day field is unrestricted when it is '*' (or '?'), or when it lists every
    # value and the other day field's text contains a '*'.
    dom_star = day_of_month.bare_star or (
        len(day_of_month.values) + day_of_month.last_day == 31 and "*" in fields[4]
    )
    dow_all = len(day_of_week.values) == 7 and not day_of_week.nth
    dow_star = day_of_week.bare_star or (dow_all and "*" in fields[2])
    return CronExpression(
        expression=expression,
        minutes=frozenset(minute.values),
        hours=frozenset(hour.values),
        days_of_month=frozenset(day_of_month.values),
        months=frozenset(month.values),
        days_of_week=frozenset(day_of_week.values),
        last_day_of_month=day_of_month.last_day,
        nth_weekdays=frozenset(day_of_week.nth),
        last_weekdays=frozenset(day_of_week.last_weekdays),
        day_of_month_restricted=not dom_star,
        day_of_week_restricted=not dow_star,
    )
