"""Python assets of the product as Dagster assets: keys, deps, the replaced source specs, runs."""

from __future__ import annotations

from pathlib import Path

import dagster as dg
import pytest

from floe_orchestration_core.compile import compile_artifacts
from floe_orchestration_core.testing import make_artifacts
from floe_orchestrator_dagster.config import DagsterAdapterConfig
from floe_orchestrator_dagster.definitions.build import executor_for
from floe_orchestrator_dagster.plugin import DagsterOrchestratorPlugin

JAFFLE = Path(__file__).parents[4] / "examples" / "jaffle-shop" / "target" / "manifest.json"


def _product(tmp_path: Path, yaml: str) -> Path:
    (tmp_path / "floe.yaml").write_text(yaml, encoding="utf-8")
    return tmp_path / "floe.yaml"


def test_an_ingestion_asset_is_the_asset_of_the_sources_it_produces(tmp_path: Path) -> None:
    product = _product(
        tmp_path,
        "python_assets:\n"
        "  - {name: load_ecom, kind: ingestion, function: p.py:load,\n"
        "     produces: [ecom.raw_customers, ecom.raw_orders]}\n"
        "  - {name: publish, kind: publication, function: p.py:publish,\n"
        "     depends_on: [customers, load_ecom]}\n",
    )
    artifacts = compile_artifacts(JAFFLE, product=product)
    defs = DagsterOrchestratorPlugin().create_definitions(artifacts)
    graph = defs.resolve_asset_graph()
    customers_src = dg.AssetKey(["ecom", "raw_customers"])
    orders_src = dg.AssetKey(["ecom", "raw_orders"])
    node = graph.get(customers_src)
    assert node.is_materializable  # an asset of the ingestion op, not an external spec
    assert graph.get(customers_src).assets_def.node_def.name == "load_ecom"
    assert graph.get(orders_src).assets_def.node_def.name == "load_ecom"
    assert customers_src in graph.get(dg.AssetKey(["stg_customers"])).parent_keys
    publish = graph.get(dg.AssetKey(["publish"]))
    assert publish.parent_keys == {dg.AssetKey(["customers"]), customers_src, orders_src}
    assert publish.group_name == "publication"
    assert publish.metadata["floe/function"] == f"{tmp_path / 'p.py'}:publish"
    # The source nobody produces stays an external (non-materializable) spec.
    assert not graph.get(dg.AssetKey(["ecom", "raw_items"])).is_materializable


def test_python_assets_run_in_order_and_record_metadata(tmp_path: Path) -> None:
    (tmp_path / "steps.py").write_text(
        "def first(context):\n"
        "    context.outputs[0].write_text('1')\n"
        "    return {'rows': 1}\n"
        "def second(context):\n"
        "    text = context.inputs[0].read_text()\n"
        "    context.outputs[0].write_text(text + '2')\n"
        "    return {'seen': text}\n",
        encoding="utf-8",
    )
    f = str(tmp_path / "steps.py")
    artifacts = make_artifacts(
        python_assets=(
            {"name": "first", "function": f"{f}:first", "outputs": [str(tmp_path / "a.txt")]},
            {
                "name": "second",
                "function": f"{f}:second",
                "depends_on": ["first"],
                "inputs": [str(tmp_path / "a.txt")],
                "outputs": [str(tmp_path / "b.txt")],
            },
        )
    )
    defs = DagsterOrchestratorPlugin().create_definitions(artifacts)
    result = defs.resolve_implicit_global_asset_job_def().execute_in_process(
        instance=dg.DagsterInstance.ephemeral()
    )
    assert result.success
    assert (tmp_path / "b.txt").read_text() == "12"
    materialized = {
        e.asset_key.to_user_string(): e.step_materialization_data.materialization.metadata
        for e in result.get_asset_materialization_events()
    }
    assert materialized["second"]["seen"].value == "1"
    assert materialized["first"]["rows"].value == 1


def test_a_failing_python_asset_fails_its_step_with_the_error(tmp_path: Path) -> None:
    (tmp_path / "bad.py").write_text("def run(context):\n    raise RuntimeError('boom')\n")
    artifacts = make_artifacts(
        python_assets=({"name": "bad", "function": f"{tmp_path / 'bad.py'}:run"},)
    )
    defs = DagsterOrchestratorPlugin().create_definitions(artifacts)
    result = defs.resolve_implicit_global_asset_job_def().execute_in_process(
        instance=dg.DagsterInstance.ephemeral(), raise_on_error=False
    )
    assert not result.success
    (failure,) = [e for e in result.all_events if e.event_type_value == "STEP_FAILURE"]
    assert "boom" in str(failure.event_specific_data.error)


@pytest.mark.parametrize(
    ("types", "setting", "expected"),
    [
        (["duckdb"], "auto", "in_process"),
        (["postgres"], "auto", "multiprocess"),
        (["postgres", "duckdb"], "auto", "in_process"),
        (["duckdb"], "multiprocess", "multiprocess"),
        (["postgres"], "in_process", "in_process"),
    ],
)
def test_executor_auto_is_in_process_for_duckdb(
    types: list[str], setting: str, expected: str
) -> None:
    from floe_orchestration_core.artifacts import ComputeTarget

    targets = [ComputeTarget(name=f"t{i}", type=t) for i, t in enumerate(types)]
    artifacts = make_artifacts(compute_targets=targets, default_compute="t0")
    executor = executor_for(artifacts, DagsterAdapterConfig(executor=setting))
    assert executor.name == expected
