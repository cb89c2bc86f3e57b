"""The plugin port: PluginMetadata, class checks, config, and the template methods' guarantees."""

from __future__ import annotations

import dataclasses
import json
import re
from collections.abc import Iterable, Mapping
from typing import Any
from uuid import UUID

import pydantic
import pytest

from floe_orchestration_core import FLOE_API_VERSION
from floe_orchestration_core.artifacts import CompiledArtifacts, TransformConfig
from floe_orchestration_core.connectivity import Deadline, ValidationResult
from floe_orchestration_core.errors import (
    ArtifactsError,
    ConnectivityError,
    LineageError,
    PluginError,
    SchedulingError,
    UnknownDependencyError,
)
from floe_orchestration_core.graph import TransformGraph
from floe_orchestration_core.lineage import (
    Dataset,
    LineageBackendPlugin,
    NoOpLineageBackend,
    RunState,
)
from floe_orchestration_core.plugin import Capability, OrchestratorPlugin, PluginMetadata
from floe_orchestration_core.resources import ResourceSpec, get_preset
from floe_orchestration_core.testing import InMemoryLineageBackend, InMemoryOrchestrator
from floe_orchestration_core.testing.factories import make_artifacts, make_transform

_META = PluginMetadata(name="recording", version="1.2.3", floe_api_version=FLOE_API_VERSION)


class RecordingOrchestrator(OrchestratorPlugin):
    """Records what each hook received; ``failure`` makes every hook raise it."""

    metadata = _META
    capabilities = frozenset({Capability.RUN_LAUNCHER})

    def __init__(
        self,
        config: Mapping[str, Any] | pydantic.BaseModel | None = None,
        *,
        lineage_backend: LineageBackendPlugin | None = None,
    ) -> None:
        super().__init__(config, lineage_backend=lineage_backend)
        self.calls: list[tuple[str, tuple[Any, ...]]] = []
        self.failure: Exception | None = None
        self.definitions: object = object()

    def _record(self, hook: str, *args: Any) -> None:
        self.calls.append((hook, args))
        if self.failure is not None:
            raise self.failure

    def _create_definitions(self, artifacts: CompiledArtifacts, graph: TransformGraph) -> Any:
        self._record("_create_definitions", artifacts, graph)
        return self.definitions

    def _create_assets_from_transforms(
        self, transforms: tuple[TransformConfig, ...], graph: TransformGraph
    ) -> Iterable[Any]:
        self._record("_create_assets_from_transforms", transforms, graph)
        return (t.name for t in transforms)

    def _get_helm_values(
        self, *, size: str, resources: ResourceSpec, artifacts: CompiledArtifacts | None
    ) -> dict[str, Any]:
        self._record("_get_helm_values", size, resources, artifacts)
        return {"resources": resources.to_kubernetes()}

    def _schedule_job(self, job_name: str, cron: str, timezone: str) -> Any:
        self._record("_schedule_job", job_name, cron, timezone)
        return (job_name, cron, timezone)

    def _validate_connection(self, url: str | None, deadline: Deadline) -> ValidationResult:
        self._record("_validate_connection", url, deadline)
        return ValidationResult.ok(f"reached {url}")


class ConfiguredOrchestrator(RecordingOrchestrator):
    class Config(pydantic.BaseModel):
        model_config = pydantic.ConfigDict(extra="forbid")
        url: pydantic.AnyHttpUrl
        retries: int = 3

    metadata = PluginMetadata(name="configured", version="1", floe_api_version="1.0")
    config_model = Config


# PluginMetadata ---------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("plugin_api", "platform_api", "compatible"),
    [
        ("1.0", "1.0", True),
        ("1.0", "1.7", True),
        ("1.3", "1.2", False),
        ("1.0", "2.0", False),
        ("2.0", "1.9", False),
        ("1.10", "1.9", False),
    ],
)
def test_compatibility_needs_the_same_major_and_a_minor_not_above_the_platform(
    plugin_api: str, platform_api: str, compatible: bool
) -> None:
    metadata = PluginMetadata(name="x", version="1", floe_api_version=plugin_api)
    assert metadata.is_compatible_with(platform_api) is compatible


