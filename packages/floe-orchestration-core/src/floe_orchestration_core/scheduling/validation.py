"""Validating a schedule: the cron expression and the IANA timezone name."""

from __future__ import annotations

import difflib
import functools
import re
import zoneinfo

from floe_orchestration_core.errors import InvalidCronError, InvalidTimezoneError
from floe_orchestration_core.scheduling.cron import FORMAT_HELP, CronExpression, parse_cron

__all__ = ["validate_cron", "validate_timezone"]

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
