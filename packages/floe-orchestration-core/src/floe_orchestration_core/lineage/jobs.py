"""The one lineage model of a product: each job's name, facets, inputs and outputs.

:class:`ProductLineage` answers, for compiled artifacts, what every job of the product reads
and writes. Design-time export (:func:`~floe_orchestration_core.lineage.design.design_lineage`)
and run-time emission (the orchestrator adapter, from dbt's events as they stream) both call
it, so a catalog sees the same datasets before and after the first run:

- :meth:`ProductLineage.transform_job` — a dbt model, seed or snapshot. Inputs: the relations
  of its upstream transforms (through ephemeral models, which dbt inlines: their own
  upstreams count instead) and of the sources it reads; a seed reads its CSV file. Output: its
  own relation. Job facets: ``jobType`` (``BATCH``, ``DBT``, ``MODEL``/``SEED``/``SNAPSHOT``),
  ``documentation`` (its description) and ``dbt_node`` (unique id, file, relation).
- :meth:`ProductLineage.asset_job` — a Python asset: reads the relations it ``depends_on`` and
  its input files, writes the relations of the sources it ``produces`` and its output files.
  Job facets ``jobType`` (``DAGSTER``, ``ASSET``) and ``documentation``.
- :meth:`ProductLineage.check_job` — a dbt test: reads the datasets it tests.

Dataset facets of a relation: ``dataSource`` (the namespace, and as ``uri`` when it is one),
``schema`` (documented columns: name, and type and description when known),
``documentation`` (the description) and, for a transform's relation, ``dbt_model`` (its
materialization), the facet kinds OpenLineage's dbt integration gives the same datasets.
Inputs are sorted by (namespace, name) and unique.

Job names (shared by every emitter):

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
``default_compute``; a source tested on ``default_compute``), files under the ``file``
namespace with paths resolved against ``base_dir`` (the dbt project directory, where dbt and
the Python assets run).
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
        QualityCheck,
        SourceConfig,
        TransformConfig,
    )

__all__ = [
    "JobLineage",
    "ProductLineage",
    "asset_job_name",
    "dbt_test_job_name",
    "run_job_name",
    "transform_job_name",
]


@attrs.frozen
class JobLineage:
    """A job and the datasets it reads and writes, without a run.

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


def job_type_facets(integration: str, job_type: str, description: str = "") -> dict[str, Any]:
    """``jobType`` (processing type ``BATCH``) and, with a description, ``documentation``."""
    facets: dict[str, Any] = {
        "jobType": {"processingType": "BATCH", "integration": integration, "jobType": job_type}
    }
    if description.strip():
        facets["documentation"] = {"description": description.strip()}
    return facets


def _relation_facets(
    namespace: str, columns: Iterable[ColumnInfo], description: str
) -> dict[str, Any]:
    source: dict[str, Any] = {"name": namespace}
    if "://" in namespace:
        source["uri"] = namespace
    facets: dict[str, Any] = {"dataSource": source}
    fields = []
    for column in columns:
        field: dict[str, Any] = {"name": column.name}
        if column.data_type:
            field["type"] = column.data_type
        if column.description:
            field["description"] = column.description
        fields.append(field)
    if fields:
        facets["schema"] = {"fields": fields}
    if description.strip():
        facets["documentation"] = {"description": description.strip()}
    return facets


def _sorted_unique(datasets: Iterable[Dataset]) -> tuple[Dataset, ...]:
    seen: dict[tuple[str, str], Dataset] = {}
    for dataset in datasets:
        seen.setdefault((dataset.namespace, dataset.name), dataset)
    return tuple(seen[key] for key in sorted(seen))


