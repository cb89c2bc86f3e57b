"""Loading one plugin: every check raises a typed error; register() for tests."""

from __future__ import annotations

import json
import subprocess
import sys
from typing import TYPE_CHECKING

import pytest

from floe_orchestration_core.errors import PluginError
from floe_orchestration_core.lineage import LineageBackendPlugin
from floe_orchestration_core.plugin import OrchestratorPlugin, PluginMetadata
from floe_orchestration_core.testing.fakes import InMemoryLineageBackend, InMemoryOrchestrator
from floe_registry.discovery import REGISTERED_SOURCE, find_plugin, list_plugins
from floe_registry.errors import (
    DuplicatePluginError,
    PluginIncompatibleError,
    PluginLoadError,
    PluginNotFoundError,
)
from floe_registry.loading import (
    load_lineage_backend,
    load_orchestrator,
    load_orchestrator_class,
    register,
)

if TYPE_CHECKING:
    from conftest import FakeDistributions


def test_loading_imports_the_plugin_and_returns_a_configured_instance(
    fake_dists: FakeDistributions,
) -> None:
    module = fake_dists.orchestrator("fake")

    plugin = load_orchestrator("fake", {"url": "http://orchestrator:3000"})

    assert isinstance(plugin, OrchestratorPlugin)
    assert type(plugin).metadata.name == "fake"
    assert plugin.config is not None
    assert plugin.config.model_dump() == {"url": "http://orchestrator:3000"}
    assert module in sys.modules


def test_loading_an_orchestrator_injects_the_given_lineage_backend(
    fake_dists: FakeDistributions,
) -> None:
    fake_dists.orchestrator("fake")
    backend = InMemoryLineageBackend()

    plugin = load_orchestrator("fake", lineage_backend=backend)

    assert plugin.lineage_backend is backend


def test_loading_a_lineage_backend_passes_config_as_keywords(
    fake_dists: FakeDistributions,
) -> None:
    fake_dists.lineage_backend("fake_lineage")

    backend = load_lineage_backend("fake_lineage", {"namespace": "analytics"})

    assert isinstance(backend, LineageBackendPlugin)
    assert backend.namespace == "analytics"


def test_lineage_config_key_the_constructor_lacks_names_accepted_keys(
    fake_dists: FakeDistributions,
) -> None:
    fake_dists.lineage_backend("fake_lineage")

    with pytest.raises(PluginLoadError, match=r"transport.*accepted: namespace"):
        load_lineage_backend("fake_lineage", {"transport": {"type": "console"}})


def test_unknown_name_lists_every_installed_plugin_of_the_kind_with_versions(
    fake_dists: FakeDistributions,
) -> None:
    fake_dists.orchestrator("alpha")
    fake_dists.lineage_backend("fake_lineage")

    with pytest.raises(PluginNotFoundError) as caught:
        load_orchestrator("no_such_orchestrator")

    assert "alpha 1.2.3" in str(caught.value)
    assert "fake_lineage" not in str(caught.value)


def test_entry_point_name_differing_from_metadata_name_is_a_load_error(
    fake_dists: FakeDistributions,
) -> None:
    fake_dists.orchestrator("real_name", entry_name="other_name")

    with pytest.raises(PluginLoadError) as caught:
        load_orchestrator_class("other_name")

    message = str(caught.value)
    assert "'other_name'" in message
    assert "'real_name'" in message
    assert "rename" in message


@pytest.mark.parametrize(
    ("api", "why"),
    [("2.0", "major differs"), ("1.9", "minor greater than the platform's")],
)
def test_incompatible_api_declared_by_the_class_is_refused(
    fake_dists: FakeDistributions, api: str, why: str
) -> None:
    fake_dists.orchestrator("future", api=api, marker=None)

    with pytest.raises(PluginIncompatibleError) as caught:
        load_orchestrator_class("future")

    assert caught.value.plugin_api_version == api, why
    assert caught.value.platform_api_version == "1.0"
    assert f"floe API {api}" in str(caught.value)
    assert "implements floe API 1.0" in str(caught.value)


def test_incompatible_api_declared_in_the_entry_point_is_refused_before_importing(
    fake_dists: FakeDistributions,
) -> None:
    module = fake_dists.orchestrator("future", api="2.0", marker="2.0")

    with pytest.raises(PluginIncompatibleError, match="declared in its entry point"):
        load_orchestrator_class("future")

    assert module not in sys.modules


