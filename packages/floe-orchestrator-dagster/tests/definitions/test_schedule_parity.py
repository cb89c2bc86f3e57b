"""Our cron and timezone verdicts against Dagster's own, on a pinned corpus.

The rule (decision 0003): the core validates every cron before Dagster sees it, so

- every expression Dagster refuses, we refuse too, with our message (which says what the
  format is), never Dagster's;
- every expression we accept, Dagster accepts, and ``schedule_job`` hands it over unchanged;
- where we refuse something Dagster accepts, the expression is listed in
  :data:`INTENTIONALLY_STRICTER` with the reason; if Dagster starts refusing one of them the
  test says so, and it moves to :data:`BOTH_REFUSE`.

Dagster's verdict is two-fold: ``dagster._utils.schedules.is_valid_cron_string`` (what
``ScheduleDefinition`` calls) and constructing a ``ScheduleDefinition`` itself.
"""

from __future__ import annotations

import warnings

import dagster as dg
import pytest
from dagster._utils.schedules import is_valid_cron_string
from hypothesis import given, settings

from floe_orchestration_core.errors import InvalidCronError, InvalidTimezoneError
from floe_orchestration_core.scheduling import validate_cron, validate_timezone
from floe_orchestration_core.scheduling.cron import FORMAT_HELP
from floe_orchestration_core.testing.strategies import crons
from floe_orchestrator_dagster.plugin import DagsterOrchestratorPlugin

#: Expressions both we and Dagster accept.
BOTH_ACCEPT = (
    "* * * * *",
    "0 * * * *",
    "*/15 * * * *",
    "0 0 * * *",
    "30 2 * * MON-FRI",
    "0 8 * * 1-5",
    "0 0 1 * *",
    "0 0 1 1 *",
    "@hourly",
    "@daily",
    "@midnight",
    "@weekly",
    "@monthly",
    "@yearly",
    "@annually",
    "0 0 L * *",
    "0 0 15-L * *",
    "0 0 L 2 *",
    "0 9 * * FRI#2",
    "0 9 * * L5",
    "0 0 29 2 *",
    "0 0 ? * MON",
    "0 0 ? * ?",
    "5,10,15 * * * *",
    "0 0-23/2 * * *",
    "0 0 1/5 * *",
    "0 12 * JAN-MAR *",
    "0 0 * * 7",
    "0 0 * * 0",
    "0 0 * * SUN-SAT",
    "0 0 1-7 * 1",
    " 0 0 * * * ",
    "0\t0 * * *",
)

#: Expressions both we and Dagster refuse.
BOTH_REFUSE = (
    "",
    "0 0 30 2 *",
    "0 0 31 2 *",
    "0 0 30 2 MON",
    "61 * * * *",
    "-1 * * * *",
    "* 24 * * *",
    "* * 32 * *",
    "* * * 13 *",
    "* * * * 8",
    "*/0 * * * *",
    "* * * *",
    "* * * * * *",
    "0 0 0 1 1 * 2024",
    "@every_minute",
    "@reboot",
    "@hourly * * * *",
    "MON * * * *",
    "H * * * *",
    "1,,2 * * * *",
    "0 0 * * MON,TUE#2",
    "0 0 * * 5L",
    "0 0 * * 1#6",
    "0 0 LW * *",
    "0 0 15W * *",
)

#: Expressions Dagster accepts and we refuse on purpose: expression → why.
INTENTIONALLY_STRICTER = {
    "5-5 * * * *": "a single-value range: croniter reads it as a wrap-around (every minute)",
    "0 0 30 2-2 *": "a single-value range makes croniter run on the 30th of every month",
    "5-1 * * * *": "a reversed range: croniter wraps it around, which nobody means",
    "*/90 * * * *": "a step longer than the field: cron silently means only minute 0",
    "0 0 31 4,6,9,11 *": "the 31st exists in none of these months: it never fires",
    "0 0 31 4 *": "April has no 31st: it never fires",
}

CORPUS = (*BOTH_ACCEPT, *BOTH_REFUSE, *INTENTIONALLY_STRICTER)


def _dagster_accepts(cron: str) -> bool:
    """Dagster's own verdict: its validator and its ScheduleDefinition must agree."""
    valid = is_valid_cron_string(cron)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # out-of-range interval warnings are not verdicts
        try:
            dg.ScheduleDefinition(
                name="parity", job_name="parity_job", cron_schedule=cron, execution_timezone="UTC"
            )
        except dg.DagsterInvalidDefinitionError:
            constructed = False
        else:
            constructed = True
    assert valid == constructed, f"Dagster's validator and ScheduleDefinition disagree on {cron!r}"
    return valid


def _we_accept(cron: str) -> bool:
    try:
        validate_cron(cron)
    except InvalidCronError:
        return False
    return True


