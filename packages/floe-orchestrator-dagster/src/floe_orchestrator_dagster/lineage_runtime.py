"""Lineage at run time: START and COMPLETE/FAIL events from Dagster runs, models and assets.

Where events come from (one START and one terminal event per run id, START first):

=========================  ==============================================================
job run                    emitted by
=========================  ==============================================================
a dbt model, seed,         the ``@dbt_assets`` op, from dbt's structured events as they
snapshot or test           stream (:mod:`~floe_orchestrator_dagster.lineage_dbt_events`)
a Python asset             the asset's op, through :class:`AssetLineage`
a Dagster run launched by  the sensor ``floe_lineage_runs``
the daemon or webserver    (:mod:`~floe_orchestrator_dagster.lineage_sensors`; needs
                           ``dagster-daemon``)
a Dagster run executed     the caller, through :class:`RunLineage`, which tags the run
in process by floe         ``floe/lineage: inline`` so the sensor leaves it alone
=========================  ==============================================================

Names: the job namespace is the product's ``lineage.namespace`` (floe.yaml) when it is not the
default ``floe``, else the lineage backend's namespace (manifest.yaml). Job names are
``{product}.{dagster job}``, ``{product}.model.{name}`` (``seed``/``snapshot`` likewise),
``{product}.test.{name}`` and ``{product}.asset.{name}``. A model's run has the Dagster run as
parent. The Dagster run's lineage run id is a UUIDv7 derived from the Dagster run id and the
run's creation time (:func:`lineage_run_id`), so the sensor and every step process agree on it
without talking to each other; an in-process run carries it in the tag ``floe/lineage_run_id``.

API for in-process runs::

    lineage = RunLineage(plugin.lineage_backend, artifacts)   # None backend: a no-op
    run_id = str(uuid.uuid4())
    inline = lineage.started(run_id, job.name)                # emits START
    result = job.execute_in_process(run_id=run_id, tags=inline.tags, ...)
    lineage.finished(run_id, job.name, success=result.success, error=None)  # COMPLETE/FAIL

API for a Python asset's op::

    assets = AssetLineage(emitter)          # emitter = lineage_emitter(backend, artifacts)
    with assets.start(asset_name="load_landing", inputs=[...], outputs=[...],
                      parent=parent_run(context)) as run:
        ...                                 # COMPLETE on success, FAIL (and re-raise) on error
    # or: run = assets.start(...); run.complete() / run.fail(exc)

Lineage never fails or stalls a run: building or delivering an event that goes wrong is logged
and dropped; flushes have a deadline (:data:`FLUSH_BUDGET_SECONDS` per run and process). Error
texts go through :func:`redact` (URL credentials, ``password=…``-style pairs, bearer tokens and
the values of secret-looking environment variables are replaced by ``***``).
"""

from __future__ import annotations

import hashlib
import logging
import os
import re
import threading
import time
import traceback
import uuid
from collections.abc import Callable, Iterable, Mapping
from datetime import UTC, datetime
from functools import cached_property
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING, Any, Final, Self

import attrs

from floe_orchestration_core.lineage import (
    Dataset,
    ErrorInfo,
    LineageEvent,
    ParentRun,
    RunState,
    new_run_id,
)

if TYPE_CHECKING:
    import dagster as dg

    from floe_orchestration_core.artifacts import CompiledArtifacts, PythonAssetConfig
    from floe_orchestration_core.lineage import LineageBackendPlugin
    from floe_orchestrator_dagster.lineage_dbt_events import ProductDatasets

__all__ = [
    "FLUSH_BUDGET_SECONDS",
    "INLINE_TAG",
    "INLINE_VALUE",
    "RUN_ID_TAG",
    "AssetLineage",
    "AssetRun",
    "InlineRun",
    "LineageEmitter",
    "RunLineage",
    "lineage_emitter",
    "lineage_run_id",
    "parent_run",
    "python_asset_hook",
    "redact",
    "safe_error",
]

logger = logging.getLogger(__name__)

#: Run tag marking a run whose lineage its launcher emits (the sensor skips it).
INLINE_TAG: Final = "floe/lineage"
INLINE_VALUE: Final = "inline"
#: Run tag carrying the lineage run id of an in-process run.
RUN_ID_TAG: Final = "floe/lineage_run_id"
#: Longest time lineage flushes may add to one Dagster run in one process.
FLUSH_BUDGET_SECONDS: Final = 1.5
_DEFAULT_NAMESPACE: Final = "floe"


