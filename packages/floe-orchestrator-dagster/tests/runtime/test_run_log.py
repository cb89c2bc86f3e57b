"""``floe logs`` on Dagster: a run's events and captured output, read back from a real
instance in which real runs were executed.

No ``from __future__ import annotations``: Dagster reads the ``context`` annotation of an
asset function at definition time.
"""

from pathlib import Path

import dagster as dg
import pytest

from floe_orchestration_core.errors import RuntimeServiceError
from floe_orchestration_core.run_log import RunNotFoundError
from floe_orchestration_core.runtime import InstanceStorage, ProductWorkspace
from floe_orchestrator_dagster.runtime.home import open_instance
from floe_orchestrator_dagster.runtime.run_log import read_run_log
from floe_orchestrator_dagster.runtime.supervisor import DagsterLocalRuntime

GOOD_RUN = "a1b2c3d4-0000-4000-8000-000000000001"
BAD_RUN = "a1b2c3d4-0000-4000-8000-000000000002"
OTHER_RUN = "f9e8d7c6-0000-4000-8000-000000000003"


@dg.asset
def orders(context: dg.AssetExecutionContext) -> int:
    print("orders: 3 rows loaded")
    context.log.info("loaded 3 orders")
    context.log.debug("a debug line nobody reads")
    return 3


@dg.asset_check(asset=orders)
def orders_not_empty() -> dg.AssetCheckResult:
    return dg.AssetCheckResult(passed=True)


@dg.asset_check(asset=orders)
def orders_unique() -> dg.AssetCheckResult:
    return dg.AssetCheckResult(passed=False, severity=dg.AssetCheckSeverity.WARN)


@dg.asset(deps=[orders])
def revenue() -> None:
    raise ValueError("revenue: division by zero in the daily total")


def _workspace(tmp_path: Path) -> ProductWorkspace:
    return ProductWorkspace(
        product_dir=tmp_path,
        artifacts_path=tmp_path / ".floe" / "compiled_artifacts.json",
        platform_manifest_path=None,
        storage=InstanceStorage(sqlite_dir=tmp_path / ".floe" / "instance"),
        product_name="shop",
        code_location="floe_registry.code_location",
    )


@pytest.fixture(scope="module")
def ran(tmp_path_factory: pytest.TempPathFactory) -> ProductWorkspace:
    """Three runs in the product's instance: one that succeeds, two that fail."""
    workspace = _workspace(tmp_path_factory.mktemp("product"))
    instance = open_instance(workspace)
    try:
        defs = dg.Definitions(
            assets=[orders, revenue], asset_checks=[orders_not_empty, orders_unique]
        )
        job = defs.resolve_implicit_global_asset_job_def()
        for run_id, selection in ((GOOD_RUN, [orders.key]), (BAD_RUN, None), (OTHER_RUN, None)):
            job.execute_in_process(
                instance=instance, run_id=run_id, asset_selection=selection, raise_on_error=False
            )
    finally:
        instance.dispose()
    return workspace


def test_a_successful_run_lists_steps_materializations_checks_and_logged_messages(
    ran: ProductWorkspace,
) -> None:
    log = read_run_log(ran, GOOD_RUN)

    assert (log.run_id, log.status) == (GOOD_RUN, "success")
    assert log.started is not None
    assert log.ended is not None
    assert log.ended >= log.started
    messages = [entry.message for entry in log.entries]
    assert messages[0] == "run started"
    assert messages[-1] == "run succeeded"
    assert "step orders started" in messages
    assert "loaded 3 orders" in messages
    assert "materialized orders" in messages
    assert "check orders_not_empty on orders: passed" in messages
    assert "check orders_unique on orders: FAILED (warn)" in messages
    assert not any("debug line" in message for message in messages)
    checks = {e.message.split()[1]: e.level for e in log.entries if e.kind == "check"}
    assert checks == {"orders_not_empty": "info", "orders_unique": "warning"}
    assert all(e.time.tzinfo is not None for e in log.entries)
    assert [e.time for e in log.entries] == sorted(e.time for e in log.entries)


def test_the_output_printed_by_the_run_is_captured_with_its_steps(ran: ProductWorkspace) -> None:
    log = read_run_log(ran, GOOD_RUN)

    assert log.output, "no captured output"
    assert any("orders: 3 rows loaded" in captured.stdout for captured in log.output)
    assert any("orders" in captured.steps for captured in log.output)


def test_a_failed_step_gives_its_error_and_the_whole_error_as_detail(
    ran: ProductWorkspace,
) -> None:
    log = read_run_log(ran, BAD_RUN)

    assert log.status == "failure"
    (failure,) = [e for e in log.entries if e.kind == "step" and e.level == "error"]
    assert failure.step == "revenue"
    assert failure.message.startswith("step revenue FAILED: ")
    # The user's error, not Dagster's wrapper around it.
    assert failure.message == (
        "step revenue FAILED: ValueError: revenue: division by zero in the daily total"
    )
    assert failure.detail is not None
    assert "ValueError" in failure.detail
    assert "Traceback" in failure.detail or "File " in failure.detail
    # The run's failure does not repeat the step's error (Dagster 1.13 copies it onto the
    # run's failure event, 1.10 does not).
    assert log.entries[-1].message == "run failed (the failed steps are above)"


def test_a_unique_prefix_finds_the_run(ran: ProductWorkspace) -> None:
    assert read_run_log(ran, "f9e8d7c6").run_id == OTHER_RUN


def test_a_prefix_of_several_runs_names_them(ran: ProductWorkspace) -> None:
    with pytest.raises(RunNotFoundError) as raised:
        read_run_log(ran, "a1b2c3d4")
    assert "is the start of 2 runs" in str(raised.value)
    assert {brief.run_id for brief in raised.value.candidates} == {GOOD_RUN, BAD_RUN}


def test_an_unknown_id_names_the_close_ids_and_the_latest_runs(ran: ProductWorkspace) -> None:
    with pytest.raises(RunNotFoundError) as raised:
        read_run_log(ran, "f9e8d7c7")
    message = str(raised.value)
    assert "did you mean f9e8d7c6 (failure, __ASSET_JOB, started " in message
    assert "latest runs: f9e8d7c6 " in message
    assert [brief.run_id for brief in raised.value.latest] == [OTHER_RUN, BAD_RUN, GOOD_RUN]


def test_a_product_that_never_ran_has_no_runs_and_gets_no_instance(tmp_path: Path) -> None:
    workspace = _workspace(tmp_path)

    with pytest.raises(RunNotFoundError, match="the product has no runs yet"):
        read_run_log(workspace, "abc")
    assert not (tmp_path / ".floe").exists()


def test_the_local_runtime_reads_run_logs_and_refuses_a_blank_id(ran: ProductWorkspace) -> None:
    runtime = DagsterLocalRuntime()

    assert runtime.run_log(ran, f"  {OTHER_RUN[:8]} ").run_id == OTHER_RUN
    with pytest.raises(RuntimeServiceError, match="a run id must be"):
        runtime.run_log(ran, "  ")
