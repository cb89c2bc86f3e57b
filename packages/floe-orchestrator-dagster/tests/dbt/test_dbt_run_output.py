"""dbt's output during a run: into ``.floe/logs/runs/<run>/dbt.log`` and the step's stdout."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from floe_orchestrator_dagster.dbt.run_output import dbt_log_file, with_dbt_log


def _events() -> Iterator[int]:
    sys.stdout.write("Running with dbt=1.11\n")
    yield 1
    sys.stdout.write("Done. PASS=1\n")
    yield 2


def test_the_log_is_under_the_product_s_floe_folder_for_a_product_local_instance(
    tmp_path: Path,
) -> None:
    home = tmp_path / "shop" / ".floe" / "dagster"
    assert dbt_log_file(home, "r1") == tmp_path / "shop" / ".floe" / "logs" / "runs" / "r1" / (
        "dbt.log"
    )
    assert dbt_log_file(tmp_path / "dagster_home", "r1") is None  # a deployment's instance
    assert dbt_log_file(None, "r1") is None


def test_what_dbt_prints_goes_to_the_log_and_stdout_and_nothing_else_is_caught(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    log = tmp_path / "runs" / "r1" / "dbt.log"
    seen = []
    for event in with_dbt_log(_events(), log):
        print(f"the product's own print {event}")  # between events: not dbt's
        seen.append(event)

    assert seen == [1, 2]
    assert log.read_text() == "Running with dbt=1.11\nDone. PASS=1\n"
    out = capsys.readouterr().out
    assert "Running with dbt=1.11" in out
    assert "the product's own print 1" in out


def test_a_failure_of_the_stream_is_raised_and_what_was_printed_is_kept(tmp_path: Path) -> None:
    log = tmp_path / "dbt.log"

    def failing() -> Iterator[int]:
        sys.stdout.write("Failure in model m\n")
        if log.parent.is_dir():  # always: a generator that raises on its first step
            raise RuntimeError("dbt failed")
        yield 0

    before = sys.stdout
    with pytest.raises(RuntimeError, match="dbt failed"):
        list(with_dbt_log(failing(), log))
    assert log.read_text() == "Failure in model m\n"
    assert sys.stdout is before  # restored
