"""Tests of Kubernetes quantities, ResourceSpec and the size presets."""

from __future__ import annotations

from decimal import Decimal

import pytest
from pydantic import ValidationError as PydanticValidationError

from floe_orchestration_core.errors import ResourceError
from floe_orchestration_core.resources import (
    RESOURCE_PRESETS,
    ResourceSpec,
    format_quantity,
    get_preset,
    parse_quantity,
)


@pytest.mark.parametrize(
    ("text", "cores"),
    [
        ("500m", Decimal("0.5")),
        ("2", Decimal(2)),
        ("1.5", Decimal("1.5")),
        (".25", Decimal("0.25")),
        ("+1", Decimal(1)),
        ("1e3", Decimal(1000)),
        ("5E-1", Decimal("0.5")),
        ("1000000u", Decimal(1)),
        ("1000000000n", Decimal(1)),
        ("1k", Decimal(1000)),
        (" 250m ", Decimal("0.25")),
        (2, Decimal(2)),
        (0.5, Decimal("0.5")),
        ("0", Decimal(0)),
    ],
)
def test_cpu_quantities_parse_to_cores(text: str | int | float, cores: Decimal) -> None:
    assert parse_quantity(text, kind="cpu") == cores


@pytest.mark.parametrize(
    ("text", "size"),
    [
        ("512Mi", 512 * 2**20),
        ("4Gi", 4 * 2**30),
        ("1Ki", 1024),
        ("1Ti", 2**40),
        ("1Pi", 2**50),
        ("1Ei", 2**60),
        ("1.5Ki", 1536),
        ("1k", 1000),
        ("2G", 2 * 10**9),
        ("1E", 10**18),
        ("1e3", 1000),
        ("128974848", 128974848),
        (1024, 1024),
        ("0", 0),
    ],
)
def test_memory_quantities_parse_to_bytes(text: str | int, size: int) -> None:
    assert parse_quantity(text, kind="memory") == Decimal(size)


@pytest.mark.parametrize(
    "bad", ["500mb", "1.5.2", "", "   ", "Gi", "-1", "-500m", "1 Gi", "NaN", "inf", "0x10", "1e"]
)
@pytest.mark.parametrize("kind", ["cpu", "memory"])
def test_malformed_quantities_are_refused_with_an_example(bad: str, kind: str) -> None:
    with pytest.raises(ResourceError) as info:
        parse_quantity(bad, kind=kind)  # type: ignore[arg-type]
    message = str(info.value)
    assert "e.g." in message or "such as" in message
    if bad.strip():
        assert repr(bad.strip()) in message


@pytest.mark.parametrize("bad", [True, False, float("nan"), float("inf"), -1, -0.5, None, [1]])
def test_non_quantity_values_are_refused(bad: object) -> None:
    with pytest.raises(ResourceError, match=r"quantity|negative|finite"):
        parse_quantity(bad, kind="cpu")  # type: ignore[arg-type]


def test_quantity_errors_are_value_errors() -> None:
    with pytest.raises(ValueError, match="500mb"):
        parse_quantity("500mb", kind="memory")


def test_memory_in_megabyte_notation_suggests_mebibytes() -> None:
    with pytest.raises(ResourceError, match=r"did you mean '500Mi'\?"):
        parse_quantity("500mb", kind="memory")


def test_memory_with_milli_suffix_is_refused_suggesting_mi() -> None:
    with pytest.raises(ResourceError, match=r"0\.5 bytes.*'500Mi'"):
        parse_quantity("500m", kind="memory")


def test_cpu_finer_than_one_millicore_is_refused() -> None:
    with pytest.raises(ResourceError, match=r"finer than 1m.*'1m'"):
        parse_quantity("0.0001", kind="cpu")


def test_fractional_bytes_are_refused() -> None:
    with pytest.raises(ResourceError, match="whole number of bytes"):
        parse_quantity("1.1Ki", kind="memory")


def test_quantities_beyond_int64_are_refused() -> None:
    with pytest.raises(ResourceError, match="more memory than Kubernetes can represent"):
        parse_quantity("8Ei", kind="memory")
    with pytest.raises(ResourceError, match="out of range"):
        parse_quantity("1e999999999", kind="cpu")


def test_unknown_kind_is_refused() -> None:
    with pytest.raises(ResourceError, match="valid kinds: cpu, memory"):
        parse_quantity("1", kind="gpu")  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("cores", "rendered"),
    [(Decimal("0.5"), "500m"), (Decimal(2), "2000m"), (Decimal("0.001"), "1m"), (0, "0")],
)
def test_cpu_renders_in_millicores(cores: Decimal | int, rendered: str) -> None:
    assert format_quantity(cores, kind="cpu") == rendered


@pytest.mark.parametrize(
    ("size", "rendered"),
    [(2**30, "1Gi"), (2 * 10**9, "2G"), (1000, "1k"), (1024000, "1000Ki"), (7, "7"), (0, "0")],
)
def test_memory_renders_with_the_largest_exact_suffix(size: int, rendered: str) -> None:
    assert format_quantity(size, kind="memory") == rendered


def test_format_refuses_values_parse_would_refuse() -> None:
    with pytest.raises(ResourceError, match="finer than 1m"):
        format_quantity(Decimal("0.0005"), kind="cpu")
    with pytest.raises(ResourceError, match="zero or more"):
        format_quantity(-1, kind="memory")