# Redaction ----------------------------------------------------------------------------------
_URL_CREDENTIALS = re.compile(r"(?i)\b([a-z][a-z0-9+.\-]*://)[^\s/@]+@")
_KEY_VALUE = re.compile(
    r"(?i)\b(password|passwd|pwd|secret|token|api[_-]?key|access[_-]?key|private[_-]?key"
    r"|client[_-]?secret)(\s*[=:]\s*)(\"[^\"]*\"|'[^']*'|[^\s,;&)]+)"
)
_AUTHORIZATION = re.compile(r"(?i)\b(authorization\s*[:=]\s*)(?:(bearer|basic|token)\s+)?\S+")
_BEARER = re.compile(r"(?i)\b(bearer)\s+[A-Za-z0-9._~+/=\-]{8,}")
_SECRET_NAME = re.compile(r"(?i)(PASSWORD|PASSWD|SECRET|TOKEN|API_?KEY|ACCESS_?KEY|CREDENTIAL)")


def _secret_values() -> list[str]:
    """Values of environment variables whose names say they are secret (longest first)."""
    values = {
        value for name, value in os.environ.items() if _SECRET_NAME.search(name) and len(value) >= 4
    }
    return sorted(values, key=len, reverse=True)


def redact(text: str) -> str:
    """``text`` without credentials: URL user info, ``password=…``-style pairs, authorization
    headers, bearer tokens and values of secret-looking environment variables become ``***``.

    >>> redact("could not connect to postgresql://etl:hunter2@db:5432/shop")
    'could not connect to postgresql://***@db:5432/shop'
    >>> redact("dsn host=db password=hunter2 user=etl")
    'dsn host=db password=*** user=etl'
    """
    for value in _secret_values():
        text = text.replace(value, "***")
    text = _URL_CREDENTIALS.sub(r"\1***@", text)
    text = _KEY_VALUE.sub(r"\1\2***", text)
    text = _AUTHORIZATION.sub(
        lambda m: f"{m.group(1)}{m.group(2) + ' ' if m.group(2) else ''}***", text
    )
    return _BEARER.sub(r"\1 ***", text)


def safe_error(error: BaseException | ErrorInfo | str, *, language: str = "python") -> ErrorInfo:
    """An :class:`ErrorInfo` for ``error`` with message and stack trace redacted."""
    if isinstance(error, ErrorInfo):
        message, stack, language = error.message, error.stack_trace, error.language
    elif isinstance(error, BaseException):
        text = str(error)
        message = f"{type(error).__name__}: {text}" if text else type(error).__name__
        stack = "".join(traceback.format_exception(error))
    else:
        message, stack = str(error), None
    message = redact(message).strip() or "the run failed (no message)"
    return ErrorInfo(
        message=message,
        stack_trace=redact(stack) if stack else None,
        language=language,
    )


# Run ids ------------------------------------------------------------------------------------
def _epoch_ms(moment: datetime | float) -> int:
    if isinstance(moment, datetime):
        if moment.tzinfo is None:
            moment = moment.replace(tzinfo=UTC)
        return int(moment.timestamp() * 1000)
    return int(float(moment) * 1000)


def lineage_run_id(dagster_run_id: str, created_at: datetime | float) -> uuid.UUID:
    """The lineage run id of Dagster run ``dagster_run_id`` created at ``created_at``.

    A UUIDv7 (RFC 9562): the 48-bit millisecond timestamp of ``created_at`` (a datetime, naive
    meaning UTC, or epoch seconds), version 7, the RFC variant, and 74 bits of the SHA-256 of
    the Dagster run id. Every process computing it for the same run gets the same id.

    >>> str(lineage_run_id("1e4f0c8a-0000-4000-8000-000000000000", 0.0))[:15]
    '00000000-0000-7'
    """
    millis = _epoch_ms(created_at) & ((1 << 48) - 1)
    digest = int.from_bytes(hashlib.sha256(dagster_run_id.encode("utf-8")).digest()[:10], "big")
    rand_a = (digest >> 62) & 0xFFF
    rand_b = digest & ((1 << 62) - 1)
    return uuid.UUID(int=millis << 80 | 0x7 << 76 | rand_a << 64 | 0b10 << 62 | rand_b)


# The emitter --------------------------------------------------------------------------------
def _job_facets(integration: str, job_type: str, description: str = "") -> dict[str, Any]:
    facets: dict[str, Any] = {
        "jobType": {"processingType": "BATCH", "integration": integration, "jobType": job_type}
    }
    if description.strip():
        facets["documentation"] = {"description": description.strip()}
    return facets


