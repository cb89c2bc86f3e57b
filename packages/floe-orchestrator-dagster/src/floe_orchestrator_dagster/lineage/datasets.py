"""The OpenLineage datasets of a product's transforms, sources and tests.

Names come from :mod:`floe_orchestration_core.lineage.naming` (a table on a compute target, a
file); a relation carries its documented columns as a ``schema`` facet.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from floe_orchestration_core.artifacts import (
    CompiledArtifacts,
    ComputeTarget,
    QualityCheck,
    SourceConfig,
    TransformConfig,
)
from floe_orchestration_core.lineage import Dataset
from floe_orchestration_core.lineage.naming import dataset_for_file, dataset_for_relation

__all__ = ["ProductDatasets"]


class ProductDatasets:
    """The datasets of a product's transforms, sources and tests (naming: ``lineage_naming``)."""

    def __init__(self, artifacts: CompiledArtifacts, base_dir: Path) -> None:
        self.artifacts = artifacts
        self.base_dir = base_dir
        self.transforms = {t.unique_id: t for t in artifacts.transforms}
        self._by_name = {t.name: t for t in artifacts.transforms}
        self._sources = {s.key: s for s in artifacts.sources}
        self.checks: dict[str, QualityCheck] = {
            check.unique_id: check
            for checks in (
                *(t.quality_checks for t in artifacts.transforms),
                *(s.quality_checks for s in artifacts.sources),
            )
            for check in checks
        }

    def compute(self, name: str | None) -> ComputeTarget:
        """Compute target ``name`` (the default one for None)."""
        return self.artifacts.compute_target(name or self.artifacts.default_compute)

    def output(self, transform: TransformConfig) -> Dataset:
        """The relation ``transform`` writes, with its documented columns as a schema facet."""
        return dataset_for_relation(
            self.compute(transform.compute),
            transform.database,
            transform.schema_name,
            transform.alias or transform.name,
            base_dir=self.base_dir,
            facets=_schema_facet(transform.columns),
        )

    def source(self, source: SourceConfig, compute: str | None = None) -> Dataset:
        """The table of dbt source ``source`` as read on compute target ``compute``."""
        return dataset_for_relation(
            self.compute(compute),
            source.database,
            source.schema_name,
            source.identifier or source.name,
            base_dir=self.base_dir,
            facets=_schema_facet(source.columns),
        )

    def inputs(self, transform: TransformConfig) -> tuple[Dataset, ...]:
        """What ``transform`` reads: upstream relations (through ephemeral models) and sources;
        a seed reads its CSV file."""
        if transform.resource_type.value == "seed":
            return (dataset_for_file(self.base_dir / transform.path),)
        found: dict[tuple[str, str], Dataset] = {}
        seen: set[str] = set()
        pending = [transform]
        while pending:
            current = pending.pop()
            for key in current.source_dependencies:
                source = self._sources.get(key)
                if source is not None:
                    dataset = self.source(source, transform.compute)
                    found.setdefault((dataset.namespace, dataset.name), dataset)
            for name in current.depends_on:
                upstream = self._by_name.get(name)
                if upstream is None or name in seen:
                    continue
                seen.add(name)
                if upstream.is_ephemeral:
                    pending.append(upstream)
                else:
                    dataset = self.output(upstream)
                    found.setdefault((dataset.namespace, dataset.name), dataset)
        return tuple(found[key] for key in sorted(found))

    def of(self, name: str) -> Dataset | None:
        """The dataset of a transform name or source key (None when it is neither)."""
        transform = self._by_name.get(name)
        if transform is not None:
            return None if transform.is_ephemeral else self.output(transform)
        source = self._sources.get(name)
        return self.source(source) if source is not None else None


def _schema_facet(columns: Any) -> dict[str, Any]:
    fields: list[dict[str, str]] = []
    for column in columns:
        field = {"name": column.name}
        if column.data_type:
            field["type"] = column.data_type
        if column.description:
            field["description"] = column.description
        fields.append(field)
    return {"schema": {"fields": fields}} if fields else {}
