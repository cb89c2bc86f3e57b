"""Sensors from the artifacts: file arrival, run failure and failed-check alerts, slow runs.

What :func:`build_sensors` maps, and how:

- a :class:`~floe_orchestration_core.artifacts.FileArrivalSensor` becomes an asset job
  ``<sensor>_job`` over ``graph.select(selection)`` and a ``@sensor`` that lists the files
  matching ``pattern`` in ``path`` (relative paths start where ``dbt.project_dir``'s do). Its
  cursor (kept by Dagster's instance, so it survives restarts) holds every file seen as
  ``relative path -> [size, mtime_ns]``; each tick requests one run per file that is new or
  changed, in arrival order, with ``run_key = "<path>@<size>:<mtime_ns>"`` — Dagster never
  launches two runs with one key for a sensor, so even a lost cursor cannot run a file twice —
  and the run tags ``floe/trigger_file`` (the file's absolute path) and ``floe/sensor``.
  A file modified less than ``settle_seconds`` ago (default 2 s) is still being written: it
  waits for a later tick. A missing folder is a skipped tick saying so.
- a :class:`~floe_orchestration_core.artifacts.RunFailureSensor` becomes a
  ``run_failure_sensor`` over every job of the code location that sends a ``run_failure``
  alert (the failure message, the failed steps and their errors, a link to the run).
- an :class:`~floe_orchestration_core.artifacts.AssetCheckFailureSensor` becomes a ``@sensor``
  that reads the ``ASSET_CHECK_EVALUATION`` events of every run finished since its cursor (the
  runs' update time plus the ids of runs already read: SQLite's run-sharded event log answers
  per-run queries only, so the sensor reads runs, not a global event stream); each failed
  evaluation of a check on a selected asset (``*``: every asset, sources included) sends a
  ``check_failure`` alert. Its first tick starts at the latest finished run, so failures from
  before the sensor existed are not alerted; evaluations reported outside a run are not seen.
- ``monitoring.alert_channels`` (when not empty) adds the slow-run sensor of
  :mod:`floe_orchestrator_dagster.monitoring`.

Disabled sensors are ``STOPPED``; enabled ones ``RUNNING``. A sensor with no alert channels
alerts on ``console``. All alerts of a code location go through one :class:`AlertRouter`:
channels are built when the definitions are (a missing secret variable is an ``AlertError``
then), and deduplication and rate-limit state lives in ``<instance folder>/floe/alert_state.json``
(shared by every process of the instance, kept across restarts). Delivering never raises.
"""

from __future__ import annotations

import fnmatch
import json
import logging
import time
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import attrs
import dagster as dg

from floe_orchestration_core.alerts import (
    Alert,
    AlertChannel,
    AlertDispatcher,
    DispatchReport,
    JsonFileAlertState,
    MemoryAlertState,
    channels_from_config,
)
from floe_orchestration_core.artifacts import (
    AssetCheckFailureSensor,
    CompiledArtifacts,
    FileArrivalSensor,
    RunFailureSensor,
)
from floe_orchestration_core.graph import TransformGraph
from floe_orchestrator_dagster.errors import JobDefinitionError
from floe_orchestrator_dagster.jobs import to_dagster_retry_policy
from floe_orchestrator_dagster.monitoring import build_slow_run_sensor

if TYPE_CHECKING:
    from dagster._core.definitions.unresolved_asset_job_definition import (
        UnresolvedAssetJobDefinition,
    )

__all__ = [
    "SENSOR_TAG",
    "TRIGGER_FILE_TAG",
    "AlertRouter",
    "FileScan",
    "SeenFile",
    "build_sensors",
    "check_failure_alerts",
    "decode_check_cursor",
    "decode_file_cursor",
    "encode_check_cursor",
    "encode_file_cursor",
    "run_failure_alert",
    "scan_folder",
]

TRIGGER_FILE_TAG = "floe/trigger_file"
SENSOR_TAG = "floe/sensor"
_RUN_BATCH = 200
_DEFAULT_CHANNELS = ("console",)
_log = logging.getLogger(__name__)


