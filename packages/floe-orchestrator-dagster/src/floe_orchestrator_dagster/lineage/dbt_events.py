"""dbt's structured events → lineage events, as they stream out of ``dbt build``.

:func:`stream_with_lineage` wraps a dagster-dbt ``DbtCliInvocation``: it yields exactly the
Dagster events ``invocation.stream()`` yields (dagster-dbt 0.26 through 0.29), and hands every
raw dbt event to a :class:`DbtLineageTap` on the way (by replacing the invocation's
``stream_raw_events``, which ``stream()`` reads). What the ``@dbt_assets`` op yields is
:func:`~floe_orchestrator_dagster.lineage.dbt_op.dbt_op_with_lineage`.

The tap reads dbt's info-level JSON events (dagster-dbt runs dbt with ``--log-format json``):

=======================================  ===================================================
dbt event                                lineage
=======================================  ===================================================
``LogStartLine`` (or ``NodeStart``)      START of the node's job
``LogModelResult``, ``LogSeedResult``,   COMPLETE on success (a test: ``pass``, or ``warn``
``LogSnapshotResult``, ``LogTestResult`` with ``success: false``); on error or an
(or ``NodeFinished``)                    error-severity failure, FAIL once dbt's message is
                                         known (``RunResultError``, or the end of the stream)
``SkippingDetails``                      nothing: a node skipped because an upstream failed
                                         never started, so it gets no event
=======================================  ===================================================

What each job reads and writes, its name and facets are the product's lineage model's
(:class:`~floe_orchestration_core.lineage.jobs.ProductLineage`, the one design-time export
uses); run time adds the compiled SQL (``sql``), the invocation (``dbt_run``,
``dbt_version``, ``tags`` run facets) and, on a model's COMPLETE, ``columnLineage`` and
``outputStatistics`` (:mod:`~floe_orchestrator_dagster.lineage.dbt_facts`). On DuckDB those
need the warehouse, which dbt locks while it runs: a DuckDB model's COMPLETE (its event time
still the node's end) and the invocation's Dagster events are held until the dbt process
exited, as dagster-dbt does for its own row counts. A test's job (``{product}.test.{name}``)
reads the datasets it tests and reports its result as ``dataQualityAssertions`` on the tested
one. A node that started but whose result never came (dbt crashed or was killed) is ended
with FAIL (ABORT when the run was interrupted) when the stream ends, so every run id gets
exactly one START and one terminal event.
"""

from __future__ import annotations

import logging
import re
import threading
from collections.abc import Iterator, Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Final

import attrs
from dagster import DagsterExecutionInterruptedError

from floe_orchestration_core.artifacts import QualityCheck
from floe_orchestration_core.lineage import Dataset, ParentRun, RunState, new_run_id
from floe_orchestrator_dagster.lineage.datasets import unknown_node_job
from floe_orchestrator_dagster.lineage.dbt_facts import BuildFacts, NodeFacts
from floe_orchestrator_dagster.lineage.emitter import LineageEmitter
from floe_orchestrator_dagster.lineage.redaction import redact, safe_error
from floe_orchestrator_dagster.lineage.warehouse import reads_after_exit, rows_from_status

__all__ = ["DbtLineageTap", "stream_with_lineage"]

logger = logging.getLogger(__name__)

_START_EVENTS: Final = frozenset({"LogStartLine", "NodeStart"})
_RESULT_EVENTS: Final = frozenset(
    {"LogModelResult", "LogSeedResult", "LogSnapshotResult", "LogTestResult", "NodeFinished"}
)
_ERROR_EVENTS: Final = frozenset({"RunResultError"})
_SUCCESS: Final = frozenset({"success", "pass"})
_ANSI: Final = re.compile(r"\x1b\[[0-9;]*m")


def _event_time(raw: Mapping[str, Any]) -> datetime:
    stamp = raw.get("info", {}).get("ts")
    if isinstance(stamp, str) and stamp:
        try:
            parsed = datetime.fromisoformat(stamp.replace("Z", "+00:00"))
        except ValueError:
            pass
        else:
            return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)
    return datetime.now(UTC)


def _rows(data: Mapping[str, Any]) -> int | None:
    """Rows written, as the adapter reported them in a result event (None: not reported)."""
    response = (data.get("run_result") or {}).get("adapter_response") or {}
    affected = response.get("rows_affected")
    if isinstance(affected, int | float) and not isinstance(affected, bool) and affected >= 0:
        return int(affected)
    for key in ("status", "result_message"):
        rows = rows_from_status(data.get(key))
        if rows is not None:
            return rows
    return None


