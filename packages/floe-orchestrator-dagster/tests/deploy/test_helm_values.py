"""Generated Helm values: official-chart keys and types, floe's chart schema, the image setting."""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import jsonschema
import pytest

from floe_orchestration_core.resources import get_preset
from floe_orchestration_core.testing import make_artifacts
from floe_orchestrator_dagster.config import DagsterAdapterConfig
from floe_orchestrator_dagster.deploy.chart_values import chart_schema, default_values
from floe_orchestrator_dagster.deploy.helm import USER_CODE_ARGS
from floe_orchestrator_dagster.errors import HelmValuesError
from floe_orchestrator_dagster.plugin import DagsterOrchestratorPlugin

HELM_SPECS = Path(__file__).resolve().parents[5] / "shared" / "specs" / "dagster-helm"
SIZES = ("small", "medium", "large")
IMAGE = "ghcr.io/acme/sales:1.2.0"
_JSON_TYPES: Mapping[str, type | tuple[type, ...]] = {
    "object": dict,
    "array": list,
    "string": str,
    "integer": int,
    "number": (int, float),
    "boolean": bool,
    "null": type(None),
}


def merge_values(base: Mapping[str, Any], overlay: Mapping[str, Any]) -> dict[str, Any]:
    """Helm's coalescing of ``-f overlay`` onto the chart defaults: maps merge, lists replace."""
    merged = dict(base)
    for key, value in overlay.items():
        if isinstance(value, Mapping) and isinstance(merged.get(key), Mapping):
            merged[key] = merge_values(merged[key], value)
        else:
            merged[key] = value
    return merged


def generated_values(size: str, *, artifacts: bool, image: str | None = IMAGE) -> dict[str, Any]:
    plugin = DagsterOrchestratorPlugin({"user_code_image": image} if image else {})
    return plugin.get_helm_values(
        size=size, artifacts=make_artifacts(product_name="sales_analytics") if artifacts else None
    )


def _official(name: str) -> dict[str, Any]:
    path = HELM_SPECS / name
    if not path.is_file():
        pytest.skip(f"{path} is absent: the official chart schemas live in ../shared/specs")
    schema: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    return schema