# Alert routing ------------------------------------------------------------------------------
class AlertRouter:
    """One code location's alert channels, with one dispatcher per Dagster instance folder."""

    def __init__(
        self,
        channels: Mapping[str, AlertChannel],
        *,
        product: str,
        webserver_url: str | None = None,
    ) -> None:
        self.channels = dict(channels)
        self.product = product
        self.webserver_url = webserver_url.rstrip("/") if webserver_url else None
        self._dispatchers: dict[str, AlertDispatcher] = {}

    def run_url(self, run_id: str) -> str | None:
        return f"{self.webserver_url}/runs/{run_id}" if self.webserver_url else None

    def dispatcher(self, instance: dg.DagsterInstance) -> AlertDispatcher:
        """The dispatcher whose state lives in ``instance``'s folder (in memory without one)."""
        try:
            root: str | None = instance.root_directory
        except Exception:
            root = None
        key = root or ""
        if key not in self._dispatchers:
            state = (
                JsonFileAlertState(Path(root) / "floe" / "alert_state.json")
                if root
                else MemoryAlertState()
            )
            self._dispatchers[key] = AlertDispatcher(self.channels, state=state)
        return self._dispatchers[key]

    def send(
        self,
        instance: dg.DagsterInstance,
        alert: Alert,
        channel_names: Sequence[str],
        log: Any = None,
    ) -> DispatchReport:
        """Dispatch ``alert`` (to ``console`` when no channel is named); never raises."""
        report = self.dispatcher(instance).dispatch(
            alert, tuple(channel_names) or _DEFAULT_CHANNELS
        )
        if log is not None:
            outcomes = ", ".join(f"{name}: {outcome}" for name, outcome in report.outcomes.items())
            log.info(f"alert {alert.title!r}: {outcomes}")
        return report


# File arrival -------------------------------------------------------------------------------
@attrs.frozen
class SeenFile:
    path: str  # relative to the watched folder, '/'-separated
    size: int
    mtime_ns: int

    @property
    def run_key(self) -> str:
        return f"{self.path}@{self.size}:{self.mtime_ns}"


@attrs.frozen
class FileScan:
    """One look at the folder: files to run for (arrival order), files still being written,
    and the cursor to store."""

    new: tuple[SeenFile, ...]
    settling: tuple[str, ...]
    seen: Mapping[str, tuple[int, int]]


def decode_file_cursor(cursor: str | None) -> dict[str, tuple[int, int]]:
    """The files a cursor records; an empty or unreadable cursor records none."""
    if not cursor:
        return {}
    try:
        files = json.loads(cursor)["files"]
        return {str(path): (int(size), int(mtime)) for path, (size, mtime) in files.items()}
    except (ValueError, KeyError, TypeError, AttributeError):
        return {}


def encode_file_cursor(seen: Mapping[str, tuple[int, int]]) -> str:
    return json.dumps(
        {"v": 1, "files": {path: list(sig) for path, sig in sorted(seen.items())}},
        separators=(",", ":"),
    )


def scan_folder(
    folder: Path,
    pattern: str,
    seen: Mapping[str, tuple[int, int]],
    *,
    settle_seconds: float,
    now_ns: int | None = None,
) -> FileScan:
    """Compare the files matching ``pattern`` in ``folder`` with what ``seen`` records.

    ``pattern`` is matched against the path relative to ``folder`` (``*.csv``; ``**/*.csv``
    also looks in sub-folders). Files that vanished are forgotten.
    """
    now = time.time_ns() if now_ns is None else now_ns
    settle_ns = int(settle_seconds * 1e9)
    recursive = "/" in pattern
    candidates = folder.rglob("*") if recursive else folder.iterdir()
    new: list[SeenFile] = []
    settling: list[str] = []
    next_seen: dict[str, tuple[int, int]] = {}
    for entry in candidates:
        relative = entry.relative_to(folder).as_posix()
        if not fnmatch.fnmatchcase(relative, pattern) and not (
            recursive and pattern.startswith("**/") and _matches_at_top(relative, pattern)
        ):
            continue
        try:
            if not entry.is_file():
                continue
            stat = entry.stat()
        except OSError:
            continue  # vanished between listing and stat
        signature = (stat.st_size, stat.st_mtime_ns)
        if now - stat.st_mtime_ns < settle_ns:
            settling.append(relative)
            if relative in seen:
                next_seen[relative] = seen[relative]
            continue
        next_seen[relative] = signature
        if seen.get(relative) != signature:
            new.append(SeenFile(relative, *signature))
    new.sort(key=lambda f: (f.mtime_ns, f.path))
    return FileScan(new=tuple(new), settling=tuple(sorted(settling)), seen=next_seen)


