"""Jobs, schedules, retry policies and partitions: the artifacts' run settings in Dagster terms.

The assets here are plain ``@asset``s keyed like the transforms, so these tests exercise
``jobs.py`` alone (dagster-dbt is not imported). No ``from __future__ import annotations``:
Dagster reads the ``context`` annotation of an asset function at definition time.
"""

from collections.abc import Iterable
from datetime import UTC, date, datetime
from typing import Any

import dagster as dg
import pytest

from floe_orchestration_core.artifacts import (
    CompiledArtifacts,
    PartitionConfig,
    RetryPolicy,
    ScheduleConfig,
)
from floe_orchestration_core.errors import SelectionError
from floe_orchestration_core.graph import TransformGraph
from floe_orchestration_core.testing import make_artifacts, make_transform
from floe_orchestrator_dagster.definitions.jobs import (
    build_jobs_and_schedules,
    build_schedule,
    job_name_for,
    partition_vars,
    to_dagster_retry_policy,
    to_partitions_definition,
)
from floe_orchestrator_dagster.errors import DagsterAdapterError, JobDefinitionError

DAILY = PartitionConfig(name="daily", granularity="daily", start=date(2024, 1, 1))
HOURLY = PartitionConfig(name="hourly", granularity="hourly", start=date(2024, 1, 1))


def _artifacts(**overrides: Any) -> CompiledArtifacts:
    return make_artifacts(
        [
            make_transform("stg_orders", tags=("staging",)),
            make_transform("order_totals", depends_on=["stg_orders"], materialization="ephemeral"),
            make_transform("orders", depends_on=["stg_orders", "order_totals"]),
            make_transform("orders_report", depends_on=["orders"], tags=("reporting",)),
            make_transform("events_daily", partition="daily"),
            make_transform("events_hourly", partition="hourly"),
        ],
        partitions=(DAILY, HOURLY),
        **overrides,
    )


def _assets_for(
    artifacts: CompiledArtifacts,
) -> tuple[list[dg.AssetsDefinition], dict[str, dg.AssetKey]]:
    """One plain asset per non-ephemeral transform, partitioned like the transform."""
    partitions = {p.name: to_partitions_definition(p) for p in artifacts.partitions}
    assets: list[dg.AssetsDefinition] = []
    keys: dict[str, dg.AssetKey] = {}
    for transform in artifacts.transforms:
        if transform.is_ephemeral:
            continue
        key = dg.AssetKey(["analytics", transform.name])
        spec = dg.AssetSpec(
            key,
            partitions_def=None if transform.partition is None else partitions[transform.partition],
        )

        @dg.multi_asset(specs=[spec], name=f"build_{transform.name}")
        def build() -> None:
            return None

        assets.append(build)
        keys[transform.name] = key
    return assets, keys


def _resolved(
    artifacts: CompiledArtifacts,
) -> tuple[dg.Definitions, list[dg.ScheduleDefinition], dict[str, dg.AssetKey]]:
    assets, keys = _assets_for(artifacts)
    jobs, schedules = build_jobs_and_schedules(
        artifacts, TransformGraph.from_artifacts(artifacts), keys
    )
    definitions = dg.Definitions(assets=assets, jobs=jobs, schedules=schedules)
    return definitions, schedules, keys


def _job_keys(definitions: dg.Definitions, job_name: str) -> set[dg.AssetKey]:
    job = definitions.get_repository_def().get_job(job_name)
    return set(job.asset_layer.asset_graph.get_all_asset_keys()) & set(
        job.asset_layer.executable_asset_keys
    )


def _names(keys: Iterable[dg.AssetKey]) -> set[str]:
    return {key.path[-1] for key in keys}


