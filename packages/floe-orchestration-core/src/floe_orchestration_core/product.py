"""``floe.yaml``: the product specification a data engineer writes beside ``dbt_project.yml``.

Checklist for a user writing ``floe.yaml`` (every section is optional)::

    name: retail-analytics          # default: the dbt project's name
    version: 1.2.0                  # default: 0.0.0 (quote versions like "1.10")
    description: "…"
    owners: [data-team@example.com]
    dbt: {project_dir: ., profiles_dir: ., target: dev}   # paths relative to floe.yaml's folder
    compute:
      default: duckdb               # must be one of targets (optional when there is one target)
      targets:
        duckdb: {type: duckdb, dbt_target: dev, threads: 4}
        duckdb_heavy: {type: duckdb, dbt_target: heavy, threads: 8, properties: {memory_limit: 4GB}}
      overrides:                    # applied in order; a later match wins
        - {select: "tag:heavy fct_orders+", compute: duckdb_heavy}
    schedules:
      - {name: daily, cron: "0 8 * * *", timezone: America/New_York, select: "*", enabled: true}
    sensors:
      - {type: file_arrival, name: landing_files, path: data/landing, pattern: "*.csv",
         select: "+stg_orders"}
      - {type: run_failure, name: on_failure, alert_channels: [console]}
      - {type: asset_check_failure, name: on_check_failure, select: "tag:critical"}
    retry: {max_retries: 3, delay_seconds: 10, backoff: exponential, jitter: plus_minus}
    partitions:
      - {name: daily_events, granularity: daily, start: 2024-01-01, timezone: UTC,
         select: "tag:daily", start_var: min_date, end_var: max_date}
    lineage: {namespace: retail, backend: openlineage, enabled: true}
    python_assets:                  # Python steps beside dbt; paths relative to floe.yaml
      - {name: load_landing, kind: ingestion, function: pipeline/ingest.py:load_landing,
         produces: [landing.orders], inputs: [data/landing]}
      - {name: publish, kind: publication, function: pipeline/publish.py:publish,
         depends_on: [fct_orders], outputs: [publication]}
    alert_channels:                 # 'console' exists without being declared
      - {type: webhook, name: ops_hook, url: "https://hooks.example/x",
         headers_env: {Authorization: OPS_HOOK_TOKEN}}
      - {type: email, name: oncall, smtp_host: smtp.example, sender: floe@example,
         recipients: [oncall@example], password_env: SMTP_PASSWORD}
    monitoring: {slow_run_factor: 2.0, window: 20, alert_channels: [console]}

Rules enforced here (each a :class:`ProductSpecError` naming the file and the JSON path of the
wrong field, e.g. ``schedules[0].cron``): unknown keys are refused everywhere; names of compute
targets, schedules, sensors and partitions are identifiers and unique in their section; the
default compute target and every override's compute target are defined; crons and timezones
are valid (the same checks as the artifacts' ``ScheduleConfig``). Selectors are checked against
the dbt project when compiling (:mod:`floe_orchestration_core.compile`): a ``select`` that matches
no transform is an error there.

``select`` in ``floe.yaml`` becomes ``selection`` in CompiledArtifacts.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any, Literal, TypeVar

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    JsonValue,
    StringConstraints,
    field_validator,
    model_validator,
)
from pydantic import ValidationError as PydanticValidationError

from floe_orchestration_core.artifacts import (
    AlertChannelConfig,
    AssetCheckFailureSensor,
    CronExpressionStr,
    DateOrDatetime,
    FileArrivalSensor,
    LineageSettings,
    MonitoringSettings,
    PartitionConfig,
    PythonAssetConfig,
    RetryPolicy,
    RunFailureSensor,
    ScheduleConfig,
    TimezoneName,
    TransformConfig,
    format_pydantic_errors,
)
from floe_orchestration_core.errors import ProductSpecError, SelectionError
from floe_orchestration_core.safe_yaml import load_yaml_mapping, read_bounded

__all__ = [
    "AssetCheckFailureSensorSpec",
    "ComputeOverrideSpec",
    "ComputeSpec",
    "ComputeTargetSpec",
    "DbtProjectSpec",
    "FileArrivalSensorSpec",
    "FloeProductSpec",
    "PartitionSpec",
    "ProductSelections",
    "RunFailureSensorSpec",
    "ScheduleSpec",
    "SensorSpec",
    "apply_product_spec",
    "load_product_spec",
    "parse_product_spec_text",
    "product_spec_error",
    "read_product_spec_file",
]

Identifier = Annotated[
    str, StringConstraints(pattern=r"^[A-Za-z_][A-Za-z0-9_]*$", min_length=1, max_length=128)
]
NonEmptyStr = Annotated[str, StringConstraints(min_length=1)]
ProductName = Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")]


class _Spec(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class DbtProjectSpec(_Spec):
    """Where the dbt project is and how dbt is invoked; paths are relative to floe.yaml."""

    project_dir: NonEmptyStr | None = None
    profiles_dir: NonEmptyStr | None = None
    target: NonEmptyStr | None = None


class ComputeTargetSpec(_Spec):
    """A compute target; its name is its key under ``compute.targets``."""

    type: NonEmptyStr
    dbt_target: NonEmptyStr | None = None
    threads: Annotated[int, Field(ge=1, le=1024)] | None = None
    properties: dict[str, JsonValue] = Field(default_factory=dict)


class ComputeOverrideSpec(_Spec):
    """Run the transforms matched by ``select`` (dbt selector syntax) on ``compute``."""

    select: NonEmptyStr
    compute: Identifier


class ComputeSpec(_Spec):
    default: Identifier | None = None
    targets: dict[Identifier, ComputeTargetSpec] = Field(min_length=1)
    overrides: tuple[ComputeOverrideSpec, ...] = ()

    @model_validator(mode="after")
    def _targets_defined(self) -> ComputeSpec:
        defined = ", ".join(self.targets)
        problems: list[str] = []
        if self.default is None and len(self.targets) > 1:
            problems.append(
                f"default: several compute targets are defined ({defined}); name the one "
                "transforms run on by default"
            )
        elif self.default is not None and self.default not in self.targets:
            problems.append(
                f"default: compute target '{self.default}' is not defined; defined: {defined}"
            )
        for index, override in enumerate(self.overrides):
            if override.compute not in self.targets:
                problems.append(
                    f"overrides[{index}].compute: compute target '{override.compute}' is not "
                    f"defined; defined: {defined}"
                )
        if problems:
            raise ValueError("\n".join(problems))
        return self

    @property
    def default_target(self) -> str:
        """The default target's name (the only target when ``default`` is not written)."""
        return self.default if self.default is not None else next(iter(self.targets))