def _matches_at_top(relative: str, pattern: str) -> bool:
    """``**/*.csv`` also matches ``a.csv`` at the folder's top."""
    return "/" not in relative and fnmatch.fnmatchcase(relative, pattern[3:])


def _file_arrival_sensor(
    config: FileArrivalSensor,
    folder: Path,
    job: UnresolvedAssetJobDefinition,
    settle_seconds: float,
) -> dg.SensorDefinition:
    @dg.sensor(
        name=config.name,
        job=job,
        minimum_interval_seconds=config.minimum_interval_seconds,
        default_status=_status(config.enabled),
        description=config.description
        or f"floe: one run of {config.selection!r} per new file {config.pattern!r} in {folder}",
    )
    def file_arrival(context: dg.SensorEvaluationContext) -> dg.SensorResult | dg.SkipReason:
        if not folder.is_dir():
            return dg.SkipReason(f"folder {folder} does not exist (yet); no file to run for")
        scan = scan_folder(
            folder,
            config.pattern,
            decode_file_cursor(context.cursor),
            settle_seconds=settle_seconds,
        )
        cursor = encode_file_cursor(scan.seen)
        if not scan.new:
            context.update_cursor(cursor)
            waiting = f"; still being written: {', '.join(scan.settling)}" if scan.settling else ""
            return dg.SkipReason(f"no new file matching {config.pattern!r} in {folder}{waiting}")
        requests = [
            dg.RunRequest(
                run_key=file.run_key,
                tags={TRIGGER_FILE_TAG: str(folder / file.path), SENSOR_TAG: config.name},
            )
            for file in scan.new
        ]
        return dg.SensorResult(run_requests=requests, cursor=cursor)

    return file_arrival


# Run failures -------------------------------------------------------------------------------
def _first_line(text: str | None, limit: int = 300) -> str:
    line = next((part.strip() for part in (text or "").splitlines() if part.strip()), "")
    return line[:limit]


def run_failure_alert(context: dg.RunFailureSensorContext, router: AlertRouter) -> Alert:
    """The alert for the failed run of ``context``."""
    run = context.dagster_run
    steps: dict[str, str] = {}
    for event in context.get_step_failure_events():
        error = getattr(event.event_specific_data, "error", None)
        while getattr(error, "cause", None) is not None:  # the user's exception, not Dagster's
            error = error.cause  # type: ignore[union-attr]
        message = getattr(error, "message", None) or event.message or ""
        steps[event.step_key or "?"] = _first_line(message)
    summary = _first_line(context.failure_event.message) or "the run failed"
    if steps:
        summary += "; failed steps: " + "; ".join(f"{step}: {msg}" for step, msg in steps.items())
    details: dict[str, str | None] = {"failed_steps": ", ".join(steps) or None}
    for tag in (TRIGGER_FILE_TAG, "dagster/schedule_name", "dagster/sensor_name"):
        if tag in run.tags:
            details[tag] = run.tags[tag]
    return Alert(
        kind="run_failure",
        title=f"Run failed: {run.job_name}",
        summary=summary,
        product=router.product,
        job=run.job_name,
        run_id=run.run_id,
        url=router.run_url(run.run_id),
        details=details,
        dedup_key=f"run_failure|{router.product}|{run.job_name}|{','.join(sorted(steps))}",
    )


def _run_failure_sensor(config: RunFailureSensor, router: AlertRouter) -> dg.SensorDefinition:
    @dg.run_failure_sensor(
        name=config.name,
        minimum_interval_seconds=config.minimum_interval_seconds,
        default_status=_status(config.enabled),
        description=config.description
        or f"floe: alerts {', '.join(config.alert_channels or _DEFAULT_CHANNELS)} on failed runs",
    )
    def on_run_failure(context: dg.RunFailureSensorContext) -> None:
        router.send(context.instance, run_failure_alert(context, router), config.alert_channels,
                    context.log)  # fmt: skip

    return on_run_failure


# Failed checks ------------------------------------------------------------------------------
_FINISHED = [
    dg.DagsterRunStatus.SUCCESS,
    dg.DagsterRunStatus.FAILURE,
    dg.DagsterRunStatus.CANCELED,
]
#: Runs updated this long before the cursor are read again (and skipped when already seen):
#: a margin for timestamps written in the same second and for clock rounding in storages.
_OVERLAP_SECONDS = 60.0
_SEEN_RUNS = 500


