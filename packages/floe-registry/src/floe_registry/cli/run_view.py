"""``floe run``'s view of a run on stderr: a live status line on a terminal, plain lines elsewhere.

:class:`RunView` is a :class:`~floe_orchestration_core.run_progress.RunObserver`: the launcher
gives it each progress line and each structured run event.

- **On a terminal** (stderr is a TTY): one status line redrawn in place every fraction of a
  second — a bar and ``assets done/total``, failures so far, elapsed time since the command
  started and the steps running now — with a line printed above it for each finished step,
  failed step and failed check::

      floe: step landing done in 2.1 s
      | [##########----------]  7/13 assets  0 failed  0:21  running: dbt_duckdb

- **Elsewhere** (a pipe, a file, CI logs): one plain line per finished asset and step, and per
  failure; nothing is redrawn.

Colour (green for done, red for failures, yellow for warnings) only on a terminal, and never
when ``NO_COLOR`` is set (https://no-color.org) or ``TERM`` is ``dumb``.

The view writes to :func:`view_stream` (its own descriptor, out of Dagster's capture), and
:func:`run_stdout_aside` keeps what the run prints to stdout off the terminal.
"""

from __future__ import annotations

import contextlib
import io
import os
import shutil
import sys
import threading
import time
from collections.abc import Iterator
from typing import TextIO

from floe_orchestration_core.run_progress import RunEvent, RunObserver

__all__ = ["RunView", "colour_wanted", "process_started", "run_stdout_aside", "view_stream"]

_SPINNER = "|/-\\"
_GREEN, _RED, _YELLOW, _DIM, _RESET = "\x1b[32m", "\x1b[31m", "\x1b[33m", "\x1b[2m", "\x1b[0m"
_CLEAR_LINE = "\r\x1b[2K"


def process_started() -> float:
    """The ``time.monotonic()`` value at which this process started (Linux: from
    ``/proc/self/stat`` and ``/proc/uptime``, so Python's own start-up counts); elsewhere,
    now (the caller calls this first thing)."""
    now = time.monotonic()
    try:
        with open("/proc/self/stat", encoding="ascii") as stat:
            fields = stat.read().rsplit(")", 1)[1].split()
        with open("/proc/uptime", encoding="ascii") as uptime:
            up = float(uptime.read().split()[0])
        age = up - int(fields[19]) / os.sysconf("SC_CLK_TCK")
    except (OSError, ValueError, IndexError):
        return now
    return now - age if 0 <= age < 86_400 else now


@contextlib.contextmanager
def view_stream(stderr: TextIO) -> Iterator[TextIO]:
    """A stream on a duplicate of ``stderr``'s file descriptor, for the view: Dagster points
    descriptors 1 and 2 at its compute-log capture while a step runs (and may lose the last
    lines written there when the capture ends); the view is not part of the run's output."""
    try:
        fd = os.dup(stderr.fileno())
    except (AttributeError, OSError, ValueError, io.UnsupportedOperation):
        yield stderr
        return
    stream = open(fd, "w", encoding="utf-8", errors="replace", buffering=1)  # noqa: SIM115
    try:
        yield stream
    finally:
        stream.close()


@contextlib.contextmanager
def run_stdout_aside(stdout: TextIO, *, to_stderr: bool) -> Iterator[None]:
    """Keep what the run prints to file descriptor 1 (dbt's lines as dagster-dbt echoes them,
    ``print`` in Python assets) off the terminal: stdout holds only floe's summary (one JSON
    document with --json) and stderr the view. Dagster's compute log still captures it
    (``floe logs RUN``), and dbt's lines are in the run's ``dbt.log``. ``to_stderr``
    (``--debug``): to stderr instead, as it is printed."""
    stdout.flush()
    sys.stdout.flush()
    try:
        saved = os.dup(1)
    except OSError:
        yield
        return
    target = 2 if to_stderr else os.open(os.devnull, os.O_WRONLY)
    try:
        os.dup2(target, 1)
        yield
    finally:
        sys.stdout.flush()
        os.dup2(saved, 1)
        os.close(saved)
        if target != 2:
            os.close(target)


def colour_wanted(stream: TextIO, environ: dict[str, str] | None = None) -> bool:
    """Colour on ``stream``: a terminal, no ``NO_COLOR`` (any value but empty), no dumb TERM."""
    env = os.environ if environ is None else environ
    if env.get("NO_COLOR", "") != "" or env.get("TERM") == "dumb":
        return False
    return _is_tty(stream)


def _is_tty(stream: TextIO) -> bool:
    try:
        return stream.isatty()
    except (AttributeError, ValueError):
        return False


def _clock(seconds: float) -> str:
    minutes, secs = divmod(int(seconds), 60)
    hours, minutes = divmod(minutes, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes}:{secs:02d}"


