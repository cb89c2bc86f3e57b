"""``DagsterOrchestratorPlugin``: the Dagster adapter's facade over the core's plugin port.

The registry loads this class through the entry point ``floe.orchestrators: dagster``.
Importing it is cheap: this module imports only the standard library, the core's plugin
port, the package version and :mod:`floe_orchestrator_dagster.metadata` (standard library
only; its Definitions keys are re-exported here) at the top. ``dagster``, ``dagster_dbt``,
``pydantic`` and OpenTelemetry are imported inside the hooks, the first time definitions (or
anything else) are requested (``tests/test_plugin.py`` checks it in a fresh interpreter).

Each hook does one thing by delegating to the module that owns it:

=================================  ======================================================
hook                               module
=================================  ======================================================
``_create_definitions``            :mod:`floe_orchestrator_dagster.definitions.build`
``_check_names``                   :mod:`floe_orchestrator_dagster.definitions.names`
``_load_definitions``              ``Definitions.validate_loadable`` (the repository resolved)
``_create_assets_from_transforms`` :mod:`floe_orchestrator_dagster.definitions.asset_specs`
``_schedule_job``                  :mod:`floe_orchestrator_dagster.definitions.jobs`
``_get_helm_values``               :mod:`floe_orchestrator_dagster.deploy.helm`
``_validate_connection``           :mod:`floe_orchestrator_dagster.deploy.connection`
``_adjust_resources``              the core's presets, unchanged
``_local_runtime``                 :mod:`floe_orchestrator_dagster.runtime.supervisor`
``_run_launcher``                  :mod:`floe_orchestrator_dagster.runtime.launcher`
=================================  ======================================================

Tracing: the core's template methods already open a ``floe.<method>`` span (tracer
``floe_orchestration_core.plugin``); each hook here opens a child span ``dagster.<method>``
with the tracer ``floe_orchestrator_dagster`` carrying what only the adapter knows (asset and
check counts, compute targets, cron, timezone, URL). Spans go to the ``tracer_provider``
given to the constructor, else to whatever global provider the application installs; the
plugin never installs one or reads the environment.

>>> plugin = DagsterOrchestratorPlugin({"webserver_url": "http://dagster:3000"})
>>> plugin.settings.webserver_url
'http://dagster:3000'
"""

from __future__ import annotations

import gc
from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any, ClassVar, cast

from floe_orchestration_core.plugin import (
    Capability,
    NameProblem,
    OrchestratorPlugin,
    PluginMetadata,
)
from floe_orchestrator_dagster import __version__
from floe_orchestrator_dagster.metadata import EPHEMERAL_TRANSFORMS_KEY, PRODUCT_KEY

if TYPE_CHECKING:
    from contextlib import AbstractContextManager

    import dagster
    from opentelemetry.trace import Span, TracerProvider
    from opentelemetry.util.types import AttributeValue
    from pydantic import BaseModel

    from floe_orchestration_core.artifacts import CompiledArtifacts, TransformConfig
    from floe_orchestration_core.connectivity import Deadline, ValidationResult
    from floe_orchestration_core.graph import TransformGraph
    from floe_orchestration_core.lineage import LineageBackendPlugin
    from floe_orchestration_core.resources import ResourceSpec
    from floe_orchestration_core.runtime import LocalRuntime, RunLauncher
    from floe_orchestrator_dagster.config import DagsterAdapterConfig
    from floe_orchestrator_dagster.dbt.manifest import ProjectManifest

__all__ = ["EPHEMERAL_TRANSFORMS_KEY", "PRODUCT_KEY", "TRACER_NAME", "DagsterOrchestratorPlugin"]

#: The tracer every span of this package is opened with.
TRACER_NAME = "floe_orchestrator_dagster"