def decode_check_cursor(cursor: str | None) -> tuple[float, list[str]] | None:
    """``(updated_after, run ids already read)`` of a check sensor's cursor; None when unset
    or unreadable (the sensor then starts at the latest finished run)."""
    if not cursor:
        return None
    try:
        data = json.loads(cursor)
        return float(data["after"]), [str(run_id) for run_id in data["seen"]]
    except (ValueError, KeyError, TypeError):
        return None


def encode_check_cursor(after: float, seen: Sequence[str]) -> str:
    return json.dumps({"after": after, "seen": list(seen)[-_SEEN_RUNS:]}, separators=(",", ":"))


def _finished_runs(instance: dg.DagsterInstance, after: float | None, limit: int) -> Sequence[Any]:
    filters = dg.RunsFilter(
        statuses=_FINISHED,
        updated_after=None if after is None else datetime.fromtimestamp(after, UTC),
    )
    return instance.get_run_records(
        filters=filters, limit=limit, order_by="update_timestamp", ascending=after is not None
    )


def _timestamp(record: Any) -> float:
    value = record.update_timestamp
    return float(value.timestamp()) if isinstance(value, datetime) else float(value)


def _check_evaluations(instance: dg.DagsterInstance, run_id: str) -> list[Any]:
    return list(instance.all_logs(run_id, of_type=dg.DagsterEventType.ASSET_CHECK_EVALUATION))


def _metadata_details(metadata: Mapping[str, Any]) -> dict[str, str | int | float | bool | None]:
    details: dict[str, str | int | float | bool | None] = {}
    for name, value in list(metadata.items())[:10]:
        raw = getattr(value, "value", value)
        if isinstance(raw, str | int | float | bool):
            details[name] = raw if not isinstance(raw, str) else raw[:300]
    return details


def check_failure_alerts(
    entries: Sequence[Any],
    selected: frozenset[dg.AssetKey] | None,
    router: AlertRouter,
) -> list[Alert]:
    """Alerts for the failed check evaluations among ``entries`` (event log entries) on
    ``selected`` assets (every asset when None)."""
    alerts: list[Alert] = []
    for entry in entries:
        event = entry.dagster_event
        evaluation = None if event is None else event.event_specific_data
        if evaluation is None or getattr(evaluation, "passed", True):
            continue
        asset_key: dg.AssetKey = evaluation.asset_key
        if selected is not None and asset_key not in selected:
            continue
        asset = asset_key.to_user_string()
        severity = str(getattr(evaluation.severity, "value", evaluation.severity)).upper()
        description = getattr(evaluation, "description", None)
        run_id = entry.run_id or None
        alerts.append(
            Alert(
                kind="check_failure",
                severity="warning" if severity == "WARN" else "error",
                title=f"Check failed: {evaluation.check_name} on {asset}",
                summary=_first_line(description)
                or f"asset check {evaluation.check_name!r} of asset {asset!r} failed "
                f"(severity {severity})",
                product=router.product,
                job=getattr(event, "job_name", None),
                run_id=run_id,
                asset=asset,
                check=evaluation.check_name,
                url=router.run_url(run_id) if run_id else None,
                details={"check_severity": severity, **_metadata_details(evaluation.metadata)},
                dedup_key=f"check_failure|{router.product}|{asset}|{evaluation.check_name}",
            )
        )
    return alerts


def _check_failure_sensor(
    config: AssetCheckFailureSensor,
    selected: frozenset[dg.AssetKey] | None,
    router: AlertRouter,
) -> dg.SensorDefinition:
    @dg.sensor(
        name=config.name,
        minimum_interval_seconds=config.minimum_interval_seconds,
        default_status=_status(config.enabled),
        description=config.description
        or f"floe: alerts {', '.join(config.alert_channels or _DEFAULT_CHANNELS)} when a check "
        f"of {config.selection!r} fails",
    )
    def on_check_failure(context: dg.SensorEvaluationContext) -> dg.SkipReason:
        instance = context.instance
        state = decode_check_cursor(context.cursor)
        if state is None:
            latest = _finished_runs(instance, None, 1)
            after = _timestamp(latest[0]) if latest else 0.0
            seen = [latest[0].dagster_run.run_id] if latest else []
            context.update_cursor(encode_check_cursor(after, seen))
            return dg.SkipReason("watching the check evaluations of runs finishing from now on")
        after, seen = state
        already = set(seen)
        records = [
            record
            for record in _finished_runs(instance, after - _OVERLAP_SECONDS, _RUN_BATCH)
            if record.dagster_run.run_id not in already
        ]
        entries = [e for r in records for e in _check_evaluations(instance, r.dagster_run.run_id)]
        alerts = check_failure_alerts(entries, selected, router)
        for alert in alerts:
            router.send(instance, alert, config.alert_channels, context.log)
        router.dispatcher(instance).flush_summaries()
        if records:
            after = max(after, *(_timestamp(r) for r in records))
            seen = [*seen, *(r.dagster_run.run_id for r in records)]
        context.update_cursor(encode_check_cursor(after, seen))
        return dg.SkipReason(
            f"{len(records)} finished run(s) read, {len(alerts)} failed check(s) alerted"
        )

    return on_check_failure


