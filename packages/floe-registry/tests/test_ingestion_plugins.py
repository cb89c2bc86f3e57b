"""Ingestion plugins through the registry: listed from metadata, loaded on demand, checked,
and handed to the orchestrator by the platform."""

from __future__ import annotations

import subprocess
import sys
from typing import TYPE_CHECKING

import pytest

from floe_orchestration_core.ingestion import IngestionPlugin
from floe_orchestration_core.testing import InMemoryIngestion
from floe_registry.discovery import PluginKind, list_plugins
from floe_registry.errors import PluginIncompatibleError, PluginLoadError, PluginNotFoundError
from floe_registry.loading import (
    IngestionPlugins,
    load_ingestion,
    load_ingestion_class,
    register,
)
from floe_registry.platform import load_platform

if TYPE_CHECKING:
    from conftest import FakeDistributions


def test_ingestion_plugins_are_listed_without_importing_them(
    fake_dists: FakeDistributions,
) -> None:
    module = fake_dists.ingestion("shopify")
    (info,) = [p for p in list_plugins("ingestion") if p.name == "shopify"]
    assert info.kind is PluginKind.INGESTION
    assert info.kind.group == "floe.ingestion"
    assert (info.version, info.floe_api_version, info.compatible) == ("0.2.0", "1.0", True)
    assert module not in sys.modules


def test_loading_an_ingestion_plugin_checks_it_and_builds_it(
    fake_dists: FakeDistributions,
) -> None:
    fake_dists.ingestion("shopify")
    plugin = load_ingestion("shopify")
    assert isinstance(plugin, IngestionPlugin)
    assert plugin.name == "shopify"
    assert issubclass(load_ingestion_class("shopify"), InMemoryIngestion)


def test_an_unknown_connector_lists_the_installed_ones(fake_dists: FakeDistributions) -> None:
    fake_dists.ingestion("shopify")
    with pytest.raises(PluginNotFoundError, match=r"installed: .*shopify 0\.2\.0") as caught:
        load_ingestion("airbyte_cloud")
    assert "floe.ingestion" in str(caught.value)


def test_an_incompatible_ingestion_plugin_is_refused_before_import(
    fake_dists: FakeDistributions,
) -> None:
    module = fake_dists.ingestion("future", api="2.0")
    with pytest.raises(PluginIncompatibleError, match=r"floe API 2\.0"):
        load_ingestion("future")
    assert module not in sys.modules


def test_an_entry_point_that_is_not_an_ingestion_plugin_is_refused(
    fake_dists: FakeDistributions,
) -> None:
    fake_dists.add(
        "fake-wrong",
        "1.0.0",
        {"floe.ingestion": {"wrong": "fake_wrong_ingestion:Thing [floe-api-1.0]"}},
        {"fake_wrong_ingestion": "class Thing:\n    pass\n"},
    )
    with pytest.raises(PluginLoadError, match=r"not a subclass of .*IngestionPlugin"):
        load_ingestion("wrong")


def test_register_accepts_an_ingestion_plugin() -> None:
    with register(InMemoryIngestion) as registration:
        assert registration.info.kind is PluginKind.INGESTION
        assert isinstance(load_ingestion("in_memory"), InMemoryIngestion)
    with pytest.raises(PluginNotFoundError):
        load_ingestion("in_memory")


def test_the_resolver_loads_each_connector_once() -> None:
    resolver = IngestionPlugins()
    assert resolver.loaded == {}
    with register(InMemoryIngestion):
        first = resolver("in_memory")
        assert resolver("in_memory") is first
    assert resolver.loaded == {"in_memory": first}


def test_the_platform_hands_its_orchestrator_the_resolver(fake_dists: FakeDistributions) -> None:
    fake_dists.orchestrator("fake")
    fake_dists.ingestion("shopify")
    with load_platform({"orchestrator": "fake"}) as platform:
        plugin = platform.orchestrator.ingestion_plugin("shopify")
        assert plugin.name == "shopify"
        assert platform.ingestion.loaded == {"shopify": plugin}
        with pytest.raises(PluginNotFoundError, match=r"'nope'; installed: .*shopify 0\.2\.0"):
            platform.orchestrator.ingestion_plugin("nope")


def test_the_workspace_connectors_load_without_importing_their_libraries() -> None:
    """dlt and airbyte are installed plugins; loading them imports neither dlt nor
    duckdb (nor, for airbyte, anything of PyAirbyte, which lives in a venv of its own)."""
    code = (
        "import sys; from floe_registry.loading import load_ingestion;"
        "plugins = [load_ingestion(n) for n in ('dlt', 'airbyte')];"
        "print([type(p).__name__ for p in plugins],"
        " sorted(m for m in ('dlt', 'duckdb', 'airbyte', 'pydantic') if m in sys.modules))"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=120, check=True
    )
    assert done.stdout.strip() == "['DltIngestion', 'AirbyteIngestion'] []"
    assert {"dlt", "airbyte"} <= {p.name for p in list_plugins("ingestion")}
