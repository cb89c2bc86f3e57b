"""Sensors from the artifacts, evaluated against real Dagster instances and real receivers.

The assets are plain ``@asset``s keyed like the transforms (dagster-dbt is not involved), so
these tests exercise ``sensors/`` and the sensor wiring of ``definitions/sensors.py`` alone.
No ``from __future__ import annotations``: Dagster reads annotations of asset and check
functions at definition time.
"""

import os
import time
from collections.abc import Iterator, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import dagster as dg
import pytest
from dagster._core.events import DagsterEvent
from dagster._core.test_utils import create_run_for_test

from floe_orchestration_core.artifacts import (
    AlertChannelConfig,
    AssetCheckFailureSensor,
    CompiledArtifacts,
    FileArrivalSensor,
    MonitoringSettings,
    RunFailureSensor,
    SensorConfig,
    WebhookAlertChannel,
)
from floe_orchestration_core.errors import AlertError
from floe_orchestration_core.graph import TransformGraph
from floe_orchestration_core.testing import make_artifacts, make_transform
from floe_orchestration_core.testing.alert_receivers import ReceivedRequest, WebhookReceiver
from floe_orchestrator_dagster.definitions.sensors import build_sensors
from floe_orchestrator_dagster.errors import JobDefinitionError
from floe_orchestrator_dagster.sensors.failures import decode_check_cursor, encode_check_cursor
from floe_orchestrator_dagster.sensors.file_arrival import (
    TRIGGER_FILE_TAG,
    decode_file_cursor,
    encode_file_cursor,
)
from floe_orchestrator_dagster.sensors.slow_runs import (
    SLOW_RUN_SENSOR_NAME,
    asset_durations,
    run_durations,
)

NAMES = ("stg_orders", "orders", "stg_payments")
KEYS = {name: dg.AssetKey(name) for name in NAMES}
UI = "http://dagster.example:3000"
TOKEN = "token-canary-0c4e"


def _artifacts(
    sensors: Sequence[SensorConfig] = (),
    channels: Sequence[AlertChannelConfig] = (),
    monitoring: MonitoringSettings | None = None,
) -> CompiledArtifacts:
    return make_artifacts(
        [
            make_transform("stg_orders"),
            make_transform("orders", depends_on=["stg_orders"]),
            make_transform("stg_payments"),
        ],
        sensors=tuple(sensors),
        alert_channels=tuple(channels),
        monitoring=monitoring or MonitoringSettings(),
    )


def _build(
    artifacts: CompiledArtifacts, tmp_path: Path, **kwargs: Any
) -> tuple[list[Any], dict[str, dg.SensorDefinition]]:
    jobs, sensors = build_sensors(
        artifacts,
        TransformGraph.from_artifacts(artifacts),
        KEYS,
        cwd=tmp_path,
        webserver_url=UI,
        environ={"HOOK_TOKEN": TOKEN},
        **kwargs,
    )
    return jobs, {s.name: s for s in sensors}


def _hook(url: str) -> WebhookAlertChannel:
    return WebhookAlertChannel(
        name="hook", url=url, headers_env={"X-Token": "HOOK_TOKEN"}, max_attempts=1
    )


@pytest.fixture
def instance() -> Iterator[dg.DagsterInstance]:
    with dg.DagsterInstance.ephemeral() as ephemeral:
        yield ephemeral


# File arrival --------------------------------------------------------------------------------
def _drop(folder: Path, name: str, text: str = "id\n1\n", age_seconds: float = 60.0) -> Path:
    path = folder / name
    path.write_text(text, encoding="utf-8")
    past = time.time() - age_seconds
    os.utime(path, (past, past))
    return path


def _tick(
    sensor: dg.SensorDefinition, instance: dg.DagsterInstance, cursor: str | None
) -> tuple[list[dg.RunRequest], str | None, str | None]:
    context = dg.build_sensor_context(instance=instance, cursor=cursor)
    data = sensor.evaluate_tick(context)
    skip = data.skip_message
    return list(data.run_requests or []), data.cursor, skip