def _branches(schema: Mapping[str, Any], node: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    """``node`` with local ``$ref``s followed and ``anyOf``/``allOf`` expanded."""
    ref = node.get("$ref", "")
    if ref.startswith("#/"):
        target: Any = schema
        for part in ref[2:].split("/"):
            target = target[part]
        return _branches(schema, target)
    if "anyOf" in node:
        return [leaf for option in node["anyOf"] for leaf in _branches(schema, option)]
    if "allOf" in node:
        return [leaf for option in node["allOf"] for leaf in _branches(schema, option)]
    return [node]


def _type_ok(node: Mapping[str, Any], value: Any) -> bool:
    declared = node.get("type")
    if declared is None:
        return True
    names = declared if isinstance(declared, list) else [declared]
    if isinstance(value, bool):
        return "boolean" in names
    return any(isinstance(value, _JSON_TYPES[name]) for name in names)


def official_problems(
    schema: Mapping[str, Any], node: Mapping[str, Any], path: str, value: Any
) -> list[str]:
    """Every key of ``value`` absent from ``node`` in the official schema, or of another type."""
    branches = [b for b in _branches(schema, node) if _type_ok(b, value)]
    if not branches:
        return [f"{path}: {type(value).__name__} is not a type the official chart accepts here"]
    best: list[str] | None = None
    for branch in branches:
        problems: list[str] = []
        if isinstance(value, dict):
            properties = branch.get("properties", {})
            closed = bool(properties) or branch.get("additionalProperties") is False
            extra = branch.get("additionalProperties")
            for key, item in value.items():
                if key in properties:
                    problems += official_problems(schema, properties[key], f"{path}.{key}", item)
                elif isinstance(extra, dict):
                    problems += official_problems(schema, extra, f"{path}.{key}", item)
                elif closed:
                    problems.append(f"{path}.{key}: not a key of the official chart")
        elif isinstance(value, list) and "items" in branch:
            for index, item in enumerate(value):
                problems += official_problems(schema, branch["items"], f"{path}[{index}]", item)
        if not problems:
            return []
        best = problems if best is None or len(problems) < len(best) else best
    return best or []


# Official chart: keys and types -----------------------------------------------------------
@pytest.mark.parametrize("size", SIZES)
@pytest.mark.parametrize("artifacts", [False, True])
def test_every_generated_key_has_the_official_charts_type_except_under_floe(
    size: str, artifacts: bool
) -> None:
    chart = _official("values.schema.json")
    subchart = _official("user-deployments.values.schema.json")
    values = generated_values(size, artifacts=artifacts)
    official = {key: value for key, value in values.items() if key != "floe"}
    assert official_problems(chart, chart, "values", official) == []
    if artifacts:
        deployments = values["dagster-user-deployments"]["deployments"]
        assert official_problems(subchart, subchart, "sub", {"deployments": deployments}) == []


def test_the_official_key_check_catches_a_wrong_type_and_an_unknown_key() -> None:
    chart = _official("values.schema.json")
    wrong = {"dagsterWebserver": {"replicaCount": "two", "colour": "blue"}, "floe": {}}
    problems = official_problems(chart, chart, "values", wrong)
    assert any("replicaCount" in p for p in problems)
    assert any("colour" in p for p in problems)
    assert any(p.startswith("values.floe") for p in problems)


def test_a_deployment_with_an_image_has_every_field_the_official_chart_requires() -> None:
    chart = _official("values.schema.json")
    (deployment,) = generated_values("small", artifacts=True)["dagster-user-deployments"][
        "deployments"
    ]
    assert set(chart["definitions"]["UserDeployment"]["required"]) <= set(deployment)
    assert deployment["dagsterApiGrpcArgs"] == list(USER_CODE_ARGS)


# floe's chart: schema of the merged values --------------------------------------------------
@pytest.mark.parametrize("size", SIZES)
def test_generated_values_over_the_chart_defaults_satisfy_the_chart_schema(size: str) -> None:
    overlay = generated_values(size, artifacts=True)
    merged = merge_values(default_values(), overlay)
    jsonschema.validate(merged, chart_schema())
    preset = get_preset(size).to_kubernetes()
    assert merged["dagsterWebserver"]["resources"] == preset
    assert merged["dagsterDaemon"]["resources"] == preset
    assert merged["runLauncher"]["config"]["k8sRunLauncher"]["resources"] == preset
    (deployment,) = merged["dagster-user-deployments"]["deployments"]
    assert deployment["resources"] == preset


# The image setting ---------------------------------------------------------------------------
def test_the_configured_user_code_image_lands_in_the_user_deployment() -> None:
    (deployment,) = generated_values("medium", artifacts=True)["dagster-user-deployments"][
        "deployments"
    ]
    assert deployment["image"] == {
        "repository": "ghcr.io/acme/sales",
        "tag": "1.2.0",
        "pullPolicy": "IfNotPresent",
    }


def test_a_given_image_beats_the_configured_one() -> None:
    plugin = DagsterOrchestratorPlugin({"user_code_image": IMAGE})
    values = plugin.get_helm_values(
        size="small", artifacts=make_artifacts(product_name="sales"), image="reg:5000/acme/x:2"
    )
    (deployment,) = values["dagster-user-deployments"]["deployments"]
    assert (deployment["image"]["repository"], deployment["image"]["tag"]) == (
        "reg:5000/acme/x",
        "2",
    )


def test_without_an_image_the_values_are_refused_naming_both_fixes() -> None:
    # The chart refuses a code server without an image at render time; refuse before that.
    with pytest.raises(HelmValuesError) as caught:
        generated_values("medium", artifacts=True, image=None)
    message = str(caught.value)
    assert "'sales_analytics'" in message
    assert "--image REPOSITORY[:TAG]" in message
    assert "orchestrator.config.user_code_image" in message
    assert generated_values("medium", artifacts=False, image=None)  # services alone need none


def test_without_artifacts_the_configured_image_is_not_used() -> None:
    values = generated_values("medium", artifacts=False)
    assert "dagster-user-deployments" not in values


def test_a_malformed_user_code_image_is_refused_when_the_config_is_read() -> None:
    with pytest.raises(ValueError, match=r"repository\[:tag\]"):
        DagsterAdapterConfig.model_validate({"user_code_image": "acme sales"})