# Jobs and schedules ---------------------------------------------------------------------
def test_each_schedule_gets_a_job_selecting_exactly_its_non_ephemeral_transforms() -> None:
    artifacts = _artifacts(
        schedules=(
            ScheduleConfig(name="orders_refresh", cron="0 * * * *", selection="+orders"),
            ScheduleConfig(name="reports", cron="0 6 * * MON-FRI", selection="tag:reporting"),
        )
    )
    definitions, schedules, _ = _resolved(artifacts)
    assert [s.name for s in schedules] == ["orders_refresh", "reports"]
    assert [s.job_name for s in schedules] == ["orders_refresh_job", "reports_job"]
    # order_totals is ephemeral: selected by "+orders" but it has no asset.
    assert _names(_job_keys(definitions, "orders_refresh_job")) == {"stg_orders", "orders"}
    assert _names(_job_keys(definitions, "reports_job")) == {"orders_report"}


def test_schedule_keeps_cron_timezone_description_and_status() -> None:
    artifacts = _artifacts(
        schedules=(
            ScheduleConfig(
                name="nightly",
                cron="30 2 * * *",
                timezone="Europe/Berlin",
                selection="orders",
                description="nightly orders",
            ),
            ScheduleConfig(name="paused", cron="@weekly", selection="orders", enabled=False),
        )
    )
    _, schedules, _ = _resolved(artifacts)
    nightly, paused = schedules
    assert (nightly.cron_schedule, nightly.execution_timezone) == ("30 2 * * *", "Europe/Berlin")
    assert nightly.description == "nightly orders"
    assert nightly.default_status is dg.DefaultScheduleStatus.RUNNING
    assert paused.default_status is dg.DefaultScheduleStatus.STOPPED
    assert paused.cron_schedule == "@weekly"
    assert "'orders'" in (paused.description or "")


def test_job_name_is_the_schedule_name_with_a_job_suffix() -> None:
    assert job_name_for(ScheduleConfig(name="hourly", cron="0 * * * *")) == "hourly_job"


def test_jobs_carry_the_artifacts_retry_policy() -> None:
    artifacts = _artifacts(
        schedules=(ScheduleConfig(name="all_models", cron="0 0 * * *", selection="orders"),),
        retry_policy=RetryPolicy(max_retries=3, delay_seconds=10, backoff="exponential"),
    )
    definitions, _, _ = _resolved(artifacts)
    job = definitions.get_repository_def().get_job("all_models_job")
    assert job.op_retry_policy == dg.RetryPolicy(
        max_retries=3, delay=10.0, backoff=dg.Backoff.EXPONENTIAL
    )


def test_jobs_have_no_retry_policy_when_retries_are_off() -> None:
    artifacts = _artifacts(
        schedules=(ScheduleConfig(name="all_models", cron="0 0 * * *", selection="orders"),),
    )
    definitions, _, _ = _resolved(artifacts)
    assert definitions.get_repository_def().get_job("all_models_job").op_retry_policy is None


def test_a_selection_of_only_ephemeral_transforms_gives_an_empty_job() -> None:
    artifacts = _artifacts(
        schedules=(ScheduleConfig(name="inline_only", cron="0 0 * * *", selection="order_totals"),)
    )
    definitions, _, _ = _resolved(artifacts)
    assert _job_keys(definitions, "inline_only_job") == set()


def test_a_selection_mixing_partitionings_is_refused_naming_both() -> None:
    artifacts = _artifacts(
        schedules=(
            ScheduleConfig(name="events", cron="0 0 * * *", selection="events_daily events_hourly"),
        )
    )
    graph = TransformGraph.from_artifacts(artifacts)
    _, keys = _assets_for(artifacts)
    with pytest.raises(JobDefinitionError) as caught:
        build_jobs_and_schedules(artifacts, graph, keys)
    message = str(caught.value)
    for expected in ("'events'", "'daily'", "'hourly'", "events_daily", "events_hourly", "split"):
        assert expected in message
    assert isinstance(caught.value, ValueError)


def test_a_missing_asset_key_is_an_error_naming_the_transform() -> None:
    artifacts = _artifacts(
        schedules=(ScheduleConfig(name="orders_only", cron="0 0 * * *", selection="orders"),)
    )
    graph = TransformGraph.from_artifacts(artifacts)
    with pytest.raises(JobDefinitionError, match="'orders'"):
        build_jobs_and_schedules(artifacts, graph, {})


