"""In-memory fakes: a lineage backend that keeps events, and a reference orchestrator.

:class:`InMemoryLineageBackend` accumulates every event in memory (thread-safe) so a test
can assert on exactly what was emitted, as the OpenLineage client's accumulating transport
does. :class:`InMemoryOrchestrator` is a complete, minimal :class:`OrchestratorPlugin` whose
"native definitions" are frozen value objects. It passes
:class:`~floe_orchestration_core.testing.OrchestratorPluginContract`: proof that the core
assumes nothing about Dagster, and a worked example for adapter authors.

Checklist the reference orchestrator follows (and a real adapter should too):

- every transform is an asset, ephemeral models included, with exactly its declared
  upstreams (``depends_on`` plus ``source_dependencies``);
- every schedule of the artifacts becomes a schedule, disabled ones too (with
  ``enabled=False``), its selection resolved with ``TransformGraph.select``;
- the connection check is real I/O: an HTTP GET of ``<url>/server_info`` bounded by the
  deadline, reporting a down server as a failed :class:`ValidationResult`.
"""

from __future__ import annotations

import http.client
import json
import threading
import urllib.error
import urllib.request
from collections.abc import Iterable, Mapping
from types import MappingProxyType
from typing import Any, ClassVar, cast

import attrs
from pydantic import BaseModel, ConfigDict, Field

from floe_orchestration_core import FLOE_API_VERSION, __version__
from floe_orchestration_core.artifacts import CompiledArtifacts, TransformConfig
from floe_orchestration_core.connectivity import Deadline, ValidationResult
from floe_orchestration_core.graph import TransformGraph
from floe_orchestration_core.lineage import LineageBackendPlugin, LineageEvent
from floe_orchestration_core.plugin import OrchestratorPlugin, PluginMetadata
from floe_orchestration_core.resources import ResourceSpec

__all__ = [
    "InMemoryAsset",
    "InMemoryDefinitions",
    "InMemoryLineageBackend",
    "InMemoryOrchestrator",
    "InMemoryOrchestratorConfig",
    "InMemorySchedule",
]

_STEP_CAP_SECONDS = 5.0


class InMemoryLineageBackend(LineageBackendPlugin):
    """A lineage backend that keeps every event it is given, in order (thread-safe).

    >>> backend = InMemoryLineageBackend()
    >>> backend.events
    ()
    """

    metadata = PluginMetadata(
        name="in_memory",
        version=__version__,
        floe_api_version=FLOE_API_VERSION,
        description="keeps lineage events in memory, for tests",
    )

    def __init__(self, *, namespace: str = "floe") -> None:
        super().__init__(namespace=namespace)
        self._lock = threading.Lock()
        self._events: list[LineageEvent] = []

    def _emit(self, event: LineageEvent) -> None:
        with self._lock:
            self._events.append(event)

    @property
    def events(self) -> tuple[LineageEvent, ...]:
        """Every event received so far, oldest first (a snapshot)."""
        with self._lock:
            return tuple(self._events)

    def clear(self) -> None:
        """Forget every event received so far."""
        with self._lock:
            self._events.clear()


def _frozen_mapping(value: Mapping[str, Any]) -> Mapping[str, Any]:
    return MappingProxyType(dict(value))


@attrs.frozen
class InMemoryAsset:
    """A transform as an asset: ``upstream`` holds transform names and source keys."""

    name: str
    upstream: frozenset[str]
    compute: str
    tags: frozenset[str] = frozenset()
    metadata: Mapping[str, Any] = attrs.field(factory=dict, converter=_frozen_mapping)


@attrs.frozen
class InMemorySchedule:
    """A schedule running ``job_name`` on ``cron`` in ``timezone``.

    ``selection`` holds the transforms the job builds (an artifacts schedule's selection,
    resolved); it is empty for a schedule made by ``schedule_job``, whose job is defined
    elsewhere.
    """

    name: str
    job_name: str
    cron: str
    timezone: str
    selection: frozenset[str] = frozenset()
    enabled: bool = True


@attrs.frozen
class InMemoryDefinitions:
    """The reference orchestrator's "native definitions": assets and schedules by name."""

    assets: Mapping[str, InMemoryAsset] = attrs.field(converter=_frozen_mapping)
    schedules: Mapping[str, InMemorySchedule] = attrs.field(converter=_frozen_mapping)


