"""Declared Airbyte ingestion end to end: the real ``airbyte-source-faker`` connector through
PyAirbyte in its own virtual environment, into DuckDB (the ``shop-airbyte`` example, run with
the installed ``floe``) and into PostgreSQL (the same product's artifacts on a Postgres compute
target, materialized through the platform the registry composes); misconfigured connectors
refused at compile or failing their asset once, with the connector's reason.

The venvs are the cached ones (``~/.cache/floe/airbyte``): the first run on a machine creates
them (about 40 s with uv's cache warm) and needs the package index that once.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import dagster as dg
import duckdb
import pytest
import yaml
from dagster._core.instance.ref import InstanceRef

from floe_orchestration_core.compile import compile_artifacts
from floe_orchestration_core.compile.product import load_product_spec
from floe_registry.platform import load_platform
from harness import PG_HOST, PG_PORT, pg_connect, postgres_database

ROOT = Path(__file__).resolve().parent.parent
EXAMPLE = ROOT / "examples" / "shop-airbyte"
VALIDATOR = ROOT.parent / "shared" / "tools" / "ol_validate.py"
FLOE = Path(sys.executable).parent / "floe"
STREAMS = ("users", "products", "purchases")

pytestmark = pytest.mark.slow


def _copy(destination: Path) -> Path:
    product = destination / "shop-airbyte"
    shutil.copytree(
        EXAMPLE, product, ignore=shutil.ignore_patterns(".floe", "target", "output", "logs")
    )
    return product


def _floe(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(FLOE), *args], capture_output=True, text=True, timeout=900, check=False
    )


def _query(product: Path, sql: str) -> list[tuple[Any, ...]]:
    with duckdb.connect(str(product / ".floe" / "warehouse.duckdb"), read_only=True) as c:
        return c.execute(sql).fetchall()


def _version(materialization: dg.AssetMaterialization) -> str:
    tags = materialization.tags or {}
    return tags["dagster/data_version"]


def _value(materialization: dg.AssetMaterialization, key: str) -> Any:
    return getattr(materialization.metadata[key], "value", None)


def _instance(product: Path) -> dg.DagsterInstance:
    return dg.DagsterInstance.from_ref(InstanceRef.from_dir(str(product / ".floe" / "dagster")))


def _stream(product: Path, name: str) -> dg.AssetMaterialization:
    with _instance(product) as instance:
        event = instance.get_latest_materialization_event(dg.AssetKey(["shop", name]))
    assert event is not None, name
    assert event.asset_materialization is not None, name
    return event.asset_materialization


@pytest.fixture(scope="module")
def synced(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, Any]]:
    product = _copy(tmp_path_factory.mktemp("airbyte"))
    first = _floe("run", str(product), "--wait", "--json")
    assert first.returncode == 0, first.stderr[-4000:]
    recorded = {
        "summary": json.loads(first.stdout),
        "versions": {s: _version(_stream(product, s)) for s in STREAMS},
        "extracted": _query(product, "select max(_airbyte_extracted_at) from raw.users")[0][0],
    }
    second = _floe("run", str(product), "--wait", "--json")
    assert second.returncode == 0, second.stderr[-4000:]
    recorded["second"] = json.loads(second.stdout)
    return product, recorded


def test_source_faker_feeds_the_dbt_models_in_duckdb(synced: tuple[Path, dict[str, Any]]) -> None:
    product, recorded = synced
    assert recorded["summary"]["status"] == "success"
    materialized = set(recorded["summary"]["assets_materialized"])
    assert {f"shop/{s}" for s in STREAMS} | {"marts/customer_purchases"} <= materialized
    assert _query(product, "select count(*) from raw.users") == [(500,)]
    assert _query(product, "select count(*) from raw.purchases")[0][0] > 0
    # The model built on the sources: one row per user.
    assert _query(product, "select count(*) from main_marts.customer_purchases") == [(500,)]
    assert _query(product, "select sum(purchases) > 0 from main_marts.customer_purchases") == [
        (True,)
    ]
    users = _stream(product, "users")
    assert _value(users, "dagster/row_count") == 500


def test_the_second_sync_loads_nothing_and_keeps_the_data_versions(
    synced: tuple[Path, dict[str, Any]],
) -> None:
    product, recorded = synced
    assert recorded["second"]["status"] == "success"
    for stream in STREAMS:
        materialization = _stream(product, stream)
        assert _value(materialization, "floe/rows_loaded") == 0
        assert _version(materialization) == recorded["versions"][stream]
    # The warehouse copy was left alone: the same rows, extracted at the same time.
    assert _query(product, "select max(_airbyte_extracted_at) from raw.users") == [
        (recorded["extracted"],)
    ]
    state = product / ".floe" / "ingestion" / "shop"
    assert (state / "pyairbyte-cache.duckdb").is_file()
    assert (state / "last-sync.log").is_file()


def test_lineage_reads_airbyte_and_writes_the_warehouse_tables(
    synced: tuple[Path, dict[str, Any]],
) -> None:
    product, _ = synced
    events_file = product / ".floe" / "lineage" / "events.jsonl"
    events = [json.loads(line) for line in events_file.read_text().splitlines() if line]
    ingestion = [e for e in events if e["job"]["name"] == "shop-airbyte.asset.shop"]
    assert [e["eventType"] for e in ingestion] == ["START", "COMPLETE"] * 2
    complete = ingestion[-1]
    assert {(d["namespace"], d["name"]) for d in complete["inputs"]} == {
        ("airbyte://source-faker", s) for s in STREAMS
    }
    assert {d["name"].split(".", 1)[1] for d in complete["outputs"]} == {
        f"raw.{s}" for s in STREAMS
    }
    assert complete["job"]["facets"]["jobType"]["integration"] == "AIRBYTE"
    if VALIDATOR.is_file():
        done = subprocess.run(
            [sys.executable, str(VALIDATOR), str(events_file)],
            capture_output=True,
            text=True,
            check=False,
        )
        assert done.returncode == 0, done.stdout[-3000:]


def test_source_faker_syncs_into_postgres_through_the_platform(
    synced: tuple[Path, dict[str, Any]], tmp_path: Path
) -> None:
    """The product's artifacts with the ingestion landing on a PostgreSQL compute target (its
    own database, dropped afterwards), materialized through load_platform's Dagster plugin and
    the airbyte plugin it finds by its entry point."""
    product, _ = synced
    spec = load_product_spec(product / "floe.yaml").model_dump(mode="json", exclude_unset=True)
    with postgres_database("floe_airbyte") as database:
        # The dbt profile is the source of truth for a compute target (decision 0008): the
        # PostgreSQL target is a second output of the product's profile.
        profile = yaml.safe_load((product / "profiles.yml").read_text(encoding="utf-8"))
        profile["shop_airbyte"]["outputs"]["pg"] = {
            "type": "postgres", "host": PG_HOST, "port": PG_PORT, "dbname": database,
            "user": "postgres", "password": "", "schema": "public", "threads": 1,
        }  # fmt: skip
        (tmp_path / "profiles.yml").write_text(yaml.safe_dump(profile), encoding="utf-8")
        spec["compute"]["targets"]["pg"] = {"dbt_target": "pg"}
        spec["compute"]["default"] = "duckdb"
        spec["ingestion"][0]["destination"] = {"compute": "pg", "schema": "raw"}
        spec["ingestion"][0]["streams"] = list(STREAMS)
        product_file = tmp_path / "floe.yaml"
        product_file.write_text(yaml.safe_dump(spec), encoding="utf-8")
        artifacts = compile_artifacts(
            product / "target" / "manifest.json",
            product=product_file,
            project_dir=product,
            profiles_dir=tmp_path,
        )
        keys = [dg.AssetKey(["shop", s]) for s in STREAMS]
        # The streams only: the dbt sources' tests (checks of these assets) run in dbt's op.
        ingest = dg.define_asset_job(
            "ingest", selection=dg.AssetSelection.assets(*keys).without_checks()
        )
        with load_platform({"orchestrator": "dagster"}) as platform:
            defs = dg.Definitions.merge(
                platform.orchestrator.create_definitions(artifacts), dg.Definitions(jobs=[ingest])
            )
            result = defs.resolve_job_def("ingest").execute_in_process(
                instance=dg.DagsterInstance.ephemeral()
            )
        assert result.success
        connection = pg_connect(database)
        with connection.cursor() as cursor:
            cursor.execute("select count(*) from raw.users")
            assert cursor.fetchone() == (500,)
            cursor.execute("select count(distinct stream_name) from raw._airbyte_state")
            assert cursor.fetchone() == (3,)
        connection.close()
        state = tmp_path / ".floe" / "ingestion" / "shop"
        assert (state / "last-sync.log").is_file()
        assert not (state / "pyairbyte-cache.duckdb").exists()  # PyAirbyte wrote Postgres


def _failed_step(product: Path) -> tuple[int, str]:
    """(how many times the step 'shop' started, its failure message) in the latest run."""
    with _instance(product) as instance:
        (record,) = instance.get_run_records(limit=1)
        events = instance.all_logs(record.dagster_run.run_id)
    starts = [e for e in events if e.dagster_event and e.dagster_event.event_type_value ==
              "STEP_START" and e.step_key == "shop"]  # fmt: skip
    failures = [
        e.dagster_event.step_failure_data.error
        for e in events
        if e.dagster_event and e.dagster_event.event_type_value == "STEP_FAILURE"
    ]
    assert failures, "no step failed"
    return len(starts), str(failures[0])


def test_a_config_the_connector_refuses_fails_the_asset_once(tmp_path: Path) -> None:
    product = _copy(tmp_path)
    text = (product / "floe.yaml").read_text(encoding="utf-8")
    (product / "floe.yaml").write_text(
        text.replace("config: {count: 500,", 'config: {count: "many",'), encoding="utf-8"
    )
    done = _floe("run", str(product), "--wait", "--json")
    assert done.returncode != 0
    assert json.loads(done.stdout)["status"] == "failure"
    starts, message = _failed_step(product)
    assert starts == 1  # retry: {max_retries: 1} in floe.yaml, and no retry was taken
    assert "the connector refused its config" in message


def test_a_stream_the_connector_does_not_offer_fails_naming_those_it_does(
    tmp_path: Path,
) -> None:
    product = _copy(tmp_path)
    sources = product / "models" / "staging" / "sources.yml"
    sources.write_text(
        sources.read_text(encoding="utf-8") + "      - name: pets\n", encoding="utf-8"
    )
    spec = product / "floe.yaml"
    spec.write_text(
        spec.read_text(encoding="utf-8").replace(
            "streams: [users, products, purchases]", "streams: [users, products, purchases, pets]"
        ),
        encoding="utf-8",
    )
    done = _floe("run", str(product), "--wait", "--json")
    assert done.returncode != 0
    starts, message = _failed_step(product)
    assert starts == 1
    assert "pets" in message
    assert "the source offers: products, purchases, users" in message


def test_a_stream_without_a_dbt_source_is_refused_at_compile(
    synced: tuple[Path, dict[str, Any]], tmp_path: Path
) -> None:
    product, _ = synced
    spec = tmp_path / "floe.yaml"
    spec.write_text(
        (product / "floe.yaml")
        .read_text(encoding="utf-8")
        .replace("streams: [users, products, purchases]", "streams: [users, products, purchase]"),
        encoding="utf-8",
    )
    done = _floe(
        "compile",
        "--dbt-manifest",
        str(product / "target" / "manifest.json"),
        "--product",
        str(spec),
        "-o",
        str(tmp_path / "artifacts.json"),
    )
    assert done.returncode == 2, done.stderr
    assert "ingestion[0].streams[2]" in done.stderr
    assert "no dbt source is that table" in done.stderr
    assert "dbt source 'shop.purchases'" in done.stderr  # and the other way round
    assert not (tmp_path / "artifacts.json").exists()
