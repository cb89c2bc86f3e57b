"""``floe helm values`` (the installed command) prints only values the chart renders.

A code server without an image is what the chart refuses at render time ("has no image"), so
``floe helm values --artifacts`` refuses first, naming both ways to give one: ``--image`` and
``orchestrator.config.user_code_image`` in manifest.yaml.
"""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

from k8s.release import FLOE, IMAGE, ProductImage, documents_named, render

CODE_SERVER = "retail-analytics"


def floe(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(FLOE), *args], cwd=cwd, capture_output=True, text=True, timeout=120, check=False
    )


def _image_of_code_server(values: dict[str, Any]) -> str:
    deployment = documents_named(render(values), "Deployment")[CODE_SERVER]
    image: str = deployment["spec"]["template"]["spec"]["containers"][0]["image"]
    return image


@pytest.fixture
def no_image_manifest(product_image: ProductImage, tmp_path: Path) -> Path:
    """The example's manifest.yaml, which configures no user-code image."""
    config = yaml.safe_load(product_image.manifest.read_text(encoding="utf-8"))
    assert "user_code_image" not in json.dumps(config)
    path = tmp_path / "manifest.yaml"
    path.write_text(yaml.safe_dump(config), encoding="utf-8")
    return path


def test_without_an_image_it_refuses_and_names_both_fixes(
    product_image: ProductImage, no_image_manifest: Path
) -> None:
    args = ("--artifacts", str(product_image.artifacts), "--manifest", str(no_image_manifest))
    done = floe("helm", "values", *args, cwd=no_image_manifest.parent)
    assert done.returncode == 2, done.stderr
    assert done.stdout == ""  # nothing a user could pipe into helm
    assert "--image REPOSITORY[:TAG]" in done.stderr
    assert "orchestrator.config.user_code_image" in done.stderr
    assert "'retail-analytics'" in done.stderr
    machine = floe("helm", "values", *args, "--json", cwd=no_image_manifest.parent)
    assert machine.returncode == 2
    assert json.loads(machine.stderr)["error"]["type"] == "HelmValuesError"


def test_with_image_the_values_render_with_that_image(
    product_image: ProductImage, no_image_manifest: Path
) -> None:
    done = floe(
        "helm", "values", "--artifacts", str(product_image.artifacts),
        "--manifest", str(no_image_manifest), "--image", IMAGE,
        cwd=no_image_manifest.parent,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert _image_of_code_server(yaml.safe_load(done.stdout)) == IMAGE


def test_the_configured_image_is_used_and_image_overrides_it(
    product_image: ProductImage, tmp_path: Path
) -> None:
    manifest = tmp_path / "manifest.yaml"
    manifest.write_text(
        "orchestrator:\n  type: dagster\n  config:\n"
        "    user_code_image: registry.example.com:5000/acme/retail:7\n",
        encoding="utf-8",
    )
    base = ("helm", "values", "--artifacts", str(product_image.artifacts), "--json")
    configured = floe(*base, "--manifest", str(manifest), cwd=tmp_path)
    assert configured.returncode == 0, configured.stderr
    assert _image_of_code_server(json.loads(configured.stdout)) == (
        "registry.example.com:5000/acme/retail:7"
    )
    given = floe(*base, "--manifest", str(manifest), "--image", IMAGE, cwd=tmp_path)
    assert given.returncode == 0, given.stderr
    assert _image_of_code_server(json.loads(given.stdout)) == IMAGE


@pytest.mark.parametrize(
    ("args", "needle"),
    [
        (("--image", IMAGE), "--artifacts PATH"),
        (("--image", "ghcr.io/acme/retail@sha256:0", "--artifacts", "{artifacts}"), "digests"),
    ],
    ids=["image-without-artifacts", "image-with-a-digest"],
)
def test_a_bad_image_request_is_refused(
    args: tuple[str, ...], needle: str, product_image: ProductImage, no_image_manifest: Path
) -> None:
    filled = [a.format(artifacts=product_image.artifacts) for a in args]
    done = floe(
        "helm",
        "values",
        *filled,
        "--manifest",
        str(no_image_manifest),
        cwd=no_image_manifest.parent,
    )
    assert done.returncode == 2
    assert done.stdout == ""
    assert needle in done.stderr
