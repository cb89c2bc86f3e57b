"""``OpenLineageBackend``: the ``openlineage`` lineage backend (``floe.lineage_backends``).

Selected in ``manifest.yaml``::

    lineage:
      type: openlineage
      config:
        namespace: analytics-prod
        transport: {type: http, url: "http://marquez:5000", api_key_env: MARQUEZ_API_KEY}

``config`` is :class:`~floe_lineage_openlineage.config.OpenLineageConfig` (the registry
validates it against :attr:`OpenLineageBackend.config_model` and passes it as constructor
keywords, with ``base_dir``, the manifest's folder, and ``state_dir``, the product's
``.floe``). How an event travels:

1. ``emit(event)`` (the core's template method) calls :meth:`OpenLineageBackend._emit`,
   which maps the core event to the client's ``RunEvent``
   (:mod:`~floe_lineage_openlineage.mapping`) on the caller's thread, serialises it and
   appends it to the durable spool (:mod:`~floe_lineage_openlineage.spool`): it never waits
   for the network. A malformed facet, a full spool or a disk that refuses the write is a
   counted drop.
2. A delivery thread (:mod:`~floe_lineage_openlineage.delivery`) sends the spool in order
   through the client transport (http, file, console, composite, kafka), each request bounded
   by the transport's ``timeout``, retrying transient failures with backoff. An event leaves
   the spool only once the transport accepted it.
3. ``flush(timeout)`` waits at most ``min(timeout, flush_timeout)`` for this process's events;
   ``close`` flushes once and stops the thread. What is not delivered then stays in the spool
   (counted ``spooled``), for ``floe lineage flush``, the next ``floe`` process of the product
   or the lineage sensor of ``floe up`` (:meth:`deliver_backlog`). The backend also closes
   itself at interpreter exit.

The spool is ``spool_dir`` when configured, else ``<state_dir>/lineage/spool``; a backend
built without a product (no ``state_dir``) spools into a private temporary folder removed at
close, so what it could not deliver by then is dropped (and counted).

``stats()`` reports this process's events: ``delivered + dropped + spooled + pending ==
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
import shutil
import tempfile
import weakref
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

from pydantic import ValidationError as PydanticValidationError

from floe_lineage_openlineage import __version__
from floe_lineage_openlineage.config import OpenLineageConfig, default_producer, resolve_transport
from floe_orchestration_core import FLOE_API_VERSION
from floe_orchestration_core import __version__ as core_version
from floe_orchestration_core.errors import LineageError
from floe_orchestration_core.lineage import (
    BacklogReport,
    LineageBackendPlugin,
    LineageEvent,
    LineageStats,
)
from floe_orchestration_core.plugin import PluginMetadata

if TYPE_CHECKING:
    from opentelemetry.trace import TracerProvider

    from floe_lineage_openlineage.delivery import SpoolDelivery
    from floe_lineage_openlineage.mapping import EventMapper
    from floe_orchestration_core.lineage.design import StaticJob

__all__ = ["OpenLineageBackend"]

#: How long close waits for the delivery thread once the flush is over.
_THREAD_GRACE_SECONDS = 0.2

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
        queue_size: int | None = None,
        spool_dir: str | None = None,
        spool_max_bytes: int = 256 << 20,
        flush_timeout: float = 1.0,
        max_attempts: int | None = None,
        retry_backoff: float = 0.25,
        retry_backoff_max: float = 5.0,
        base_dir: str | None = None,
        state_dir: str | None = None,
        tracer_provider: TracerProvider | None = None,
    ) -> None:
        given: dict[str, Any] = {
            "namespace": namespace,
            "producer": producer,
            "queue_size": queue_size,
            "spool_dir": spool_dir,
            "spool_max_bytes": spool_max_bytes,
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
        self._spool_folder, self._ephemeral = self._spool_location(base_dir, state_dir)
        self._delivery = self._build_delivery()
        self._finished = False  # closed: what waits is spooled (or, without a product, lost)
        self._at_exit = functools.partial(_close_at_exit, weakref.ref(self))
        atexit.register(self._at_exit)
        if not self._ephemeral:
            self._delivery.start_backlog()  # what earlier processes left, in the background

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

    def _spool_location(self, base_dir: str | None, state_dir: str | None) -> tuple[Path, bool]:
        """(the spool folder, whether it is a private one removed at close)."""
        if self._config.spool_dir is not None:
            folder = Path(self._config.spool_dir).expanduser()
            if not folder.is_absolute():
                folder = Path(base_dir or Path.cwd()) / folder
            return folder, False
        if state_dir is not None:
            return Path(state_dir) / "lineage" / "spool", False
        return Path(tempfile.mkdtemp(prefix="floe-lineage-spool-")), True

    def _build_delivery(self) -> SpoolDelivery:
        from floe_lineage_openlineage.delivery import SpoolDelivery
        from floe_lineage_openlineage.spool import EventSpool

        spool = EventSpool(self._spool_folder, max_bytes=self._config.spool_max_bytes)
        return SpoolDelivery(
            spool,
            self._transport.emit,
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

    @property
    def spool_folder(self) -> Path:
        """Where undelivered events wait (a private temporary folder without a product)."""
        return self._spool_folder

    @property
    def spool_is_durable(self) -> bool:
        """False when the spool is a private folder removed at close (no product known)."""
        return not self._ephemeral

    def redact(self, text: str) -> str:
        """``text`` with every configured secret value replaced by ``***``."""
        for secret in self._secrets:
            text = text.replace(secret, "***")
        return text

    # -- the port -------------------------------------------------------------------------------
    def _emit(self, event: LineageEvent) -> None:
        from openlineage.client.serde import Serde

        line = Serde.to_json(self._mapper.run_event(event)) + "\n"
        self._delivery.put(line.encode("utf-8"))

    def flush(self, timeout: float = 5.0) -> bool:
        """Wait up to ``min(timeout, flush_timeout)`` s for this process's events to be
        delivered; True when none is waiting. Each flush waits its own time (a backend down
        now may be up a second later)."""
        super().flush(timeout)
        try:
            self._delivery.spool.sync()
        except (OSError, LineageError):
            logger.debug("lineage spool: fdatasync failed", exc_info=True)
        return self._delivery.wait_delivered(min(float(timeout), self._config.flush_timeout))

    def deliver_backlog(self, timeout: float = 5.0) -> BacklogReport:
        """Deliver the spool (every process's undelivered events) within ``timeout`` s."""
        super().flush(timeout)
        delivered, rejected, busy = self._delivery.drain(float(timeout))
        return BacklogReport(
            delivered=delivered,
            dropped=rejected,
            remaining=self._delivery.remaining(),
            location=str(self._spool_folder),
            busy=busy,
        )

    def _close(self, timeout: float) -> None:
        atexit.unregister(self._at_exit)
        # The flush before this already waited (up to flush_timeout): give a request in
        # flight a moment to finish, no more. One still unanswered is sent again later.
        self._delivery.close(min(timeout, _THREAD_GRACE_SECONDS))
        with self._counter_lock:
            self._finished = True
        if self._ephemeral:
            shutil.rmtree(self._spool_folder, ignore_errors=True)
        if self._delivery.thread_alive:
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
        """This process's events: delivered, dropped (refused or given up), spooled (left in
        the spool at close), pending (waiting while open)."""
        counts = self._delivery.counts()
        with self._counter_lock:
            emitted, refused, closed = self._emitted, self._dropped, self._finished
        waiting = emitted - refused - counts.delivered - counts.rejected
        kept = waiting if closed and not self._ephemeral else 0
        lost = waiting if closed and self._ephemeral else 0
        return LineageStats(
            emitted=emitted,
            delivered=counts.delivered,
            dropped=refused + counts.rejected + lost,
            spooled=kept,
            pending=waiting - kept - lost,
        )

    def _undelivered_message(self, undelivered: int, emitted: int, waited: float) -> str:
        head = (
            f"lineage backend {self.name!r}: {undelivered} of {emitted} event(s) not delivered "
            f"after waiting {waited:.1f} s (lineage.config.flush_timeout is "
            f"{self._config.flush_timeout:g} s)"
        )
        if self._ephemeral:
            return (
                f"{head}; they are dropped: without a product folder there is no spool to keep "
                "them (run through 'floe run'/'floe up', or set lineage.config.spool_dir)"
            )
        return (
            f"{head}; they wait in {self._spool_folder} and are delivered by 'floe lineage "
            "flush', the next 'floe run' of the product, or 'floe up'"
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