def test_file_sensor_requests_exactly_one_run_per_new_file(
    tmp_path: Path, instance: dg.DagsterInstance
) -> None:
    landing = tmp_path / "landing"
    landing.mkdir()
    config = FileArrivalSensor(
        name="landing_files", path="landing", pattern="*.csv", selection="+orders"
    )
    jobs, sensors = _build(_artifacts([config]), tmp_path)
    sensor = sensors["landing_files"]
    (job,) = jobs
    assert job.name == "landing_files_job"
    assert sensor.default_status == dg.DefaultSensorStatus.RUNNING

    _drop(landing, "a.csv", age_seconds=120)
    _drop(landing, "b.csv", age_seconds=60)
    _drop(landing, "notes.txt")
    requests, cursor, _ = _tick(sensor, instance, None)
    assert [r.tags[TRIGGER_FILE_TAG] for r in requests] == [
        str(landing / "a.csv"),
        str(landing / "b.csv"),
    ]
    assert len({r.run_key for r in requests}) == 2
    assert all(r.tags["floe/sensor"] == "landing_files" for r in requests)

    again, cursor_again, skip = _tick(sensor, instance, cursor)
    assert again == []
    assert skip is not None
    assert "no new file" in skip
    assert decode_file_cursor(cursor_again) == decode_file_cursor(cursor)

    _drop(landing, "c.csv")
    third, cursor, _ = _tick(sensor, instance, cursor_again)
    assert [r.tags[TRIGGER_FILE_TAG] for r in third] == [str(landing / "c.csv")]


def test_file_still_being_written_waits_for_a_later_tick(
    tmp_path: Path, instance: dg.DagsterInstance
) -> None:
    landing = tmp_path / "landing"
    landing.mkdir()
    config = FileArrivalSensor(name="landing_files", path=str(landing), pattern="*.csv")
    _, sensors = _build(_artifacts([config]), tmp_path, settle_seconds=30)
    sensor = sensors["landing_files"]
    growing = _drop(landing, "big.csv", age_seconds=0)
    requests, cursor, skip = _tick(sensor, instance, None)
    assert requests == []
    assert skip is not None
    assert "still being written: big.csv" in skip
    assert decode_file_cursor(cursor) == {}
    past = time.time() - 60
    os.utime(growing, (past, past))
    requests, cursor, _ = _tick(sensor, instance, cursor)
    assert len(requests) == 1


def test_lost_cursor_gives_the_same_run_keys_and_a_rewritten_file_a_new_one(
    tmp_path: Path, instance: dg.DagsterInstance
) -> None:
    landing = tmp_path / "landing"
    landing.mkdir()
    config = FileArrivalSensor(name="landing_files", path="landing")
    _, sensors = _build(_artifacts([config]), tmp_path)
    sensor = sensors["landing_files"]
    _drop(landing, "a.csv")
    first, cursor, _ = _tick(sensor, instance, None)
    lost, _, _ = _tick(sensor, instance, "not json")  # Dagster refuses a run_key it has seen
    assert [r.run_key for r in lost] == [r.run_key for r in first]
    _drop(landing, "a.csv", text="id\n1\n2\n", age_seconds=10)
    rewritten, _, _ = _tick(sensor, instance, cursor)
    assert len(rewritten) == 1
    assert rewritten[0].run_key != first[0].run_key


def test_cursor_round_trips_and_forgets_vanished_files(tmp_path: Path) -> None:
    seen = {"a.csv": (4, 1_700_000_000_000_000_000), "sub/b.csv": (0, 1)}
    assert decode_file_cursor(encode_file_cursor(seen)) == seen
    assert decode_file_cursor(None) == {}
    assert decode_file_cursor('{"files": 3}') == {}


def test_missing_folder_is_a_skipped_tick(tmp_path: Path, instance: dg.DagsterInstance) -> None:
    config = FileArrivalSensor(name="landing_files", path="nowhere")
    _, sensors = _build(_artifacts([config]), tmp_path)
    requests, _, skip = _tick(sensors["landing_files"], instance, None)
    assert requests == []
    assert skip is not None
    assert "does not exist" in skip