def test_entry_point_marker_compatible_but_different_from_class_is_a_load_error(
    fake_dists: FakeDistributions, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("floe_registry.loading.FLOE_API_VERSION", "1.3")
    monkeypatch.setattr("floe_registry.discovery.FLOE_API_VERSION", "1.3")
    fake_dists.orchestrator("drift", api="1.0", marker="1.2")

    with pytest.raises(PluginLoadError) as caught:
        load_orchestrator_class("drift")

    assert "declares floe API 1.2" in str(caught.value)
    assert "declares 1.0" in str(caught.value)


def test_broken_import_is_a_load_error_with_the_cause_chained(
    fake_dists: FakeDistributions,
) -> None:
    fake_dists.add(
        "broken-plugin",
        "0.1",
        {"floe.orchestrators": {"broken": "broken_mod:Plugin [floe-api-1.0]"}},
        {"broken_mod": "import module_that_does_not_exist_anywhere\n"},
    )

    with pytest.raises(PluginLoadError) as caught:
        load_orchestrator_class("broken")

    assert isinstance(caught.value.__cause__, ModuleNotFoundError)
    assert "broken-plugin" in str(caught.value)
    assert "module_that_does_not_exist_anywhere" in str(caught.value)


def test_missing_attribute_is_a_load_error_with_the_cause_chained(
    fake_dists: FakeDistributions,
) -> None:
    fake_dists.add(
        "typo-plugin",
        "0.1",
        {"floe.orchestrators": {"typo": "typo_mod:Plugn"}},
        {"typo_mod": "Plugin = None\n"},
    )

    with pytest.raises(PluginLoadError) as caught:
        load_orchestrator_class("typo")

    assert isinstance(caught.value.__cause__, AttributeError)


def test_object_that_is_not_a_port_subclass_is_a_load_error(
    fake_dists: FakeDistributions,
) -> None:
    fake_dists.add(
        "wrong-plugin",
        "0.1",
        {"floe.orchestrators": {"wrong": "wrong_mod:Plugin"}},
        {"wrong_mod": "class Plugin:\n    pass\n"},
    )

    with pytest.raises(PluginLoadError, match=r"not a subclass of .*OrchestratorPlugin"):
        load_orchestrator_class("wrong")


def test_lineage_backend_registered_as_an_orchestrator_is_a_load_error(
    fake_dists: FakeDistributions,
) -> None:
    module = fake_dists.lineage_backend("misfiled")
    fake_dists.add(
        "misfiled-orchestrator",
        "0.1",
        {"floe.orchestrators": {"misfiled": f"{module}:Backend"}},
    )

    with pytest.raises(PluginLoadError, match="not a subclass"):
        load_orchestrator_class("misfiled")


def test_abstract_plugin_class_is_a_load_error_naming_missing_methods(
    fake_dists: FakeDistributions,
) -> None:
    fake_dists.add(
        "abstract-plugin",
        "0.1",
        {"floe.orchestrators": {"abstract": "abstract_mod:Plugin"}},
        {
            "abstract_mod": """
            from floe_orchestration_core.plugin import OrchestratorPlugin

            class Plugin(OrchestratorPlugin):
                pass
            """
        },
    )

    with pytest.raises(PluginLoadError, match="does not implement the abstract methods"):
        load_orchestrator_class("abstract")


def test_plugin_module_raising_a_core_error_at_import_is_a_load_error(
    fake_dists: FakeDistributions,
) -> None:
    fake_dists.add(
        "nometa-plugin",
        "0.1",
        {"floe.orchestrators": {"nometa": "nometa_mod:Plugin"}},
        {
            "nometa_mod": """
            from floe_orchestration_core.testing.fakes import InMemoryOrchestrator

            class Plugin(InMemoryOrchestrator):
                metadata = None
            """
        },
    )

    with pytest.raises(PluginLoadError) as caught:
        load_orchestrator_class("nometa")

    assert isinstance(caught.value.__cause__, PluginError)


def test_malformed_marker_is_a_load_error(fake_dists: FakeDistributions) -> None:
    fake_dists.add(
        "odd-plugin",
        "0.1",
        {"floe.orchestrators": {"odd": "odd_mod:Plugin [floe-api-latest]"}},
    )

    with pytest.raises(PluginLoadError, match=r"malformed API version marker"):
        load_orchestrator_class("odd")


def test_duplicate_names_from_two_distributions_are_an_error_naming_both(
    fake_dists: FakeDistributions,
) -> None:
    fake_dists.orchestrator("twin", dist="dist-one", module="twin_one")
    fake_dists.orchestrator("twin", dist="dist-two", module="twin_two")

    with pytest.raises(DuplicatePluginError) as caught:
        load_orchestrator("twin")

    assert "dist-one" in str(caught.value)
    assert "dist-two" in str(caught.value)
    assert "twin_one" not in sys.modules
    assert "twin_two" not in sys.modules


def test_invalid_plugin_config_raises_the_plugins_error(fake_dists: FakeDistributions) -> None:
    fake_dists.orchestrator("fake")

    with pytest.raises(PluginError):
        load_orchestrator("fake", {"url": "not a url"})


# register() ------------------------------------------------------------------------------
def test_registered_plugins_load_without_entry_points_and_unregister() -> None:
    with register(InMemoryOrchestrator) as registration:
        plugin = load_orchestrator("in_memory")
        info, _ = find_plugin("orchestrator", "in_memory")
        assert isinstance(plugin, InMemoryOrchestrator)
        assert info.distribution == REGISTERED_SOURCE
        assert registration.info.floe_api_version == "1.0"
        assert "in_memory" in {p.name for p in list_plugins("orchestrator")}

    with pytest.raises(PluginNotFoundError):
        load_orchestrator("in_memory")


def test_registered_lineage_backend_loads_by_its_metadata_name() -> None:
    with register(InMemoryLineageBackend):
        backend = load_lineage_backend("in_memory")

    assert isinstance(backend, InMemoryLineageBackend)


def test_registering_one_name_twice_is_a_duplicate_error() -> None:
    class Again(InMemoryOrchestrator):
        metadata = InMemoryOrchestrator.metadata

    with register(InMemoryOrchestrator), pytest.raises(DuplicatePluginError) as caught:
        register(Again)

    assert REGISTERED_SOURCE in caught.value.sources


def test_registering_a_name_an_installed_distribution_provides_names_it(
    fake_dists: FakeDistributions,
) -> None:
    fake_dists.orchestrator("in_memory", dist="memory-dist")

    with pytest.raises(DuplicatePluginError, match="memory-dist"):
        register(InMemoryOrchestrator)


def test_registering_an_incompatible_class_is_refused() -> None:
    class Future(InMemoryOrchestrator):
        metadata = PluginMetadata(name="future_reg", version="1", floe_api_version="2.0")

    with pytest.raises(PluginIncompatibleError):
        register(Future)
    assert "future_reg" not in {p.name for p in list_plugins()}


def test_registering_something_that_is_not_a_plugin_is_refused() -> None:
    with pytest.raises(PluginLoadError, match="register\\(\\) takes a subclass"):
        register(dict)  # type: ignore[arg-type]


# A plugin module as an adapter writes one: it imports only the core's plugin port.
_LIGHT_PLUGIN = """
from floe_orchestration_core.plugin import OrchestratorPlugin, PluginMetadata


class Plugin(OrchestratorPlugin):
    metadata = PluginMetadata(name="light", version="0.0.1", floe_api_version="1.0")

    def _create_definitions(self, artifacts, graph):
        return {}

    def _create_assets_from_transforms(self, transforms, graph):
        return []

    def _get_helm_values(self, *, size, resources, artifacts):
        return {}

    def _schedule_job(self, job_name, cron, timezone):
        return ()

    def _validate_connection(self, url, deadline):
        raise NotImplementedError
"""


def test_loading_a_light_plugin_class_in_a_fresh_interpreter_imports_no_heavy_dependency(
    fake_dists: FakeDistributions,
) -> None:
    fake_dists.add(
        "light-plugin",
        "0.0.1",
        {"floe.orchestrators": {"light": "light_mod:Plugin [floe-api-1.0]"}},
        {"light_mod": _LIGHT_PLUGIN},
    )
    code = (
        "import json, sys\n"
        "from floe_registry.loading import load_orchestrator_class\n"
        "load_orchestrator_class('light')\n"
        "print(json.dumps(sorted(sys.modules)))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code],
        env=fake_dists.env,
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    loaded = json.loads(done.stdout.strip().splitlines()[-1])
    heavy = ("pydantic", "pydantic_core", "networkx", "opentelemetry", "attrs", "attr")
    assert "light_mod" in loaded
    assert [name for name in loaded if name.split(".")[0] in heavy] == []
