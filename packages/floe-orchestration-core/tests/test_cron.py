"""Cron parsing and calendar matching (floe_orchestration_core.scheduling.cron)."""

from __future__ import annotations

from datetime import date, datetime

import pytest

from floe_orchestration_core.errors import InvalidCronError, SchedulingError
from floe_orchestration_core.scheduling.cron import FORMAT_HELP, MACROS, CronExpression, parse_cron

ALL_MINUTES = frozenset(range(60))
ALL_HOURS = frozenset(range(24))
WEEKDAYS = frozenset(range(1, 6))

# Expressions dagster._utils.schedules.is_valid_cron_string refuses (checked against
# dagster 1.10.21, whose vendored croniter decides validity). The adapter must refuse
# everything Dagster refuses, so the core must too.
REFUSED_BY_DAGSTER = [
    "* * * *",
    "* * * * * *",
    "* * * * * * *",
    "0 0 1 1 * 2020",
    "",
    "   ",
    "@reboot",
    "@every",
    "@daily 1",
    "@weekly ",
    "@ daily",
    "60 * * * *",
    "* 24 * * *",
    "0 0 0 * *",
    "* * 32 * *",
    "* * * 0 *",
    "* * * 13 *",
    "* * * * 8",
    "-1 * * * *",
    "+5 * * * *",
    "*/0 * * * *",
    "1-10/0 * * * *",
    "0 0 1/0 * *",
    "1,,2 * * * *",
    ",1 * * * *",
    "1, * * * *",
    "1- * * * *",
    "0 0 * FOO *",
    "0 0 * Sept *",
    "0 0 * * MONDAY",
    "0 0 * * thur",
    "0 0 * * 5L",
    "0 0 * * L",
    "0 0 * * L8",
    "0 0 * * 5#6",
    "0 0 * * 5#0",
    "0 0 * * 1#1,2",
    "0 0 * * 1-5#1",
    "0 0 L-2 * *",
    "0 0 LW * *",
    "0 0 15W * *",
    "0 0 L/2 * *",
    "0 0 l-l * *",
    "0 0 30 2 *",
    "0 0 31 2 *",
    "0 0 30 2 MON",
    "0 0 30 feb *",
    "0 0 30 2 ?",
    "? * * * *",
    "* * * 3 ?,*",
    "H * * * *",
    "0x10 * * * *",
    "1e1 * * * *",
    "0 0 ** * *",
    "0 0 *-5 * *",
    "0 0 2/ * * *",
]

# Accepted by Dagster but refused here, because croniter reads them in a way nobody means
# (wrap-around or whole-cycle ranges, steps past the field, '*' in a list) or they never fire.
REFUSED_HERE_ONLY = [
    "5-1 * * * *",
    "* 22-2 * * *",
    "0 0 * * FRI-MON",
    "5-5 * * * *",
    "0 0 30 2-2 *",
    "0 0 31-L * *",
    "0 0 * * 7-7",
    "*/60 * * * *",
    "*/90 * * * *",
    "0 */25 * * *",
    "0 0 * * */7",
    "59/5 * * * *",
    "0 0 * 12/6 *",
    "0 0 * * 7/2",
    "* 7,*,0 * * *",
    "0 0 31 4,6,9,11 *",
    "0 0 30,31 2 *",
    "0 0 31 2,4 *",
    "٣ * * * *",
]


def test_format_help_is_the_one_line_reminder() -> None:
    assert FORMAT_HELP == (
        "cron has 5 fields: minute hour day-of-month month day-of-week, e.g. "
        "'0 8 * * MON-FRI'; macros: @hourly @daily @weekly @monthly @yearly"
    )
    assert "\n" not in FORMAT_HELP


@pytest.mark.parametrize("expression", REFUSED_BY_DAGSTER)
def test_everything_dagster_refuses_is_refused(expression: str) -> None:
    with pytest.raises(InvalidCronError) as caught:
        parse_cron(expression)
    assert str(caught.value).endswith(FORMAT_HELP)