class RunView(RunObserver):
    """The live view of one ``floe run`` (see the module docstring). Call :meth:`close` when
    the run ended: it stops the redraws and clears the status line."""

    def __init__(
        self,
        stream: TextIO,
        *,
        started: float,
        live: bool | None = None,
        colour: bool | None = None,
        interval_s: float = 0.2,
    ) -> None:
        self._stream = stream
        self._started = started
        self._live = _is_tty(stream) if live is None else live
        self._colour = colour_wanted(stream) if colour is None else colour
        self._interval_s = interval_s
        self._lock = threading.RLock()
        self._total = 0
        self._done: set[str] = set()
        self._failures = 0
        self._running: dict[str, float] = {}
        self._frame = 0
        self._drawn = False
        self._stop = threading.Event()
        self._ticker: threading.Thread | None = None
        if self._live:
            self._ticker = threading.Thread(target=self._tick, name="floe-run-view", daemon=True)
            self._ticker.start()

    # RunObserver -----------------------------------------------------------------------------
    def line(self, text: str) -> None:
        self._print(f"floe: {text}")

    def event(self, event: RunEvent) -> None:
        with self._lock:
            self._on_event(event)

    def close(self) -> None:
        """Stop redrawing and clear the status line (idempotent)."""
        self._stop.set()
        if self._ticker is not None:
            self._ticker.join(timeout=2)
            self._ticker = None
        with self._lock:
            self._clear()

    # what each event shows -------------------------------------------------------------------
    def _on_event(self, event: RunEvent) -> None:
        kind = event.kind
        if kind == "planned":
            self._total = event.total
        elif kind == "step_started":
            self._running[event.name] = time.monotonic()
        elif kind == "step_succeeded":
            took = self._took(event.name)
            self._print(f"floe: step {event.name} {self._paint('done', _GREEN)}{took}")
        elif kind == "step_failed":
            self._failures += 1
            took = self._took(event.name)
            detail = f": {event.message}" if event.message else ""
            self._print(f"floe: step {event.name} {self._paint('FAILED', _RED)}{took}{detail}")
        elif kind == "step_retrying":
            detail = f": {event.message}" if event.message else ""
            self._print(
                f"floe: step {event.name} {self._paint('failed, retrying', _YELLOW)}{detail}"
            )
        elif kind == "materialized":
            self._done.add(event.name)
            if not self._live:
                self._print(f"floe: [{self._count()}] materialized {event.name}")
        elif kind == "check" and not event.passed:
            warn = event.severity != "ERROR"
            self._failures += 0 if warn else 1
            outcome = self._paint(
                f"FAILED ({event.severity.lower()})" if warn else "FAILED",
                _YELLOW if warn else _RED,
            )
            self._print(f"floe: check {event.name} on {event.asset}: {outcome}")
        self._draw()

    def _took(self, step: str) -> str:
        began = self._running.pop(step, None)
        return "" if began is None else f" in {time.monotonic() - began:.1f} s"

    def _count(self) -> str:
        done = len(self._done)
        return f"{done}/{self._total}" if self._total and self._total >= done else str(done)

    def _paint(self, text: str, colour: str) -> str:
        return f"{colour}{text}{_RESET}" if self._colour else text

    # drawing ---------------------------------------------------------------------------------
    def _print(self, text: str) -> None:
        with self._lock:
            self._clear()
            self._stream.write(text + "\n")
            self._stream.flush()
            self._draw()

    def _status(self, width: int) -> str:
        spinner = _SPINNER[self._frame % len(_SPINNER)]
        elapsed = _clock(time.monotonic() - self._started)
        if not self._total and not self._done and not self._running:
            return f"{spinner} preparing the run  {elapsed}"
        done, total = len(self._done), self._total
        filled = round(20 * done / total) if total else 0
        bar = "[" + "#" * min(filled, 20) + "-" * (20 - min(filled, 20)) + "]"
        failures = f"{self._failures} failed"
        if self._failures:
            failures = self._paint(failures, _RED)
        steps = ", ".join(self._running) or "-"
        head = f"{spinner} {bar} {self._count()} assets  "
        tail = f"  {elapsed}  running: {steps}"
        plain = len(head) + len(f"{self._failures} failed") + len(tail)
        if plain > width - 1:  # keep it on one line, or it cannot be redrawn in place
            tail = tail[: max(0, len(tail) - (plain - width + 2))] + "…"
        return head + failures + tail

    def _draw(self) -> None:
        if not self._live or self._stop.is_set():
            return
        width = shutil.get_terminal_size((100, 24)).columns
        self._stream.write(_CLEAR_LINE + self._status(width))
        self._stream.flush()
        self._drawn = True

    def _clear(self) -> None:
        if self._drawn:
            self._stream.write(_CLEAR_LINE)
            self._stream.flush()
            self._drawn = False

    def _tick(self) -> None:
        while not self._stop.wait(self._interval_s):
            with self._lock:
                self._frame += 1
                self._draw()
