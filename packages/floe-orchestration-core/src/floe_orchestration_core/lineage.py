"""The lineage port: events, datasets, and the ``LineageBackendPlugin`` every backend implements.

Implementer's checklist (for a lineage backend such as ``floe-lineage-openlineage``):

- Subclass :class:`LineageBackendPlugin`; set the class attribute ``metadata`` to a
  :class:`~floe_orchestration_core.plugin.PluginMetadata` (name, version, floe_api_version).
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
  backend). :class:`LineageStats` checks ``delivered + dropped + pending == emitted``.
- Configuration errors (bad URL, missing credentials) are raised from the constructor as
  :class:`~floe_orchestration_core.errors.LineageError`, before any pipeline runs.
- :meth:`~LineageBackendPlugin.close` is idempotent and never raises: it flushes, calls
  ``_close``, and logs what it could not do. Emitting after ``close`` is a counted drop.
- Map :class:`LineageEvent` onto your client faithfully: ``event_type`` is the OpenLineage
  ``eventType``, ``run_id`` the ``run.runId`` (a UUIDv7 from :func:`new_run_id`), facet
  mappings are passed through as given (the core does not interpret facets), ``parent`` is
  the parent-run facet and ``error`` the error-message facet.
- Run the contract suite ``floe_orchestration_core.testing.LineageBackendContract`` against
  your backend.

Design note: ``plugin.py`` imports this module at run time, so this module imports
``PluginMetadata`` only for type checking; :class:`NoOpLineageBackend` builds its metadata on
first access through a small descriptor, which imports ``plugin`` lazily.
"""

from __future__ import annotations

import logging
import math
import secrets
import threading
import time
import traceback
import uuid
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterable, Mapping
from datetime import UTC, datetime
from enum import StrEnum
from types import MappingProxyType, TracebackType
from typing import TYPE_CHECKING, Any, ClassVar, Final

import attrs

from floe_orchestration_core.errors import LineageError, PluginError
from floe_orchestration_core.telemetry import span

if TYPE_CHECKING:
    from opentelemetry.trace import TracerProvider

    from floe_orchestration_core.plugin import PluginMetadata

__all__ = [
    "Dataset",
    "ErrorInfo",
    "LineageBackendPlugin",
    "LineageEvent",
    "LineageStats",
    "NoOpLineageBackend",
    "ParentRun",
    "RunState",
    "new_run_id",
]

logger = logging.getLogger(__name__)


class RunState(StrEnum):
    """The state a lineage event reports, as OpenLineage's ``eventType``."""

    START = "START"
    RUNNING = "RUNNING"
    COMPLETE = "COMPLETE"
    ABORT = "ABORT"
    FAIL = "FAIL"
    OTHER = "OTHER"


_VALID_STATES: Final = ", ".join(state.value for state in RunState)


def _to_run_state(value: RunState | str) -> RunState:
    if isinstance(value, RunState):
        return value
    if isinstance(value, str):
        try:
            return RunState(value.strip().upper())
        except ValueError:
            pass
    raise LineageError(f"unknown event type {value!r}; valid states: {_VALID_STATES}")


def _frozen_mapping(value: Mapping[str, Any] | None) -> Mapping[str, Any]:
    """A read-only shallow copy, so a caller mutating its dict cannot change an event."""
    if value is None:
        return MappingProxyType({})
    if not isinstance(value, Mapping):
        raise LineageError(
            f"facets must be a mapping of facet name to facet, got {type(value).__name__}; "
            'pass e.g. {"schema": {...}}'
        )
    copy = dict(value)
    bad = [key for key in copy if not isinstance(key, str) or not key]
    if bad:
        raise LineageError(
            f"facet names must be non-empty strings, got {bad[0]!r}; name facets like 'schema'"
        )
    return MappingProxyType(copy)


def _non_empty(instance: object, attribute: attrs.Attribute[Any], value: object) -> None:
    if not isinstance(value, str) or not value.strip():
        owner = type(instance).__name__
        raise LineageError(
            f"{owner}.{attribute.name} must be a non-empty string, got {value!r}; "
            f"e.g. {_EXAMPLE_VALUES.get(attribute.name, repr('orders'))}"
        )


_EXAMPLE_VALUES: Final[Mapping[str, str]] = {
    "namespace": "'duckdb://warehouse' or 'postgres://db:5432'",
    "name": "'analytics.orders'",
    "job_namespace": "'floe'",
    "job_name": "'analytics.orders'",
    "message": "'division by zero'",
}


@attrs.frozen
class Dataset:
    """A dataset read or written by a job: OpenLineage ``namespace`` + ``name`` and facets.

    ``facets`` is stored as a read-only copy; equal datasets hash equally (facets are not
    hashed, only compared).
    """

    namespace: str = attrs.field(validator=_non_empty)
    name: str = attrs.field(validator=_non_empty)
    facets: Mapping[str, Any] = attrs.field(
        factory=dict, converter=_frozen_mapping, hash=False, repr=False
    )


