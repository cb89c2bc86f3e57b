"""charts/floe-dagster: schema drift, secure-by-default rejections, and rendered manifests.

The schema tests run everywhere (jsonschema). The render and lint tests need Helm's engine,
from the ``helm-python-sdk`` package (``helm_python``: offline ``helm template`` and
``helm lint`` with values); they skip without it. ``nox -s helm`` installs it and runs them.
"""

from __future__ import annotations

import copy
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import yaml

from floe_orchestration_core.testing import make_artifacts
from floe_orchestrator_dagster.deploy.chart_values import (
    chart_schema,
    chart_schema_text,
    chart_values_text,
    default_values,
)
from floe_orchestrator_dagster.plugin import DagsterOrchestratorPlugin

CHART = Path(__file__).resolve().parents[4] / "charts" / "floe-dagster"
SECRET_NAME = "dagster-postgresql-secret"
SIZES = ("small", "medium", "large")


def generated_values(size: str, *, artifacts: bool) -> dict[str, Any]:
    """What `floe helm values --size SIZE [--artifacts]` prints, with an image configured."""
    plugin = DagsterOrchestratorPlugin({"user_code_image": "ghcr.io/acme/sales:1.2.0"})
    product = make_artifacts(product_name="sales_analytics") if artifacts else None
    return plugin.get_helm_values(size=size, artifacts=product)


# Drift ----------------------------------------------------------------------------------------
def test_values_schema_json_is_generated_from_the_model() -> None:
    committed = (CHART / "values.schema.json").read_text(encoding="utf-8")
    assert committed == chart_schema_text(), (
        "charts/floe-dagster/values.schema.json drifted from ChartValues; regenerate it with "
        "`python -m floe_orchestrator_dagster.deploy.chart_values charts/floe-dagster`"
    )


def test_values_yaml_is_generated_from_the_model() -> None:
    committed = (CHART / "values.yaml").read_text(encoding="utf-8")
    assert committed == chart_values_text(), (
        "charts/floe-dagster/values.yaml drifted from ChartValues; regenerate it with "
        "`python -m floe_orchestrator_dagster.deploy.chart_values charts/floe-dagster`"
    )
    jsonschema.validate(yaml.safe_load(committed), chart_schema())


def test_app_version_names_a_supported_dagster_release() -> None:
    chart = yaml.safe_load((CHART / "Chart.yaml").read_text(encoding="utf-8"))
    match = re.fullmatch(r"1\.(\d+)\.(\d+)", str(chart["appVersion"]))
    assert match is not None, chart["appVersion"]
    assert 10 <= int(match.group(1)) <= 13  # dagster>=1.10,<1.14 in the adapter's pyproject


# Secure by default: the schema refuses ---------------------------------------------------------
def _with(path: str, value: Any, *, base: dict[str, Any] | None = None) -> dict[str, Any]:
    """``base`` (default: the chart defaults) with ``path`` (dotted; ``[0]`` for a list item)
    set to ``value``; ``None`` deletes the key, as ``null`` does in Helm."""
    values = copy.deepcopy(default_values() if base is None else base)
    values["dagster-user-deployments"]["deployments"] = [{"name": "sales"}]
    parts = [int(p) if p.isdigit() else p for p in re.split(r"\.|\[(\d+)\]", path) if p]
    target: Any = values
    for part in parts[:-1]:
        target = target[part]
    if value is None and base is None:
        del target[parts[-1]]
    else:
        target[parts[-1]] = value
    return values


INSECURE = {
    "a literal database password": ("postgresql.postgresqlPassword", "hunter2"),
    "a generated password Secret": ("generatePostgresqlPasswordSecret", True),
    "root": ("dagsterWebserver.podSecurityContext.runAsUser", 0),
    "runAsNonRoot false": ("dagsterDaemon.securityContext.runAsNonRoot", False),
    "privilege escalation": ("dagsterWebserver.securityContext.allowPrivilegeEscalation", True),
    "a writable root filesystem": ("dagsterDaemon.securityContext.readOnlyRootFilesystem", False),
    "privileged": ("dagsterWebserver.securityContext.privileged", True),
    "added capabilities": ("dagsterWebserver.securityContext.capabilities.add", ["NET_ADMIN"]),
    "capabilities kept": ("dagsterWebserver.securityContext.capabilities.drop", []),
    "no seccomp": ("dagsterDaemon.podSecurityContext.seccompProfile.type", "Unconfined"),
    "a deleted security context": ("dagsterWebserver.securityContext", None),
    "no limits": ("dagsterWebserver.resources.limits", None),
    "no memory request": ("dagsterDaemon.resources.requests.memory", None),
    "run pods without limits": ("runLauncher.config.k8sRunLauncher.resources.limits", None),
    "a code server as root": (
        "dagster-user-deployments.deployments[0].securityContext",
        {"runAsNonRoot": False},
    ),
    "a code server without limits": (
        "dagster-user-deployments.deployments[0].resources",
        {"requests": {"cpu": "1", "memory": "1Gi"}},
    ),
    "no password Secret": ("global.postgresqlSecretName", ""),
    "a bundled database": ("postgresql.enabled", True),
}


