"""Design-time lineage: the jobs and datasets of a product, known before its first run.

:func:`design_lineage` reads :class:`~floe_orchestration_core.artifacts.CompiledArtifacts` and
returns one :class:`StaticJob` per job that will run:

- one per non-ephemeral transform (dbt model, seed or snapshot). Its inputs are the relations
  of its upstream transforms (through ephemeral models, which dbt inlines: an ephemeral
  model's own upstreams count instead) and of the sources it reads; its output is its own
  relation, with a ``schema`` facet from its documented columns and a ``documentation`` facet
  from its description. Job facets: ``jobType`` (``BATCH``, integration ``DBT``, job type
  ``MODEL``, ``SEED`` or ``SNAPSHOT``) and ``documentation``. The compiled SQL is not known at
  design time, so there is no ``sql`` facet.
- one per Python asset: inputs are the relations it ``depends_on`` (transforms, sources, and
  the outputs of other Python assets) plus its input files; outputs are the relations of the
  sources it ``produces`` plus its output files. Job facets: ``jobType`` (``BATCH``,
  ``DAGSTER``, ``ASSET``) and ``documentation``.

Job and dataset names follow the conventions every floe lineage emitter shares (the runtime
emitter uses the same functions, so design-time and runtime lineage meet in a catalog):

==================  ===============================================
job                 name
==================  ===============================================
pipeline run        ``{product}.{orchestrator_job}`` (:func:`run_job_name`)
dbt model           ``{product}.model.{model}`` (:func:`transform_job_name`)
dbt seed/snapshot   ``{product}.seed.{seed}`` / ``{product}.snapshot.{snapshot}``
Python asset        ``{product}.asset.{asset}`` (:func:`asset_job_name`)
dbt test            ``{product}.test.{test}`` (:func:`dbt_test_job_name`)
==================  ===============================================

Datasets are named by :mod:`floe_orchestration_core.lineage.naming`: tables on the compute
target of the job that touches them (a source read by a transform lives on that transform's
compute target; a source produced by a Python asset on the asset's ``compute``, else
``default_compute``), files under the ``file`` namespace. Relative DuckDB and file paths are
resolved against ``base_dir``, which defaults to the dbt project directory
(``artifacts.dbt.project_dir``, itself resolved against the working directory), where dbt
and the Python assets run.

A lineage backend turns these into its own static-lineage events with
:meth:`~floe_orchestration_core.lineage.LineageBackendPlugin.export_design`.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

import attrs

from floe_orchestration_core.lineage.events import (
    Dataset,
    _frozen_mapping,
    _non_empty,
    _to_datasets,
)
from floe_orchestration_core.lineage.naming import dataset_for_file, dataset_for_relation

if TYPE_CHECKING:
    from floe_orchestration_core.artifacts import (
        ColumnInfo,
        CompiledArtifacts,
        ComputeTarget,
        PythonAssetConfig,
        SourceConfig,
        TransformConfig,
    )

__all__ = [
    "StaticJob",
    "asset_job_name",
    "dbt_test_job_name",
    "design_lineage",
    "run_job_name",
    "transform_job_name",
]


@attrs.frozen
class StaticJob:
    """A job and the datasets it reads and writes, without a run (design-time lineage).

    Validated like :class:`~floe_orchestration_core.lineage.events.LineageEvent`: names must
    be non-empty strings, ``inputs``/``outputs`` iterables of :class:`Dataset`, and
    ``job_facets`` a mapping (stored read-only).
    """

    job_namespace: str = attrs.field(validator=_non_empty)
    job_name: str = attrs.field(validator=_non_empty)
    inputs: tuple[Dataset, ...] = attrs.field(default=(), converter=_to_datasets)
    outputs: tuple[Dataset, ...] = attrs.field(default=(), converter=_to_datasets)
    job_facets: Mapping[str, Any] = attrs.field(
        factory=dict, converter=_frozen_mapping, hash=False, repr=False
    )


def run_job_name(product: str, orchestrator_job: str) -> str:
    """``{product}.{orchestrator_job}``: the job of one pipeline run (a Dagster job)."""
    return f"{product}.{orchestrator_job}"


def transform_job_name(product: str, transform: TransformConfig) -> str:
    """``{product}.{resource_type}.{name}``, e.g. ``jaffle_shop.model.orders``."""
    return f"{product}.{transform.resource_type.value}.{transform.name}"


def asset_job_name(product: str, asset_name: str) -> str:
    """``{product}.asset.{asset_name}``: the job of a Python asset."""
    return f"{product}.asset.{asset_name}"


def dbt_test_job_name(product: str, test_name: str) -> str:
    """``{product}.test.{test_name}``: the job of one dbt test."""
    return f"{product}.test.{test_name}"


def _columns_facets(columns: Iterable[ColumnInfo], description: str) -> dict[str, Any]:
    facets: dict[str, Any] = {}
    fields = [
        {"name": c.name, "type": c.data_type, "description": c.description or None} for c in columns
    ]
    if fields:
        facets["schema"] = {"fields": fields}
    if description.strip():
        facets["documentation"] = {"description": description}
    return facets


def _job_facets(integration: str, job_type: str, description: str) -> dict[str, Any]:
    facets: dict[str, Any] = {
        "jobType": {"processingType": "BATCH", "integration": integration, "jobType": job_type}
    }
    if description.strip():
        facets["documentation"] = {"description": description}
    return facets


def _unique(datasets: Iterable[Dataset]) -> tuple[Dataset, ...]:
    seen: dict[tuple[str, str], Dataset] = {}
    for dataset in datasets:
        seen.setdefault((dataset.namespace, dataset.name), dataset)
    return tuple(seen.values())


class _Designer:
    """Resolves relations of one artifacts object (lookup tables built once)."""

    def __init__(self, artifacts: CompiledArtifacts, base_dir: Path) -> None:
        self.artifacts = artifacts
        self.base_dir = base_dir
        self.product = artifacts.metadata.product_name
        self.targets = {t.name: t for t in artifacts.compute_targets}
        self.transforms = {t.name: t for t in artifacts.transforms}
        self.sources = {s.key: s for s in artifacts.sources}
        self.assets = {a.name: a for a in artifacts.python_assets}

    def compute(self, name: str | None) -> ComputeTarget | None:
        return self.targets.get(name or self.artifacts.default_compute)

    def transform_dataset(self, transform: TransformConfig) -> Dataset:
        return dataset_for_relation(
            self.compute(transform.compute),
            transform.database,
            transform.schema_name,
            transform.alias or transform.name,
            base_dir=self.base_dir,
            facets=_columns_facets(transform.columns, transform.description),
        )

    def source_dataset(self, source: SourceConfig, compute: str | None) -> Dataset:
        return dataset_for_relation(
            self.compute(compute),
            source.database,
            source.schema_name,
            source.identifier or source.name,
            base_dir=self.base_dir,
            facets=_columns_facets(source.columns, source.description),
        )

    def file_dataset(self, path: str) -> Dataset:
        return dataset_for_file(path, base_dir=self.base_dir)

    def upstream_of_transform(self, name: str, seen: set[str]) -> list[Dataset]:
        """The relations read when a job depends on transform ``name`` (through ephemerals)."""
        transform = self.transforms.get(name)
        if transform is None or name in seen:
            return []  # an external upstream, or a cycle the graph checks report elsewhere
        seen.add(name)
        if not transform.is_ephemeral:
            return [self.transform_dataset(transform)]
        return self.transform_inputs(transform, seen)

    def transform_inputs(self, transform: TransformConfig, seen: set[str]) -> list[Dataset]:
        datasets: list[Dataset] = []
        for upstream in transform.depends_on:
            datasets += self.upstream_of_transform(upstream, seen)
        for key in transform.source_dependencies:
            source = self.sources.get(key)
            if source is not None:
                datasets.append(self.source_dataset(source, transform.compute))
        return datasets

    def transform_job(self, transform: TransformConfig, namespace: str) -> StaticJob:
        return StaticJob(
            job_namespace=namespace,
            job_name=transform_job_name(self.product, transform),
            inputs=_unique(self.transform_inputs(transform, {transform.name})),
            outputs=(self.transform_dataset(transform),),
            job_facets=_job_facets(
                "DBT", transform.resource_type.value.upper(), transform.description
            ),
        )

    def asset_outputs(self, asset: PythonAssetConfig) -> list[Dataset]:
        datasets = [
            self.source_dataset(self.sources[key], asset.compute)
            for key in asset.produces
            if key in self.sources
        ]
        return datasets + [self.file_dataset(path) for path in asset.outputs]

    def asset_job(self, asset: PythonAssetConfig, namespace: str) -> StaticJob:
        inputs: list[Dataset] = []
        for name in asset.depends_on:
            if name in self.transforms:
                inputs += self.upstream_of_transform(name, set())
            elif name in self.sources:
                inputs.append(self.source_dataset(self.sources[name], asset.compute))
            elif name in self.assets:
                inputs += self.asset_outputs(self.assets[name])
        inputs += [self.file_dataset(path) for path in asset.inputs]
        return StaticJob(
            job_namespace=namespace,
            job_name=asset_job_name(self.product, asset.name),
            inputs=_unique(inputs),
            outputs=_unique(self.asset_outputs(asset)),
            job_facets=_job_facets("DAGSTER", "ASSET", asset.description),
        )


def _default_base_dir(artifacts: CompiledArtifacts) -> Path:
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
    resolves relative DuckDB and file paths (default: the dbt project directory).
    """
    designer = _Designer(
        artifacts, Path(base_dir) if base_dir is not None else _default_base_dir(artifacts)
    )
    job_namespace = namespace if namespace is not None else artifacts.lineage.namespace
    jobs = [
        designer.transform_job(transform, job_namespace)
        for transform in artifacts.transforms
        if not transform.is_ephemeral
    ]
    jobs += [designer.asset_job(asset, job_namespace) for asset in artifacts.python_assets]
    return tuple(jobs)
