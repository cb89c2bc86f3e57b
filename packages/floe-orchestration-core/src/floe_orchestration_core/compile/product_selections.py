"""Applying ``floe.yaml`` to a project's transforms: compute overrides, partitions, and the
schedules and sensors of the artifacts, every selector resolved with
:meth:`~floe_orchestration_core.graph.TransformGraph.select`.

A selector that is malformed, that has an atom matching no transform, or that selects nothing
is a :class:`~floe_orchestration_core.errors.ProductSpecError` naming its path in floe.yaml
(``schedules[0].select``): nothing a user wrote is silently dropped.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, TypeVar

from pydantic import BaseModel
from pydantic import ValidationError as PydanticValidationError

from floe_orchestration_core.artifacts import (
    AssetCheckFailureSensor,
    FileArrivalSensor,
    PartitionConfig,
    RunFailureSensor,
    ScheduleConfig,
    TransformConfig,
    format_pydantic_errors,
)
from floe_orchestration_core.compile.product import FloeProductSpec, RunFailureSensorSpec
from floe_orchestration_core.errors import ProductSpecError, SelectionError

__all__ = ["ProductSelections", "apply_product_spec"]

_SENSOR_MODELS: dict[
    str, type[FileArrivalSensor] | type[RunFailureSensor] | type[AssetCheckFailureSensor]
] = {
    "file_arrival": FileArrivalSensor,
    "run_failure": RunFailureSensor,
    "asset_check_failure": AssetCheckFailureSensor,
}
_SHOWN = 5
_Model = TypeVar("_Model", bound=BaseModel)


@dataclass(frozen=True, slots=True)
class ProductSelections:
    """The parts of the artifacts that floe.yaml decides, resolved against the transforms."""

    transforms: tuple[TransformConfig, ...]
    schedules: tuple[ScheduleConfig, ...]
    sensors: tuple[FileArrivalSensor | RunFailureSensor | AssetCheckFailureSensor, ...]
    partitions: tuple[PartitionConfig, ...]


def _convert(
    model: type[_Model], data: dict[str, Any], path: str, problems: list[tuple[str, str]]
) -> _Model | None:
    """``model`` built from spec data; its errors recorded under floe.yaml's path names."""
    try:
        return model.model_validate(data)
    except PydanticValidationError as exc:
        for sub_path, message in format_pydantic_errors(exc):
            field = "select" if sub_path == "selection" else sub_path
            problems.append((f"{path}.{field}" if field != "$" else path, message))
        return None


def _shown(names: Sequence[str]) -> str:
    more = f" and {len(names) - _SHOWN} more" if len(names) > _SHOWN else ""
    return ", ".join(repr(n) for n in names[:_SHOWN]) + more


class _Selections:
    """Resolves floe.yaml selectors over one set of transforms, recording every problem."""

    def __init__(self, transforms: Sequence[TransformConfig]) -> None:
        from floe_orchestration_core.graph import TransformGraph

        self._graph = TransformGraph.from_transforms(transforms)

    def resolve(self, selector: str, path: str, problems: list[tuple[str, str]]) -> frozenset[str]:
        try:
            selected = self._graph.select(selector)
            unmatched = self._graph.unmatched_hints(selector)
        except SelectionError as exc:
            problems.append((path, str(exc)))
            return frozenset()
        if unmatched:
            problems.append(
                (
                    path,
                    f"selector '{selector}': {'; '.join(unmatched[:_SHOWN])}"
                    + (f"; and {len(unmatched) - _SHOWN} more" if len(unmatched) > _SHOWN else "")
                    + "; fix or remove it (a selector "
                    "that selects nothing is never ignored)",
                )
            )
        elif not selected:
            problems.append((path, f"selector '{selector}' selects no transform"))
        return selected


def _partition_of(
    spec: FloeProductSpec, selections: _Selections, problems: list[tuple[str, str]]
) -> dict[str, str]:
    owner: dict[str, str] = {}
    for index, partition in enumerate(spec.partitions):
        path = f"partitions[{index}].select"
        clashes: dict[str, list[str]] = {}
        for name in sorted(selections.resolve(partition.select, path, problems)):
            first = owner.setdefault(name, partition.name)
            if first != partition.name:
                clashes.setdefault(first, []).append(name)
        for first, names in clashes.items():
            problems.append(
                (
                    path,
                    f"partitions '{first}' and '{partition.name}' both select {_shown(names)}; "
                    "a transform belongs to one partition at most",
                )
            )
    return owner


def apply_product_spec(
    spec: FloeProductSpec, transforms: Sequence[TransformConfig], origin: str = "floe.yaml"
) -> ProductSelections:
    """Apply compute overrides and partitions to ``transforms`` and build schedules, sensors and
    partitions for the artifacts. Every selector must select something: ProductSpecError (naming
    ``origin`` and each selector's path in floe.yaml) otherwise."""
    problems: list[tuple[str, str]] = []
    schedules = [
        _convert(ScheduleConfig, s.model_dump(by_alias=False), f"schedules[{i}]", problems)
        for i, s in enumerate(spec.schedules)
    ]
    sensors = [
        _convert(
            _SENSOR_MODELS[sensor.type],
            sensor.model_dump(by_alias=False),
            f"sensors[{i}]",
            problems,
        )
        for i, sensor in enumerate(spec.sensors)
    ]
    partitions = [
        _convert(PartitionConfig, p.model_dump(exclude={"select"}), f"partitions[{i}]", problems)
        for i, p in enumerate(spec.partitions)
    ]
    selectors = [(f"schedules[{i}].select", s.selection) for i, s in enumerate(spec.schedules)]
    selectors += [
        (f"sensors[{i}].select", s.selection)
        for i, s in enumerate(spec.sensors)
        if not isinstance(s, RunFailureSensorSpec)
    ]
    overrides = spec.compute.overrides if spec.compute is not None else ()
    result = list(transforms)
    if transforms and (overrides or spec.partitions or selectors):
        selections = _Selections(result)
        compute_of: dict[str, str] = {}
        for i, override in enumerate(overrides):
            path = f"compute.overrides[{i}].select"
            for name in selections.resolve(override.select, path, problems):
                compute_of[name] = override.compute
        default = spec.compute.default_target if spec.compute is not None else None
        changed = {name: c for name, c in compute_of.items() if c != default}
        if changed:
            result = [
                t.model_copy(update={"compute": changed[t.name]}) if t.name in changed else t
                for t in result
            ]
            selections = _Selections(result)
        partition_of = _partition_of(spec, selections, problems)
        if partition_of:
            result = [
                t.model_copy(update={"partition": partition_of[t.name]})
                if t.name in partition_of
                else t
                for t in result
            ]
        for path, selector in selectors:
            selections.resolve(selector, path, problems)
    else:
        paths = [f"compute.overrides[{i}].select" for i in range(len(overrides))]
        paths += [f"partitions[{i}].select" for i in range(len(spec.partitions))]
        problems.extend(
            (path, "the dbt project has no models, seeds or snapshots to select")
            for path in [*paths, *(path for path, _ in selectors)]
        )
    if problems:
        listing = "\n".join(f"  {path}: {message}" for path, message in problems)
        raise ProductSpecError(f"{origin}: {len(problems)} problem(s):\n{listing}", problems)
    return ProductSelections(
        transforms=tuple(result),
        schedules=tuple(s for s in schedules if s is not None),
        sensors=tuple(s for s in sensors if s is not None),
        partitions=tuple(p for p in partitions if p is not None),
    )
