"""dbt's structured events → lineage events, as they stream out of ``dbt build``.

:func:`stream_with_lineage` wraps a dagster-dbt ``DbtCliInvocation``: it yields exactly the
Dagster events ``invocation.stream()`` yields (dagster-dbt 0.26 through 0.29), and hands every
raw dbt event to a :class:`DbtLineageTap` on the way (by replacing the invocation's
``stream_raw_events``, which ``stream()`` reads).

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

A node that started but whose result never came (dbt crashed or was killed) is ended with FAIL
(ABORT when the run was interrupted) when the stream ends, so every run id gets exactly one
START and one terminal event. Models (and seeds, snapshots) carry their upstream relations and
sources as inputs and their own relation, with its documented columns, as output; a test's
job (``{product}.test.{name}``) reads the datasets it tests and reports its result as a
``dataQualityAssertions`` facet on the tested one.
"""

from __future__ import annotations

import logging
import os
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
from floe_orchestration_core.lineage.naming import dataset_for_relation
from floe_orchestrator_dagster.lineage.emitter import LineageEmitter, parent_run
from floe_orchestrator_dagster.lineage.redaction import redact, safe_error

__all__ = ["DbtLineageTap", "dbt_op_with_lineage", "stream_with_lineage"]

logger = logging.getLogger(__name__)

_START_EVENTS: Final = frozenset({"LogStartLine", "NodeStart"})
_RESULT_EVENTS: Final = frozenset(
    {"LogModelResult", "LogSeedResult", "LogSnapshotResult", "LogTestResult", "NodeFinished"}
)
_ERROR_EVENTS: Final = frozenset({"RunResultError"})
_SUCCESS: Final = frozenset({"success", "pass"})
_ANSI: Final = re.compile(r"\x1b\[[0-9;]*m")
_MAX_SQL_CHARS: Final = 256_000


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


@attrs.define
class _NodeRun:
    """One dbt node's lineage run inside one dbt invocation."""

    unique_id: str
    run_id: Any
    job_name: str
    is_test: bool
    language: str
    fields: dict[str, Any]
    check: QualityCheck | None = None
    failure: str | None = None  # FAIL waiting for dbt's message
    success: bool | None = None
    ended: bool = False