@pytest.mark.parametrize(("path", "value"), INSECURE.values(), ids=list(INSECURE))
def test_the_schema_refuses_insecure_values(path: str, value: Any) -> None:
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(_with(path, value), chart_schema())


def test_the_schema_accepts_the_defaults_with_a_minimal_deployment() -> None:
    jsonschema.validate(_with("dagster-user-deployments.enabled", True), chart_schema())


# Rendered manifests (Helm's engine) -------------------------------------------------------------
def _helm() -> Any:
    return pytest.importorskip(
        "helm_python", reason="helm-python-sdk is not installed; `nox -s helm` installs it"
    )


def render(values: dict[str, Any]) -> list[dict[str, Any]]:
    helm = _helm()
    chart = helm.Chart.load(str(CHART))
    manifests = chart.render(values, name="floe-dagster", namespace="data")
    documents: list[dict[str, Any]] = []
    for path, text in sorted(manifests.items()):
        if path.endswith(".yaml"):
            documents += [d for d in yaml.safe_load_all(text) if d]
    return documents


def _pod_specs(documents: list[dict[str, Any]]) -> Iterator[tuple[str, dict[str, Any]]]:
    for doc in documents:
        if doc["kind"] in {"Deployment", "StatefulSet", "DaemonSet", "Job"}:
            yield f"{doc['kind']}/{doc['metadata']['name']}", doc["spec"]["template"]["spec"]


def _instance_config(documents: list[dict[str, Any]]) -> dict[str, Any]:
    (config_map,) = [d for d in documents if d["metadata"]["name"].endswith("-instance")]
    config: dict[str, Any] = yaml.safe_load(config_map["data"]["dagster.yaml"])
    return config


def _release_values() -> list[tuple[str, dict[str, Any]]]:
    cases: list[tuple[str, dict[str, Any]]] = [("defaults", {})]
    cases += [(size, generated_values(size, artifacts=True)) for size in SIZES]
    cases.append(
        (
            "read-only-and-ingress",
            {
                "dagsterWebserver": {"enableReadOnly": True},
                "ingress": {"enabled": True},
                "floe": {
                    "ingress": {
                        "auth": {
                            "type": "oauth2-proxy",
                            "oauth2Proxy": {
                                "authUrl": "https://auth.example.com/oauth2/auth",
                                "signinUrl": "https://auth.example.com/oauth2/start",
                                "editorsAuthUrl": "https://auth.example.com/oauth2/auth?allowed_groups=eng",
                            },
                        }
                    }
                },
            },
        )
    )
    return cases


@pytest.mark.parametrize(
    ("case", "values"), _release_values(), ids=lambda v: v if isinstance(v, str) else ""
)
def test_every_rendered_pod_meets_pod_security_restricted(
    case: str, values: dict[str, Any]
) -> None:
    documents = render(values)
    pods = dict(_pod_specs(documents))
    assert pods, case
    for name, spec in pods.items():
        pod = spec["securityContext"]
        assert pod["runAsNonRoot"] is True, name
        assert pod["runAsUser"] > 0, name
        assert pod["seccompProfile"] == {"type": "RuntimeDefault"}, name
        volumes = {v["name"]: v for v in spec["volumes"]}
        for container in spec.get("initContainers", []) + spec["containers"]:
            where = f"{name}/{container['name']}"
            context = container["securityContext"]
            assert context["runAsNonRoot"] is True, where
            assert context["allowPrivilegeEscalation"] is False, where
            assert context["privileged"] is False, where
            assert context["readOnlyRootFilesystem"] is True, where
            assert context["capabilities"] == {"drop": ["ALL"]}, where
            assert context["seccompProfile"] == {"type": "RuntimeDefault"}, where
            for part in ("requests", "limits"):
                assert set(container["resources"][part]) >= {"cpu", "memory"}, where
            mounts = {m["mountPath"]: m["name"] for m in container["volumeMounts"]}
            assert "emptyDir" in volumes[mounts["/tmp"]], where


@pytest.mark.parametrize(
    ("case", "values"), _release_values(), ids=lambda v: v if isinstance(v, str) else ""
)
def test_the_database_password_comes_only_from_the_existing_secret(
    case: str, values: dict[str, Any]
) -> None:
    documents = render(values)
    assert not [d for d in documents if d["kind"] == "Secret"], case
    for name, spec in _pod_specs(documents):
        for container in spec["containers"]:
            env = {e["name"]: e for e in container["env"]}
            assert env["DAGSTER_PG_PASSWORD"]["valueFrom"]["secretKeyRef"]["name"] == SECRET_NAME
            literal = [n for n, e in env.items() if "PASSWORD" in n and "value" in e]
            assert literal == [], f"{name}: {literal}"
    storage = _instance_config(documents)["storage"]["postgres"]["postgres_db"]
    assert storage["password"] == {"env": "DAGSTER_PG_PASSWORD"}


