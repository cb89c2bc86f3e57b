"""Fixtures of the Kubernetes checks: the compiled example product and the releases rendered
from it, and a PostgreSQL database of the test's own.

Releases: the chart's defaults, ``floe helm values --size SIZE --artifacts --image`` of each
preset, and two releases with every optional template switched on (one per run launcher), so
that every template the chart has is rendered at least once.
"""

from __future__ import annotations

from collections.abc import Callable
from contextlib import AbstractContextManager
from typing import Any

import pytest

from harness import postgres_database as fresh_postgres_database
from k8s.release import (
    IMAGE,
    SIZES,
    ProductImage,
    build_product_image,
    floe_helm_values,
)

_SCHEDULING = {
    "nodeSelector": {"kubernetes.io/os": "linux"},
    "tolerations": [
        {"key": "dedicated", "operator": "Equal", "value": "data", "effect": "NoSchedule"}
    ],
    "affinity": {
        "nodeAffinity": {
            "preferredDuringSchedulingIgnoredDuringExecution": [
                {
                    "weight": 1,
                    "preference": {
                        "matchExpressions": [{"key": "pool", "operator": "In", "values": ["data"]}]
                    },
                }
            ]
        }
    },
    "labels": {"team": "data"},
    "annotations": {"example.com/owner": "data"},
    "env": {"TZ": "UTC"},
    "envConfigMaps": [{"name": "warehouse-settings"}],
    "envSecrets": [{"name": "warehouse-credentials"}],
}


def _every_option(launcher: str) -> dict[str, Any]:
    """Values that switch on every optional part of the chart."""
    return {
        "imagePullSecrets": [{"name": "registry-credentials"}],
        "dagsterWebserver": {"enableReadOnly": True, "pathPrefix": "/dagster", **_SCHEDULING},
        "dagsterDaemon": {
            **_SCHEDULING,
            "runCoordinator": {
                "config": {
                    "queuedRunCoordinator": {
                        "tagConcurrencyLimits": [
                            {"key": "dbt_target", "value": "prod", "limit": 2},
                            {"key": "heavy", "limit": 1},
                        ]
                    }
                }
            },
        },
        "dagster-user-deployments": {
            "deployments": [
                {
                    "name": "sales",
                    "image": {
                        "repository": "ghcr.io/acme/sales",
                        "tag": "1.2.0",
                        "pullPolicy": "Always",
                    },
                    **_SCHEDULING,
                },
                {
                    "name": "marketing",
                    "port": 4040,
                    "image": {
                        "repository": "ghcr.io/acme/mkt",
                        "tag": "2",
                        "pullPolicy": "IfNotPresent",
                    },
                },
            ]
        },
        "postgresql": {"postgresqlParams": {"sslmode": "require"}},
        "runLauncher": {
            "type": launcher,
            "config": {
                "k8sRunLauncher": {
                    "jobNamespace": "runs",
                    "envConfigMaps": [{"name": "warehouse-settings"}],
                    "envSecrets": [{"name": "warehouse-credentials"}],
                    "labels": {"team": "data"},
                    "failPodOnRunFailure": True,
                }
            },
        },
        "ingress": {
            "enabled": True,
            "annotations": {"example.com/ingress": "yes"},
            "dagsterWebserver": {
                "host": "dagster.example.com",
                "tls": {"enabled": True, "secretName": "dagster-tls"},
            },
            "readOnlyDagsterWebserver": {"host": "dagster-view.example.com"},
        },
        "floe": {
            "ingress": {
                "className": "nginx",
                "auth": {
                    "type": "basic",
                    "basic": {"existingSecret": "viewers", "editorsExistingSecret": "editors"},
                },
            },
            "networkPolicy": {
                "webserverIngressFrom": [
                    {"namespaceSelector": {"matchLabels": {"name": "ingress"}}}
                ]
            },
        },
        "serviceAccount": {
            "annotations": {"eks.amazonaws.com/role-arn": "arn:aws:iam::1:role/dagster"}
        },
    }


@pytest.fixture(scope="session")
def product_image(tmp_path_factory: pytest.TempPathFactory) -> ProductImage:
    """examples/retail-analytics parsed by dbt and compiled by floe, as the image holds it."""
    return build_product_image(tmp_path_factory.mktemp("image"))


@pytest.fixture(scope="session")
def releases(product_image: ProductImage) -> dict[str, dict[str, Any]]:
    """Values of each release by case name (see the module docstring)."""
    cases: dict[str, dict[str, Any]] = {"defaults": {}}
    for size in SIZES:
        cases[size] = floe_helm_values(
            "--size", size, "--artifacts", str(product_image.artifacts), "--image", IMAGE,
            cwd=product_image.workdir,
        )  # fmt: skip
    cases["every-option"] = _every_option("K8sRunLauncher")
    cases["every-option-default-launcher"] = _every_option("DefaultRunLauncher")
    return cases


@pytest.fixture
def postgres_database() -> Callable[[], AbstractContextManager[str]]:
    """A factory of fresh databases on 127.0.0.1:5432 (trust auth), each dropped on exit."""
    return lambda: fresh_postgres_database("floe_k8s")
