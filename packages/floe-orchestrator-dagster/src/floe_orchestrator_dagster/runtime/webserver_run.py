"""``floe run`` through a running ``floe up``: GraphQL ``launchRun``, then ``logsForRun``.

The run is a launch of the implicit asset job (:data:`ASSET_JOB` of the code location named
after the product), queued by the ``QueuedRunCoordinator`` and executed by the daemon's run
launcher — exactly like a click in the UI (its lineage comes from the ``floe_lineage_runs``
sensor). With ``wait``, the run's events are polled every second and tallied until it ends.
Standard library only: a run through the webserver never imports Dagster in ``floe``.
"""

from __future__ import annotations

import json
import time
import urllib.error
import urllib.request
from typing import TYPE_CHECKING, Any

from floe_orchestration_core.errors import RuntimeServiceError
from floe_orchestration_core.runtime import ProductWorkspace, Progress, RunSummary
from floe_orchestrator_dagster.deploy.connection import check_webserver
from floe_orchestrator_dagster.runtime import state
from floe_orchestrator_dagster.runtime.run_events import RunOutcome, RunTally, tally_graphql

if TYPE_CHECKING:
    from collections.abc import Mapping

    import dagster as dg

__all__ = ["ASSET_JOB", "WebserverRun", "running_webserver"]

#: Dagster's name for the implicit job over every asset of a code location.
ASSET_JOB = "__ASSET_JOB"
_REPOSITORY = "__repository__"
_POLL_S = 1.0
_LOCATION_TIMEOUT_S = 180.0
_HTTP_TIMEOUT_S = 30.0


def running_webserver(workspace: ProductWorkspace) -> state.RuntimeState | None:
    """The recorded ``floe up`` when its webserver answers ``/server_info``, else None."""
    from floe_orchestration_core.connectivity import Deadline

    try:
        recorded = state.read_state(workspace)
    except RuntimeServiceError:
        return None
    if recorded is None or not any(state.is_alive(s) for s in recorded.services):
        return None
    return recorded if check_webserver(recorded.url, Deadline(5.0)).success else None


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
_TERMINAL: dict[str, RunOutcome] = {
    "SUCCESS": "success",
    "FAILURE": "failure",
    "CANCELED": "canceled",
}


class WebserverRun:
    """A run launched through the webserver's GraphQL API, and followed until it ends."""

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
        return tally.summary(
            run_id,
            status,
            where="webserver",
            duration_s=time.monotonic() - started,
            url=run_url,
        )

    def _follow(self, run_id: str, tally: RunTally) -> RunOutcome:
        cursor: str | None = None
        while True:
            data = self.graphql(_LOGS, {"runId": run_id, "after": cursor})
            logs = data["logsForRun"]
            if logs["__typename"] != "EventConnection":
                raise RuntimeServiceError(
                    f"the webserver cannot read the events of run {run_id}: "
                    f"{logs.get('message', logs['__typename'])}"
                )
            tally_graphql(tally, logs["events"])
            cursor = logs["cursor"]
            if logs["hasMore"]:
                continue
            run = data["runOrError"]
            status = _TERMINAL.get(run.get("status", ""))
            if status is not None:
                return status
            time.sleep(_POLL_S)
