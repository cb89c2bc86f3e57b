"""Delivery off the pipeline's path: a bounded queue drained by one thread, with retries.

:class:`DeliveryQueue` holds events in order and hands them one at a time to ``send`` (the
client transport's ``emit``) on its own daemon thread, started on the first :meth:`put`.

- **Bounded**: :meth:`put` never blocks; when ``capacity`` events are waiting it raises
  :class:`QueueFullError` (the backend's ``emit`` counts that as a drop).
- **Ordered retries**: a transient failure (connection refused or reset, a timeout, HTTP 5xx,
  408, 425 or 429, an ``OSError``) keeps the event at the head of the queue and retries it
  after ``backoff`` seconds, doubled each time up to ``backoff_max``, so events reach the
  backend in emission order. After ``max_attempts`` attempts (``None``: no limit) the event is
  dropped. A permanent failure (any other HTTP 4xx, an event the transport cannot serialise)
  drops the event at once.
- **Bounded waits**: :meth:`wait_idle` returns after at most its timeout; once a wait has
  timed out while delivery is failing, later waits return at once until an event is
  delivered again, so a dead backend delays the end of a run by one flush deadline only.
- **Exact counts**: every event put is, at any moment, exactly one of delivered, dropped or
  pending (waiting or in flight). :meth:`close` drops what is still pending and stops the
  thread; an in-flight request finishing later is not counted again.
- **Quiet**: the first failure of an outage and the first drop of a burst are one WARNING
  each; recovery (INFO) and the size of a burst of drops (WARNING) are summarised once.
  Messages pass through ``redact`` so a secret in an exception text never reaches a log.
"""

from __future__ import annotations

import collections
import logging
import threading
import time
from collections.abc import Callable
from typing import Any, Final

from floe_orchestration_core.errors import LineageError

__all__ = ["DeliveryCounts", "DeliveryQueue", "QueueFullError", "is_transient"]

logger = logging.getLogger(__name__)

_RETRYABLE_STATUS: Final = frozenset({408, 425, 429})


class QueueFullError(LineageError):
    """The delivery queue holds ``capacity`` events; the new one is not accepted."""


def is_transient(exc: BaseException) -> bool:
    """True when retrying ``exc``'s delivery later may succeed."""
    status = getattr(getattr(exc, "response", None), "status_code", None)
    if isinstance(status, int):
        return status >= 500 or status in _RETRYABLE_STATUS
    if isinstance(exc, OSError):
        return True  # requests' ConnectionError and Timeout are OSErrors too
    return not isinstance(exc, TypeError | ValueError | AttributeError | KeyError | LineageError)


class DeliveryCounts:
    """A snapshot of a queue's counters: ``delivered``, ``dropped`` and ``pending``."""

    __slots__ = ("delivered", "dropped", "pending")

    def __init__(self, delivered: int, dropped: int, pending: int) -> None:
        self.delivered = delivered
        self.dropped = dropped
        self.pending = pending