@pytest.mark.parametrize("expression", REFUSED_HERE_ONLY)
def test_misleading_or_never_firing_expressions_are_refused(expression: str) -> None:
    with pytest.raises(InvalidCronError, match="cron has 5 fields"):
        parse_cron(expression)


def test_invalid_cron_error_is_a_scheduling_value_error() -> None:
    with pytest.raises(ValueError, match="minute") as caught:
        parse_cron("61 * * * *")
    assert isinstance(caught.value, SchedulingError)


@pytest.mark.parametrize(
    ("expression", "fragments"),
    [
        ("61 * * * *", ["minute", "61", "0-59"]),
        ("0 24 * * *", ["hour", "24", "0-23"]),
        ("0 0 32 * *", ["day-of-month", "32", "1-31"]),
        ("0 0 * 13 *", ["month", "13", "1-12"]),
        ("0 0 * * 8", ["day-of-week", "8", "0-7", "SUN-SAT"]),
        ("*/0 * * * *", ["minute", "step 0", "1-59"]),
        ("0 */30 * * *", ["hour", "step 30", "0-23"]),
        ("5-1 * * * *", ["minute", "'5-1'", "reversed", "'5-59,0-1'"]),
        ("0 0 * * SAT-SUN", ["day-of-week", "'SAT-SUN'", "reversed", "'6-7'"]),
        ("0 0 * FOO *", ["month", "'FOO'", "JAN FEB"]),
        ("0 0 * * 5#6", ["day-of-week", "'5#6'", "1-5"]),
        ("0 0 30 2 *", ["day-of-month 30", "never occurs in FEB"]),
        ("0 0 31 4,6,9,11 *", ["day-of-month 31", "APR, JUN, SEP, NOV"]),
        ("* * * * * *", ["6 fields", "expected 5", "seconds"]),
        ("@fortnightly", ["unknown macro", "@fortnightly", "@daily"]),
        ("1,,2 * * * *", ["minute", "empty item"]),
        ("0 0 * * 5L", ["day-of-week", "'5L'", "'LD'"]),
    ],
)
def test_error_names_field_value_and_allowed_range(expression: str, fragments: list[str]) -> None:
    with pytest.raises(InvalidCronError) as caught:
        parse_cron(expression)
    message = str(caught.value)
    assert repr(expression) in message
    for fragment in fragments:
        assert fragment in message
    assert message.endswith(FORMAT_HELP)


def test_non_string_is_refused_with_the_format() -> None:
    with pytest.raises(InvalidCronError, match="must be a string, got int"):
        parse_cron(5)  # type: ignore[arg-type]


def test_overlong_expression_is_refused_without_echoing_it_whole() -> None:
    with pytest.raises(InvalidCronError, match="at most 1024") as caught:
        parse_cron("1," * 2000 + "1 * * * *")
    assert len(str(caught.value)) < 400


@pytest.mark.parametrize(
    ("expression", "minutes"),
    [
        ("*/5 * * * *", frozenset(range(0, 60, 5))),
        ("1-10/2 * * * *", frozenset({1, 3, 5, 7, 9})),
        ("5/15 * * * *", frozenset({5, 20, 35, 50})),
        ("0,15,30,45 * * * *", frozenset({0, 15, 30, 45})),
        ("007 * * * *", frozenset({7})),
        ("*/59 * * * *", frozenset({0, 59})),
        ("1-59/58 * * * *", frozenset({1, 59})),
    ],
)
def test_minute_items_expand_like_croniter(expression: str, minutes: frozenset[int]) -> None:
    assert parse_cron(expression).minutes == minutes