class InMemoryOrchestratorConfig(BaseModel):
    """Configuration of :class:`InMemoryOrchestrator`."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    url: str = Field(
        default="http://127.0.0.1:3000",
        pattern=r"^https?://[^\s/]+",
        description="base URL of the orchestrator's web server",
    )


class InMemoryOrchestrator(OrchestratorPlugin):
    """The reference adapter: native definitions are :class:`InMemoryDefinitions`.

    >>> from floe_orchestration_core.testing.factories import make_artifacts, make_transform
    >>> plugin = InMemoryOrchestrator()
    >>> definitions = plugin.create_definitions(make_artifacts([make_transform("orders")]))
    >>> sorted(definitions.assets)
    ['orders']
    """

    metadata = PluginMetadata(
        name="in_memory",
        version=__version__,
        floe_api_version=FLOE_API_VERSION,
        description="reference orchestrator keeping definitions in memory",
    )
    config_model: ClassVar[type[BaseModel] | str | None] = InMemoryOrchestratorConfig

    @property
    def settings(self) -> InMemoryOrchestratorConfig:
        """The validated configuration (defaults when none was given)."""
        return cast(InMemoryOrchestratorConfig, self.config)

    @staticmethod
    def _asset(transform: TransformConfig) -> InMemoryAsset:
        return InMemoryAsset(
            name=transform.name,
            upstream=frozenset(transform.depends_on) | frozenset(transform.source_dependencies),
            compute=transform.compute,
            tags=frozenset(transform.tags),
            metadata={
                "unique_id": transform.unique_id,
                "relation_name": transform.relation_name,
                "materialization": transform.materialization,
                "ephemeral": transform.is_ephemeral,
                "partition": transform.partition,
            },
        )

    def _create_definitions(
        self, artifacts: CompiledArtifacts, graph: TransformGraph
    ) -> InMemoryDefinitions:
        assets = {name: self._asset(graph.transforms[name]) for name in graph.topological_order()}
        schedules = {
            schedule.name: InMemorySchedule(
                name=schedule.name,
                job_name=schedule.name,
                cron=schedule.cron,
                timezone=schedule.timezone,
                selection=graph.select(schedule.selection),
                enabled=schedule.enabled,
            )
            for schedule in artifacts.schedules
        }
        return InMemoryDefinitions(assets=assets, schedules=schedules)

    def _create_assets_from_transforms(
        self, transforms: tuple[TransformConfig, ...], graph: TransformGraph
    ) -> Iterable[InMemoryAsset]:
        return [self._asset(graph.transforms[name]) for name in graph.topological_order()]

    def _get_helm_values(
        self, *, size: str, resources: ResourceSpec, artifacts: CompiledArtifacts | None
    ) -> dict[str, Any]:
        values: dict[str, Any] = {
            "size": size,
            "server": {"url": self.settings.url, "resources": resources.to_kubernetes()},
        }
        if artifacts is not None:
            values["product"] = {
                "name": artifacts.metadata.product_name,
                "version": artifacts.metadata.product_version,
            }
        return values

    def _schedule_job(self, job_name: str, cron: str, timezone: str) -> InMemorySchedule:
        return InMemorySchedule(name=job_name, job_name=job_name, cron=cron, timezone=timezone)

    def _validate_connection(self, url: str | None, deadline: Deadline) -> ValidationResult:
        base = (url or self.settings.url).rstrip("/")
        if not base.startswith(("http://", "https://")):
            return ValidationResult.failure(
                f"cannot check {base!r}: the URL must start with http:// or https://, "
                "e.g. http://127.0.0.1:3000"
            )
        target = f"{base}/server_info"
        try:
            with urllib.request.urlopen(
                target, timeout=deadline.step_timeout(_STEP_CAP_SECONDS)
            ) as response:
                body = response.read(65_536)
        except urllib.error.HTTPError as exc:
            return ValidationResult.failure(
                f"{target} answered HTTP {exc.code}; check that the URL points at the "
                "orchestrator's web server"
            )
        except OSError as exc:  # URLError, refused connections and timeouts
            reason = getattr(exc, "reason", exc)
            return ValidationResult.failure(
                f"cannot reach {target} ({reason}); start the orchestrator or fix the URL"
            )
        except http.client.HTTPException as exc:
            return ValidationResult.failure(
                f"{target} did not answer HTTP ({type(exc).__name__}); check that the URL "
                "points at the orchestrator's web server, not another service"
            )
        try:
            info = json.loads(body)
        except ValueError:
            return ValidationResult.failure(
                f"{target} did not answer JSON; check that the URL points at the "
                "orchestrator's web server"
            )
        version = info.get("version", "unknown") if isinstance(info, dict) else "unknown"
        return ValidationResult.ok(f"connected to {base} (server version {version})")
