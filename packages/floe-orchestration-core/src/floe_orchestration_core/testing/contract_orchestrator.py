"""The contract suite every orchestrator adapter runs: :class:`OrchestratorPluginContract`.

How an adapter uses it (in the adapter's ``tests/contract/``)::

    import pytest
    from floe_orchestration_core.testing import DefinitionsSummary, OrchestratorPluginContract

    class TestMyOrchestratorContract(OrchestratorPluginContract):
        @pytest.fixture
        def plugin(self) -> MyOrchestratorPlugin:
            return MyOrchestratorPlugin()          # fresh, no lineage backend

        def describe_definitions(self, definitions): ...   # -> DefinitionsSummary
        def describe_assets(self, assets): ...             # -> {name: upstream names}
        def describe_schedule(self, schedule): ...         # -> (job name, cron, timezone)

Checklist of what the suite holds an adapter to (one test each):

- metadata is valid and compatible with this core's API version;
- zero transforms give definitions without assets; a diamond plus a chain (with source
  and ephemeral models) gives one asset per transform with exactly its declared upstreams
  (``depends_on`` transform names plus ``source_dependencies`` keys); so do random DAGs;
- cycles (self-dependencies too), duplicate names and unknown dependencies raise the
  matching :class:`~floe_orchestration_core.errors.ValidationError` naming the models;
- ordinary names pass ``check_names``; every hostile name (quotes, slashes, emoji, control
  characters, reserved words, ...) either loads (``load_definitions``) or is refused with an
  :class:`~floe_orchestration_core.errors.InvalidNameError` naming it — never another error;
- ``load_definitions`` gives the definitions, loaded as the orchestrator's server would;
- ``create_assets_from_transforms`` on part of a product keeps upstreams outside the part;
- every schedule of the artifacts (enabled or not) appears in the definitions;
- ``schedule_job`` keeps job, cron and timezone; refuses bad crons, timezones (naming the
  close match) and job names with a ``ValueError``;
- ``get_resource_requirements``/``get_helm_values`` answer for small/medium/large (requests
  within limits, JSON-serialisable values) and refuse other sizes listing the valid ones;
- ``emit_lineage_event`` is a silent no-op without a backend, delivers the event with a
  backend, and refuses a malformed event the same way in both cases;
- ``validate_connection`` to a closed port returns a failed result in time, never raises;
- every validating method gives the same answer when called twice.
"""

from __future__ import annotations

import dataclasses
import json
import time
from abc import ABC, abstractmethod
from collections.abc import Iterable, Mapping
from types import MappingProxyType
from typing import Any
from uuid import UUID

import attrs
import pytest
from hypothesis import HealthCheck, given, settings

from floe_orchestration_core import FLOE_API_VERSION
from floe_orchestration_core.artifacts import CompiledArtifacts, ScheduleConfig, TransformConfig
from floe_orchestration_core.connectivity import ValidationResult
from floe_orchestration_core.errors import (
    ConnectivityError,
    CycleError,
    DuplicateTransformError,
    FloeError,
    InvalidNameError,
    LineageError,
    PluginError,
    ResourceError,
    SchedulingError,
    UnknownDependencyError,
)
from floe_orchestration_core.lineage import Dataset, RunState
from floe_orchestration_core.plugin import OrchestratorPlugin, PluginMetadata
from floe_orchestration_core.resources import ResourceSpec, parse_quantity
from floe_orchestration_core.testing.factories import make_artifacts, make_source, make_transform
from floe_orchestration_core.testing.fakes import InMemoryLineageBackend
from floe_orchestration_core.testing.manifest_mutations import HOSTILE_NAMES
from floe_orchestration_core.testing.strategies import dags

__all__ = ["DefinitionsSummary", "OrchestratorPluginContract", "expected_upstreams"]

#: A local address where nothing listens (the discard port), for connection checks.
CLOSED_PORT_URL = "http://127.0.0.1:9"
INVALID_CRONS = ("0 0 30 2 *", "61 * * * *", "*/0 * * * *", "* * * *", "@every_minute")
SIZES = ("small", "medium", "large")
_SOURCES = ("raw.orders", "raw.customers")


def _frozen_upstreams(value: Mapping[str, Any]) -> Mapping[str, frozenset[str]]:
    return MappingProxyType({str(k): frozenset(v) for k, v in value.items()})


def _names(value: Iterable[str]) -> frozenset[str]:
    return frozenset(value)


