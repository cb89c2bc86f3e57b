"""DltIngestion passes the core's ingestion contract: real dlt, real files, real DuckDB."""

from __future__ import annotations

from pathlib import Path

import pytest

from floe_ingestion_dlt.plugin import DltIngestion
from floe_orchestration_core.artifacts import IngestionConfig
from floe_orchestration_core.testing import IngestionPluginContract
from landing import landing_entry, write_customers, write_orders


class TestDltFilesystemContract(IngestionPluginContract):
    incremental = True

    @pytest.fixture
    def plugin(self) -> DltIngestion:
        return DltIngestion()

    @pytest.fixture
    def entry(self, tmp_path: Path) -> IngestionConfig:
        landing = tmp_path / "landing"
        write_orders(landing, "2026_01", 1, 30)
        write_customers(landing)
        return landing_entry(landing)

    @pytest.fixture
    def misconfigured_entry(self, tmp_path: Path) -> IngestionConfig:
        return landing_entry(tmp_path / "no-such-folder")
