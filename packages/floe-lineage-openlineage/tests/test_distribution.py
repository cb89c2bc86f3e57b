"""The distribution skeleton is installed and consistent with its metadata."""

from __future__ import annotations

import importlib.metadata

import floe_lineage_openlineage


def test_module_version_matches_the_installed_distribution() -> None:
    assert floe_lineage_openlineage.__version__ == importlib.metadata.version(
        "floe-lineage-openlineage"
    )


def test_distribution_depends_on_the_core() -> None:
    requirements = importlib.metadata.requires("floe-lineage-openlineage") or []
    assert any(r.startswith("floe-orchestration-core") for r in requirements)