class LineageEmitter:
    """What every runtime emitter shares: the backend, the namespace and the product.

    :meth:`emit` never raises; :meth:`flush` waits at most what is left of the run's
    :data:`FLUSH_BUDGET_SECONDS` in this process.
    """

    def __init__(
        self,
        backend: LineageBackendPlugin,
        artifacts: CompiledArtifacts,
        namespace: str,
        base_dir: Path,
    ) -> None:
        self.backend = backend
        self.artifacts = artifacts
        self.namespace = namespace
        self.base_dir = base_dir
        self._budget_lock = threading.Lock()
        self._budget_used: dict[str, float] = {}

    @property
    def product(self) -> str:
        """The data product's name, the first part of every job name."""
        return self.artifacts.metadata.product_name

    def job_name(self, kind: str | None, name: str) -> str:
        """``{product}.{kind}.{name}``, or ``{product}.{name}`` without ``kind``."""
        return f"{self.product}.{kind}.{name}" if kind else f"{self.product}.{name}"

    def job_facets(self, integration: str, job_type: str, description: str = "") -> dict[str, Any]:
        """The ``jobType`` (and ``documentation``) job facets."""
        return _job_facets(integration, job_type, description)

    def emit(self, event: LineageEvent) -> None:
        """Hand ``event`` to the backend; a failure is logged, never raised."""
        try:
            self.backend.emit(event)
        except Exception as exc:  # lineage must never fail a run
            logger.warning(
                "lineage: could not emit the %s event of %s: %s",
                event.event_type.value,
                event.job_name,
                redact(f"{type(exc).__name__}: {exc}"),
            )

    def event(self, state: RunState, job_name: str, run_id: uuid.UUID, **fields: Any) -> bool:
        """Build and emit one event; ``False`` (logged) when it could not be built."""
        try:
            built = LineageEvent(
                event_type=state,
                job_name=job_name,
                job_namespace=self.namespace,
                run_id=run_id,
                **fields,
            )
        except Exception as exc:
            logger.warning(
                "lineage: could not build the %s event of %s: %s",
                state.value,
                job_name,
                redact(f"{type(exc).__name__}: {exc}"),
            )
            return False
        self.emit(built)
        return True

    def flush(self, dagster_run_id: str | None, limit: float = FLUSH_BUDGET_SECONDS) -> bool:
        """Flush the backend within ``limit`` seconds and, for a Dagster run, within what is
        left of that run's :data:`FLUSH_BUDGET_SECONDS` in this process."""
        timeout = limit
        if dagster_run_id is not None:
            with self._budget_lock:
                used = self._budget_used.get(dagster_run_id, 0.0)
            timeout = min(limit, max(0.0, FLUSH_BUDGET_SECONDS - used))
        started = time.monotonic()
        try:
            done = bool(self.backend.flush(timeout))
        except Exception as exc:
            logger.warning("lineage: flushing the backend failed: %s", redact(str(exc)))
            done = False
        if dagster_run_id is not None:
            with self._budget_lock:
                spent = self._budget_used.get(dagster_run_id, 0.0) + time.monotonic() - started
                self._budget_used[dagster_run_id] = spent
        if not done:
            logger.warning(
                "lineage: events still pending after %.1f s; they are delivered later or lost "
                "if this process exits (the run itself is unaffected)",
                timeout,
            )
        return done

    @cached_property
    def datasets(self) -> ProductDatasets:
        """The datasets of the product's transforms, sources and tests (built on first use)."""
        from floe_orchestrator_dagster.lineage_dbt_events import ProductDatasets

        return ProductDatasets(self.artifacts, self.base_dir)


def lineage_namespace(artifacts: CompiledArtifacts, backend: LineageBackendPlugin) -> str:
    """The product's ``lineage.namespace`` unless it is the default, else the backend's."""
    configured = artifacts.lineage.namespace
    return configured if configured != _DEFAULT_NAMESPACE else backend.namespace


def lineage_emitter(
    backend: LineageBackendPlugin | None,
    artifacts: CompiledArtifacts,
    cwd: Path | None = None,
) -> LineageEmitter | None:
    """The emitter of ``artifacts``' runs; None without a backend or with lineage disabled."""
    if backend is None or not artifacts.lineage.enabled:
        return None
    project_dir = Path(artifacts.dbt.project_dir)
    if not project_dir.is_absolute():
        project_dir = (cwd or Path.cwd()) / project_dir
    return LineageEmitter(
        backend=backend,
        artifacts=artifacts,
        namespace=lineage_namespace(artifacts, backend),
        base_dir=project_dir,
    )


def parent_run(
    context: dg.OpExecutionContext | dg.AssetExecutionContext, emitter: LineageEmitter
) -> ParentRun:
    """The lineage run of the Dagster run ``context`` belongs to (the parent of its models)."""
    run = context.run
    tagged = run.tags.get(RUN_ID_TAG)
    run_id: uuid.UUID | None = None
    if tagged:
        try:
            run_id = uuid.UUID(tagged)
        except ValueError:
            logger.warning("lineage: ignoring the malformed run tag %s=%r", RUN_ID_TAG, tagged)
    if run_id is None:
        record = context.instance.get_run_record_by_id(run.run_id)
        created = record.create_timestamp if record is not None else datetime.now(UTC)
        run_id = lineage_run_id(run.run_id, created)
    return ParentRun(emitter.namespace, emitter.job_name(None, run.job_name), run_id)


