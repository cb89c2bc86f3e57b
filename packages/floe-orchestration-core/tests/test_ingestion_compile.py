"""floe.yaml's ``ingestion:`` compiled: streams matched to dbt sources both ways, no secrets."""

from __future__ import annotations

import copy
import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from floe_orchestration_core.artifacts import CompiledArtifacts, load_artifacts
from floe_orchestration_core.compile import compile_artifacts
from floe_orchestration_core.compile.product import load_product_spec
from floe_orchestration_core.errors import ArtifactsError, ProductSpecError

FIXTURES = Path(__file__).parent / "fixtures"
WHEN = datetime(2026, 1, 1, tzinfo=UTC)


def _manifest(*tables: tuple[str, str, str | None]) -> dict[str, Any]:
    """The v12 fixture plus sources ``(source_name, table, identifier)`` in schema ``raw``."""
    data: dict[str, Any] = json.loads((FIXTURES / "manifest_v12.json").read_text())
    template = data["sources"]["source.shop.app.customers"]
    for source_name, table, identifier in tables:
        source = copy.deepcopy(template)
        uid = f"source.shop.{source_name}.{table}"
        source.update(
            unique_id=uid,
            source_name=source_name,
            name=table,
            identifier=identifier or table,
            schema="raw",
            fqn=["shop", source_name, table],
        )
        data["sources"][uid] = source
    return data


SHOP = (("shop", "users", None), ("shop", "products", None), ("shop", "purchases", None))


def _entry(**overrides: Any) -> dict[str, Any]:
    entry: dict[str, Any] = {
        "name": "shop",
        "connector": "airbyte",
        "source": "source-faker",
        "config": {"count": 50, "seed": 1},
        "streams": ["users", "products", "purchases"],
        "destination": {"compute": "duckdb", "schema": "raw"},
    }
    entry.update(overrides)
    return entry


def _compile(manifest: dict[str, Any], *entries: dict[str, Any], **spec: Any) -> CompiledArtifacts:
    product = {
        "compute": {"targets": {"duckdb": {"type": "duckdb", "properties": {"path": "w.duckdb"}}}},
        "ingestion": list(entries),
        **spec,
    }
    return compile_artifacts(manifest, product=product, compiled_at=WHEN)


def test_each_stream_records_the_dbt_source_it_lands_as() -> None:
    artifacts = _compile(_manifest(*SHOP), _entry())
    (entry,) = artifacts.ingestion
    assert [(s.name, s.source_key) for s in entry.streams] == [
        ("users", "shop.users"),
        ("products", "shop.products"),
        ("purchases", "shop.purchases"),
    ]
    assert entry.destination.schema_name == "raw"
    assert entry.table("users") == "raw.users"
    assert artifacts.schema_version == "2.1.0"


def test_a_stream_matches_a_source_by_identifier_case_insensitively() -> None:
    manifest = _manifest(("landing", "orders_table", "ORDERS"))
    artifacts = _compile(manifest, _entry(streams=["orders"]))
    assert artifacts.ingestion[0].streams[0].source_key == "landing.orders_table"


def test_resources_is_the_same_list_and_options_are_kept() -> None:
    entry = _entry(
        connector="dlt",
        source="filesystem",
        config={"bucket_url": "data/landing"},
        resources=[
            {"name": "users", "file_glob": "users_*.csv", "primary_key": "id"},
            "products",
            {"name": "purchases", "options": {"file_glob": "p.jsonl"}},
        ],
    )
    del entry["streams"]
    streams = _compile(_manifest(*SHOP), entry).ingestion[0].streams
    assert streams[0].options == {"file_glob": "users_*.csv", "primary_key": "id"}
    assert streams[1].options == {}
    assert streams[2].options == {"file_glob": "p.jsonl"}


def test_streams_and_resources_together_are_refused() -> None:
    with pytest.raises(ProductSpecError, match="both 'streams' and 'resources'"):
        _compile(_manifest(*SHOP), _entry(resources=["users"]))


def test_a_stream_without_a_dbt_source_is_refused_naming_the_sources_of_its_schema() -> None:
    with pytest.raises(ProductSpecError) as caught:
        _compile(_manifest(*SHOP), _entry(streams=["users", "userz", "products", "purchases"]))
    (problem,) = caught.value.problems
    assert problem[0] == "ingestion[0].streams[1]"
    assert "lands as table raw.userz" in problem[1]
    assert "shop.products, shop.purchases, shop.users" in problem[1]


def test_a_source_in_a_destination_schema_that_no_stream_loads_is_reported() -> None:
    manifest = _manifest(*SHOP, ("shop", "refunds", None))
    with pytest.raises(ProductSpecError) as caught:
        _compile(manifest, _entry())
    (problem,) = caught.value.problems
    assert problem[0] == "ingestion[0].streams"
    assert "dbt source 'shop.refunds'" in problem[1]
    assert "add 'refunds' to the streams of 'shop'" in problem[1]


