"""Declared ingestion as Dagster assets: one subsettable multi-asset per entry whose outputs are
the dbt sources' assets, run through the core's ingestion port (the in-memory reference
connector here; the real ones run in integration/test_ingestion_*.py)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import dagster as dg
import pytest

from floe_orchestration_core.artifacts import CompiledArtifacts
from floe_orchestration_core.compile import compile_artifacts
from floe_orchestration_core.errors import IngestionConfigError, PluginError
from floe_orchestration_core.lineage import RunState
from floe_orchestration_core.testing import InMemoryIngestion, InMemoryLineageBackend
from floe_orchestrator_dagster.plugin import DagsterOrchestratorPlugin

JAFFLE = Path(__file__).parents[4] / "examples" / "jaffle-shop" / "target" / "manifest.json"
RAW = ("raw_customers", "raw_orders", "raw_items", "raw_stores", "raw_products", "raw_supplies")


def _artifacts(tmp_path: Path, config: str = "{records: {raw_orders: 7}}") -> CompiledArtifacts:
    product = tmp_path / "floe.yaml"
    product.write_text(
        "compute: {targets: {duckdb: {type: duckdb, properties: {path: w.duckdb}}}}\n"
        "retry: {max_retries: 2, delay_seconds: 0}\n"
        "ingestion:\n"
        "  - name: shop\n"
        "    connector: in_memory\n"
        "    source: counters\n"
        f"    config: {config}\n"
        f"    streams: [{', '.join(RAW)}]\n"
        "    destination: {compute: duckdb, schema: raw}\n"
        "    tags: [daily]\n",
        encoding="utf-8",
    )
    return compile_artifacts(JAFFLE, product=product, project_dir=tmp_path)


def _plugin(
    connector: InMemoryIngestion, backend: InMemoryLineageBackend | None = None
) -> DagsterOrchestratorPlugin:
    plugin = DagsterOrchestratorPlugin(lineage_backend=backend)
    plugin.set_ingestion({"in_memory": connector})
    return plugin


def _materialize(
    defs: dg.Definitions, instance: dg.DagsterInstance, *keys: dg.AssetKey
) -> dg.ExecuteInProcessResult:
    job = defs.resolve_implicit_global_asset_job_def()
    selection = list(keys) or [dg.AssetKey(["ecom", name]) for name in RAW]
    return job.execute_in_process(
        instance=instance, asset_selection=selection, raise_on_error=False
    )


def _materializations(result: dg.ExecuteInProcessResult) -> dict[str, Any]:
    found: dict[str, Any] = {}
    for event in result.get_asset_materialization_events():
        materialization = event.step_materialization_data.materialization
        found[materialization.asset_key.to_user_string()] = materialization
    return found


def _failure(result: dg.ExecuteInProcessResult) -> str:
    (failure,) = [e for e in result.all_events if e.event_type_value == "STEP_FAILURE"]
    return str(failure.step_failure_data.error)


def test_each_stream_is_the_asset_of_its_dbt_source(tmp_path: Path) -> None:
    defs = _plugin(InMemoryIngestion()).create_definitions(_artifacts(tmp_path))
    graph = defs.resolve_asset_graph()
    orders = graph.get(dg.AssetKey(["ecom", "raw_orders"]))
    assert orders.is_materializable
    assert orders.assets_def.node_def.name == "shop"
    assert orders.assets_def.can_subset
    assert orders.group_name == "ingestion"
    assert orders.kinds == {"in_memory"}
    assert orders.metadata["floe/table"] == "raw.raw_orders"
    assert orders.metadata["floe/ingestion"] == "shop"
    assert orders.metadata["floe/source_key"] == "ecom.raw_orders"
    assert "daily" in orders.tags
    assert dg.AssetKey(["ecom", "raw_orders"]) in graph.get(dg.AssetKey(["stg_orders"])).parent_keys


def test_a_run_records_rows_and_a_data_version_that_stays_when_nothing_is_new(
    tmp_path: Path,
) -> None:
    connector = InMemoryIngestion()
    defs = _plugin(connector).create_definitions(_artifacts(tmp_path))
    instance = dg.DagsterInstance.ephemeral()
    first = _materializations(_materialize(defs, instance))
    orders = first["ecom/raw_orders"]
    assert orders.metadata["dagster/row_count"].value == 7
    assert orders.metadata["floe/rows_loaded"].value == 7
    assert orders.metadata["floe/cursor"].value == 7
    assert orders.tags["dagster/data_version"] == "7"
    second = _materializations(_materialize(defs, instance))
    again = second["ecom/raw_orders"]
    assert again.metadata["floe/rows_loaded"].value == 0
    assert again.metadata["dagster/row_count"].value == 7
    assert again.tags["dagster/data_version"] == orders.tags["dagster/data_version"]
    # The state lives in the product's folder, between runs.
    assert (tmp_path / ".floe" / "ingestion" / "shop" / "state.json").is_file()
    assert connector.runs[0].destination.path == (tmp_path / "w.duckdb").resolve()  # type: ignore[union-attr]


def test_materializing_some_streams_runs_the_connector_for_those_only(tmp_path: Path) -> None:
    connector = InMemoryIngestion()
    defs = _plugin(connector).create_definitions(_artifacts(tmp_path))
    key = dg.AssetKey(["ecom", "raw_items"])
    result = _materialize(defs, dg.DagsterInstance.ephemeral(), key)
    assert result.success
    assert set(_materializations(result)) == {"ecom/raw_items"}
    assert [r.streams for r in connector.runs] == [("raw_items",)]


def test_a_misconfigured_connector_fails_once_without_retrying(tmp_path: Path) -> None:
    connector = InMemoryIngestion()
    defs = _plugin(connector).create_definitions(_artifacts(tmp_path, "{fail: config}"))
    result = _materialize(defs, dg.DagsterInstance.ephemeral())
    assert not result.success
    assert len(connector.runs) == 1  # the retry policy allows 2 retries: none was taken
    kinds = [e.event_type_value for e in result.all_events]
    assert "STEP_UP_FOR_RETRY" not in kinds
    assert "the source refused its config" in _failure(result)


def test_a_connector_that_did_not_answer_is_retried(tmp_path: Path) -> None:
    connector = InMemoryIngestion()
    defs = _plugin(connector).create_definitions(_artifacts(tmp_path, "{fail: connector}"))
    result = _materialize(defs, dg.DagsterInstance.ephemeral())
    assert not result.success
    assert len(connector.runs) == 3  # the first try and max_retries: 2


def test_a_missing_secret_fails_the_step_naming_the_variable(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("SHOP_TOKEN", raising=False)
    artifacts = _artifacts(tmp_path)
    entry = artifacts.ingestion[0].model_copy(update={"config_env": {"token": "SHOP_TOKEN"}})
    artifacts = artifacts.model_copy(update={"ingestion": (entry,)})
    connector = InMemoryIngestion()
    result = _materialize(
        _plugin(connector).create_definitions(artifacts), dg.DagsterInstance.ephemeral()
    )
    assert not result.success
    assert connector.runs == []
    assert "SHOP_TOKEN" in _failure(result)


def test_a_config_the_plugin_refuses_stops_the_definitions(tmp_path: Path) -> None:
    plugin = _plugin(InMemoryIngestion())
    with pytest.raises(IngestionConfigError, match=r"ingestion\.shop\.config\.colour"):
        plugin.create_definitions(_artifacts(tmp_path, "{colour: blue}"))


def test_definitions_without_the_connector_say_how_to_get_it(tmp_path: Path) -> None:
    with pytest.raises(PluginError, match="built without ingestion plugins"):
        DagsterOrchestratorPlugin().create_definitions(_artifacts(tmp_path))
    plugin = DagsterOrchestratorPlugin()
    plugin.set_ingestion({})
    with pytest.raises(PluginError, match="no ingestion plugin named 'in_memory'"):
        plugin.create_definitions(_artifacts(tmp_path))


def test_lineage_reads_the_connector_source_and_writes_the_warehouse_tables(
    tmp_path: Path,
) -> None:
    backend = InMemoryLineageBackend()
    defs = _plugin(InMemoryIngestion(), backend).create_definitions(_artifacts(tmp_path))
    assert _materialize(defs, dg.DagsterInstance.ephemeral()).success
    events = [e for e in backend.events if e.job_name.endswith(".asset.shop")]
    assert [e.event_type for e in events] == [RunState.START, RunState.COMPLETE]
    complete = events[1]
    assert {(d.namespace, d.name) for d in complete.inputs} == {
        ("in_memory://counters", name) for name in RAW
    }
    warehouse = "duckdb://w.duckdb"  # the path as floe.yaml writes it (decision 13)
    assert {(d.namespace, d.name) for d in complete.outputs} == {
        (warehouse, f"jaffle_shop.raw.{name}")
        for name in RAW  # named as dbt reads them
    }
    assert complete.job_facets["jobType"]["jobType"] == "INGESTION"
    assert complete.parent is not None


def test_a_failed_ingestion_emits_fail(tmp_path: Path) -> None:
    backend = InMemoryLineageBackend()
    defs = _plugin(InMemoryIngestion(), backend).create_definitions(
        _artifacts(tmp_path, "{fail: config}")
    )
    _materialize(defs, dg.DagsterInstance.ephemeral())
    states = [e.event_type for e in backend.events if e.job_name.endswith(".asset.shop")]
    assert states == [RunState.START, RunState.FAIL]
