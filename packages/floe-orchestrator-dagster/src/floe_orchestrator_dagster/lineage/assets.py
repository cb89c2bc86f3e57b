"""Lineage of non-dbt assets (the product's Python assets): one START and one terminal event.

API for a Python asset's op::

    assets = AssetLineage(emitter)          # emitter = lineage_emitter(backend, artifacts)
    with assets.start(asset_name="load_landing", inputs=[...], outputs=[...],
                      parent=parent_run(context, emitter)) as run:
        ...                                 # COMPLETE on success, FAIL (and re-raise) on error
    # or: run = assets.start(...); run.complete() / run.fail(exc)

The Python assets of floe.yaml get it through :func:`python_asset_hook`.
"""

from __future__ import annotations

import logging
import threading
import uuid
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING, Any, Self

from floe_orchestration_core.lineage import (
    Dataset,
    ErrorInfo,
    ParentRun,
    RunState,
    new_run_id,
)
from floe_orchestrator_dagster.lineage.datasets import product_lineage
from floe_orchestrator_dagster.lineage.emitter import LineageEmitter, parent_run
from floe_orchestrator_dagster.lineage.redaction import redact, safe_error

if TYPE_CHECKING:
    from floe_orchestration_core.artifacts import PythonAssetConfig

__all__ = ["AssetLineage", "AssetRun", "python_asset_hook"]

logger = logging.getLogger(__name__)


class _RunBlock:
    """``with run:`` ends the run when the block does: COMPLETE, or FAIL with its exception."""

    def complete(self, outputs: Iterable[Dataset] | None = None) -> None:
        raise NotImplementedError

    def fail(self, error: BaseException | ErrorInfo | str) -> None:
        raise NotImplementedError

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


class AssetRun(_RunBlock):
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


class _NoAssetRun(_RunBlock):
    """What :meth:`AssetLineage.start` gives without a backend: the same API, no events."""

    run_id: uuid.UUID | None = None
    ended = False

    def complete(self, outputs: Iterable[Dataset] | None = None) -> None:
        """Nothing to emit."""

    def fail(self, error: BaseException | ErrorInfo | str) -> None:
        """Nothing to emit."""


def python_asset_hook(
    emitter: LineageEmitter, base_dir: Path
) -> Callable[[PythonAssetConfig, Any], AssetRun | _NoAssetRun]:
    """A ``PythonAssetRunHook`` emitting each Python asset run's START and COMPLETE/FAIL.

    What the run reads and writes is the product's lineage model's (the same as design time):
    the relations it ``depends_on`` and its ``inputs`` files, the tables of the dbt sources
    it ``produces`` and its ``outputs`` files (relative to the emitter's ``asset_dir``, where
    the assets run: ``base_dir``); the parent is the Dagster run of ``context``.
    """
    assets = AssetLineage(emitter)
    model = emitter.model
    if emitter.asset_dir != base_dir:
        model = product_lineage(emitter.artifacts, emitter.base_dir, emitter.namespace, base_dir)

    def hook(asset: PythonAssetConfig, context: Any) -> AssetRun | _NoAssetRun:
        parent: ParentRun | None
        try:
            parent = parent_run(context, emitter)
        except Exception as exc:
            logger.warning("lineage: no parent run for %s: %s", asset.name, redact(repr(exc)))
            parent = None
        job = model.asset_job(asset)
        return assets.start(
            asset_name=asset.name,
            inputs=job.inputs,
            outputs=job.outputs,
            job_facets=dict(job.job_facets),
            parent=parent,
        )

    return hook
