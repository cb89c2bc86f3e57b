"""Property tests of Kubernetes quantities and ResourceSpec invariants."""

from __future__ import annotations

from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from floe_orchestration_core.errors import ResourceError
from floe_orchestration_core.resources import ResourceSpec, format_quantity, parse_quantity

_MAX_INT64 = 2**63 - 1

millicores = st.integers(min_value=0, max_value=_MAX_INT64)
byte_counts = st.integers(min_value=0, max_value=_MAX_INT64)
memory_suffixes = st.sampled_from(["", "Ki", "Mi", "Gi", "Ti", "k", "M", "G", "T"])
cpu_suffixes = st.sampled_from(["", "m", "k"])


@st.composite
def cpu_texts(draw: st.DrawFn) -> str:
    """CPU quantities as users write them: whole units with an optional suffix, or decimals."""
    if draw(st.booleans()):
        return f"{draw(st.integers(0, 10**6))}{draw(cpu_suffixes)}"
    return f"{draw(st.integers(0, 10**4))}.{draw(st.integers(0, 999)):03d}"


@st.composite
def memory_texts(draw: st.DrawFn) -> str:
    return f"{draw(st.integers(0, 10**5))}{draw(memory_suffixes)}"


@settings(max_examples=200, deadline=None)
@given(millicores)
def test_cpu_format_then_parse_round_trips(milli: int) -> None:
    cores = Decimal(milli) / 1000
    text = format_quantity(cores, kind="cpu")
    assert parse_quantity(text, kind="cpu") == cores


@settings(max_examples=200, deadline=None)
@given(byte_counts)
def test_memory_format_then_parse_round_trips(size: int) -> None:
    text = format_quantity(size, kind="memory")
    assert parse_quantity(text, kind="memory") == size


@settings(max_examples=200, deadline=None)
@given(cpu_texts())
def test_cpu_parse_then_format_is_stable(text: str) -> None:
    value = parse_quantity(text, kind="cpu")
    canonical = format_quantity(value, kind="cpu")
    assert parse_quantity(canonical, kind="cpu") == value
    assert format_quantity(parse_quantity(canonical, kind="cpu"), kind="cpu") == canonical


@settings(max_examples=200, deadline=None)
@given(memory_texts())
def test_memory_parse_then_format_is_stable(text: str) -> None:
    value = parse_quantity(text, kind="memory")
    canonical = format_quantity(value, kind="memory")
    assert parse_quantity(canonical, kind="memory") == value
    assert len(canonical) <= len(str(int(value)))


@settings(max_examples=200, deadline=None)
@given(st.integers(0, 10**9), st.integers(1, 10**9), st.integers(0, 2**40), st.integers(1, 2**40))
def test_a_rendered_request_never_exceeds_its_limit(
    cpu_a: int, cpu_b: int, mem_a: int, mem_b: int
) -> None:
    cpu_request, cpu_limit = sorted((cpu_a, cpu_b))
    memory_request, memory_limit = sorted((mem_a, mem_b))
    cpu_limit = max(cpu_limit, 1)
    memory_limit = max(memory_limit, 1)
    spec = ResourceSpec(
        cpu_request=f"{cpu_request}m",
        cpu_limit=f"{cpu_limit}m",
        memory_request=str(memory_request),
        memory_limit=str(memory_limit),
    )
    rendered = spec.to_kubernetes()
    assert parse_quantity(rendered["requests"]["cpu"], kind="cpu") <= parse_quantity(
        rendered["limits"]["cpu"], kind="cpu"
    )
    assert parse_quantity(rendered["requests"]["memory"], kind="memory") <= parse_quantity(
        rendered["limits"]["memory"], kind="memory"
    )
    assert spec.cpu_request_cores == Decimal(cpu_request) / 1000
    assert spec.memory_limit_bytes == memory_limit


@settings(max_examples=200, deadline=None)
@given(st.integers(1, 10**6), st.integers(1, 10**6))
def test_a_request_above_its_limit_is_always_refused(limit: int, excess: int) -> None:
    with pytest.raises(ValueError, match="exceeds memory_limit"):
        ResourceSpec(
            cpu_request="1m",
            cpu_limit="1m",
            memory_request=str(limit + excess),
            memory_limit=str(limit),
        )


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=12))
def test_parse_never_fails_with_anything_but_a_resource_error(text: str) -> None:
    for kind in ("cpu", "memory"):
        try:
            value = parse_quantity(text, kind=kind)
        except ResourceError:
            continue
        assert value >= 0
        assert value.is_finite()