@attrs.frozen
class DefinitionsSummary:
    """What the contract suite needs to know about an adapter's native definitions.

    ``assets`` maps each transform name to its upstream transform names and source keys;
    ``schedules`` holds the names of the schedules defined.
    """

    assets: Mapping[str, frozenset[str]] = attrs.field(converter=_frozen_upstreams)
    schedules: frozenset[str] = attrs.field(default=frozenset(), converter=_names)


def expected_upstreams(transforms: Any) -> dict[str, frozenset[str]]:
    """Transform name → declared upstreams (``depends_on`` plus ``source_dependencies``)."""
    items: tuple[TransformConfig, ...] = tuple(transforms)
    return {t.name: frozenset(t.depends_on) | frozenset(t.source_dependencies) for t in items}


def diamond_and_chain() -> CompiledArtifacts:
    """A diamond (with an ephemeral side) feeding a chain, reading two sources, plus a loner."""
    return make_artifacts(
        [
            make_transform("stg_orders", source_dependencies=("raw.orders",)),
            make_transform("stg_customers", source_dependencies=("raw.customers",)),
            make_transform("order_items", depends_on=["stg_orders"]),
            make_transform("order_totals", depends_on=["stg_orders"], materialization="ephemeral"),
            make_transform("orders", depends_on=["order_items", "order_totals", "stg_customers"]),
            make_transform("orders_daily", depends_on=["orders"], materialization="incremental"),
            make_transform("orders_report", depends_on=["orders_daily"], tags=("reporting",)),
            make_transform("calendar", materialization="view"),
        ],
        sources=[make_source(key) for key in _SOURCES],
    )


def _cycle_artifacts() -> CompiledArtifacts:
    return make_artifacts(
        [
            make_transform("stg_orders"),
            make_transform("orders", depends_on=["stg_orders", "payments"]),
            make_transform("payments", depends_on=["refunds"]),
            make_transform("refunds", depends_on=["orders"]),
        ]
    )


#: The hypothesis test every subclass gets (see OrchestratorPluginContract.__init_subclass__).
_RANDOM_DAGS_TEST = "test_random_dags_become_assets_with_their_declared_upstreams"


