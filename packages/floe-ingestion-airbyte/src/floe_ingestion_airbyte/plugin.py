"""``AirbyteIngestion``: Python Airbyte connectors through PyAirbyte (``connector: airbyte``).

PyAirbyte runs in a virtual environment of its own, never in floe's (decision 0008): the
environments are :mod:`floe_ingestion_airbyte.environment`, one sync is
:mod:`floe_ingestion_airbyte.sync` (a subprocess speaking JSON), the DuckDB copy is
:mod:`floe_ingestion_airbyte.warehouse`. What an entry may say is
:mod:`floe_ingestion_airbyte.connector`. Importing this module imports the core's port and the
standard library only.

Lineage: each stream is read from ``airbyte://<source>`` (e.g. ``airbyte://source-faker``),
named by the stream.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from typing import TYPE_CHECKING, ClassVar

from floe_ingestion_airbyte import __version__
from floe_ingestion_airbyte.connector import ConnectorSource, entry_problems
from floe_orchestration_core import FLOE_API_VERSION
from floe_orchestration_core.ingestion import IngestionPlugin, IngestionRequest, IngestionResult
from floe_orchestration_core.plugin_metadata import PluginMetadata

if TYPE_CHECKING:
    from floe_orchestration_core.artifacts import IngestionConfig
    from floe_orchestration_core.lineage import Dataset

__all__ = ["AirbyteIngestion"]


class AirbyteIngestion(IngestionPlugin):
    """Airbyte source connectors (PyPI ``airbyte-source-*``) into DuckDB or PostgreSQL."""

    metadata: ClassVar[PluginMetadata] = PluginMetadata(
        name="airbyte",
        version=__version__,
        floe_api_version=FLOE_API_VERSION,
        description="Airbyte source connectors via PyAirbyte, in a venv of its own",
    )

    def __init__(self, cache_dir: Path | None = None) -> None:
        self._cache_dir = cache_dir

    def _check(self, entry: IngestionConfig) -> Iterable[str]:
        return list(entry_problems(entry))

    def _run(self, request: IngestionRequest) -> IngestionResult:
        from floe_ingestion_airbyte.environment import AirbyteEnvironment, cache_root
        from floe_ingestion_airbyte.sync import run_sync

        environment = AirbyteEnvironment(root=self._cache_dir or cache_root(), log=request.log)
        return run_sync(request, environment)

    def _source_dataset(self, entry: IngestionConfig, stream: str, base_dir: Path) -> Dataset:
        from floe_orchestration_core.lineage import Dataset

        source = ConnectorSource.parse(entry.source)
        name = source.name if source is not None else entry.source
        return Dataset(namespace=f"airbyte://{name}", name=stream)
