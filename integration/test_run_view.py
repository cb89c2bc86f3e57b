"""What ``floe run DIR --wait`` shows, through the installed ``floe`` command, on copies of
the README's example (``examples/retail-analytics``).

- Not on a terminal (a pipe, as CI logs are): plain lines, one per finished asset and step, no
  escape sequence; dbt's whole output in ``.floe/logs/runs/<run>/dbt.log`` (its path in the
  summary) and not on stderr; no warning about floe's internal selector; the summary's
  duration is the command's wall time.
- A failing run: one line per failure naming dbt's error, no stack trace unless ``--debug``.
- On a real terminal (tmux): the status line redrawn in place, colour, and none with
  ``NO_COLOR``.
"""

from __future__ import annotations

import os
import re
import shlex
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
EXAMPLE = ROOT / "examples" / "retail-analytics"
FLOE = Path(sys.executable).parent / "floe"
ESCAPE = "\x1b"
#: The assets of the example (4 ingested tables, 8 dbt models, the publication).
ASSETS = 13
#: What follows the summary: Python's exit (finalizing Dagster's and dbt's modules), and the
#: process table; about 1 s on a quiet machine, 2.5 s at a load of 8 on two cores.
EXIT_SLACK_S = 2.0
#: ... as a share of the run under load (the start-up the summary used to leave out was ~25%).
EXIT_SLACK_SHARE = 0.05

pytestmark = pytest.mark.slow


def _copy(tmp_path: Path, name: str, *, broken: bool = False) -> Path:
    product = tmp_path / name
    shutil.copytree(
        EXAMPLE, product, ignore=shutil.ignore_patterns(".floe", "target", "output", "logs")
    )
    if broken:  # a model that fails in the warehouse, and no retries (a faster failure)
        (product / "models" / "marts" / "mart_daily_revenue.sql").write_text(
            "select order_date, sum(no_such_column) as revenue\n"
            "from {{ ref('fct_orders') }} group by order_date\n"
        )
        floe_yaml = product / "floe.yaml"
        floe_yaml.write_text(
            re.sub(r"(?m)^retry: .*$", "retry: {max_retries: 0}", floe_yaml.read_text())
        )
    return product


def _run(product: Path, *extra: str, env: dict[str, str] | None = None) -> tuple[int, str, str]:
    done = subprocess.run(
        [str(FLOE), *extra, "run", str(product), "--wait"],
        cwd=product.parent,
        capture_output=True,
        text=True,
        timeout=900,
        check=False,
        env=env,
    )
    return done.returncode, done.stdout, done.stderr


@pytest.fixture(scope="module")
def piped(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str, str, float]:
    product = _copy(tmp_path_factory.mktemp("piped"), "retail-analytics")
    started = time.monotonic()
    code, out, err = _run(product)
    wall_s = time.monotonic() - started
    assert code == 0, err[-4000:]
    return product, out, err, wall_s


def _dbt_log(product: Path, out: str) -> Path:
    match = re.search(r"^  dbt log: (.+)$", out, re.MULTILINE)
    assert match, out
    path = Path(match.group(1))
    return path if path.is_absolute() else product.parent / path


def test_piped_output_is_plain_lines_one_per_finished_asset_and_step(
    piped: tuple[Path, str, str, float],
) -> None:
    _, out, err, _ = piped
    assert ESCAPE not in out
    assert ESCAPE not in err
    assert "\r" not in err  # nothing redrawn
    materialized = re.findall(r"^floe: \[(\d+)/13\] materialized (\S+)$", err, re.MULTILINE)
    assert len(materialized) == ASSETS
    assert materialized[-1][0] == str(ASSETS)
    for step in ("landing", "dbt_duckdb", "dbt_duckdb_heavy", "publish_report"):
        assert re.search(rf"^floe: step {step} done in \d+\.\d s$", err, re.MULTILINE), err
    assert "SUCCESS" in out.splitlines()[0]


def test_dbt_output_goes_to_the_run_s_log_file_not_to_stderr(
    piped: tuple[Path, str, str, float],
) -> None:
    product, out, err, _ = piped
    run_id = re.search(r"^run (\S+) ", out).group(1)  # type: ignore[union-attr]
    log = _dbt_log(product, out)
    assert log == product / ".floe" / "logs" / "runs" / run_id / "dbt.log"
    text = log.read_text(encoding="utf-8")
    assert "Running with dbt=" in text
    assert "OK created sql table model main_marts.fct_orders" in text
    assert "Done. PASS=" in text  # both dbt commands of the run (two compute targets)
    assert text.count("Done. PASS=") == 2
    assert ESCAPE not in text  # dbt ran without colours
    assert "Running with dbt=" not in err
    assert "START sql" not in err
    assert len(err.splitlines()) < 40  # was ~142 lines of dbt's log


def test_no_warning_about_floe_s_internal_selector(piped: tuple[Path, str, str, float]) -> None:
    product, out, err, _ = piped
    for text in (err, _dbt_log(product, out).read_text(encoding="utf-8")):
        assert "does not match any enabled nodes" not in text
        assert "floe_dagster__" not in text


