"""AirbyteIngestion passes the core's ingestion contract with the real source-faker connector,
PyAirbyte in its own venv, into a real DuckDB file."""

from __future__ import annotations

import pytest

from faker import faker_entry
from floe_ingestion_airbyte.plugin import AirbyteIngestion
from floe_orchestration_core.artifacts import IngestionConfig
from floe_orchestration_core.testing import IngestionPluginContract

pytestmark = pytest.mark.slow


class TestAirbyteFakerContract(IngestionPluginContract):
    incremental = True  # always_updated: false

    @pytest.fixture
    def plugin(self) -> AirbyteIngestion:
        return AirbyteIngestion()

    @pytest.fixture
    def entry(self) -> IngestionConfig:
        return faker_entry()

    @pytest.fixture
    def misconfigured_entry(self) -> IngestionConfig:
        return faker_entry(config={"count": "many"})