def test_disabled_sensor_is_stopped_and_empty_selection_is_refused(tmp_path: Path) -> None:
    config = FileArrivalSensor(name="landing_files", path="landing", enabled=False)
    _, sensors = _build(_artifacts([config]), tmp_path)
    assert sensors["landing_files"].default_status == dg.DefaultSensorStatus.STOPPED
    only_ephemeral = make_artifacts(
        [make_transform("eph", materialization="ephemeral")],
        sensors=(FileArrivalSensor(name="f", path="landing"),),
    )
    with pytest.raises(JobDefinitionError, match="only ephemeral"):
        build_sensors(only_ephemeral, TransformGraph.from_artifacts(only_ephemeral), {})


def test_sensor_job_runs_the_selected_assets(tmp_path: Path, instance: dg.DagsterInstance) -> None:
    config = FileArrivalSensor(name="landing_files", path="landing", selection="+orders")
    jobs, sensors = _build(_artifacts([config]), tmp_path)
    defs = dg.Definitions(assets=_plain_assets(), jobs=jobs, sensors=list(sensors.values()))
    # Dagster 1.11+ resolves asset jobs with resolve_job_def; 1.10 with get_job_def.
    resolve = getattr(defs, "resolve_job_def", None) or defs.get_job_def
    result = resolve("landing_files_job").execute_in_process(instance=instance)
    materialized = {e.asset_key for e in result.get_asset_materialization_events()}
    assert materialized == {KEYS["stg_orders"], KEYS["orders"]}


# Run failures --------------------------------------------------------------------------------
def _plain_assets(fail: str | None = None) -> list[dg.AssetsDefinition]:
    def make(name: str, deps: Sequence[str]) -> dg.AssetsDefinition:
        @dg.asset(name=name, deps=[KEYS[d] for d in deps])
        def build() -> None:
            if name == fail:
                raise RuntimeError(f"{name} exploded: boom-canary")

        return build

    return [make("stg_orders", []), make("orders", ["stg_orders"]), make("stg_payments", [])]


def _failed_run(instance: dg.DagsterInstance) -> tuple[dg.DagsterRun, DagsterEvent]:
    result = dg.materialize(_plain_assets(fail="orders"), instance=instance, raise_on_error=False)
    assert not result.success
    run = instance.get_run_by_id(result.run_id)
    assert run is not None
    (entry,) = instance.all_logs(result.run_id, of_type=dg.DagsterEventType.RUN_FAILURE)
    assert entry.dagster_event is not None
    return run, entry.dagster_event


def _only(requests: list[ReceivedRequest]) -> dict[str, Any]:
    assert len(requests) == 1, requests
    payload: dict[str, Any] = requests[0].json()
    return payload


def test_run_failure_sensor_posts_the_failure_to_a_webhook(
    tmp_path: Path, instance: dg.DagsterInstance
) -> None:
    with WebhookReceiver() as receiver:
        config = RunFailureSensor(name="on_failure", alert_channels=("hook",))
        _, sensors = _build(_artifacts([config], [_hook(receiver.url)]), tmp_path)
        run, failure = _failed_run(instance)
        context = dg.build_run_status_sensor_context(
            sensor_name="on_failure",
            dagster_event=failure,
            dagster_instance=instance,
            dagster_run=run,
        ).for_run_failure()
        sensors["on_failure"](context)
        sensors["on_failure"](context)  # the same failure again: deduplicated
        request = receiver.received()
        payload = _only(request)
    assert request[0].headers["X-Token"] == TOKEN
    assert payload["kind"] == "run_failure"
    assert payload["severity"] == "error"
    assert payload["job"] == run.job_name
    assert payload["run_id"] == run.run_id
    assert payload["product"] == "test_product"
    assert payload["url"] == f"{UI}/runs/{run.run_id}"
    assert "orders exploded: boom-canary" in payload["summary"]
    assert payload["details"]["failed_steps"] == "orders"


