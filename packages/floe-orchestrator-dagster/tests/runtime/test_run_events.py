"""A run's events as ``floe run`` sees them: the structured events an observer receives, the
lines a plain progress callable receives, and the one line that says why a step failed."""

from __future__ import annotations

from floe_orchestration_core.run_progress import RunEvent, RunObserver
from floe_orchestrator_dagster.runtime.run_events import RunTally, failure_headline

#: dagster-dbt's error for a failed ``dbt build`` (its shape in dagster-dbt 0.27-0.29).
DBT_ERROR = """The dbt CLI process with command

`dbt build --select tag:x`

failed with exit code `1`. Check the stdout in the Dagster compute logs for the full information.

Errors parsed from dbt logs:

25 of 27 ERROR creating sql table model main_marts.mart_daily_revenue .......... [ERROR in 0.02s]

Failure in model mart_daily_revenue (models/marts/mart_daily_revenue.sql)

  Runtime Error in model mart_daily_revenue (models/marts/mart_daily_revenue.sql)
  Binder Error: Referenced column "no_such_column" not found in FROM clause!
  Candidate bindings: "order_total"
"""


class _Recorder(RunObserver):
    def __init__(self) -> None:
        self.lines: list[str] = []
        self.events: list[RunEvent] = []

    def line(self, text: str) -> None:
        self.lines.append(text)

    def event(self, event: RunEvent) -> None:
        self.events.append(event)


def test_a_dbt_failure_is_named_by_dbt_s_failure_and_its_cause() -> None:
    assert failure_headline(DBT_ERROR) == (
        "Failure in model mart_daily_revenue (models/marts/mart_daily_revenue.sql): "
        'Binder Error: Referenced column "no_such_column" not found in FROM clause!'
    )


def test_another_failure_is_named_by_its_first_line() -> None:
    assert failure_headline("\n  ValueError: no rows\nmore\n") == "ValueError: no rows"
    assert failure_headline("") == ""
    assert len(failure_headline("x" * 1000)) == 300


def test_an_observer_gets_events_and_a_plain_callable_the_lines() -> None:
    observer, lines = _Recorder(), list[str]()
    for progress in (observer, lines.append):
        tally = RunTally(progress)
        tally.planned(2)
        tally.step_started("dbt")
        tally.materialization("marts/orders")
        tally.check("not_null_id", "marts/orders", passed=False, severity="warn")
        tally.step_retrying("dbt", DBT_ERROR)
        tally.step_failed("dbt", DBT_ERROR)
        tally.step_succeeded("other")

    assert [e.kind for e in observer.events] == [
        "planned",
        "step_started",
        "materialized",
        "check",
        "step_retrying",
        "step_failed",
        "step_succeeded",
    ]
    assert observer.events[0].total == 2
    assert observer.events[3] == RunEvent(
        "check", "not_null_id", asset="marts/orders", passed=False, severity="WARN"
    )
    assert observer.events[5].message.startswith("Failure in model mart_daily_revenue")
    assert observer.lines == []  # each event once: not also as a line
    assert lines[:3] == [
        "step dbt started",
        "  materialized marts/orders",
        "  check not_null_id on marts/orders: FAILED (warn)",
    ]
    assert lines[3].startswith("step dbt failed, retrying: Failure in model mart_daily_revenue")
    assert lines[4].startswith("step dbt FAILED: Failure in model mart_daily_revenue")
    assert len(lines) == 5
