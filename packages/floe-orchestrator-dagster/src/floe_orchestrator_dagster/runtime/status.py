"""``floe status``: services, schedules, sensors and recent runs of a product.

Works whether or not ``floe up`` runs: services come from ``.floe/runtime.json`` (a service
counts as running only while its recorded pid *and* start time are alive); schedules,
sensors and runs come from the product's Dagster instance (its ``DAGSTER_HOME``), read
directly — the storage is shared with the webserver and daemon.

- **Services**: CPU (percent of one core, sampled over :data:`CPU_SAMPLE_S`) and resident
  memory summed over the service process and its descendants (code servers, run workers).
- **Schedules** (from the compiled artifacts): on/off is the instance's stored state when
  someone toggled it in the UI, else the artifacts' ``enabled``; the next tick is the
  cron's next fire time in its timezone (Dagster's DST rules, via the core's
  ``scheduling.preview``). Schedules tick only while the daemon runs: a warning says so.
- **Sensors**: the artifacts' sensors and any other sensor the instance knows (such as
  floe's own lineage and monitoring sensors); the next tick of a running floe.yaml sensor is
  its last tick plus its minimum interval. A sensor defined only in code is on when the
  instance stores it as running, or when it ticked in the last 10 minutes (its default
  status is known only to the code); its next tick is not shown.
- **Runs**: the :data:`RECENT_RUNS` most recent, with status and duration. **Slow**: a run
  longer than ``monitoring.slow_run_factor`` x the median duration of the job's last
  ``monitoring.window`` successful runs before it (at least ``monitoring.min_history`` of
  them) is flagged and named in the warnings.
"""

from __future__ import annotations

import contextlib
import statistics
import time
from collections.abc import Iterable
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

import psutil

from floe_orchestration_core.errors import FloeError
from floe_orchestration_core.runtime import (
    ProductWorkspace,
    RunInfo,
    RuntimeStatus,
    ScheduleInfo,
    SensorInfo,
    ServiceInfo,
)
from floe_orchestrator_dagster import compat
from floe_orchestrator_dagster.runtime import state
from floe_orchestrator_dagster.runtime.home import open_instance

if TYPE_CHECKING:
    import dagster as dg

    from floe_orchestration_core.artifacts import CompiledArtifacts, MonitoringSettings

__all__ = ["CPU_SAMPLE_S", "RECENT_RUNS", "runtime_status", "service_usage", "slow_runs"]

CPU_SAMPLE_S = 0.3
RECENT_RUNS = 10
#: A sensor not declared in floe.yaml counts as on when it ticked this recently.
_RECENT_TICK = timedelta(minutes=10)


def _tree(pid: int) -> list[psutil.Process]:
    try:
        root = psutil.Process(pid)
        return [root, *root.children(recursive=True)]
    except psutil.Error:
        return []


def service_usage(pids: Iterable[int]) -> dict[int, tuple[float, int, int]]:
    """pid → (CPU %, RSS bytes, process count) of each process tree, sampled together."""
    trees = {pid: _tree(pid) for pid in pids}
    for procs in trees.values():
        for proc in procs:
            with contextlib.suppress(psutil.Error):
                proc.cpu_percent(None)
    time.sleep(CPU_SAMPLE_S)
    usage: dict[int, tuple[float, int, int]] = {}
    for pid, procs in trees.items():
        cpu, rss, count = 0.0, 0, 0
        for proc in procs:
            with contextlib.suppress(psutil.Error):
                cpu += proc.cpu_percent(None)
                rss += proc.memory_info().rss
                count += 1
        usage[pid] = (round(cpu, 1), rss, count)
    return usage


def _services(recorded: state.RuntimeState | None) -> tuple[ServiceInfo, ...]:
    if recorded is None:
        return (
            ServiceInfo(name="webserver", pid=None, running=False),
            ServiceInfo(name="daemon", pid=None, running=False),
        )
    alive = {s.pid for s in recorded.services if state.is_alive(s)}
    usage = service_usage(alive)
    infos = []
    for service in recorded.services:
        cpu, rss, count = usage.get(service.pid, (None, None, 0))
        infos.append(
            ServiceInfo(
                name=service.name,
                pid=service.pid,
                running=service.pid in alive,
                cpu_percent=cpu,
                rss_bytes=rss,
                processes=count,
                url=recorded.url if service.name == "webserver" else None,
            )
        )
    return tuple(infos)


