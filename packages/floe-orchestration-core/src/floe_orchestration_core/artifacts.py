"""CompiledArtifacts: the versioned contract between floe's compiler and every orchestrator.

Implementer's checklist (for an orchestrator adapter reading artifacts):

- Read artifacts only through :func:`load_artifacts` (or by constructing
  :class:`CompiledArtifacts`); never parse the JSON by hand.
- Build the transform graph with :class:`floe_orchestration_core.graph.TransformGraph` before
  creating anything: it raises :class:`~floe_orchestration_core.errors.ValidationError` for
  cycles, duplicates and unknown dependencies. The model here validates fields and
  references between sections (compute targets, partitions), not graph shape, so that
  ``floe validate`` can report every graph problem at once.
- Every selection in the artifacts (compute overrides, partition membership) is already
  resolved by the compiler: a transform carries its ``compute`` and ``partition`` names.
  Schedules and sensors keep their dbt-style ``selection`` string; resolve it with
  ``TransformGraph.select``.
- Transforms are identified by ``name`` (unique within artifacts); ``unique_id`` is dbt's id.

Schema version policy: the major version changes when a document valid for the previous
version may be refused or read differently; the minor when optional fields are added.
"""

from __future__ import annotations

import json
import re
from collections import Counter
from collections.abc import Mapping
from datetime import date, datetime
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any, Final, Literal

from pydantic import (
    AfterValidator,
    AwareDatetime,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    JsonValue,
    StringConstraints,
    model_validator,
)
from pydantic import ValidationError as PydanticValidationError

from floe_orchestration_core.errors import ArtifactsError

__all__ = [
    "SCHEMA_VERSION",
    "AlertChannelConfig",
    "ArtifactsMetadata",
    "AssetCheckFailureSensor",
    "ColumnInfo",
    "CompiledArtifacts",
    "ComputeTarget",
    "ConsoleAlertChannel",
    "CronExpressionStr",
    "DateOrDatetime",
    "DbtSettings",
    "EmailAlertChannel",
    "ExposureConfig",
    "FileArrivalSensor",
    "LineageSettings",
    "MonitoringSettings",
    "PartitionConfig",
    "PythonAssetConfig",
    "QualityCheck",
    "ResourceType",
    "RetryPolicy",
    "RunFailureSensor",
    "ScheduleConfig",
    "SensorConfig",
    "Severity",
    "SourceConfig",
    "TimezoneName",
    "TransformConfig",
    "WebhookAlertChannel",
    "artifacts_json_schema",
    "format_pydantic_errors",
    "load_artifacts",
]

SCHEMA_VERSION: Final = "2.0.0"

#: Names of schedules, sensors, compute targets and partitions: safe as identifiers in every
#: orchestrator we know (Dagster definition names, Airflow DAG ids, Kubernetes labels).
Identifier = Annotated[
    str, StringConstraints(pattern=r"^[A-Za-z_][A-Za-z0-9_]*$", min_length=1, max_length=128)
]
NonEmptyStr = Annotated[str, StringConstraints(min_length=1)]
Sha256 = Annotated[str, StringConstraints(pattern=r"^[0-9a-f]{64}$")]


def _date_or_datetime(value: object) -> object:
    # In JSON both arrive as strings, and pydantic's lax date would read
    # "2024-01-01T00:00:00Z" as a date, dropping the time: a string with a time part is a
    # datetime, any other string a date.
    if isinstance(value, str):
        text = value.strip()
        try:
            if "T" in text or " " in text:
                return datetime.fromisoformat(text.replace("Z", "+00:00"))
            return date.fromisoformat(text)
        except ValueError:
            return value  # let pydantic report it with its own message
    return value


def _valid_cron(value: str) -> str:
    from floe_orchestration_core.scheduling import validate_cron

    validate_cron(value)
    return value


def _valid_timezone(value: str) -> str:
    from floe_orchestration_core.scheduling import validate_timezone

    validate_timezone(value)
    return value


#: A five-field cron expression or macro, validated by :func:`scheduling.validate_cron`.
CronExpressionStr = Annotated[NonEmptyStr, AfterValidator(_valid_cron)]
#: An IANA timezone name, validated by :func:`scheduling.validate_timezone`.
TimezoneName = Annotated[NonEmptyStr, AfterValidator(_valid_timezone)]

