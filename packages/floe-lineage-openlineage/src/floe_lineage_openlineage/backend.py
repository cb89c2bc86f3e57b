"""``OpenLineageBackend``: the ``openlineage`` lineage backend (``floe.lineage_backends``).

Selected in ``manifest.yaml``::

    lineage:
      type: openlineage
      config:
        namespace: analytics-prod
        transport: {type: http, url: "http://marquez:5000", api_key_env: MARQUEZ_API_KEY}

``config`` is :class:`~floe_lineage_openlineage.config.OpenLineageConfig` (the registry
validates it against :attr:`OpenLineageBackend.config_model` and passes it as constructor
keywords). How an event travels:

1. ``emit(event)`` (the core's template method) calls :meth:`OpenLineageBackend._emit`,
   which maps the core event to the client's ``RunEvent``
   (:mod:`~floe_lineage_openlineage.mapping`) on the caller's thread and puts it on a bounded
   queue: it never waits for the network. A malformed facet or a full queue is a counted
   drop.
2. A delivery thread (:mod:`~floe_lineage_openlineage.delivery`) sends queued events in order
   through the client transport (http, file, console, composite, kafka), each request bounded
   by the transport's ``timeout``, retrying transient failures with backoff.
3. ``flush(timeout)`` waits at most ``min(timeout, flush_timeout)``; ``close`` flushes, drops
   what is still pending (counted) and stops the thread. The backend also closes itself at
   interpreter exit, so events emitted by a process reach the transport before it ends.

``stats()`` reports what really reached the transport: ``delivered + dropped + pending ==
emitted`` at every moment. Secrets (API key, secret headers, Kafka passwords) are read from
environment variables named in the configuration, never put in an event, and redacted from
every message this package logs.

Importing this module imports neither the OpenLineage client nor ``requests``: they are
imported when a backend is constructed.
"""

from __future__ import annotations

import atexit
import functools
import logging
import weakref
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, ClassVar

from pydantic import ValidationError as PydanticValidationError

from floe_lineage_openlineage import __version__
from floe_lineage_openlineage.config import OpenLineageConfig, default_producer, resolve_transport
from floe_orchestration_core import FLOE_API_VERSION
from floe_orchestration_core import __version__ as core_version
from floe_orchestration_core.errors import LineageError
from floe_orchestration_core.lineage import LineageBackendPlugin, LineageEvent, LineageStats
from floe_orchestration_core.plugin import PluginMetadata

if TYPE_CHECKING:
    from opentelemetry.trace import TracerProvider

    from floe_lineage_openlineage.delivery import DeliveryQueue
    from floe_lineage_openlineage.mapping import EventMapper
    from floe_orchestration_core.lineage.design import StaticJob

__all__ = ["OpenLineageBackend"]

logger = logging.getLogger(__name__)


def _close_at_exit(ref: weakref.ReferenceType[OpenLineageBackend]) -> None:
    backend = ref()
    if backend is not None:
        backend.close(backend.flush_timeout)


def _config_error(exc: PydanticValidationError) -> LineageError:
    lines = []
    for error in exc.errors(include_url=False):
        where = ".".join(str(part) for part in error["loc"]) or "config"
        lines.append(f"  {where}: {str(error['msg']).removeprefix('Value error, ')}")
    fields = ", ".join(OpenLineageConfig.model_fields)
    return LineageError(
        "invalid configuration for the openlineage lineage backend (its fields: "
        f"{fields}):\n" + "\n".join(lines)
    )


