"""The plugin port: the :class:`OrchestratorPlugin` ABC (with :class:`PluginMetadata` and
:class:`Capability`, re-exported from :mod:`~floe_orchestration_core.plugin_metadata`).

Implementer's checklist (for an orchestrator adapter):

1. Subclass :class:`OrchestratorPlugin` and set the class attribute ``metadata`` to a
   :class:`PluginMetadata` (``name`` is the entry-point name in ``floe.orchestrators``;
   ``floe_api_version`` is the core API you were written against, e.g. ``"1.0"``).
   A concrete subclass without it fails at class creation with :class:`PluginError`.
2. If the plugin takes configuration, set ``config_model`` to a pydantic model — or, to keep
   pydantic off the plugin-discovery path, to its import path as ``"package.module:Model"``
   (imported on first use by :meth:`OrchestratorPlugin.resolve_config_model`). The
   constructor validates the given mapping with it and :attr:`OrchestratorPlugin.config`
   returns the model instance. Without a ``config_model`` any non-empty config is refused.
3. Declare optional capability ports in ``capabilities`` (:class:`Capability`); the CLI uses
   one only when it is declared. ``LOCAL_RUNTIME`` and ``RUN_LAUNCHER`` come with the hooks
   ``_local_runtime()`` and ``_run_launcher()`` (ports in :mod:`~floe_orchestration_core.runtime`).
4. Implement the protected hooks, never the public methods. The public methods are template
   methods: they validate arguments, trace (an OpenTelemetry span per call), and wrap
   unexpected exceptions from a hook in :class:`PluginError` (floe errors pass through);
   then they call the hook with arguments that are already valid. No hook returns ``None``:

   - ``_create_definitions(artifacts, graph)`` → the native definitions object;
   - ``_create_assets_from_transforms(transforms, graph)`` → an iterable of native assets
     (``graph.external_dependencies`` names upstreams outside ``transforms``);
   - ``_get_helm_values(size=, resources=, artifacts=)`` → a JSON-serialisable ``dict``;
     a plugin whose chart deploys the product's code from an image also declares an
     optional ``image: str | None = None`` keyword: the user-code image a caller gives
     (``floe helm values --image``); without it, an image given is refused;
   - ``_schedule_job(job_name, cron, timezone)`` → the native schedule;
   - ``_validate_connection(url, deadline)`` → ``ValidationResult`` (``url`` None: the
     plugin's default; pass ``deadline.step_timeout(cap)`` to every blocking call; report
     a down server as a failed result, never by raising);
   - optional ``_adjust_resources(size, spec)`` → ``ResourceSpec`` (default: the preset);
   - optional ``_check_names(artifacts)`` → a ``NameProblem`` per name the orchestrator
     refuses, ``_load_definitions(definitions)`` → them resolved (:mod:`.plugin_checks`).

5. Lineage: do not override :meth:`OrchestratorPlugin.emit_lineage_event`; it builds the
   event (validating it even when no backend is set), then delegates to the configured
   :class:`~floe_orchestration_core.lineage.LineageBackendPlugin`. No backend: a silent no-op.
   Ingestion: build each ``artifacts.ingestion`` entry's assets around
   ``self.ingestion_plugin(entry.connector)`` (the port: :mod:`floe_orchestration_core.ingestion`).
6. Run the contract suite: subclass
   :class:`floe_orchestration_core.testing.OrchestratorPluginContract` in your tests.

Validation is idempotent: every public method called twice with the same arguments gives an
equal result or the same error message.

The port is split by responsibility: :mod:`~floe_orchestration_core.plugin_metadata`
(what a plugin declares), :mod:`~floe_orchestration_core.plugin_config` (its ``config_model``),
:mod:`~floe_orchestration_core.plugin_checks` (names and loading of the definitions),
:mod:`~floe_orchestration_core.plugin_capabilities` (the optional capability ports) and
:mod:`~floe_orchestration_core.plugin_ingestion` (the ingestion plugins it is given); this
module holds the template methods and re-exports :class:`PluginMetadata` and :class:`Capability`.

Import cost: every adapter's plugin module imports this one, and the registry imports it to
load a plugin, so at module level it imports only the standard library, ``errors``,
``FLOE_API_VERSION`` and the ``plugin_*`` modules (themselves standard library only). Pydantic,
OpenTelemetry, attrs, networkx and the other core modules are imported inside the methods that
use them (``tests/test_plugin_imports.py`` guards this).
"""