def test_compatibility_defaults_to_this_core_api_version() -> None:
    assert _META.is_compatible_with() is True


def test_a_malformed_platform_api_version_is_named() -> None:
    with pytest.raises(PluginError, match=r"'1' is not 'MAJOR\.MINOR'"):
        _META.is_compatible_with("1")


@pytest.mark.parametrize(
    ("fields", "named"),
    [
        ({"name": "Dagster", "version": "1", "floe_api_version": "1.0"}, "name 'Dagster'"),
        ({"name": "x" * 65, "version": "1", "floe_api_version": "1.0"}, "at most 64"),
        ({"name": "dagster\n", "version": "1", "floe_api_version": "1.0"}, "lowercase"),
        ({"name": "dagster", "version": "", "floe_api_version": "1.0"}, "version must not"),
        ({"name": "dagster", "version": "1", "floe_api_version": "1"}, "floe_api_version '1'"),
        ({"name": "dagster", "version": 1, "floe_api_version": "1.0"}, "version must be a str"),
        (
            {"name": "dagster", "version": "1", "floe_api_version": "1.0", "description": None},
            "description must be a string",
        ),
    ],
)
def test_invalid_metadata_is_refused_naming_the_field(fields: dict[str, Any], named: str) -> None:
    with pytest.raises(PluginError, match=f"invalid plugin metadata .*{re.escape(named)}"):
        PluginMetadata(**fields)


def test_metadata_refuses_unknown_fields() -> None:
    with pytest.raises(TypeError, match="author"):
        PluginMetadata(name="dagster", version="1", floe_api_version="1.0", author="me")  # type: ignore[call-arg]


def test_metadata_is_frozen() -> None:
    with pytest.raises(dataclasses.FrozenInstanceError):
        _META.name = "other"  # type: ignore[misc]


# Class checks -----------------------------------------------------------------------------
def test_a_concrete_plugin_without_metadata_fails_at_class_creation() -> None:
    with pytest.raises(PluginError, match="metadata = PluginMetadata"):

        class NoMetadata(RecordingOrchestrator):
            metadata = None  # type: ignore[assignment]


def test_an_abstract_plugin_may_leave_metadata_to_its_subclasses() -> None:
    class Partial(OrchestratorPlugin):
        def _schedule_job(self, job_name: str, cron: str, timezone: str) -> Any:
            return job_name

    assert "metadata" not in Partial.__dict__


def test_capabilities_must_be_capability_members() -> None:
    with pytest.raises(PluginError, match="local_runtime"):

        class BadCapabilities(RecordingOrchestrator):
            capabilities = frozenset({"teleport"})  # type: ignore[arg-type]


def test_supports_answers_from_declared_capabilities() -> None:
    plugin = RecordingOrchestrator()
    assert plugin.supports(Capability.RUN_LAUNCHER)
    assert plugin.supports("run_launcher")
    assert not plugin.supports(Capability.LOCAL_RUNTIME)
    assert not plugin.supports("teleport")


def test_metadata_properties_come_from_the_class_metadata() -> None:
    plugin = RecordingOrchestrator()
    assert (plugin.name, plugin.version, plugin.floe_api_version) == ("recording", "1.2.3", "1.0")
    assert "recording" in repr(plugin)


# Configuration ----------------------------------------------------------------------------
def test_config_is_validated_with_the_config_model() -> None:
    plugin = ConfiguredOrchestrator(config={"url": "http://dagster:3000"})
    assert isinstance(plugin.config, ConfiguredOrchestrator.Config)
    assert plugin.config.retries == 3


def test_invalid_config_names_the_field() -> None:
    with pytest.raises(PluginError, match=r"config\.url") as caught:
        ConfiguredOrchestrator(config={"url": "not a url"})
    assert "'configured'" in str(caught.value)