class OpenLineageBackend(LineageBackendPlugin):
    """Delivers core lineage events as OpenLineage 2-0-2 events (see the module docstring).

    Keyword arguments are the fields of :class:`OpenLineageConfig`; configuration problems
    (an http transport without ``url``, ``api_key_env`` naming an unset variable, an unknown
    transport type) raise :class:`~floe_orchestration_core.errors.LineageError`.
    """

    metadata = PluginMetadata(
        name="openlineage", version=__version__, floe_api_version=FLOE_API_VERSION
    )
    config_model: ClassVar[type[OpenLineageConfig]] = OpenLineageConfig

    def __init__(
        self,
        *,
        transport: dict[str, Any] | None = None,
        namespace: str = "floe",
        producer: str | None = None,
        queue_size: int = 10_000,
        flush_timeout: float = 1.0,
        max_attempts: int | None = None,
        retry_backoff: float = 0.25,
        retry_backoff_max: float = 5.0,
        base_dir: str | None = None,
        tracer_provider: TracerProvider | None = None,
    ) -> None:
        given: dict[str, Any] = {
            "namespace": namespace,
            "producer": producer,
            "queue_size": queue_size,
            "flush_timeout": flush_timeout,
            "max_attempts": max_attempts,
            "retry_backoff": retry_backoff,
            "retry_backoff_max": retry_backoff_max,
        }
        if transport is not None:
            given["transport"] = transport
        try:
            config = OpenLineageConfig.model_validate(given)
        except PydanticValidationError as exc:
            raise _config_error(exc) from exc
        super().__init__(namespace=config.namespace, tracer_provider=tracer_provider)
        self._config = config
        resolved = resolve_transport(config.transport, base_dir=base_dir)
        self._secrets = sorted(resolved.secrets, key=len, reverse=True)
        self._transport = self._build_transport(resolved.config)
        self._mapper = self._build_mapper()
        self._queue = self._build_queue()
        self._at_exit = functools.partial(_close_at_exit, weakref.ref(self))
        atexit.register(self._at_exit)

    # -- construction ---------------------------------------------------------------------------
    def _build_transport(self, config: dict[str, Any]) -> Any:
        from openlineage.client.transport import get_default_factory

        kind = config["type"]
        try:
            return get_default_factory().create(config)
        except ImportError as exc:
            raise LineageError(
                f"the OpenLineage {kind} transport needs a package that is not installed "
                f"({exc.name or exc}); install floe-lineage-openlineage[{kind}]"
            ) from exc
        except Exception as exc:
            raise LineageError(
                f"cannot build the OpenLineage {kind} transport: "
                f"{self.redact(f'{type(exc).__name__}: {exc}')}; check lineage.config.transport"
            ) from exc

    def _build_mapper(self) -> EventMapper:
        from floe_lineage_openlineage.mapping import EventMapper

        return EventMapper(self.producer, engine_version=core_version, adapter_version=__version__)

    def _build_queue(self) -> DeliveryQueue:
        from floe_lineage_openlineage.delivery import DeliveryQueue

        return DeliveryQueue(
            self._transport.emit,
            capacity=self._config.queue_size,
            max_attempts=self._config.max_attempts,
            backoff=self._config.retry_backoff,
            backoff_max=self._config.retry_backoff_max,
            redact=self.redact,
            name=self.name,
        )

    # -- properties -----------------------------------------------------------------------------
    @property
    def producer(self) -> str:
        """The producer URI of every event and facet."""
        return self._config.producer or default_producer()

    @property
    def transport_type(self) -> str:
        """The configured transport's ``type`` (``http``, ``file``, ...)."""
        return str(self._config.transport["type"])

    @property
    def flush_timeout(self) -> float:
        """The longest one flush waits, whatever timeout it is given."""
        return self._config.flush_timeout

    def redact(self, text: str) -> str:
        """``text`` with every configured secret value replaced by ``***``."""
        for secret in self._secrets:
            text = text.replace(secret, "***")
        return text

    # -- the port -------------------------------------------------------------------------------
    def _emit(self, event: LineageEvent) -> None:
        self._queue.put(self._mapper.run_event(event))

    def flush(self, timeout: float = 5.0) -> bool:
        """Wait up to ``min(timeout, flush_timeout)`` s for delivery; True when none pending.

        Once a flush has timed out while delivery is failing, later flushes return at once
        until an event is delivered again.
        """
        super().flush(timeout)
        return self._queue.wait_idle(min(float(timeout), self._config.flush_timeout))

    def _close(self, timeout: float) -> None:
        atexit.unregister(self._at_exit)
        self._queue.close(min(timeout, self._config.flush_timeout))
        if self._queue.thread_alive:
            return  # a request is still in flight (a daemon thread): leave the transport be
        try:
            self._transport.close(max(0.0, timeout))
        except Exception as exc:
            logger.warning(
                "lineage backend %r: closing the %s transport failed: %s",
                self.name,
                self.transport_type,
                self.redact(f"{type(exc).__name__}: {exc}"),
            )

    def stats(self) -> LineageStats:
        """What reached the transport: delivered by the thread, dropped anywhere, pending."""
        queued = self._queue.counts()
        with self._counter_lock:
            emitted, refused = self._emitted, self._dropped
        dropped = refused + queued.dropped
        return LineageStats(
            emitted=emitted,
            delivered=queued.delivered,
            dropped=dropped,
            pending=emitted - queued.delivered - dropped,
        )

    def export_design(self, jobs: Sequence[StaticJob]) -> list[dict[str, Any]]:
        """Each job as an OpenLineage ``JobEvent`` dict (the client's serialisation)."""
        from openlineage.client.serde import Serde

        from floe_orchestration_core.lineage.design import StaticJob

        now = datetime.now(UTC)
        events = []
        for index, job in enumerate(jobs):
            if not isinstance(job, StaticJob):
                raise LineageError(
                    f"export_design takes StaticJob objects (from design_lineage), got "
                    f"{type(job).__name__} at index {index}"
                )
            events.append(Serde.to_dict(self._mapper.job_event(job, event_time=now)))
        return events
