"""Helm values for floe's ``charts/floe-dagster`` (and the official Dagster chart).

The values are an *overlay* on the chart's own ``values.yaml`` (``helm install -f``), keyed
exactly as the official chart (``helm/dagster/values.schema.json`` and its
``dagster-user-deployments`` subchart schema; the test suite checks every emitted key and
its type against both, and lints ``charts/floe-dagster`` with the result):

- ``dagsterWebserver.resources``, ``dagsterDaemon.resources`` and
  ``runLauncher.config.k8sRunLauncher.resources`` (the pods that execute runs): the size's
  :class:`~floe_orchestration_core.resources.ResourceSpec` as a Kubernetes ``resources``
  block;
- with artifacts, ``dagster-user-deployments``: enabled, with one deployment (the product's
  gRPC code server) named after the product as a DNS-1123 label, on the chart's gRPC port
  3030, loading ``definitions.py`` from the image's working directory
  (``dagsterApiGrpcArgs``), with the same resources and its ``image``: the one given
  (``floe helm values --image``), else the adapter setting ``user_code_image``. Without
  either, :class:`HelmValuesError` says how to give one: a deployment without an image is
  what both charts refuse to render.

Each value is either derived from the arguments or the
chart's documented default.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any

from floe_orchestrator_dagster.config import split_image_reference
from floe_orchestrator_dagster.errors import HelmValuesError

if TYPE_CHECKING:
    from floe_orchestration_core.artifacts import CompiledArtifacts
    from floe_orchestration_core.resources import ResourceSpec

__all__ = [
    "USER_CODE_ARGS",
    "USER_CODE_PORT",
    "build_helm_values",
    "deployment_name",
    "image_values",
]

#: The gRPC port of a user-code deployment in the official chart's defaults.
USER_CODE_PORT = 3030
#: ``dagster api grpc`` arguments of the code server: the code location file in the image's
#: working directory (``docs/guides/deploy-kubernetes.md`` shows the image).
USER_CODE_ARGS = ("--python-file", "definitions.py")
#: Kubernetes names derived from the deployment name get suffixes; 40 leaves room for them.
_MAX_NAME = 40
_NOT_DNS = re.compile(r"[^a-z0-9-]+")


def deployment_name(product_name: str) -> str:
    """The user-code deployment name for ``product_name``: a lowercase DNS-1123 label.

    Characters other than letters, digits and ``-`` become ``-``; the result is at most 40
    characters and starts and ends with a letter or digit.

    >>> deployment_name("Sales_Analytics.v2")
    'sales-analytics-v2'
    """
    label = _NOT_DNS.sub("-", product_name.lower()).strip("-")[:_MAX_NAME].rstrip("-")
    if not label:
        raise HelmValuesError(
            f"product name {product_name!r} has no letter or digit to name a Kubernetes "
            "deployment after; rename the product, e.g. 'sales_analytics'"
        )
    return label


def image_values(image: str) -> dict[str, str]:
    """The chart's image block for ``repository[:tag]`` (pull policy ``IfNotPresent``).

    >>> image_values("ghcr.io/acme/sales:1.2.0")
    {'repository': 'ghcr.io/acme/sales', 'tag': '1.2.0', 'pullPolicy': 'IfNotPresent'}
    """
    repository, tag = split_image_reference(image)
    if tag is None:
        return {"repository": repository, "pullPolicy": "IfNotPresent"}
    return {"repository": repository, "tag": tag, "pullPolicy": "IfNotPresent"}


def build_helm_values(
    *,
    size: str,
    resources: ResourceSpec,
    artifacts: CompiledArtifacts | None,
    image: str | None = None,
) -> dict[str, Any]:
    """Values for the official Dagster chart at ``size`` (see the module docstring).

    ``image`` (``repository[:tag]``) is the user-code image; it is only used together with
    ``artifacts``, which name the deployment. The result is JSON-serialisable.
    """
    # A fresh block per workload: no two parts of the result share (and can mutate) one.
    values: dict[str, Any] = {
        "dagsterWebserver": {"resources": resources.to_kubernetes()},
        "dagsterDaemon": {"resources": resources.to_kubernetes()},
        "runLauncher": {"config": {"k8sRunLauncher": {"resources": resources.to_kubernetes()}}},
    }
    if artifacts is None:
        if image is not None:
            raise HelmValuesError(
                "an image was given without artifacts: the user-code deployment is named "
                "after the product, so pass the product's CompiledArtifacts too "
                "(`floe helm values --artifacts PATH`)"
            )
        return values
    name = deployment_name(artifacts.metadata.product_name)
    if image is None:
        raise HelmValuesError(
            f"the code server of product '{artifacts.metadata.product_name}' (deployment "
            f"'{name}') needs a user-code image, and none was given: pass one with "
            "`floe helm values --image REPOSITORY[:TAG]`, or set it in manifest.yaml as "
            "orchestrator.config.user_code_image (the dagster orchestrator's config), e.g. "
            "'ghcr.io/acme/sales:1.2.0'; the chart refuses to render a code server without one"
        )
    deployment: dict[str, Any] = {
        "name": name,
        "port": USER_CODE_PORT,
        "dagsterApiGrpcArgs": list(USER_CODE_ARGS),
        "resources": resources.to_kubernetes(),
        "image": image_values(image),
    }
    values["dagster-user-deployments"] = {"enabled": True, "deployments": [deployment]}
    return values