from __future__ import annotations

import inspect
import math
import re
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterable, Mapping, Sequence
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, ClassVar, TypeVar

from floe_orchestration_core import FLOE_API_VERSION, plugin_config
from floe_orchestration_core.errors import (
    ConnectivityError,
    FloeError,
    LineageError,
    PluginError,
    SchedulingError,
)
from floe_orchestration_core.plugin_capabilities import CapabilityPorts, check_capabilities
from floe_orchestration_core.plugin_checks import DefinitionChecks, NameProblem, as_artifacts
from floe_orchestration_core.plugin_ingestion import IngestionPorts
from floe_orchestration_core.plugin_metadata import Capability, PluginMetadata, abstract_members

if TYPE_CHECKING:
    # Imported where first needed (see "Import cost" in the module docstring).
    from contextlib import AbstractContextManager
    from uuid import UUID

    from opentelemetry.trace import Span
    from opentelemetry.util.types import AttributeValue
    from pydantic import BaseModel

    from floe_orchestration_core.artifacts import CompiledArtifacts, TransformConfig
    from floe_orchestration_core.connectivity import Deadline, ValidationResult
    from floe_orchestration_core.graph import TransformGraph
    from floe_orchestration_core.lineage import Dataset, ErrorInfo, LineageBackendPlugin, RunState
    from floe_orchestration_core.resources import ResourceSpec

__all__ = [
    "DEFAULT_LINEAGE_NAMESPACE",
    "Capability",
    "NameProblem",
    "OrchestratorPlugin",
    "PluginMetadata",
]

_T = TypeVar("_T")
_TRACER = "floe_orchestration_core.plugin"
_JOB_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,127}$")

#: The lineage namespace used when no lineage backend is configured.
DEFAULT_LINEAGE_NAMESPACE = "floe"


def _error_info(error: BaseException | ErrorInfo | str | None) -> ErrorInfo | None:
    from floe_orchestration_core.lineage import ErrorInfo

    if error is None or isinstance(error, ErrorInfo):
        return error
    if isinstance(error, BaseException):
        return ErrorInfo.from_exception(error)
    if isinstance(error, str):
        return ErrorInfo(message=error)
    raise LineageError(
        "error must be an exception, an ErrorInfo, a message string or None; "
        f"got {type(error).__name__}"
    )