def _to_uuid(value: uuid.UUID | str) -> uuid.UUID:
    if isinstance(value, uuid.UUID):
        return value
    if isinstance(value, str):
        try:
            return uuid.UUID(value)
        except ValueError:
            pass
    raise LineageError(
        f"run_id must be a UUID, got {value!r}; create one with new_run_id() or pass an "
        "orchestrator run id such as '0190a3c4-5b6d-7e8f-9a0b-1c2d3e4f5a6b'"
    )


@attrs.frozen
class ParentRun:
    """The run that started this one (a model's run inside a pipeline run)."""

    job_namespace: str = attrs.field(validator=_non_empty)
    job_name: str = attrs.field(validator=_non_empty)
    run_id: uuid.UUID = attrs.field(converter=_to_uuid)


@attrs.frozen
class ErrorInfo:
    """Why a run failed, as OpenLineage's error-message run facet."""

    message: str = attrs.field(validator=_non_empty)
    stack_trace: str | None = None
    language: str = "python"

    @classmethod
    def from_exception(cls, exc: BaseException) -> ErrorInfo:
        """``message`` is ``"ExcType: text"``, ``stack_trace`` the formatted traceback."""
        text = str(exc)
        message = f"{type(exc).__name__}: {text}" if text else type(exc).__name__
        return cls(message=message, stack_trace="".join(traceback.format_exception(exc)))


def _to_datasets(value: Iterable[Dataset]) -> tuple[Dataset, ...]:
    if isinstance(value, Dataset):
        raise LineageError("inputs/outputs take an iterable of Dataset; wrap one in a tuple: (ds,)")
    if isinstance(value, str | bytes | Mapping) or not isinstance(value, Iterable):
        raise LineageError(
            f"inputs/outputs take an iterable of Dataset, got {type(value).__name__}; "
            "pass e.g. [Dataset('duckdb://warehouse', 'analytics.orders')]"
        )
    datasets = tuple(value)
    for item in datasets:
        if not isinstance(item, Dataset):
            raise LineageError(
                f"inputs/outputs must hold Dataset objects, got {type(item).__name__} "
                f"{item!r}; build one with Dataset(namespace, name)"
            )
    return datasets


def _utc_now() -> datetime:
    return datetime.now(UTC)


def _aware(instance: object, attribute: attrs.Attribute[Any], value: object) -> None:
    if not isinstance(value, datetime):
        raise LineageError(
            f"event_time must be a datetime, got {type(value).__name__}; "
            "pass e.g. datetime.now(UTC)"
        )
    if value.tzinfo is None or value.utcoffset() is None:
        raise LineageError(
            f"event_time {value.isoformat()} has no timezone; pass an aware datetime such as "
            "datetime.now(UTC)"
        )


def _optional_instance(kind: type[Any]) -> Callable[[object, attrs.Attribute[Any], object], None]:
    def check(instance: object, attribute: attrs.Attribute[Any], value: object) -> None:
        if value is not None and not isinstance(value, kind):
            raise LineageError(
                f"{attribute.name} must be a {kind.__name__} or None, got {type(value).__name__}"
            )

    return check


@attrs.frozen
class LineageEvent:
    """One run-state change of one job, backend-neutral.

    ``event_type`` accepts a :class:`RunState` or its name in any case; ``inputs`` and
    ``outputs`` any iterable of :class:`Dataset`; facet mappings are copied read-only.
    ``event_time`` must be timezone-aware. ``error`` is allowed only with ``FAIL`` or
    ``ABORT``. Every violation raises :class:`~floe_orchestration_core.errors.LineageError`.
    """

    event_type: RunState = attrs.field(converter=_to_run_state)
    job_name: str = attrs.field(validator=_non_empty)
    job_namespace: str = attrs.field(validator=_non_empty)
    run_id: uuid.UUID = attrs.field(converter=_to_uuid)
    event_time: datetime = attrs.field(factory=_utc_now, validator=_aware)
    inputs: tuple[Dataset, ...] = attrs.field(default=(), converter=_to_datasets)
    outputs: tuple[Dataset, ...] = attrs.field(default=(), converter=_to_datasets)
    run_facets: Mapping[str, Any] = attrs.field(
        factory=dict, converter=_frozen_mapping, hash=False, repr=False
    )
    job_facets: Mapping[str, Any] = attrs.field(
        factory=dict, converter=_frozen_mapping, hash=False, repr=False
    )
    parent: ParentRun | None = attrs.field(default=None, validator=_optional_instance(ParentRun))
    error: ErrorInfo | None = attrs.field(default=None, validator=_optional_instance(ErrorInfo))

    def __attrs_post_init__(self) -> None:
        if self.error is not None and self.event_type not in (RunState.FAIL, RunState.ABORT):
            raise LineageError(
                f"an error was given with event type {self.event_type.value}; errors belong "
                "only to FAIL or ABORT events: use event_type='FAIL'"
            )


