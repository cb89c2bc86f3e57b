"""``DagsterRunLauncher``: ``floe run`` — a manual run of the product's assets.

**Where it runs.** When ``.floe/runtime.json`` records a ``floe up`` whose webserver answers
``/server_info``, the run goes *through the webserver*: GraphQL ``launchRun`` of the implicit
asset job (``__ASSET_JOB`` of the code location named after the product), queued by the
``QueuedRunCoordinator`` and executed by the daemon's run launcher — exactly like a click in
the UI (lineage: the ``floe_lineage_runs`` sensor). Otherwise it runs *in-process*:
``execute_in_process`` of the same job on the product's instance (its ``DAGSTER_HOME``), so
the run shows in the UI later; its lineage START/COMPLETE/FAIL is emitted through
:class:`~floe_orchestrator_dagster.lineage.runs.RunLineage` (the run is tagged
``floe/lineage: inline``).

**Selection.** ``--select`` is a dbt-style selector evaluated by the core
(:meth:`TransformGraph.select`) over the compiled transforms; the selected transforms become
asset keys through the definitions' ``floe/unique_id`` metadata (ephemeral models have no
asset). The asset checks of selected assets run with them. No selector: every asset.

**Progress and summary.** One line per step start/failure, materialization and check
evaluation (in-process: as the instance stores each event; via the
webserver: GraphQL ``logsForRun`` polled every second). The summary counts assets
materialized and checks passed/failed, lists failed steps, and gives the duration.
``RunSummary.status`` is ``success``/``failure``/``canceled``, or ``queued`` when launched
through the webserver without ``wait``.
"""

from __future__ import annotations

import contextlib
import json
import threading
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, Any

from floe_orchestration_core.errors import RuntimeServiceError
from floe_orchestration_core.runtime import ProductWorkspace, Progress, RunLauncher, RunSummary
from floe_orchestrator_dagster.runtime import state

if TYPE_CHECKING:
    import dagster as dg

    from floe_orchestration_core.artifacts import CompiledArtifacts
    from floe_orchestrator_dagster.plugin import DagsterOrchestratorPlugin

__all__ = ["ASSET_JOB", "DagsterRunLauncher", "RunTally", "running_webserver"]

#: Dagster's name for the implicit job over every asset of a code location.
ASSET_JOB = "__ASSET_JOB"
_REPOSITORY = "__repository__"
_POLL_S = 1.0
_LOCATION_TIMEOUT_S = 180.0
_HTTP_TIMEOUT_S = 30.0
#: In-process runs: Dagster's console logger at WARNING (floe prints one line per event;
#: the full log is in the instance, visible in the UI).
_QUIET_CONSOLE = {"loggers": {"console": {"config": {"log_level": "WARNING"}}}}


class RunTally:
    """Counts of one run's events, and the progress line for each."""

    def __init__(self, progress: Progress) -> None:
        self.progress = progress
        self.materialized: list[str] = []
        self.passed: list[str] = []
        self.failed: list[str] = []
        self.failed_steps: list[str] = []

    def materialization(self, asset: str) -> None:
        self.materialized.append(asset)
        self.progress(f"  materialized {asset}")

    def check(self, name: str, asset: str, passed: bool, severity: str = "ERROR") -> None:
        warn = "" if severity.upper() == "ERROR" else f" ({severity.lower()})"
        (self.passed if passed else self.failed).append(f"{asset}:{name}{warn}")
        outcome = "passed" if passed else f"FAILED{warn}"
        self.progress(f"  check {name} on {asset}: {outcome}")

    def step_started(self, step: str) -> None:
        self.progress(f"step {step} started")

    def step_failed(self, step: str, message: str) -> None:
        self.failed_steps.append(step)
        first = message.strip().splitlines()[0] if message.strip() else ""
        self.progress(f"step {step} FAILED{': ' + first[:300] if first else ''}")


def running_webserver(workspace: ProductWorkspace) -> state.RuntimeState | None:
    """The recorded ``floe up`` when its webserver answers ``/server_info``, else None."""
    from floe_orchestration_core.connectivity import Deadline
    from floe_orchestrator_dagster.connection import check_webserver

    try:
        recorded = state.read_state(workspace)
    except RuntimeServiceError:
        return None
    if recorded is None or not any(state.is_alive(s) for s in recorded.services):
        return None
    return recorded if check_webserver(recorded.url, Deadline(5.0)).success else None


