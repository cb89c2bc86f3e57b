"""``DltIngestion``: dlt sources as floe ingestion (``connector: dlt``).

What an entry may say is :mod:`floe_ingestion_dlt.options` (checked without dlt); a run is
:mod:`floe_ingestion_dlt.pipeline` (dlt imported then, about 1 s). Importing this module
imports the core's port and the standard library only, so discovering and loading the plugin
stay cheap.

Lineage: a filesystem stream is read from the files it matches (namespace ``file``, name the
folder's absolute path and the glob, as floe names other files); a stream of a product's own
source from ``dlt://<file.py:function>``.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from typing import TYPE_CHECKING, ClassVar

from floe_ingestion_dlt import __version__
from floe_ingestion_dlt.options import entry_problems, function_reference, stream_settings
from floe_orchestration_core import FLOE_API_VERSION
from floe_orchestration_core.ingestion import IngestionPlugin, IngestionRequest, IngestionResult
from floe_orchestration_core.plugin_metadata import PluginMetadata

if TYPE_CHECKING:
    from floe_orchestration_core.artifacts import IngestionConfig
    from floe_orchestration_core.lineage import Dataset

__all__ = ["DltIngestion"]


class DltIngestion(IngestionPlugin):
    """dlt's filesystem source, or a product's own dlt source, into DuckDB or PostgreSQL."""

    metadata: ClassVar[PluginMetadata] = PluginMetadata(
        name="dlt",
        version=__version__,
        floe_api_version=FLOE_API_VERSION,
        description="dlt sources (files, or a product's own dlt source) into duckdb/postgres",
    )

    def _check(self, entry: IngestionConfig) -> Iterable[str]:
        return list(entry_problems(entry))

    def _run(self, request: IngestionRequest) -> IngestionResult:
        from floe_ingestion_dlt.pipeline import run_entry

        return run_entry(request)

    def _source_dataset(self, entry: IngestionConfig, stream: str, base_dir: Path) -> Dataset:
        from floe_orchestration_core.lineage import Dataset

        if function_reference(entry.source) is not None:
            return Dataset(namespace=f"dlt://{entry.source}", name=stream)
        bucket = str(entry.config.get("bucket_url", ""))
        if "://" in bucket and not bucket.startswith("file://"):
            scheme, _, rest = bucket.partition("://")
            return Dataset(
                namespace=f"{scheme}://{rest.split('/')[0]}",
                name=f"{'/'.join(rest.split('/')[1:])}/{stream_settings(entry, stream).file_glob}",
            )
        folder = Path(bucket.removeprefix("file://"))
        folder = folder if folder.is_absolute() else base_dir / folder
        glob = stream_settings(entry, stream).file_glob
        return Dataset(namespace="file", name=f"{folder.resolve().as_posix()}/{glob}")
