"""The adapter's Definitions load in a real ``dagster-webserver``; GraphQL shows the product.

Each test starts ``dagster-webserver`` on a free port with a code location whose ``defs`` is
``DagsterOrchestratorPlugin().create_definitions(load_artifacts(...))`` over artifacts
compiled from a manifest that real ``dbt parse`` wrote, queries ``/graphql`` and stops the
server's whole process group. Nothing is mocked.
"""

from __future__ import annotations

import shutil
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

import pytest

from floe_orchestration_core.artifacts import (
    CompiledArtifacts,
    QualityCheck,
    Severity,
    load_artifacts,
)
from harness import (
    DagsterWebserver,
    ProductCopy,
    asset_key_string,
    compile_product,
    group_alive,
    write_code_location,
)

pytestmark = pytest.mark.slow

#: The product's asset graph, written out by hand from dagster_product's SQL: every asset
#: (seeds, the landing.payments source, models) and exactly the assets it reads.
EXPECTED_DEPENDENCIES: dict[str, set[str]] = {
    "raw_customers": set(),
    "raw_orders": set(),
    "landing/payments": set(),
    "stg_customers": {"raw_customers"},
    "stg_orders": {"raw_orders"},
    "stg_payments": {"landing/payments"},
    "orders": {"stg_orders", "stg_payments"},
    "customers": {"stg_customers", "orders"},
    "order_status_counts": {"stg_orders"},
}
MARTS = {"orders", "customers", "order_status_counts"}

_ASSET_NODES = """
query AssetNodes {
  assetNodes {
    assetKey { path }
    dependencyKeys { path }
    isMaterializable
    groupName
    jobNames
    requiredResources { resourceKey }
    assetChecksOrError {
      __typename
      ... on AssetChecks { checks { name blocking } }
    }
  }
}
"""

_SCHEDULES = """
query Schedules {
  repositoriesOrError {
    __typename
    ... on RepositoryConnection {
      nodes { name schedules { name cronSchedule executionTimezone pipelineName } }
    }
  }
}
"""


def _serve(artifacts_path: Path, root: Path) -> DagsterWebserver:
    code_location = write_code_location(artifacts_path, root / "floe_definitions.py")
    # No DuckDB path in the environment: loading definitions must not need the warehouse.
    return DagsterWebserver(code_location, dagster_home=root / "dagster_home")


@pytest.fixture(scope="module")
def served_product(
    parsed_product: ProductCopy, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[DagsterWebserver, CompiledArtifacts]]:
    """The webserver serving the product, compiled where its dbt project is."""
    root = tmp_path_factory.mktemp("webserver")
    artifacts_path = compile_product(parsed_product, root / "compiled_artifacts.json")
    with _serve(artifacts_path, root) as server:
        yield server, load_artifacts(artifacts_path)
        group = server.process_group
    assert not group_alive(group), "dagster-webserver left processes behind"


def _asset_nodes(server: DagsterWebserver) -> dict[str, dict[str, Any]]:
    nodes = server.graphql(_ASSET_NODES)["assetNodes"]
    by_key = {asset_key_string(node["assetKey"]["path"]): node for node in nodes}
    assert len(by_key) == len(nodes), "an asset key is listed twice"
    return by_key


def _dependencies(nodes: dict[str, dict[str, Any]]) -> dict[str, set[str]]:
    return {
        key: {asset_key_string(dep["path"]) for dep in node["dependencyKeys"]}
        for key, node in nodes.items()
    }


def test_graphql_lists_every_asset_with_exactly_its_dependencies(
    served_product: tuple[DagsterWebserver, CompiledArtifacts],
) -> None:
    server, artifacts = served_product
    nodes = _asset_nodes(server)
    assert _dependencies(nodes) == EXPECTED_DEPENDENCIES

    # The same graph the core compiled from the manifest, so the table above is not stale.
    from_artifacts = {
        t.name: {*t.depends_on, *(s.replace(".", "/") for s in t.source_dependencies)}
        for t in artifacts.transforms
    } | {s.key.replace(".", "/"): set() for s in artifacts.sources}
    assert from_artifacts == EXPECTED_DEPENDENCIES

    materializable = {key for key, node in nodes.items() if node["isMaterializable"]}
    assert materializable == set(EXPECTED_DEPENDENCIES) - {"landing/payments"}