def _next_fire(cron: str, timezone: str) -> datetime | None:
    from floe_orchestration_core.scheduling import preview

    try:
        return preview(cron, timezone, count=1)[0].utc
    except FloeError:
        return None


def _states(instance: dg.DagsterInstance, kind: str) -> dict[str, Any]:
    return {
        s.instigator_name: s
        for s in instance.all_instigator_state(instigator_type=compat.InstigatorType(kind))
    }


def _is_on(stored: Any, default: bool) -> bool:
    if stored is None or stored.status == compat.InstigatorStatus.DECLARED_IN_CODE:
        return default
    return bool(
        stored.status
        in (compat.InstigatorStatus.RUNNING, compat.InstigatorStatus.AUTOMATICALLY_RUNNING)
    )


def _schedules(
    artifacts: CompiledArtifacts, instance: dg.DagsterInstance | None
) -> tuple[ScheduleInfo, ...]:
    stored = _states(instance, "SCHEDULE") if instance is not None else {}
    infos = []
    for schedule in artifacts.schedules:
        running = _is_on(stored.get(schedule.name), schedule.enabled)
        infos.append(
            ScheduleInfo(
                name=schedule.name,
                running=running,
                cron=schedule.cron,
                timezone=schedule.timezone,
                next_tick=_next_fire(schedule.cron, schedule.timezone) if running else None,
            )
        )
    return tuple(infos)


def _last_tick(instance: dg.DagsterInstance, stored: Any) -> datetime | None:
    with contextlib.suppress(Exception):
        ticks = instance.get_ticks(stored.instigator_origin_id, stored.selector_id, limit=1)
        if ticks:
            return datetime.fromtimestamp(ticks[0].timestamp, UTC)
    return None


def _sensors(
    artifacts: CompiledArtifacts, instance: dg.DagsterInstance | None
) -> tuple[SensorInfo, ...]:
    stored = _states(instance, "SENSOR") if instance is not None else {}
    declared = {s.name: s for s in artifacts.sensors}
    infos = []
    now = datetime.now(UTC)
    for name in sorted({*declared, *stored}):
        sensor = declared.get(name)
        last = None
        if instance is not None and name in stored:
            last = _last_tick(instance, stored[name])
        if sensor is not None:
            running = _is_on(stored.get(name), sensor.enabled)
        else:
            # A sensor of the code (not of floe.yaml) whose default status only the code
            # knows: on when the instance says so or when it ticked recently.
            recent = last is not None and now - last < _RECENT_TICK
            running = _is_on(stored.get(name), recent)
        next_tick = None
        if running and sensor is not None and last is not None:
            next_tick = last + timedelta(seconds=sensor.minimum_interval_seconds)
        infos.append(
            SensorInfo(
                name=name,
                running=running,
                kind=sensor.type if sensor is not None else "dagster",
                next_tick=next_tick,
            )
        )
    return tuple(infos)


def _duration(record: Any) -> float | None:
    if record.start_time is None or record.end_time is None:
        return None
    return max(0.0, float(record.end_time) - float(record.start_time))


def slow_runs(
    records: list[Any], history: dict[str, list[Any]], monitoring: MonitoringSettings
) -> dict[str, float]:
    """run id → threshold in seconds, for each finished run in ``records`` that is slow.

    ``history`` maps a job name to its successful run records, newest first. A run is slow
    when it took longer than ``slow_run_factor`` x the median of up to ``window`` successful
    runs of its job that *started before it*, given at least ``min_history`` of them.
    """
    slow: dict[str, float] = {}
    for record in records:
        duration = _duration(record)
        if duration is None:
            continue
        earlier = [
            d
            for d in (
                _duration(r)
                for r in history.get(record.dagster_run.job_name, [])
                if r.dagster_run.run_id != record.dagster_run.run_id
                and (r.start_time or 0) < (record.start_time or 0)
            )
            if d is not None
        ][: monitoring.window]
        if len(earlier) < monitoring.min_history:
            continue
        threshold = monitoring.slow_run_factor * statistics.median(earlier)
        if duration > threshold:
            slow[record.dagster_run.run_id] = threshold
    return slow


