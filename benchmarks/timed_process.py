"""One timed child process for every benchmark: its wall time, its output, and a loud failure.

from timed_process import run_timed

seconds = run_timed(["dbt", "parse"], cwd=project).seconds
"""

from __future__ import annotations

import subprocess
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

__all__ = ["TimedProcess", "run_timed"]

#: How much of a failed process's stdout and stderr the error shows (the end of each).
OUTPUT_TAIL = 4000


@dataclass(frozen=True)
class TimedProcess:
    """A child process that exited 0: its output and its wall time in seconds."""

    stdout: str
    stderr: str
    seconds: float


def run_timed(
    argv: Sequence[str],
    *,
    cwd: Path | None = None,
    env: Mapping[str, str] | None = None,
    label: str | None = None,
) -> TimedProcess:
    """Run ``argv`` to completion, timing it from start to exit (output captured as text).

    A non-zero exit ends the benchmark (``SystemExit``) with ``label`` (default: the command),
    the exit code and the end of both streams: a benchmark never records a failed run's time.
    """
    started = time.perf_counter()
    done = subprocess.run(
        list(argv),
        cwd=cwd,
        env=None if env is None else dict(env),
        capture_output=True,
        text=True,
        check=False,
    )
    seconds = time.perf_counter() - started
    if done.returncode != 0:
        raise SystemExit(
            f"{label or ' '.join(argv)} failed (exit {done.returncode}):\n"
            f"{done.stdout[-OUTPUT_TAIL:]}\n{done.stderr[-OUTPUT_TAIL:]}"
        )
    return TimedProcess(done.stdout, done.stderr, seconds)