def test_unknown_config_fields_are_named() -> None:
    with pytest.raises(PluginError, match=r"config\.retires"):
        ConfiguredOrchestrator(config={"url": "http://dagster:3000", "retires": 2})


def test_missing_required_config_is_named() -> None:
    with pytest.raises(PluginError, match=r"config\.url"):
        ConfiguredOrchestrator()


def test_a_config_model_instance_is_used_as_given() -> None:
    config = ConfiguredOrchestrator.Config(url="http://dagster:3000")
    assert ConfiguredOrchestrator(config=config).config is config


def test_a_plugin_without_config_model_refuses_config() -> None:
    assert RecordingOrchestrator(config={}).config is None
    with pytest.raises(PluginError, match="takes no configuration"):
        RecordingOrchestrator(config={"url": "http://x"})


# Lineage wiring ---------------------------------------------------------------------------
def test_lineage_namespace_follows_the_backend() -> None:
    plugin = RecordingOrchestrator()
    assert plugin.lineage_namespace == "floe"
    plugin.set_lineage_backend(InMemoryLineageBackend(namespace="analytics-prod"))
    assert plugin.lineage_namespace == "analytics-prod"
    plugin.set_lineage_backend(None)
    assert plugin.lineage_backend is None


def test_a_lineage_backend_must_be_a_lineage_backend_plugin() -> None:
    with pytest.raises(PluginError, match="LineageBackendPlugin"):
        RecordingOrchestrator(lineage_backend="marquez")  # type: ignore[arg-type]


def test_emit_builds_the_event_from_the_arguments() -> None:
    backend = InMemoryLineageBackend()
    plugin = RecordingOrchestrator(lineage_backend=backend)
    run_id = UUID("01900000-0000-7000-8000-000000000001")
    source = Dataset("duckdb://warehouse", "main.stg_orders")
    returned = plugin.emit_lineage_event(
        "fail",
        "orders",
        job_namespace="custom",
        run_id=run_id,
        inputs=[source],
        error="division by zero",
        run_facets={"floe": {"compute": "default"}},
        job_facets={"sql": {"query": "select 1"}},
    )
    (event,) = backend.events
    assert returned == run_id == event.run_id
    assert (event.event_type, event.job_namespace, event.inputs) == (
        RunState.FAIL,
        "custom",
        (source,),
    )
    assert event.error is not None
    assert event.error.message == "division by zero"
    assert dict(event.run_facets) == {"floe": {"compute": "default"}}
    assert dict(event.job_facets) == {"sql": {"query": "select 1"}}


def test_emit_gives_each_run_a_new_run_id() -> None:
    plugin = RecordingOrchestrator()
    assert plugin.emit_lineage_event("START", "a") != plugin.emit_lineage_event("START", "a")


def test_an_error_on_a_start_event_is_refused_even_without_a_backend() -> None:
    plugin = RecordingOrchestrator()
    with pytest.raises(LineageError, match="FAIL"):
        plugin.emit_lineage_event("START", "orders", error=RuntimeError("boom"))


def test_an_error_of_the_wrong_type_is_refused() -> None:
    with pytest.raises(LineageError, match="ErrorInfo"):
        RecordingOrchestrator().emit_lineage_event("FAIL", "orders", error=42)  # type: ignore[arg-type]


def test_emit_to_a_no_op_backend_counts_a_delivery() -> None:
    backend = NoOpLineageBackend()
    RecordingOrchestrator(lineage_backend=backend).emit_lineage_event("START", "orders")
    assert backend.stats().delivered == 1


# Template methods -------------------------------------------------------------------------
def test_create_definitions_hands_the_hook_valid_artifacts_and_their_graph() -> None:
    plugin = RecordingOrchestrator()
    artifacts = make_artifacts([make_transform("a"), make_transform("b", depends_on=["a"])])
    assert plugin.create_definitions(artifacts) is plugin.definitions
    ((hook, (given_artifacts, graph)),) = plugin.calls
    assert hook == "_create_definitions"
    assert given_artifacts is artifacts
    assert graph.edges == [("a", "b")]