#: A calendar date (``2024-01-01``) or an instant (``2024-01-01T06:00:00Z``), kept as given.
DateOrDatetime = Annotated[date | datetime, BeforeValidator(_date_or_datetime)]


class _Frozen(BaseModel):
    model_config = ConfigDict(
        frozen=True,
        extra="forbid",
        validate_by_name=True,
        validate_by_alias=True,
        serialize_by_alias=True,
        use_enum_values=False,
    )


class ResourceType(StrEnum):
    """dbt resource types that become transforms."""

    MODEL = "model"
    SEED = "seed"
    SNAPSHOT = "snapshot"


class Severity(StrEnum):
    """dbt test severity. ``error`` tests block downstream work; ``warn`` tests only report."""

    ERROR = "error"
    WARN = "warn"


class ColumnInfo(_Frozen):
    """A documented column of a transform or source (from the dbt manifest)."""

    name: NonEmptyStr
    data_type: str | None = None
    description: str = ""


class QualityCheck(_Frozen):
    """A dbt test, attached to the transform (or source) it checks.

    ``attached_to`` is the name of the transform (or the ``source.table`` key of the source)
    the check belongs to; ``references`` lists every transform or source the test reads
    (a ``relationships`` test reads two).
    """

    name: NonEmptyStr
    unique_id: NonEmptyStr
    kind: Literal["generic", "singular"]
    test_name: NonEmptyStr = Field(
        description="generic test macro (not_null, unique, …) or the singular test's name"
    )
    column: str | None = None
    severity: Severity = Severity.ERROR
    attached_to: NonEmptyStr
    references: tuple[str, ...] = ()
    description: str = ""
    tags: tuple[str, ...] = ()


class TransformConfig(_Frozen):
    """One dbt model, seed or snapshot: a node of the transform graph."""

    name: NonEmptyStr = Field(description="unique among transforms; versioned models: name_vN")
    unique_id: NonEmptyStr
    resource_type: ResourceType
    package_name: NonEmptyStr
    path: str = Field(description="original file path, relative to the dbt project")
    database: str | None = None
    schema_name: str | None = Field(default=None, alias="schema")
    alias: str | None = None
    materialization: NonEmptyStr
    language: Literal["sql", "python"] = "sql"
    version: str | None = None
    depends_on: tuple[str, ...] = Field(default=(), description="names of upstream transforms")
    source_dependencies: tuple[str, ...] = Field(
        default=(), description="keys ('source_name.table') of upstream sources"
    )
    compute: Identifier
    partition: Identifier | None = None
    tags: tuple[str, ...] = ()
    meta: dict[str, JsonValue] = Field(default_factory=dict)
    description: str = ""
    owners: tuple[str, ...] = ()
    columns: tuple[ColumnInfo, ...] = ()
    quality_checks: tuple[QualityCheck, ...] = ()

    @property
    def is_ephemeral(self) -> bool:
        """Ephemeral models are inlined by dbt: they are graph nodes but build nothing."""
        return self.materialization == "ephemeral"

    @property
    def relation_name(self) -> str:
        """The warehouse relation this transform writes, ``database.schema.alias``."""
        parts = [self.database, self.schema_name, self.alias or self.name]
        return ".".join(p for p in parts if p)


class SourceConfig(_Frozen):
    """A dbt source table: an upstream input that floe does not build."""

    key: NonEmptyStr = Field(description="'source_name.table', unique among sources")
    unique_id: NonEmptyStr
    source_name: NonEmptyStr
    name: NonEmptyStr
    package_name: NonEmptyStr
    database: str | None = None
    schema_name: str | None = Field(default=None, alias="schema")
    identifier: str | None = None
    loader: str = ""
    description: str = ""
    tags: tuple[str, ...] = ()
    meta: dict[str, JsonValue] = Field(default_factory=dict)
    columns: tuple[ColumnInfo, ...] = ()
    quality_checks: tuple[QualityCheck, ...] = ()

    @property
    def relation_name(self) -> str:
        parts = [self.database, self.schema_name, self.identifier or self.name]
        return ".".join(p for p in parts if p)