class ScheduleSpec(_Spec):
    name: Identifier
    cron: CronExpressionStr
    timezone: TimezoneName = "UTC"
    select: NonEmptyStr = "*"
    enabled: bool = True
    description: str = ""


class _SensorSpecBase(_Spec):
    name: Identifier
    enabled: bool = True
    minimum_interval_seconds: Annotated[int, Field(ge=1, le=86_400)] = 30
    description: str = ""


class FileArrivalSensorSpec(_SensorSpecBase):
    type: Literal["file_arrival"]
    path: NonEmptyStr
    pattern: NonEmptyStr = "*"
    select: NonEmptyStr = "*"


class RunFailureSensorSpec(_SensorSpecBase):
    type: Literal["run_failure"]
    alert_channels: tuple[str, ...] = ()


class AssetCheckFailureSensorSpec(_SensorSpecBase):
    type: Literal["asset_check_failure"]
    select: NonEmptyStr = "*"
    alert_channels: tuple[str, ...] = ()


SensorSpec = Annotated[
    FileArrivalSensorSpec | RunFailureSensorSpec | AssetCheckFailureSensorSpec,
    Field(discriminator="type"),
]


class PartitionSpec(_Spec):
    name: Identifier
    granularity: Literal["hourly", "daily", "weekly", "monthly"]
    start: DateOrDatetime
    end: DateOrDatetime | None = None
    timezone: TimezoneName = "UTC"
    select: NonEmptyStr
    start_var: Identifier = "min_date"
    end_var: Identifier = "max_date"


