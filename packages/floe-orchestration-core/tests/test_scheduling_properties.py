"""Properties of cron validation and fire-time preview (hypothesis)."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from itertools import pairwise
from zoneinfo import ZoneInfo

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from floe_orchestration_core.errors import InvalidCronError, InvalidTimezoneError
from floe_orchestration_core.scheduling import preview, validate_cron, validate_timezone

#: Zones with whole-hour DST, half-hour DST, midnight transitions, no DST, and UTC.
ZONES = [
    "UTC",
    "America/New_York",
    "Europe/London",
    "Europe/Berlin",
    "Australia/Sydney",
    "Australia/Lord_Howe",
    "America/Santiago",
    "Asia/Kolkata",
]
WHOLE_HOUR_DST_ZONES = ["America/New_York", "Europe/London", "Europe/Berlin", "Australia/Sydney"]

FIELD_BOUNDS = [(0, 59), (0, 23), (1, 28), (1, 12), (0, 6)]


@st.composite
def field_text(draw: st.DrawFn, index: int) -> str:
    low, high = FIELD_BOUNDS[index]
    kind = draw(st.sampled_from(["star", "value", "list", "range", "step", "range_step"]))
    if kind == "star":
        return "*"
    if kind == "value":
        return str(draw(st.integers(low, high)))
    if kind == "list":
        values = draw(st.lists(st.integers(low, high), min_size=1, max_size=4, unique=True))
        return ",".join(str(value) for value in values)
    step = draw(st.integers(1, high - low))
    if kind == "step":
        return f"*/{step}"
    start = draw(st.integers(low, high - 1))
    end = draw(st.integers(start + 1, high))
    return f"{start}-{end}" if kind == "range" else f"{start}-{end}/{step}"


@st.composite
def cron_strings(draw: st.DrawFn) -> str:
    return " ".join(draw(field_text(index)) for index in range(5))


instants = st.datetimes(
    min_value=datetime(2000, 1, 1), max_value=datetime(2040, 1, 1), timezones=st.just(UTC)
)
# Starts within a few days before a DST change in the northern or southern hemisphere.
near_dst_changes = st.builds(
    lambda day, hours: datetime(2026, day[0], day[1], tzinfo=UTC) + timedelta(hours=hours),
    st.sampled_from([(3, 7), (3, 27), (4, 4), (9, 5), (10, 3), (10, 24), (10, 31)]),
    st.integers(0, 72),
)


@settings(max_examples=150, deadline=None)
@given(cron=cron_strings(), zone=st.sampled_from(ZONES), start=instants | near_dst_changes)
def test_runs_are_strictly_increasing_and_not_before_start(
    cron: str, zone: str, start: datetime
) -> None:
    runs = preview(cron, zone, start=start, count=25)
    assert len(runs) == 25
    assert runs[0].utc >= start
    assert all(a.utc < b.utc for a, b in pairwise(runs))
    for run in runs:
        # not run.at == run.utc: PEP 495 makes cross-zone == False for ambiguous wall times
        assert run.at.astimezone(UTC) == run.utc
        assert run.utc.utcoffset() == timedelta(0)
        assert run.at.tzinfo == ZoneInfo(zone)


@settings(max_examples=150, deadline=None)
@given(cron=cron_strings(), zone=st.sampled_from(ZONES), start=near_dst_changes)
def test_each_run_is_at_a_wall_time_the_cron_names_unless_shifted(
    cron: str, zone: str, start: datetime
) -> None:
    expression = validate_cron(cron)
    tz = ZoneInfo(zone)
    for run in preview(cron, zone, start=start, count=25):
        assert expression.matches(run.scheduled_local)
        wall = run.at.replace(tzinfo=None)
        if run.shifted:
            assert not expression.is_hourly_or_finer
            # the asked-for wall time does not exist: it does not survive a round trip
            asked = run.scheduled_local.replace(tzinfo=tz)
            assert asked.astimezone(UTC).astimezone(tz).replace(tzinfo=None) != asked.replace(
                tzinfo=None
            )
            assert wall > run.scheduled_local
            assert wall - run.scheduled_local <= timedelta(hours=1)
        else:
            assert wall == run.scheduled_local


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(cron=cron_strings(), start=instants)
def test_utc_preview_equals_a_minute_by_minute_scan(cron: str, start: datetime) -> None:
    expression = validate_cron(cron)
    window = timedelta(days=2)
    minute = start.replace(second=0, microsecond=0)
    if minute < start:
        minute += timedelta(minutes=1)
    expected: list[datetime] = []
    while minute < start + window and len(expected) < 60:
        if expression.matches(minute):
            expected.append(minute)
        minute += timedelta(minutes=1)
    runs = preview(cron, "UTC", start=start, count=60)
    assert [run.utc for run in runs if run.utc < minute] == expected


@settings(max_examples=100, deadline=None)
@given(
    minute=st.integers(0, 59),
    hour=st.integers(0, 23),
    zone=st.sampled_from(ZONES),
    start=near_dst_changes,
)
def test_daily_schedules_run_exactly_once_per_local_date(
    minute: int, hour: int, zone: str, start: datetime
) -> None:
    runs = preview(f"{minute} {hour} * * *", zone, start=start, count=20)
    dates = [run.at.date() for run in runs]
    assert len(set(dates)) == len(dates)
    first = dates[0]
    assert dates == [first + timedelta(days=offset) for offset in range(20)]


@settings(max_examples=100, deadline=None)
@given(
    minute=st.integers(0, 59), zone=st.sampled_from(WHOLE_HOUR_DST_ZONES), start=near_dst_changes
)
def test_hourly_schedules_run_at_every_real_hour_across_dst(
    minute: int, zone: str, start: datetime
) -> None:
    runs = preview(f"{minute} * * * *", zone, start=start, count=60)
    assert all(b.utc - a.utc == timedelta(hours=1) for a, b in pairwise(runs))
    assert all(run.at.minute == minute for run in runs)


@settings(max_examples=100, deadline=None)
@given(
    minutes=st.lists(st.integers(0, 59), min_size=1, max_size=6, unique=True),
    zone=st.sampled_from(WHOLE_HOUR_DST_ZONES),
    start=near_dst_changes,
)
def test_sub_hourly_schedules_repeat_the_same_minutes_every_real_hour(
    minutes: list[int], zone: str, start: datetime
) -> None:
    cron = ",".join(str(m) for m in minutes) + " * * * *"
    runs = preview(cron, zone, start=start, count=len(minutes) * 30)
    first_hour = runs[0].utc.replace(minute=0)
    by_hour: dict[datetime, set[int]] = {}
    for run in runs:
        by_hour.setdefault(run.utc.replace(minute=0), set()).add(run.utc.minute)
    full_hours = [h for h in by_hour if first_hour < h < runs[-1].utc.replace(minute=0)]
    assert all(by_hour[h] == set(minutes) for h in full_hours)


@settings(max_examples=500, deadline=None)
@given(text=st.text())
def test_validation_raises_only_invalid_cron_error_for_any_text(text: str) -> None:
    try:
        validate_cron(text)
    except InvalidCronError as error:
        message = str(error)
    else:
        return
    assert message.endswith("@hourly @daily @weekly @monthly @yearly")


cron_alphabet = st.sampled_from(list("0123456789*/-,#?LlWHmonfrijadecs@ \t"))


@settings(max_examples=500, deadline=None)
@given(text=st.lists(cron_alphabet, max_size=30).map("".join))
def test_cron_like_text_is_either_valid_or_invalid_cron_error(text: str) -> None:
    try:
        expression = validate_cron(text)
    except InvalidCronError:
        return
    assert expression.minutes
    assert expression.hours
    assert expression.months
    # a valid expression fires: its next date exists within 30 years
    start = date(2026, 1, 1)
    found = expression.next_date(start)
    assert found is not None
    assert found < date(2056, 1, 1)


@settings(max_examples=300, deadline=None)
@given(text=st.text(max_size=80))
def test_timezone_validation_raises_only_invalid_timezone_error(text: str) -> None:
    try:
        zone = validate_timezone(text)
    except InvalidTimezoneError:
        return
    assert zone.key == text


@settings(max_examples=50, deadline=None)
@given(cron=cron_strings())
def test_generated_crons_are_valid(cron: str) -> None:
    assert validate_cron(cron).expression == cron
