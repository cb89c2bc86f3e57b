"""Entries running the real ``airbyte-source-faker`` connector (imported by the tests as
``faker``). Its virtual environments are the cached ones (``~/.cache/floe/airbyte``, or
``$FLOE_AIRBYTE_HOME``): the first test run creates them (about 40 s from uv's cache; CI
creates them once with ``python -m floe_ingestion_airbyte provision source-faker==7.2.1``)."""

from __future__ import annotations

from typing import Any

from floe_orchestration_core.artifacts import IngestionConfig

#: The connector every test runs (pinned: its venv is cached by version).
FAKER = "source-faker==7.2.1"
STREAMS = ("users", "products", "purchases")


def faker_entry(count: int = 25, **overrides: Any) -> IngestionConfig:
    """source-faker with ``always_updated: false``: a second sync emits nothing new."""
    fields: dict[str, Any] = {
        "name": "shop",
        "connector": "airbyte",
        "source": FAKER,
        "config": {"count": count, "seed": 1, "always_updated": False},
        "streams": [{"name": name} for name in STREAMS],
        "destination": {"compute": "duckdb", "schema": "raw"},
    }
    fields.update(overrides)
    return IngestionConfig.model_validate(fields)