def test_a_malformed_selection_raises_the_core_selection_error() -> None:
    artifacts = _artifacts(
        schedules=(ScheduleConfig(name="broken", cron="0 0 * * *", selection="nope:orders"),)
    )
    graph = TransformGraph.from_artifacts(artifacts)
    _, keys = _assets_for(artifacts)
    with pytest.raises(SelectionError):
        build_jobs_and_schedules(artifacts, graph, keys)


def test_no_schedules_give_no_jobs() -> None:
    artifacts = _artifacts()
    assert build_jobs_and_schedules(artifacts, TransformGraph.from_artifacts(artifacts), {}) == (
        [],
        [],
    )


def test_a_partitioned_schedule_requests_the_last_complete_partition_at_its_tick() -> None:
    artifacts = _artifacts(
        schedules=(ScheduleConfig(name="events", cron="15 3 * * *", selection="events_daily"),)
    )
    definitions, schedules, _ = _resolved(artifacts)
    (schedule,) = schedules
    assert definitions.get_repository_def().get_job("events_job").partitions_def == (
        to_partitions_definition(DAILY)
    )
    tick = datetime(2024, 3, 10, 3, 15, tzinfo=UTC)
    with dg.build_schedule_context(
        scheduled_execution_time=tick, repository_def=definitions.get_repository_def()
    ) as context:
        data = schedule.evaluate_tick(context)
    assert data.run_requests is not None
    (request,) = data.run_requests
    assert request.partition_key == "2024-03-09"


def test_a_partitioned_schedule_skips_before_the_first_partition_is_complete() -> None:
    artifacts = _artifacts(
        schedules=(ScheduleConfig(name="events", cron="15 3 * * *", selection="events_daily"),)
    )
    definitions, schedules, _ = _resolved(artifacts)
    (schedule,) = schedules
    tick = datetime(2023, 12, 31, 3, 15, tzinfo=UTC)
    with dg.build_schedule_context(
        scheduled_execution_time=tick, repository_def=definitions.get_repository_def()
    ) as context:
        data = schedule.evaluate_tick(context)
    assert not data.run_requests
    assert "'daily'" in (data.skip_message or "")


# build_schedule ---------------------------------------------------------------------------
def test_build_schedule_without_a_job_runs_a_job_selecting_every_asset() -> None:
    schedule = build_schedule("nightly_build", "15 2 * * *", "America/New_York")
    assert (schedule.name, schedule.job_name) == ("nightly_build_schedule", "nightly_build")
    assert (schedule.cron_schedule, schedule.execution_timezone) == (
        "15 2 * * *",
        "America/New_York",
    )
    assets, _ = _assets_for(_artifacts())
    unpartitioned = [a for a in assets if a.partitions_def is None]
    definitions = dg.Definitions(assets=unpartitioned, schedules=[schedule])
    job = definitions.get_repository_def().get_job("nightly_build")
    assert _names(job.asset_layer.executable_asset_keys) == {
        "stg_orders",
        "orders",
        "orders_report",
    }


def test_build_schedule_with_a_job_of_another_name_is_refused() -> None:
    job = dg.define_asset_job("other_job")
    with pytest.raises(JobDefinitionError, match="'other_job'"):
        build_schedule("nightly_build", "0 2 * * *", "UTC", job=job)


def test_build_schedule_uses_the_given_job() -> None:
    job = dg.define_asset_job("nightly_build", selection=dg.AssetSelection.assets("orders"))
    schedule = build_schedule("nightly_build", "0 2 * * *", "UTC", job=job)
    assert schedule.job is job