def selected_asset_keys(
    defs: dg.Definitions, artifacts: CompiledArtifacts, selection: str
) -> list[dg.AssetKey]:
    """The asset keys of the transforms ``selection`` picks (raises when none is runnable)."""
    from floe_orchestration_core.graph import TransformGraph

    names = TransformGraph.from_artifacts(artifacts).select(selection)
    unique_ids = {t.unique_id for t in artifacts.transforms if t.name in names}
    keys = []
    import dagster as dg

    for assets_def in defs.assets or ():
        if not (isinstance(assets_def, dg.AssetsDefinition) and assets_def.is_executable):
            continue  # source specs: declared, never materialized by floe
        for spec in assets_def.specs:
            if spec.metadata.get("floe/unique_id") in unique_ids:
                keys.append(spec.key)
    if not keys:
        raise RuntimeServiceError(
            f"the selection {selection!r} picks {len(names)} transform(s) ("
            f"{', '.join(sorted(names)[:10]) or 'none'}) but no runnable asset (ephemeral models "
            "have none); select models, seeds or snapshots"
        )
    return sorted(set(keys), key=lambda k: k.to_user_string())


class DagsterRunLauncher(RunLauncher):
    """``floe run`` on Dagster: through the running webserver, else in-process."""

    def __init__(self, plugin: DagsterOrchestratorPlugin) -> None:
        self._plugin = plugin

    def _run(
        self, workspace: ProductWorkspace, selection: str | None, wait: bool, progress: Progress
    ) -> RunSummary:
        from floe_orchestration_core.artifacts import load_artifacts

        artifacts = load_artifacts(workspace.artifacts_path)
        recorded = running_webserver(workspace)
        # In-process only: started before the definitions are built, so dbt's imports overlap
        # Dagster's. A run through the webserver is executed by the daemon's run workers.
        warm = _warm_dbt_for(artifacts) if recorded is None else contextlib.nullcontext()
        with warm:
            return self._run_with(
                workspace,
                artifacts,
                recorded=recorded,
                selection=selection,
                wait=wait,
                progress=progress,
            )

    def _run_with(
        self,
        workspace: ProductWorkspace,
        artifacts: CompiledArtifacts,
        *,
        recorded: state.RuntimeState | None,
        selection: str | None,
        wait: bool,
        progress: Progress,
    ) -> RunSummary:
        keys: list[dg.AssetKey] | None = None
        defs: dg.Definitions | None = None
        if selection is not None or recorded is None:
            defs = self._plugin.create_definitions(artifacts)
        if selection is not None:
            assert defs is not None
            keys = selected_asset_keys(defs, artifacts, selection)
        if recorded is not None:
            progress(f"launching through the webserver at {recorded.url}")
            return _WebserverRun(recorded, progress).run(keys, wait)
        assert defs is not None
        progress("no webserver is running ('floe up'): running in-process")
        return self._run_in_process(workspace, artifacts, defs, keys, progress)

    def _run_in_process(
        self,
        workspace: ProductWorkspace,
        artifacts: CompiledArtifacts,
        defs: dg.Definitions,
        keys: list[dg.AssetKey] | None,
        progress: Progress,
    ) -> RunSummary:
        from floe_orchestrator_dagster.lineage.runs import RunLineage
        from floe_orchestrator_dagster.runtime.home import open_instance

        job = defs.resolve_implicit_global_asset_job_def()
        instance = open_instance(workspace)
        run_id = str(uuid.uuid4())
        lineage = RunLineage(self._plugin.lineage_backend, artifacts, cwd=workspace.product_dir)
        tally = RunTally(progress)
        started = time.monotonic()
        try:
            inline = lineage.started(run_id, job.name)
            watcher = _EventWatcher(instance, run_id, tally)
            watcher.start()
            error: BaseException | None = None
            success = False
            try:
                result = job.execute_in_process(
                    run_config=_QUIET_CONSOLE,
                    instance=instance,
                    run_id=run_id,
                    asset_selection=keys,
                    tags=dict(inline.tags),
                    raise_on_error=False,
                )
                success = result.success
            except BaseException as exc:
                error = exc
                raise
            finally:
                watcher.finish()
                lineage.finished(run_id, job.name, success=success, error=error)
        finally:
            instance.dispose()
        return RunSummary(
            run_id=run_id,
            status="success" if success else "failure",
            where="in-process",
            assets_materialized=tuple(tally.materialized),
            checks_passed=tuple(tally.passed),
            checks_failed=tuple(tally.failed),
            failed_steps=tuple(tally.failed_steps),
            duration_s=time.monotonic() - started,
        )


