"""The product is materialized through Dagster: real ``dbt build`` on a real DuckDB file.

One module-scoped pair of runs of the adapter's implicit asset job, on one Dagster instance:

1. all source rows valid: every seed and model materializes, every dbt test is a recorded
   asset-check evaluation, the warn-severity test is recorded as a failed *warning*;
2. a payment with an unknown method is loaded: ``stg_payments``' error-severity
   ``accepted_values`` check fails, ``orders`` and ``customers`` (downstream, on the other
   compute target) are blocked, and assets that do not read payments still materialize.

Then: artifacts whose dbt project is absent build definitions, and running them fails with
``DbtProjectMissingError`` naming the folder.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import dagster as dg
import duckdb
import pytest

from floe_orchestration_core.artifacts import CompiledArtifacts, load_artifacts
from floe_orchestrator_dagster.errors import DbtProjectMissingError
from floe_orchestrator_dagster.plugin import DagsterOrchestratorPlugin
from harness import (
    BAD_PAYMENT,
    GOOD_PAYMENTS,
    ProductCopy,
    asset_key_string,
    compile_product,
    path_with_venv,
    write_landing_payments,
)

pytestmark = pytest.mark.slow

SEEDS_AND_MODELS = {
    "raw_customers",
    "raw_orders",
    "stg_customers",
    "stg_orders",
    "stg_payments",
    "orders",
    "customers",
    "order_status_counts",
}
BLOCKED = {"orders", "customers"}  # downstream of stg_payments
FAILING_CHECK = "accepted_values_stg_payments_payment_method__credit_card__coupon__bank_transfer"
WARN_CHECK = "not_null_stg_customers_email"


@dataclass(frozen=True)
class ShopRuns:
    product: ProductCopy
    artifacts: CompiledArtifacts
    instance: dg.DagsterInstance
    passing: dg.ExecuteInProcessResult
    failing: dg.ExecuteInProcessResult
    customers_after_passing: list[tuple[Any, ...]]
    orders_after_failing: list[tuple[Any, ...]]


def _rows(duckdb_path: Path, query: str) -> list[tuple[Any, ...]]:
    with duckdb.connect(str(duckdb_path), read_only=True) as connection:
        return connection.execute(query).fetchall()


def _materialized(result: dg.ExecuteInProcessResult) -> set[str]:
    return {
        asset_key_string(event.asset_key.path)
        for event in result.get_asset_materialization_events()
        if event.asset_key is not None
    }


def _evaluations(result: dg.ExecuteInProcessResult) -> dict[str, dg.AssetCheckEvaluation]:
    evaluations = result.get_asset_check_evaluations()
    by_name = {evaluation.check_name: evaluation for evaluation in evaluations}
    assert len(by_name) == len(evaluations), "a check was evaluated twice in one run"
    return by_name


def _expected_checks(artifacts: CompiledArtifacts) -> set[str]:
    """Every dbt test of the product: on transforms and on sources."""
    on_transforms = {check.name for t in artifacts.transforms for check in t.quality_checks}
    on_sources = {check.name for s in artifacts.sources for check in s.quality_checks}
    return on_transforms | on_sources


def _check_owner(artifacts: CompiledArtifacts, name: str) -> str:
    for transform in artifacts.transforms:
        if any(check.name == name for check in transform.quality_checks):
            return transform.name
    for source in artifacts.sources:
        if any(check.name == name for check in source.quality_checks):
            return source.key.replace(".", "/")
    raise AssertionError(f"no quality check named {name!r} in the artifacts")


@pytest.fixture(scope="module")
def shop_runs(
    fresh_product: Callable[[], ProductCopy], tmp_path_factory: pytest.TempPathFactory
) -> Iterator[ShopRuns]:
    product = fresh_product()
    root = tmp_path_factory.mktemp("materialize")
    artifacts = load_artifacts(compile_product(product, root / "compiled_artifacts.json"))
    with dg.DagsterInstance.ephemeral(tempdir=str(root / "dagster_home")) as instance:
        # dbt (run by dagster-dbt in a subprocess) reads the DuckDB path from the environment.
        with pytest.MonkeyPatch.context() as patch:
            patch.setenv("PATH", path_with_venv())
            for name, value in product.environment().items():
                patch.setenv(name, value)
            definitions = DagsterOrchestratorPlugin().create_definitions(artifacts)
            job = definitions.resolve_implicit_global_asset_job_def()
            passing = job.execute_in_process(instance=instance, raise_on_error=False)
            customers = _rows(
                product.duckdb_path,
                "select customer_id, order_count, lifetime_value from main.customers order by 1",
            )
            write_landing_payments(product.duckdb_path, (*GOOD_PAYMENTS, BAD_PAYMENT))
            failing = job.execute_in_process(instance=instance, raise_on_error=False)
        orders = _rows(product.duckdb_path, "select order_id, amount from main.orders order by 1")
        yield ShopRuns(product, artifacts, instance, passing, failing, customers, orders)


# The passing run ------------------------------------------------------------------------------
def test_every_seed_and_model_is_materialized_and_the_run_succeeds(shop_runs: ShopRuns) -> None:
    assert shop_runs.passing.success, shop_runs.passing.get_step_failure_events()
    assert _materialized(shop_runs.passing) == SEEDS_AND_MODELS


def test_dbt_runs_with_the_threads_of_each_compute_target(shop_runs: ShopRuns) -> None:
    # floe.yaml gives duckdb 3 and duckdb_heavy 4 threads; profiles.yml says 1 and 2.
    runs = sorted((shop_runs.product.project_dir / "target").glob("*/run_results.json"))
    threads = {json.loads(path.read_text(encoding="utf-8"))["args"]["threads"] for path in runs}
    assert threads == {3, 4}


def test_the_warehouse_holds_what_dbt_built(shop_runs: ShopRuns) -> None:
    # Ada paid 20 + 5 over two orders, Grace 12.5, Edsger 7 (no email: the warn test).
    assert [(c, n, float(v)) for c, n, v in shop_runs.customers_after_passing] == [
        (1, 2, 25.0),
        (2, 1, 12.5),
        (3, 1, 7.0),
    ]
    assert _rows(shop_runs.product.duckdb_path, "select count(*) from main.raw_orders") == [(4,)]


def test_each_compute_target_materializes_its_own_models_in_its_own_step(
    shop_runs: ShopRuns,
) -> None:
    steps: dict[str, set[str]] = {}
    for event in shop_runs.passing.get_asset_materialization_events():
        assert event.asset_key is not None
        assert event.step_key is not None
        steps.setdefault(event.step_key, set()).add(asset_key_string(event.asset_key.path))
    by_compute: dict[str, set[str]] = {}
    for transform in shop_runs.artifacts.transforms:
        by_compute.setdefault(transform.compute, set()).add(transform.name)
    assert sorted(steps.values(), key=sorted) == sorted(by_compute.values(), key=sorted)


def test_every_dbt_test_is_recorded_as_an_asset_check_evaluation(shop_runs: ShopRuns) -> None:
    evaluations = _evaluations(shop_runs.passing)
    assert set(evaluations) == _expected_checks(shop_runs.artifacts)
    for name, evaluation in evaluations.items():
        assert asset_key_string(evaluation.asset_key.path) == _check_owner(
            shop_runs.artifacts, name
        )
        if name != WARN_CHECK:
            assert evaluation.passed, name
            assert evaluation.severity == dg.AssetCheckSeverity.ERROR, name

    # Stored on the instance, not only in the run's events.
    storage = shop_runs.instance.event_log_storage
    key = dg.AssetCheckKey(dg.AssetKey(["stg_payments"]), FAILING_CHECK)
    history = storage.get_asset_check_execution_history(key, limit=10)
    assert [record.run_id for record in history] == [
        shop_runs.failing.run_id,
        shop_runs.passing.run_id,
    ]


def test_a_failing_warn_severity_test_is_a_warning_and_blocks_nothing(
    shop_runs: ShopRuns,
) -> None:
    warning = _evaluations(shop_runs.passing)[WARN_CHECK]
    assert (warning.passed, warning.severity) == (False, dg.AssetCheckSeverity.WARN)
    assert not warning.blocking
    assert "customers" in _materialized(shop_runs.passing)  # reads stg_customers


# The failing run ------------------------------------------------------------------------------
def test_a_failing_error_severity_check_blocks_its_downstream_assets(
    shop_runs: ShopRuns,
) -> None:
    failed = _evaluations(shop_runs.failing)[FAILING_CHECK]
    assert (failed.passed, failed.severity) == (False, dg.AssetCheckSeverity.ERROR)
    assert failed.blocking
    assert not shop_runs.failing.success

    materialized = _materialized(shop_runs.failing)
    assert materialized == SEEDS_AND_MODELS - BLOCKED
    assert not any(name.startswith("assert_order") for name in _evaluations(shop_runs.failing))
    # Nothing rebuilt the order mart: it still holds the first run's amounts (12.5, not 15.5).
    assert [(o, float(a)) for o, a in shop_runs.orders_after_failing] == [
        (10, 20.0),
        (11, 5.0),
        (12, 12.5),
        (13, 7.0),
    ]


# Without the dbt project --------------------------------------------------------------------
def test_running_without_the_dbt_project_fails_naming_the_missing_folder(
    parsed_product: ProductCopy, tmp_path: Path
) -> None:
    missing = tmp_path / "dbt_project_not_checked_out"
    artifacts = load_artifacts(
        compile_product(parsed_product, tmp_path / "compiled_artifacts.json", project_dir=missing)
    )
    definitions = DagsterOrchestratorPlugin().create_definitions(artifacts)
    keys = {asset_key_string(key.path) for key in definitions.resolve_all_asset_keys()}
    assert keys >= SEEDS_AND_MODELS

    job = definitions.resolve_implicit_global_asset_job_def()
    with (
        dg.DagsterInstance.ephemeral(tempdir=str(tmp_path / "dagster_home")) as instance,
        pytest.raises(DbtProjectMissingError) as raised,
    ):
        job.execute_in_process(instance=instance)
    message = str(raised.value)  # names the folder, what is wrong with it, and the fix
    assert str(missing) in message
    assert "does not exist" in message
    assert "--project-dir" in message
    assert not missing.exists()


def test_definitions_build_when_dbt_is_installed_beside_python_but_not_on_path(
    parsed_product: ProductCopy, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    artifacts = load_artifacts(compile_product(parsed_product, tmp_path / "artifacts.json"))
    monkeypatch.setenv("PATH", "/usr/bin:/bin")
    definitions = DagsterOrchestratorPlugin().create_definitions(artifacts)
    assert set(definitions.resolve_all_asset_keys())