def test_create_definitions_loads_a_mapping_and_reports_invalid_fields() -> None:
    plugin = RecordingOrchestrator()
    data = json.loads(make_artifacts([make_transform("a")]).to_json())
    plugin.create_definitions(data)
    data["transforms"][0]["compute"] = "missing_target"
    with pytest.raises(ArtifactsError, match=r"transforms\[0\]\.compute"):
        plugin.create_definitions(data)


def test_graph_errors_are_raised_before_the_hook_runs() -> None:
    plugin = RecordingOrchestrator()
    with pytest.raises(UnknownDependencyError):
        plugin.create_definitions(make_artifacts([make_transform("b", depends_on=["a"])]))
    assert plugin.calls == []


def test_an_unexpected_hook_exception_becomes_a_plugin_error_keeping_the_cause() -> None:
    plugin = RecordingOrchestrator()
    plugin.failure = KeyError("asset_key")
    with pytest.raises(PluginError, match="_create_definitions: KeyError") as caught:
        plugin.create_definitions(make_artifacts())
    assert isinstance(caught.value.__cause__, KeyError)


def test_a_floe_error_from_a_hook_passes_through_unchanged() -> None:
    plugin = RecordingOrchestrator()
    failure = SchedulingError("schedule 'x' clashes with schedule 'y'")
    plugin.failure = failure
    with pytest.raises(SchedulingError) as caught:
        plugin.schedule_job("x", "0 * * * *")
    assert caught.value is failure


def test_a_hook_returning_none_is_a_plugin_error() -> None:
    plugin = RecordingOrchestrator()
    plugin.definitions = None
    with pytest.raises(PluginError, match="returned None"):
        plugin.create_definitions(make_artifacts())


def test_create_assets_allows_external_dependencies_and_returns_a_list() -> None:
    plugin = RecordingOrchestrator()
    transforms = [make_transform("orders", depends_on=["stg_orders"])]
    assert plugin.create_assets_from_transforms(transforms) == ["orders"]
    ((_, (given, graph)),) = plugin.calls
    assert given == tuple(transforms)
    assert dict(graph.external_dependencies) == {"orders": frozenset({"stg_orders"})}


def test_create_assets_refuses_items_that_are_not_transforms() -> None:
    with pytest.raises(PluginError, match=r"item \[1\] is str"):
        RecordingOrchestrator().create_assets_from_transforms(
            [make_transform("a"), "b"]  # type: ignore[list-item]
        )


def test_schedule_job_validates_before_the_hook() -> None:
    plugin = RecordingOrchestrator()
    with pytest.raises(SchedulingError):
        plugin.schedule_job("nightly", "99 * * * *")
    assert plugin.calls == []
    assert plugin.schedule_job("nightly", "0 3 * * *", "Europe/Paris") == (
        "nightly",
        "0 3 * * *",
        "Europe/Paris",
    )


def test_helm_values_get_the_resources_of_the_size() -> None:
    plugin = RecordingOrchestrator()
    values = plugin.get_helm_values(size="large")
    assert values == {"resources": get_preset("large").to_kubernetes()}
    ((_, (size, resources, artifacts)),) = plugin.calls
    assert (size, resources, artifacts) == ("large", get_preset("large"), None)


def test_an_image_reaches_a_hook_that_takes_one() -> None:
    class Imaging(RecordingOrchestrator):
        metadata = PluginMetadata(name="imaging", version="1", floe_api_version="1.0")

        def _get_helm_values(
            self,
            *,
            size: str,
            resources: ResourceSpec,
            artifacts: CompiledArtifacts | None,
            image: str | None = None,
        ) -> dict[str, Any]:
            self._record("_get_helm_values", size, resources, artifacts, image)
            return {"image": image}

    plugin = Imaging()
    assert plugin.get_helm_values(size="small", image="ghcr.io/acme/sales:1.2.0") == {
        "image": "ghcr.io/acme/sales:1.2.0"
    }
    assert plugin.get_helm_values(size="small") == {"image": None}


