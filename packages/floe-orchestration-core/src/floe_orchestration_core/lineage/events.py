"""Lineage value objects: what one run-state change of one job says, backend-neutral.

:class:`LineageEvent` (with :class:`RunState`, :class:`Dataset`, :class:`ParentRun` and
:class:`ErrorInfo`) is what an orchestrator builds and a backend delivers; every field is
validated on construction and every violation raises
:class:`~floe_orchestration_core.errors.LineageError` naming the field and a valid example.
:func:`new_run_id` makes time-ordered UUIDv7 run ids; :class:`LineageStats` holds a backend's
counters and :class:`BacklogReport` what a delivery of earlier processes' events did. The
port that delivers events is :mod:`floe_orchestration_core.lineage.port`; the package
:mod:`floe_orchestration_core.lineage` exports everything here: import from either.
"""

from __future__ import annotations

import secrets
import threading
import time
import traceback
import uuid
from collections.abc import Callable, Iterable, Mapping
from datetime import UTC, datetime
from enum import StrEnum
from types import MappingProxyType
from typing import Any, Final

import attrs

from floe_orchestration_core.errors import LineageError

__all__ = [
    "BacklogReport",
    "Dataset",
    "ErrorInfo",
    "LineageEvent",
    "LineageStats",
    "ParentRun",
    "RunState",
    "new_run_id",
]


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
    """Counters of a backend, for the events emitted through it.

    Invariant: ``delivered + dropped + spooled + pending == emitted``.

    - ``delivered``: accepted by the backend's destination;
    - ``dropped``: given up (refused, malformed, no room left): they will never be delivered;
    - ``spooled``: kept in durable storage for a later delivery (a backend with a spool, once
      closed: ``floe lineage flush`` or a later process delivers them);
    - ``pending``: accepted but not yet delivered, dropped or spooled (in flight in ``_emit``,
      or waiting for an asynchronous backend's delivery while it is open).
    """

    emitted: int
    delivered: int
    dropped: int
    pending: int
    spooled: int = 0

    def __attrs_post_init__(self) -> None:
        counts = attrs.asdict(self)
        negative = {name: count for name, count in counts.items() if count < 0}
        if negative:
            raise LineageError(f"lineage counters cannot be negative, got {negative}")
        if self.delivered + self.dropped + self.spooled + self.pending != self.emitted:
            raise LineageError(
                f"inconsistent lineage counters {counts}: delivered + dropped + spooled + "
                "pending must equal emitted; a backend overriding stats() must keep this "
                "invariant"
            )


@attrs.frozen
class BacklogReport:
    """What :meth:`LineageBackendPlugin.deliver_backlog` did with stored events.

    ``delivered``/``dropped``: stored events this backend delivered or gave up (refused
    permanently) since it was made, whichever process emitted them; ``remaining``: events
    still stored, waiting; ``location``: where they wait (None for a backend without durable
    storage); ``busy``: another process was delivering them.
    """

    delivered: int = 0
    dropped: int = 0
    remaining: int = 0
    location: str | None = None
    busy: bool = False

    def __attrs_post_init__(self) -> None:
        if min(self.delivered, self.dropped, self.remaining) < 0:
            raise LineageError(f"backlog counts cannot be negative, got {self!r}")