class OrchestratorPluginContract(ABC):
    """Subclass as ``TestXxx`` with a ``plugin`` fixture and the three ``describe_*`` methods."""

    # What the adapter tells the suite about its native objects --------------------------
    @abstractmethod
    def describe_definitions(self, definitions: Any) -> DefinitionsSummary:
        """Summarise what ``create_definitions`` returned."""

    @abstractmethod
    def describe_assets(self, assets: list[Any]) -> Mapping[str, frozenset[str]]:
        """Transform name → upstream names, for what ``create_assets_from_transforms`` returned."""

    @abstractmethod
    def describe_schedule(self, schedule: Any) -> tuple[str, str, str]:
        """``(job name, cron, timezone)`` of what ``schedule_job`` returned."""

    # Metadata ---------------------------------------------------------------------------
    def test_metadata_is_valid_and_compatible_with_this_core(
        self, plugin: OrchestratorPlugin
    ) -> None:
        metadata = type(plugin).metadata
        assert isinstance(metadata, PluginMetadata)
        # Re-validating its own fields gives it back: the metadata is valid as declared.
        assert PluginMetadata(**dataclasses.asdict(metadata)) == metadata
        assert (plugin.name, plugin.version, plugin.floe_api_version) == (
            metadata.name,
            metadata.version,
            metadata.floe_api_version,
        )
        assert metadata.is_compatible_with(FLOE_API_VERSION)

    # Names and loading ------------------------------------------------------------------
    def test_ordinary_names_pass_the_name_check(self, plugin: OrchestratorPlugin) -> None:
        plugin.check_names(diamond_and_chain())  # raises InvalidNameError otherwise

    def test_load_definitions_gives_the_definitions_of_the_artifacts(
        self, plugin: OrchestratorPlugin
    ) -> None:
        artifacts = diamond_and_chain()
        summary = self.describe_definitions(plugin.load_definitions(artifacts))
        assert dict(summary.assets) == expected_upstreams(artifacts.transforms)

    @pytest.mark.parametrize("name", HOSTILE_NAMES)
    def test_a_hostile_name_loads_or_is_refused_naming_it(
        self, plugin: OrchestratorPlugin, name: str
    ) -> None:
        if not name:
            return  # the artifacts' schema refuses an empty name before any plugin
        artifacts = make_artifacts(
            [make_transform("upstream"), make_transform(name, depends_on=["upstream"])]
        )
        refused: InvalidNameError | None = None
        try:
            plugin.check_names(artifacts)
        except InvalidNameError as exc:
            refused = exc
        if refused is not None:
            assert refused.names == (name,)
            with pytest.raises(InvalidNameError):
                plugin.create_definitions(artifacts)
            return
        summary = self.describe_definitions(plugin.load_definitions(artifacts))
        assert dict(summary.assets) == expected_upstreams(artifacts.transforms)

    # Definitions ------------------------------------------------------------------------
    def test_zero_transforms_give_definitions_without_assets(
        self, plugin: OrchestratorPlugin
    ) -> None:
        summary = self.describe_definitions(plugin.create_definitions(make_artifacts()))
        assert dict(summary.assets) == {}

    def test_every_transform_becomes_an_asset_with_exactly_its_declared_upstreams(
        self, plugin: OrchestratorPlugin
    ) -> None:
        artifacts = diamond_and_chain()
        summary = self.describe_definitions(plugin.create_definitions(artifacts))
        assert dict(summary.assets) == expected_upstreams(artifacts.transforms)

    def test_definitions_accept_the_artifacts_json_mapping(
        self, plugin: OrchestratorPlugin
    ) -> None:
        artifacts = diamond_and_chain()
        from_json = plugin.create_definitions(json.loads(artifacts.to_json()))
        assert dict(self.describe_definitions(from_json).assets) == expected_upstreams(
            artifacts.transforms
        )

    def test_definitions_refuse_what_is_not_artifacts(self, plugin: OrchestratorPlugin) -> None:
        with pytest.raises(PluginError, match="CompiledArtifacts"):
            plugin.create_definitions(["orders"])  # type: ignore[arg-type]

    def test_cycle_error_names_every_model_in_the_cycle(self, plugin: OrchestratorPlugin) -> None:
        with pytest.raises(CycleError) as caught:
            plugin.create_definitions(_cycle_artifacts())
        message = str(caught.value)
        for name in ("orders", "payments", "refunds"):
            assert name in message
        assert {frozenset(cycle) for cycle in caught.value.cycles} == {
            frozenset({"orders", "payments", "refunds"})
        }

    def test_a_self_dependency_is_a_cycle(self, plugin: OrchestratorPlugin) -> None:
        artifacts = make_artifacts([make_transform("orders", depends_on=["orders"])])
        with pytest.raises(CycleError, match="orders"):
            plugin.create_definitions(artifacts)

    def test_duplicate_names_raise_duplicate_transform_error(
        self, plugin: OrchestratorPlugin
    ) -> None:
        artifacts = make_artifacts(
            [
                make_transform("orders"),
                make_transform("orders", unique_id="model.other_package.orders"),
            ]
        )
        with pytest.raises(DuplicateTransformError, match="orders") as caught:
            plugin.create_definitions(artifacts)
        assert set(caught.value.duplicates) == {"orders"}

    def test_unknown_dependency_error_suggests_the_close_name(
        self, plugin: OrchestratorPlugin
    ) -> None:
        artifacts = make_artifacts(
            [make_transform("stg_orders"), make_transform("orders", depends_on=["stg_ordrs"])]
        )
        with pytest.raises(UnknownDependencyError) as caught:
            plugin.create_definitions(artifacts)
        message = str(caught.value)
        assert "stg_ordrs" in message
        assert "stg_orders" in message

    def __init_subclass__(cls, **kwargs: Any) -> None:
        # test_random_dags_become_assets_with_their_declared_upstreams: random DAGs become
        # assets with their declared upstreams. Each suite gets a hypothesis test of its own:
        # one wrapped test shared by several subclasses (the reference plugin's and an
        # adapter's in one session) is "called from multiple executors", which hypothesis
        # refuses as a correctness risk.
        super().__init_subclass__(**kwargs)
        test = settings(
            max_examples=10,
            deadline=None,
            suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
        )(given(transforms=dags(max_size=12, sources=_SOURCES))(_random_dags_become_assets))
        setattr(cls, _RANDOM_DAGS_TEST, test)

    # Assets from transforms -------------------------------------------------------------
    def test_assets_from_part_of_a_product_keep_upstreams_outside_it(
        self, plugin: OrchestratorPlugin
    ) -> None:
        part = [
            t
            for t in diamond_and_chain().transforms
            if t.name in {"orders", "orders_daily", "order_items"}
        ]
        assets = plugin.create_assets_from_transforms(part)
        assert isinstance(assets, list)
        assert dict(self.describe_assets(assets)) == expected_upstreams(part)

    def test_assets_from_transforms_refuse_a_cycle(self, plugin: OrchestratorPlugin) -> None:
        with pytest.raises(CycleError, match="payments"):
            plugin.create_assets_from_transforms(_cycle_artifacts().transforms)

    # Schedules --------------------------------------------------------------------------
    def test_every_artifacts_schedule_appears_in_the_definitions(
        self, plugin: OrchestratorPlugin
    ) -> None:
        base = diamond_and_chain()
        artifacts = base.model_copy(
            update={
                "schedules": (
                    ScheduleConfig(name="hourly_orders", cron="0 * * * *", selection="+orders"),
                    ScheduleConfig(
                        name="nightly_reports",
                        cron="30 2 * * MON-FRI",
                        timezone="Europe/Berlin",
                        selection="tag:reporting",
                    ),
                    ScheduleConfig(name="weekly_all", cron="@weekly", enabled=False),
                )
            }
        )
        summary = self.describe_definitions(plugin.create_definitions(artifacts))
        assert summary.schedules == {"hourly_orders", "nightly_reports", "weekly_all"}

    def test_schedule_job_keeps_job_cron_and_timezone(self, plugin: OrchestratorPlugin) -> None:
        schedule = plugin.schedule_job("nightly_build", "15 2 * * *", "America/New_York")
        assert self.describe_schedule(schedule) == (
            "nightly_build",
            "15 2 * * *",
            "America/New_York",
        )

    @pytest.mark.parametrize("cron", INVALID_CRONS)
    def test_schedule_job_refuses_an_invalid_cron(
        self, plugin: OrchestratorPlugin, cron: str
    ) -> None:
        with pytest.raises(SchedulingError) as caught:
            plugin.schedule_job("nightly_build", cron)
        assert isinstance(caught.value, ValueError)
        assert str(caught.value)

    def test_schedule_job_names_the_timezone_meant(self, plugin: OrchestratorPlugin) -> None:
        with pytest.raises(ValueError, match="America/New_York"):
            plugin.schedule_job("nightly_build", "0 2 * * *", "America/New_Yrok")

    @pytest.mark.parametrize("job_name", ["", "nightly build", "1st_job", "job-name"])
    def test_schedule_job_refuses_an_invalid_job_name(
        self, plugin: OrchestratorPlugin, job_name: str
    ) -> None:
        with pytest.raises(SchedulingError, match="job name"):
            plugin.schedule_job(job_name, "0 2 * * *")

    # Resources and Helm values ----------------------------------------------------------
    @pytest.mark.parametrize("size", SIZES)
    def test_resource_requirements_keep_requests_within_limits(
        self, plugin: OrchestratorPlugin, size: str
    ) -> None:
        spec = plugin.get_resource_requirements(size)
        assert isinstance(spec, ResourceSpec)
        assert parse_quantity(spec.cpu_request, kind="cpu") <= parse_quantity(
            spec.cpu_limit, kind="cpu"
        )
        assert parse_quantity(spec.memory_request, kind="memory") <= parse_quantity(
            spec.memory_limit, kind="memory"
        )

    def test_unknown_size_lists_the_valid_sizes(self, plugin: OrchestratorPlugin) -> None:
        with pytest.raises(ResourceError) as caught:
            plugin.get_resource_requirements("xl")
        assert isinstance(caught.value, ValueError)
        for size in SIZES:
            assert size in str(caught.value)

    @pytest.mark.parametrize("size", SIZES)
    def test_helm_values_are_a_json_serialisable_dict_for_each_size(
        self, plugin: OrchestratorPlugin, size: str
    ) -> None:
        values = plugin.get_helm_values(size=size, artifacts=diamond_and_chain())
        assert isinstance(values, dict)
        assert json.loads(json.dumps(values)) == values

    def test_helm_values_refuse_an_unknown_size(self, plugin: OrchestratorPlugin) -> None:
        with pytest.raises(ResourceError, match="medium"):
            plugin.get_helm_values(size="huge")

    # Lineage ----------------------------------------------------------------------------
    def test_emit_without_a_backend_is_a_silent_no_op(self, plugin: OrchestratorPlugin) -> None:
        assert plugin.lineage_backend is None
        run_id = plugin.emit_lineage_event(RunState.START, "orders")
        assert isinstance(run_id, UUID)
        given_id = plugin.emit_lineage_event("COMPLETE", "orders", run_id=run_id)
        assert given_id == run_id

    def test_emit_with_a_backend_delivers_the_event(self, plugin: OrchestratorPlugin) -> None:
        backend = InMemoryLineageBackend(namespace="contract")
        plugin.set_lineage_backend(backend)
        table = Dataset(namespace="duckdb://warehouse", name="main.orders")
        run_id = plugin.emit_lineage_event("START", "orders", outputs=[table])
        plugin.emit_lineage_event(RunState.COMPLETE, "orders", run_id=run_id, outputs=[table])
        events = backend.events
        assert [(e.event_type, e.job_name, e.run_id) for e in events] == [
            (RunState.START, "orders", run_id),
            (RunState.COMPLETE, "orders", run_id),
        ]
        assert all(e.job_namespace == "contract" for e in events)
        assert tuple(events[0].outputs) == (table,)

    def test_emit_of_a_failure_carries_the_error(self, plugin: OrchestratorPlugin) -> None:
        backend = InMemoryLineageBackend()
        plugin.set_lineage_backend(backend)
        try:
            raise RuntimeError("dbt build failed for model 'orders'")
        except RuntimeError as exc:
            plugin.emit_lineage_event(RunState.FAIL, "orders", error=exc)
        (event,) = backend.events
        assert event.event_type is RunState.FAIL
        assert event.error is not None
        assert "dbt build failed" in event.error.message

    def test_a_malformed_event_is_refused_with_or_without_a_backend(
        self, plugin: OrchestratorPlugin
    ) -> None:
        with pytest.raises(LineageError) as without_backend:
            plugin.emit_lineage_event("EXPLODED", "orders")
        backend = InMemoryLineageBackend()
        plugin.set_lineage_backend(backend)
        with pytest.raises(LineageError) as with_backend:
            plugin.emit_lineage_event("EXPLODED", "orders")
        assert str(with_backend.value) == str(without_backend.value)
        assert backend.events == ()

    # Connection check -------------------------------------------------------------------
    def test_connection_to_a_closed_port_fails_without_raising(
        self, plugin: OrchestratorPlugin
    ) -> None:
        started = time.monotonic()
        result = plugin.validate_connection(CLOSED_PORT_URL, timeout=2)
        elapsed = time.monotonic() - started
        assert isinstance(result, ValidationResult)
        assert result.success is False
        assert result.message
        assert elapsed < 2 + 1
        assert 0 <= result.duration_s < 2 + 1

    @pytest.mark.parametrize("timeout", [0, -1.0, float("nan")])
    def test_connection_check_refuses_a_timeout_that_is_not_positive(
        self, plugin: OrchestratorPlugin, timeout: float
    ) -> None:
        with pytest.raises(ConnectivityError, match="timeout"):
            plugin.validate_connection(CLOSED_PORT_URL, timeout=timeout)

    # Idempotency ------------------------------------------------------------------------
    def test_validation_gives_the_same_answer_twice(self, plugin: OrchestratorPlugin) -> None:
        def message_of(call: Any) -> str:
            with pytest.raises(FloeError) as caught:
                call()
            return str(caught.value)

        calls = [
            lambda: plugin.schedule_job("nightly_build", "61 * * * *"),
            lambda: plugin.schedule_job("nightly_build", "0 2 * * *", "Europe/Berln"),
            lambda: plugin.get_resource_requirements("xl"),
            lambda: plugin.create_definitions(_cycle_artifacts()),
        ]
        for call in calls:
            assert message_of(call) == message_of(call)
        assert plugin.get_resource_requirements("small") == plugin.get_resource_requirements(
            "small"
        )
        first = plugin.validate_connection(CLOSED_PORT_URL, timeout=2)
        second = plugin.validate_connection(CLOSED_PORT_URL, timeout=2)
        assert (first.success, first.message) == (second.success, second.message)


def _random_dags_become_assets(
    self: OrchestratorPluginContract,
    plugin: OrchestratorPlugin,
    transforms: list[TransformConfig],
) -> None:
    artifacts = make_artifacts(transforms, sources=[make_source(key) for key in _SOURCES])
    summary = self.describe_definitions(plugin.create_definitions(artifacts))
    assert dict(summary.assets) == expected_upstreams(transforms)