@pytest.fixture(scope="module")
def plugin() -> DagsterOrchestratorPlugin:
    return DagsterOrchestratorPlugin()


def test_the_corpus_has_at_least_forty_distinct_expressions() -> None:
    assert len(set(CORPUS)) == len(CORPUS) >= 40


@pytest.mark.parametrize("cron", CORPUS)
def test_every_expression_dagster_refuses_we_refuse(cron: str) -> None:
    if not _dagster_accepts(cron):
        assert not _we_accept(cron)


@pytest.mark.parametrize("cron", BOTH_ACCEPT)
def test_both_accept(cron: str) -> None:
    assert _we_accept(cron)
    assert _dagster_accepts(cron)


@pytest.mark.parametrize("cron", BOTH_REFUSE)
def test_both_refuse(cron: str) -> None:
    assert not _we_accept(cron)
    assert not _dagster_accepts(cron)


@pytest.mark.parametrize("cron", sorted(INTENTIONALLY_STRICTER))
def test_intentionally_stricter_expressions_are_accepted_by_dagster_and_refused_by_us(
    cron: str,
) -> None:
    assert _dagster_accepts(cron), (
        f"Dagster now refuses {cron!r}: move it from INTENTIONALLY_STRICTER to BOTH_REFUSE"
    )
    assert not _we_accept(cron)


@pytest.mark.parametrize("cron", [*BOTH_REFUSE, *INTENTIONALLY_STRICTER])
def test_schedule_job_refuses_with_our_message_not_dagsters(
    plugin: DagsterOrchestratorPlugin, cron: str
) -> None:
    with pytest.raises(InvalidCronError) as caught:
        plugin.schedule_job("nightly_build", cron)
    message = str(caught.value)
    assert isinstance(caught.value, ValueError)
    assert FORMAT_HELP in message
    assert "Dagster recognizes" not in message  # Dagster's wording never leaks through


@pytest.mark.parametrize("cron", BOTH_ACCEPT)
def test_schedule_job_hands_an_accepted_cron_to_dagster_unchanged(
    plugin: DagsterOrchestratorPlugin, cron: str
) -> None:
    schedule = plugin.schedule_job("nightly_build", cron, "Europe/Berlin")
    assert isinstance(schedule, dg.ScheduleDefinition)
    assert (schedule.job_name, schedule.cron_schedule, schedule.execution_timezone) == (
        "nightly_build",
        cron,
        "Europe/Berlin",
    )


@settings(max_examples=150, deadline=None)
@given(cron=crons())
def test_every_generated_cron_we_accept_dagster_accepts(cron: str) -> None:
    assert _we_accept(cron)
    assert _dagster_accepts(cron)


# Timezones ----------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "timezone", ["UTC", "Europe/Berlin", "America/New_York", "Asia/Kolkata", "Australia/Lord_Howe"]
)
def test_timezones_we_accept_dagster_accepts(
    plugin: DagsterOrchestratorPlugin, timezone: str
) -> None:
    validate_timezone(timezone)
    schedule = plugin.schedule_job("nightly_build", "0 2 * * *", timezone)
    assert schedule.execution_timezone == timezone


@pytest.mark.parametrize("timezone", ["Europe/Berln", "Mars/Olympus_Mons", "not a zone"])
def test_timezones_dagster_refuses_we_refuse_with_our_message(
    plugin: DagsterOrchestratorPlugin, timezone: str
) -> None:
    with pytest.raises(dg.DagsterInvalidDefinitionError):
        dg.ScheduleDefinition(
            name="parity",
            job_name="parity_job",
            cron_schedule="0 2 * * *",
            execution_timezone=timezone,
        )
    with pytest.raises(InvalidTimezoneError) as caught:
        plugin.schedule_job("nightly_build", "0 2 * * *", timezone)
    assert repr(timezone) in str(caught.value)
    assert "Invalid execution timezone" not in str(caught.value)


def test_a_misspelt_timezone_is_refused_naming_the_close_match(
    plugin: DagsterOrchestratorPlugin,
) -> None:
    with pytest.raises(InvalidTimezoneError, match="Europe/Berlin"):
        plugin.schedule_job("nightly_build", "0 2 * * *", "Europe/Berln")


def test_an_empty_timezone_is_refused_although_dagster_reads_it_as_none(
    plugin: DagsterOrchestratorPlugin,
) -> None:
    # Intentionally stricter: Dagster treats "" as "no execution timezone" (UTC); floe
    # requires the IANA name to be written, e.g. "UTC".
    schedule = dg.ScheduleDefinition(
        name="parity", job_name="parity_job", cron_schedule="0 2 * * *", execution_timezone=""
    )
    assert not schedule.execution_timezone
    with pytest.raises(InvalidTimezoneError):
        plugin.schedule_job("nightly_build", "0 2 * * *", "")