# Building -----------------------------------------------------------------------------------
def _status(enabled: bool) -> dg.DefaultSensorStatus:
    return dg.DefaultSensorStatus.RUNNING if enabled else dg.DefaultSensorStatus.STOPPED


def _selected_keys(
    name: str, selection: str, graph: TransformGraph, asset_keys: Mapping[str, dg.AssetKey]
) -> list[dg.AssetKey]:
    keys: list[dg.AssetKey] = []
    for transform_name in sorted(graph.select(selection)):
        if graph.transforms[transform_name].is_ephemeral:
            continue
        key = asset_keys.get(transform_name)
        if key is None:
            raise JobDefinitionError(
                f"sensor {name!r} selects transform {transform_name!r}, which has no asset key; "
                "asset_keys must map every non-ephemeral transform name to its AssetKey"
            )
        keys.append(key)
    return keys


def _file_job(
    config: FileArrivalSensor,
    artifacts: CompiledArtifacts,
    graph: TransformGraph,
    asset_keys: Mapping[str, dg.AssetKey],
) -> UnresolvedAssetJobDefinition:
    keys = _selected_keys(config.name, config.selection, graph, asset_keys)
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


def _resolve(path: str, cwd: Path | None) -> Path:
    folder = Path(path)
    return folder if folder.is_absolute() else (cwd or Path.cwd()) / folder


def build_sensors(
    artifacts: CompiledArtifacts,
    graph: TransformGraph,
    asset_keys: Mapping[str, dg.AssetKey],
    *,
    cwd: Path | None = None,
    webserver_url: str | None = None,
    settle_seconds: float = 2.0,
    environ: Mapping[str, str] | None = None,
) -> tuple[list[UnresolvedAssetJobDefinition], list[dg.SensorDefinition]]:
    """The jobs and sensors of ``artifacts`` (see the module docstring).

    ``asset_keys`` maps each non-ephemeral transform name to its asset key; ``cwd`` is where
    relative paths start (default: the current directory); ``webserver_url`` makes alerts link
    to runs; ``environ`` (default ``os.environ``) holds the channels' secrets. Raises
    :class:`~floe_orchestration_core.errors.AlertError` for a missing secret variable and
    :class:`~floe_orchestrator_dagster.errors.JobDefinitionError` for an unusable selection.
    """
    jobs: list[UnresolvedAssetJobDefinition] = []
    sensors: list[dg.SensorDefinition] = []
    alerting = [s for s in artifacts.sensors if not isinstance(s, FileArrivalSensor)]
    router: AlertRouter | None = None
    if alerting or artifacts.monitoring.alert_channels:
        router = AlertRouter(
            channels_from_config(artifacts.alert_channels, environ),
            product=artifacts.metadata.product_name,
            webserver_url=webserver_url,
        )
    for config in artifacts.sensors:
        if isinstance(config, FileArrivalSensor):
            job = _file_job(config, artifacts, graph, asset_keys)
            jobs.append(job)
            sensors.append(
                _file_arrival_sensor(config, _resolve(config.path, cwd), job, settle_seconds)
            )
        elif isinstance(config, RunFailureSensor):
            assert router is not None
            sensors.append(_run_failure_sensor(config, router))
        else:
            assert router is not None
            selected = (
                None
                if config.selection.strip() == "*"
                else frozenset(_selected_keys(config.name, config.selection, graph, asset_keys))
            )
            sensors.append(_check_failure_sensor(config, selected, router))
    if artifacts.monitoring.alert_channels:
        assert router is not None
        sensors.append(
            build_slow_run_sensor(
                artifacts.monitoring, router, product=artifacts.metadata.product_name
            )
        )
    return jobs, sensors
