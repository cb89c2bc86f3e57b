"""The port's name and loading checks: check_names and load_definitions template methods."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import pytest

from floe_orchestration_core import FLOE_API_VERSION
from floe_orchestration_core.artifacts import CompiledArtifacts
from floe_orchestration_core.errors import (
    ArtifactsError,
    CycleError,
    InvalidNameError,
    PluginError,
)
from floe_orchestration_core.plugin import NameProblem, PluginMetadata
from floe_orchestration_core.testing import InMemoryOrchestrator
from floe_orchestration_core.testing.factories import make_artifacts, make_transform


class NamingOrchestrator(InMemoryOrchestrator):
    """The reference adapter with a naming rule (no 'x' in a name) and a loading check."""

    metadata = PluginMetadata(name="naming", version="1.0.0", floe_api_version=FLOE_API_VERSION)

    def __init__(self) -> None:
        super().__init__()
        self.calls: list[str] = []
        self.loaded: object | None = None
        self.junk: object | None = None
        self.load_failure: Exception | None = None

    def _check_names(self, artifacts: CompiledArtifacts) -> Iterable[NameProblem]:
        self.calls.append("_check_names")
        if self.junk is not None:
            return [self.junk]  # type: ignore[list-item]
        return [
            NameProblem(t.resource_type.value, t.name, "no 'x' in names; rename it", t.unique_id)
            for t in artifacts.transforms
            if "x" in t.name
        ]

    def _create_definitions(self, artifacts: CompiledArtifacts, graph: Any) -> Any:
        self.calls.append("_create_definitions")
        return super()._create_definitions(artifacts, graph)

    def _load_definitions(self, definitions: Any) -> Any:
        self.calls.append("_load_definitions")
        if self.load_failure is not None:
            raise self.load_failure
        self.loaded = definitions
        return definitions


def _artifacts(*names: str) -> CompiledArtifacts:
    return make_artifacts([make_transform(name) for name in names])


def test_names_are_fine_by_default() -> None:
    plugin = InMemoryOrchestrator()
    plugin.check_names(_artifacts("a b", "\U0001f600"))  # no InvalidNameError
    assert plugin.load_definitions(_artifacts("orders")).assets.keys() == {"orders"}


def test_every_name_the_orchestrator_refuses_is_listed_with_the_model_and_the_rule() -> None:
    plugin = NamingOrchestrator()
    with pytest.raises(InvalidNameError) as raised:
        plugin.check_names(_artifacts("ok", "box", "axe"))
    error = raised.value
    assert error.names == ("box", "axe")
    assert error.unique_ids == ("model.analytics.box", "model.analytics.axe")
    assert error.problems == (
        "model 'box' ('model.analytics.box'): no 'x' in names; rename it",
        "model 'axe' ('model.analytics.axe'): no 'x' in names; rename it",
    )
    assert "2 name(s) the orchestrator 'naming' cannot carry" in str(error)


def test_create_definitions_checks_names_after_the_graph_and_before_its_hook() -> None:
    plugin = NamingOrchestrator()
    with pytest.raises(InvalidNameError):
        plugin.create_definitions(_artifacts("box"))
    assert plugin.calls == ["_check_names"]
    cyclic = make_artifacts(
        [make_transform("x1", depends_on=["x2"]), make_transform("x2", depends_on=["x1"])]
    )
    with pytest.raises(CycleError):
        plugin.create_definitions(cyclic)
    assert plugin.calls == ["_check_names"]


def test_load_definitions_creates_then_loads_them() -> None:
    plugin = NamingOrchestrator()
    definitions = plugin.load_definitions(_artifacts("orders"))
    assert plugin.calls == ["_check_names", "_create_definitions", "_load_definitions"]
    assert plugin.loaded is definitions


def test_a_loading_failure_that_is_not_a_floe_error_is_a_plugin_error_naming_the_hook() -> None:
    plugin = NamingOrchestrator()
    plugin.load_failure = RuntimeError("repository does not resolve")
    with pytest.raises(PluginError, match="failed in _load_definitions: RuntimeError"):
        plugin.load_definitions(_artifacts("orders"))


def test_a_hook_returning_something_else_than_name_problems_is_a_plugin_error() -> None:
    plugin = NamingOrchestrator()
    plugin.junk = "box is wrong"
    with pytest.raises(PluginError, match="_check_names must return NameProblem items; got str"):
        plugin.check_names(_artifacts("orders"))


def test_check_names_loads_a_mapping_and_refuses_anything_else() -> None:
    plugin = NamingOrchestrator()
    with pytest.raises(InvalidNameError):
        plugin.check_names(_artifacts("box").model_dump(mode="json"))
    with pytest.raises(ArtifactsError):
        plugin.check_names({"schema_version": "2.0.0"})
    with pytest.raises(PluginError, match="check_names expects CompiledArtifacts"):
        plugin.check_names(["box"])  # type: ignore[arg-type]


def test_a_name_problem_quotes_a_hostile_name_safely() -> None:
    problem = NameProblem("model", "a\nb", "rule", "model.x.a\nb")
    assert problem.sentence() == "model 'a\\nb' ('model.x.a\\nb'): rule"
    assert NameProblem("source", "raw.t", "rule").sentence() == "source 'raw.t': rule"
