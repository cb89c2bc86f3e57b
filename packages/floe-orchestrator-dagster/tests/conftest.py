"""Shared test helpers of the Dagster adapter (append only: several owners add fixtures)."""

from __future__ import annotations

from pathlib import Path

import pytest

_CORE_FIXTURES = (
    Path(__file__).resolve().parents[2] / "floe-orchestration-core" / "tests" / "fixtures"
)


@pytest.fixture(scope="session")
def core_fixtures() -> Path:
    """The core's small dbt manifests (``manifest_v4.json`` … ``manifest_fusion.json``)."""
    return _CORE_FIXTURES
