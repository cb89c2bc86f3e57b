"""Design-time lineage: the jobs and datasets of a product, known before its first run.

:func:`design_lineage` reads :class:`~floe_orchestration_core.artifacts.CompiledArtifacts` and
returns one :class:`StaticJob` per job that will run: one per non-ephemeral transform (dbt
model, seed or snapshot) and one per Python asset. What each job reads and writes, its name and
its facets come from :class:`~floe_orchestration_core.lineage.jobs.ProductLineage`, the model
the run-time emitters use too, so design-time and run-time lineage meet in a catalog (the
compiled SQL, column lineage and statistics are known only at run time).

Relative file paths are resolved against ``base_dir``, which defaults to the dbt project
directory (``artifacts.dbt.project_dir``, itself resolved against the working directory),
where dbt and the Python assets run.

A lineage backend turns these into its own static-lineage events with
:meth:`~floe_orchestration_core.lineage.LineageBackendPlugin.export_design`.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from floe_orchestration_core.lineage.jobs import (
    JobLineage,
    ProductLineage,
    asset_job_name,
    dbt_test_job_name,
    run_job_name,
    transform_job_name,
)

if TYPE_CHECKING:
    from floe_orchestration_core.artifacts import CompiledArtifacts

__all__ = [
    "StaticJob",
    "asset_job_name",
    "dbt_test_job_name",
    "default_base_dir",
    "design_lineage",
    "run_job_name",
    "transform_job_name",
]

#: A job and its datasets without a run: the design-time name of :class:`JobLineage`.
StaticJob = JobLineage


def default_base_dir(artifacts: CompiledArtifacts) -> Path:
    """The dbt project directory of ``artifacts`` (relative: against the working directory)."""
    project_dir = Path(artifacts.dbt.project_dir)
    return project_dir if project_dir.is_absolute() else Path.cwd() / project_dir


def design_lineage(
    artifacts: CompiledArtifacts,
    *,
    namespace: str | None = None,
    base_dir: str | Path | None = None,
) -> tuple[StaticJob, ...]:
    """The design-time lineage of ``artifacts``: transforms first (artifact order), then assets.

    ``namespace`` is the job namespace (default: ``artifacts.lineage.namespace``); ``base_dir``
    resolves relative file paths (default: the dbt project directory).
    """
    model = ProductLineage(
        artifacts,
        Path(base_dir) if base_dir is not None else default_base_dir(artifacts),
        namespace if namespace is not None else artifacts.lineage.namespace,
    )
    jobs = [
        model.transform_job(transform)
        for transform in artifacts.transforms
        if not transform.is_ephemeral
    ]
    jobs += [model.asset_job(asset) for asset in artifacts.python_assets]
    return tuple(jobs)