class OrchestratorPlugin(CapabilityPorts, IngestionPorts, DefinitionChecks, ABC):
    """The port every orchestrator adapter implements (see the module checklist).

    The optional capability ports (``supports``, ``local_runtime``, ``run_launcher``) come from
    :class:`~floe_orchestration_core.plugin_capabilities.CapabilityPorts`; the ingestion
    plugins it is given (``set_ingestion``, ``ingestion_plugin``) from
    :class:`~floe_orchestration_core.plugin_ingestion.IngestionPorts`; ``check_names`` and
    ``load_definitions`` from :class:`~floe_orchestration_core.plugin_checks.DefinitionChecks`.
    """

    metadata: ClassVar[PluginMetadata]
    config_model: ClassVar[type[BaseModel] | str | None] = None

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        if abstract_members(cls):
            return
        metadata = getattr(cls, "metadata", None)
        if not isinstance(metadata, PluginMetadata):
            raise PluginError(
                f"orchestrator plugin {cls.__qualname__} must set the class attribute "
                "'metadata' to a PluginMetadata, e.g. metadata = PluginMetadata("
                f"name='my_orchestrator', version='0.1.0', floe_api_version='{FLOE_API_VERSION}')"
                f"; got {type(metadata).__name__}"
            )
        check_capabilities(metadata.name, cls.capabilities)
        plugin_config.check_declared(metadata.name, cls.config_model)

    @classmethod
    def resolve_config_model(cls) -> type[BaseModel] | None:
        """The plugin's config model class, importing it when declared by import path.

        Raises :class:`PluginError` (cause chained) when the path cannot be imported or does
        not name a pydantic model.
        """
        return plugin_config.resolve(cls.metadata.name, cls.config_model)

    def __init__(
        self,
        config: Mapping[str, Any] | BaseModel | None = None,
        *,
        lineage_backend: LineageBackendPlugin | None = None,
    ) -> None:
        self._config: BaseModel | None = self._validate_config(config)
        self._lineage_backend: LineageBackendPlugin | None = None
        self.set_lineage_backend(lineage_backend)

    def _validate_config(self, config: Mapping[str, Any] | BaseModel | None) -> BaseModel | None:
        return plugin_config.validate(self.metadata.name, self.resolve_config_model(), config)

    def __repr__(self) -> str:
        return f"{type(self).__name__}(name={self.name!r}, version={self.version!r})"

    # Metadata --------------------------------------------------------------------------
    @property
    def name(self) -> str:
        """The plugin's registered name (``metadata.name``)."""
        return self.metadata.name

    @property
    def version(self) -> str:
        """The plugin's own version (``metadata.version``)."""
        return self.metadata.version

    @property
    def floe_api_version(self) -> str:
        """The core API version the plugin was written against (``metadata.floe_api_version``)."""
        return self.metadata.floe_api_version

    @property
    def config(self) -> BaseModel | None:
        """The validated configuration (an instance of ``config_model``), or None."""
        return self._config

    # Lineage wiring --------------------------------------------------------------------
    @property
    def lineage_backend(self) -> LineageBackendPlugin | None:
        """The backend lineage events go to; None makes emission a silent no-op."""
        return self._lineage_backend

    def set_lineage_backend(self, backend: LineageBackendPlugin | None) -> None:
        """Send lineage events to ``backend`` from now on (None: stop emitting)."""
        if backend is not None:
            from floe_orchestration_core.lineage import LineageBackendPlugin

            if not isinstance(backend, LineageBackendPlugin):
                raise PluginError(
                    f"orchestrator plugin '{self.name}': lineage backend must be a "
                    f"LineageBackendPlugin or None; got {type(backend).__name__}"
                )
        self._lineage_backend = backend

    @property
    def lineage_namespace(self) -> str:
        """The configured backend's namespace, else ``"floe"``."""
        if self._lineage_backend is None:
            return DEFAULT_LINEAGE_NAMESPACE
        return self._lineage_backend.namespace

    # Template methods ------------------------------------------------------------------
    def create_definitions(self, artifacts: CompiledArtifacts | Mapping[str, Any]) -> Any:
        """The orchestrator's native definitions for ``artifacts``.

        A mapping is loaded with :func:`~floe_orchestration_core.artifacts.load_artifacts`
        (ArtifactsError on invalid fields). The transform graph is validated first:
        :class:`~floe_orchestration_core.errors.ValidationError` (cycles, duplicates, unknown
        dependencies) propagates unchanged; then the names (:meth:`check_names`:
        :class:`~floe_orchestration_core.errors.InvalidNameError`).
        """
        from floe_orchestration_core.graph import TransformGraph

        valid = as_artifacts(artifacts, "create_definitions")
        with self._span(
            "floe.create_definitions",
            {
                "floe.product": valid.metadata.product_name,
                "floe.transform_count": len(valid.transforms),
            },
        ):
            graph = TransformGraph.from_artifacts(valid)
            self.check_names(valid)
            return self._call_hook(
                "_create_definitions", lambda: self._create_definitions(valid, graph)
            )

    def create_assets_from_transforms(self, transforms: Sequence[TransformConfig]) -> list[Any]:
        """Native assets for ``transforms``, with their deps, tags and metadata.

        Dependencies on transforms outside ``transforms`` are allowed (they become external
        upstreams); cycles and duplicates raise ValidationError.
        """
        from floe_orchestration_core.artifacts import TransformConfig
        from floe_orchestration_core.graph import TransformGraph

        items = tuple(transforms)
        for index, item in enumerate(items):
            if not isinstance(item, TransformConfig):
                raise PluginError(
                    "create_assets_from_transforms expects TransformConfig items; item "
                    f"[{index}] is {type(item).__name__}"
                )
        with self._span("floe.create_assets_from_transforms", {"floe.transform_count": len(items)}):
            graph = TransformGraph.from_transforms(items, allow_external=True)
            assets = self._call_hook(
                "_create_assets_from_transforms",
                lambda: list(self._create_assets_from_transforms(items, graph)),
            )
        return assets

    def get_helm_values(
        self,
        *,
        size: str = "medium",
        artifacts: CompiledArtifacts | None = None,
        image: str | None = None,
    ) -> dict[str, Any]:
        """Values for the orchestrator's Helm chart at ``size`` (ResourceError if unknown).

        ``image`` (``repository[:tag]``) is the product's user-code image; it takes precedence
        over one the plugin's configuration names. A plugin whose ``_get_helm_values`` has no
        ``image`` keyword deploys no user-code image, and refuses one (PluginError).
        """
        resources = self.get_resource_requirements(size)
        if artifacts is not None:
            from floe_orchestration_core.artifacts import CompiledArtifacts

            if not isinstance(artifacts, CompiledArtifacts):
                raise PluginError(
                    "get_helm_values expects CompiledArtifacts or None; got "
                    f"{type(artifacts).__name__}"
                )
        extra: dict[str, str] = {}
        if image is not None:
            if not isinstance(image, str):
                raise PluginError(
                    f"get_helm_values expects image as a str or None; got {type(image).__name__}"
                )
            if "image" not in inspect.signature(self._get_helm_values).parameters:
                raise PluginError(
                    f"orchestrator plugin '{self.name}' takes no user-code image: its Helm "
                    "values deploy no code from an image; leave the image out"
                )
            extra["image"] = image
        with self._span("floe.get_helm_values", {"floe.size": size}):
            values = self._call_hook(
                "_get_helm_values",
                lambda: self._get_helm_values(
                    size=size, resources=resources, artifacts=artifacts, **extra
                ),
            )
        if not isinstance(values, dict):
            raise PluginError(
                f"orchestrator plugin '{self.name}': _get_helm_values must return a dict; "
                f"got {type(values).__name__}"
            )
        return values

    def get_resource_requirements(self, size: str) -> ResourceSpec:
        """The :class:`ResourceSpec` for ``size`` (``small``/``medium``/``large``).

        Raises :class:`~floe_orchestration_core.errors.ResourceError` (a ValueError) listing
        the valid sizes otherwise.
        """
        from floe_orchestration_core.resources import ResourceSpec, get_preset

        preset = get_preset(size)
        spec = self._call_hook("_adjust_resources", lambda: self._adjust_resources(size, preset))
        if not isinstance(spec, ResourceSpec):
            raise PluginError(
                f"orchestrator plugin '{self.name}': _adjust_resources must return a "
                f"ResourceSpec; got {type(spec).__name__}"
            )
        return spec

    def schedule_job(self, job_name: str, cron: str, timezone: str = "UTC") -> Any:
        """A native schedule running ``job_name`` on ``cron`` in the IANA ``timezone``.

        Raises :class:`~floe_orchestration_core.errors.SchedulingError` (a ValueError) for a
        bad job name, :class:`InvalidCronError` explaining the cron format, or
        :class:`InvalidTimezoneError` naming close matches.
        """
        from floe_orchestration_core.scheduling import validate_cron, validate_timezone

        if not isinstance(job_name, str) or not _JOB_NAME.match(job_name):
            raise SchedulingError(
                f"job name {job_name!r} is invalid: it must start with a letter or underscore and "
                "hold only letters, digits and underscores (at most 128), e.g. 'daily_refresh'"
            )
        validate_cron(cron)
        validate_timezone(timezone)
        with self._span("floe.schedule_job", {"floe.job": job_name, "floe.cron": cron}):
            schedule = self._call_hook(
                "_schedule_job", lambda: self._schedule_job(job_name, cron, timezone)
            )
        return schedule

    def emit_lineage_event(
        self,
        event_type: RunState | str,
        job_name: str,
        *,
        job_namespace: str | None = None,
        run_id: UUID | None = None,
        inputs: Iterable[Dataset] = (),
        outputs: Iterable[Dataset] = (),
        error: BaseException | ErrorInfo | str | None = None,
        run_facets: Mapping[str, Any] | None = None,
        job_facets: Mapping[str, Any] | None = None,
    ) -> UUID:
        """Send one lineage event to the configured backend; return its run id.

        The event is built (and so validated: LineageError on bad arguments) whether or not
        a backend is set; with no backend nothing else happens. Delivery problems never
        raise: the backend counts them in its stats.
        """
        from floe_orchestration_core.lineage import LineageEvent, new_run_id

        event = LineageEvent(
            event_type=event_type,
            job_name=job_name,
            job_namespace=self.lineage_namespace if job_namespace is None else job_namespace,
            run_id=new_run_id() if run_id is None else run_id,
            event_time=datetime.now(UTC),
            inputs=inputs,
            outputs=outputs,
            run_facets=run_facets,
            job_facets=job_facets,
            error=_error_info(error),
        )
        if self._lineage_backend is not None:
            self._lineage_backend.emit(event)
        return event.run_id

    def validate_connection(
        self, url: str | None = None, timeout: float = 10.0
    ) -> ValidationResult:
        """Check that the orchestrator at ``url`` (None: the plugin's default) answers.

        Returns a failed :class:`ValidationResult` with an actionable message for a down or
        wrong server, never raises for it; finishes within about ``timeout`` seconds.
        Raises :class:`ConnectivityError` only for misuse (a non-positive timeout, a
        non-string url).
        """
        from floe_orchestration_core.connectivity import redact_url, run_check

        if isinstance(timeout, bool) or not isinstance(timeout, int | float):
            raise ConnectivityError(f"timeout must be a number of seconds; got {timeout!r}")
        if not math.isfinite(timeout) or timeout <= 0:
            raise ConnectivityError(
                f"timeout must be a finite number of seconds greater than 0; got {timeout!r}"
            )
        if url is not None and (not isinstance(url, str) or not url.strip()):
            raise ConnectivityError(
                f"url must be a non-empty string such as 'http://localhost:3000', or None for "
                f"the plugin's default; got {url!r}"
            )

        def check_connection(deadline: Deadline) -> ValidationResult:
            return self._validate_connection(url, deadline)

        check_connection.__qualname__ = f"{type(self).__qualname__}._validate_connection"
        with self._span("floe.validate_connection", {"floe.url": redact_url(url)}) as current:
            result = run_check(check_connection, timeout)
            current.set_attribute("floe.success", result.success)
        return result

    def _span(
        self, span_name: str, attributes: Mapping[str, AttributeValue | None]
    ) -> AbstractContextManager[Span]:
        """A span named ``span_name`` carrying the plugin name and ``attributes``."""
        from floe_orchestration_core.telemetry import span

        return span(
            _TRACER, span_name, tracer_provider=None, **{"floe.plugin": self.name, **attributes}
        )

    def _call_hook(self, hook: str, call: Callable[[], _T]) -> _T:
        """Run ``call``; floe errors pass through, anything else (or None) is a PluginError."""
        try:
            result = call()
        except FloeError:
            raise
        except Exception as exc:
            raise PluginError(
                f"orchestrator plugin '{self.name}' failed in {hook}: "
                f"{type(exc).__name__}: {exc} (a plugin hook must raise a floe error for "
                "invalid input; anything else is a bug in the plugin)"
            ) from exc
        if result is None:
            raise PluginError(
                f"orchestrator plugin '{self.name}': {hook} returned None; it must return the "
                "orchestrator's native object (see the OrchestratorPlugin checklist)"
            )
        return result

    # Hooks -----------------------------------------------------------------------------
    @abstractmethod
    def _create_definitions(self, artifacts: CompiledArtifacts, graph: TransformGraph) -> Any:
        """Native definitions for valid ``artifacts`` whose graph is ``graph``."""

    @abstractmethod
    def _create_assets_from_transforms(
        self, transforms: tuple[TransformConfig, ...], graph: TransformGraph
    ) -> Iterable[Any]:
        """Native assets for ``transforms``; ``graph.external_dependencies`` names upstreams
        outside the set."""

    @abstractmethod
    def _get_helm_values(
        self, *, size: str, resources: ResourceSpec, artifacts: CompiledArtifacts | None
    ) -> dict[str, Any]:
        """Chart values for ``size`` whose resources are ``resources``."""

    @abstractmethod
    def _schedule_job(self, job_name: str, cron: str, timezone: str) -> Any:
        """A native schedule; the arguments are already validated."""

    @abstractmethod
    def _validate_connection(self, url: str | None, deadline: Deadline) -> ValidationResult:
        """Check the orchestrator at ``url`` (None: the default) within ``deadline``."""

    def _adjust_resources(self, size: str, spec: ResourceSpec) -> ResourceSpec:
        """Adjust the preset ``spec`` for ``size``; the default returns it unchanged."""
        return spec
