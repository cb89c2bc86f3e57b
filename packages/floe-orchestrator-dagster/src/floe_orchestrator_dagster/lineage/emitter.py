"""What every run-time lineage emitter shares: :class:`LineageEmitter` and the run ids.

:func:`lineage_emitter` gives the emitter of a product's runs (None without a backend or with
lineage disabled): the backend, the job namespace, the product and its datasets, a flush with a
per-run budget. :func:`lineage_run_id` derives a Dagster run's lineage run id and
:func:`parent_run` the parent every model and asset run of a Dagster run carries. Names and the
rules of emission: :mod:`floe_orchestrator_dagster.lineage`.
"""

from __future__ import annotations

import hashlib
import logging
import threading
import time
import uuid
from datetime import UTC, datetime
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final

from floe_orchestration_core.lineage import LineageEvent, ParentRun, RunState
from floe_orchestration_core.lineage.jobs import ProductLineage, job_type_facets
from floe_orchestrator_dagster.lineage.datasets import product_lineage
from floe_orchestrator_dagster.lineage.redaction import redact

if TYPE_CHECKING:
    import dagster as dg

    from floe_orchestration_core.artifacts import CompiledArtifacts
    from floe_orchestration_core.lineage import LineageBackendPlugin

__all__ = [
    "FLUSH_BUDGET_SECONDS",
    "INLINE_TAG",
    "INLINE_VALUE",
    "RUN_ID_TAG",
    "LineageEmitter",
    "lineage_emitter",
    "lineage_namespace",
    "lineage_run_id",
    "parent_run",
]

logger = logging.getLogger(__name__)

#: Run tag marking a run whose lineage its launcher emits (the sensor skips it).
INLINE_TAG: Final = "floe/lineage"
INLINE_VALUE: Final = "inline"
#: Run tag carrying the lineage run id of an in-process run.
RUN_ID_TAG: Final = "floe/lineage_run_id"
#: Longest time the flushes during one Dagster run (after each op) may add to it in one
#: process. Events are already durable in the spool when emitted; these flushes only make
#: delivery timely. The end of the process waits once more, up to the backend's own
#: ``flush_timeout``.
FLUSH_BUDGET_SECONDS: Final = 0.5
#: What each Dagster run has spent of it in this process, whichever emitter flushed (the ops'
#: and the in-process run's are different objects).
_BUDGET_USED: dict[str, float] = {}
_BUDGET_LOCK: Final = threading.Lock()
_REMEMBERED_RUNS: Final = 1000
_DEFAULT_NAMESPACE: Final = "floe"


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
        asset_dir: Path | None = None,
    ) -> None:
        self.backend = backend
        self.artifacts = artifacts
        self.namespace = namespace
        self.base_dir = base_dir
        self.asset_dir = asset_dir or base_dir

    @property
    def product(self) -> str:
        """The data product's name, the first part of every job name."""
        return self.artifacts.metadata.product_name

    def job_name(self, kind: str | None, name: str) -> str:
        """``{product}.{kind}.{name}``, or ``{product}.{name}`` without ``kind``."""
        return f"{self.product}.{kind}.{name}" if kind else f"{self.product}.{name}"

    def job_facets(self, integration: str, job_type: str, description: str = "") -> dict[str, Any]:
        """The ``jobType`` (and ``documentation``) job facets."""
        return job_type_facets(integration, job_type, description)

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
        left of that run's :data:`FLUSH_BUDGET_SECONDS` in this process (shared by every
        emitter of the process)."""
        timeout = limit
        if dagster_run_id is not None:
            with _BUDGET_LOCK:
                used = _BUDGET_USED.get(dagster_run_id, 0.0)
            timeout = min(limit, max(0.0, FLUSH_BUDGET_SECONDS - used))
        started = time.monotonic()
        try:
            done = bool(self.backend.flush(timeout))
        except Exception as exc:
            logger.warning("lineage: flushing the backend failed: %s", redact(str(exc)))
            done = False
        if dagster_run_id is not None:
            with _BUDGET_LOCK:
                spent = _BUDGET_USED.pop(dagster_run_id, 0.0) + time.monotonic() - started
                _BUDGET_USED[dagster_run_id] = spent  # the most recent runs last
                while len(_BUDGET_USED) > _REMEMBERED_RUNS:
                    del _BUDGET_USED[next(iter(_BUDGET_USED))]
        if not done:
            logger.debug(
                "lineage: events not delivered yet after waiting %.1f s; they wait in the "
                "backend's spool (the run itself is unaffected; the end of the process says "
                "what is left)",
                time.monotonic() - started,
            )
        return done

    @cached_property
    def model(self) -> ProductLineage:
        """The product's lineage model: every job's name, facets and datasets (built once)."""
        return product_lineage(self.artifacts, self.base_dir, self.namespace, self.asset_dir)


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
        asset_dir=cwd or Path.cwd(),
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
