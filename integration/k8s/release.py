"""A release of ``charts/floe-dagster`` as a cluster would receive it, made without a cluster.

- :func:`build_product_image` lays out what the guide's user-code image holds (the example
  product ``examples/retail-analytics`` parsed by real dbt, compiled by ``floe compile``, the
  guide's ``definitions.py`` and a ``manifest.yaml``) in a folder that plays the image's
  working directory.
- :func:`floe_helm_values` runs the installed ``floe helm values`` and returns what it printed.
- :func:`render` renders the chart with Helm's engine (``helm-python-sdk``, offline, as
  ``helm template`` does) and returns every manifest as a dict.
- :func:`pod_templates` finds every pod spec in the manifests: Pods and anything with a pod
  template (Deployments, Jobs, CronJobs' job templates, StatefulSets...).
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml
from kubernetes_validate.utils import all_versions  # type: ignore[import-untyped]
from packaging.version import Version

from harness import PG_HOST, PG_PORT

__all__ = [
    "CHART",
    "FLOE",
    "IMAGE",
    "MINORS",
    "OLDEST",
    "PG_HOST",
    "PG_PORT",
    "RELEASES",
    "SIZES",
    "ProductImage",
    "build_product_image",
    "documents_named",
    "floe_helm_values",
    "pod_templates",
    "render",
    "render_templates",
    "site_values",
]

ROOT = Path(__file__).resolve().parents[2]
CHART = ROOT / "charts" / "floe-dagster"
EXAMPLE = ROOT / "examples" / "retail-analytics"
BIN = Path(sys.executable).parent
FLOE = BIN / "floe"
SIZES = ("small", "medium", "large")
#: The user-code image the release names (never pulled: nothing here runs a container).
IMAGE = "ghcr.io/floe-examples/retail-analytics:1.0.0"
RELEASE = "floe-dagster"
NAMESPACE = "data"
#: The oldest Kubernetes minor the chart claims (Chart.yaml kubeVersion).
OLDEST = Version("1.29")
#: Every Kubernetes minor from OLDEST to the newest the installed kubernetes-validate ships.
MINORS = sorted(
    {f"{v.major}.{v.minor}" for v in map(Version, all_versions()) if v >= OLDEST}, key=Version
)
#: The releases checked (values made by the `releases` fixture of conftest.py).
RELEASES = ("defaults", "small", "medium", "large", "every-option", "every-option-default-launcher")

#: The code location the guide (docs/guides/dagster.md) puts in the image as definitions.py.
DEFINITIONS_PY = """\
from floe_orchestration_core.artifacts import load_artifacts
from floe_registry.platform import load_platform

defs = load_platform("manifest.yaml").orchestrator.create_definitions(
    load_artifacts("compiled_artifacts.json")
)
"""


@dataclass(frozen=True)
class ProductImage:
    """The working directory of the user-code image: the product, compiled."""

    workdir: Path

    @property
    def artifacts(self) -> Path:
        return self.workdir / "compiled_artifacts.json"

    @property
    def manifest(self) -> Path:
        return self.workdir / "manifest.yaml"


def _run(command: list[str], cwd: Path, timeout: float = 300) -> str:
    done = subprocess.run(
        command, cwd=cwd, capture_output=True, text=True, timeout=timeout, check=False
    )
    if done.returncode != 0:
        raise AssertionError(
            f"{' '.join(command)} exited with {done.returncode}\n{done.stdout[-3000:]}\n"
            f"{done.stderr[-3000:]}"
        )
    return done.stdout


def build_product_image(destination: Path) -> ProductImage:
    """Copy the example product to ``destination``, ``dbt parse`` it, ``floe compile`` it and
    add the guide's ``definitions.py``: the folder the code server runs in."""
    workdir = destination / "opt-floe"
    shutil.copytree(
        EXAMPLE, workdir, ignore=shutil.ignore_patterns(".floe", "target", "output", "logs")
    )
    quiet = ["--quiet", "--no-send-anonymous-usage-stats", "--no-version-check"]
    _run([str(BIN / "dbt"), *quiet, "parse", "--project-dir", ".", "--profiles-dir", "."], workdir)
    compile_args = ["--dbt-manifest", "target/manifest.json", "--product", "floe.yaml"]
    _run([str(FLOE), "compile", *compile_args, "-o", "compiled_artifacts.json"], workdir)
    (workdir / "definitions.py").write_text(DEFINITIONS_PY, encoding="utf-8")
    return ProductImage(workdir=workdir)


def floe_helm_values(*args: str, cwd: Path) -> dict[str, Any]:
    """``floe helm values ARGS --json`` through the installed command; what it printed."""
    values: dict[str, Any] = json.loads(_run([str(FLOE), "helm", "values", *args, "--json"], cwd))
    return values


def _helm() -> Any:
    import helm_python

    return helm_python


def render_templates(values: Mapping[str, Any]) -> dict[str, list[dict[str, Any]]]:
    """The manifests each template of the chart renders with ``values`` (over its defaults),
    by template file name; Helm's own schema and template checks apply."""
    chart = _helm().Chart.load(str(CHART))
    manifests: dict[str, str] = chart.render(dict(values), name=RELEASE, namespace=NAMESPACE)
    return {
        Path(path).name: [d for d in yaml.safe_load_all(text) if d]
        for path, text in sorted(manifests.items())
        if path.endswith((".yaml", ".yml"))
    }


def render(values: Mapping[str, Any]) -> list[dict[str, Any]]:
    """Every manifest of the chart rendered with ``values``, in template order."""
    return [d for documents in render_templates(values).values() for d in documents]


def documents_named(documents: list[dict[str, Any]], kind: str) -> dict[str, dict[str, Any]]:
    """The manifests of ``kind`` by name."""
    return {d["metadata"]["name"]: d for d in documents if d["kind"] == kind}


def _templates(node: Any) -> Iterator[dict[str, Any]]:
    """Every ``template`` below ``node`` whose spec has containers: pod templates at any
    depth (a Deployment's, a CronJob's job template's)."""
    if isinstance(node, Mapping):
        for key, value in node.items():
            if (
                key == "template"
                and isinstance(value, Mapping)
                and "containers" in value.get("spec", {})
            ):
                yield dict(value)
            else:
                yield from _templates(value)
    elif isinstance(node, list):
        for item in node:
            yield from _templates(item)


def pod_templates(
    documents: list[dict[str, Any]],
) -> Iterator[tuple[str, dict[str, Any], dict[str, Any]]]:
    """``(kind/name, pod metadata, pod spec)`` of every Pod and every pod template."""
    for document in documents:
        where = f"{document['kind']}/{document['metadata']['name']}"
        if document["kind"] == "Pod":
            yield where, document["metadata"], document["spec"]
            continue
        for template in _templates(document.get("spec", {})):
            yield where, template.get("metadata", {}), template["spec"]


def site_values(database: str) -> dict[str, Any]:
    """The guide's site values (PostgreSQL, step 3), pointed at the local server's
    ``database`` as user ``postgres`` (trust authentication: any password is accepted)."""
    return {
        "postgresql": {
            "postgresqlHost": PG_HOST,
            "postgresqlUsername": "postgres",
            "postgresqlDatabase": database,
            "service": {"port": PG_PORT},
        }
    }
