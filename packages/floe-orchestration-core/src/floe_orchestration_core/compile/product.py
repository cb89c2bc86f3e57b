"""``floe.yaml``: the product specification a data engineer writes beside ``dbt_project.yml``.

Checklist for a user writing ``floe.yaml`` (every section is optional)::

    name: retail-analytics          # default: the dbt project's name
    version: 1.2.0                  # default: 0.0.0 (quote versions like "1.10")
    description: "…"
    owners: [data-team@example.com]
    dbt: {project_dir: ., profiles_dir: ., target: dev}   # paths relative to floe.yaml's folder
    compute:                        # default: one target, the profile's default target
      default: duckdb               # must be one of targets (optional when there is one target)
      targets:                      # type, threads, host/port/path: the profile's unless set
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
    ingestion:                      # declared connectors (compile/ingestion.py has the rules)
      - {name: shop, connector: airbyte, source: source-faker, config: {count: 500},
         streams: [users, purchases], destination: {compute: duckdb, schema: raw}}

Rules enforced here (each a :class:`ProductSpecError` naming the file and the JSON path of the
wrong field, e.g. ``schedules[0].cron``): unknown keys are refused everywhere; names of compute
targets, schedules, sensors and partitions are identifiers and unique in their section; the
default compute target and every override's compute target are defined; crons and timezones
are valid (the same checks as the artifacts' ``ScheduleConfig``); a compute target's
``properties`` hold no secret written as a value (``password: ...``, ``token: ...``, a URL with
a password: give the environment variable's name instead, e.g. ``password_env: PG_PASSWORD``),
and no refused value is ever repeated in a message. Selectors are checked against
the dbt project when compiling (:mod:`floe_orchestration_core.compile`): a ``select`` that matches
no transform is an error there.

``select`` in ``floe.yaml`` becomes ``selection`` in CompiledArtifacts: floe.yaml's schedule
and sensor models are the artifacts' models under that key name. Applying the selectors to a
project's transforms is :mod:`floe_orchestration_core.compile.product_selections`.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import Annotated, Any, Literal

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
    DateOrDatetime,
    FileArrivalSensor,
    LineageSettings,
    MonitoringSettings,
    PythonAssetConfig,
    RetryPolicy,
    RunFailureSensor,
    ScheduleConfig,
    TimezoneName,
    format_pydantic_errors,
)
from floe_orchestration_core.artifacts.fields import Identifier, NonEmptyStr, repeated_names
from floe_orchestration_core.compile.ingestion import IngestionSpec
from floe_orchestration_core.env_secrets import refuse_literal_secrets
from floe_orchestration_core.errors import ProductSpecError
from floe_orchestration_core.safe_yaml import (
    YamlLines,
    load_yaml_document,
    read_bounded,
    with_lines,
)

__all__ = [
    "AssetCheckFailureSensorSpec",
    "ComputeOverrideSpec",
    "ComputeSpec",
    "ComputeTargetSpec",
    "DbtProjectSpec",
    "FileArrivalSensorSpec",
    "FloeProductSpec",
    "PartitionSpec",
    "RunFailureSensorSpec",
    "ScheduleSpec",
    "SensorSpec",
    "load_product_spec",
    "parse_product_spec_text",
    "product_spec_error",
    "read_product_spec_file",
]

ProductName = Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")]


class _Spec(BaseModel):
    # hide_input_in_errors: a refused value (a literal password) is never echoed, not even in
    # the traceback `floe --debug` prints.
    model_config = ConfigDict(frozen=True, extra="forbid", hide_input_in_errors=True)


class DbtProjectSpec(_Spec):
    """Where the dbt project is and how dbt is invoked; paths are relative to floe.yaml."""

    project_dir: NonEmptyStr | None = None
    profiles_dir: NonEmptyStr | None = None
    target: NonEmptyStr | None = None


class ComputeTargetSpec(_Spec):
    """A compute target; its name is its key under ``compute.targets``. ``type`` and
    ``threads`` default to the dbt profile target's (``dbt_target``, else the default one)."""

    type: NonEmptyStr | None = None
    dbt_target: NonEmptyStr | None = None
    threads: Annotated[int, Field(ge=1, le=1024)] | None = None
    properties: dict[str, JsonValue] = Field(default_factory=dict)

    @field_validator("properties")
    @classmethod
    def _no_literal_secret(cls, value: dict[str, JsonValue]) -> dict[str, JsonValue]:
        refuse_literal_secrets(value, "floe.yaml")
        return value


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