@pytest.mark.parametrize("size", SIZES)
def test_a_preset_release_has_its_resources_probes_and_code_location(size: str) -> None:
    documents = render(generated_values(size, artifacts=True))
    preset = generated_values(size, artifacts=False)["dagsterWebserver"]["resources"]
    deployments = {d["metadata"]["name"]: d for d in documents if d["kind"] == "Deployment"}
    code = deployments["sales-analytics"]["spec"]["template"]["spec"]["containers"][0]
    web = deployments["floe-dagster-webserver"]["spec"]["template"]["spec"]["containers"][0]
    assert code["resources"] == preset
    assert web["resources"] == preset
    assert code["image"] == "ghcr.io/acme/sales:1.2.0"
    assert code["readinessProbe"]["grpc"] == {"port": 3030, "service": "DagsterApi"}
    assert web["readinessProbe"]["httpGet"]["path"] == "/server_info"
    workspaces = [d for d in documents if d["metadata"]["name"].endswith("-workspace")]
    workspace = yaml.safe_load(workspaces[0]["data"]["workspace.yaml"])
    assert workspace["load_from"] == [
        {
            "grpc_server": {
                "host": "sales-analytics",
                "port": 3030,
                "location_name": "sales-analytics",
            }
        }
    ]
    config = _instance_config(documents)
    assert config["run_launcher"]["config"]["resources"] == preset
    assert config["run_coordinator"]["class"] == "QueuedRunCoordinator"


def test_the_instance_config_is_one_dagster_accepts() -> None:
    from dagster._config import validate_config
    from dagster._core.instance.config import dagster_instance_config_schema

    for values in ({}, {"runLauncher": {"type": "DefaultRunLauncher"}}):
        config = _instance_config(render(values))
        result = validate_config(dagster_instance_config_schema(), config)
        assert result.success, result.errors


def test_read_only_viewers_and_editors_get_their_own_ingress_and_auth() -> None:
    (_, values) = _release_values()[-1]
    ingresses = {d["metadata"]["name"]: d for d in render(values) if d["kind"] == "Ingress"}
    editors = ingresses["floe-dagster-webserver"]["metadata"]["annotations"]
    viewers = ingresses["floe-dagster-webserver-read-only"]["metadata"]["annotations"]
    assert editors["nginx.ingress.kubernetes.io/auth-url"].endswith("allowed_groups=eng")
    assert viewers["nginx.ingress.kubernetes.io/auth-url"].endswith("/oauth2/auth")
    deployments = {d["metadata"]["name"]: d for d in render(values) if d["kind"] == "Deployment"}
    read_only = deployments["floe-dagster-webserver-read-only"]["spec"]["template"]["spec"]
    assert "--read-only" in read_only["containers"][0]["command"]


@pytest.mark.parametrize(
    ("values", "message"),
    [
        ({"ingress": {"enabled": True}}, "no login of its own"),
        ({"dagster-user-deployments": {"deployments": [{"name": "sales"}]}}, "user_code_image"),
    ],
    ids=["ingress-without-auth", "deployment-without-image"],
)
def test_the_templates_refuse_what_the_schema_cannot_express(
    values: dict[str, Any], message: str
) -> None:
    helm = _helm()
    with pytest.raises(helm.HelmRenderError, match=message):
        render(values)


@pytest.mark.parametrize(("path", "value"), INSECURE.values(), ids=list(INSECURE))
def test_helm_refuses_insecure_values(path: str, value: Any) -> None:
    helm = _helm()
    overlay: dict[str, Any] = {
        key: {} for key in ("global", "postgresql", "runLauncher", "dagsterWebserver")
    }
    overlay |= {"dagsterDaemon": {}, "dagster-user-deployments": {"deployments": [{}]}}
    overlay["runLauncher"] = {"config": {"k8sRunLauncher": {"resources": {}}}}
    overlay["dagsterWebserver"] = {
        "securityContext": {"capabilities": {}},
        "podSecurityContext": {},
        "resources": {},
    }
    overlay["dagsterDaemon"] = {
        "securityContext": {},
        "podSecurityContext": {"seccompProfile": {}},
        "resources": {"requests": {}},
    }
    overlay["dagster-user-deployments"]["deployments"] = [
        {"name": "sales", "image": {"repository": "ghcr.io/acme/sales"}}
    ]
    values = _with(path, value, base=overlay)  # None stays: Helm deletes a key set to null
    with pytest.raises(helm.HelmValuesError):
        helm.Chart.load(str(CHART)).render(values, name="floe-dagster", namespace="data")


@pytest.mark.parametrize(
    ("case", "values"), _release_values(), ids=lambda v: v if isinstance(v, str) else ""
)
def test_helm_lint_passes(case: str, values: dict[str, Any]) -> None:
    helm = _helm()
    report = helm.lint(str(CHART), values, strict=True)
    assert report["errors"] == [], (case, report["messages"])


def test_helm_lint_fails_on_a_literal_password() -> None:
    helm = _helm()
    report = helm.lint(str(CHART), {"postgresql": {"postgresqlPassword": "x"}})
    assert any("postgresqlPassword" in error for error in report["errors"])
