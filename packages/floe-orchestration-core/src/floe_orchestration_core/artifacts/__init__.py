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

Where each part lives (every name is importable from this package):

- :mod:`~floe_orchestration_core.artifacts.fields` — shared field types, the frozen base model
- :mod:`~floe_orchestration_core.artifacts.transforms` — transforms, sources, exposures, quality
  checks, compute targets
- :mod:`~floe_orchestration_core.artifacts.runs` — schedules, sensors, retries, partitions
- :mod:`~floe_orchestration_core.artifacts.python_assets` — the product's Python steps
- :mod:`~floe_orchestration_core.artifacts.ingestion` — declared ingestion connectors
- :mod:`~floe_orchestration_core.artifacts.alerting` — alert channels and run monitoring
- :mod:`~floe_orchestration_core.artifacts.compiled` — :class:`CompiledArtifacts` itself
- :mod:`~floe_orchestration_core.artifacts.loading` — :func:`load_artifacts`, the JSON Schema

Schema version policy: the major version changes when a document valid for the previous
version may be refused or read differently; the minor when optional fields are added.
"""

from __future__ import annotations

from floe_orchestration_core.artifacts.alerting import (
    AlertChannelConfig,
    ConsoleAlertChannel,
    EmailAlertChannel,
    MonitoringSettings,
    WebhookAlertChannel,
)
from floe_orchestration_core.artifacts.compiled import (
    READABLE_SCHEMA_VERSIONS,
    SCHEMA_VERSION,
    ArtifactsMetadata,
    CompiledArtifacts,
    DbtSettings,
    LineageSettings,
)
from floe_orchestration_core.artifacts.fields import (
    CronExpressionStr,
    DateOrDatetime,
    TimezoneName,
)
from floe_orchestration_core.artifacts.ingestion import (
    IngestionConfig,
    IngestionDestination,
    IngestionStream,
)
from floe_orchestration_core.artifacts.loading import (
    artifacts_json_schema,
    format_pydantic_errors,
    load_artifacts,
)
from floe_orchestration_core.artifacts.python_assets import (
    PythonAssetConfig,
)
from floe_orchestration_core.artifacts.runs import (
    AssetCheckFailureSensor,
    FileArrivalSensor,
    PartitionConfig,
    RetryPolicy,
    RunFailureSensor,
    ScheduleConfig,
    SensorConfig,
)
from floe_orchestration_core.artifacts.transforms import (
    ColumnInfo,
    ComputeTarget,
    ExposureConfig,
    QualityCheck,
    ResourceType,
    Severity,
    SourceConfig,
    TransformConfig,
)

__all__ = [
    "READABLE_SCHEMA_VERSIONS",
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
    "IngestionConfig",
    "IngestionDestination",
    "IngestionStream",
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
