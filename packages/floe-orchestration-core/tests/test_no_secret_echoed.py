"""No secret from the input is echoed: not in a message, not in the traceback --debug prints."""

from __future__ import annotations

import traceback
from pathlib import Path

import pytest

from floe_orchestration_core.compile import compile_artifacts
from floe_orchestration_core.compile.product import read_product_spec_file
from floe_orchestration_core.env_secrets import literal_secrets
from floe_orchestration_core.errors import ProductSpecError
from floe_orchestration_core.safe_yaml import load_yaml_mapping

FIXTURES = Path(__file__).parent / "fixtures"
SECRET = "hunter2-s3cr3t"


def _everything_printed(exc: BaseException) -> str:
    """The message and the whole traceback (causes included), as ``floe --debug`` prints."""
    return "".join(traceback.format_exception(exc))


@pytest.mark.parametrize(
    ("settings", "paths"),
    [
        ({"password": SECRET}, ["password"]),
        (
            {"db_password": SECRET, "api_key": SECRET, "apiKey": SECRET},
            ["db_password", "api_key", "apiKey"],
        ),
        (
            {"nested": {"token": SECRET}, "list": [{"secret": SECRET}]},
            ["nested.token", "list[0].secret"],
        ),
        ({"url": f"postgresql://user:{SECRET}@host:5432/db"}, ["url"]),
        ({"password_env": "PG_PASSWORD", "token_path": "/run/token", "password": None}, []),
        (
            {"url": "postgresql://user@host/db", "path": "warehouse.duckdb", "memory_limit": "1GB"},
            [],
        ),
    ],
)
def test_secrets_written_as_values_are_found_by_path(
    settings: dict[str, object], paths: list[str]
) -> None:
    assert list(literal_secrets(settings)) == paths


def _floe_yaml(tmp_path: Path, target: str) -> Path:
    path = tmp_path / "floe.yaml"
    path.write_text(f"name: shop\ncompute:\n  targets:\n    duckdb: {target}\n", encoding="utf-8")
    return path


@pytest.mark.parametrize(
    "target",
    [
        f"{{type: duckdb, properties: {{password: {SECRET}}}}}",
        f"{{type: duckdb, properties: {{url: 'postgresql://u:{SECRET}@h/db'}}}}",
        f"{{type: duckdb, threads: {SECRET}}}",
        f"{{type: duckdb, dbt_target: [{SECRET}]}}",
    ],
)
def test_a_refused_floe_yaml_value_is_never_echoed(tmp_path: Path, target: str) -> None:
    with pytest.raises(ProductSpecError) as raised:
        compile_artifacts(FIXTURES / "manifest_v12.json", product=_floe_yaml(tmp_path, target))
    printed = _everything_printed(raised.value)
    assert SECRET not in printed
    assert str(tmp_path / "floe.yaml") in str(raised.value)


def test_a_literal_password_is_refused_with_the_fix(tmp_path: Path) -> None:
    path = _floe_yaml(tmp_path, f"{{type: duckdb, properties: {{password: {SECRET}}}}}")
    with pytest.raises(ProductSpecError) as raised:
        read_product_spec_file(path)
    assert raised.value.problems == (
        (
            "compute.targets.duckdb.properties.password",
            "a secret must not be written in floe.yaml (it is committed, shared, and copied "
            "into what floe writes); put it in an environment variable and give the "
            "variable's name instead, e.g. password_env: WAREHOUSE_PASSWORD",
        ),
    )


def test_a_yaml_syntax_error_does_not_quote_the_file(tmp_path: Path) -> None:
    path = tmp_path / "floe.yaml"
    path.write_text(f'name: shop\ncompute: {{targets: "{SECRET}\n', encoding="utf-8")
    with pytest.raises(ProductSpecError, match=r"floe\.yaml: line \d+, column \d+") as raised:
        read_product_spec_file(path)
    assert SECRET not in _everything_printed(raised.value)


def test_an_empty_or_null_document_says_what_the_file_needs() -> None:
    with pytest.raises(ProductSpecError, match=r"^floe\.yaml holds no settings .* 'name: "):
        load_yaml_mapping("null\n")
    with pytest.raises(
        ProductSpecError, match=r"^manifest\.yaml holds no settings .* 'orchestrator: dagster'"
    ):
        load_yaml_mapping("~", origin="manifest.yaml", minimal="orchestrator: dagster")
    with pytest.raises(ProductSpecError, match=r"mapping of keys \(orchestrator:, storage:\)"):
        load_yaml_mapping("- a\n", origin="manifest.yaml", keys="orchestrator:, storage:")
