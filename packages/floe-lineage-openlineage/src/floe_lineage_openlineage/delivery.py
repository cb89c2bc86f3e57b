"""Delivery off the pipeline's path: events written ahead to the spool, sent by one thread.

:class:`SpoolDelivery` puts each serialized event in an
:class:`~floe_lineage_openlineage.spool.EventSpool` (:meth:`~SpoolDelivery.put`: one append,
microseconds, never the network) and delivers the spool in order on its own daemon thread:

- **One deliverer per spool.** The thread sends only while it holds the spool's
  ``deliver.lock``; in another process's hands it waits, and that process delivers this one's
  events too (they are in the same spool, in append order). The lock is released whenever the
  spool is delivered to its end, so a process that is about to exit does not keep it.
- **At least once, in order, no duplicates in normal operation.** An event leaves the spool
  (the cursor moves past it) only after the transport returned; the cursor is recorded after
  every accepted event, so a deliverer killed between the backend's answer and that record
  sends at most that one event again. A request still in flight when a process exits (a
  backend that has not answered) is sent again by the next deliverer.
- **Ordered retries.** A transient failure (refused, reset, timeout, HTTP 5xx, 408, 425, 429,
  an ``OSError``) retries the same event after ``backoff`` seconds, doubled up to
  ``backoff_max``; a flush waiting for delivery cuts the current wait short once, so a backend
  that recovers during the end of a run gets the run's events. After ``max_attempts``
  attempts (None: no limit) or on a permanent failure (another HTTP 4xx, an event that cannot
  be read back) the event is moved to ``rejected.jsonl`` and counted dropped.
- **Exact counts.** This process's events are each delivered, rejected or still in the spool
  (:meth:`~SpoolDelivery.counts`), whoever delivers them.
- **Quiet.** The first failure of an outage and the first rejection are one WARNING each;
  recovery is one INFO line. Messages pass through ``redact``.

:class:`StoredEvent` is what the transport gets back from the spool: the event's JSON as a
``dict`` whose keys also read as attributes, which is what the client's transports use
(``Serde.to_json`` serialises a dict as it is; Kafka reads ``event.run.facets``).
"""

from __future__ import annotations

import bisect
import json
import logging
import threading
import time
from array import array
from collections.abc import Callable
from typing import Any, Final

from floe_lineage_openlineage.spool import EventSpool, SpooledLine
from floe_orchestration_core.errors import LineageError

__all__ = ["DeliveryCounts", "SpoolDelivery", "StoredEvent", "is_transient"]

logger = logging.getLogger(__name__)

_RETRYABLE_STATUS: Final = frozenset({408, 425, 429})
#: How often a process that does not hold the deliver lock looks again (seconds).
POLL_SECONDS: Final = 0.1
#: Longest time appended events wait for ``fdatasync`` (seconds).
SYNC_SECONDS: Final = 0.2
_BATCH: Final = 64


def is_transient(exc: BaseException) -> bool:
    """True when retrying ``exc``'s delivery later may succeed."""
    status = getattr(getattr(exc, "response", None), "status_code", None)
    if isinstance(status, int):
        return status >= 500 or status in _RETRYABLE_STATUS
    if isinstance(exc, OSError):
        return True  # requests' ConnectionError and Timeout are OSErrors too
    return not isinstance(exc, TypeError | ValueError | AttributeError | KeyError | LineageError)


class StoredEvent(dict[str, Any]):
    """An event read back from the spool: a dict whose keys read as attributes too."""

    def __getattr__(self, name: str) -> Any:
        try:
            value = self[name]
        except KeyError:
            raise AttributeError(name) from None
        return StoredEvent(value) if isinstance(value, dict) else value


class DeliveryCounts:
    """This process's events: ``emitted``, ``delivered``, ``rejected``, ``waiting``."""

    __slots__ = ("delivered", "emitted", "rejected", "waiting")

    def __init__(self, emitted: int, delivered: int, rejected: int, waiting: int) -> None:
        self.emitted = emitted
        self.delivered = delivered
        self.rejected = rejected
        self.waiting = waiting


class _StoppedError(Exception):
    """Raised inside the thread when delivery must stop now."""


