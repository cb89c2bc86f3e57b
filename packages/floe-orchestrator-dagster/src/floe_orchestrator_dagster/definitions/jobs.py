"""Jobs, schedules, retry policies and partitions: the artifacts' run settings in Dagster terms.

What this module maps, and how:

- every :class:`~floe_orchestration_core.artifacts.ScheduleConfig` becomes one asset job
  ``<schedule>_job`` selecting the assets of its selection
  (:func:`~floe_orchestrator_dagster.definitions.selection.selected_asset_keys`) and one
  ``ScheduleDefinition`` named like the schedule, with its cron, its execution timezone, a
  ``RUNNING`` default status when enabled (``STOPPED`` otherwise) and its description;
- a schedule whose selection holds time-partitioned transforms requests, at each tick, the
  last complete partition at the tick's time (as Dagster's
  ``build_schedule_from_partitioned_job`` does, but on the schedule's own cron); one selection
  may hold partitioned transforms of one partitioning only (Dagster cannot run two in a job);
- a :class:`~floe_orchestration_core.artifacts.FileArrivalSensor` gets the asset job
  ``<sensor>_job`` over its selection (:func:`file_arrival_job`; the sensor itself is
  :mod:`floe_orchestrator_dagster.sensors.file_arrival`);
- the artifacts' :class:`~floe_orchestration_core.artifacts.RetryPolicy` becomes a
  ``dagster.RetryPolicy`` (the jobs' ``op_retry_policy``), none when ``max_retries`` is 0;
- a :class:`~floe_orchestration_core.artifacts.PartitionConfig` becomes an
  hourly/daily/weekly/monthly ``TimeWindowPartitionsDefinition``, and a run's window the dbt
  vars ``{start_var: <ISO start>, end_var: <ISO end>}``.

Only APIs present from Dagster 1.10 through 1.13 are used; where they differ the code
branches with a comment. Dagster is imported at module level: this module is reached only
when definitions are requested, never on the plugin-discovery path.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import date, datetime, time
from typing import TYPE_CHECKING, Any

import dagster as dg

from floe_orchestration_core.artifacts import (
    CompiledArtifacts,
    FileArrivalSensor,
    PartitionConfig,
    RetryPolicy,
    ScheduleConfig,
)
from floe_orchestration_core.graph import TransformGraph
from floe_orchestration_core.scheduling import validate_timezone
from floe_orchestrator_dagster.definitions.selection import selected_asset_keys
from floe_orchestrator_dagster.errors import DagsterAdapterError, JobDefinitionError

if TYPE_CHECKING:
    from floe_orchestrator_dagster.compat import UnresolvedAssetJobDefinition

__all__ = [
    "build_jobs_and_schedules",
    "build_schedule",
    "file_arrival_job",
    "job_name_for",
    "partition_vars",
    "to_dagster_retry_policy",
    "to_partitions_definition",
]

_BACKOFF: Mapping[str, dg.Backoff | None] = {
    "constant": None,
    "linear": dg.Backoff.LINEAR,
    "exponential": dg.Backoff.EXPONENTIAL,
}
_JITTER: Mapping[str, dg.Jitter | None] = {
    "none": None,
    "full": dg.Jitter.FULL,
    "plus_minus": dg.Jitter.PLUS_MINUS,
}
_PARTITIONS: Mapping[str, Callable[..., dg.TimeWindowPartitionsDefinition]] = {
    "hourly": dg.HourlyPartitionsDefinition,
    "daily": dg.DailyPartitionsDefinition,
    "weekly": dg.WeeklyPartitionsDefinition,
    "monthly": dg.MonthlyPartitionsDefinition,
}


def job_name_for(schedule: ScheduleConfig) -> str:
    """The name of the asset job an artifacts schedule runs: ``<schedule name>_job``."""
    return f"{schedule.name}_job"


# Retry policies -----------------------------------------------------------------------------
def to_dagster_retry_policy(policy: RetryPolicy) -> dg.RetryPolicy | None:
    """The ``dagster.RetryPolicy`` for ``policy``; None when it allows no retry.

    ``backoff`` constant/linear/exponential maps to no backoff, ``Backoff.LINEAR`` and
    ``Backoff.EXPONENTIAL``; ``jitter`` none/full/plus_minus to no jitter, ``Jitter.FULL`` and
    ``Jitter.PLUS_MINUS``. The delay is always set (0 seconds included), because Dagster
    refuses a backoff or jitter without one.

    >>> to_dagster_retry_policy(RetryPolicy(max_retries=2, delay_seconds=30, backoff="linear"))
    RetryPolicy(max_retries=2, delay=30.0, backoff=<Backoff.LINEAR: 'LINEAR'>, jitter=None)
    """
    if policy.max_retries == 0:
        return None
    return dg.RetryPolicy(
        max_retries=policy.max_retries,
        delay=float(policy.delay_seconds),
        backoff=_BACKOFF[policy.backoff],
        jitter=_JITTER[policy.jitter],
    )


# Partitions ---------------------------------------------------------------------------------
def _wall_time(value: date | datetime, timezone: str) -> datetime:
    """``value`` as a naive wall-clock time in ``timezone``.

    Dagster reads a partition's start and end as wall times in the partition's timezone and
    ignores any tzinfo they carry, so an instant (``2024-01-01T06:00:00Z``) is converted to
    the partition's timezone first and a calendar date means its midnight there.
    """
    if isinstance(value, datetime):
        if value.tzinfo is None:
            return value
        return value.astimezone(validate_timezone(timezone)).replace(tzinfo=None)
    return datetime.combine(value, time())


def to_partitions_definition(partition: PartitionConfig) -> dg.TimeWindowPartitionsDefinition:
    """The Dagster time-window partitions for ``partition`` (start, end and timezone kept).

    Dagster's conventions apply: ``end`` is exclusive, weekly partitions start on Sunday and
    monthly ones on the 1st; the first partition is the first whole window at or after
    ``start``. Partition keys use Dagster's default formats (``2024-01-31`` for daily, weekly
    and monthly, ``2024-01-31-13:00`` for hourly).
    """
    definition_class = _PARTITIONS[partition.granularity]
    end = None if partition.end is None else _wall_time(partition.end, partition.timezone)
    return definition_class(
        start_date=_wall_time(partition.start, partition.timezone),
        end_date=end,
        timezone=partition.timezone,
    )


def partition_vars(context: dg.AssetExecutionContext, partition: PartitionConfig) -> dict[str, str]:
    """The dbt ``--vars`` for the run's partition window: ``{start_var: ISO, end_var: ISO}``.

    The window is the run's partition (or, for a backfill run of a range, the whole range),
    as timezone-aware ISO-8601 timestamps in the partition's timezone; the end is exclusive.
    Raises :class:`~floe_orchestrator_dagster.errors.DagsterAdapterError` when the run has no
    partition (launch it for a partition, or run a backfill).
    """
    if not context.has_partition_key and not context.has_partition_key_range:
        raise DagsterAdapterError(
            f"this run has no partition, but its models use the {partition.granularity} "
            f"partitioning {partition.name!r}: launch "
            "the run for a partition (or a partition range), e.g. from the asset's "
            "'Materialize' dialog or with a backfill"
        )
    window = context.partition_time_window
    return {
        partition.start_var: window.start.isoformat(),
        partition.end_var: window.end.isoformat(),
    }


def _last_partition_key(
    partitions: dg.TimeWindowPartitionsDefinition, context: dg.ScheduleEvaluationContext
) -> str | None:
    """The last complete partition at the tick's scheduled time (None: none yet)."""
    at = context.scheduled_execution_time
    loading_context = getattr(dg, "partition_loading_context", None)
    if loading_context is None:
        # Dagster 1.10 takes the evaluation time as an argument.
        legacy: Any = partitions
        key: str | None = legacy.get_last_partition_key(current_time=at)
        return key
    # Versions exporting partition_loading_context (1.13 does, 1.10 does not) read the
    # evaluation time from that context manager instead.
    with loading_context(effective_dt=at):
        return partitions.get_last_partition_key()


