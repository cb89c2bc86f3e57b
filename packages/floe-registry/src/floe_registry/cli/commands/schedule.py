"""``floe schedule preview``: when a cron schedule fires, in local time and UTC.

Daylight-saving semantics are the core's (Dagster's documented behaviour, see
:mod:`floe_orchestration_core.scheduling`). Each row is marked when:

- ``shifted`` — the wall time asked for does not exist (spring forward); the run happens at
  the first wall time after the gap;
- ``ambiguous`` — the wall time occurs twice (fall back); the row says which occurrence runs;
- ``skipped`` — a schedule that fires every hour skips wall times that do not exist; the row
  after such a gap names the skipped wall time(s).

``--start`` is ISO-8601; without an offset it is read as a wall time in ``--timezone``.
"""

from __future__ import annotations

import argparse
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from floe_registry.cli.command import EXIT_OK, Command, Invocation
from floe_registry.cli.tables import render_table

if TYPE_CHECKING:
    from floe_orchestration_core.scheduling import FireTime

__all__ = ["COMMANDS"]


def _count(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"'{text}' is not a whole number") from None
    if not 1 <= value <= 1000:
        raise argparse.ArgumentTypeError(f"{value} is outside 1-1000")
    return value


def _start(text: str) -> datetime:
    try:
        return datetime.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"'{text}' is not an ISO-8601 date or datetime; e.g. 2026-03-08 or "
            "2026-03-08T01:00:00-05:00"
        ) from None


def _configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("cron", metavar="CRON", help="five-field cron, e.g. '30 2 * * *'")
    parser.add_argument(
        "--timezone", default="UTC", metavar="TZ", help="IANA timezone (default: UTC)"
    )
    parser.add_argument(
        "--start",
        type=_start,
        metavar="ISO",
        help="first instant to consider (default: now); no offset means --timezone wall time",
    )
    parser.add_argument(
        "--count", type=_count, default=10, metavar="N", help="how many runs (default: 10)"
    )


def _skipped_note(previous: FireTime | None, run: FireTime) -> str | None:
    """A note when wall time advanced more than real time between two runs (a DST gap)."""
    if previous is None:
        return None
    wall_gap = run.at.replace(tzinfo=None) - previous.at.replace(tzinfo=None)
    real_gap = run.utc - previous.utc
    if wall_gap <= real_gap or run.shifted:
        return None
    missing_from = previous.at.replace(tzinfo=None) + real_gap
    missing_to = run.at.replace(tzinfo=None) - timedelta(seconds=1)
    return f"skipped wall times {missing_from:%H:%M}-{missing_to:%H:%M:%S} (do not exist: DST gap)"


def _notes(run: FireTime, skipped: str | None) -> list[str]:
    notes: list[str] = []
    if run.shifted:
        notes.append(
            f"shifted: {run.scheduled_local:%H:%M} does not exist on {run.scheduled_local:%Y-%m-%d}"
            f" (DST gap); runs at {run.at:%H:%M}"
        )
    if run.ambiguous:
        which = "second" if run.at.fold else "first"
        notes.append(
            f"ambiguous: {run.scheduled_local:%H:%M} occurs twice; this run is at the {which}"
        )
    if skipped:
        notes.append(skipped)
    return notes


def _run(invocation: Invocation) -> int:
    from floe_orchestration_core.scheduling import preview, validate_timezone

    args = invocation.args
    start: datetime | None = args.start
    if start is not None and start.tzinfo is None:
        start = start.replace(tzinfo=validate_timezone(args.timezone))
    runs = preview(args.cron, args.timezone, start=start, count=args.count)
    rows: list[list[str]] = []
    data: list[dict[str, Any]] = []
    previous: FireTime | None = None
    for run in runs:
        skipped = _skipped_note(previous, run)
        notes = _notes(run, skipped)
        previous = run
        rows.append([run.at.isoformat(), run.utc.isoformat(), "; ".join(notes)])
        data.append(
            {
                "local": run.at.isoformat(),
                "utc": run.utc.isoformat(),
                "scheduled_local": run.scheduled_local.isoformat(),
                "shifted": run.shifted,
                "ambiguous": run.ambiguous,
                "skipped_before": skipped is not None,
                "notes": notes,
            }
        )
    human = f"'{args.cron}' in {args.timezone}:\n" + render_table(
        [f"LOCAL ({args.timezone})", "UTC", "NOTE"], rows
    )
    invocation.emit(human, {"cron": args.cron, "timezone": args.timezone, "fire_times": data})
    return EXIT_OK


COMMANDS = (
    Command(
        ("schedule", "preview"),
        "show when a cron schedule fires (local and UTC), marking DST-shifted and skipped runs",
        run=_run,
        configure=_configure,
    ),
)
