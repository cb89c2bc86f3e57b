"""``floe run``'s view of a run (:mod:`floe_registry.cli.run_view`), fed the events a launcher
reports, and the terminal capture in ``docs/images/run-view.txt`` that the docs show.

The view on a real terminal and through the installed command: ``integration/test_run_view.py``.
"""

from __future__ import annotations

import io
import re
import time
from pathlib import Path

import pytest

from floe_orchestration_core.run_progress import RunEvent, report_run_event
from floe_orchestration_core.runtime import RunSummary
from floe_registry.cli.run_view import RunView, colour_wanted, process_started

REPO_ROOT = Path(__file__).resolve().parents[3]
CAPTURE = REPO_ROOT / "docs" / "images" / "run-view.txt"
CLEAR = "\r\x1b[2K"


class _Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def _feed(view: RunView) -> None:
    view("no webserver is running ('floe up'): running in-process")
    view.event(RunEvent("planned", total=3))
    view.event(RunEvent("step_started", "landing"))
    view.event(RunEvent("materialized", "raw/orders"))
    view.event(RunEvent("step_succeeded", "landing"))
    view.event(RunEvent("step_started", "dbt_duckdb"))
    view.event(RunEvent("materialized", "staging/stg_orders"))
    view.event(RunEvent("check", "not_null_id", asset="staging/stg_orders"))
    view.event(
        RunEvent("check", "settled", asset="staging/stg_orders", passed=False, severity="WARN")
    )
    view.event(RunEvent("step_failed", "dbt_duckdb", message="Failure in model m: Binder Error"))
    view.close()


def test_off_a_terminal_each_finished_asset_step_and_failure_is_one_plain_line() -> None:
    stream = io.StringIO()
    _feed(RunView(stream, started=time.monotonic()))

    assert stream.getvalue().splitlines() == [
        "floe: no webserver is running ('floe up'): running in-process",
        "floe: [1/3] materialized raw/orders",
        stream.getvalue().splitlines()[2],
        "floe: [2/3] materialized staging/stg_orders",
        "floe: check settled on staging/stg_orders: FAILED (warn)",
        stream.getvalue().splitlines()[5],
    ]
    lines = stream.getvalue().splitlines()
    assert re.fullmatch(r"floe: step landing done in \d+\.\d s", lines[2])
    assert re.fullmatch(
        r"floe: step dbt_duckdb FAILED in \d+\.\d s: Failure in model m: Binder Error", lines[5]
    )
    assert "\x1b" not in stream.getvalue()


def test_on_a_terminal_the_status_line_counts_done_of_total_failures_and_running_steps() -> None:
    stream = _Terminal()
    view = RunView(stream, started=time.monotonic() - 75, colour=False, interval_s=60)
    view.event(RunEvent("planned", total=4))
    view.event(RunEvent("step_started", "dbt_duckdb"))
    view.event(RunEvent("materialized", "a"))
    view.event(RunEvent("step_failed", "landing"))
    status = stream.getvalue().rsplit(CLEAR, 1)[-1]
    view.close()

    assert re.fullmatch(
        r"[|/\\-] \[#####---------------\] 1/4 assets  1 failed  1:1\d  running: dbt_duckdb",
        status,
    )
    assert stream.getvalue().endswith(CLEAR)  # cleared for the summary
    assert "floe: step landing FAILED\n" in stream.getvalue()
    assert "materialized a" not in stream.getvalue()  # counted in the bar, not listed
    assert "\x1b[3" not in stream.getvalue()  # no colour asked for


def test_on_a_terminal_failures_and_done_steps_are_coloured() -> None:
    stream = _Terminal()
    view = RunView(stream, started=time.monotonic(), colour=True, interval_s=60)
    view.event(RunEvent("step_started", "landing"))
    view.event(RunEvent("step_succeeded", "landing"))
    view.event(RunEvent("step_failed", "dbt"))
    view.close()
    assert "\x1b[32mdone\x1b[0m" in stream.getvalue()
    assert "\x1b[31mFAILED\x1b[0m" in stream.getvalue()