class ExposureConfig(_Frozen):
    """A dbt exposure: a downstream consumer (dashboard, application) of transforms."""

    name: NonEmptyStr
    unique_id: NonEmptyStr
    type: str
    owner: str = ""
    url: str | None = None
    description: str = ""
    depends_on: tuple[str, ...] = Field(default=(), description="names of transforms read")
    source_dependencies: tuple[str, ...] = ()


class ComputeTarget(_Frozen):
    """Where transforms run: a dbt target of the profile, with execution settings."""

    name: Identifier
    type: NonEmptyStr = Field(description="warehouse adapter, e.g. duckdb, postgres, snowflake")
    dbt_target: str | None = Field(
        default=None, description="dbt profiles.yml target; None means the profile's default"
    )
    threads: Annotated[int, Field(ge=1, le=1024)] | None = None
    properties: dict[str, JsonValue] = Field(default_factory=dict)


class ScheduleConfig(_Frozen):
    """A cron schedule for a selection of transforms."""

    name: Identifier
    cron: CronExpressionStr
    timezone: TimezoneName = "UTC"
    selection: NonEmptyStr = "*"
    enabled: bool = True
    description: str = ""


class _SensorBase(_Frozen):
    name: Identifier
    enabled: bool = True
    minimum_interval_seconds: Annotated[int, Field(ge=1, le=86_400)] = 30
    description: str = ""


class FileArrivalSensor(_SensorBase):
    """Starts a run of ``selection`` once for each new file matching ``pattern`` in ``path``."""

    type: Literal["file_arrival"] = "file_arrival"
    path: NonEmptyStr
    pattern: NonEmptyStr = "*"
    selection: NonEmptyStr = "*"


class RunFailureSensor(_SensorBase):
    """Reacts to failed runs (for example by alerting)."""

    type: Literal["run_failure"] = "run_failure"
    alert_channels: tuple[str, ...] = ()


class AssetCheckFailureSensor(_SensorBase):
    """Reacts to failed quality checks of ``selection``."""

    type: Literal["asset_check_failure"] = "asset_check_failure"
    selection: NonEmptyStr = "*"
    alert_channels: tuple[str, ...] = ()


SensorConfig = Annotated[
    FileArrivalSensor | RunFailureSensor | AssetCheckFailureSensor, Field(discriminator="type")
]


class RetryPolicy(_Frozen):
    """How failed transform executions are retried (mirrors Dagster's RetryPolicy)."""

    max_retries: Annotated[int, Field(ge=0, le=100)] = 0
    delay_seconds: Annotated[float, Field(ge=0, le=86_400)] = 0.0
    backoff: Literal["constant", "linear", "exponential"] = "constant"
    jitter: Literal["none", "full", "plus_minus"] = "none"


class PartitionConfig(_Frozen):
    """A time-window partitioning; transforms whose ``partition`` names it are partitioned.

    The window is handed to dbt as the vars ``start_var`` and ``end_var`` (ISO-8601).
    """

    name: Identifier
    granularity: Literal["hourly", "daily", "weekly", "monthly"]
    start: DateOrDatetime
    end: DateOrDatetime | None = None
    timezone: TimezoneName = "UTC"
    start_var: Identifier = "min_date"
    end_var: Identifier = "max_date"


# Python assets, alerts and monitoring ---------------------------------------------------------
EnvVarName = Annotated[str, StringConstraints(pattern=r"^[A-Za-z_][A-Za-z0-9_]*$", max_length=128)]
FunctionRef = Annotated[
    str,
    StringConstraints(pattern=r"^[^:]+\.py:[A-Za-z_][A-Za-z0-9_]*$"),
    Field(description="'path/to/file.py:function', the path relative to dbt.project_dir's base"),
]


