"""Factories for CompiledArtifacts in tests: small, valid by default, every field overridable.

>>> artifacts = make_artifacts([make_transform("stg_orders"),
...                             make_transform("orders", depends_on=["stg_orders"])])
>>> [t.name for t in artifacts.transforms]
['stg_orders', 'orders']
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from datetime import UTC, datetime
from typing import Any

from floe_orchestration_core import __version__
from floe_orchestration_core.artifacts import (
    ArtifactsMetadata,
    CompiledArtifacts,
    ComputeTarget,
    DbtSettings,
    IngestionConfig,
    SourceConfig,
    TransformConfig,
)

__all__ = ["FIXED_TIME", "make_artifacts", "make_ingestion", "make_source", "make_transform"]

#: A fixed compile time so factory-built artifacts are reproducible.
FIXED_TIME = datetime(2026, 1, 1, tzinfo=UTC)
_ZERO_HASH = hashlib.sha256(b"").hexdigest()


def make_transform(
    name: str,
    *,
    depends_on: Iterable[str] = (),
    compute: str = "default",
    package_name: str = "analytics",
    resource_type: str = "model",
    materialization: str = "table",
    **overrides: Any,
) -> TransformConfig:
    """A transform named ``name``; ``overrides`` set any other TransformConfig field."""
    fields: dict[str, Any] = {
        "name": name,
        "unique_id": f"{resource_type}.{package_name}.{name}",
        "resource_type": resource_type,
        "package_name": package_name,
        "path": f"models/{name}.sql",
        "schema": "main",
        "alias": name,
        "materialization": materialization,
        "depends_on": tuple(depends_on),
        "compute": compute,
    }
    fields.update(overrides)
    return TransformConfig.model_validate(fields)


def make_source(key: str, *, package_name: str = "analytics", **overrides: Any) -> SourceConfig:
    """A source whose ``key`` is ``'source_name.table'``; ``overrides`` set any other field."""
    source_name, dot, table = key.partition(".")
    if not dot or not source_name or not table:
        raise ValueError(f"source key {key!r} must be 'source_name.table', e.g. 'raw.orders'")
    fields: dict[str, Any] = {
        "key": key,
        "unique_id": f"source.{package_name}.{source_name}.{table}",
        "source_name": source_name,
        "name": table,
        "package_name": package_name,
        "schema": source_name,
    }
    fields.update(overrides)
    return SourceConfig.model_validate(fields)


def make_ingestion(
    name: str,
    streams: Iterable[str],
    *,
    connector: str = "in_memory",
    source: str = "counters",
    schema: str = "raw",
    compute: str = "default",
    source_name: str | None = None,
    **overrides: Any,
) -> IngestionConfig:
    """An ingestion entry loading ``streams`` into ``schema`` on ``compute``; each stream is the
    source ``<source_name or schema>.<stream>`` (build those with :func:`make_source`)."""
    fields: dict[str, Any] = {
        "name": name,
        "connector": connector,
        "source": source,
        "streams": [
            {"name": stream, "source_key": f"{source_name or schema}.{stream}"}
            for stream in streams
        ],
        "destination": {"compute": compute, "schema": schema},
    }
    fields.update(overrides)
    return IngestionConfig.model_validate(fields)


def make_artifacts(
    transforms: Iterable[TransformConfig] = (),
    *,
    compute_targets: Iterable[ComputeTarget] | None = None,
    default_compute: str = "default",
    product_name: str = "test_product",
    **overrides: Any,
) -> CompiledArtifacts:
    """Artifacts holding ``transforms``; ``overrides`` set any other CompiledArtifacts field.

    Compute targets default to one DuckDB target named ``default`` plus one for every other
    compute name the transforms use, so any transform list is accepted.
    """
    transforms = tuple(transforms)
    if compute_targets is None:
        names = dict.fromkeys([default_compute, *(t.compute for t in transforms)])
        compute_targets = [ComputeTarget(name=n, type="duckdb") for n in names]
    fields: dict[str, Any] = {
        "metadata": ArtifactsMetadata(
            product_name=product_name,
            compiled_at=FIXED_TIME,
            source_hash=_ZERO_HASH,
            floe_version=__version__,
        ),
        "dbt": DbtSettings(
            project_name=product_name,
            project_dir=".",
            manifest_path="target/manifest.json",
            manifest_checksum=_ZERO_HASH,
            manifest_schema_version="v12",
        ),
        "compute_targets": tuple(compute_targets),
        "default_compute": default_compute,
        "transforms": transforms,
    }
    fields.update(overrides)
    return CompiledArtifacts.model_validate(fields)
