"""floe's metadata on Dagster assets and Definitions: every ``floe/…`` key, named once.

:class:`FloeAssetMetadata` is to floe what dagster-dbt's ``DbtMetadataSet`` is to dagster-dbt:
one typed set of an asset's metadata entries in one namespace (``floe/<field>``). It is built
once per kind of asset (:meth:`~FloeAssetMetadata.for_transform`,
:meth:`~FloeAssetMetadata.for_source`, :meth:`~FloeAssetMetadata.for_python_asset`) and read
back with :meth:`~FloeAssetMetadata.extract`:

==================================  ==========================================================
key                                 carried by
==================================  ==========================================================
``floe/unique_id``                  transforms and sources (the dbt unique id)
``floe/compute_target``             transforms
``floe/schema``                     transforms and sources (``""`` when dbt has none)
``floe/materialization``            transforms; ``"source"`` for sources
``floe/partition``                  partitioned transforms
``floe/source_key``                 sources (``source_name.table``)
``floe/python_asset``,              Python assets (the asset's name and its function)
``floe/function``
``floe/ingestion``, ``floe/table``  ingestion streams (the entry's name, ``schema.table``; also
                                    ``floe/compute_target``, ``floe/schema``,
                                    ``floe/source_key``)
==================================  ==========================================================

An ingestion stream's materializations also carry :data:`ROWS_LOADED_KEY` (rows this run) beside
Dagster's ``dagster/row_count`` (rows in the table).

The Definitions themselves carry :data:`PRODUCT_KEY`, :data:`EPHEMERAL_TRANSFORMS_KEY` and
:data:`UNREAD_SOURCES_KEY`. This module imports only the standard library.

>>> FloeAssetMetadata(unique_id="model.shop.orders", schema="").to_metadata()
{'floe/unique_id': 'model.shop.orders', 'floe/schema': ''}
>>> FloeAssetMetadata.extract({"floe/unique_id": "model.shop.orders", "owner": "x"}).unique_id
'model.shop.orders'
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, Final, Self

if TYPE_CHECKING:
    from floe_orchestration_core.artifacts import (
        IngestionConfig,
        PythonAssetConfig,
        SourceConfig,
        TransformConfig,
    )

__all__ = [
    "EPHEMERAL_TRANSFORMS_KEY",
    "NAMESPACE",
    "PRODUCT_KEY",
    "ROWS_LOADED_KEY",
    "UNREAD_SOURCES_KEY",
    "FloeAssetMetadata",
]

#: The namespace of every metadata key floe writes.
NAMESPACE: Final = "floe"

#: Definitions metadata: the data product's name and version.
PRODUCT_KEY: Final = f"{NAMESPACE}/product"
#: Definitions metadata: the ephemeral transforms, which dagster-dbt gives no asset.
EPHEMERAL_TRANSFORMS_KEY: Final = f"{NAMESPACE}/ephemeral_transforms"
#: Definitions metadata: the keys (``source_name.table``) of the sources no asset reads,
#: which are therefore not assets.
UNREAD_SOURCES_KEY: Final = f"{NAMESPACE}/unread_sources"
#: Materialization metadata of an ingestion stream: the rows its connector loaded this run.
ROWS_LOADED_KEY: Final = f"{NAMESPACE}/rows_loaded"


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class FloeAssetMetadata:
    """floe's metadata entries of one asset; a field left None is not written."""

    unique_id: str | None = None
    compute_target: str | None = None
    schema: str | None = None
    materialization: str | None = None
    partition: str | None = None
    source_key: str | None = None
    python_asset: str | None = None
    function: str | None = None
    ingestion: str | None = None
    table: str | None = None

    @staticmethod
    def key(field: str) -> str:
        """The metadata key of ``field``: ``floe/<field>``."""
        return f"{NAMESPACE}/{field}"

    @classmethod
    def for_transform(cls, transform: TransformConfig) -> Self:
        """A transform's (model, seed, snapshot): unique id, compute target, schema,
        materialization and, when partitioned, partition."""
        return cls(
            unique_id=transform.unique_id,
            compute_target=transform.compute,
            schema=transform.schema_name or "",
            materialization=transform.materialization,
            partition=transform.partition,
        )

    @classmethod
    def for_source(cls, source: SourceConfig) -> Self:
        """A dbt source's: unique id, schema, materialization ``"source"`` and source key."""
        return cls(
            unique_id=source.unique_id,
            schema=source.schema_name or "",
            materialization="source",
            source_key=source.key,
        )

    @classmethod
    def for_python_asset(cls, asset: PythonAssetConfig) -> Self:
        """A Python asset's: its name and its function (``path/to/file.py:function``)."""
        return cls(python_asset=asset.name, function=asset.function)

    @classmethod
    def for_ingestion_stream(cls, entry: IngestionConfig, stream: str) -> Self:
        """An ingestion stream's: the entry, its table (``schema.table``), the destination's
        compute target and schema, and the dbt source the table is."""
        return cls(
            ingestion=entry.name,
            table=entry.table(stream),
            compute_target=entry.destination.compute,
            schema=entry.destination.schema_name,
            source_key=entry.stream(stream).source_key,
        )

    def to_metadata(self) -> dict[str, str]:
        """The entries to put in an asset's metadata (fields that are None left out)."""
        return {key: value for name, key in _KEYS if (value := getattr(self, name)) is not None}

    @classmethod
    def extract(cls, metadata: Mapping[str, Any]) -> Self:
        """floe's entries of an asset's ``metadata`` (other keys ignored); a value Dagster
        wrapped in a ``MetadataValue`` is unwrapped."""
        found: dict[str, str] = {}
        for name, key in _KEYS:
            if key in metadata:
                value = metadata[key]
                found[name] = value if isinstance(value, str) else str(value.value)
        return cls(**found)


_KEYS: Final = tuple(
    (field.name, FloeAssetMetadata.key(field.name))
    for field in dataclasses.fields(FloeAssetMetadata)
)