def _partitioned_execution_fn(
    schedule_name: str, partition: PartitionConfig
) -> Any:  # ScheduleExecutionFunction; its Dagster alias is private
    partitions = to_partitions_definition(partition)

    def request_last_partition(
        context: dg.ScheduleEvaluationContext,
    ) -> dg.RunRequest | dg.SkipReason:
        key = _last_partition_key(partitions, context)
        if key is None:
            return dg.SkipReason(
                f"schedule {schedule_name!r}: partitioning {partition.name!r} has no complete "
                f"partition yet (it starts {partition.start.isoformat()})"
            )
        return dg.RunRequest(run_key=key, partition_key=key)

    return request_last_partition


# Schedules ----------------------------------------------------------------------------------
def build_schedule(
    job_name: str,
    cron: str,
    timezone: str,
    job: UnresolvedAssetJobDefinition | dg.JobDefinition | None = None,
) -> dg.ScheduleDefinition:
    """A ``ScheduleDefinition`` named ``<job_name>_schedule`` running ``job`` on ``cron``.

    Without ``job``, it runs a job named ``job_name`` selecting every asset of the
    Definitions it is placed in (``define_asset_job(job_name, AssetSelection.all())``): the
    natural meaning of "schedule this job" for a floe product, whose Definitions hold one
    product. The arguments are expected to be validated by the core already
    (``OrchestratorPlugin.schedule_job`` does), so Dagster never sees a cron it refuses.
    """
    target = job if job is not None else dg.define_asset_job(job_name, dg.AssetSelection.all())
    if target.name != job_name:
        raise JobDefinitionError(
            f"build_schedule was asked for job {job_name!r} but given job {target.name!r}; "
            "pass the job whose name is job_name, or no job"
        )
    return dg.ScheduleDefinition(
        name=f"{job_name}_schedule",
        job=target,
        cron_schedule=cron,
        execution_timezone=timezone,
    )


