"""Connection checks: ``ValidationResult`` and deadlines that bound a whole check.

Implementer's checklist (for an adapter's ``validate_connection``):

- Write the check as a function taking a :class:`Deadline` and returning a
  :class:`ValidationResult`, and run it with :func:`run_check` (``timeout=10.0`` for
  ``OrchestratorPlugin.validate_connection``). ``run_check`` never raises for a failing
  check: a down server, a refused connection or any exception becomes a failed result
  whose message names the exception, and ``duration_s`` is always the measured time.
- The deadline bounds the *whole* check, not each step: give every blocking call
  ``deadline.step_timeout(cap)`` as its timeout (``min(remaining, cap)``), and call
  ``deadline.check("querying the GraphQL API")`` between steps. Both raise
  :class:`DeadlineExceeded` once the budget is spent; ``run_check`` turns that into
  "gave up after 10.0 s while querying the GraphQL API".
- A failed result says what to do: ``"cannot reach the Dagster webserver at
  http://localhost:3000 (connection refused); start it with 'floe up' or set
  orchestrator.url in manifest.yaml"``. Put the detail in ``errors``, advice about
  non-fatal issues in ``warnings``.
- ``run_check`` returns within ``timeout`` even when a call ignores its timeout, but it
  cannot stop that call: the abandoned worker thread keeps running (and holding its
  socket) until the call returns. Passing ``step_timeout()`` to every blocking call is what
  keeps checks from leaking work.
- :class:`~floe_orchestration_core.errors.ConnectivityError` is raised only for misuse
  (a non-positive budget), never for a down server.
"""

from __future__ import annotations

import contextvars
import math
import threading
import time
from collections.abc import Callable, Iterable
from typing import Any

import attrs

from floe_orchestration_core.errors import ConnectivityError

__all__ = ["Deadline", "DeadlineExceeded", "ValidationResult", "redact_url", "run_check"]


def _strings(value: Iterable[str]) -> tuple[str, ...]:
    if isinstance(value, str):
        return (value,)
    return tuple(str(item) for item in value)


@attrs.frozen
class ValidationResult:
    """The outcome of a connection check. Truthy when the check succeeded.

    >>> bool(ValidationResult.failure("cannot reach http://localhost:3000"))
    False
    """

    success: bool
    message: str
    errors: tuple[str, ...] = attrs.field(default=(), converter=_strings)
    warnings: tuple[str, ...] = attrs.field(default=(), converter=_strings)
    duration_s: float = 0.0

    @classmethod
    def ok(
        cls, message: str, *, warnings: Iterable[str] = (), duration_s: float = 0.0
    ) -> ValidationResult:
        """A successful result."""
        return cls(True, message, (), _strings(warnings), duration_s)

    @classmethod
    def failure(
        cls,
        message: str,
        *,
        errors: Iterable[str] = (),
        warnings: Iterable[str] = (),
        duration_s: float = 0.0,
    ) -> ValidationResult:
        """A failed result; with no ``errors`` given, ``errors`` is ``(message,)``."""
        return cls(False, message, _strings(errors) or (message,), _strings(warnings), duration_s)

    def __bool__(self) -> bool:
        return self.success

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict (``floe validate --json``)."""
        return {
            "success": self.success,
            "message": self.message,
            "errors": list(self.errors),
            "warnings": list(self.warnings),
            "duration_s": self.duration_s,
        }


class DeadlineExceeded(ConnectivityError):  # noqa: N818 (the port's public name)
    """The check's time budget is spent; ``step`` names what it was doing."""

    def __init__(self, message: str, *, step: str | None = None, budget: float = 0.0) -> None:
        super().__init__(message)
        self.step = step
        self.budget = budget


class Deadline:
    """A time budget for a whole check; each step asks how long it may still take.

    >>> ticks = iter([0.0, 0.0, 4.0, 12.0])
    >>> deadline = Deadline(10.0, clock=lambda: next(ticks))
    >>> deadline.step_timeout(cap=5.0), deadline.remaining
    (5.0, 6.0)
    >>> deadline.expired
    True
    """

    def __init__(self, seconds: float, *, clock: Callable[[], float] = time.monotonic) -> None:
        if (
            isinstance(seconds, bool)
            or not isinstance(seconds, int | float)
            or not math.isfinite(seconds)
            or seconds <= 0
        ):
            raise ConnectivityError(
                f"a deadline needs a finite number of seconds above zero, got {seconds!r}; "
                "e.g. Deadline(10.0)"
            )
        self._budget = float(seconds)
        self._clock = clock
        self._start = clock()

    @property
    def budget(self) -> float:
        """The whole budget in seconds."""
        return self._budget

    @property
    def elapsed(self) -> float:
        """Seconds since the deadline was created."""
        return max(0.0, self._clock() - self._start)

    @property
    def remaining(self) -> float:
        """Seconds left, never below zero."""
        return max(0.0, self._budget - self.elapsed)

    @property
    def expired(self) -> bool:
        """True once no time is left."""
        return self.remaining <= 0.0

    def step_timeout(self, cap: float | None = None) -> float:
        """The timeout for the next blocking call: ``min(remaining, cap)``.

        Raises :class:`DeadlineExceeded` when no time is left (a zero timeout would mean
        "block forever" to some clients).
        """
        if cap is not None and (not math.isfinite(cap) or cap <= 0):
            raise ConnectivityError(f"cap must be a finite number above zero, got {cap!r}")
        remaining = self.remaining
        if remaining <= 0.0:
            raise self._exceeded(None)
        return remaining if cap is None else min(remaining, float(cap))

    def check(self, step: str) -> None:
        """Raise :class:`DeadlineExceeded` naming ``step`` when no time is left."""
        if self.expired:
            raise self._exceeded(step)

    def _exceeded(self, step: str | None) -> DeadlineExceeded:
        doing = f" while {step}" if step else ""
        return DeadlineExceeded(
            f"gave up after {self._budget:.1f} s{doing}", step=step, budget=self._budget
        )