class PythonAssetConfig(_Frozen):
    """A Python step of the product beside the dbt transforms: ingestion, publication, other.

    ``function`` is called with one argument, an
    :class:`~floe_orchestration_core.python_assets.AssetRunContext`, and may return a mapping of
    metadata (row counts, paths) to record. An asset that ``produces`` dbt sources
    (``'source_name.table'``) is the asset of those sources: dbt models reading them run after it.
    ``depends_on`` names transforms, source keys or other Python assets that must run first.
    """

    name: Identifier
    kind: Literal["ingestion", "publication", "python"] = "python"
    function: FunctionRef
    produces: tuple[str, ...] = ()
    depends_on: tuple[str, ...] = ()
    inputs: tuple[str, ...] = Field(
        default=(), description="files or folders read (relative paths), for lineage"
    )
    outputs: tuple[str, ...] = Field(
        default=(), description="files or folders written (relative paths), for lineage"
    )
    compute: Identifier | None = Field(
        default=None, description="compute target whose properties the function gets"
    )
    description: str = ""
    tags: tuple[str, ...] = ()

    @property
    def file(self) -> str:
        """The Python file part of :attr:`function`."""
        return self.function.rsplit(":", 1)[0]

    @property
    def callable_name(self) -> str:
        """The function name part of :attr:`function`."""
        return self.function.rsplit(":", 1)[1]


class _AlertChannelBase(_Frozen):
    name: Identifier
    dedup_window_seconds: Annotated[int, Field(ge=0, le=7 * 86_400)] = Field(
        default=900, description="an identical alert within this window is sent once"
    )
    max_per_hour: Annotated[int, Field(ge=1, le=10_000)] = Field(
        default=30, description="alerts above this rate are counted and summarised, not sent"
    )


class ConsoleAlertChannel(_AlertChannelBase):
    """Alerts written to the orchestrator's log (stderr)."""

    type: Literal["console"] = "console"


class WebhookAlertChannel(_AlertChannelBase):
    """Alerts POSTed as JSON; header values come from environment variables, never literals."""

    type: Literal["webhook"] = "webhook"
    url: Annotated[str, StringConstraints(pattern=r"^https?://[^\s]+$")]
    headers_env: dict[str, EnvVarName] = Field(
        default_factory=dict, description="header name -> environment variable holding its value"
    )
    timeout_seconds: Annotated[float, Field(gt=0, le=60)] = 5.0
    max_attempts: Annotated[int, Field(ge=1, le=10)] = 3
    total_timeout_seconds: Annotated[float, Field(gt=0, le=300)] = 15.0


class EmailAlertChannel(_AlertChannelBase):
    """Alerts sent over SMTP; the password comes from an environment variable."""

    type: Literal["email"] = "email"
    smtp_host: NonEmptyStr
    smtp_port: Annotated[int, Field(ge=1, le=65_535)] = 25
    starttls: bool = False
    username: str | None = None
    password_env: EnvVarName | None = None
    sender: NonEmptyStr
    recipients: tuple[NonEmptyStr, ...] = Field(min_length=1)
    timeout_seconds: Annotated[float, Field(gt=0, le=120)] = 10.0


AlertChannelConfig = Annotated[
    ConsoleAlertChannel | WebhookAlertChannel | EmailAlertChannel, Field(discriminator="type")
]


class MonitoringSettings(_Frozen):
    """Run-duration monitoring: a run slower than ``slow_run_factor`` x its median alerts."""

    slow_run_factor: Annotated[float, Field(gt=1, le=1000)] = 2.0
    window: Annotated[int, Field(ge=3, le=1000)] = Field(
        default=20, description="how many recent successful runs the median is taken over"
    )
    min_history: Annotated[int, Field(ge=1, le=1000)] = Field(
        default=3, description="no slow-run alert before this many successful runs"
    )
    alert_channels: tuple[str, ...] = ()


class LineageSettings(_Frozen):
    """Where lineage goes. ``backend`` None means the platform manifest decides."""

    enabled: bool = True
    namespace: NonEmptyStr = "floe"
    backend: str | None = None


class ArtifactsMetadata(_Frozen):
    product_name: Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")]
    product_version: NonEmptyStr = "0.0.0"
    compiled_at: AwareDatetime
    source_hash: Sha256 = Field(description="sha256 of the manifest and floe.yaml bytes")
    floe_version: NonEmptyStr
    owners: tuple[str, ...] = ()
    description: str = ""