# Retry policies ----------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("policy", "expected"),
    [
        (RetryPolicy(), None),
        (RetryPolicy(max_retries=0, delay_seconds=60, backoff="linear"), None),
        (RetryPolicy(max_retries=1), dg.RetryPolicy(max_retries=1, delay=0.0)),
        (
            RetryPolicy(max_retries=2, delay_seconds=30, backoff="linear", jitter="full"),
            dg.RetryPolicy(
                max_retries=2, delay=30.0, backoff=dg.Backoff.LINEAR, jitter=dg.Jitter.FULL
            ),
        ),
        (
            RetryPolicy(
                max_retries=5, delay_seconds=1.5, backoff="exponential", jitter="plus_minus"
            ),
            dg.RetryPolicy(
                max_retries=5,
                delay=1.5,
                backoff=dg.Backoff.EXPONENTIAL,
                jitter=dg.Jitter.PLUS_MINUS,
            ),
        ),
        (
            RetryPolicy(max_retries=3, delay_seconds=0, jitter="full"),
            dg.RetryPolicy(max_retries=3, delay=0.0, jitter=dg.Jitter.FULL),
        ),
    ],
)
def test_retry_policy_maps_onto_dagster(
    policy: RetryPolicy, expected: dg.RetryPolicy | None
) -> None:
    assert to_dagster_retry_policy(policy) == expected


# Partitions --------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("granularity", "definition_class", "first_key"),
    [
        ("hourly", dg.HourlyPartitionsDefinition, "2024-01-01-00:00"),
        ("daily", dg.DailyPartitionsDefinition, "2024-01-01"),
        ("weekly", dg.WeeklyPartitionsDefinition, "2024-01-07"),  # the first Sunday
        ("monthly", dg.MonthlyPartitionsDefinition, "2024-01-01"),
    ],
)
def test_partitions_have_the_granularity_and_start(
    granularity: str, definition_class: type[dg.TimeWindowPartitionsDefinition], first_key: str
) -> None:
    partition = PartitionConfig(name="p", granularity=granularity, start=date(2024, 1, 1))
    definition = to_partitions_definition(partition)
    assert isinstance(definition, definition_class)
    assert definition.get_first_partition_key() == first_key
    assert definition.timezone == "UTC"


def test_partitions_keep_end_and_timezone() -> None:
    partition = PartitionConfig(
        name="p",
        granularity="daily",
        start=date(2024, 1, 1),
        end=date(2024, 1, 4),
        timezone="America/New_York",
    )
    definition = to_partitions_definition(partition)
    assert definition.timezone == "America/New_York"
    assert definition.get_partition_keys() == ["2024-01-01", "2024-01-02", "2024-01-03"]


def test_an_instant_start_is_read_in_the_partitions_timezone() -> None:
    # 2024-01-01T05:00Z is midnight in New York: the first day is Jan 1, not Jan 2.
    partition = PartitionConfig(
        name="p",
        granularity="daily",
        start=datetime(2024, 1, 1, 5, 0, tzinfo=UTC),
        timezone="America/New_York",
    )
    assert to_partitions_definition(partition).get_first_partition_key() == "2024-01-01"


def test_partition_vars_hand_the_run_window_to_dbt_as_iso_timestamps() -> None:
    partition = PartitionConfig(
        name="daily",
        granularity="daily",
        start=date(2024, 1, 1),
        timezone="Europe/Berlin",
        start_var="window_start",
        end_var="window_end",
    )
    seen: list[dict[str, str]] = []

    @dg.asset(partitions_def=to_partitions_definition(partition))
    def events(context: dg.AssetExecutionContext) -> None:
        seen.append(partition_vars(context, partition))

    result = dg.materialize([events], partition_key="2024-03-31")
    assert result.success
    assert seen == [
        {
            # Berlin moves to summer time that night: a 23-hour window.
            "window_start": "2024-03-31T00:00:00+01:00",
            "window_end": "2024-04-01T00:00:00+02:00",
        }
    ]


def test_partition_vars_without_a_partition_say_how_to_launch_one() -> None:
    seen: list[BaseException] = []

    @dg.asset
    def events(context: dg.AssetExecutionContext) -> None:
        try:
            partition_vars(context, DAILY)
        except DagsterAdapterError as exc:
            seen.append(exc)

    assert dg.materialize([events]).success
    (error,) = seen
    assert "'daily'" in str(error)
    assert "partition" in str(error)