def test_the_summary_duration_is_the_command_s_wall_time(
    piped: tuple[Path, str, str, float],
) -> None:
    _, out, _, wall_s = piped
    match = re.search(r": SUCCESS in (\d+\.\d) s$", out.splitlines()[0])
    assert match, out
    duration = float(match.group(1))
    slack = max(EXIT_SLACK_S, EXIT_SLACK_SHARE * wall_s)
    assert wall_s - slack <= duration <= wall_s + 0.1


@pytest.fixture(scope="module")
def broken(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return _copy(tmp_path_factory.mktemp("broken"), "retail-analytics", broken=True)


def test_a_failure_is_one_line_naming_dbt_s_error_without_a_stack_trace(broken: Path) -> None:
    code, out, err = _run(broken)

    assert code == 1, err[-3000:]
    assert "Traceback" not in err
    assert "Stack Trace" not in err
    failed = [line for line in err.splitlines() if " FAILED" in line and "step " in line]
    assert len(failed) == 1, err
    assert failed[0].startswith("floe: step dbt_duckdb FAILED in ")
    assert "Failure in model mart_daily_revenue" in failed[0]
    assert "no_such_column" in failed[0]
    assert "FAILURE" in out.splitlines()[0]
    assert f"full log: floe logs {out.split()[1][:8]} " in out
    assert "no_such_column" in _dbt_log(broken, out).read_text(encoding="utf-8")


def test_debug_shows_the_stack_trace(broken: Path) -> None:
    code, _, err = _run(broken, "--debug")

    assert code == 1
    assert "Stack Trace:" in err or "Traceback" in err


# On a real terminal ------------------------------------------------------------------------
def _tmux() -> str:
    tmux = shutil.which("tmux")
    if tmux is None:
        pytest.skip("tmux is not installed (nox -s integration installs it with apt-get)")
    return tmux


def _in_tmux(product: Path, session: str, *, env: str = "") -> tuple[list[str], str]:
    """Run ``floe run`` in a 120x30 tmux pane; the pane captured while the run is going (with
    escape sequences, ``-e``) and once it ended (plain)."""
    tmux = _tmux()
    command = f"cd {shlex.quote(str(product.parent))} && {env} {FLOE} run {product.name} --wait"
    command += "; echo FLOE-EXIT=$?; sleep 600"
    subprocess.run(
        [tmux, "new-session", "-d", "-s", session, "-x", "120", "-y", "30", command], check=True
    )
    live: list[str] = []
    try:
        deadline = time.monotonic() + 600
        while time.monotonic() < deadline:
            pane = subprocess.run(
                [tmux, "capture-pane", "-p", "-e", "-t", session],
                capture_output=True,
                text=True,
                check=True,
            ).stdout
            if "FLOE-EXIT=" in pane:
                break
            live.append(pane)
            time.sleep(0.5)
        final = subprocess.run(
            [tmux, "capture-pane", "-p", "-t", session], capture_output=True, text=True, check=True
        ).stdout
    finally:
        subprocess.run([tmux, "kill-session", "-t", session], check=False)
    assert "FLOE-EXIT=0" in final, final
    return live, final


_STATUS = re.compile(r"^[|/\\-] \[[#-]{20}\] (\d+)/13 assets  0 failed  \d+:\d\d  running: (\S+)")


def _plain(pane: str) -> str:
    return re.sub(r"\x1b\[[0-9;]*m", "", pane)


def test_on_a_terminal_one_status_line_is_redrawn_in_place(tmp_path: Path) -> None:
    product = _copy(tmp_path, "retail-analytics")
    live, final = _in_tmux(product, f"floe-view-{os.getpid()}")

    statuses = [
        match
        for pane in live
        for line in _plain(pane).splitlines()
        if (match := _STATUS.match(line))
    ]
    assert statuses, live[-3:]
    for pane in live:  # never more than one status line on the screen
        assert sum(bool(_STATUS.match(line)) for line in _plain(pane).splitlines()) <= 1
    done = [int(m.group(1)) for m in statuses]
    assert done == sorted(done)
    assert done[-1] > 0
    assert {m.group(2).rstrip(",") for m in statuses} & {"dbt_duckdb", "landing"}
    assert any("\x1b[32m" in pane for pane in live)  # green "done" on a terminal
    lines = final.splitlines()
    assert "floe: step dbt_duckdb done in " in final
    assert not any(_STATUS.match(line) for line in lines)  # cleared at the end
    summary = next(line for line in lines if line.startswith("run "))
    assert "(in-process): SUCCESS in " in summary
    assert re.search(r"^  dbt log: \S+/dbt\.log$", final, re.MULTILINE)


def test_no_colour_with_no_color_set_on_a_terminal(tmp_path: Path) -> None:
    product = _copy(tmp_path, "retail-analytics")
    live, final = _in_tmux(product, f"floe-nocolor-{os.getpid()}", env="NO_COLOR=1")

    assert any(_STATUS.match(line) for pane in live for line in pane.splitlines())
    assert not any(re.search(r"\x1b\[3[0-9]m", pane) for pane in live)
    assert "SUCCESS" in final