def test_a_dead_channel_never_fails_the_sensor(
    tmp_path: Path, instance: dg.DagsterInstance, caplog: pytest.LogCaptureFixture
) -> None:
    with WebhookReceiver() as receiver:
        url = receiver.url  # closed on exit: nothing listens there any more
    config = RunFailureSensor(name="on_failure", alert_channels=("hook", "console"))
    _, sensors = _build(_artifacts([config], [_hook(url)]), tmp_path)
    run, failure = _failed_run(instance)
    context = dg.build_run_status_sensor_context(
        sensor_name="on_failure", dagster_event=failure, dagster_instance=instance, dagster_run=run
    ).for_run_failure()
    with caplog.at_level("DEBUG", logger="floe.alerts"):
        sensors["on_failure"](context)
    messages = [r.getMessage() for r in caplog.records]
    assert any("could not send" in m and "hook" in m for m in messages)
    assert any(m.startswith("[run_failure] Run failed") for m in messages)  # console still got it
    assert TOKEN not in caplog.text


def test_missing_secret_variable_is_an_error_when_building(tmp_path: Path) -> None:
    artifacts = _artifacts([RunFailureSensor(name="f", alert_channels=("hook",))], [_hook(UI)])
    with pytest.raises(AlertError, match="HOOK_TOKEN"):
        build_sensors(artifacts, TransformGraph.from_artifacts(artifacts), KEYS, environ={})


# Failed checks -------------------------------------------------------------------------------
def _checked_assets() -> tuple[list[dg.AssetsDefinition], list[dg.AssetChecksDefinition]]:
    @dg.asset_check(asset=KEYS["orders"], name="orders_not_empty")
    def orders_not_empty() -> dg.AssetCheckResult:
        return dg.AssetCheckResult(
            passed=False, metadata={"failed_row_count": 3}, description="3 rows are empty"
        )

    @dg.asset_check(asset=KEYS["orders"], name="orders_unique")
    def orders_unique() -> dg.AssetCheckResult:
        return dg.AssetCheckResult(passed=True)

    @dg.asset_check(asset=KEYS["stg_payments"], name="payments_method")
    def payments_method() -> dg.AssetCheckResult:
        return dg.AssetCheckResult(passed=False, severity=dg.AssetCheckSeverity.WARN)

    return _plain_assets(), [orders_not_empty, orders_unique, payments_method]


def _materialize_with_checks(instance: dg.DagsterInstance) -> None:
    assets, checks = _checked_assets()
    dg.materialize([*assets, *checks], instance=instance, raise_on_error=False)


def test_check_failure_sensor_alerts_failed_checks_of_selected_assets_only(
    tmp_path: Path, instance: dg.DagsterInstance
) -> None:
    config = AssetCheckFailureSensor(
        name="on_check_failure", selection="orders", alert_channels=("hook",)
    )
    with WebhookReceiver() as receiver:
        _, sensors = _build(_artifacts([config], [_hook(receiver.url)]), tmp_path)
        sensor = sensors["on_check_failure"]
        _materialize_with_checks(instance)  # before the sensor's first tick: not alerted
        _, cursor, skip = _tick(sensor, instance, None)
        start = decode_check_cursor(cursor)
        assert start is not None
        assert start[0] > 0
        _materialize_with_checks(instance)
        _, cursor_after, skip = _tick(sensor, instance, cursor)
        payload = _only(receiver.wait_for(1, timeout=2))
        _, _, _ = _tick(sensor, instance, cursor_after)
        assert len(receiver.received()) == 1  # nothing new
    after = decode_check_cursor(cursor_after)
    assert after is not None
    assert after[0] >= start[0]
    assert len(after[1]) == 2  # the run before the first tick, and the one read since
    assert skip is not None
    assert "1 finished run(s) read, 1 failed check(s) alerted" in skip
    assert payload["kind"] == "check_failure"
    assert payload["asset"] == "orders"
    assert payload["check"] == "orders_not_empty"
    assert payload["summary"] == "3 rows are empty"
    assert payload["details"]["failed_row_count"] == 3
    assert payload["url"].startswith(f"{UI}/runs/")