@pytest.mark.parametrize(
    ("expression", "days_of_week"),
    [
        ("0 0 * * MON-FRI", WEEKDAYS),
        ("0 0 * * mon-fri", WEEKDAYS),
        ("0 0 * * Mon", frozenset({1})),
        ("0 0 * * 7", frozenset({0})),
        ("0 0 * * 0", frozenset({0})),
        ("0 0 * * 6-7", frozenset({0, 6})),
        ("0 0 * * 5-7", frozenset({0, 5, 6})),
        ("0 0 * * 1-7/2", frozenset({0, 1, 3, 5})),
        ("0 0 * * 2-7/2", frozenset({2, 4, 6})),
        ("0 0 * * */2", frozenset({0, 2, 4, 6})),
        ("0 0 * * 2/3", frozenset({2, 5})),
        ("0 0 * * mon-fri/2", frozenset({1, 3, 5})),
    ],
)
def test_day_of_week_names_ranges_and_sunday_seven(
    expression: str, days_of_week: frozenset[int]
) -> None:
    assert parse_cron(expression).days_of_week == days_of_week


@pytest.mark.parametrize(
    ("expression", "months"),
    [
        ("0 0 * JAN *", frozenset({1})),
        ("0 0 * jan-mar *", frozenset({1, 2, 3})),
        ("0 0 * jan-dec/2 *", frozenset({1, 3, 5, 7, 9, 11})),
        ("0 0 * jan/2 *", frozenset({1, 3, 5, 7, 9, 11})),
        ("0 0 * */3 *", frozenset({1, 4, 7, 10})),
    ],
)
def test_month_names_and_steps(expression: str, months: frozenset[int]) -> None:
    assert parse_cron(expression).months == months


@pytest.mark.parametrize(
    ("macro", "equivalent"),
    [
        ("@yearly", "0 0 1 1 *"),
        ("@annually", "0 0 1 1 *"),
        ("@monthly", "0 0 1 * *"),
        ("@weekly", "0 0 * * 0"),
        ("@daily", "0 0 * * *"),
        ("@midnight", "0 0 * * *"),
        ("@hourly", "0 * * * *"),
        ("@DAILY", "0 0 * * *"),
    ],
)
def test_macros_expand_to_their_five_field_form(macro: str, equivalent: str) -> None:
    parsed = parse_cron(macro)
    assert parsed.expression == macro
    assert attrs_without_expression(parsed) == attrs_without_expression(parse_cron(equivalent))


def test_macro_table_lists_every_documented_macro() -> None:
    assert set(MACROS) == {
        "@yearly",
        "@annually",
        "@monthly",
        "@weekly",
        "@daily",
        "@midnight",
        "@hourly",
    }


def attrs_without_expression(cron: CronExpression) -> tuple[object, ...]:
    return (
        cron.minutes,
        cron.hours,
        cron.days_of_month,
        cron.months,
        cron.days_of_week,
        cron.last_day_of_month,
        cron.nth_weekdays,
        cron.last_weekdays,
        cron.day_of_month_restricted,
        cron.day_of_week_restricted,
    )


def test_whitespace_between_fields_may_be_any_run_of_spaces_or_tabs() -> None:
    assert attrs_without_expression(parse_cron(" 0\t8  * * MON-FRI ")) == (
        attrs_without_expression(parse_cron("0 8 * * 1-5"))
    )


def test_star_fields_are_full_and_unrestricted() -> None:
    cron = parse_cron("* * * * *")
    assert cron.minutes == ALL_MINUTES
    assert cron.hours == ALL_HOURS
    assert cron.days_of_month == frozenset(range(1, 32))
    assert cron.months == frozenset(range(1, 13))
    assert cron.days_of_week == frozenset(range(7))
    assert not cron.day_of_month_restricted
    assert not cron.day_of_week_restricted


def test_question_mark_means_star_in_day_fields() -> None:
    cron = parse_cron("0 0 ? * MON")
    assert not cron.day_of_month_restricted
    assert cron.day_of_week_restricted
    assert cron.matches_date(date(2026, 6, 1))  # a Monday
    assert not cron.matches_date(date(2026, 6, 2))


