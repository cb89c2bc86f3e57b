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
from floe_orchestration_core.errors import (
    ArtifactsError,
    ProfileVariableMissingError,
    PythonAssetError,
    WarehouseError,
)
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


# The compute target's warehouse, from the dbt profile -----------------------------------------
_DUCKDB_PROFILE = """\
shop:
  target: dev
  outputs:
    dev:
      type: duckdb
      path: "{{ env_var('SHOP_DUCKDB', '.floe/shop.duckdb') }}"
    pg:
      type: postgres
      host: 127.0.0.1
      port: 5432
      user: postgres
      password: "{{ env_var('SHOP_PG_PASSWORD') }}"
      dbname: test
      schema: shop
    memory:
      type: duckdb
"""


def _dbt_project(tmp_path: Path) -> Path:
    project = tmp_path / "dbt"
    project.mkdir()
    (project / "dbt_project.yml").write_text("name: shop\nprofile: shop\n")
    (project / "profiles.yml").write_text(_DUCKDB_PROFILE)
    return project


def _context(
    tmp_path: Path, compute: ComputeTarget | None, project: Path | None = None
) -> AssetRunContext:
    return AssetRunContext(
        asset=_asset(name="a"),
        base_dir=tmp_path,
        compute=compute,
        project_dir=project or _dbt_project(tmp_path),
    )


def test_warehouse_path_comes_from_the_profile_when_floe_yaml_sets_none(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("SHOP_DUCKDB", raising=False)
    compute = ComputeTarget(name="duckdb", type="duckdb", dbt_target="dev")
    context = _context(tmp_path, compute)
    assert context.warehouse_path() == tmp_path / "dbt" / ".floe" / "shop.duckdb"
    monkeypatch.setenv("SHOP_DUCKDB", str(tmp_path / "elsewhere.duckdb"))
    assert _context(tmp_path, compute, tmp_path / "dbt").warehouse_path() == (
        tmp_path / "elsewhere.duckdb"
    )


def test_warehouse_path_set_in_floe_yaml_wins_over_the_profile(tmp_path: Path) -> None:
    compute = ComputeTarget(
        name="duckdb",
        type="duckdb",
        dbt_target="dev",
        properties={"path": "mine.duckdb"},
        from_profile={"path": ".floe/shop.duckdb"},
    )
    assert _context(tmp_path, compute).warehouse_path() == tmp_path / "dbt" / "mine.duckdb"


def test_the_dbt_target_of_the_artifacts_is_used_when_the_compute_target_names_none(
    tmp_path: Path,
) -> None:
    context = AssetRunContext(
        asset=_asset(name="a"),
        base_dir=tmp_path,
        compute=ComputeTarget(name="main", type="duckdb"),
        project_dir=_dbt_project(tmp_path),
        dbt_target="memory",
    )
    with pytest.raises(WarehouseError, match="has no DuckDB file \\(no path\\)"):
        context.warehouse_path()


@pytest.mark.parametrize(
    ("compute", "expected"),
    [
        (
            ComputeTarget(name="pg", type="postgres", dbt_target="pg"),
            "compute target 'pg' \\(postgres, dbt profile 'shop', target 'pg' in .*profiles.yml\\) "
            "is not a DuckDB file; use context.connect",
        ),
        (
            ComputeTarget(name="mem", type="duckdb", dbt_target="memory"),
            "has no DuckDB file \\(no path\\)",
        ),
        (None, "python asset 'a' has no compute target"),
    ],
)
def test_warehouse_path_without_a_file_is_a_typed_error_never_none(
    tmp_path: Path, compute: ComputeTarget | None, expected: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SHOP_PG_PASSWORD", "x")
    with pytest.raises(WarehouseError, match=expected):
        _context(tmp_path, compute).warehouse_path()


def test_an_unset_profile_variable_at_run_time_names_it_and_the_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("SHOP_PG_PASSWORD", raising=False)
    context = _context(tmp_path, ComputeTarget(name="pg", type="postgres", dbt_target="pg"))
    with pytest.raises(ProfileVariableMissingError) as info:
        context.sqlalchemy_url()
    assert info.value.variable == "SHOP_PG_PASSWORD"
    assert info.value.profiles_file == str(tmp_path / "dbt" / "profiles.yml")


def test_without_a_profile_the_artifacts_properties_are_used(tmp_path: Path) -> None:
    compute = ComputeTarget(name="duckdb", type="duckdb", properties={"path": "wh.duckdb"})
    context = _context(tmp_path, compute, tmp_path / "no-project")
    assert context.warehouse_path() == tmp_path / "no-project" / "wh.duckdb"
    assert context.warehouse.origin == ""
    assert context.warehouse_path("path") == context.warehouse_path()
    with pytest.raises(WarehouseError, match="no file property 'extra'"):
        context.warehouse_path("extra")


def test_connect_commits_and_closes_a_duckdb_connection(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    duckdb = pytest.importorskip("duckdb")
    monkeypatch.delenv("SHOP_DUCKDB", raising=False)
    context = _context(tmp_path, ComputeTarget(name="duckdb", type="duckdb", dbt_target="dev"))
    with context.connect() as connection:
        connection.execute("create schema raw")
        connection.execute("create table raw.t as select 1 as x")

    def fail_in_a_transaction() -> None:
        with context.connect() as connection:
            connection.execute("begin")
            connection.execute("insert into raw.t values (2)")
            raise RuntimeError("boom")

    with pytest.raises(RuntimeError, match="boom"):
        fail_in_a_transaction()
    with duckdb.connect(str(context.warehouse_path()), read_only=True) as check:
        assert check.execute("select x from raw.t").fetchall() == [(1,)]
    assert context.sqlalchemy_url() == f"duckdb:///{context.warehouse_path().as_posix()}"