class DbtSettings(_Frozen):
    project_name: NonEmptyStr
    project_dir: NonEmptyStr
    manifest_path: NonEmptyStr
    profiles_dir: str | None = None
    target: str | None = None
    manifest_checksum: Sha256
    manifest_schema_version: Annotated[str, StringConstraints(pattern=r"^v\d+$")]
    dbt_version: str | None = None
    adapter_type: str | None = None
    #: The slim manifest ``floe compile`` wrote beside the artifacts (see
    #: :mod:`floe_orchestration_core.slim_manifest`), as given; None when not written.
    slim_manifest_path: str | None = None


class CompiledArtifacts(_Frozen):
    """The compiled data product. Build with the compiler or :func:`load_artifacts`."""

    schema_version: Literal["2.0.0"] = "2.0.0"
    metadata: ArtifactsMetadata
    dbt: DbtSettings
    compute_targets: tuple[ComputeTarget, ...] = Field(min_length=1)
    default_compute: Identifier
    transforms: tuple[TransformConfig, ...] = ()
    sources: tuple[SourceConfig, ...] = ()
    exposures: tuple[ExposureConfig, ...] = ()
    schedules: tuple[ScheduleConfig, ...] = ()
    sensors: tuple[SensorConfig, ...] = ()
    retry_policy: RetryPolicy = Field(default_factory=RetryPolicy)
    partitions: tuple[PartitionConfig, ...] = ()
    lineage: LineageSettings = Field(default_factory=LineageSettings)
    python_assets: tuple[PythonAssetConfig, ...] = ()
    alert_channels: tuple[AlertChannelConfig, ...] = ()
    monitoring: MonitoringSettings = Field(default_factory=MonitoringSettings)

    @model_validator(mode="after")
    def _references_resolve(self) -> CompiledArtifacts:
        problems: list[str] = []
        targets = [t.name for t in self.compute_targets]
        partitions = [p.name for p in self.partitions]
        for section, names in (
            ("compute_targets", targets),
            ("schedules", [s.name for s in self.schedules]),
            ("sensors", [s.name for s in self.sensors]),
            ("partitions", partitions),
            ("sources", [s.key for s in self.sources]),
            ("python_assets", [a.name for a in self.python_assets]),
            ("alert_channels", [c.name for c in self.alert_channels]),
        ):
            repeated = sorted(name for name, count in Counter(names).items() if count > 1)
            if repeated:
                problems.append(f"{section}: names must be unique; repeated: {', '.join(repeated)}")
        known = ", ".join(targets)
        if self.default_compute not in targets:
            problems.append(
                f"default_compute: '{self.default_compute}' is not a compute target; "
                f"defined: {known}"
            )
        for index, transform in enumerate(self.transforms):
            if transform.compute not in targets:
                problems.append(
                    f"transforms[{index}].compute: transform '{transform.name}' runs on compute "
                    f"target '{transform.compute}', which is not defined; defined: {known}"
                )
            if transform.partition is not None and transform.partition not in partitions:
                problems.append(
                    f"transforms[{index}].partition: transform '{transform.name}' uses partition "
                    f"'{transform.partition}', which is not defined; defined: "
                    f"{', '.join(partitions) or 'none'}"
                )
        problems.extend(self._python_asset_problems(targets))
        problems.extend(self._alert_channel_problems())
        if problems:
            # One line per problem, each "json.path: message"; format_pydantic_errors splits
            # them back into separate (path, message) pairs.
            raise ValueError("\n".join(problems))
        return self

    def _python_asset_problems(self, targets: list[str]) -> list[str]:
        problems: list[str] = []
        transforms = {t.name for t in self.transforms}
        sources = {s.key for s in self.sources}
        assets = {a.name for a in self.python_assets}
        producer: dict[str, str] = {}
        for index, asset in enumerate(self.python_assets):
            path = f"python_assets[{index}]"
            if asset.name in transforms:
                problems.append(
                    f"{path}.name: '{asset.name}' is also a dbt transform; give the Python asset "
                    "another name"
                )
            if asset.compute is not None and asset.compute not in targets:
                problems.append(
                    f"{path}.compute: '{asset.compute}' is not a compute target; defined: "
                    f"{', '.join(targets)}"
                )
            for j, key in enumerate(asset.produces):
                if key not in sources:
                    problems.append(
                        f"{path}.produces[{j}]: '{key}' is not a dbt source of the project "
                        f"(sources: {', '.join(sorted(sources)) or 'none'}); declare it in a "
                        "sources .yml file"
                    )
                elif producer.setdefault(key, asset.name) != asset.name:
                    problems.append(
                        f"{path}.produces[{j}]: source '{key}' is already produced by "
                        f"'{producer[key]}'; one asset produces a source"
                    )
            for j, upstream in enumerate(asset.depends_on):
                if upstream == asset.name:
                    problems.append(f"{path}.depends_on[{j}]: '{upstream}' depends on itself")
                elif upstream not in transforms | sources | assets:
                    problems.append(
                        f"{path}.depends_on[{j}]: '{upstream}' is neither a transform, a source "
                        "key ('source_name.table') nor a Python asset"
                    )
        if not problems and self.python_assets:
            cycle = self._python_asset_cycle()
            if cycle:
                problems.append(
                    "python_assets: a cycle through Python assets and dbt transforms: "
                    f"{' -> '.join(cycle)}; a Python asset cannot depend on what reads the "
                    "sources it produces"
                )
        return problems

    def _python_asset_cycle(self) -> list[str]:
        """One cycle of the graph transforms + sources + Python assets, or [] when acyclic."""
        import networkx as nx

        graph: Any = nx.DiGraph()
        for transform in self.transforms:
            for upstream in (*transform.depends_on, *transform.source_dependencies):
                graph.add_edge(upstream, transform.name)
        for asset in self.python_assets:
            graph.add_edges_from((upstream, asset.name) for upstream in asset.depends_on)
            graph.add_edges_from((asset.name, key) for key in asset.produces)
        try:
            edges = nx.find_cycle(graph, source=[a.name for a in self.python_assets])
        except nx.NetworkXNoCycle:
            return []
        return [str(edges[0][0]), *(str(edge[1]) for edge in edges)]

    def _alert_channel_problems(self) -> list[str]:
        # 'console' is always available: it needs no settings.
        channels = {c.name for c in self.alert_channels} | {"console"}
        known = ", ".join(sorted(channels)) or "none"
        problems: list[str] = []
        users: list[tuple[str, tuple[str, ...]]] = [
            ("monitoring.alert_channels", self.monitoring.alert_channels)
        ]
        users += [
            (f"sensors[{i}].alert_channels", s.alert_channels)
            for i, s in enumerate(self.sensors)
            if not isinstance(s, FileArrivalSensor)
        ]
        for path, names in users:
            problems.extend(
                f"{path}[{j}]: alert channel '{name}' is not defined; defined: {known}"
                for j, name in enumerate(names)
                if name not in channels
            )
        return problems

    # Lookups used by every adapter -------------------------------------------------------
    def transform(self, name: str) -> TransformConfig:
        """The transform called ``name``; KeyError naming close matches otherwise."""
        for transform in self.transforms:
            if transform.name == name:
                return transform
        import difflib

        close = difflib.get_close_matches(name, [t.name for t in self.transforms], n=3)
        hint = f"; did you mean {', '.join(repr(c) for c in close)}?" if close else ""
        raise KeyError(f"no transform named '{name}'{hint}")

    def compute_target(self, name: str) -> ComputeTarget:
        for target in self.compute_targets:
            if target.name == name:
                return target
        raise KeyError(
            f"no compute target named '{name}'; defined: "
            + ", ".join(t.name for t in self.compute_targets)
        )

    def to_json(self, *, indent: int | None = 2) -> str:
        """Serialise to JSON (the form :func:`load_artifacts` reads)."""
        return self.model_dump_json(indent=indent)


