"""START and COMPLETE/FAIL of the Dagster runs floe executes in process (``floe run``).

Runs launched by the webserver, a schedule or a sensor get theirs from the lineage sensor
(:mod:`floe_orchestrator_dagster.lineage.sensor`); a run executed in process reports itself
through :class:`RunLineage`, which tags it ``floe/lineage: inline`` so the sensor leaves it
alone::

    lineage = RunLineage(plugin.lineage_backend, artifacts)   # None backend: a no-op
    run_id = str(uuid.uuid4())
    inline = lineage.started(run_id, job.name)                # emits START
    result = job.execute_in_process(run_id=run_id, tags=inline.tags, ...)
    lineage.finished(run_id, job.name, success=result.success, error=None)  # COMPLETE/FAIL
"""

from __future__ import annotations

import threading
from collections.abc import Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import attrs

from floe_orchestration_core.lineage import ErrorInfo, RunState
from floe_orchestrator_dagster.lineage.emitter import (
    INLINE_TAG,
    INLINE_VALUE,
    RUN_ID_TAG,
    lineage_emitter,
    lineage_run_id,
)
from floe_orchestrator_dagster.lineage.redaction import safe_error

if TYPE_CHECKING:
    import uuid

    from floe_orchestration_core.artifacts import CompiledArtifacts
    from floe_orchestration_core.lineage import LineageBackendPlugin

__all__ = ["InlineRun", "RunLineage"]


@attrs.frozen
class InlineRun:
    """A Dagster run whose lineage :class:`RunLineage` emits: pass :attr:`tags` to the run."""

    dagster_run_id: str
    job_name: str
    run_id: uuid.UUID
    tags: Mapping[str, str]


class RunLineage:
    """START and COMPLETE/FAIL of Dagster runs floe executes in process (see module docstring).

    ``backend`` None (or lineage disabled in the artifacts) makes every method a no-op that
    still returns the tags. Thread-safe; each Dagster run gets exactly one START and one
    terminal event, whatever the number of calls.
    """

    def __init__(
        self,
        backend: LineageBackendPlugin | None,
        artifacts: CompiledArtifacts,
        *,
        cwd: Path | None = None,
    ) -> None:
        self._emitter = lineage_emitter(backend, artifacts, cwd)
        self._lock = threading.Lock()
        self._open: dict[str, InlineRun] = {}
        self._finished: set[str] = set()

    def started(
        self,
        dagster_run_id: str,
        job_name: str,
        started_at: datetime | None = None,
        *,
        nominal_time: tuple[datetime, datetime | None] | None = None,
    ) -> InlineRun:
        """Emit START for the run about to execute; give its :attr:`InlineRun.tags` to Dagster."""
        moment = started_at or datetime.now(UTC)
        with self._lock:
            existing = self._open.get(dagster_run_id)
            if existing is not None:
                return existing
            run = InlineRun(
                dagster_run_id=dagster_run_id,
                job_name=job_name,
                run_id=lineage_run_id(dagster_run_id, moment),
                tags={INLINE_TAG: INLINE_VALUE},
            )
            run = attrs.evolve(run, tags={**run.tags, RUN_ID_TAG: str(run.run_id)})
            self._open[dagster_run_id] = run
        if self._emitter is not None:
            run_facets: dict[str, Any] = {}
            if nominal_time is not None:
                run_facets["nominalTime"] = {
                    "nominalStartTime": nominal_time[0],
                    "nominalEndTime": nominal_time[1],
                }
            self._emitter.event(
                RunState.START,
                self._emitter.job_name(None, job_name),
                run.run_id,
                event_time=moment if moment.tzinfo else moment.replace(tzinfo=UTC),
                run_facets=run_facets,
                job_facets=self._emitter.job_facets("DAGSTER", "JOB"),
            )
        return run

    def finished(
        self,
        dagster_run_id: str,
        job_name: str,
        success: bool,
        error: BaseException | ErrorInfo | str | None = None,
    ) -> None:
        """Emit COMPLETE (``success``) or FAIL with ``error`` (redacted); flush with a deadline.

        A run never :meth:`started` here is started first (START, then the terminal event); a
        second call for the same run does nothing.
        """
        with self._lock:
            if dagster_run_id in self._finished:
                return
        run = self.started(dagster_run_id, job_name)
        with self._lock:
            if dagster_run_id in self._finished:
                return
            self._finished.add(dagster_run_id)
            self._open.pop(dagster_run_id, None)
        if self._emitter is None:
            return
        fields: dict[str, Any] = {"job_facets": self._emitter.job_facets("DAGSTER", "JOB")}
        if not success:
            fields["error"] = safe_error(error or f"Dagster run {dagster_run_id} failed")
        self._emitter.event(
            RunState.COMPLETE if success else RunState.FAIL,
            self._emitter.job_name(None, run.job_name),
            run.run_id,
            **fields,
        )
        self._emitter.flush(dagster_run_id)