class FloeProductSpec(_Spec):
    """The validated content of ``floe.yaml``."""

    name: ProductName | None = None
    version: NonEmptyStr = "0.0.0"
    description: str = ""
    owners: tuple[str, ...] = ()
    dbt: DbtProjectSpec = Field(default_factory=DbtProjectSpec)
    compute: ComputeSpec | None = None
    schedules: tuple[ScheduleSpec, ...] = ()
    sensors: tuple[SensorSpec, ...] = ()
    retry: RetryPolicy = Field(default_factory=RetryPolicy)
    partitions: tuple[PartitionSpec, ...] = ()
    lineage: LineageSettings = Field(default_factory=LineageSettings)
    python_assets: tuple[PythonAssetConfig, ...] = ()
    alert_channels: tuple[AlertChannelConfig, ...] = ()
    monitoring: MonitoringSettings = Field(default_factory=MonitoringSettings)

    @field_validator("version", mode="before")
    @classmethod
    def _version_text(cls, value: Any) -> Any:
        if isinstance(value, bool | float):
            raise ValueError(
                f"version {value!r} was read as a {type(value).__name__}; quote it "
                f'(version: "{value}") so it stays exactly as written'
            )
        if isinstance(value, int):
            return str(value)
        return value

    @model_validator(mode="after")
    def _names_unique(self) -> FloeProductSpec:
        problems: list[str] = []
        for section, names in (
            ("schedules", [s.name for s in self.schedules]),
            ("sensors", [s.name for s in self.sensors]),
            ("partitions", [p.name for p in self.partitions]),
            ("python_assets", [a.name for a in self.python_assets]),
            ("alert_channels", [c.name for c in self.alert_channels]),
        ):
            repeated = sorted(name for name, count in Counter(names).items() if count > 1)
            if repeated:
                problems.append(f"{section}: names must be unique; repeated: {', '.join(repeated)}")
        if problems:
            raise ValueError("\n".join(problems))
        return self

    def canonical_bytes(self) -> bytes:
        """A canonical JSON encoding (sorted keys), used to hash a spec given as an object."""
        return json.dumps(
            self.model_dump(mode="json"), sort_keys=True, separators=(",", ":")
        ).encode()


def product_spec_error(origin: str, exc: PydanticValidationError) -> ProductSpecError:
    """A ProductSpecError listing every invalid field of ``origin`` by JSON path."""
    problems = format_pydantic_errors(exc)
    listing = "\n".join(f"  {path}: {message}" for path, message in problems)
    return ProductSpecError(f"{origin}: {len(problems)} invalid field(s):\n{listing}", problems)


def _validate(data: Mapping[str, Any], origin: str) -> FloeProductSpec:
    try:
        return FloeProductSpec.model_validate(dict(data))
    except PydanticValidationError as exc:
        raise product_spec_error(origin, exc) from exc


def parse_product_spec_text(text: str, origin: str = "floe.yaml") -> FloeProductSpec:
    """Parse and validate floe.yaml text; ``origin`` names it in error messages."""
    return _validate(load_yaml_mapping(text, origin=origin), origin)


def read_product_spec_file(path: str | Path) -> tuple[FloeProductSpec, bytes]:
    """Read, parse and validate a floe.yaml file; also return its bytes (for hashing)."""
    origin = str(path)
    data = read_bounded(path)
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ProductSpecError(
            f"{origin}: not UTF-8 text ({exc.reason}); save it as UTF-8"
        ) from exc
    return parse_product_spec_text(text, origin), data


def load_product_spec(source: str | Path | Mapping[str, Any]) -> FloeProductSpec:
    """Load floe.yaml from a path (a ``str`` is a path) or validate an already-parsed mapping."""
    if isinstance(source, str | Path):
        return read_product_spec_file(source)[0]
    if not isinstance(source, Mapping):
        raise ProductSpecError(
            f"floe.yaml: expected a path or a mapping, got {type(source).__name__}"
        )
    return _validate(source, "floe.yaml")


# Applying the spec to the transforms of a project ----------------------------------------------
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
            unmatched = self._graph.unmatched(selector)
        except SelectionError as exc:
            problems.append((path, str(exc)))
            return frozenset()
        if unmatched:
            problems.append(
                (
                    path,
                    f"selector '{selector}': {_shown(unmatched)} matched no transform; fix or "
                    "remove it (a selector that selects nothing is never ignored)",
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
        _convert(
            ScheduleConfig,
            {**s.model_dump(exclude={"select"}), "selection": s.select},
            f"schedules[{i}]",
            problems,
        )
        for i, s in enumerate(spec.schedules)
    ]
    sensors = []
    for i, sensor in enumerate(spec.sensors):
        data = sensor.model_dump(exclude={"select"})
        select = getattr(sensor, "select", None)
        if select is not None:
            data["selection"] = select
        sensors.append(_convert(_SENSOR_MODELS[sensor.type], data, f"sensors[{i}]", problems))
    partitions = [
        _convert(PartitionConfig, p.model_dump(exclude={"select"}), f"partitions[{i}]", problems)
        for i, p in enumerate(spec.partitions)
    ]
    selectors = [(f"schedules[{i}].select", s.select) for i, s in enumerate(spec.schedules)]
    selectors += [
        (f"sensors[{i}].select", s.select)
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
