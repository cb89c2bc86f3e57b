"""Properties of the hypothesis strategies, and the artifacts JSON round trip they enable."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from floe_orchestration_core.artifacts import (
    CompiledArtifacts,
    PartitionConfig,
    TransformConfig,
    load_artifacts,
)
from floe_orchestration_core.errors import InvalidCronError
from floe_orchestration_core.graph import TransformGraph
from floe_orchestration_core.resources import ResourceSpec, parse_quantity
from floe_orchestration_core.scheduling import validate_cron, validate_timezone
from floe_orchestration_core.testing import make_artifacts, strategies

_SLOW = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@_SLOW
@given(strategies.artifacts())
def test_generated_artifacts_round_trip_through_json(artifacts: CompiledArtifacts) -> None:
    assert load_artifacts(json.loads(artifacts.to_json())) == artifacts


def test_a_midnight_partition_datetime_round_trips_through_json() -> None:
    partition = PartitionConfig(
        name="hourly", granularity="hourly", start=datetime(2000, 1, 1, tzinfo=UTC)
    )
    artifacts = make_artifacts(partitions=(partition,))
    assert load_artifacts(json.loads(artifacts.to_json())) == artifacts


@_SLOW
@given(strategies.artifacts())
def test_generated_artifacts_have_a_valid_graph_and_resolvable_schedules(
    artifacts: CompiledArtifacts,
) -> None:
    graph = TransformGraph.from_artifacts(artifacts)
    assert set(graph.transforms) == {t.name for t in artifacts.transforms}
    source_keys = {s.key for s in artifacts.sources}
    for transform in artifacts.transforms:
        assert set(transform.source_dependencies) <= source_keys
    for schedule in artifacts.schedules:
        assert graph.select(schedule.selection) <= set(graph.transforms)


@given(strategies.dags(max_size=20))
def test_generated_dags_are_acyclic_with_every_dependency_present(
    transforms: list[TransformConfig],
) -> None:
    graph = TransformGraph.from_transforms(transforms)
    order = graph.topological_order()
    position = {name: index for index, name in enumerate(order)}
    for transform in transforms:
        for upstream in transform.depends_on:
            assert position[upstream] < position[transform.name]


@given(strategies.dags(min_size=3, max_size=5))
def test_dags_respect_their_size_bounds(transforms: list[TransformConfig]) -> None:
    assert 3 <= len(transforms) <= 5
    assert len({t.name for t in transforms}) == len(transforms)


@given(strategies.identifiers())
def test_identifiers_are_lower_case_identifiers(name: str) -> None:
    assert name.isidentifier()
    assert name == name.lower()


@settings(max_examples=300)
@given(strategies.crons())
def test_generated_crons_always_validate(expression: str) -> None:
    validate_cron(expression)


@settings(max_examples=300)
@given(strategies.invalid_crons())
def test_generated_invalid_crons_always_raise_invalid_cron_error(expression: str) -> None:
    with pytest.raises(InvalidCronError):
        validate_cron(expression)


@given(strategies.timezones())
def test_generated_timezones_always_validate(name: str) -> None:
    assert isinstance(validate_timezone(name), ZoneInfo)


@settings(max_examples=200)
@given(
    st.sampled_from(["cpu", "memory"]).flatmap(
        lambda kind: st.tuples(
            st.just(kind),
            strategies.quantities(kind),  # type: ignore[arg-type]
        )
    )
)
def test_generated_quantities_always_parse_to_a_positive_amount(
    kind_and_quantity: tuple[str, str],
) -> None:
    kind, quantity = kind_and_quantity
    assert parse_quantity(quantity, kind=kind) > 0  # type: ignore[arg-type]


@settings(max_examples=200)
@given(strategies.resource_specs())
def test_generated_resource_specs_keep_requests_within_limits(spec: ResourceSpec) -> None:
    assert spec.cpu_request_cores <= spec.cpu_limit_cores
    assert spec.memory_request_bytes <= spec.memory_limit_bytes
    assert ResourceSpec.model_validate(spec.model_dump()) == spec


def test_quantities_refuse_an_unknown_kind() -> None:
    with pytest.raises(ValueError, match="'cpu' or 'memory'"):
        strategies.quantities("disk")  # type: ignore[arg-type]