class _SelectSpelling(BaseModel):
    """floe.yaml writes ``select`` where the artifacts write ``selection``."""

    selection: NonEmptyStr = Field(default="*", alias="select")


#: A floe.yaml model reuses an artifacts model under floe.yaml's key names: ``selection:``
#: itself is not a floe.yaml key (refused like any other unknown key).
_FLOE_YAML_KEYS = ConfigDict(validate_by_name=False)


class ScheduleSpec(_SelectSpelling, ScheduleConfig):
    """A schedule as floe.yaml spells it: the artifacts' :class:`ScheduleConfig`, ``select``
    for ``selection``."""

    model_config = _FLOE_YAML_KEYS


class FileArrivalSensorSpec(_SelectSpelling, FileArrivalSensor):
    """The artifacts' :class:`FileArrivalSensor` as floe.yaml spells it (``select``)."""

    model_config = _FLOE_YAML_KEYS


class RunFailureSensorSpec(RunFailureSensor):
    """The artifacts' :class:`RunFailureSensor` as floe.yaml spells it."""

    model_config = _FLOE_YAML_KEYS


class AssetCheckFailureSensorSpec(_SelectSpelling, AssetCheckFailureSensor):
    """The artifacts' :class:`AssetCheckFailureSensor` as floe.yaml spells it (``select``)."""

    model_config = _FLOE_YAML_KEYS


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
    ingestion: tuple[IngestionSpec, ...] = ()
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
        problems = repeated_names(
            [
                ("schedules", [s.name for s in self.schedules]),
                ("sensors", [s.name for s in self.sensors]),
                ("partitions", [p.name for p in self.partitions]),
                ("python_assets", [a.name for a in self.python_assets]),
                ("ingestion", [i.name for i in self.ingestion]),
                ("alert_channels", [c.name for c in self.alert_channels]),
            ]
        )
        if problems:
            raise ValueError("\n".join(problems))
        return self

    def canonical_bytes(self) -> bytes:
        """A canonical JSON encoding (sorted keys), used to hash a spec given as an object."""
        return json.dumps(
            self.model_dump(mode="json"), sort_keys=True, separators=(",", ":")
        ).encode()


def product_spec_error(
    origin: str, exc: PydanticValidationError, lines: YamlLines | None = None
) -> ProductSpecError:
    """A ProductSpecError listing every invalid field of ``origin`` by JSON path, each with
    the line it is written on when ``lines`` (from the YAML text) knows it."""
    problems = format_pydantic_errors(exc)
    listing = "\n".join(f"  {entry}" for entry in with_lines(problems, lines))
    return ProductSpecError(f"{origin}: {len(problems)} invalid field(s):\n{listing}", problems)


def _validate(
    data: Mapping[str, Any], origin: str, lines: YamlLines | None = None
) -> FloeProductSpec:
    try:
        return FloeProductSpec.model_validate(dict(data))
    except PydanticValidationError as exc:
        raise product_spec_error(origin, exc, lines) from exc


def parse_product_spec_text(text: str, origin: str = "floe.yaml") -> FloeProductSpec:
    """Parse and validate floe.yaml text; ``origin`` names it in error messages, and each
    invalid field is listed with its line (``line 12: schedules[0].cron: …``)."""
    document = load_yaml_document(text, origin=origin)
    return _validate(document.data, origin, document.lines)


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
