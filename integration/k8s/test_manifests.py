"""Every manifest the chart renders validates against the Kubernetes OpenAPI schemas, strictly.

The schemas are the ones ``kubernetes-validate`` ships (offline), in their *strict* variant:
an unknown field is an error (``additionalProperties: false``), as ``kubectl apply
--validate=strict`` makes it. Each release (defaults, the three presets of ``floe helm
values``, every optional template on) is checked against every Kubernetes minor release from
1.29 (the chart's ``kubeVersion``) to the newest one the validator ships.
"""

from __future__ import annotations

import copy
import re
from typing import Any

import kubernetes_validate  # type: ignore[import-untyped]
import pytest
import yaml
from packaging.version import Version

from k8s.release import (
    CHART,
    MINORS,
    OLDEST,
    RELEASES,
    documents_named,
    render,
    render_templates,
)


def validate(document: dict[str, Any], minor: str) -> None:
    """Strict validation for Kubernetes ``minor``; the validator must use that minor's schema
    (it silently falls back to an older one for a version it lacks)."""
    used = kubernetes_validate.validate(document, f"{minor}.0", strict=True)
    assert used == minor, f"validated against {used}, not {minor}"


def _problem(document: dict[str, Any], minor: str) -> str | None:
    try:
        validate(document, minor)
    except kubernetes_validate.ValidationError as exc:
        path = ".".join(str(p) for p in exc.path)
        return f"{document['kind']}/{document['metadata']['name']} @ {minor}: {path}: {exc.message}"
    return None


def test_the_validator_ships_every_minor_from_the_oldest_claimed_to_1_37() -> None:
    numbers = [Version(m).minor for m in MINORS]
    assert numbers == list(range(29, numbers[-1] + 1)), MINORS
    assert numbers[-1] >= 37, f"kubernetes-validate ships up to {MINORS[-1]}; pin a newer one"


def test_the_charts_kube_version_claims_the_oldest_minor_we_validate() -> None:
    chart = yaml.safe_load((CHART / "Chart.yaml").read_text(encoding="utf-8"))
    match = re.fullmatch(r">=\s*(\d+)\.(\d+)\.0-0", chart["kubeVersion"])
    assert match is not None, chart["kubeVersion"]
    assert Version(f"{match.group(1)}.{match.group(2)}") == OLDEST


@pytest.mark.parametrize("case", RELEASES)
def test_every_manifest_validates_strictly_for_every_kubernetes_minor(
    case: str, releases: dict[str, dict[str, Any]]
) -> None:
    documents = render(releases[case])
    assert len(documents) >= 10, [d["kind"] for d in documents]
    problems = [p for d in documents for m in MINORS if (p := _problem(d, m)) is not None]
    assert problems == [], "\n".join(problems)


def test_every_template_is_rendered_by_some_release(releases: dict[str, dict[str, Any]]) -> None:
    """An optional template that no release switches on would go unvalidated."""
    rendered = {
        template
        for case in RELEASES
        for template, documents in render_templates(releases[case]).items()
        if documents
    }
    templates = {p.name for p in (CHART / "templates").glob("*.yaml")}
    assert templates - rendered == set()


# The validation is strict: unknown fields and wrong types fail -------------------------------
def _webserver(releases: dict[str, dict[str, Any]]) -> dict[str, Any]:
    return copy.deepcopy(
        documents_named(render(releases["medium"]), "Deployment")["floe-dagster-webserver"]
    )


@pytest.mark.parametrize(
    ("where", "field"),
    [("container", "securityContexts"), ("pod", "hostNetwrok"), ("deployment", "replica")],
)
def test_an_unknown_field_is_refused(
    where: str, field: str, releases: dict[str, dict[str, Any]]
) -> None:
    deployment = _webserver(releases)
    target = {
        "container": deployment["spec"]["template"]["spec"]["containers"][0],
        "pod": deployment["spec"]["template"]["spec"],
        "deployment": deployment["spec"],
    }[where]
    target[field] = True
    # The lenient schemas let it through; only strict validation refuses it.
    kubernetes_validate.validate(deployment, f"{MINORS[-1]}.0", strict=False)
    for minor in (MINORS[0], MINORS[-1]):
        with pytest.raises(kubernetes_validate.ValidationError, match=field):
            validate(deployment, minor)


def test_a_wrong_type_is_refused(releases: dict[str, dict[str, Any]]) -> None:
    deployment = _webserver(releases)
    deployment["spec"]["template"]["spec"]["containers"][0]["ports"][0]["containerPort"] = "3000"
    with pytest.raises(kubernetes_validate.ValidationError, match="'3000' is not of type"):
        validate(deployment, MINORS[0])
