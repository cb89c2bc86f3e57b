"""The lineage port: the ``LineageBackendPlugin`` every backend implements.

Implementer's checklist (for a lineage backend such as ``floe-lineage-openlineage``):

- Subclass :class:`LineageBackendPlugin`; set the class attribute ``metadata`` to a
  :class:`~floe_orchestration_core.plugin_metadata.PluginMetadata` (name, version,
  floe_api_version).
  Call ``super().__init__(namespace=..., tracer_provider=...)`` from your constructor.
- Implement only :meth:`LineageBackendPlugin._emit`. The public :meth:`~LineageBackendPlugin.emit`
  is a template method: it type-checks, counts, traces and calls ``_emit``; an exception from
  ``_emit`` is counted as a drop and logged (once per burst of failures), never raised. So raise
  freely from ``_emit`` for delivery problems, and do not log each failure yourself.
- ``_emit`` must not block for long: a slow or dead backend must not stall a pipeline run.
  A backend that delivers over the network should enqueue in ``_emit``, deliver on its own
  thread, and then override :meth:`~LineageBackendPlugin.flush` (wait for the queue, return
  ``True`` when it is empty), :meth:`~LineageBackendPlugin._close` (stop the thread, release
  connections) and :meth:`~LineageBackendPlugin.stats` (report what really reached the
  backend). :class:`LineageStats` checks ``delivered + dropped + spooled + pending ==
  emitted``.
- A backend that keeps undelivered events durably (a spool a later process delivers) counts
  them as ``spooled`` once closed, overrides :meth:`~LineageBackendPlugin.deliver_backlog`
  (deliver what earlier processes left, within a timeout) and
  :meth:`~LineageBackendPlugin._undelivered_message` (what the close warning says: where the
  events wait and how to deliver them). Warnings name real settings and report the time
  actually waited.
- Configuration errors (bad URL, missing credentials) are raised from the constructor as
  :class:`~floe_orchestration_core.errors.LineageError`, before any pipeline runs.
- :meth:`~LineageBackendPlugin.close` is idempotent and never raises: it flushes, calls
  ``_close``, and logs what it could not do. Emitting after ``close`` is a counted drop.
- Map :class:`LineageEvent` onto your client faithfully: ``event_type`` is the OpenLineage
  ``eventType``, ``run_id`` the ``run.runId`` (a UUIDv7 from :func:`new_run_id`), facet
  mappings are passed through as given (the core does not interpret facets), ``parent`` is
  the parent-run facet and ``error`` the error-message facet.
- Optionally override :meth:`~LineageBackendPlugin.export_design` to turn design-time
  lineage (:class:`~floe_orchestration_core.lineage.design.StaticJob`, from
  :func:`~floe_orchestration_core.lineage.design.design_lineage`) into your format's
  static-lineage events; by default a backend cannot export.
- Run the contract suite ``floe_orchestration_core.testing.LineageBackendContract`` against
  your backend.

The value objects (:class:`LineageEvent`, :class:`Dataset`, :class:`ParentRun`,
:class:`ErrorInfo`, :class:`RunState`, :class:`LineageStats`, :func:`new_run_id`) live in
:mod:`floe_orchestration_core.lineage.events`; the package :mod:`floe_orchestration_core.lineage`
exports both.
"""

from __future__ import annotations

import logging
import math
import threading
import time
from abc import ABC, abstractmethod
from collections.abc import Callable, Sequence
from types import TracebackType
from typing import TYPE_CHECKING, Any, ClassVar

from floe_orchestration_core import FLOE_API_VERSION, __version__
from floe_orchestration_core.errors import LineageError, PluginError
from floe_orchestration_core.lineage.events import (
    BacklogReport,
    LineageEvent,
    LineageStats,
)
from floe_orchestration_core.plugin_metadata import PluginMetadata
from floe_orchestration_core.telemetry import span

if TYPE_CHECKING:
    from opentelemetry.trace import TracerProvider

    from floe_orchestration_core.lineage.design import StaticJob

__all__ = ["LineageBackendPlugin", "NoOpLineageBackend"]

#: The logger keeps the name it had before the port moved into ``lineage/``.
logger = logging.getLogger("floe_orchestration_core.lineage")