def test_spec_renders_every_field_canonically() -> None:
    spec = ResourceSpec(cpu_request="0.5", cpu_limit=2, memory_request="1024Mi", memory_limit="4Gi")
    assert spec.to_kubernetes() == {
        "requests": {"cpu": "500m", "memory": "1Gi"},
        "limits": {"cpu": "2000m", "memory": "4Gi"},
    }
    assert spec.cpu_request_cores == Decimal("0.5")
    assert spec.cpu_limit_cores == Decimal(2)
    assert spec.memory_request_bytes == Decimal(2**30)
    assert spec.memory_limit_bytes == Decimal(4 * 2**30)


def test_spec_allows_zero_requests() -> None:
    spec = ResourceSpec(cpu_request=0, cpu_limit="1", memory_request="0", memory_limit="1Gi")
    assert spec.to_kubernetes()["requests"] == {"cpu": "0", "memory": "0"}


@pytest.mark.parametrize("field", ["cpu_limit", "memory_limit"])
def test_spec_refuses_zero_limits_naming_the_field(field: str) -> None:
    values = {"cpu_request": "0", "cpu_limit": "1", "memory_request": "0", "memory_limit": "1Gi"}
    values[field] = "0"
    with pytest.raises(PydanticValidationError, match=rf"{field}: '0' is zero"):
        ResourceSpec(**values)


def test_spec_refuses_cpu_request_above_limit_naming_both() -> None:
    with pytest.raises(ValueError, match=r"cpu_request '3000m' exceeds cpu_limit '2000m'"):
        ResourceSpec(cpu_request="3", cpu_limit="2", memory_request="1Gi", memory_limit="1Gi")


def test_spec_refuses_memory_request_above_limit_comparing_numerically() -> None:
    # As strings "512Mi" > "1Gi"; numerically it is below, so this one is valid ...
    ResourceSpec(cpu_request="1", cpu_limit="1", memory_request="512Mi", memory_limit="1Gi")
    # ... and 2G (2 * 10**9 bytes) is above 1Gi (1073741824 bytes).
    with pytest.raises(ValueError, match="memory_request '2G' exceeds memory_limit '1Gi'"):
        ResourceSpec(cpu_request="1", cpu_limit="1", memory_request="2G", memory_limit="1Gi")


def test_spec_error_names_field_value_and_example() -> None:
    with pytest.raises(PydanticValidationError) as info:
        ResourceSpec(cpu_request="lots", cpu_limit="2", memory_request="1Gi", memory_limit="2Gi")
    message = str(info.value)
    assert "cpu_request: 'lots' is not a CPU quantity" in message
    assert "e.g. '500m' or '2'" in message


def test_spec_is_frozen_and_forbids_unknown_fields() -> None:
    spec = get_preset("small")
    with pytest.raises(PydanticValidationError):
        spec.cpu_limit = "1"  # type: ignore[misc]
    with pytest.raises(PydanticValidationError, match="gpu"):
        ResourceSpec(
            cpu_request="1", cpu_limit="1", memory_request="1Gi", memory_limit="1Gi", gpu="1"
        )  # type: ignore[call-arg]


def test_from_mapping_lists_every_problem_as_a_resource_error() -> None:
    with pytest.raises(ResourceError) as info:
        ResourceSpec.from_mapping(
            {"cpu_request": "1", "cpu_limit": "2x", "memory_limit": "1Gi", "gpus": 1},
            origin="manifest.yaml: orchestrator.resources",
        )
    message = str(info.value)
    assert message.startswith("manifest.yaml: orchestrator.resources: invalid resource spec")
    assert "cpu_limit: '2x' is not a CPU quantity" in message
    assert "memory_request: required" in message
    assert "gpus: unknown field" in message


def test_from_mapping_refuses_a_non_mapping() -> None:
    with pytest.raises(ResourceError, match="expected a mapping"):
        ResourceSpec.from_mapping(["1", "2"])  # type: ignore[arg-type]


def test_spec_round_trips_through_json() -> None:
    spec = get_preset("large")
    assert ResourceSpec.model_validate_json(spec.model_dump_json()) == spec


def test_presets_have_the_documented_values_in_order() -> None:
    assert list(RESOURCE_PRESETS) == ["small", "medium", "large"]
    assert {size: spec.to_kubernetes() for size, spec in RESOURCE_PRESETS.items()} == {
        "small": {
            "requests": {"cpu": "250m", "memory": "512Mi"},
            "limits": {"cpu": "1000m", "memory": "2Gi"},
        },
        "medium": {
            "requests": {"cpu": "500m", "memory": "1Gi"},
            "limits": {"cpu": "2000m", "memory": "4Gi"},
        },
        "large": {
            "requests": {"cpu": "1000m", "memory": "2Gi"},
            "limits": {"cpu": "4000m", "memory": "8Gi"},
        },
    }


def test_presets_are_read_only() -> None:
    with pytest.raises(TypeError):
        RESOURCE_PRESETS["huge"] = get_preset("large")  # type: ignore[index]


def test_get_preset_returns_the_preset() -> None:
    assert get_preset("medium") is RESOURCE_PRESETS["medium"]


@pytest.mark.parametrize("size", ["xl", "Small", "", "medium "])
def test_unknown_size_lists_the_valid_sizes(size: str) -> None:
    with pytest.raises(ValueError, match="valid sizes: small, medium, large") as info:
        get_preset(size)
    assert isinstance(info.value, ResourceError)
    assert str(info.value) == f"unknown size {size!r}; valid sizes: small, medium, large"