class _RunIdGenerator:
    """UUIDv7 (RFC 9562 §5.7) with method 2 monotonicity (§6.2).

    The 74 bits after the 48-bit millisecond timestamp (``rand_a`` and ``rand_b`` around the
    version and variant) are a counter seeded randomly each new millisecond with its top bit
    clear; within one millisecond (or when the clock steps back) it is incremented by a random
    amount, and on overflow the timestamp is advanced by one millisecond. Ids from one process
    therefore strictly increase.
    """

    _COUNTER_BITS: Final = 74
    _SEED_BITS: Final = 73
    _STEP_BITS: Final = 32

    def __init__(self, clock_ns: Callable[[], int] = time.time_ns) -> None:
        self._clock_ns = clock_ns
        self._lock = threading.Lock()
        self._last_ms = -1
        self._counter = 0

    def __call__(self) -> uuid.UUID:
        with self._lock:
            now_ms = self._clock_ns() // 1_000_000
            if now_ms > self._last_ms:
                millis, counter = now_ms, secrets.randbits(self._SEED_BITS)
            else:
                millis = self._last_ms
                counter = self._counter + 1 + secrets.randbits(self._STEP_BITS)
                if counter >> self._COUNTER_BITS:
                    millis, counter = millis + 1, secrets.randbits(self._SEED_BITS)
            self._last_ms, self._counter = millis, counter
        rand_a = counter >> 62
        rand_b = counter & ((1 << 62) - 1)
        value = (millis & ((1 << 48) - 1)) << 80 | 0x7 << 76 | rand_a << 64 | 0b10 << 62 | rand_b
        return uuid.UUID(int=value)


_new_run_id: Final = _RunIdGenerator()


def new_run_id() -> uuid.UUID:
    """A new UUIDv7 run id: time-ordered, and strictly increasing within this process.

    >>> a, b = new_run_id(), new_run_id()
    >>> (a.version, a < b)
    (7, True)
    """
    return _new_run_id()


@attrs.frozen
class LineageStats:
    """Counters of a backend. Invariant: ``delivered + dropped + pending == emitted``.

    ``pending`` counts events accepted but not yet delivered or dropped (in flight in
    ``_emit``, or queued by an asynchronous backend).
    """

    emitted: int
    delivered: int
    dropped: int
    pending: int

    def __attrs_post_init__(self) -> None:
        counts = attrs.asdict(self)
        negative = {name: count for name, count in counts.items() if count < 0}
        if negative:
            raise LineageError(f"lineage counters cannot be negative, got {negative}")
        if self.delivered + self.dropped + self.pending != self.emitted:
            raise LineageError(
                f"inconsistent lineage counters {counts}: delivered + dropped + pending must "
                "equal emitted; a backend overriding stats() must keep this invariant"
            )


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

    def flush(self, timeout: float = 5.0) -> bool:
        """Deliver pending events within ``timeout`` seconds; ``True`` when nothing is pending.

        Synchronous backends have nothing pending after ``_emit`` returns: the default returns
        ``True``. Asynchronous backends override this.
        """
        _check_timeout(timeout)
        return True

    def close(self, timeout: float = 5.0) -> None:
        """Flush, then release the backend's resources via :meth:`_close`. Idempotent.

        Never raises for delivery or shutdown problems: they are logged at WARNING. Events
        emitted afterwards are counted as dropped.
        """
        timeout = _check_timeout(timeout)
        with self._counter_lock:
            if self._closed:
                return
            self._closed = True
        deadline = time.monotonic() + timeout
        try:
            if not self.flush(timeout):
                logger.warning(
                    "lineage backend %r: %d event(s) still pending after %.1f s at close; "
                    "they may be lost (raise the close timeout to wait longer)",
                    self.name,
                    self.stats().pending,
                    timeout,
                )
        except Exception:
            logger.warning("lineage backend %r: flush failed at close", self.name, exc_info=True)
        try:
            self._close(max(0.0, deadline - time.monotonic()))
        except Exception:
            logger.warning(
                "lineage backend %r: releasing resources failed at close", self.name, exc_info=True
            )
        self._summarise_burst(ending="at close")

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


class _NoOpMetadata:
    """Builds :class:`NoOpLineageBackend`'s metadata on first access (see the module note)."""

    def __init__(self) -> None:
        self._value: PluginMetadata | None = None

    def __get__(self, instance: object, owner: type[Any] | None = None) -> PluginMetadata:
        if self._value is None:
            from floe_orchestration_core import FLOE_API_VERSION, __version__
            from floe_orchestration_core.plugin import PluginMetadata

            self._value = PluginMetadata(
                name="noop",
                version=__version__,
                floe_api_version=FLOE_API_VERSION,
            )
        return self._value


class NoOpLineageBackend(LineageBackendPlugin):
    """Discards every event. Used when no backend is configured.

    Discarded events count as *delivered* (there is nowhere else they should go), so
    ``stats()`` keeps ``delivered + dropped + pending == emitted``; only emitting after
    :meth:`close` counts as dropped.
    """

    metadata = _NoOpMetadata()

    def _emit(self, event: LineageEvent) -> None:
        return None
