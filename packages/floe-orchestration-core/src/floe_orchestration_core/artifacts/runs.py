"""When and how runs happen: schedules, sensors, retries and partitions.

Schedules and sensors keep their dbt-style ``selection`` string (``floe.yaml`` spells it
``select``: :mod:`floe_orchestration_core.compile.product` reuses these models under that name).
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field

from floe_orchestration_core.artifacts.fields import (
    CronExpressionStr,
    DateOrDatetime,
    FrozenModel,
    Identifier,
    NonEmptyStr,
    TimezoneName,
)

__all__ = [
    "AssetCheckFailureSensor",
    "FileArrivalSensor",
    "PartitionConfig",
    "RetryPolicy",
    "RunFailureSensor",
    "ScheduleConfig",
    "SensorConfig",
]


class ScheduleConfig(FrozenModel):
    """A cron schedule for a selection of transforms."""

    name: Identifier
    cron: CronExpressionStr
    timezone: TimezoneName = "UTC"
    selection: NonEmptyStr = "*"
    enabled: bool = True
    description: str = ""


class _SensorBase(FrozenModel):
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


class RetryPolicy(FrozenModel):
    """How failed transform executions are retried (mirrors Dagster's RetryPolicy)."""

    max_retries: Annotated[int, Field(ge=0, le=100)] = 0
    delay_seconds: Annotated[float, Field(ge=0, le=86_400)] = 0.0
    backoff: Literal["constant", "linear", "exponential"] = "constant"
    jitter: Literal["none", "full", "plus_minus"] = "none"


class PartitionConfig(FrozenModel):
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