class ProductLineage:
    """The lineage model of one product's artifacts (lookup tables built once).

    ``base_dir`` resolves relative file paths (a seed's CSV; a Python asset's files too unless
    ``asset_dir`` is given, the folder the Python assets run in): the dbt project directory.
    ``namespace`` is the job namespace.
    """

    def __init__(
        self,
        artifacts: CompiledArtifacts,
        base_dir: Path,
        namespace: str,
        *,
        asset_dir: Path | None = None,
    ) -> None:
        self.artifacts = artifacts
        self.base_dir = base_dir
        self.asset_dir = asset_dir or base_dir
        self.namespace = namespace
        self.product = artifacts.metadata.product_name
        self._targets = {t.name: t for t in artifacts.compute_targets}
        self.transforms = {t.name: t for t in artifacts.transforms}
        self.transforms_by_id = {t.unique_id: t for t in artifacts.transforms}
        self.sources = {s.key: s for s in artifacts.sources}
        self.assets = {a.name: a for a in artifacts.python_assets}
        self.checks: dict[str, QualityCheck] = {
            check.unique_id: check
            for checks in (
                *(t.quality_checks for t in artifacts.transforms),
                *(s.quality_checks for s in artifacts.sources),
            )
            for check in checks
        }

    def compute(self, name: str | None) -> ComputeTarget | None:
        """Compute target ``name`` (the default one for None; None when unknown)."""
        return self._targets.get(name or self.artifacts.default_compute)

    # Datasets ------------------------------------------------------------------------------
    def relation(
        self,
        compute: str | None,
        database: str | None,
        schema: str | None,
        table: str,
        facets: Mapping[str, Any] | None = None,
    ) -> Dataset:
        """The dataset of relation ``database.schema.table`` on compute target ``compute``."""
        plain = dataset_for_relation(self.compute(compute), database, schema, table)
        return Dataset(
            plain.namespace,
            plain.name,
            {**_relation_facets(plain.namespace, (), ""), **(facets or {})},
        )

    def transform_dataset(self, transform: TransformConfig) -> Dataset:
        """The relation ``transform`` writes, with its documented columns and description."""
        plain = dataset_for_relation(
            self.compute(transform.compute),
            transform.database,
            transform.schema_name,
            transform.alias or transform.name,
        )
        facets = _relation_facets(plain.namespace, transform.columns, transform.description)
        facets["dbt_model"] = {"config": {"materialized": transform.materialization}}
        return Dataset(plain.namespace, plain.name, facets)

    def source_dataset(self, source: SourceConfig, compute: str | None = None) -> Dataset:
        """The table of dbt source ``source`` as seen from compute target ``compute``."""
        plain = dataset_for_relation(
            self.compute(compute),
            source.database,
            source.schema_name,
            source.identifier or source.name,
        )
        facets = _relation_facets(plain.namespace, source.columns, source.description)
        return Dataset(plain.namespace, plain.name, facets)

    def file_dataset(self, path: str | Path, *, base_dir: Path | None = None) -> Dataset:
        """A local file or folder (relative paths start from ``base_dir``, else
        :attr:`base_dir`)."""
        return dataset_for_file(path, base_dir=base_dir or self.base_dir)

    def dataset_of(self, name: str) -> Dataset | None:
        """The dataset of a transform name or source key (None: neither, or ephemeral)."""
        transform = self.transforms.get(name)
        if transform is not None:
            return None if transform.is_ephemeral else self.transform_dataset(transform)
        source = self.sources.get(name)
        return self.source_dataset(source) if source is not None else None

    def _read_through(self, name: str, compute: str | None, seen: set[str]) -> list[Dataset]:
        """The relations read when a job reading on ``compute`` depends on transform ``name``."""
        transform = self.transforms.get(name)
        if transform is None or name in seen:
            return []  # an external upstream, or a cycle the graph checks report elsewhere
        seen.add(name)
        if not transform.is_ephemeral:
            return [self.transform_dataset(transform)]
        return self._reads(transform, compute, seen)

    def _reads(
        self, transform: TransformConfig, compute: str | None, seen: set[str]
    ) -> list[Dataset]:
        datasets: list[Dataset] = []
        for upstream in transform.depends_on:
            datasets += self._read_through(upstream, compute, seen)
        for key in transform.source_dependencies:
            source = self.sources.get(key)
            if source is not None:
                datasets.append(self.source_dataset(source, compute))
        return datasets

    def transform_inputs(self, transform: TransformConfig) -> tuple[Dataset, ...]:
        """What ``transform`` reads (see the module docstring); a seed reads its CSV file."""
        if transform.resource_type.value == "seed":
            return (self.file_dataset(transform.path),)
        return _sorted_unique(self._reads(transform, transform.compute, {transform.name}))

    # Jobs ----------------------------------------------------------------------------------
    def transform_job(self, transform: TransformConfig) -> JobLineage:
        """The job of dbt model, seed or snapshot ``transform``."""
        kind = transform.resource_type.value
        facets = job_type_facets("DBT", kind.upper(), transform.description)
        node = {
            "unique_id": transform.unique_id,
            "original_file_path": transform.path,
            "database": transform.database,
            "schema": transform.schema_name,
            "alias": transform.alias or transform.name,
        }
        facets["dbt_node"] = {key: value for key, value in node.items() if value}
        return JobLineage(
            job_namespace=self.namespace,
            job_name=transform_job_name(self.product, transform),
            inputs=self.transform_inputs(transform),
            outputs=(self.transform_dataset(transform),),
            job_facets=facets,
        )

    def asset_outputs(self, asset: PythonAssetConfig) -> list[Dataset]:
        """The relations and files Python asset ``asset`` writes."""
        datasets = [
            self.source_dataset(self.sources[key], asset.compute)
            for key in asset.produces
            if key in self.sources
        ]
        return datasets + [self.file_dataset(p, base_dir=self.asset_dir) for p in asset.outputs]

    def asset_job(self, asset: PythonAssetConfig) -> JobLineage:
        """The job of Python asset ``asset``."""
        inputs: list[Dataset] = []
        for name in asset.depends_on:
            if name in self.transforms:
                inputs += self._read_through(name, asset.compute, set())
            elif name in self.sources:
                inputs.append(self.source_dataset(self.sources[name], asset.compute))
            elif name in self.assets:
                inputs += self.asset_outputs(self.assets[name])
        inputs += [self.file_dataset(p, base_dir=self.asset_dir) for p in asset.inputs]
        return JobLineage(
            job_namespace=self.namespace,
            job_name=asset_job_name(self.product, asset.name),
            inputs=_sorted_unique(inputs),
            outputs=_sorted_unique(self.asset_outputs(asset)),
            job_facets=job_type_facets("DAGSTER", "ASSET", asset.description),
        )

    def check_job(self, check: QualityCheck) -> JobLineage:
        """The job of dbt test ``check``: it reads the datasets it tests."""
        names = dict.fromkeys([check.attached_to, *check.references])
        tested = (self.dataset_of(name) for name in names)
        return JobLineage(
            job_namespace=self.namespace,
            job_name=dbt_test_job_name(self.product, check.name),
            inputs=_sorted_unique(d for d in tested if d is not None),
            job_facets=job_type_facets("DBT", "TEST", check.description),
        )