_IDENTIFIER_KEY = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
_PATH_PREFIX = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*(\[\d+\])?(\.[A-Za-z_][A-Za-z0-9_]*)*: ")


def format_pydantic_errors(exc: PydanticValidationError) -> list[tuple[str, str]]:
    """Turn pydantic errors into ``(json_path, message)`` pairs, e.g. ``transforms[3].compute``.

    Discriminated-union tags (``file_arrival``…) are dropped from the path, as a user never
    writes them.
    """
    problems: list[tuple[str, str]] = []
    for error in exc.errors(include_url=False):
        path = ""
        for part in error["loc"]:
            if isinstance(part, int):
                path += f"[{part}]"
            elif part in ("file_arrival", "run_failure", "asset_check_failure"):
                continue
            elif _IDENTIFIER_KEY.match(str(part)):
                path += f".{part}" if path else str(part)
            else:
                path += f"[{json.dumps(str(part))}]"
        message = str(error["msg"])
        if message.startswith("Value error, "):
            message = message[len("Value error, ") :]
        if error["type"] == "value_error" and all(
            _PATH_PREFIX.match(line) for line in message.splitlines()
        ):
            # A cross-field check reports "json.path: message" lines relative to this model.
            for line in message.splitlines():
                sub_path, _, sub_message = line.partition(": ")
                joined = f"{path}.{sub_path}" if path else sub_path
                problems.append((joined, sub_message))
            continue
        problems.append((path or "$", message))
    return problems


