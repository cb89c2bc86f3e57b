"""The distribution skeleton is installed and consistent with its metadata."""

from __future__ import annotations

import importlib.metadata

import floe_orchestrator_dagster


def test_module_version_matches_the_installed_distribution() -> None:
    assert floe_orchestrator_dagster.__version__ == importlib.metadata.version(
        "floe-orchestrator-dagster"
    )


def test_distribution_depends_on_the_core() -> None:
    requirements = importlib.metadata.requires("floe-orchestrator-dagster") or []
    assert any(r.startswith("floe-orchestration-core") for r in requirements)
