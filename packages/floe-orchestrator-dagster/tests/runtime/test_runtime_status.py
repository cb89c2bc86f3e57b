"""``floe status`` without services: slow-run detection, schedules from the artifacts and the
instance, and runs read from the product's instance."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace
from typing import Any

import dagster as dg

from floe_orchestration_core.artifacts import CompiledArtifacts, MonitoringSettings
from floe_orchestration_core.runtime import InstanceStorage, ProductWorkspace
from floe_orchestration_core.testing import make_artifacts, make_transform
from floe_orchestrator_dagster.runtime.home import open_instance
from floe_orchestrator_dagster.runtime.status import runtime_status, slow_runs


def _record(run_id: str, job: str, start: float, duration: float) -> Any:
    return SimpleNamespace(
        dagster_run=SimpleNamespace(run_id=run_id, job_name=job),
        start_time=start,
        end_time=start + duration,
    )


MONITORING = MonitoringSettings(slow_run_factor=2.0, window=5, min_history=3)


def test_a_run_slower_than_factor_times_the_median_of_earlier_successes_is_slow() -> None:
    history = [_record(f"ok{i}", "daily", 100.0 * i, 10.0) for i in range(1, 6)]
    latest = _record("late", "daily", 1000.0, 25.0)  # median 10 s, threshold 20 s
    fine = _record("fine", "daily", 1100.0, 19.0)
    slow = slow_runs([latest, fine], {"daily": list(reversed(history))}, MONITORING)
    assert slow == {"late": 20.0}


def test_no_slow_verdict_before_min_history_successful_runs() -> None:
    history = [_record("ok1", "daily", 100.0, 1.0), _record("ok2", "daily", 200.0, 1.0)]
    latest = _record("late", "daily", 1000.0, 500.0)
    assert slow_runs([latest], {"daily": history}, MONITORING) == {}


def test_only_runs_that_started_before_count_as_history() -> None:
    later = [_record(f"ok{i}", "daily", 2000.0 + i, 1.0) for i in range(5)]
    run = _record("first", "daily", 1000.0, 500.0)
    assert slow_runs([run], {"daily": later}, MONITORING) == {}


def _workspace(tmp_path: Path, artifacts: CompiledArtifacts) -> ProductWorkspace:
    artifacts_path = tmp_path / ".floe" / "compiled_artifacts.json"
    artifacts_path.parent.mkdir(parents=True)
    artifacts_path.write_text(artifacts.to_json())
    return ProductWorkspace(
        product_dir=tmp_path,
        artifacts_path=artifacts_path,
        platform_manifest_path=None,
        storage=InstanceStorage(sqlite_dir=tmp_path / ".floe" / "instance"),
        product_name="shop",
        code_location="floe_registry.code_location",
    )


def test_status_of_a_stopped_product_lists_schedules_and_runs_from_the_instance(
    tmp_path: Path,
) -> None:
    artifacts = make_artifacts(
        [make_transform("orders")],
        schedules=[
            {"name": "nightly", "cron": "0 2 * * *", "timezone": "UTC", "selection": "*"},
            {
                "name": "paused",
                "cron": "0 3 * * *",
                "timezone": "UTC",
                "selection": "*",
                "enabled": False,
            },
        ],
    )
    workspace = _workspace(tmp_path, artifacts)
    instance = open_instance(workspace)
    try:

        @dg.asset
        def one() -> int:
            return 1

        result = dg.materialize([one], instance=instance)
    finally:
        instance.dispose()

    status = runtime_status(workspace)
    assert [(s.name, s.running) for s in status.services] == [
        ("webserver", False),
        ("daemon", False),
    ]
    assert not status.running
    nightly, paused = status.schedules
    assert (nightly.name, nightly.running, paused.running) == ("nightly", True, False)
    assert nightly.next_tick is not None
    assert (nightly.next_tick.hour, nightly.next_tick.minute) == (2, 0)
    assert paused.next_tick is None
    assert [(r.run_id, r.status) for r in status.runs] == [(result.run_id, "success")]
    assert status.runs[0].duration_s is not None
    assert any("daemon is not running" in w for w in status.warnings)


def test_status_without_compiled_artifacts_says_how_to_get_them(tmp_path: Path) -> None:
    workspace = ProductWorkspace(
        product_dir=tmp_path,
        artifacts_path=tmp_path / ".floe" / "compiled_artifacts.json",
        platform_manifest_path=None,
        storage=InstanceStorage(sqlite_dir=tmp_path / ".floe" / "instance"),
        product_name="shop",
        code_location="floe_registry.code_location",
    )
    status = runtime_status(workspace)
    assert status.schedules == ()
    assert any("no compiled artifacts" in w and "floe up" in w for w in status.warnings)