class DagsterOrchestratorPlugin(OrchestratorPlugin):
    """Dagster as floe's orchestrator: ``Definitions`` from CompiledArtifacts via dagster-dbt.

    Configuration is a :class:`~floe_orchestrator_dagster.config.DagsterAdapterConfig` (or
    the mapping of one). ``tracer_provider`` receives this plugin's spans; None means the
    global provider the application installs, if any.
    """

    metadata: ClassVar[PluginMetadata] = PluginMetadata(
        name="dagster",
        version=__version__,
        floe_api_version="1.0",
        description="Dagster Definitions from CompiledArtifacts via dagster-dbt's @dbt_assets",
    )
    capabilities: ClassVar[frozenset[Capability]] = frozenset(
        {Capability.LOCAL_RUNTIME, Capability.RUN_LAUNCHER}
    )
    config_model: ClassVar[type[BaseModel] | str | None] = (
        "floe_orchestrator_dagster.config:DagsterAdapterConfig"
    )

    def __init__(
        self,
        config: Mapping[str, Any] | BaseModel | None = None,
        *,
        lineage_backend: LineageBackendPlugin | None = None,
        tracer_provider: TracerProvider | None = None,
    ) -> None:
        super().__init__(config, lineage_backend=lineage_backend)
        self._tracer_provider = tracer_provider
        # The manifest _check_names read, for the _create_definitions that follows it (the
        # core calls them in that order): read once, not twice.
        self._checked: tuple[CompiledArtifacts, ProjectManifest] | None = None

    @property
    def settings(self) -> DagsterAdapterConfig:
        """The validated configuration (defaults when none was given)."""
        return cast("DagsterAdapterConfig", self.config)

    def _adapter_span(
        self, name: str, attributes: Mapping[str, AttributeValue | None]
    ) -> AbstractContextManager[Span]:
        """A span ``name`` from this package's tracer, carrying ``attributes``."""
        from floe_orchestration_core.telemetry import span

        return span(TRACER_NAME, name, tracer_provider=self._tracer_provider, **attributes)

    # Hooks -------------------------------------------------------------------------------
    def _create_definitions(
        self, artifacts: CompiledArtifacts, graph: TransformGraph
    ) -> dagster.Definitions:
        # The targets that get a @dbt_assets: ephemeral models build nothing anywhere.
        compute_targets = tuple(
            sorted({t.compute for t in artifacts.transforms if not t.is_ephemeral})
        )
        with self._adapter_span(
            "dagster.create_definitions",
            {
                "floe.product": artifacts.metadata.product_name,
                "floe.transform_count": len(artifacts.transforms),
                "floe.compute_targets": compute_targets,
                "floe.schedule_count": len(artifacts.schedules),
            },
        ) as current:
            checked, self._checked = self._checked, None
            project = checked[1] if checked is not None and checked[0] is artifacts else None
            with _gc_tuned(self.settings.freeze_gc):
                from floe_orchestrator_dagster.definitions.build import build_product_definitions

                built = build_product_definitions(
                    artifacts,
                    graph,
                    self.settings,
                    lineage_backend=self.lineage_backend,
                    project=project,
                    ingestion=self.ingestion_plugin,
                )
            asset_count, check_count = _count_assets_and_checks(
                built.assets or (), built.asset_checks or ()
            )
            current.set_attribute("floe.asset_count", asset_count)
            current.set_attribute("floe.asset_check_count", check_count)
            return built

    def _check_names(self, artifacts: CompiledArtifacts) -> Iterable[NameProblem]:
        with self._adapter_span(
            "dagster.check_names", {"floe.transform_count": len(artifacts.transforms)}
        ) as current:
            from floe_orchestrator_dagster.dbt.translator import FloeDagsterDbtTranslator
            from floe_orchestrator_dagster.definitions.build import project_manifest
            from floe_orchestrator_dagster.definitions.names import name_problems

            project = project_manifest(artifacts)
            self._checked = (artifacts, project)
            translator = FloeDagsterDbtTranslator(artifacts, self.settings.translator)
            problems = name_problems(artifacts, project, translator)
            current.set_attribute("floe.name_problem_count", len(problems))
            return problems

    def _load_definitions(self, definitions: dagster.Definitions) -> dagster.Definitions:
        with self._adapter_span("dagster.load_definitions", {}):
            import dagster

            # What the webserver's code server does with them: the repository resolved (asset
            # graph, jobs, schedules, sensors), resource requirements checked.
            dagster.Definitions.validate_loadable(definitions)
            return definitions

    def _create_assets_from_transforms(
        self, transforms: tuple[TransformConfig, ...], graph: TransformGraph
    ) -> Iterable[Any]:
        with self._adapter_span(
            "dagster.create_assets_from_transforms",
            {
                "floe.transform_count": len(transforms),
                "floe.compute_targets": tuple(sorted({t.compute for t in transforms})),
                "floe.external_dependency_count": len(graph.external_dependencies),
            },
        ) as current:
            from floe_orchestrator_dagster.definitions.asset_specs import build_assets

            built = list(build_assets(transforms, graph, self.settings))
            asset_count, check_count = _count_assets_and_checks(built, ())
            current.set_attribute("floe.asset_count", asset_count)
            current.set_attribute("floe.asset_check_count", check_count)
            return built

    def _get_helm_values(
        self,
        *,
        size: str,
        resources: ResourceSpec,
        artifacts: CompiledArtifacts | None,
        image: str | None = None,
    ) -> dict[str, Any]:
        product = None if artifacts is None else artifacts.metadata.product_name
        with self._adapter_span(
            "dagster.get_helm_values", {"floe.size": size, "floe.product": product}
        ):
            from floe_orchestrator_dagster.deploy.helm import build_helm_values

            # An image given (`floe helm values --image`) beats the configured one.
            if image is None and artifacts is not None:
                image = self.settings.user_code_image
            return build_helm_values(
                size=size, resources=resources, artifacts=artifacts, image=image
            )

    def _schedule_job(self, job_name: str, cron: str, timezone: str) -> dagster.ScheduleDefinition:
        with self._adapter_span(
            "dagster.schedule_job",
            {"floe.job": job_name, "floe.cron": cron, "floe.timezone": timezone},
        ):
            from floe_orchestrator_dagster.definitions.jobs import build_schedule

            return build_schedule(job_name, cron, timezone)

    def _validate_connection(self, url: str | None, deadline: Deadline) -> ValidationResult:
        from floe_orchestration_core.connectivity import redact_url

        target = url or self.settings.webserver_url
        with self._adapter_span(
            "dagster.validate_connection",
            {"floe.url": redact_url(target), "floe.url_is_default": url is None},
        ) as current:
            from floe_orchestrator_dagster.deploy.connection import check_webserver

            result = check_webserver(target, deadline)
            current.set_attribute("floe.success", result.success)
            return result

    def _local_runtime(self) -> LocalRuntime:
        from floe_orchestrator_dagster.runtime.supervisor import DagsterLocalRuntime

        return DagsterLocalRuntime()

    def _run_launcher(self) -> RunLauncher:
        from floe_orchestrator_dagster.runtime.launcher import DagsterRunLauncher

        return DagsterRunLauncher(self)

    def _adjust_resources(self, size: str, spec: ResourceSpec) -> ResourceSpec:
        with self._adapter_span(
            "dagster.get_resource_requirements",
            {
                "floe.size": size,
                "floe.cpu_limit": spec.cpu_limit,
                "floe.memory_limit": spec.memory_limit,
            },
        ):
            return spec


