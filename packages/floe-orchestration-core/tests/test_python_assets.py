"""Python assets, alert channels and monitoring in the artifacts, and running a Python asset."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from pydantic import ValidationError as PydanticValidationError

from floe_orchestration_core.artifacts import (
    ComputeTarget,
    PythonAssetConfig,
    RunFailureSensor,
)
from floe_orchestration_core.errors import ArtifactsError, PythonAssetError
from floe_orchestration_core.python_assets import (
    AssetRunContext,
    load_asset_function,
    run_python_asset,
)
from floe_orchestration_core.testing import make_artifacts, make_source, make_transform


def _artifacts(**overrides: Any) -> Any:
    source = make_source("raw.orders")
    stg = make_transform("stg_orders").model_copy(update={"source_dependencies": ("raw.orders",)})
    mart = make_transform("fct_orders", depends_on=["stg_orders"])
    return make_artifacts([stg, mart], sources=(source,), **overrides)


def _asset(**fields: Any) -> PythonAssetConfig:
    return PythonAssetConfig.model_validate({"function": "pipeline/x.py:run", **fields})


def _problems(**overrides: Any) -> str:
    with pytest.raises((ArtifactsError, PydanticValidationError, ValueError)) as info:
        _artifacts(**overrides)
    return str(info.value)


def test_valid_python_assets_are_kept_with_their_references() -> None:
    ingest = _asset(name="ingest", kind="ingestion", produces=["raw.orders"])
    publish = _asset(name="publish", kind="publication", depends_on=["fct_orders", "ingest"])
    artifacts = _artifacts(python_assets=(ingest, publish))
    assert [a.name for a in artifacts.python_assets] == ["ingest", "publish"]
    assert publish.file == "pipeline/x.py"
    assert publish.callable_name == "run"


@pytest.mark.parametrize(
    ("assets", "expected"),
    [
        ([{"name": "a", "produces": ["raw.missing"]}], "'raw.missing' is not a dbt source"),
        ([{"name": "a", "depends_on": ["nope"]}], "'nope' is neither a transform"),
        ([{"name": "a", "depends_on": ["a"]}], "depends on itself"),
        ([{"name": "fct_orders"}], "is also a dbt transform"),
        ([{"name": "a", "compute": "gpu"}], "'gpu' is not a compute target"),
        (
            [{"name": "a", "produces": ["raw.orders"]}, {"name": "b", "produces": ["raw.orders"]}],
            "already produced by 'a'",
        ),
        ([{"name": "a"}, {"name": "a"}], "names must be unique; repeated: a"),
        (
            [{"name": "a", "produces": ["raw.orders"], "depends_on": ["fct_orders"]}],
            "a cycle through Python assets and dbt transforms",
        ),
    ],
)
def test_python_asset_mistakes_are_named(assets: list[dict[str, Any]], expected: str) -> None:
    message = _problems(python_assets=tuple(_asset(**a) for a in assets))
    assert expected in message
    assert "python_assets" in message


@pytest.mark.parametrize("function", ["x.py", "run", "x.txt:run", "x.py:1run", "x.py:"])
def test_function_reference_must_be_file_colon_function(function: str) -> None:
    with pytest.raises(PydanticValidationError):
        PythonAssetConfig(name="a", function=function)


def test_alert_channels_referenced_must_exist_but_console_is_builtin() -> None:
    sensor = RunFailureSensor(name="on_failure", alert_channels=("console", "pager"))
    message = _problems(sensors=(sensor,))
    assert "sensors[0].alert_channels[1]: alert channel 'pager' is not defined" in message
    ok = _artifacts(
        sensors=(sensor,),
        alert_channels=({"type": "webhook", "name": "pager", "url": "http://h/x"},),
        monitoring={"alert_channels": ["pager"]},
    )
    assert ok.alert_channels[0].type == "webhook"


def test_webhook_secrets_are_env_var_names_not_values() -> None:
    with pytest.raises(PydanticValidationError):
        _artifacts(
            alert_channels=(
                {
                    "type": "webhook",
                    "name": "hook",
                    "url": "http://h/x",
                    "headers_env": {"Authorization": "Bearer s3cret"},
                },
            )
        )


def test_monitoring_factor_must_exceed_one() -> None:
    with pytest.raises(PydanticValidationError):
        _artifacts(monitoring={"slow_run_factor": 1.0})


def _write(tmp_path: Path, body: str) -> Path:
    (tmp_path / "pipeline").mkdir(exist_ok=True)
    file = tmp_path / "pipeline" / "x.py"
    file.write_text(body, encoding="utf-8")
    return file


def test_a_python_asset_runs_with_its_context(tmp_path: Path) -> None:
    _write(
        tmp_path,
        "def run(context):\n"
        "    out = context.outputs[0]\n"
        "    out.write_text(context.name + ' ' + str(context.warehouse_path()))\n"
        "    return {'rows': 3, 'files': [p.name for p in context.inputs]}\n",
    )
    asset = _asset(name="pub", inputs=["in.csv"], outputs=["out.txt"])
    compute = ComputeTarget(name="duckdb", type="duckdb", properties={"path": "wh.duckdb"})
    context = AssetRunContext(
        asset=asset, base_dir=tmp_path, compute=compute, project_dir=tmp_path / "dbt"
    )
    result = run_python_asset(load_asset_function(asset, tmp_path), context)
    assert result == {"rows": 3, "files": ["in.csv"]}
    assert (tmp_path / "out.txt").read_text() == f"pub {tmp_path / 'dbt' / 'wh.duckdb'}"


def test_missing_file_and_function_are_typed_errors(tmp_path: Path) -> None:
    with pytest.raises(PythonAssetError, match=r"does not exist; fix 'function: pipeline/x.py"):
        load_asset_function(_asset(name="a"), tmp_path)
    _write(tmp_path, "def other(context):\n    return None\n")
    with pytest.raises(PythonAssetError, match="has no function 'run'; it defines: other"):
        load_asset_function(_asset(name="a"), tmp_path)


def test_import_errors_are_wrapped_with_the_cause(tmp_path: Path) -> None:
    _write(tmp_path, "import not_a_module_anywhere\n")
    with pytest.raises(PythonAssetError, match=r"importing .* failed: ModuleNotFoundError") as info:
        load_asset_function(_asset(name="a"), tmp_path)
    assert isinstance(info.value.__cause__, ModuleNotFoundError)


@pytest.mark.parametrize(
    ("value", "expected"), [(42, "returned int"), ({"x": object()}, "not JSON")]
)
def test_junk_return_values_are_refused(tmp_path: Path, value: Any, expected: str) -> None:
    context = AssetRunContext(asset=_asset(name="a"), base_dir=tmp_path)
    with pytest.raises(PythonAssetError, match=expected):
        run_python_asset(lambda _: value, context)


def test_compile_rebases_python_asset_and_sensor_paths_on_floe_yaml(tmp_path: Path) -> None:
    from floe_orchestration_core.compile import compile_artifacts

    manifest = Path(__file__).parents[3] / "examples" / "jaffle-shop" / "target" / "manifest.json"
    product = tmp_path / "product"
    product.mkdir()
    (product / "floe.yaml").write_text(
        "python_assets:\n"
        "  - {name: publish, function: pipeline/p.py:run, inputs: [data], outputs: [out/r.html]}\n"
        "sensors:\n"
        "  - {type: file_arrival, name: landing, path: data/landing}\n"
        "alert_channels:\n"
        "  - {type: email, name: oncall, smtp_host: localhost, sender: a@b, recipients: [c@d]}\n",
        encoding="utf-8",
    )
    artifacts = compile_artifacts(manifest, product=product / "floe.yaml")
    (asset,) = artifacts.python_assets
    assert asset.function == f"{product / 'pipeline' / 'p.py'}:run"
    assert asset.inputs == (str(product / "data"),)
    assert asset.outputs == (str(product / "out" / "r.html"),)
    assert artifacts.sensors[0].path == str(product / "data" / "landing")  # type: ignore[union-attr]
    assert artifacts.alert_channels[0].name == "oncall"