class SpoolDelivery:
    """See the module docstring. Thread-safe."""

    def __init__(
        self,
        spool: EventSpool,
        send: Callable[[Any], object],
        *,
        max_attempts: int | None,
        backoff: float,
        backoff_max: float,
        redact: Callable[[str], str],
        name: str = "openlineage",
    ) -> None:
        self.spool = spool
        self._send = send
        self._max_attempts = max_attempts
        self._backoff = backoff
        self._backoff_max = backoff_max
        self._redact = redact
        self._name = name
        self._cond = threading.Condition()
        self._thread: threading.Thread | None = None
        self._stopping = False
        self._demand = False  # something wants the spool delivered to its end
        self._draining = 0  # drain() calls waiting
        self._retry_now = False
        self._caught_up_rounds = 0  # times the thread found nothing left to send
        self._lock_rounds = 0  # times the thread took the deliver lock
        self._cursor = 0  # what this process knows was delivered (offset)
        self._starts = array("q")
        self._ends = array("q")
        self._own_rejected: set[int] = set()
        self._rejected_seen_size = -1
        self._failing = False
        self._failed_attempts = 0
        self._sent = 0  # events this object's thread delivered (any process's)
        self._rejected = 0  # events this object's thread rejected (any process's)
        self._last_sync = time.monotonic()

    # -- the caller's side -------------------------------------------------------------------
    def put(self, line: bytes) -> None:
        """Store one serialized event (SpoolFullError, OSError or LineageError when not)."""
        start, end = self.spool.append(line)
        with self._cond:
            self._starts.append(start)
            self._ends.append(end)
            self._demand = True
            self._ensure_thread()
            self._cond.notify_all()

    def start_backlog(self) -> bool:
        """Start delivering events earlier processes left; True when there were any."""
        if self.spool.read_cursor() >= self.spool.end_offset():
            return False
        with self._cond:
            self._demand = True
            self._ensure_thread()
            self._cond.notify_all()
        return True

    def _ensure_thread(self) -> None:
        if self._thread is None and not self._stopping:
            self._thread = threading.Thread(
                target=self._run, name=f"floe-{self._name}-delivery", daemon=True
            )
            self._thread.start()

    def _known_cursor(self) -> int:
        if not self.spool.holding:
            self._cursor = max(self._cursor, self.spool.read_cursor())
        return self._cursor

    def wait_delivered(self, timeout: float) -> bool:
        """Wait up to ``timeout`` s until this process's events are delivered (or rejected)."""
        deadline = time.monotonic() + timeout
        with self._cond:
            if not self._ends:
                return True
            target = self._ends[-1]
            self._retry_now = True
            self._cond.notify_all()
            while True:
                if self._known_cursor() >= target:
                    return True
                remaining = deadline - time.monotonic()
                if remaining <= 0 or (self._thread is None or self._stopping):
                    return self._known_cursor() >= target
                self._cond.wait(min(remaining, POLL_SECONDS))

    def drain(self, timeout: float) -> tuple[int, int, bool]:
        """Deliver the whole spool within ``timeout`` s: (delivered, rejected, busy).

        Done when the cursor reaches what the spool held at the call, or the thread found
        nothing more it could read. ``delivered``/``rejected``: stored events this object
        delivered or gave up since it was made (any process's); ``busy``: another process
        held the deliver lock throughout (it delivers them).
        """
        deadline = time.monotonic() + timeout
        target = self.spool.end_offset()
        with self._cond:
            rounds, locks = self._caught_up_rounds, self._lock_rounds
            self._demand = True
            self._retry_now = True
            self._draining += 1
            self._ensure_thread()
            self._cond.notify_all()
            try:
                while not self._stopping:
                    if self._known_cursor() >= target or self._caught_up_rounds > rounds:
                        break
                    remaining = deadline - time.monotonic()
                    if remaining <= 0:
                        break
                    self._cond.wait(min(remaining, POLL_SECONDS))
            finally:
                self._draining -= 1
            busy = self._lock_rounds == locks and self._known_cursor() < target
            return self._sent, self._rejected, busy

    def remaining(self) -> int:
        """How many stored events (of any process) wait for delivery."""
        with self._cond:
            cursor = self._known_cursor()
        return self.spool.count_from(cursor)

    def counts(self) -> DeliveryCounts:
        """This process's events, from the cursor and the rejected list."""
        with self._cond:
            cursor = self._known_cursor()
            size = self.spool.rejected_size()
            if size != self._rejected_seen_size and self._starts:
                self._rejected_seen_size = size
                mine = set(self._starts)
                self._own_rejected |= self.spool.rejected_offsets() & mine
            emitted = len(self._ends)
            done = bisect.bisect_right(self._ends, cursor)
            rejected = sum(1 for start in self._own_rejected if start < cursor)
            return DeliveryCounts(emitted, done - rejected, rejected, emitted - done)

    @property
    def failing(self) -> bool:
        with self._cond:
            return self._failing

    @property
    def thread_alive(self) -> bool:
        with self._cond:
            return self._thread is not None and self._thread.is_alive()

    def close(self, timeout: float) -> None:
        """Stop the thread (waiting up to ``timeout`` s for an answer in flight); keep the
        spool as it is. Idempotent."""
        with self._cond:
            self._stopping = True
            self._cond.notify_all()
            thread = self._thread
        if thread is not None and thread is not threading.current_thread():
            thread.join(max(0.0, timeout))
        if thread is None or not thread.is_alive():
            self.spool.close()

    # -- the delivery thread ----------------------------------------------------------------
    def _run(self) -> None:
        try:
            while self._next_round():
                pass
        except _StoppedError:
            pass
        except Exception:  # never let the thread die silently: it holds the others' events
            if not self._stopping:
                logger.warning(
                    "lineage backend %r: delivery stopped after an unexpected error",
                    self._name,
                    exc_info=True,
                )
        finally:
            self._finish()

    def _finish(self) -> None:
        if self.spool.holding:
            try:
                self.spool.write_cursor(self._cursor, durable=True)
                self.spool.sync()
            except OSError:
                logger.debug("lineage spool: final cursor not recorded", exc_info=True)
            self.spool.unlock_delivery()
        with self._cond:
            self._thread = None
            self._cond.notify_all()

    def _next_round(self) -> bool:
        with self._cond:
            while not self._demand and not self._stopping:
                self._cond.wait(SYNC_SECONDS)
                self._maybe_sync()
            if self._stopping:
                return False
        if not self.spool.lock_delivery():
            with self._cond:  # another process delivers: wait for it, or for the lock
                own_done = not self._ends or self._known_cursor() >= self._ends[-1]
                if own_done and not self._draining:
                    self._demand = False
                self._cond.wait(POLL_SECONDS)
            return True
        with self._cond:
            self._lock_rounds += 1
            self._cursor = max(self._cursor, self.spool.read_cursor())
            appended = len(self._ends)
        batch = self.spool.read_from(self._cursor, _BATCH)
        if not batch:
            self._caught_up(appended)
            return True
        for stored in batch:
            self._deliver(stored)
            self.spool.write_cursor(stored.end)  # before anyone is told it was delivered
            with self._cond:
                self._cursor = stored.end
                self._cond.notify_all()
            self._maybe_sync()
        self.spool.remove_delivered(self._cursor)
        return True

    def _caught_up(self, appended: int) -> None:
        """The spool is delivered to its end: record it and let another process deliver
        (``appended``: this process's events when the spool was read)."""
        self.spool.write_cursor(self._cursor, durable=True)
        self.spool.remove_delivered(self._cursor)
        self.spool.unlock_delivery()
        with self._cond:
            self._demand = len(self._ends) != appended  # appended since: another round
            self._retry_now = False
            self._caught_up_rounds += 1
            self._cond.notify_all()

    def _maybe_sync(self) -> None:
        if time.monotonic() - self._last_sync >= SYNC_SECONDS:
            self._last_sync = time.monotonic()
            try:
                self.spool.sync()
            except OSError:
                logger.debug("lineage spool: fdatasync failed", exc_info=True)

    def _deliver(self, stored: SpooledLine) -> None:
        """Send ``stored`` until it is accepted or rejected (raises _StoppedError)."""
        try:
            event = StoredEvent(json.loads(stored.line))
        except ValueError as exc:
            self._reject(stored, f"unreadable event in the spool: {exc}", attempts=0)
            return
        attempts = 0
        while True:
            with self._cond:
                if self._stopping:
                    raise _StoppedError
            attempts += 1
            try:
                self._send(event)
            except Exception as exc:
                reason = self._redact(f"{type(exc).__name__}: {exc}")
                exhausted = self._max_attempts is not None and attempts >= self._max_attempts
                if not is_transient(exc) or exhausted:
                    why = f"after {attempts} attempt(s)" if is_transient(exc) else "refused"
                    self._reject(stored, f"{why}: {reason}", attempts)
                    return
                self._wait_to_retry(reason, attempts)
                continue
            self._accepted()
            return

    def _accepted(self) -> None:
        with self._cond:
            recovered = self._failed_attempts if self._failing else 0
            self._failing = False
            self._failed_attempts = 0
            self._sent += 1
        if recovered:
            logger.info(
                "lineage backend %r: delivery resumed after %d failed attempt(s)",
                self._name,
                recovered,
            )

    def _wait_to_retry(self, reason: str, attempts: int) -> None:
        delay = min(self._backoff * 2.0 ** (attempts - 1), self._backoff_max)
        with self._cond:
            first = not self._failing
            self._failing = True
            self._failed_attempts += 1
        if first:
            logger.warning(
                "lineage backend %r: delivery failing (%s); events wait in %s and are retried "
                "in order with backoff up to %.1f s (logged once per outage)",
                self._name,
                reason,
                self.spool.folder,
                self._backoff_max,
            )
        deadline = time.monotonic() + delay
        with self._cond:
            while not self._stopping and not self._retry_now:
                left = deadline - time.monotonic()
                if left <= 0:
                    break
                self._cond.wait(left)
            self._retry_now = False
            if self._stopping:
                raise _StoppedError

    def _reject(self, stored: SpooledLine, reason: str, attempts: int) -> None:
        self.spool.reject(stored, reason)
        with self._cond:
            self._rejected += 1
            first = self._rejected == 1
            index = bisect.bisect_left(self._starts, stored.start)
            if index < len(self._starts) and self._starts[index] == stored.start:
                self._own_rejected.add(stored.start)
        if first:
            logger.warning(
                "lineage backend %r gave up an event (%s); it is kept in %s, further ones are "
                "counted",
                self._name,
                reason,
                self.spool.folder / "rejected.jsonl",
            )