def test_both_day_fields_restricted_match_either() -> None:
    cron = parse_cron("0 0 1 * MON")
    assert cron.matches_date(date(2026, 6, 1))  # Monday the 1st
    assert cron.matches_date(date(2026, 7, 1))  # Wednesday the 1st
    assert cron.matches_date(date(2026, 7, 6))  # Monday the 6th
    assert not cron.matches_date(date(2026, 7, 7))


def test_one_day_field_star_means_only_the_other_counts() -> None:
    by_day = parse_cron("0 0 13 * *")
    by_weekday = parse_cron("0 0 * * FRI")
    assert by_day.matches_date(date(2026, 2, 13))
    assert not by_day.matches_date(date(2026, 2, 6))
    assert by_weekday.matches_date(date(2026, 2, 6))
    assert not by_weekday.matches_date(date(2026, 2, 13 + 1))


def test_full_day_list_with_restricted_weekday_matches_every_day_as_croniter() -> None:
    # croniter keeps '1-31' restricted when the day-of-week has no '*', so OR → every day.
    cron = parse_cron("0 0 1-31 * MON")
    assert all(cron.matches_date(date(2026, 3, day)) for day in range(1, 32))


def test_full_day_list_with_starred_weekday_step_matches_only_the_weekdays() -> None:
    # croniter collapses '1-31' to '*' when the day-of-week text contains a '*'.
    cron = parse_cron("0 0 1-31 * */2")
    assert not cron.day_of_month_restricted
    assert cron.matches_date(date(2026, 3, 1))  # Sunday
    assert not cron.matches_date(date(2026, 3, 2))  # Monday


def test_full_weekday_list_with_restricted_day_matches_every_day_as_croniter() -> None:
    cron = parse_cron("0 0 15 * 0-6")
    assert cron.day_of_week_restricted
    assert all(cron.matches_date(date(2026, 3, day)) for day in range(1, 32))


def test_month_restriction_applies_to_both_day_fields() -> None:
    cron = parse_cron("0 0 1 JAN MON")
    assert not cron.matches_date(date(2026, 6, 1))  # Monday the 1st, in June
    assert cron.matches_date(date(2026, 1, 5))  # Monday in January


def test_day_of_month_l_is_the_last_day_of_each_month() -> None:
    cron = parse_cron("0 0 L * *")
    assert cron.last_day_of_month
    assert cron.matches_date(date(2026, 2, 28))
    assert not cron.matches_date(date(2028, 2, 28))
    assert cron.matches_date(date(2028, 2, 29))
    assert cron.matches_date(date(2026, 4, 30))
    assert not cron.matches_date(date(2026, 5, 30))


def test_day_of_month_range_to_l_runs_to_the_month_end() -> None:
    cron = parse_cron("0 0 29-L * *")
    assert cron.days_of_month == frozenset({29, 30, 31})
    assert cron.matches_date(date(2026, 4, 30))
    assert not cron.matches_date(date(2026, 4, 28))


def test_l_may_be_listed_with_days() -> None:
    cron = parse_cron("0 0 1,L * *")
    assert cron.matches_date(date(2026, 6, 1))
    assert cron.matches_date(date(2026, 6, 30))
    assert not cron.matches_date(date(2026, 6, 15))


@pytest.mark.parametrize("expression", ["0 0 * * 5#2", "0 0 * * FRI#2", "0 0 * * fri#02"])
def test_nth_weekday_selects_that_occurrence_in_the_month(expression: str) -> None:
    cron = parse_cron(expression)
    assert cron.nth_weekdays == frozenset({(5, 2)})
    assert cron.matches_date(date(2026, 1, 9))  # second Friday of January 2026
    assert not cron.matches_date(date(2026, 1, 2))
    assert not cron.matches_date(date(2026, 1, 16))