def test_without_a_total_the_status_line_counts_what_is_done() -> None:
    stream = _Terminal()
    view = RunView(stream, started=time.monotonic(), colour=False, interval_s=60)
    view.event(RunEvent("step_started", "dbt"))
    view.event(RunEvent("materialized", "a"))
    status = stream.getvalue().rsplit(CLEAR, 1)[-1]
    view.close()
    assert " 1 assets  0 failed " in status


def test_the_status_line_fits_the_terminal_width(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("COLUMNS", "60")
    stream = _Terminal()
    view = RunView(stream, started=time.monotonic(), colour=False, interval_s=60)
    view.event(RunEvent("planned", total=10))
    for step in ("a_very_long_step_name", "another_long_step_name", "third"):
        view.event(RunEvent("step_started", step))
    status = stream.getvalue().rsplit(CLEAR, 1)[-1]
    view.close()
    assert len(status) < 60
    assert status.endswith("…")


@pytest.mark.parametrize(
    ("environ", "tty", "wanted"),
    [
        ({}, True, True),
        ({}, False, False),
        ({"NO_COLOR": "1"}, True, False),
        ({"NO_COLOR": ""}, True, True),  # no-color.org: only a non-empty value counts
        ({"TERM": "dumb"}, True, False),
    ],
)
def test_colour_only_on_a_terminal_and_never_with_no_color(
    environ: dict[str, str], tty: bool, wanted: bool
) -> None:
    stream = _Terminal() if tty else io.StringIO()
    assert colour_wanted(stream, environ) is wanted


def test_a_plain_progress_callable_gets_the_line_and_an_observer_the_event() -> None:
    lines: list[str] = []
    report_run_event(lines.append, RunEvent("materialized", "a"), "  materialized a")
    report_run_event(lines.append, RunEvent("planned", total=2), None)
    assert lines == ["  materialized a"]


def test_the_process_started_before_it_asked() -> None:
    assert process_started() <= time.monotonic()


def test_the_summary_shows_the_wall_time_the_dbt_log_and_where_the_full_log_is() -> None:
    from floe_registry.cli.commands.runtime import _summary_text

    summary = RunSummary(
        run_id="0123456789abcdef",
        status="failure",
        where="in-process",
        duration_s=3.0,
        dbt_log="/elsewhere/.floe/logs/runs/0123456789abcdef/dbt.log",
    )
    text = _summary_text(summary, "shop", wall_s=9.25)
    assert text.splitlines()[0] == "run 0123456789abcdef (in-process): FAILURE in 9.2 s"
    assert "  dbt log: /elsewhere/.floe/logs/runs/0123456789abcdef/dbt.log" in text
    assert "  full log: floe logs 01234567 shop (tracebacks: --debug)" in text


# The capture the docs show -----------------------------------------------------------------
def test_the_documented_terminal_capture_shows_the_live_view_and_the_summary() -> None:
    text = CAPTURE.read_text(encoding="utf-8")
    assert "tmux" in text.splitlines()[0]  # says how it was captured
    status = [
        line
        for line in text.splitlines()
        if re.match(r"[|/\\-] \[[#-]{20}\] \d+/13 assets  0 failed  \d+:\d\d  running: ", line)
    ]
    assert status, "no live status line in the capture"
    assert re.search(r"^floe: step dbt_duckdb done in \d+\.\d s$", text, re.MULTILINE)
    assert re.search(r"^run \S+ \(in-process\): SUCCESS in \d+\.\d s$", text, re.MULTILINE)
    assert re.search(r"^  dbt log: \S+/\.floe/logs/runs/\S+/dbt\.log$", text, re.MULTILINE)
    assert "\x1b" not in text
    assert "Running with dbt=" not in text
    assert "does not match any enabled nodes" not in text
    assert "docs/images/run-view.txt" in (REPO_ROOT / "docs" / "cli.md").read_text()