# In-process runs ----------------------------------------------------------------------------
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


# Python assets ------------------------------------------------------------------------------
class AssetRun:
    """One run of one asset: exactly one START (already sent) and one terminal event."""

    def __init__(
        self,
        emitter: LineageEmitter,
        job_name: str,
        fields: Mapping[str, Any],
    ) -> None:
        self._emitter = emitter
        self._job_name = job_name
        self._fields = dict(fields)
        self._lock = threading.Lock()
        self._ended = False
        self.run_id = new_run_id()
        emitter.event(RunState.START, job_name, self.run_id, **self._fields)

    @property
    def ended(self) -> bool:
        """Whether :meth:`complete` or :meth:`fail` was called."""
        with self._lock:
            return self._ended

    def _end(self) -> bool:
        with self._lock:
            if self._ended:
                return False
            self._ended = True
            return True

    def complete(self, outputs: Iterable[Dataset] | None = None) -> None:
        """Emit COMPLETE (``outputs`` replaces the outputs given at start). Once only."""
        if self._end():
            fields = dict(self._fields)
            if outputs is not None:
                fields["outputs"] = tuple(outputs)
            self._emitter.event(RunState.COMPLETE, self._job_name, self.run_id, **fields)

    def fail(self, error: BaseException | ErrorInfo | str) -> None:
        """Emit FAIL with ``error`` (redacted). Once only."""
        if self._end():
            self._emitter.event(
                RunState.FAIL, self._job_name, self.run_id, error=safe_error(error), **self._fields
            )

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if exc is None:
            self.complete()
        else:
            self.fail(exc)


class AssetLineage:
    """Lineage of non-dbt assets (Python assets): ``start(...)`` gives an :class:`AssetRun`.

    ``emitter`` None (no backend, or lineage disabled) gives runs that emit nothing.
    """

    def __init__(self, emitter: LineageEmitter | None) -> None:
        self._emitter = emitter

    def start(
        self,
        *,
        asset_name: str,
        inputs: Iterable[Dataset] = (),
        outputs: Iterable[Dataset] = (),
        job_facets: Mapping[str, Any] | None = None,
        description: str = "",
        parent: ParentRun | None = None,
    ) -> AssetRun | _NoAssetRun:
        """Emit START of job ``{product}.asset.{asset_name}``; end it with the returned run."""
        if self._emitter is None:
            return _NoAssetRun()
        facets = {**self._emitter.job_facets("DAGSTER", "ASSET", description), **(job_facets or {})}
        fields: dict[str, Any] = {
            "inputs": tuple(inputs),
            "outputs": tuple(outputs),
            "job_facets": facets,
            "parent": parent,
        }
        return AssetRun(self._emitter, self._emitter.job_name("asset", asset_name), fields)


class _NoAssetRun:
    """What :meth:`AssetLineage.start` gives without a backend: the same API, no events."""

    run_id: uuid.UUID | None = None
    ended = False

    def complete(self, outputs: Iterable[Dataset] | None = None) -> None:
        """Nothing to emit."""

    def fail(self, error: BaseException | ErrorInfo | str) -> None:
        """Nothing to emit."""

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        return None


def python_asset_hook(
    emitter: LineageEmitter, base_dir: Path
) -> Callable[[PythonAssetConfig, Any], AssetRun | _NoAssetRun]:
    """A ``PythonAssetRunHook`` emitting each Python asset run's START and COMPLETE/FAIL.

    Inputs are the asset's ``inputs`` files (relative to ``base_dir``); outputs its
    ``outputs`` files and the tables of the dbt sources it ``produces``; the parent is the
    Dagster run of ``context``.
    """
    from floe_orchestration_core.lineage.naming import dataset_for_file

    assets = AssetLineage(emitter)

    def hook(asset: PythonAssetConfig, context: Any) -> AssetRun | _NoAssetRun:
        parent: ParentRun | None
        try:
            parent = parent_run(context, emitter)
        except Exception as exc:
            logger.warning("lineage: no parent run for %s: %s", asset.name, redact(repr(exc)))
            parent = None
        produced = [emitter.datasets.of(key) for key in asset.produces]
        return assets.start(
            asset_name=asset.name,
            inputs=[dataset_for_file(path, base_dir=base_dir) for path in asset.inputs],
            outputs=[
                *(dataset_for_file(path, base_dir=base_dir) for path in asset.outputs),
                *(dataset for dataset in produced if dataset is not None),
            ],
            description=asset.description,
            parent=parent,
        )

    return hook