def test_several_nth_weekdays_and_sunday_as_seven() -> None:
    cron = parse_cron("0 0 * * 7#1,1#3")
    assert cron.nth_weekdays == frozenset({(0, 1), (1, 3)})
    assert cron.matches_date(date(2026, 3, 1))  # first Sunday
    assert cron.matches_date(date(2026, 3, 16))  # third Monday


@pytest.mark.parametrize("expression", ["0 0 * * L5", "0 0 * * l5"])
def test_last_weekday_selects_the_final_occurrence(expression: str) -> None:
    cron = parse_cron(expression)
    assert cron.last_weekdays == frozenset({5})
    assert cron.matches_date(date(2026, 1, 30))
    assert not cron.matches_date(date(2026, 1, 23))
    assert cron.matches_date(date(2026, 2, 27))


def test_fifth_weekday_in_february_is_valid_and_matches_only_leap_years() -> None:
    cron = parse_cron("0 0 * 2 5#5")
    assert cron.matches_date(date(2036, 2, 29))  # Friday 29 February 2036
    assert not any(cron.matches_date(date(2026, 2, day)) for day in range(1, 29))


def test_february_29_is_valid_and_found_only_in_leap_years() -> None:
    cron = parse_cron("0 0 29 2 *")
    assert cron.next_date(date(2026, 3, 1)) == date(2028, 2, 29)
    assert cron.next_date(date(2028, 2, 29)) == date(2028, 2, 29)
    assert cron.next_date(date(2096, 3, 1)) == date(2104, 2, 29)  # 2100 is not a leap year


def test_next_date_stops_at_the_end_of_the_calendar() -> None:
    assert parse_cron("0 0 29 2 *").next_date(date(9996, 3, 1)) is None


@pytest.mark.parametrize(
    ("expression", "expected"),
    [
        ("* * * * *", True),
        ("0 * * * *", True),
        ("*/15 * * * *", True),
        ("0 0-23 * * *", True),
        ("0 */1 * * *", True),
        ("0 * 1 * *", True),
        ("@hourly", True),
        ("0 */2 * * *", False),
        ("0 0-22 * * *", False),
        ("@daily", False),
        ("30 2 * * *", False),
    ],
)
def test_hourly_or_finer_means_every_hour_is_selected(expression: str, expected: bool) -> None:
    assert parse_cron(expression).is_hourly_or_finer is expected


def test_matches_checks_the_wall_minute_and_date() -> None:
    cron = parse_cron("30 8 * * MON-FRI")
    assert cron.matches(datetime(2026, 6, 1, 8, 30, 59))
    assert not cron.matches(datetime(2026, 6, 1, 8, 31))
    assert not cron.matches(datetime(2026, 6, 6, 8, 30))  # Saturday


def test_wall_times_start_at_or_after_start_rounded_up_to_the_minute() -> None:
    cron = parse_cron("*/20 * * * *")
    times = cron.wall_times(datetime(2026, 1, 1, 10, 20, 1))
    assert [next(times) for _ in range(3)] == [
        datetime(2026, 1, 1, 10, 40),
        datetime(2026, 1, 1, 11, 0),
        datetime(2026, 1, 1, 11, 20),
    ]
    exact = cron.wall_times(datetime(2026, 1, 1, 10, 20))
    assert next(exact) == datetime(2026, 1, 1, 10, 20)


def test_wall_times_jump_over_unselected_days() -> None:
    cron = parse_cron("15 6 L 2 *")
    times = cron.wall_times(datetime(2026, 3, 1))
    assert [next(times) for _ in range(3)] == [
        datetime(2027, 2, 28, 6, 15),
        datetime(2028, 2, 29, 6, 15),
        datetime(2029, 2, 28, 6, 15),
    ]


def test_wall_times_end_with_the_calendar() -> None:
    cron = parse_cron("59 23 31 12 *")
    assert list(cron.wall_times(datetime(9998, 6, 1))) == [
        datetime(9998, 12, 31, 23, 59),
        datetime(9999, 12, 31, 23, 59),
    ]
