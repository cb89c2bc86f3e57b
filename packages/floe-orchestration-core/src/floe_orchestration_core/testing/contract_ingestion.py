"""The contract suite every ingestion plugin runs: :class:`IngestionPluginContract`.

How an adapter uses it (in its ``tests/contract/``)::

    import pytest
    from floe_orchestration_core.testing import IngestionPluginContract

    class TestMyConnectorContract(IngestionPluginContract):
        incremental = True                      # a second run without new data loads nothing

        @pytest.fixture
        def plugin(self) -> MyIngestion:
            return MyIngestion()

        @pytest.fixture
        def entry(self, tmp_path) -> IngestionConfig:
            ...                                 # a runnable entry: a real, local source

        @pytest.fixture
        def misconfigured_entry(self, entry) -> IngestionConfig:
            ...                                 # the same entry with a config the source refuses

The suite builds requests into a DuckDB file under ``tmp_path`` (``destination`` fixture) and
counts rows with ``duckdb`` (``warehouse_rows``; override it for a plugin that keeps tables
elsewhere). What it holds a plugin to (one test each):

- metadata is valid and compatible with this core's API version;
- ``check`` of the runnable entry finds nothing; an entry of another connector is refused;
- ``source_datasets`` names a dataset for every stream;
- a run answers every stream once with its table ``<schema>.<stream>``, and that table holds
  ``rows_total`` rows (at least one) in the warehouse;
- a second run without new data keeps every stream's row count (and, for an incremental
  connector, loads no row and keeps every data version);
- a run of one stream answers that stream only;
- a misconfigured entry fails with :class:`IngestionConfigError` (not retryable), naming the
  entry;
- a request for streams the entry does not declare is refused before the connector runs.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import ClassVar

import pytest

from floe_orchestration_core import FLOE_API_VERSION
from floe_orchestration_core.artifacts import IngestionConfig
from floe_orchestration_core.errors import IngestionConfigError, PluginError
from floe_orchestration_core.ingestion import (
    Destination,
    DuckDBDestination,
    IngestionPlugin,
    IngestionRequest,
)
from floe_orchestration_core.lineage import Dataset
from floe_orchestration_core.plugin import PluginMetadata

__all__ = ["IngestionPluginContract", "request_for"]

#: ``(destination, "schema.table") -> row count``
WarehouseRows = Callable[[Destination, str], int]


def request_for(
    entry: IngestionConfig,
    destination: Destination,
    state_dir: Path,
    *,
    streams: tuple[str, ...] | None = None,
    base_dir: Path | None = None,
) -> IngestionRequest:
    """A request to run ``entry`` (every stream unless ``streams``) into ``destination``."""
    return IngestionRequest(
        entry=entry,
        streams=streams if streams is not None else tuple(s.name for s in entry.streams),
        config=dict(entry.config),
        destination=destination,
        state_dir=state_dir,
        base_dir=base_dir or state_dir.parent,
        run_id="contract",
    )


class IngestionPluginContract:
    """Subclass with ``plugin``, ``entry`` and ``misconfigured_entry`` fixtures."""

    #: Whether a second run without new source data loads no row.
    incremental: ClassVar[bool] = True

    @pytest.fixture
    def destination(self, tmp_path: Path, entry: IngestionConfig) -> Destination:
        return DuckDBDestination(
            compute="contract",
            path=tmp_path / "warehouse.duckdb",
            schema=entry.destination.schema_name,
        )

    @pytest.fixture
    def warehouse_rows(self) -> WarehouseRows:
        def count(destination: Destination, table: str) -> int:
            duckdb = pytest.importorskip("duckdb")
            assert isinstance(destination, DuckDBDestination)
            with duckdb.connect(str(destination.path), read_only=True) as connection:
                row = connection.execute(f"select count(*) from {table}").fetchone()
            return int(row[0]) if row else 0

        return count

    def test_metadata_is_valid_and_compatible(self, plugin: IngestionPlugin) -> None:
        assert isinstance(type(plugin).metadata, PluginMetadata)
        assert type(plugin).metadata.is_compatible_with(FLOE_API_VERSION)
        assert plugin.name == type(plugin).metadata.name

    def test_check_of_a_runnable_entry_finds_nothing(
        self, plugin: IngestionPlugin, entry: IngestionConfig
    ) -> None:
        assert plugin.check(entry) == []

    def test_an_entry_of_another_connector_is_refused(
        self, plugin: IngestionPlugin, entry: IngestionConfig
    ) -> None:
        other = entry.model_copy(update={"connector": f"not-{plugin.name}"})
        with pytest.raises(PluginError, match=f"not-{plugin.name}"):
            plugin.check(other)

    def test_every_stream_has_a_source_dataset(
        self, plugin: IngestionPlugin, entry: IngestionConfig, tmp_path: Path
    ) -> None:
        datasets = plugin.source_datasets(entry, tmp_path)
        assert sorted(datasets) == sorted(s.name for s in entry.streams)
        assert all(isinstance(d, Dataset) and d.namespace and d.name for d in datasets.values())

    def test_a_run_loads_every_stream_into_its_table(
        self,
        plugin: IngestionPlugin,
        entry: IngestionConfig,
        destination: Destination,
        tmp_path: Path,
        warehouse_rows: WarehouseRows,
    ) -> None:
        result = plugin.run(request_for(entry, destination, tmp_path / "state"))
        assert sorted(s.stream for s in result.streams) == sorted(s.name for s in entry.streams)
        for stream in result.streams:
            assert stream.table == entry.table(stream.stream)
            assert stream.rows_total >= 1, stream
            assert stream.rows_loaded >= 1, stream
            assert warehouse_rows(destination, stream.table) == stream.rows_total

    def test_a_second_run_without_new_data_keeps_every_data_version(
        self,
        plugin: IngestionPlugin,
        entry: IngestionConfig,
        destination: Destination,
        tmp_path: Path,
        warehouse_rows: WarehouseRows,
    ) -> None:
        state = tmp_path / "state"
        first = plugin.run(request_for(entry, destination, state))
        second = plugin.run(request_for(entry, destination, state))
        for before in first.streams:
            after = second.stream(before.stream)
            assert after.rows_total == before.rows_total
            assert warehouse_rows(destination, after.table) == after.rows_total
            if self.incremental:
                assert after.rows_loaded == 0, after
                assert after.data_version == before.data_version, after

    def test_a_run_of_one_stream_answers_that_stream(
        self,
        plugin: IngestionPlugin,
        entry: IngestionConfig,
        destination: Destination,
        tmp_path: Path,
    ) -> None:
        first = entry.streams[0].name
        result = plugin.run(request_for(entry, destination, tmp_path / "s", streams=(first,)))
        assert [s.stream for s in result.streams] == [first]

    def test_a_misconfigured_entry_fails_without_retry(
        self,
        plugin: IngestionPlugin,
        misconfigured_entry: IngestionConfig,
        destination: Destination,
        tmp_path: Path,
    ) -> None:
        request = request_for(misconfigured_entry, destination, tmp_path / "state")
        with pytest.raises(IngestionConfigError) as caught:
            plugin.run(request)
        assert caught.value.retryable is False
        assert misconfigured_entry.name in str(caught.value)

    def test_streams_the_entry_does_not_declare_are_refused(
        self,
        plugin: IngestionPlugin,
        entry: IngestionConfig,
        destination: Destination,
        tmp_path: Path,
    ) -> None:
        request = request_for(entry, destination, tmp_path / "state", streams=("no_such_stream",))
        with pytest.raises(PluginError, match="no_such_stream"):
            plugin.run(request)