def _check_timeout(timeout: float) -> float:
    if isinstance(timeout, bool) or not isinstance(timeout, int | float):
        raise LineageError(f"timeout must be a number of seconds, got {timeout!r}; e.g. 5.0")
    if not math.isfinite(timeout) or timeout < 0:
        raise LineageError(f"timeout must be finite and >= 0 seconds, got {timeout!r}; e.g. 5.0")
    return float(timeout)


class LineageBackendPlugin(ABC):
    """The port every lineage backend implements (see the module docstring's checklist).

    Thread-safe: :meth:`emit` may be called from any number of threads at once. Usable as a
    context manager that closes on exit.
    """

    metadata: ClassVar[PluginMetadata]

    def __init__(
        self, *, namespace: str = "floe", tracer_provider: TracerProvider | None = None
    ) -> None:
        if getattr(type(self), "metadata", None) is None:
            raise PluginError(
                f"{type(self).__qualname__} declares no metadata; add a class attribute "
                "metadata = PluginMetadata(name=..., version=..., floe_api_version=...)"
            )
        if not isinstance(namespace, str) or not namespace.strip():
            raise LineageError(
                f"namespace must be a non-empty string, got {namespace!r}; e.g. 'floe' or "
                "'analytics-prod'"
            )
        self._namespace = namespace
        self._tracer_provider = tracer_provider
        self._counter_lock = threading.Lock()
        self._emitted = 0
        self._delivered = 0
        self._dropped = 0
        self._burst_drops = 0
        self._closed = False

    @property
    def name(self) -> str:
        """The backend's name (``metadata.name``), as used in ``manifest.yaml``."""
        return type(self).metadata.name

    @property
    def version(self) -> str:
        """The backend's own version (``metadata.version``)."""
        return type(self).metadata.version

    @property
    def floe_api_version(self) -> str:
        """The floe plugin API version the backend implements (``metadata.floe_api_version``)."""
        return type(self).metadata.floe_api_version

    @property
    def namespace(self) -> str:
        """The default job namespace for events this backend's callers build."""
        return self._namespace

    @property
    def closed(self) -> bool:
        """True once :meth:`close` has been called."""
        with self._counter_lock:
            return self._closed

    def emit(self, event: LineageEvent) -> None:
        """Deliver ``event`` through :meth:`_emit`; never raises for delivery problems.

        Raises :class:`LineageError` only when ``event`` is not a :class:`LineageEvent` (a
        programming error). A failure of ``_emit``, or emitting after :meth:`close`, is
        counted as a drop and logged once per burst of consecutive drops.
        """
        if not isinstance(event, LineageEvent):
            raise LineageError(
                f"emit() takes a LineageEvent, got {type(event).__name__}; build one with "
                "LineageEvent(event_type='START', job_name=..., job_namespace=..., run_id=...)"
            )
        with self._counter_lock:
            self._emitted += 1
            closed = self._closed
        if closed:
            self._record_drop(event, "the backend is closed")
            return
        try:
            with span(
                "floe_orchestration_core",
                "lineage.emit",
                tracer_provider=self._tracer_provider,
                **{
                    "floe.lineage.backend": self.name,
                    "floe.lineage.event_type": event.event_type.value,
                    "floe.lineage.job": f"{event.job_namespace}/{event.job_name}",
                    "floe.lineage.run_id": str(event.run_id),
                },
            ):
                self._emit(event)
        except Exception as exc:
            self._record_drop(event, f"{type(exc).__name__}: {exc}")
        else:
            self._record_delivery()

    @abstractmethod
    def _emit(self, event: LineageEvent) -> None:
        """Deliver (or enqueue) one validated event; raise on failure, the caller counts it."""

    def export_design(self, jobs: Sequence[StaticJob]) -> list[dict[str, Any]]:
        """Design-time lineage ``jobs`` as this backend's static events (JSON-ready dicts).

        Nothing is delivered: the caller writes the events where a catalog reads them (``floe
        lineage export``). The default raises :class:`LineageError`: a backend that can
        describe jobs without a run overrides this.
        """
        raise LineageError(
            f"lineage backend {self.name!r} cannot export design-time lineage; choose a "
            "backend that can, e.g. --format openlineage"
        )

    def flush(self, timeout: float = 5.0) -> bool:
        """Deliver pending events within ``timeout`` seconds; ``True`` when nothing is pending.

        Synchronous backends have nothing pending after ``_emit`` returns: the default returns
        ``True``. Asynchronous backends override this.
        """
        _check_timeout(timeout)
        return True

    def deliver_backlog(self, timeout: float = 5.0) -> BacklogReport:
        """Deliver, within ``timeout`` seconds, events earlier processes left undelivered.

        Only a backend with durable storage has such a backlog; the default flushes this
        backend and reports nothing stored.
        """
        self.flush(_check_timeout(timeout))
        return BacklogReport()

    def close(self, timeout: float = 5.0) -> None:
        """Flush, then release the backend's resources via :meth:`_close`. Idempotent.

        Never raises for delivery or shutdown problems: they are logged at WARNING (what was
        not delivered, after how long, and where it is now). Events emitted afterwards are
        counted as dropped.
        """
        timeout = _check_timeout(timeout)
        with self._counter_lock:
            if self._closed:
                return
            self._closed = True
        started = time.monotonic()
        deadline = started + timeout
        try:
            self.flush(timeout)
        except Exception:
            logger.warning("lineage backend %r: flush failed at close", self.name, exc_info=True)
        waited = time.monotonic() - started
        undelivered = self._counted(lambda stats: stats.pending)
        try:
            self._close(max(0.0, deadline - time.monotonic()))
        except Exception:
            logger.warning(
                "lineage backend %r: releasing resources failed at close", self.name, exc_info=True
            )
        if undelivered:
            emitted = self._counted(lambda stats: stats.emitted)
            logger.warning("%s", self._undelivered_message(undelivered, emitted, waited))
        self._summarise_burst(ending="at close")

    def _counted(self, pick: Callable[[LineageStats], int]) -> int:
        try:
            return pick(self.stats())
        except Exception:
            logger.warning("lineage backend %r: no counters at close", self.name, exc_info=True)
            return 0

    def _undelivered_message(self, undelivered: int, emitted: int, waited: float) -> str:
        """The close warning: ``undelivered`` of ``emitted`` events were still pending after
        the close's flush waited ``waited`` seconds."""
        return (
            f"lineage backend {self.name!r}: {undelivered} of {emitted} event(s) were not "
            f"delivered after waiting {waited:.1f} s at close and are lost"
        )

    def _close(self, timeout: float) -> None:  # noqa: B027 (an optional hook: no-op by default)
        """Release connections, threads and files; ``timeout`` is what is left of close's."""

    def stats(self) -> LineageStats:
        """A consistent snapshot of the counters (an ``_emit`` that returned is delivered)."""
        with self._counter_lock:
            emitted, delivered, dropped = self._emitted, self._delivered, self._dropped
        return LineageStats(
            emitted=emitted,
            delivered=delivered,
            dropped=dropped,
            pending=emitted - delivered - dropped,
        )

    def __enter__(self) -> LineageBackendPlugin:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def _record_drop(self, event: LineageEvent, reason: str) -> None:
        with self._counter_lock:
            self._dropped += 1
            self._burst_drops += 1
            first_of_burst = self._burst_drops == 1
        if first_of_burst:
            logger.warning(
                "lineage backend %r dropped a %s event of job %s/%s (run %s): %s; further "
                "drops are counted and summarised when delivery resumes or at close",
                self.name,
                event.event_type.value,
                event.job_namespace,
                event.job_name,
                event.run_id,
                reason,
            )

    def _record_delivery(self) -> None:
        with self._counter_lock:
            self._delivered += 1
            if self._burst_drops == 0:
                return
        self._summarise_burst(ending="before delivery resumed")

    def _summarise_burst(self, *, ending: str) -> None:
        with self._counter_lock:
            drops, self._burst_drops = self._burst_drops, 0
        if drops > 1:
            logger.warning(
                "lineage backend %r dropped %d events in a row %s", self.name, drops, ending
            )
        elif drops == 1:
            logger.info("lineage backend %r dropped 1 event %s", self.name, ending)


class NoOpLineageBackend(LineageBackendPlugin):
    """Discards every event. Used when no backend is configured.

    Discarded events count as *delivered* (there is nowhere else they should go), so
    ``stats()`` keeps ``delivered + dropped + pending == emitted``; only emitting after
    :meth:`close` counts as dropped.
    """

    metadata = PluginMetadata(name="noop", version=__version__, floe_api_version=FLOE_API_VERSION)

    def _emit(self, event: LineageEvent) -> None:
        return None
