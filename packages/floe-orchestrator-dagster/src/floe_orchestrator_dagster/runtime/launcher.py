"""``DagsterRunLauncher``: ``floe run`` — a manual run of the product's assets.

**Where it runs.** When ``.floe/runtime.json`` records a ``floe up`` whose webserver answers
``/server_info``, the run goes *through the webserver*
(:mod:`~floe_orchestrator_dagster.runtime.webserver_run`), exactly like a click in the UI.
Otherwise it runs *in-process*:
``execute_in_process`` of the same job on the product's instance (its ``DAGSTER_HOME``), so
the run shows in the UI later; its lineage START/COMPLETE/FAIL is emitted through
:class:`~floe_orchestrator_dagster.lineage.runs.RunLineage` (the run is tagged
``floe/lineage: inline``).

**Selection.** ``--select`` is a dbt-style selector evaluated by the core
(:meth:`TransformGraph.select`) over the compiled transforms; a part of it that matches no
transform stops the run before anything is built, with the close matches
(:meth:`TransformGraph.require_match`); the selected transforms become
asset keys through the definitions' floe metadata, by the rule the definitions' jobs use
(:mod:`floe_orchestrator_dagster.definitions.selection`; ephemeral models have no asset). The
asset checks of selected assets run with them. No selector: every asset.

The plugin is typed as the core's port: the launcher needs ``create_definitions`` and the
lineage backend, nothing of the Dagster plugin class itself. Dagster is imported only on the
paths that need it (definitions, an in-process run): a run through the webserver without a
selection never imports it.

**Progress and summary.** One line per step start/failure, materialization and check
evaluation (in-process: as the instance stores each event; via the
webserver: GraphQL ``logsForRun`` polled every second). The summary counts assets
materialized and checks passed/failed, lists failed steps, and gives the duration and the
path of the run's dbt log (:mod:`~floe_orchestrator_dagster.dbt.run_output`). A
:class:`~floe_orchestration_core.run_progress.RunObserver` as ``progress`` receives the
events themselves (``floe run``'s live view), the total of assets first.
``RunSummary.status`` is ``success``/``failure``/``canceled``, or ``queued`` when launched
through the webserver without ``wait``.
"""

from __future__ import annotations

import contextlib
import logging
import threading
import time
import uuid
from typing import TYPE_CHECKING, Any

import attrs

from floe_orchestration_core.errors import RuntimeServiceError
from floe_orchestration_core.runtime import ProductWorkspace, Progress, RunLauncher, RunSummary
from floe_orchestrator_dagster.dbt.run_output import dbt_log_file
from floe_orchestrator_dagster.dbt.warm import dbt_executable, warm_dbt
from floe_orchestrator_dagster.lineage.runs import RunLineage
from floe_orchestrator_dagster.runtime import state
from floe_orchestrator_dagster.runtime.home import dagster_home, open_instance
from floe_orchestrator_dagster.runtime.run_events import RunTally, tally_event
from floe_orchestrator_dagster.runtime.webserver_run import WebserverRun, running_webserver

if TYPE_CHECKING:
    import dagster as dg

    from floe_orchestration_core.artifacts import CompiledArtifacts
    from floe_orchestration_core.plugin import OrchestratorPlugin

__all__ = ["DagsterRunLauncher", "selected_asset_keys"]


def _console_config() -> dict[str, Any]:
    """In-process runs: Dagster's console logger silent (floe prints one line per event and
    failure; the full log, tracebacks included, is in the instance: ``floe logs``, the UI),
    at WARNING when debug logging is on (``floe --debug``: failures with their tracebacks)."""
    level = "WARNING" if logging.getLogger().isEnabledFor(logging.DEBUG) else "CRITICAL"
    return {"loggers": {"console": {"config": {"log_level": level}}}}


def selected_asset_keys(
    defs: dg.Definitions, artifacts: CompiledArtifacts, selection: str
) -> list[dg.AssetKey]:
    """The asset keys of the transforms ``selection`` picks (raises when none is runnable)."""
    from floe_orchestration_core.graph import TransformGraph
    from floe_orchestrator_dagster.definitions.selection import (
        selected_asset_keys as keys_of_selection,
    )
    from floe_orchestrator_dagster.definitions.selection import transform_asset_keys

    graph = TransformGraph.from_artifacts(artifacts)
    keys = keys_of_selection(
        graph, selection, transform_asset_keys(defs, artifacts), selector="floe run --select"
    )
    if not keys:
        names = graph.select(selection)
        raise RuntimeServiceError(
            f"the selection {selection!r} picks {len(names)} transform(s) ("
            f"{', '.join(sorted(names)[:10]) or 'none'}) but no runnable asset (ephemeral models "
            "have none); select models, seeds or snapshots"
        )
    return sorted(set(keys), key=lambda k: k.to_user_string())


class DagsterRunLauncher(RunLauncher):
    """``floe run`` on Dagster: through the running webserver, else in-process."""

    def __init__(self, plugin: OrchestratorPlugin) -> None:
        self._plugin = plugin

    def _run(
        self, workspace: ProductWorkspace, selection: str | None, wait: bool, progress: Progress
    ) -> RunSummary:
        from floe_orchestration_core.artifacts import load_artifacts
        from floe_orchestration_core.graph import TransformGraph

        artifacts = load_artifacts(workspace.artifacts_path)
        if selection is not None:
            # Before the definitions are built: a typo fails at once, with close matches.
            TransformGraph.from_artifacts(artifacts).require_match(
                selection, who="floe run --select"
            )
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
            return _with_dbt_log(workspace, WebserverRun(recorded, progress).run(keys, wait))
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
            tally.planned(len(keys) if keys is not None else _asset_count(defs))
            error: BaseException | None = None
            success = False
            try:
                result = job.execute_in_process(
                    run_config=_console_config(),
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
        summary = tally.summary(
            run_id,
            "success" if success else "failure",
            where="in-process",
            duration_s=time.monotonic() - started,
        )
        return _with_dbt_log(workspace, summary)


def _with_dbt_log(workspace: ProductWorkspace, summary: RunSummary) -> RunSummary:
    """``summary`` with the path of the run's dbt log, when a dbt step wrote one."""
    log = dbt_log_file(dagster_home(workspace).path, summary.run_id)
    return summary if log is None or not log.is_file() else attrs.evolve(summary, dbt_log=str(log))


def _asset_count(defs: dg.Definitions) -> int:
    """The assets a run of everything tries (what a live view counts "done of")."""
    return len(defs.resolve_asset_graph().materializable_asset_keys)


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
        event = getattr(entry, "dagster_event", None)
        if event is None:
            return
        with self._lock, contextlib.suppress(Exception):
            tally_event(self._tally, event)


def _warm_dbt_for(artifacts: CompiledArtifacts) -> contextlib.AbstractContextManager[None]:
    """A warm dbt server (:mod:`floe_orchestrator_dagster.dbt.warm`) when the product runs dbt
    (it stops when ``floe run`` ends)."""
    if not any(not t.is_ephemeral for t in artifacts.transforms):
        return contextlib.nullcontext()
    adapters = sorted({t.type for t in artifacts.compute_targets})
    return warm_dbt(dbt_executable(), adapters)