def load_artifacts(source: str | Path | Mapping[str, Any]) -> CompiledArtifacts:
    """Load and validate CompiledArtifacts from a JSON file path or an already-parsed mapping.

    Raises :class:`ArtifactsError` whose message lists every invalid field by JSON path, e.g.
    ``transforms[3].materialization: Field required``.
    """
    origin = "artifacts"
    if isinstance(source, str | Path):
        path = Path(source)
        origin = str(path)
        try:
            text = path.read_text(encoding="utf-8")
        except FileNotFoundError:
            raise ArtifactsError(
                f"{path}: no such file; create it with 'floe compile --dbt-manifest "
                "target/manifest.json -o compiled_artifacts.json'"
            ) from None
        except OSError as exc:
            raise ArtifactsError(f"{path}: cannot be read ({exc.strerror})") from exc
        from floe_orchestration_core.gc_pause import paused_gc

        try:
            # The fast path: pydantic parses and validates in one pass, without an
            # intermediate dict. Any problem is reported by the path below, which names it.
            with paused_gc():
                return CompiledArtifacts.model_validate_json(text)
        except PydanticValidationError:
            pass
        try:
            data: Any = json.loads(text)
        except json.JSONDecodeError as exc:
            raise ArtifactsError(
                f"{path}: not valid JSON (line {exc.lineno}, column {exc.colno}: {exc.msg})"
            ) from exc
    else:
        data = source
    if not isinstance(data, Mapping):
        raise ArtifactsError(
            f"{origin}: expected a JSON object at the top level, got {type(data).__name__}"
        )
    version = data.get("schema_version")
    if version is not None and version != SCHEMA_VERSION:
        major = str(version).split(".")[0]
        advice = (
            "re-compile the product with this floe version ('floe compile')"
            if major != SCHEMA_VERSION.split(".")[0]
            else "upgrade floe-orchestration-core"
        )
        raise ArtifactsError(
            f"{origin}: schema_version '{version}' is not supported (this floe reads "
            f"{SCHEMA_VERSION}); {advice}",
            [("schema_version", f"expected '{SCHEMA_VERSION}', got '{version}'")],
        )
    try:
        return CompiledArtifacts.model_validate(dict(data))
    except PydanticValidationError as exc:
        problems = format_pydantic_errors(exc)
        listing = "\n".join(f"  {path}: {message}" for path, message in problems)
        raise ArtifactsError(
            f"{origin}: {len(problems)} invalid field(s):\n{listing}", problems
        ) from exc


def artifacts_json_schema() -> dict[str, Any]:
    """The JSON Schema of CompiledArtifacts (the file in docs/reference is generated from it)."""
    schema = CompiledArtifacts.model_json_schema(mode="validation", by_alias=True)
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    schema["$id"] = f"https://floe.dev/schemas/compiled-artifacts/{SCHEMA_VERSION}.json"
    schema["title"] = f"CompiledArtifacts {SCHEMA_VERSION}"
    return schema