def test_an_image_is_refused_by_a_plugin_that_deploys_no_image() -> None:
    plugin = RecordingOrchestrator()
    with pytest.raises(PluginError, match="'recording' takes no user-code image"):
        plugin.get_helm_values(size="small", image="ghcr.io/acme/sales:1.2.0")
    assert plugin.calls == []
    with pytest.raises(PluginError, match="image as a str"):
        plugin.get_helm_values(size="small", image=3)  # type: ignore[arg-type]


def test_adjusted_resources_reach_requirements_and_helm_values() -> None:
    bigger = ResourceSpec(cpu_request="3", cpu_limit="6", memory_request="8Gi", memory_limit="16Gi")

    class Adjusting(RecordingOrchestrator):
        metadata = PluginMetadata(name="adjusting", version="1", floe_api_version="1.0")

        def _adjust_resources(self, size: str, spec: ResourceSpec) -> ResourceSpec:
            return bigger if size == "large" else spec

    plugin = Adjusting()
    assert plugin.get_resource_requirements("large") == bigger
    assert plugin.get_resource_requirements("small") == get_preset("small")
    assert plugin.get_helm_values(size="large")["resources"] == bigger.to_kubernetes()


def test_validate_connection_runs_the_hook_under_a_deadline() -> None:
    plugin = RecordingOrchestrator()
    result = plugin.validate_connection("http://dagster:3000", timeout=3)
    assert result.success
    assert result.duration_s >= 0
    ((_, (url, deadline)),) = plugin.calls
    assert url == "http://dagster:3000"
    assert isinstance(deadline, Deadline)
    assert deadline.budget == 3


def test_validate_connection_turns_a_hook_exception_into_a_failed_result() -> None:
    plugin = RecordingOrchestrator()
    plugin.failure = OSError("connection reset by peer")
    result = plugin.validate_connection(timeout=1)
    assert not result.success
    assert "connection reset by peer" in result.message
    assert "_validate_connection" in result.message


@pytest.mark.parametrize("url", ["", "   ", 3000])
def test_validate_connection_refuses_a_malformed_url(url: Any) -> None:
    with pytest.raises(ConnectivityError, match="url"):
        RecordingOrchestrator().validate_connection(url, timeout=1)


@pytest.mark.parametrize("timeout", [True, "10", float("inf")])
def test_validate_connection_refuses_a_timeout_that_is_not_a_finite_number(
    timeout: Any,
) -> None:
    with pytest.raises(ConnectivityError, match="timeout"):
        RecordingOrchestrator().validate_connection(timeout=timeout)


class _LazyConfigPlugin(InMemoryOrchestrator):
    metadata = PluginMetadata(name="lazy_config", version="1", floe_api_version="1.0")
    config_model = "floe_orchestration_core.testing.fakes:InMemoryOrchestratorConfig"


def test_config_model_may_be_declared_by_import_path_and_is_resolved_on_use() -> None:
    from floe_orchestration_core.testing.fakes import InMemoryOrchestratorConfig

    assert _LazyConfigPlugin.resolve_config_model() is InMemoryOrchestratorConfig
    plugin = _LazyConfigPlugin({})
    assert isinstance(plugin.config, InMemoryOrchestratorConfig)


def test_a_malformed_config_model_path_is_refused_at_class_creation() -> None:
    with pytest.raises(PluginError, match="not an import path"):

        class _Bad(InMemoryOrchestrator):
            metadata = PluginMetadata(name="bad_path", version="1", floe_api_version="1.0")
            config_model = "no colon here"


def test_a_config_model_path_that_does_not_import_names_the_path() -> None:
    class _Missing(InMemoryOrchestrator):
        metadata = PluginMetadata(name="missing_path", version="1", floe_api_version="1.0")
        config_model = "floe_orchestration_core.nowhere:Config"

    with pytest.raises(PluginError, match=r"nowhere:Config' cannot be imported") as caught:
        _Missing()
    assert isinstance(caught.value.__cause__, ImportError)