def _selected_partition(
    schedule: ScheduleConfig, graph: TransformGraph, artifacts: CompiledArtifacts
) -> PartitionConfig | None:
    """The one partitioning the schedule's selected transforms use, if any."""
    by_partition: dict[str, list[str]] = {}
    for name in sorted(graph.select(schedule.selection)):
        transform = graph.transforms[name]
        if transform.partition is not None and not transform.is_ephemeral:
            by_partition.setdefault(transform.partition, []).append(name)
    if not by_partition:
        return None
    if len(by_partition) > 1:
        listing = "; ".join(
            f"{partition!r}: {', '.join(names)}"
            for partition, names in sorted(by_partition.items())
        )
        raise JobDefinitionError(
            f"schedule {schedule.name!r} (selection {schedule.selection!r}) selects transforms "
            f"of {len(by_partition)} different partitionings ({listing}); Dagster runs one "
            "partitioning per job: split it into one schedule per partitioning, e.g. with "
            "selections 'tag:...' or '--exclude'"
        )
    (name,) = by_partition
    return next(p for p in artifacts.partitions if p.name == name)


def build_jobs_and_schedules(
    artifacts: CompiledArtifacts,
    graph: TransformGraph,
    asset_keys: Mapping[str, dg.AssetKey],
) -> tuple[list[UnresolvedAssetJobDefinition], list[dg.ScheduleDefinition]]:
    """One asset job and one schedule per schedule of ``artifacts`` (disabled ones included).

    ``asset_keys`` maps each non-ephemeral transform name to its asset key. Raises
    :class:`~floe_orchestrator_dagster.errors.JobDefinitionError` for a selection mixing two
    partitionings (Dagster cannot resolve such a job) and
    :class:`~floe_orchestration_core.errors.SelectionError` for a malformed selection.
    """
    retry = to_dagster_retry_policy(artifacts.retry_policy)
    jobs: list[UnresolvedAssetJobDefinition] = []
    schedules: list[dg.ScheduleDefinition] = []
    for schedule in artifacts.schedules:
        keys = selected_asset_keys(
            graph, schedule.selection, asset_keys, selector=f"schedule {schedule.name!r}"
        )
        partition = _selected_partition(schedule, graph, artifacts)
        description = schedule.description or (
            f"floe schedule {schedule.name!r}: builds {schedule.selection!r}"
        )
        # "*" is the whole product: Python assets (ingestion, publication) included.
        whole = schedule.selection.strip() == "*"
        job = dg.define_asset_job(
            name=job_name_for(schedule),
            selection=dg.AssetSelection.all() if whole else dg.AssetSelection.assets(*keys),
            description=description,
            op_retry_policy=retry,
        )
        status = (
            dg.DefaultScheduleStatus.RUNNING
            if schedule.enabled
            else (dg.DefaultScheduleStatus.STOPPED)
        )
        execution_fn = (
            None if partition is None else _partitioned_execution_fn(schedule.name, partition)
        )
        schedules.append(
            dg.ScheduleDefinition(
                name=schedule.name,
                job=job,
                cron_schedule=schedule.cron,
                execution_timezone=schedule.timezone,
                default_status=status,
                description=description,
                execution_fn=execution_fn,
            )
        )
        jobs.append(job)
    return jobs, schedules


def file_arrival_job(
    config: FileArrivalSensor,
    artifacts: CompiledArtifacts,
    graph: TransformGraph,
    asset_keys: Mapping[str, dg.AssetKey],
) -> UnresolvedAssetJobDefinition:
    """The asset job ``<sensor>_job`` a file-arrival sensor runs: the assets of its selection,
    which must hold a transform that builds an asset and no time-partitioned one (a file does
    not say which partition to run)."""
    keys = selected_asset_keys(
        graph, config.selection, asset_keys, selector=f"sensor {config.name!r}"
    )
    if not keys:
        raise JobDefinitionError(
            f"file-arrival sensor {config.name!r}: selection {config.selection!r} holds no "
            "transform that builds an asset (only ephemeral models); select models, seeds or "
            "snapshots"
        )
    partitioned = sorted(
        n
        for n in graph.select(config.selection)
        if graph.transforms[n].partition is not None and not graph.transforms[n].is_ephemeral
    )
    if partitioned:
        raise JobDefinitionError(
            f"file-arrival sensor {config.name!r} selects time-partitioned transforms "
            f"({', '.join(partitioned)}); a file does not say which partition to run. Exclude "
            "them from its select (e.g. 'stg_orders --exclude tag:daily') and schedule them"
        )
    return dg.define_asset_job(
        name=f"{config.name}_job",
        selection=dg.AssetSelection.assets(*keys),
        description=f"floe file-arrival sensor {config.name!r}: builds {config.selection!r}",
        op_retry_policy=to_dagster_retry_policy(artifacts.retry_policy),
    )