class DeliveryQueue:
    """See the module docstring. Thread-safe."""

    def __init__(
        self,
        send: Callable[[Any], object],
        *,
        capacity: int,
        max_attempts: int | None,
        backoff: float,
        backoff_max: float,
        redact: Callable[[str], str],
        name: str = "openlineage",
    ) -> None:
        self._send = send
        self._capacity = capacity
        self._max_attempts = max_attempts
        self._backoff = backoff
        self._backoff_max = backoff_max
        self._redact = redact
        self._name = name
        self._items: collections.deque[Any] = collections.deque()
        self._cond = threading.Condition()
        self._thread: threading.Thread | None = None
        self._stopping = False
        self._delivered = 0
        self._dropped = 0
        self._failing = False  # the last attempt failed transiently
        self._failed_attempts = 0  # in the current outage
        self._gave_up_waiting = False
        self._burst_drops = 0

    # -- producer side --------------------------------------------------------------------------
    def put(self, item: Any) -> None:
        """Enqueue ``item``; raises :class:`QueueFullError` or LineageError (closed) at once."""
        with self._cond:
            if self._stopping:
                raise LineageError("the delivery queue is closed")
            if len(self._items) >= self._capacity:
                raise QueueFullError(
                    f"the delivery queue is full ({self._capacity} events wait for a slow or "
                    "unreachable backend); raise queue_size to hold more"
                )
            self._items.append(item)
            if self._thread is None:
                self._thread = threading.Thread(
                    target=self._run, name=f"floe-{self._name}-delivery", daemon=True
                )
                self._thread.start()
            self._cond.notify_all()

    def counts(self) -> DeliveryCounts:
        with self._cond:
            return DeliveryCounts(self._delivered, self._dropped, len(self._items))

    @property
    def failing(self) -> bool:
        """True while the backend fails (the last attempt failed transiently)."""
        with self._cond:
            return self._failing

    def wait_idle(self, timeout: float) -> bool:
        """Wait up to ``timeout`` s for an empty queue; True when nothing is pending."""
        deadline = time.monotonic() + timeout
        with self._cond:
            if self._gave_up_waiting and self._failing:
                return not self._items
            while self._items:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    self._gave_up_waiting = self._failing
                    return False
                self._cond.wait(remaining)
            return True

    def close(self, timeout: float) -> int:
        """Drop whatever is pending, stop the thread (waiting up to ``timeout`` s for it).

        Returns how many pending events were dropped. Idempotent.
        """
        with self._cond:
            abandoned = len(self._items)
            self._items.clear()
            self._dropped += abandoned
            self._stopping = True
            self._cond.notify_all()
            thread = self._thread
        if abandoned:
            logger.info(
                "lineage backend %r: %d undelivered event(s) dropped at close",
                self._name,
                abandoned,
            )
        if thread is not None and thread is not threading.current_thread():
            thread.join(max(0.0, timeout))
        self._summarise_burst("at close")
        return abandoned

    @property
    def thread_alive(self) -> bool:
        with self._cond:
            return self._thread is not None and self._thread.is_alive()

    # -- delivery thread --------------------------------------------------------------------------
    def _run(self) -> None:
        attempts = 0
        while True:
            with self._cond:
                while not self._items and not self._stopping:
                    self._cond.wait()
                if self._stopping:
                    return
                item = self._items[0]
            attempts += 1
            try:
                self._send(item)
            except Exception as exc:
                retry_in = self._failed(exc, attempts)
                if retry_in is None:
                    attempts = 0
                    continue
                with self._cond:
                    deadline = time.monotonic() + retry_in
                    while not self._stopping and (left := deadline - time.monotonic()) > 0:
                        self._cond.wait(left)
                continue
            attempts = 0
            self._succeeded()

    def _succeeded(self) -> None:
        with self._cond:
            if self._stopping:
                return  # already counted as dropped by close()
            recovered_after = self._failed_attempts if self._failing else 0
            self._failing = False
            self._failed_attempts = 0
            self._gave_up_waiting = False
        # Logged before the event leaves the queue, so a flush that saw the queue drain also
        # sees the recovery reported.
        if recovered_after:
            logger.info(
                "lineage backend %r: delivery resumed after %d failed attempt(s)",
                self._name,
                recovered_after,
            )
        self._summarise_burst("before delivery resumed")
        with self._cond:
            stopping: bool = self._stopping  # close() may have run while we logged
            if stopping:
                return
            self._items.popleft()
            self._delivered += 1
            self._cond.notify_all()

    def _failed(self, exc: Exception, attempts: int) -> float | None:
        """Record a failed attempt; seconds until the retry, or None when the event is dropped."""
        reason = self._redact(f"{type(exc).__name__}: {exc}")
        transient = is_transient(exc)
        exhausted = self._max_attempts is not None and attempts >= self._max_attempts
        with self._cond:
            if self._stopping:
                return None
            first_failure = transient and not self._failing
            if transient:
                self._failing = True
                self._failed_attempts += 1
            if transient and not exhausted:
                pending = len(self._items)
                drop = False
            else:
                self._items.popleft()
                self._dropped += 1
                self._burst_drops += 1
                first_drop = self._burst_drops == 1
                pending = len(self._items)
                drop = True
                self._cond.notify_all()
        if first_failure:
            logger.warning(
                "lineage backend %r: delivery failing (%s); %d event(s) queued, retrying with "
                "backoff up to %.1f s (logged once per outage)",
                self._name,
                reason,
                pending,
                self._backoff_max,
            )
        if not drop:
            return min(self._backoff * 2.0 ** (attempts - 1), self._backoff_max)
        if first_drop:
            why = f"after {attempts} attempt(s)" if transient else "permanent failure"
            logger.warning(
                "lineage backend %r dropped an event (%s: %s); further drops are counted and "
                "summarised when delivery resumes or at close",
                self._name,
                why,
                reason,
            )
        return None

    def _summarise_burst(self, ending: str) -> None:
        with self._cond:
            drops, self._burst_drops = self._burst_drops, 0
        if drops > 1:
            logger.warning(
                "lineage backend %r dropped %d events in a row %s", self._name, drops, ending
            )