class _EventWatcher:
    """Tallies an in-process run's events as the instance stores them.

    A listener on the instance (called right after each event is stored, on the thread that
    stored it) rather than reading the event log back: no query and no deserialization per
    event. A failing tally never touches the run.
    """

    def __init__(self, instance: dg.DagsterInstance, run_id: str, tally: RunTally) -> None:
        self._instance = instance
        self._run_id = run_id
        self._tally = tally
        self._lock = threading.Lock()

    def start(self) -> None:
        self._instance.add_event_listener(self._run_id, self._on_event)

    def finish(self) -> None:
        with self._lock:  # an event being tallied is printed before the summary
            pass

    def _on_event(self, entry: Any) -> None:
        import dagster as dg

        event = getattr(entry, "dagster_event", None)
        if event is None:
            return
        with self._lock, contextlib.suppress(Exception):
            _tally_event(self._tally, event, dg)


def _tally_event(tally: RunTally, event: Any, dg: Any) -> None:
    kind = event.event_type
    if kind == dg.DagsterEventType.STEP_START:
        tally.step_started(event.step_key or "?")
    elif kind == dg.DagsterEventType.ASSET_MATERIALIZATION and event.asset_key is not None:
        tally.materialization(event.asset_key.to_user_string())
    elif kind == dg.DagsterEventType.ASSET_CHECK_EVALUATION:
        data = event.event_specific_data
        severity = getattr(getattr(data, "severity", None), "value", "ERROR")
        tally.check(data.check_name, data.asset_key.to_user_string(), bool(data.passed), severity)
    elif kind == dg.DagsterEventType.STEP_FAILURE:
        error = getattr(event.event_specific_data, "error", None)
        tally.step_failed(event.step_key or "?", getattr(error, "message", "") or "")


def _warm_dbt_for(artifacts: CompiledArtifacts) -> contextlib.AbstractContextManager[None]:
    """A warm dbt server (:mod:`floe_orchestrator_dagster.dbt.warm`) when the product runs dbt
    (it stops when ``floe run`` ends)."""
    from floe_orchestrator_dagster.dbt.warm import dbt_executable, warm_dbt

    if not any(not t.is_ephemeral for t in artifacts.transforms):
        return contextlib.nullcontext()
    adapters = sorted({t.type for t in artifacts.compute_targets})
    return warm_dbt(dbt_executable(), adapters)


# Through the webserver -----------------------------------------------------------------------
_LOCATIONS = """
query { workspaceOrError { __typename ... on Workspace { locationEntries { name loadStatus
  locationOrLoadError { __typename ... on PythonError { message } } } } } }
"""
_LAUNCH = """
mutation Launch($params: ExecutionParams!) {
  launchRun(executionParams: $params) {
    __typename
    ... on LaunchRunSuccess { run { runId status } }
    ... on PythonError { message }
    ... on Error { message }
    ... on RunConfigValidationInvalid { errors { message } }
  }
}
"""
_LOGS = """
query Logs($runId: ID!, $after: String) {
  runOrError(runId: $runId) { __typename ... on Run { status startTime endTime } }
  logsForRun(runId: $runId, afterCursor: $after) {
    __typename
    ... on EventConnection {
      cursor
      hasMore
      events {
        __typename
        ... on MessageEvent { message stepKey }
        ... on MaterializationEvent { assetKey { path } }
        ... on AssetCheckEvaluationEvent {
          evaluation { checkName success severity assetKey { path } }
        }
      }
    }
    ... on PythonError { message }
  }
}
"""
_TERMINAL = {"SUCCESS": "success", "FAILURE": "failure", "CANCELED": "canceled"}