class DbtLineageTap:
    """Turns the raw dbt events of one invocation into lineage events (see module docstring).

    ``manifest`` is the manifest the op runs (for compiled-SQL paths), ``target_path`` the
    invocation's dbt target folder, ``run_facets`` facets every event carries (the partition's
    ``nominalTime``). :meth:`observe` and :meth:`close` never raise.
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
        self._datasets = emitter.datasets
        self._parent = parent
        self._manifest_nodes: Mapping[str, Any] = (manifest or {}).get("nodes", {})
        self._target_path = target_path
        self._run_facets = dict(run_facets or {})
        self._lock = threading.Lock()
        self._runs: dict[str, _NodeRun] = {}
        self._closed = False

    # What the op calls ------------------------------------------------------------------
    def observe(self, raw: Mapping[str, Any]) -> None:
        """Handle one raw dbt event (``DbtCliEventMessage.raw_event``)."""
        try:
            self._observe(raw)
        except Exception as exc:  # lineage must never fail a run
            logger.warning("lineage: could not map a dbt event: %s", redact(repr(exc)))

    def close(self, error: BaseException | None = None, *, interrupted: bool = False) -> None:
        """End every run still open: its pending FAIL, or FAIL (ABORT when ``interrupted``)
        for nodes whose result never came. Idempotent."""
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

    # Mapping ----------------------------------------------------------------------------
    def _observe(self, raw: Mapping[str, Any]) -> None:
        name = raw.get("info", {}).get("name")
        data = raw.get("data", {})
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
            self._result(unique_id, status, message, raw)
        elif name in _ERROR_EVENTS:
            self._error_message(unique_id, str(data.get("msg") or raw["info"].get("msg") or ""))

    def _start(self, unique_id: str, node_info: Mapping[str, Any], raw: Mapping[str, Any]) -> None:
        with self._lock:
            if unique_id in self._runs or self._closed:
                return
            run = self._new_run(unique_id, node_info)
            if run is None:
                return
            self._runs[unique_id] = run
        self._emitter.event(
            RunState.START, run.job_name, run.run_id, event_time=_event_time(raw), **run.fields
        )

    def _new_run(self, unique_id: str, node_info: Mapping[str, Any]) -> _NodeRun | None:
        emitter, datasets = self._emitter, self._datasets
        common: dict[str, Any] = {"parent": self._parent, "run_facets": self._run_facets}
        transform = datasets.transforms.get(unique_id)
        if transform is not None:
            kind = transform.resource_type.value
            common |= {
                "inputs": datasets.inputs(transform),
                "outputs": (datasets.output(transform),),
                "job_facets": emitter.job_facets("DBT", kind.upper(), transform.description),
            }
            return _NodeRun(
                unique_id=unique_id,
                run_id=new_run_id(),
                job_name=emitter.job_name(kind, transform.name),
                is_test=False,
                language="python" if transform.language == "python" else "SQL",
                fields=common,
            )
        check = datasets.checks.get(unique_id)
        if check is not None or unique_id.startswith("test."):
            name = check.name if check is not None else str(node_info.get("node_name") or "")
            tested = [check.attached_to, *check.references] if check is not None else []
            inputs = {id(d): d for d in (datasets.of(n) for n in dict.fromkeys(tested)) if d}
            description = check.description if check is not None else ""
            common |= {
                "inputs": tuple(inputs.values()),
                "job_facets": emitter.job_facets("DBT", "TEST", description),
            }
            return _NodeRun(
                unique_id=unique_id,
                run_id=new_run_id(),
                job_name=emitter.job_name("test", name or unique_id),
                is_test=True,
                language="SQL",
                fields=common,
                check=check,
            )
        relation = node_info.get("node_relation") or {}
        node_name = str(node_info.get("node_name") or unique_id.rsplit(".", maxsplit=1)[-1])
        kind = str(node_info.get("resource_type") or unique_id.split(".", maxsplit=1)[0])
        output = dataset_for_relation(
            datasets.compute(None),
            relation.get("database"),
            relation.get("schema"),
            str(relation.get("alias") or node_name),
            base_dir=datasets.base_dir,
        )
        common |= {"outputs": (output,), "job_facets": emitter.job_facets("DBT", kind.upper())}
        return _NodeRun(
            unique_id=unique_id,
            run_id=new_run_id(),
            job_name=emitter.job_name(kind, node_name),
            is_test=False,
            language="SQL",
            fields=common,
        )

    def _result(
        self, unique_id: str, status: str, message: str | None, raw: Mapping[str, Any]
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
            self._end(run, RunState.COMPLETE, event_time=_event_time(raw))
            return
        run.success = False
        summary = _ANSI.sub("", str(raw.get("info", {}).get("msg") or "")).strip()
        fallback = f"dbt reported {status} for {unique_id}" + (f": {summary}" if summary else "")
        if message:
            self._fail(run, message, event_time=_event_time(raw))
        else:
            with self._lock:
                run.failure = fallback  # dbt's message follows in RunResultError

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
            dialect = self._datasets.compute(None).type
            transform = self._datasets.transforms.get(run.unique_id)
            if transform is not None:
                dialect = self._datasets.compute(transform.compute).type
            fields["job_facets"] = {
                **fields["job_facets"],
                "sql": {"query": sql, "dialect": dialect},
            }
        self._emitter.event(
            state,
            run.job_name,
            run.run_id,
            event_time=event_time or datetime.now(UTC),
            **fields,
            **extra,
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
        tested = self._datasets.of(check.attached_to)
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
        """The node's compiled SQL, as dbt wrote it into the invocation's target folder."""
        node = self._manifest_nodes.get(unique_id)
        if self._target_path is None or not isinstance(node, Mapping):
            return None
        if node.get("resource_type") == "seed":
            return None
        original = str(node.get("original_file_path") or "")
        path = str(node.get("path") or "")
        if not original or not path:
            return None
        relative = (
            original
            if os.path.basename(path) == os.path.basename(original)
            else os.path.join(original, path)
        )
        package = str(node.get("package_name") or "")
        file = self._target_path / "compiled" / package / relative
        try:
            text = file.read_text(encoding="utf-8")
        except OSError:
            return None
        return text[:_MAX_SQL_CHARS] if text.strip() else None


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


def dbt_op_with_lineage(context: Any, invocation: Any, emitter: LineageEmitter) -> Iterator[Any]:
    """What a ``@dbt_assets`` op yields for ``invocation`` (a ``DbtCliInvocation``), with the
    lineage of every dbt node it runs; the backend is flushed (bounded) when the op ends.

    The models' parent is the Dagster run; a partitioned run's window is every event's
    ``nominalTime`` run facet.
    """
    run_facets: dict[str, Any] = {}
    try:
        parent: ParentRun | None = parent_run(context, emitter)
        if context.has_partition_key:
            window = context.partition_time_window
            run_facets["nominalTime"] = {
                "nominalStartTime": _utc(window.start),
                "nominalEndTime": _utc(window.end),
            }
    except Exception as exc:  # lineage must never fail a run: emit without what failed
        logger.warning("lineage: no parent run for the dbt op: %s", redact(repr(exc)))
        parent = None
    tap = DbtLineageTap(
        emitter,
        parent=parent,
        manifest=getattr(invocation, "manifest", None),
        target_path=getattr(invocation, "target_path", None),
        run_facets=run_facets,
    )
    try:
        yield from stream_with_lineage(invocation, tap)
    finally:
        emitter.flush(context.run.run_id)


def _utc(moment: datetime) -> datetime:
    return moment.astimezone(UTC) if moment.tzinfo else moment.replace(tzinfo=UTC)