def test_each_model_runs_on_the_dbt_resource_of_its_compute_target(
    served_product: tuple[DagsterWebserver, CompiledArtifacts],
) -> None:
    server, artifacts = served_product
    nodes = _asset_nodes(server)
    for transform in artifacts.transforms:
        resources = {r["resourceKey"] for r in nodes[transform.name]["requiredResources"]}
        assert f"dbt_{transform.compute}" in resources, (transform.name, resources)
        others = {f"dbt_{c.name}" for c in artifacts.compute_targets} - {f"dbt_{transform.compute}"}
        assert not resources & others, (transform.name, resources)
    heavy = {t.name for t in artifacts.transforms if t.compute == "duckdb_heavy"}
    assert heavy == {"orders", "customers"}  # floe.yaml: "orders+"


def _listed_checks(server: DagsterWebserver) -> set[tuple[str, str, bool]]:
    """(asset key, check name, blocking) of every asset check the webserver lists."""
    return {
        (key, check["name"], check["blocking"])
        for key, node in _asset_nodes(server).items()
        if node["assetChecksOrError"]["__typename"] == "AssetChecks"
        for check in node["assetChecksOrError"]["checks"]
    }


def _expected_checks(
    owners: Iterable[tuple[str, Iterable[QualityCheck]]],
) -> set[tuple[str, str, bool]]:
    return {
        (owner, check.name, check.severity == Severity.ERROR)
        for owner, checks in owners
        for check in checks
    }


def test_dbt_tests_are_asset_checks_and_only_error_severity_ones_block(
    served_product: tuple[DagsterWebserver, CompiledArtifacts],
) -> None:
    server, artifacts = served_product
    listed = _listed_checks(server)
    expected = _expected_checks(
        [
            *((t.name, t.quality_checks) for t in artifacts.transforms),
            *((s.key.replace(".", "/"), s.quality_checks) for s in artifacts.sources),
        ]
    )
    assert listed == expected
    assert len(listed) == 16
    assert ("stg_customers", "not_null_stg_customers_email", False) in listed  # warn
    assert (
        "stg_payments",
        "accepted_values_stg_payments_payment_method__credit_card__coupon__bank_transfer",
        True,
    ) in listed
    assert ("orders", "assert_order_amounts_not_negative", True) in listed  # singular
    assert ("landing/payments", "source_unique_landing_payments_id", True) in listed  # source


def test_the_floe_schedule_is_served_and_targets_the_marts(
    served_product: tuple[DagsterWebserver, CompiledArtifacts],
) -> None:
    server, _ = served_product
    repositories = server.graphql(_SCHEDULES)["repositoriesOrError"]
    assert repositories["__typename"] == "RepositoryConnection", repositories
    schedules = [s for repo in repositories["nodes"] for s in repo["schedules"]]
    (schedule,) = (s for s in schedules if s["name"] == "daily_marts")
    assert (schedule["cronSchedule"], schedule["executionTimezone"]) == (
        "0 6 * * *",
        "Europe/Paris",
    )
    job = schedule["pipelineName"]
    targeted = {key for key, node in _asset_nodes(server).items() if job in node["jobNames"]}
    assert targeted == MARTS


def test_definitions_load_from_the_manifest_alone(
    parsed_product: ProductCopy, tmp_path: Path
) -> None:
    """CI validating a product without its warehouse: only manifest.json and floe.yaml are
    checked out, the dbt project directory does not exist, and no DuckDB path is set."""
    checkout = tmp_path / "checkout"
    (checkout / "target").mkdir(parents=True)
    shutil.copy2(parsed_product.manifest_path, checkout / "target" / "manifest.json")
    shutil.copy2(parsed_product.floe_yaml, checkout / "floe.yaml")
    manifest_only = ProductCopy(project_dir=checkout, duckdb_path=tmp_path / "unused.duckdb")
    missing = tmp_path / "dbt_project_not_checked_out"
    artifacts_path = compile_product(
        manifest_only, tmp_path / "compiled_artifacts.json", project_dir=missing
    )
    assert load_artifacts(artifacts_path).dbt.project_dir == str(missing)

    server = _serve(artifacts_path, tmp_path)
    with server:
        assert _dependencies(_asset_nodes(server)) == EXPECTED_DEPENDENCIES
        group = server.process_group
    assert not group_alive(group), "dagster-webserver left processes behind"
