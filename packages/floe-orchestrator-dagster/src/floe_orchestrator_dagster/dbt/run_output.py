"""Where dbt's output goes during a run: a file per run, and the op's stdout.

dagster-dbt re-prints each line of dbt's output (its ``--log-format json`` messages, and any
line that is not JSON) to ``sys.stdout`` while it streams the events of a ``dbt build``. floe
sends those lines to :func:`dbt_log_file` — ``<product>/.floe/logs/runs/<run_id>/dbt.log``,
appended by every dbt op of the run — and to the op's stdout too (which Dagster's compute log
keeps: the UI and ``floe logs`` show it with the step). ``floe run`` prints the file's path in
its summary; its terminal shows a live view, not the run's stdout.

Only the lines dagster-dbt prints while the op pulls the next event are redirected
(:func:`with_dbt_log`): a ``print`` of the product's own code is never caught. dbt runs with
``--no-use-colors`` (:data:`NO_COLOR_ARGS`): its output goes to a pipe, a file and a compute
log, never to a terminal, so colour codes would only be noise there.

The file is written only for a product-local instance (``DAGSTER_HOME`` is
``<product>/.floe/dagster``, as ``floe run`` and ``floe up`` set it); elsewhere (a deployment)
dbt's output stays on the op's stdout.
"""

from __future__ import annotations

import contextlib
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import IO, Any, Final

__all__ = [
    "NO_COLOR_ARGS",
    "dbt_log_file",
    "run_logs_dir",
    "with_dbt_log",
]

#: dbt's flag for plain output (accepted after the subcommand since dbt 1.5).
NO_COLOR_ARGS: Final = ("--no-use-colors",)


def run_logs_dir(dagster_home: str | Path | None, run_id: str) -> Path | None:
    """``<product>/.floe/logs/runs/<run_id>`` for a product-local ``DAGSTER_HOME``
    (``<product>/.floe/dagster``), else None."""
    if not dagster_home:
        return None
    home = Path(dagster_home)
    if home.name != "dagster" or home.parent.name != ".floe":
        return None
    return home.parent / "logs" / "runs" / run_id


def dbt_log_file(dagster_home: str | Path | None, run_id: str) -> Path | None:
    """The file holding dbt's output of run ``run_id`` (see :func:`run_logs_dir`)."""
    folder = run_logs_dir(dagster_home, run_id)
    return None if folder is None else folder / "dbt.log"


class _Tee:
    """A text stream writing to the log file and to the original stdout."""

    def __init__(self, log: IO[str], stdout: Any) -> None:
        self._log = log
        self._stdout = stdout

    def write(self, text: str) -> int:
        self._log.write(text)
        self._stdout.write(text)
        return len(text)

    def flush(self) -> None:
        self._log.flush()
        self._stdout.flush()

    def isatty(self) -> bool:
        return False


def with_dbt_log(events: Iterator[Any], log: Path | None) -> Iterator[Any]:
    """``events`` (a dbt op's event stream), with what dagster-dbt prints while producing each
    one sent to ``log`` and to stdout. ``log`` None: ``events`` as they are."""
    if log is None:
        yield from events
        return
    log.parent.mkdir(parents=True, exist_ok=True)
    with log.open("a", encoding="utf-8") as handle:
        tee = _Tee(handle, sys.stdout)
        while True:
            with contextlib.redirect_stdout(tee):
                try:
                    event = next(events)
                except StopIteration:
                    return
            yield event