def test_a_source_a_python_asset_produces_is_not_reported() -> None:
    manifest = _manifest(*SHOP, ("shop", "refunds", None))
    pipeline = {
        "name": "load_refunds",
        "kind": "ingestion",
        "function": "pipeline/refunds.py:load",
        "produces": ["shop.refunds"],
    }
    artifacts = _compile(manifest, _entry(), python_assets=[pipeline])
    assert len(artifacts.ingestion[0].streams) == 3


def test_a_source_produced_by_a_stream_and_a_python_asset_is_refused() -> None:
    pipeline = {
        "name": "load_users",
        "function": "pipeline/users.py:load",
        "produces": ["shop.users"],
    }
    with pytest.raises(ProductSpecError, match="already produced by Python asset 'load_users'"):
        _compile(_manifest(*SHOP), _entry(), python_assets=[pipeline])


def test_two_entries_loading_one_table_are_refused() -> None:
    second = _entry(name="again", streams=["users"])
    expected = "already produced by stream 'users' of ingestion 'shop'"
    with pytest.raises(ProductSpecError, match=expected):
        _compile(_manifest(*SHOP), _entry(), second)


def test_a_destination_that_is_not_a_compute_target_is_refused() -> None:
    entry = _entry(destination={"compute": "warehouse", "schema": "raw"})
    with pytest.raises(ProductSpecError, match=r"ingestion\[0\]\.destination\.compute"):
        _compile(_manifest(*SHOP), entry)


@pytest.mark.parametrize(
    ("config", "expected"),
    [
        ({"api_key": "abc123"}, "looks like a secret"),
        ({"credentials": {"password": "hunter2"}}, "config.credentials.password"),
        ({"token": "${SHOP_TOKEN}"}, "is not expanded"),
        ({"url": "$SHOP_URL"}, "is not expanded"),
    ],
)
def test_secrets_written_in_floe_yaml_are_refused(config: dict[str, Any], expected: str) -> None:
    with pytest.raises(ProductSpecError, match=expected) as caught:
        load_product_spec({"ingestion": [_entry(config=config)]})
    assert "config_env" in str(caught.value)
    assert "abc123" not in str(caught.value)
    assert "hunter2" not in str(caught.value)


def test_config_env_names_variables_and_never_their_values() -> None:
    entry = _entry(config={"count": 5}, config_env={"api_key": "SHOP_API_KEY"})
    artifacts = _compile(_manifest(*SHOP), entry)
    assert artifacts.ingestion[0].config_env == {"api_key": "SHOP_API_KEY"}
    assert "SHOP_API_KEY" in artifacts.to_json()


def test_a_key_both_in_config_and_config_env_is_refused() -> None:
    entry = _entry(config={"count": 5}, config_env={"count": "SHOP_COUNT"})
    with pytest.raises(ProductSpecError, match="also written in config"):
        load_product_spec({"ingestion": [entry]})


def test_a_stream_listed_twice_is_refused() -> None:
    with pytest.raises(ArtifactsError, match="listed twice"):
        load_artifacts(
            {
                **json.loads(_compile(_manifest(*SHOP), _entry()).to_json()),
                "ingestion": [{**_entry(), "streams": [{"name": "users"}, {"name": "users"}]}],
            }
        )


def test_entry_names_are_unique_and_free_among_python_assets() -> None:
    with pytest.raises(ProductSpecError, match="ingestion: names must be unique"):
        load_product_spec({"ingestion": [_entry(), _entry(streams=["x"])]})
    pipeline = {"name": "shop", "function": "pipeline/x.py:f"}
    with pytest.raises(ProductSpecError, match="also a dbt transform or a Python asset"):
        _compile(_manifest(*SHOP), _entry(), python_assets=[pipeline])


def test_base_dir_is_floe_yamls_folder(tmp_path: Path) -> None:
    manifest = tmp_path / "manifest.json"
    manifest.write_text(json.dumps(_manifest(*SHOP)), encoding="utf-8")
    product = tmp_path / "product" / "floe.yaml"
    product.parent.mkdir()
    product.write_text(
        "compute: {targets: {duckdb: {type: duckdb, properties: {path: w.duckdb}}}}\n"
        "ingestion:\n"
        "  - name: shop\n    connector: airbyte\n    source: source-faker\n"
        "    streams: [users, products, purchases]\n"
        "    destination: {compute: duckdb, schema: raw}\n",
        encoding="utf-8",
    )
    artifacts = compile_artifacts(manifest, product=product, compiled_at=WHEN)
    assert artifacts.ingestion[0].base_dir == str(tmp_path / "product")


def test_artifacts_without_ingestion_keep_their_other_sections() -> None:
    artifacts = _compile(_manifest(*SHOP))
    assert artifacts.ingestion == ()
    assert load_artifacts(json.loads(artifacts.to_json())) == artifacts
