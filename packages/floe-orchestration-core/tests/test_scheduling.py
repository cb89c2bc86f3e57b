"""The scheduling port: validation and fire-time preview with Dagster's DST semantics.

Expected instants in the DST tests were checked against
``dagster._utils.schedules.cron_string_iterator`` (dagster 1.10.21) unless a test says it
documents a divergence from Dagster's code.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest
from pydantic import ValidationError as PydanticValidationError

from floe_orchestration_core.artifacts import ScheduleConfig
from floe_orchestration_core.errors import (
    InvalidCronError,
    InvalidTimezoneError,
    SchedulingError,
)
from floe_orchestration_core.scheduling import (
    FORMAT_HELP,
    MAX_PREVIEW_COUNT,
    FireTime,
    fire_times,
    preview,
    validate_cron,
    validate_timezone,
)

NEW_YORK = "America/New_York"


def utc(year: int, month: int, day: int, hour: int = 0, minute: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=UTC)


def utc_instants(runs: list[FireTime]) -> list[datetime]:
    return [run.utc for run in runs]


def local_isoformats(runs: list[FireTime]) -> list[str]:
    return [run.at.isoformat() for run in runs]


# validate_cron ---------------------------------------------------------------------------


def test_validate_cron_returns_the_parsed_expression_and_caches_it() -> None:
    first = validate_cron("0 8 * * MON-FRI")
    assert first.hours == frozenset({8})
    assert validate_cron("0 8 * * MON-FRI") is first


def test_validate_cron_refuses_non_strings_without_type_error() -> None:
    for value in (None, 5, ["0", "0", "*", "*", "*"], b"0 0 * * *"):
        with pytest.raises(InvalidCronError, match="must be a string"):
            validate_cron(value)  # type: ignore[arg-type]


def test_validate_cron_explains_the_format() -> None:
    with pytest.raises(InvalidCronError) as caught:
        validate_cron("0 0 30 2 *")
    assert "never occurs in FEB" in str(caught.value)
    assert str(caught.value).endswith(FORMAT_HELP)


def test_schedule_config_uses_the_port_to_validate() -> None:
    assert ScheduleConfig(name="nightly", cron="@daily", timezone="Europe/Paris").cron == "@daily"
    with pytest.raises(PydanticValidationError, match="day-of-month 31 never occurs"):
        ScheduleConfig(name="never", cron="0 0 31 4,6,9,11 *")
    with pytest.raises(PydanticValidationError, match="did you mean 'Europe/Paris'"):
        ScheduleConfig(name="typo", cron="@daily", timezone="europe/paris")


# validate_timezone -----------------------------------------------------------------------


@pytest.mark.parametrize("name", ["UTC", "EST5EDT", NEW_YORK, "Europe/London", "Etc/GMT+5"])
def test_valid_iana_names_give_their_zoneinfo(name: str) -> None:
    zone = validate_timezone(name)
    assert isinstance(zone, ZoneInfo)
    assert zone.key == name


def test_wrong_case_suggests_the_exact_name_first() -> None:
    with pytest.raises(InvalidTimezoneError) as caught:
        validate_timezone("america/new_york")
    message = str(caught.value)
    assert "did you mean 'America/New_York'" in message
    assert "'america/new_york'" in message


def test_city_without_area_suggests_the_full_name() -> None:
    with pytest.raises(InvalidTimezoneError, match="'America/New_York'"):
        validate_timezone("New_York")


def test_misspelling_lists_at_most_five_close_matches() -> None:
    with pytest.raises(InvalidTimezoneError) as caught:
        validate_timezone("Europe/Londn")
    message = str(caught.value)
    assert "'Europe/London'" in message
    suggestions = message.split("did you mean ", 1)[1]
    assert 1 <= suggestions.count("'") // 2 <= 5


def test_unknown_timezone_without_close_match_names_the_expected_form() -> None:
    with pytest.raises(InvalidTimezoneError) as caught:
        validate_timezone("Mars/Olympus_Mons")
    assert "expected an IANA timezone name such as 'Europe/Paris'" in str(caught.value)


@pytest.mark.parametrize(
    "name", ["../etc/passwd", "/etc/localtime", "Europe/../UTC", "", "Europe/ Paris", "a" * 200]
)
def test_path_like_and_malformed_names_are_refused(name: str) -> None:
    with pytest.raises(InvalidTimezoneError, match="not an IANA timezone name"):
        validate_timezone(name)


@pytest.mark.parametrize("name", ["Europe", "America", "right/UTC/x"])
def test_directories_and_missing_files_are_unknown_timezones(name: str) -> None:
    with pytest.raises(InvalidTimezoneError, match="unknown timezone"):
        validate_timezone(name)


@pytest.mark.parametrize("value", [None, 3, ZoneInfo("UTC")])
def test_non_string_timezones_are_refused(value: object) -> None:
    with pytest.raises(InvalidTimezoneError, match="must be a string"):
        validate_timezone(value)  # type: ignore[arg-type]


def test_timezone_error_is_a_scheduling_value_error() -> None:
    with pytest.raises(ValueError, match="unknown timezone") as caught:
        validate_timezone("Nowhere/Special")
    assert isinstance(caught.value, SchedulingError)


# preview: arguments ----------------------------------------------------------------------


def test_preview_refuses_a_naive_start() -> None:
    with pytest.raises(SchedulingError, match="naive datetime; pass a timezone-aware datetime"):
        preview("@daily", start=datetime(2026, 1, 1))


def test_preview_refuses_a_start_that_is_not_a_datetime() -> None:
    with pytest.raises(SchedulingError, match="timezone-aware datetime, got str"):
        preview("@daily", start="2026-01-01")  # type: ignore[arg-type]


@pytest.mark.parametrize("count", [0, -1, MAX_PREVIEW_COUNT + 1])
def test_preview_refuses_counts_outside_the_limit(count: int) -> None:
    with pytest.raises(SchedulingError, match="between 1 and 10000"):
        preview("@daily", start=utc(2026, 1, 1), count=count)


@pytest.mark.parametrize("count", [True, 2.0, "3"])
def test_preview_refuses_counts_that_are_not_integers(count: object) -> None:
    with pytest.raises(SchedulingError, match="must be an integer"):
        preview("@daily", start=utc(2026, 1, 1), count=count)  # type: ignore[arg-type]


def test_preview_validates_cron_and_timezone() -> None:
    with pytest.raises(InvalidCronError):
        preview("0 0 30 2 *", start=utc(2026, 1, 1))
    with pytest.raises(InvalidTimezoneError):
        preview("@daily", "Europe/Pariss", start=utc(2026, 1, 1))


def test_preview_defaults_to_ten_runs_from_now() -> None:
    before = datetime.now(UTC)
    runs = preview("* * * * *")
    assert len(runs) == 10
    assert runs[0].utc >= before - timedelta(minutes=1)
    assert runs[0].utc <= before + timedelta(minutes=2)


def test_preview_includes_a_run_exactly_at_start() -> None:
    start = datetime(2026, 6, 1, 8, tzinfo=ZoneInfo("Europe/Paris"))
    runs = preview("0 8 * * *", "Europe/Paris", start=start, count=2)
    assert local_isoformats(runs) == ["2026-06-01T08:00:00+02:00", "2026-06-02T08:00:00+02:00"]


def test_preview_start_in_another_timezone_is_the_same_instant() -> None:
    start = datetime(2026, 6, 1, 2, 30, tzinfo=timezone(timedelta(hours=-4)))
    runs = preview("0 * * * *", "Asia/Tokyo", start=start, count=1)
    assert runs[0].utc == utc(2026, 6, 1, 7)
    assert runs[0].at.isoformat() == "2026-06-01T16:00:00+09:00"


def test_fire_time_fields_describe_the_run() -> None:
    (run,) = preview("15 9 * * *", "Europe/Berlin", start=utc(2026, 7, 1), count=1)
    assert run.at == datetime(2026, 7, 1, 9, 15, tzinfo=ZoneInfo("Europe/Berlin"))
    assert run.at.tzinfo == ZoneInfo("Europe/Berlin")
    assert run.utc == utc(2026, 7, 1, 7, 15)
    assert run.utc.tzinfo is UTC
    assert run.scheduled_local == datetime(2026, 7, 1, 9, 15)
    assert run.scheduled_local.tzinfo is None
    assert not run.shifted
    assert not run.ambiguous


def test_preview_of_sparse_schedule_jumps_to_leap_days() -> None:
    runs = preview("0 0 29 2 *", start=utc(2026, 1, 1), count=3)
    assert utc_instants(runs) == [utc(2028, 2, 29), utc(2032, 2, 29), utc(2036, 2, 29)]


def test_preview_of_many_sparse_runs_spans_centuries() -> None:
    runs = preview("0 0 29 2 *", start=utc(2026, 1, 1), count=1000)
    assert runs[-1].utc.year > 6000
    assert all(run.at.month == 2 and run.at.day == 29 for run in runs)


def test_preview_of_a_thousand_five_minute_runs() -> None:
    runs = preview("*/5 * * * *", "Europe/London", start=utc(2026, 3, 29), count=1000)
    assert len(runs) == 1000
    assert runs[-1].utc - runs[0].utc == timedelta(minutes=5 * 999)


def test_preview_raises_when_the_calendar_ends_before_count_runs() -> None:
    with pytest.raises(SchedulingError, match=r"fires only 2 time\(s\)"):
        preview("0 0 29 2 *", start=utc(9990, 1, 1), count=5)


def test_fire_times_iterates_lazily_from_a_validated_expression() -> None:
    runs = fire_times(validate_cron("@hourly"), validate_timezone("UTC"), utc(2026, 1, 1, 0, 1))
    assert next(runs).utc == utc(2026, 1, 1, 1)
    assert next(runs).utc == utc(2026, 1, 1, 2)


def test_nth_weekday_and_last_day_previews() -> None:
    assert utc_instants(preview("0 3 * * 5#2", start=utc(2026, 1, 1), count=2)) == [
        utc(2026, 1, 9, 3),
        utc(2026, 2, 13, 3),
    ]
    assert utc_instants(preview("0 0 L * *", start=utc(2026, 1, 31), count=3)) == [
        utc(2026, 1, 31),
        utc(2026, 2, 28),
        utc(2026, 3, 31),
    ]


# preview: DST in America/New_York (2026-03-08 02:00→03:00, 2026-11-01 02:00→01:00) ------


def test_spring_forward_nonexistent_daily_time_runs_at_the_end_of_the_gap() -> None:
    runs = preview("30 2 * * *", NEW_YORK, start=utc(2026, 3, 7, 5), count=3)
    assert local_isoformats(runs) == [
        "2026-03-07T02:30:00-05:00",
        "2026-03-08T03:00:00-04:00",
        "2026-03-09T02:30:00-04:00",
    ]
    assert [run.shifted for run in runs] == [False, True, False]
    assert runs[1].scheduled_local == datetime(2026, 3, 8, 2, 30)
    assert runs[1].utc == utc(2026, 3, 8, 7)


def test_fall_back_daily_time_outside_the_fold_runs_once() -> None:
    runs = preview("30 2 * * *", NEW_YORK, start=utc(2026, 10, 31, 4), count=3)
    assert utc_instants(runs) == [
        utc(2026, 10, 31, 6, 30),
        utc(2026, 11, 1, 7, 30),
        utc(2026, 11, 2, 7, 30),
    ]
    assert not any(run.shifted or run.ambiguous for run in runs)


def test_spring_forward_daily_time_before_the_gap_is_unaffected() -> None:
    runs = preview("30 1 * * *", NEW_YORK, start=utc(2026, 3, 7, 5), count=3)
    assert utc_instants(runs) == [
        utc(2026, 3, 7, 6, 30),
        utc(2026, 3, 8, 6, 30),
        utc(2026, 3, 9, 5, 30),
    ]


def test_fall_back_ambiguous_daily_time_runs_once_at_its_second_occurrence() -> None:
    runs = preview("30 1 * * *", NEW_YORK, start=utc(2026, 10, 31, 4), count=3)
    assert local_isoformats(runs) == [
        "2026-10-31T01:30:00-04:00",
        "2026-11-01T01:30:00-05:00",
        "2026-11-02T01:30:00-05:00",
    ]
    assert runs[1].ambiguous
    assert runs[1].at.fold == 1
    assert runs[1].utc == utc(2026, 11, 1, 6, 30)


def test_start_between_the_two_occurrences_still_gets_the_second() -> None:
    runs = preview("30 1 * * *", NEW_YORK, start=utc(2026, 11, 1, 5, 45), count=2)
    assert utc_instants(runs) == [utc(2026, 11, 1, 6, 30), utc(2026, 11, 2, 6, 30)]


def test_spring_forward_hourly_skips_the_missing_hour() -> None:
    runs = preview("0 * * * *", NEW_YORK, start=utc(2026, 3, 8, 5), count=6)
    assert local_isoformats(runs) == [
        "2026-03-08T00:00:00-05:00",
        "2026-03-08T01:00:00-05:00",
        "2026-03-08T03:00:00-04:00",
        "2026-03-08T04:00:00-04:00",
        "2026-03-08T05:00:00-04:00",
        "2026-03-08T06:00:00-04:00",
    ]
    assert not any(run.shifted for run in runs)


def test_fall_back_hourly_runs_at_both_occurrences_of_the_repeated_hour() -> None:
    runs = preview("0 * * * *", NEW_YORK, start=utc(2026, 11, 1, 4), count=5)
    assert utc_instants(runs) == [utc(2026, 11, 1, hour) for hour in range(4, 9)]
    assert local_isoformats(runs) == [
        "2026-11-01T00:00:00-04:00",
        "2026-11-01T01:00:00-04:00",
        "2026-11-01T01:00:00-05:00",
        "2026-11-01T02:00:00-05:00",
        "2026-11-01T03:00:00-05:00",
    ]
    assert [run.ambiguous for run in runs] == [False, True, True, False, False]
    assert [run.at.fold for run in runs] == [0, 0, 1, 0, 0]


def test_spring_forward_half_hourly_skips_the_gap() -> None:
    runs = preview("*/30 * * * *", NEW_YORK, start=utc(2026, 3, 8, 5), count=6)
    assert utc_instants(runs) == [
        utc(2026, 3, 8, 5),
        utc(2026, 3, 8, 5, 30),
        utc(2026, 3, 8, 6),
        utc(2026, 3, 8, 6, 30),
        utc(2026, 3, 8, 7),
        utc(2026, 3, 8, 7, 30),
    ]


def test_fall_back_half_hourly_runs_through_the_repeated_hour_in_real_time_order() -> None:
    runs = preview("*/30 * * * *", NEW_YORK, start=utc(2026, 11, 1, 4), count=8)
    assert utc_instants(runs) == [utc(2026, 11, 1, 4) + timedelta(minutes=30 * i) for i in range(8)]
    assert local_isoformats(runs) == [
        "2026-11-01T00:00:00-04:00",
        "2026-11-01T00:30:00-04:00",
        "2026-11-01T01:00:00-04:00",
        "2026-11-01T01:30:00-04:00",
        "2026-11-01T01:00:00-05:00",
        "2026-11-01T01:30:00-05:00",
        "2026-11-01T02:00:00-05:00",
        "2026-11-01T02:30:00-05:00",
    ]


def test_several_missing_times_shift_to_one_run() -> None:
    runs = preview("0 2,3 * * *", NEW_YORK, start=utc(2026, 3, 8, 5), count=3)
    assert local_isoformats(runs) == [
        "2026-03-08T03:00:00-04:00",
        "2026-03-09T02:00:00-04:00",
        "2026-03-09T03:00:00-04:00",
    ]
    assert runs[0].shifted
    assert runs[0].scheduled_local == datetime(2026, 3, 8, 2)


# preview: other zones --------------------------------------------------------------------


def test_london_spring_forward_and_fall_back_daily() -> None:
    spring = preview("30 1 * * *", "Europe/London", start=utc(2026, 3, 29), count=2)
    assert local_isoformats(spring) == ["2026-03-29T02:00:00+01:00", "2026-03-30T01:30:00+01:00"]
    assert spring[0].shifted
    autumn = preview("30 1 * * *", "Europe/London", start=utc(2026, 10, 24, 23), count=2)
    assert utc_instants(autumn) == [utc(2026, 10, 25, 1, 30), utc(2026, 10, 26, 1, 30)]
    assert autumn[0].ambiguous


def test_london_hourly_across_both_changes() -> None:
    spring = preview("0 * * * *", "Europe/London", start=utc(2026, 3, 29), count=3)
    assert local_isoformats(spring) == [
        "2026-03-29T00:00:00+00:00",
        "2026-03-29T02:00:00+01:00",
        "2026-03-29T03:00:00+01:00",
    ]
    autumn = preview("0 * * * *", "Europe/London", start=utc(2026, 10, 24, 23), count=4)
    assert utc_instants(autumn) == [utc(2026, 10, 24, 23)] + [
        utc(2026, 10, 25, hour) for hour in range(3)
    ]


def test_lord_howe_half_hour_shift_moves_missing_time_to_the_gap_end() -> None:
    # Lord Howe moves 02:00 → 02:30 on 2026-10-04 and 02:00 → 01:30 on 2026-04-05.
    spring = preview("15 2 * * *", "Australia/Lord_Howe", start=utc(2026, 10, 2), count=3)
    assert local_isoformats(spring) == [
        "2026-10-03T02:15:00+10:30",
        "2026-10-04T02:30:00+11:00",
        "2026-10-05T02:15:00+11:00",
    ]
    assert spring[1].shifted
    autumn = preview("45 1 * * *", "Australia/Lord_Howe", start=utc(2026, 4, 3), count=3)
    assert local_isoformats(autumn) == [
        "2026-04-04T01:45:00+11:00",
        "2026-04-05T01:45:00+10:30",
        "2026-04-06T01:45:00+10:30",
    ]
    assert autumn[1].ambiguous


def test_lord_howe_hourly_runs_at_every_existing_wall_time() -> None:
    # Divergence, on purpose: Dagster 1.10's hourly fast path adds one real hour per run,
    # which after a 30-minute shift fires at :30 wall times the cron never named.
    runs = preview("0 * * * *", "Australia/Lord_Howe", start=utc(2026, 4, 4, 13), count=4)
    assert local_isoformats(runs) == [
        "2026-04-05T00:00:00+11:00",
        "2026-04-05T01:00:00+11:00",
        "2026-04-05T02:00:00+10:30",
        "2026-04-05T03:00:00+10:30",
    ]


def test_half_hour_offset_zone_keeps_cron_minutes() -> None:
    # Divergence, on purpose: Dagster 1.10's hourly fast path reads the minute from the UTC
    # timestamp, so in Asia/Kolkata '56 * * * *' would fire at :26 local time.
    runs = preview("56 * * * *", "Asia/Kolkata", start=utc(2026, 3, 7, 20), count=2)
    assert local_isoformats(runs) == ["2026-03-08T01:56:00+05:30", "2026-03-08T02:56:00+05:30"]


def test_midnight_transition_runs_at_the_first_existing_time() -> None:
    # America/Santiago springs forward at 00:00 → 01:00 on 2026-09-06. Documented semantics
    # give 01:00; Dagster 1.10's code only shifts times in hours 1-3 and would give 01:07.
    runs = preview("7 0 * * *", "America/Santiago", start=utc(2026, 9, 5, 12), count=2)
    assert local_isoformats(runs) == ["2026-09-06T01:00:00-03:00", "2026-09-07T00:07:00-03:00"]
    assert runs[0].shifted