def _runs(
    instance: dg.DagsterInstance, monitoring: MonitoringSettings
) -> tuple[tuple[RunInfo, ...], list[str]]:
    import dagster as dg

    records = list(instance.get_run_records(limit=RECENT_RUNS))
    history: dict[str, list[Any]] = {}
    for job in {r.dagster_run.job_name for r in records}:
        history[job] = list(
            instance.get_run_records(
                filters=dg.RunsFilter(job_name=job, statuses=[dg.DagsterRunStatus.SUCCESS]),
                limit=monitoring.window + RECENT_RUNS,
            )
        )
    slow = slow_runs(records, history, monitoring)
    runs = []
    warnings = []
    for record in records:
        run = record.dagster_run
        duration = _duration(record)
        threshold = slow.get(run.run_id)
        started = (
            datetime.fromtimestamp(record.start_time, UTC)
            if record.start_time is not None
            else None
        )
        runs.append(
            RunInfo(
                run_id=run.run_id,
                job=run.job_name,
                status=run.status.value.lower(),
                started=started,
                duration_s=duration,
                slow=threshold is not None,
                threshold_s=threshold,
            )
        )
        if threshold is not None and duration is not None:
            warnings.append(
                f"slow run {run.run_id[:8]} of {run.job_name}: {duration:.1f} s, more than "
                f"{monitoring.slow_run_factor:g} x the median of its recent successful runs "
                f"({threshold:.1f} s)"
            )
    return tuple(runs), warnings


def runtime_status(workspace: ProductWorkspace) -> RuntimeStatus:
    """The :class:`RuntimeStatus` of ``workspace`` (see the module docstring)."""
    from floe_orchestration_core.artifacts import load_artifacts

    warnings: list[str] = []
    try:
        recorded = state.read_state(workspace)
    except FloeError as exc:
        recorded, warnings = None, [str(exc)]
    services = _services(recorded)
    artifacts: CompiledArtifacts | None = None
    if workspace.artifacts_path.is_file():
        try:
            artifacts = load_artifacts(workspace.artifacts_path)
        except FloeError as exc:
            warnings.append(f"the compiled artifacts cannot be read: {exc}")
    else:
        warnings.append(
            f"no compiled artifacts at {workspace.artifacts_path}; 'floe up' or 'floe run' "
            "compiles the product"
        )
    instance: dg.DagsterInstance | None = None
    try:
        instance = open_instance(workspace)
    except FloeError as exc:
        warnings.append(f"the Dagster instance cannot be read: {exc}")
    schedules: tuple[ScheduleInfo, ...] = ()
    sensors: tuple[SensorInfo, ...] = ()
    runs: tuple[RunInfo, ...] = ()
    try:
        if artifacts is not None:
            schedules = _schedules(artifacts, instance)
            sensors = _sensors(artifacts, instance)
        if instance is not None:
            from floe_orchestration_core.artifacts import MonitoringSettings

            monitoring = artifacts.monitoring if artifacts is not None else MonitoringSettings()
            runs, slow = _runs(instance, monitoring)
            warnings.extend(slow)
    finally:
        if instance is not None:
            instance.dispose()
    daemon_up = any(s.name == "daemon" and s.running for s in services)
    ticking = [s.running for s in schedules] + [s.running for s in sensors]
    if not daemon_up and any(ticking):
        warnings.append(
            "the daemon is not running: schedules and sensors do not tick until 'floe up'"
        )
    return RuntimeStatus(
        product_name=workspace.product_name,
        url=recorded.url if recorded is not None and services and services[0].running else None,
        services=services,
        schedules=schedules,
        sensors=sensors,
        runs=runs,
        warnings=tuple(warnings),
    )
