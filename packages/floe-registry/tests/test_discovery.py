"""Listing plugins from entry-point metadata: nothing is imported, problems are reported."""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING

import pytest

from floe_registry.discovery import (
    PluginKind,
    api_versions_compatible,
    find_plugin,
    list_plugins,
    parse_api_marker,
)
from floe_registry.errors import DuplicatePluginError, PluginNotFoundError

if TYPE_CHECKING:
    from conftest import FakeDistributions


def test_listing_reads_metadata_without_importing_the_plugin_module(
    fake_dists: FakeDistributions,
) -> None:
    module = fake_dists.orchestrator("fake")

    plugins = list_plugins()

    [info] = [p for p in plugins if p.name == "fake"]
    assert info.kind is PluginKind.ORCHESTRATOR
    assert info.version == "1.2.3"
    assert info.distribution == "fake-fake-plugin"
    assert info.floe_api_version == "1.0"
    assert info.compatible is True
    assert info.target == f"{module}:Plugin"
    assert module not in sys.modules


def test_listing_by_kind_keeps_only_that_kind(fake_dists: FakeDistributions) -> None:
    fake_dists.orchestrator("fake")
    fake_dists.lineage_backend("fake_lineage")

    assert {p.name for p in list_plugins("lineage_backend")} >= {"fake_lineage"}
    assert all(p.kind is PluginKind.LINEAGE_BACKEND for p in list_plugins("lineage_backend"))
    assert "fake_lineage" not in {p.name for p in list_plugins(PluginKind.ORCHESTRATOR)}


def test_listing_an_unknown_kind_names_the_valid_kinds() -> None:
    with pytest.raises(ValueError, match="orchestrator, lineage_backend"):
        list_plugins("scheduler")


def test_listing_shows_unknown_api_version_when_the_marker_is_absent(
    fake_dists: FakeDistributions,
) -> None:
    fake_dists.orchestrator("plain", marker=None)

    [info] = [p for p in list_plugins() if p.name == "plain"]

    assert info.floe_api_version is None
    assert info.compatible is None


def test_listing_marks_a_declared_incompatible_api_version(fake_dists: FakeDistributions) -> None:
    fake_dists.orchestrator("future", api="2.0", marker="2.0")

    [info] = [p for p in list_plugins() if p.name == "future"]

    assert info.compatible is False


def test_listing_reports_duplicate_names_instead_of_raising(fake_dists: FakeDistributions) -> None:
    fake_dists.orchestrator("twin", dist="dist-one", module="twin_one")
    fake_dists.orchestrator("twin", dist="dist-two", module="twin_two")

    twins = [p for p in list_plugins() if p.name == "twin"]

    assert len(twins) == 2
    problems = {p.distribution: p.problem for p in twins}
    assert problems["dist-one"] is not None
    assert "dist-two" in problems["dist-one"]
    assert problems["dist-two"] is not None
    assert "dist-one" in problems["dist-two"]


def test_finding_a_duplicate_name_names_both_distributions(fake_dists: FakeDistributions) -> None:
    fake_dists.orchestrator("twin", dist="dist-one", module="twin_one")
    fake_dists.orchestrator("twin", dist="dist-two", module="twin_two")

    with pytest.raises(DuplicatePluginError) as caught:
        find_plugin("orchestrator", "twin")

    assert "dist-one" in str(caught.value)
    assert "dist-two" in str(caught.value)
    assert set(caught.value.sources) == {"dist-one", "dist-two"}


def test_finding_an_unknown_name_lists_installed_plugins_with_versions(
    fake_dists: FakeDistributions,
) -> None:
    fake_dists.orchestrator("alpha")
    fake_dists.orchestrator("beta")

    with pytest.raises(PluginNotFoundError) as caught:
        find_plugin("orchestrator", "gamma")

    message = str(caught.value)
    assert "no orchestrator plugin named 'gamma'" in message
    assert "alpha 1.2.3" in message
    assert "beta 1.2.3" in message
    assert "floe.orchestrators" in message
    assert {"alpha 1.2.3", "beta 1.2.3"} <= set(caught.value.installed)


def test_finding_an_unknown_name_says_none_are_installed_when_none_are(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr("floe_registry.discovery.importlib_metadata.entry_points", lambda group: [])

    with pytest.raises(PluginNotFoundError, match="installed: none"):
        find_plugin("lineage_backend", "openlineage")


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("pkg.mod:Cls", ("pkg.mod:Cls", None, None)),
        ("pkg.mod:Cls [floe-api-1.0]", ("pkg.mod:Cls", "1.0", None)),
        ("pkg.mod:Cls [speed, floe-api-1.12]", ("pkg.mod:Cls", "1.12", None)),
        ("pkg.mod:Cls [other]", ("pkg.mod:Cls", None, None)),
    ],
)
def test_api_marker_is_parsed_from_the_entry_point_extras(
    value: str, expected: tuple[str, str | None, str | None]
) -> None:
    assert parse_api_marker(value) == expected


@pytest.mark.parametrize(
    "value", ["pkg:Cls [floe-api-one]", "pkg:Cls [floe-api-1.0, floe-api-1.1]"]
)
def test_malformed_or_repeated_api_marker_is_a_problem(value: str) -> None:
    reference, version, problem = parse_api_marker(value)

    assert reference == "pkg:Cls"
    assert version is None
    assert problem is not None
    assert "floe-api-MAJOR.MINOR" in problem


@pytest.mark.parametrize(
    ("plugin", "platform", "compatible"),
    [
        ("1.0", "1.0", True),
        ("1.0", "1.3", True),
        ("1.4", "1.3", False),
        ("2.0", "1.0", False),
        ("0.9", "1.0", False),
        ("one", "1.0", False),
    ],
)
def test_api_compatibility_needs_same_major_and_minor_not_above_platform(
    plugin: str, platform: str, compatible: bool
) -> None:
    assert api_versions_compatible(plugin, platform) is compatible