@contextmanager
def _gc_tuned(enabled: bool) -> Iterator[None]:
    """With ``enabled`` (``DagsterAdapterConfig.freeze_gc``): no cyclic garbage collection
    inside, then ``gc.freeze()`` — what is alive now (the definitions a code server keeps) is
    never scanned again by later collections. The collector's prior state is restored."""
    if not enabled:
        yield
        return
    from floe_orchestration_core.gc_pause import paused_gc

    with paused_gc():
        yield
    gc.freeze()


def _count_assets_and_checks(assets: Iterable[Any], checks: Iterable[Any]) -> tuple[int, int]:
    """How many materializable asset keys and asset-check keys ``assets``/``checks`` define.

    Asset specs (dbt sources, declared but not built by floe) are not counted as assets.
    """
    import dagster

    asset_keys: set[dagster.AssetKey] = set()
    check_keys: set[dagster.AssetCheckKey] = set()
    for item in (*assets, *checks):
        # AssetChecksDefinition subclasses AssetsDefinition (1.10 through 1.13); its keys
        # are empty and its check keys counted here.
        if isinstance(item, dagster.AssetsDefinition):
            if item.is_executable:
                asset_keys.update(item.keys)
            check_keys.update(item.check_keys)
    return len(asset_keys), len(check_keys)
