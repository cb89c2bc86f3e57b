"""InMemoryIngestion, the reference ingestion adapter, passes the ingestion contract."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from floe_orchestration_core.artifacts import IngestionConfig
from floe_orchestration_core.ingestion import Destination, DuckDBDestination
from floe_orchestration_core.testing import IngestionPluginContract, InMemoryIngestion


def _entry(**config: object) -> IngestionConfig:
    return IngestionConfig.model_validate(
        {
            "name": "shop",
            "connector": "in_memory",
            "source": "counters",
            "config": {"records": {"users": 5, "orders": 7}, **config},
            "streams": [{"name": "users"}, {"name": "orders"}],
            "destination": {"compute": "duckdb", "schema": "raw"},
        }
    )


class TestInMemoryIngestionContract(IngestionPluginContract):
    @pytest.fixture
    def plugin(self) -> InMemoryIngestion:
        return InMemoryIngestion()

    @pytest.fixture
    def entry(self) -> IngestionConfig:
        return _entry()

    @pytest.fixture
    def misconfigured_entry(self) -> IngestionConfig:
        return _entry(fail="config")

    @pytest.fixture
    def warehouse_rows(self, plugin: InMemoryIngestion) -> Callable[[Destination, str], int]:
        def count(destination: Destination, table: str) -> int:
            assert isinstance(destination, DuckDBDestination)
            return plugin.tables[(destination.compute, table)]

        return count