class _WebserverRun:
    def __init__(self, recorded: state.RuntimeState, progress: Progress) -> None:
        self.url = recorded.url
        self.location = recorded.location
        self.progress = progress

    def graphql(self, query: str, variables: Mapping[str, Any] | None = None) -> dict[str, Any]:
        body = json.dumps({"query": query, "variables": dict(variables or {})}).encode()
        request = urllib.request.Request(
            f"{self.url}/graphql",
            data=body,
            headers={"Content-Type": "application/json"},
            method="POST",
        )
        try:
            with urllib.request.urlopen(request, timeout=_HTTP_TIMEOUT_S) as response:
                payload = json.loads(response.read())
        except (urllib.error.URLError, TimeoutError, ValueError) as exc:
            raise RuntimeServiceError(
                f"the Dagster webserver at {self.url} did not answer GraphQL ({exc}); check "
                "'floe status', or stop it with 'floe down' to run in-process"
            ) from exc
        if payload.get("errors"):
            raise RuntimeServiceError(
                f"the Dagster webserver at {self.url} refused the request: "
                f"{json.dumps(payload['errors'])[:1000]}"
            )
        data: dict[str, Any] = payload["data"]
        return data

    def wait_for_location(self) -> None:
        deadline = time.monotonic() + _LOCATION_TIMEOUT_S
        while True:
            workspace = self.graphql(_LOCATIONS)["workspaceOrError"]
            entries = {e["name"]: e for e in workspace.get("locationEntries", [])}
            entry = entries.get(self.location)
            if entry is None:
                raise RuntimeServiceError(
                    f"the webserver at {self.url} serves no code location {self.location!r} "
                    f"(it has: {', '.join(entries) or 'none'}); is it another product's "
                    "'floe up'?"
                )
            if entry["loadStatus"] == "LOADED":
                loaded = entry["locationOrLoadError"] or {}
                if loaded.get("__typename") == "PythonError":
                    raise RuntimeServiceError(
                        f"code location {self.location!r} failed to load: "
                        f"{loaded.get('message', '')[:2000]}"
                    )
                return
            if time.monotonic() > deadline:
                raise RuntimeServiceError(
                    f"code location {self.location!r} did not load within "
                    f"{_LOCATION_TIMEOUT_S:.0f} s; see .floe/logs/webserver.log"
                )
            time.sleep(_POLL_S)

    def run(self, keys: list[dg.AssetKey] | None, wait: bool) -> RunSummary:
        self.wait_for_location()
        selector: dict[str, Any] = {
            "repositoryLocationName": self.location,
            "repositoryName": _REPOSITORY,
            "jobName": ASSET_JOB,
        }
        if keys is not None:
            selector["assetSelection"] = [{"path": list(k.path)} for k in keys]
        params = {
            "selector": selector,
            "executionMetadata": {"tags": [{"key": "floe/launched_by", "value": "floe run"}]},
        }
        started = time.monotonic()
        launched = self.graphql(_LAUNCH, {"params": params})["launchRun"]
        if launched["__typename"] != "LaunchRunSuccess":
            detail = launched.get("message") or json.dumps(launched.get("errors", launched))
            raise RuntimeServiceError(
                f"the webserver refused to launch the run ({launched['__typename']}): {detail}"
            )
        run_id: str = launched["run"]["runId"]
        run_url = f"{self.url}/runs/{run_id}"
        self.progress(f"run {run_id} queued: {run_url}")
        if not wait:
            return RunSummary(run_id=run_id, status="queued", where="webserver", url=run_url)
        tally = RunTally(self.progress)
        status = self._follow(run_id, tally)
        return RunSummary(
            run_id=run_id,
            status=status,  # type: ignore[arg-type]
            where="webserver",
            assets_materialized=tuple(tally.materialized),
            checks_passed=tuple(tally.passed),
            checks_failed=tuple(tally.failed),
            failed_steps=tuple(tally.failed_steps),
            duration_s=time.monotonic() - started,
            url=run_url,
        )

    def _follow(self, run_id: str, tally: RunTally) -> str:
        cursor: str | None = None
        while True:
            data = self.graphql(_LOGS, {"runId": run_id, "after": cursor})
            logs = data["logsForRun"]
            if logs["__typename"] != "EventConnection":
                raise RuntimeServiceError(
                    f"the webserver cannot read the events of run {run_id}: "
                    f"{logs.get('message', logs['__typename'])}"
                )
            _tally_graphql(tally, logs["events"])
            cursor = logs["cursor"]
            if logs["hasMore"]:
                continue
            run = data["runOrError"]
            status = _TERMINAL.get(run.get("status", ""))
            if status is not None:
                return status
            time.sleep(_POLL_S)


def _path(key: Mapping[str, Any] | None) -> str:
    return "/".join((key or {}).get("path", []))


def _tally_graphql(tally: RunTally, events: Iterable[Mapping[str, Any]]) -> None:
    for event in events:
        kind = event.get("__typename")
        if kind == "ExecutionStepStartEvent":
            tally.step_started(event.get("stepKey") or "?")
        elif kind == "MaterializationEvent":
            tally.materialization(_path(event.get("assetKey")))
        elif kind == "AssetCheckEvaluationEvent":
            evaluation = event["evaluation"]
            tally.check(
                evaluation["checkName"],
                _path(evaluation["assetKey"]),
                bool(evaluation["success"]),
                evaluation.get("severity") or "ERROR",
            )
        elif kind == "ExecutionStepFailureEvent":
            tally.step_failed(event.get("stepKey") or "?", event.get("message") or "")