def run_check(check: Callable[[Deadline], ValidationResult], timeout: float) -> ValidationResult:
    """Run ``check`` under a fresh :class:`Deadline` of ``timeout`` seconds; never raises for it.

    ``DeadlineExceeded`` and any other ``Exception`` become a failed result naming the
    exception; a return value that is not a :class:`ValidationResult` is a failed result too.
    ``duration_s`` is always the measured duration, replacing what the check returned.

    The bound is hard: the check runs on a daemon worker thread (in a copy of the caller's
    context, so spans nest), and when it has not returned ``timeout`` seconds later a failed
    result is returned while the thread is abandoned. Raises :class:`ConnectivityError` only
    for a ``timeout`` that is not a finite number above zero.

    >>> run_check(lambda deadline: ValidationResult.ok("reachable"), timeout=1.0).success
    True
    """
    deadline = Deadline(timeout)
    started = time.monotonic()
    outcome: list[ValidationResult] = []
    context = contextvars.copy_context()
    worker = threading.Thread(
        target=context.run,
        args=(_run_and_convert, check, deadline, outcome),
        name=f"floe-check-{_check_name(check)}",
        daemon=True,
    )
    worker.start()
    worker.join(deadline.remaining + _JOIN_GRACE_S)
    duration = time.monotonic() - started
    if outcome:
        result = outcome[0]
    else:
        result = ValidationResult.failure(
            f"gave up after {timeout:.1f} s: connection check {_check_name(check)} did not "
            "return in time (a blocking call ignored its timeout); pass "
            "deadline.step_timeout() to every blocking call, or check that the service is "
            "reachable",
            errors=(f"DeadlineExceeded: gave up after {timeout:.1f} s",),
        )
    return attrs.evolve(result, duration_s=duration)


#: How long past the deadline run_check waits for a check that is about to return.
_JOIN_GRACE_S = 0.05


def _check_name(check: object) -> str:
    return str(getattr(check, "__qualname__", type(check).__name__))


def _run_and_convert(
    check: Callable[[Deadline], ValidationResult],
    deadline: Deadline,
    outcome: list[ValidationResult],
) -> None:
    result: ValidationResult
    try:
        returned: object = check(deadline)
    except DeadlineExceeded as exc:
        result = ValidationResult.failure(
            f"{exc}; the service answers too slowly or not at all: check that it is running "
            f"and reachable, or allow more than {deadline.budget:.1f} s",
            errors=(f"DeadlineExceeded: {exc}",),
        )
    except Exception as exc:
        result = ValidationResult.failure(
            f"connection check {_check_name(check)} failed with {type(exc).__name__}: {exc}",
            errors=(f"{type(exc).__name__}: {exc}",),
        )
    else:
        if isinstance(returned, ValidationResult):
            result = returned
        else:
            result = ValidationResult.failure(
                f"connection check {_check_name(check)} returned {type(returned).__name__}, not "
                "a ValidationResult; return ValidationResult.ok(...) or "
                "ValidationResult.failure(...)"
            )
    outcome.append(result)


def redact_url(url: str | None) -> str | None:
    """``url`` with any ``user:password@`` replaced by ``***@``, for logs, spans and messages.

    >>> redact_url("https://admin:s3cret@dagster.example.com/prefix")
    'https://***@dagster.example.com/prefix'
    >>> redact_url("http://127.0.0.1:3000")
    'http://127.0.0.1:3000'
    """
    if url is None:
        return None
    scheme, sep, rest = url.partition("://")
    if not sep:
        return url
    authority, slash, path = rest.partition("/")
    if "@" not in authority:
        return url
    return f"{scheme}://***@{authority.rsplit('@', 1)[1]}{slash}{path}"