@attrs.define
class _NodeRun:
    """One dbt node's lineage run inside one dbt invocation."""

    unique_id: str
    run_id: Any
    job_name: str
    is_test: bool
    language: str
    fields: dict[str, Any]
    compute: str | None = None
    check: QualityCheck | None = None
    failure: str | None = None  # FAIL waiting for dbt's message
    success: bool | None = None
    ended: bool = False
    rows: int | None = None
    finished_at: datetime | None = None  # a held COMPLETE's event time


class DbtLineageTap:
    """Turns the raw dbt events of one invocation into lineage events (see module docstring).

    ``manifest`` is the manifest the op runs (for compiled-SQL paths and parents),
    ``target_path`` the invocation's dbt target folder, ``run_facets`` facets every event
    carries (the partition's ``nominalTime``, the Dagster run's tags). :meth:`observe`,
    :meth:`close` and :meth:`finish` never raise.
    """

    def __init__(
        self,
        emitter: LineageEmitter,
        *,
        parent: ParentRun | None,
        manifest: Mapping[str, Any] | None = None,
        target_path: Path | None = None,
        run_facets: Mapping[str, Any] | None = None,
    ) -> None:
        self._emitter = emitter
        self._model = emitter.model
        self._parent = parent
        self._manifest: Mapping[str, Any] = manifest or {}
        self._manifest_nodes: Mapping[str, Any] = self._manifest.get("nodes", {})
        self._target_path = target_path
        self._run_facets = dict(run_facets or {})
        self._facts = BuildFacts(self._model, self._manifest, emitter.base_dir)
        self._lock = threading.Lock()
        self._runs: dict[str, _NodeRun] = {}
        self._held: list[_NodeRun] = []
        self._closed = False
        self._finished = False
        self._dbt_version: str | None = None
        self.node_facts: dict[str, NodeFacts] = {}
        #: Whether the op holds its Dagster events until dbt exited (a DuckDB model is built).
        self.holds = any(
            reads_after_exit(compute)
            for uid in self._manifest_nodes
            if (transform := self._model.transforms_by_id.get(uid)) is not None
            and (compute := self._model.compute(transform.compute)) is not None
        )

    # What the op calls ------------------------------------------------------------------
    def observe(self, raw: Mapping[str, Any]) -> None:
        """Handle one raw dbt event (``DbtCliEventMessage.raw_event``)."""
        try:
            self._observe(raw)
        except Exception as exc:  # lineage must never fail a run
            logger.warning("lineage: could not map a dbt event: %s", redact(repr(exc)))

    def close(self, error: BaseException | None = None, *, interrupted: bool = False) -> None:
        """End every run still open: its pending FAIL, or FAIL (ABORT when ``interrupted``)
        for nodes whose result never came. Held COMPLETEs wait for :meth:`finish`. Idempotent."""
        with self._lock:
            if self._closed:
                return
            self._closed = True
            runs = [run for run in self._runs.values() if not run.ended]
        for run in runs:
            try:
                if run.failure is not None:
                    self._fail(run, run.failure)
                elif interrupted:
                    self._end(run, RunState.ABORT)
                else:
                    reason = f"dbt ended before {run.unique_id} finished" + (
                        f": {type(error).__name__}: {error}" if error is not None else ""
                    )
                    self._fail(run, reason)
            except Exception as exc:
                logger.warning("lineage: could not end %s: %s", run.job_name, redact(repr(exc)))

    def finish(self, *, read_warehouse: bool = True) -> None:
        """Emit the COMPLETEs held until dbt exited, with what the warehouse says (its
        columns, its row counts) unless ``read_warehouse`` is False. Idempotent."""
        with self._lock:
            if self._finished:
                return
            self._finished = True
            held, self._held = self._held, []
        if not held:
            return
        by_compute: dict[str | None, list[_NodeRun]] = {}
        for run in held:
            by_compute.setdefault(run.compute, []).append(run)
        for compute, runs in by_compute.items():
            snapshot = None
            if read_warehouse:
                try:
                    snapshot = self._facts.read(compute, [r.unique_id for r in runs], count=True)
                except Exception as exc:
                    logger.debug("lineage: no warehouse facts: %s", redact(repr(exc)))
            for run in runs:
                try:
                    rows = run.rows
                    key = self._facts.output_key(run.unique_id)
                    if rows is None and snapshot is not None and key is not None:
                        rows = snapshot.row_counts.get(key)
                    self._complete(run, snapshot, rows, run.finished_at)
                except Exception as exc:
                    logger.warning("lineage: could not end %s: %s", run.job_name, redact(repr(exc)))

    # Mapping ----------------------------------------------------------------------------
    def _observe(self, raw: Mapping[str, Any]) -> None:
        name = raw.get("info", {}).get("name")
        data = raw.get("data", {})
        if name == "MainReportVersion":  # "Running with dbt=1.11.16", before any node
            self._dbt_version = str(data.get("version") or "").lstrip("=") or None
            return
        node_info = data.get("node_info") or {}
        unique_id = node_info.get("unique_id")
        if not isinstance(unique_id, str) or unique_id.startswith("unit_test"):
            return
        if name in _START_EVENTS:
            self._start(unique_id, node_info, raw)
        elif name in _RESULT_EVENTS:
            # NodeFinished: run_result.status; Log*Result: node_info.node_status (a model's
            # data.status is the adapter's response, e.g. "OK"; a test's is pass/fail/warn).
            run_result = data.get("run_result") or {}
            node_status = str(node_info.get("node_status") or "")
            if node_status in ("", "started", "None"):
                node_status = str(data.get("status") or "")
            status = str(run_result.get("status") or node_status).lower()
            message = run_result.get("message") if name == "NodeFinished" else None
            self._result(unique_id, status, message, raw, _rows(data))
        elif name in _ERROR_EVENTS:
            self._error_message(unique_id, str(data.get("msg") or raw["info"].get("msg") or ""))

    def _invocation_facets(self, raw: Mapping[str, Any]) -> dict[str, Any]:
        metadata = self._manifest.get("metadata") or {}
        facets = dict(self._run_facets)
        invocation = {
            "invocation_id": raw.get("info", {}).get("invocation_id"),
            "dbt_runtime": "core",
            "project_name": metadata.get("project_name"),
        }
        facets["dbt_run"] = {k: v for k, v in invocation.items() if v}
        version = self._dbt_version or metadata.get("dbt_version")
        if version:
            facets["dbt_version"] = {"version": str(version)}
        return facets

    def _start(self, unique_id: str, node_info: Mapping[str, Any], raw: Mapping[str, Any]) -> None:
        with self._lock:
            if unique_id in self._runs or self._closed:
                return
            run = self._new_run(unique_id, node_info, raw)
            self._runs[unique_id] = run
        self._emitter.event(
            RunState.START, run.job_name, run.run_id, event_time=_event_time(raw), **run.fields
        )

    def _new_run(
        self, unique_id: str, node_info: Mapping[str, Any], raw: Mapping[str, Any]
    ) -> _NodeRun:
        model = self._model
        common: dict[str, Any] = {
            "parent": self._parent,
            "run_facets": self._invocation_facets(raw),
        }
        transform = model.transforms_by_id.get(unique_id)
        if transform is not None:
            job = model.transform_job(transform)
            language = "python" if transform.language == "python" else "SQL"
            compute = transform.compute
        else:
            check = model.checks.get(unique_id)
            if check is not None:
                job = model.check_job(check)
            elif unique_id.startswith("test."):
                name = str(node_info.get("node_name") or unique_id)
                job = attrs.evolve(model.check_job(_unknown_check(name, unique_id)), inputs=())
            else:
                job = unknown_node_job(model, node_info, unique_id)
            language, compute = "SQL", None
        common |= {"inputs": job.inputs, "outputs": job.outputs, "job_facets": dict(job.job_facets)}
        return _NodeRun(
            unique_id=unique_id,
            run_id=new_run_id(),
            job_name=job.job_name,
            is_test=unique_id.startswith("test."),
            language=language,
            fields=common,
            compute=compute,
            check=model.checks.get(unique_id),
        )

    def _result(
        self,
        unique_id: str,
        status: str,
        message: str | None,
        raw: Mapping[str, Any],
        rows: int | None,
    ) -> None:
        with self._lock:
            run = self._runs.get(unique_id)
            if run is None or run.ended or run.failure is not None:
                return  # never started (skipped), or already ended
        if status == "skipped":
            self._end(run, RunState.ABORT, event_time=_event_time(raw))
            return
        if status in _SUCCESS or (run.is_test and status == "warn"):
            run.success = status != "warn"
            if run.is_test:
                self._end(run, RunState.COMPLETE, event_time=_event_time(raw))
            else:
                self._built(run, rows, _event_time(raw))
            return
        run.success = False
        summary = _ANSI.sub("", str(raw.get("info", {}).get("msg") or "")).strip()
        fallback = f"dbt reported {status} for {unique_id}" + (f": {summary}" if summary else "")
        if message:
            self._fail(run, message, event_time=_event_time(raw))
        else:
            with self._lock:
                run.failure = fallback  # dbt's message follows in RunResultError

    def _built(self, run: _NodeRun, rows: int | None, finished_at: datetime) -> None:
        """A model, seed or snapshot dbt built: COMPLETE with its facts, now or once dbt
        exited (DuckDB: the warehouse is locked while dbt runs)."""
        counted = self._facts.counted(run.unique_id)
        run.rows = rows if counted else None
        compute = self._model.compute(run.compute)
        transform = self._model.transforms_by_id.get(run.unique_id)
        needs_warehouse = transform is not None and (
            transform.resource_type.value == "model" or (counted and rows is None)
        )
        if self.holds and compute is not None and needs_warehouse and reads_after_exit(compute):
            with self._lock:
                if not self._finished:
                    run.ended = True  # claimed: close() leaves it to finish()
                    run.finished_at = finished_at
                    self._held.append(run)
                    return
        snapshot = None
        if transform is not None and transform.resource_type.value == "model":
            snapshot = self._facts.read(run.compute, [run.unique_id], count=False)
        self._complete(run, snapshot, run.rows, finished_at)

    def _complete(
        self, run: _NodeRun, snapshot: Any, rows: int | None, finished_at: datetime | None
    ) -> None:
        lineage = self._facts.lineage(run.unique_id, self._compiled_sql(run.unique_id), snapshot)
        outputs: tuple[Dataset, ...] = run.fields.get("outputs", ())
        if outputs:
            extra = self._facts.output_facets(
                run.fields.get("inputs", ()), outputs[0], lineage, rows
            )
            first = outputs[0]
            outputs = (
                Dataset(first.namespace, first.name, {**first.facets, **extra}),
                *outputs[1:],
            )
        self.node_facts[run.unique_id] = self._facts.node_facts(lineage, rows)
        run.ended = False  # a held run was claimed; _end claims it again
        self._end(run, RunState.COMPLETE, event_time=finished_at, outputs=outputs)

    def _error_message(self, unique_id: str, message: str) -> None:
        with self._lock:
            run = self._runs.get(unique_id)
            if run is None or run.ended or run.failure is None:
                return
        self._fail(run, message.strip() or run.failure)

    # Emission ---------------------------------------------------------------------------
    def _claim(self, run: _NodeRun) -> bool:
        with self._lock:
            if run.ended:
                return False
            run.ended = True
            return True

    def _end(
        self,
        run: _NodeRun,
        state: RunState,
        *,
        event_time: datetime | None = None,
        **extra: Any,
    ) -> None:
        if not self._claim(run):
            return
        fields = dict(run.fields)
        if run.is_test and run.success is not None:
            fields["inputs"] = self._with_assertion(run)
        sql = self._compiled_sql(run.unique_id)
        if sql is not None:
            compute = self._model.compute(run.compute)
            dialect = compute.type if compute is not None else None
            fields["job_facets"] = {
                **fields["job_facets"],
                "sql": {"query": sql, "dialect": dialect},
            }
        fields.update(extra)
        self._emitter.event(
            state, run.job_name, run.run_id, event_time=event_time or datetime.now(UTC), **fields
        )

    def _fail(self, run: _NodeRun, message: str, *, event_time: datetime | None = None) -> None:
        run.success = False
        error = safe_error(message, language=run.language)
        self._end(run, RunState.FAIL, event_time=event_time, error=error)

    def _with_assertion(self, run: _NodeRun) -> tuple[Dataset, ...]:
        inputs: tuple[Dataset, ...] = run.fields.get("inputs", ())
        check = run.check
        if check is None or not inputs:
            return inputs
        tested = self._model.dataset_of(check.attached_to)
        assertion = {"assertion": check.test_name, "success": bool(run.success)}
        if check.column:
            assertion["column"] = check.column
        result: list[Dataset] = []
        for dataset in inputs:
            if tested is not None and (dataset.namespace, dataset.name) == (
                tested.namespace,
                tested.name,
            ):
                facets = {**dataset.facets, "dataQualityAssertions": {"assertions": [assertion]}}
                result.append(Dataset(dataset.namespace, dataset.name, facets))
            else:
                result.append(dataset)
        return tuple(result)

    def _compiled_sql(self, unique_id: str) -> str | None:
        return self._facts.compiled_sql(self._target_path, unique_id)


def _unknown_check(name: str, unique_id: str) -> QualityCheck:
    return QualityCheck(
        name=name or unique_id,
        unique_id=unique_id,
        kind="singular",
        test_name=name or unique_id,
        attached_to=name or unique_id,
    )


def stream_with_lineage(invocation: Any, tap: DbtLineageTap) -> Iterator[Any]:
    """Yield what ``invocation.stream()`` yields while ``tap`` observes every raw dbt event.

    ``invocation`` is a dagster-dbt ``DbtCliInvocation``; the tap is closed when the stream
    ends, fails (its runs still open end with FAIL) or is interrupted (ABORT).
    """
    original = invocation.stream_raw_events

    def tapped() -> Iterator[Any]:
        for event in original():
            tap.observe(event.raw_event)
            yield event

    invocation.stream_raw_events = tapped
    try:
        yield from invocation.stream()
    except DagsterExecutionInterruptedError:
        tap.close(interrupted=True)
        raise
    except BaseException as exc:
        tap.close(exc)
        raise
    finally:
        tap.close()