def test_check_failure_sensor_on_everything_alerts_warnings_as_warnings(
    tmp_path: Path, instance: dg.DagsterInstance
) -> None:
    config = AssetCheckFailureSensor(name="checks", alert_channels=("hook",))
    with WebhookReceiver() as receiver:
        _, sensors = _build(_artifacts([config], [_hook(receiver.url)]), tmp_path)
        _materialize_with_checks(instance)
        _tick(sensors["checks"], instance, encode_check_cursor(0.0, []))
        payloads = sorted((r.json() for r in receiver.received()), key=lambda p: p["check"])
    assert [(p["check"], p["severity"]) for p in payloads] == [
        ("orders_not_empty", "error"),
        ("payments_method", "warning"),
    ]


# Durations and slow runs ---------------------------------------------------------------------
def _finished_run(
    instance: dg.DagsterInstance, job: str, start: float, seconds: float
) -> dg.DagsterRun:
    run = create_run_for_test(instance, job_name=job, status=dg.DagsterRunStatus.STARTED)
    storage = instance.run_storage
    for event_type, at in (("PIPELINE_START", start), ("PIPELINE_SUCCESS", start + seconds)):
        storage.handle_run_event(
            run.run_id,
            DagsterEvent(event_type_value=event_type, job_name=job),
            update_timestamp=datetime.fromtimestamp(at, UTC),
        )
    finished = instance.get_run_by_id(run.run_id)
    assert finished is not None
    return finished


def test_run_durations_lists_finished_runs_newest_first(instance: dg.DagsterInstance) -> None:
    base = time.time() - 10_000
    ids = [_finished_run(instance, "daily_job", base + i * 100, 10 + i).run_id for i in range(4)]
    _finished_run(instance, "other_job", base, 99)
    durations = run_durations(instance, "daily_job", limit=3)
    assert [d.run_id for d in durations] == ids[::-1][:3]
    assert [d.duration_seconds for d in durations] == pytest.approx([13, 12, 11])
    assert run_durations(instance, "daily_job", exclude_run_ids=[ids[-1]])[0].run_id == ids[-2]
    assert asset_durations(instance, KEYS["orders"]) == []


def _success_context(instance: dg.DagsterInstance, run: dg.DagsterRun) -> Any:
    event = DagsterEvent(event_type_value="PIPELINE_SUCCESS", job_name=run.job_name)
    return dg.build_run_status_sensor_context(
        sensor_name=SLOW_RUN_SENSOR_NAME,
        dagster_event=event,
        dagster_instance=instance,
        dagster_run=run,
    )


def test_slow_run_alerts_above_the_factor_times_the_rolling_median(
    tmp_path: Path, instance: dg.DagsterInstance
) -> None:
    monitoring = MonitoringSettings(
        slow_run_factor=2.0, window=5, min_history=3, alert_channels=("hook",)
    )
    base = time.time() - 10_000
    with WebhookReceiver() as receiver:
        _, sensors = _build(_artifacts(channels=[_hook(receiver.url)], monitoring=monitoring),
                            tmp_path)  # fmt: skip
        sensor = sensors[SLOW_RUN_SENSOR_NAME]
        for i, seconds in enumerate((10, 12, 11)):
            run = _finished_run(instance, "daily_job", base + i * 100, seconds)
            sensor(_success_context(instance, run))  # history 0, 1, 2 < min_history: no alert
        normal = _finished_run(instance, "daily_job", base + 300, 21)  # 1.9x the median 11
        sensor(_success_context(instance, normal))
        assert receiver.received() == []
        slow = _finished_run(instance, "daily_job", base + 400, 40)  # median of 10,12,11,21 = 11.5
        sensor(_success_context(instance, slow))
        payload = _only(receiver.received())
    assert payload["kind"] == "slow_run"
    assert payload["severity"] == "warning"
    assert payload["run_id"] == slow.run_id
    assert payload["details"]["median_seconds"] == pytest.approx(11.5)
    assert payload["details"]["duration_seconds"] == pytest.approx(40)
    assert payload["details"]["history"] == 4


def test_no_monitoring_channels_means_no_slow_run_sensor(tmp_path: Path) -> None:
    _, sensors = _build(_artifacts(), tmp_path)
    assert sensors == {}
