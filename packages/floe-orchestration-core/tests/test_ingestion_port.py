"""The ingestion port: template methods, destinations from compute targets, secrets, wiring."""

from __future__ import annotations

import logging
import os
import subprocess
import sys
import threading
import time
from collections.abc import Iterable
from pathlib import Path
from typing import Any, ClassVar

import pytest

from floe_orchestration_core import FLOE_API_VERSION
from floe_orchestration_core.artifacts import ComputeTarget, IngestionConfig
from floe_orchestration_core.errors import (
    IngestionConfigError,
    IngestionError,
    PluginError,
)
from floe_orchestration_core.ingestion import (
    DuckDBDestination,
    IngestionPlugin,
    IngestionRequest,
    IngestionResult,
    PostgresDestination,
    StreamResult,
)
from floe_orchestration_core.ingestion.destinations import (
    destination_for,
    ingestion_request,
    resolved_config,
)
from floe_orchestration_core.lineage import Dataset
from floe_orchestration_core.plugin_metadata import PluginMetadata
from floe_orchestration_core.testing import (
    InMemoryIngestion,
    InMemoryOrchestrator,
    make_artifacts,
    make_ingestion,
    make_source,
    request_for,
)


def _destination(tmp_path: Path) -> DuckDBDestination:
    return DuckDBDestination(compute="default", path=tmp_path / "w.duckdb", schema="raw")


class _Scripted(IngestionPlugin):
    """Returns whatever the test scripts, to hold the template methods to their checks."""

    metadata: ClassVar[PluginMetadata] = PluginMetadata(
        name="scripted", version="0.1.0", floe_api_version=FLOE_API_VERSION
    )

    def __init__(self, answer: Any = None, problems: Iterable[str] = ()) -> None:
        self.answer = answer
        self.problems = list(problems)

    def _check(self, entry: IngestionConfig) -> Iterable[str]:
        return self.problems

    def _run(self, request: IngestionRequest) -> IngestionResult:
        if isinstance(self.answer, BaseException):
            raise self.answer
        return self.answer  # type: ignore[no-any-return]


def _result(*streams: tuple[str, str, int]) -> IngestionResult:
    return IngestionResult(
        streams=tuple(
            StreamResult(stream=s, table=t, rows_loaded=n, rows_total=n, data_version=str(n))
            for s, t, n in streams
        )
    )


def _entry(connector: str = "scripted", **overrides: Any) -> IngestionConfig:
    return make_ingestion("shop", ["users", "orders"], connector=connector, **overrides)


# The template methods -------------------------------------------------------------------------
def test_a_plugin_class_without_metadata_is_refused_at_definition() -> None:
    with pytest.raises(PluginError, match="must set the class attribute 'metadata'"):

        class _NoMetadata(IngestionPlugin):
            def _run(self, request: IngestionRequest) -> IngestionResult:
                raise NotImplementedError


def test_run_returns_a_result_answering_each_stream(tmp_path: Path) -> None:
    plugin = _Scripted(_result(("users", "raw.users", 2), ("orders", "raw.orders", 3)))
    result = plugin.run(request_for(_entry(), _destination(tmp_path), tmp_path))
    assert result.stream("orders").rows_total == 3
    with pytest.raises(KeyError, match="results: users, orders"):
        result.stream("nope")


@pytest.mark.parametrize(
    ("answer", "expected"),
    [
        (None, "must return an IngestionResult"),
        (_result(("users", "raw.users", 2)), "it must answer each of"),
        (_result(("users", "raw.users", 2), ("orders", "raw.wrong", 1)), "expected 'raw.orders'"),
        (_result(("users", "raw.users", -1), ("orders", "raw.orders", 1)), "rows_loaded -1"),
    ],
)
def test_a_result_that_breaks_the_contract_is_a_plugin_error(
    tmp_path: Path, answer: Any, expected: str
) -> None:
    with pytest.raises(PluginError, match=expected):
        _Scripted(answer).run(request_for(_entry(), _destination(tmp_path), tmp_path))


def test_an_unexpected_exception_is_a_retryable_error_without_secrets(tmp_path: Path) -> None:
    plugin = _Scripted(RuntimeError("login as admin:s3cret failed"))
    request = request_for(_entry(), _destination(tmp_path), tmp_path)
    request = IngestionRequest(
        entry=request.entry,
        streams=request.streams,
        config={},
        destination=request.destination,
        state_dir=tmp_path,
        base_dir=tmp_path,
        secrets=frozenset({"s3cret"}),
    )
    with pytest.raises(IngestionError) as caught:
        plugin.run(request)
    assert caught.value.retryable is True
    assert "s3cret" not in str(caught.value)
    assert "admin:***" in str(caught.value)


def test_check_problems_refuse_the_run_before_the_connector_starts(tmp_path: Path) -> None:
    plugin = _Scripted(RuntimeError("must not run"), problems=["config.count: not a number"])
    with pytest.raises(IngestionConfigError, match=r"config\.count: not a number") as caught:
        plugin.run(request_for(_entry(), _destination(tmp_path), tmp_path))
    assert caught.value.retryable is False


def test_a_destination_type_the_plugin_does_not_write_is_refused(tmp_path: Path) -> None:
    class _DuckOnly(_Scripted):
        destination_types = frozenset({"duckdb"})

    postgres = PostgresDestination(
        compute="pg", host="h", port=5432, database="d", user="u", schema="raw"
    )
    with pytest.raises(IngestionConfigError, match="writes to duckdb compute targets"):
        _DuckOnly().run(request_for(_entry(), postgres, tmp_path))


def test_run_and_check_refuse_what_is_not_theirs(tmp_path: Path) -> None:
    plugin = _Scripted()
    with pytest.raises(PluginError, match="takes an IngestionRequest"):
        plugin.run("users")  # type: ignore[arg-type]
    with pytest.raises(PluginError, match="takes an IngestionConfig"):
        plugin.check({"name": "shop"})  # type: ignore[arg-type]


def test_source_datasets_default_to_the_plugin_and_source(tmp_path: Path) -> None:
    datasets = _Scripted().source_datasets(_entry(source="source-faker"), tmp_path)
    assert datasets["users"] == Dataset(namespace="scripted://source-faker", name="users")


def test_the_port_module_imports_no_pydantic() -> None:
    code = (
        "import sys, floe_orchestration_core.ingestion.port as p;"
        "print(sorted(m for m in ('pydantic', 'attrs', 'networkx', 'opentelemetry') "
        "if m in sys.modules))"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=60
    )
    assert done.stdout.strip() == "[]"


# Destinations and config ----------------------------------------------------------------------
def test_a_duckdb_destination_is_the_path_relative_to_the_project(tmp_path: Path) -> None:
    target = ComputeTarget(name="duckdb", type="duckdb", properties={"path": "w/h.duckdb"})
    destination = destination_for(target, "raw", project_dir=tmp_path)
    assert destination == DuckDBDestination(
        compute="duckdb", path=(tmp_path / "w" / "h.duckdb").resolve(), schema="raw"
    )
    assert "raw" in destination.describe()


def test_a_duckdb_destination_needs_a_file(tmp_path: Path) -> None:
    target = ComputeTarget(name="duckdb", type="duckdb", properties={"path": ":memory:"})
    with pytest.raises(IngestionConfigError, match="has no warehouse file"):
        destination_for(target, "raw", project_dir=tmp_path)


def test_a_postgres_destination_reads_its_password_from_the_named_variable(
    tmp_path: Path,
) -> None:
    target = ComputeTarget(
        name="pg",
        type="postgres",
        properties={"host": "db", "dbname": "wh", "user": "loader", "password_env": "PG_PW"},
    )
    destination = destination_for(
        target, "raw", project_dir=tmp_path, environ={"PG_PW": "p@ss word"}
    )
    assert isinstance(destination, PostgresDestination)
    assert (destination.port, destination.database) == (5432, "wh")
    assert destination.url() == "postgresql://loader:p%40ss%20word@db:5432/wh"
    assert "p@ss" not in repr(destination)
    assert "p@ss" not in destination.describe()
    with pytest.raises(IngestionConfigError, match="PG_PW"):
        destination_for(target, "raw", project_dir=tmp_path, environ={})


def test_a_postgres_destination_without_password_uses_a_placeholder_only_when_asked(
    tmp_path: Path,
) -> None:
    target = ComputeTarget(
        name="pg", type="postgres", properties={"host": "h", "database": "d", "user": "u"}
    )
    destination = destination_for(target, "raw", project_dir=tmp_path, environ={})
    assert isinstance(destination, PostgresDestination)
    assert destination.url() == "postgresql://u@h:5432/d"
    assert destination.url(password_placeholder="x") == "postgresql://u:x@h:5432/d"
    assert destination_for(target, "raw", project_dir=tmp_path, environ={"PGPASSWORD": "p"}) == (
        PostgresDestination(
            compute="pg", host="h", port=5432, database="d", user="u", schema="raw", password="p"
        )
    )


@pytest.mark.parametrize(
    ("target", "expected"),
    [
        (ComputeTarget(name="pg", type="postgres", properties={"host": "h"}), "database, user"),
        (
            ComputeTarget(
                name="pg",
                type="postgres",
                properties={"host": "h", "database": "d", "user": "u", "port": "x"},
            ),
            "port 'x' is not a number",
        ),
        (ComputeTarget(name="sf", type="snowflake"), "ingestion lands in duckdb or postgres"),
    ],
)
def test_unusable_compute_targets_say_what_to_set(
    tmp_path: Path, target: ComputeTarget, expected: str
) -> None:
    with pytest.raises(IngestionConfigError, match=expected):
        destination_for(target, "raw", project_dir=tmp_path, environ={})


def test_a_destination_comes_from_the_dbt_profile_dbt_would_use(tmp_path: Path) -> None:
    """floe.yaml names only the dbt target; the connection is the profile's, rendered as dbt
    renders it (env_var included), floe.yaml's properties over it."""
    (tmp_path / "dbt_project.yml").write_text("name: shop\nprofile: shop\n", encoding="utf-8")
    (tmp_path / "profiles.yml").write_text(
        "shop:\n  target: dev\n  outputs:\n"
        "    dev: {type: duckdb, path: .floe/w.duckdb}\n"
        "    pg: {type: postgres, host: db, port: 6543, dbname: wh, user: loader,\n"
        "         password: \"{{ env_var('FLOE_TEST_PG_PW') }}\", schema: public}\n",
        encoding="utf-8",
    )
    os.environ["FLOE_TEST_PG_PW"] = "s3cret"
    try:
        pg = destination_for(
            ComputeTarget(name="pg", type="postgres", dbt_target="pg"),
            "raw",
            project_dir=tmp_path,
            profiles_dir=tmp_path,
            environ={},
        )
    finally:
        del os.environ["FLOE_TEST_PG_PW"]
    assert pg == PostgresDestination(
        compute="pg", host="db", port=6543, database="wh", user="loader", schema="raw",
        password="s3cret",
    )  # fmt: skip
    duck = destination_for(
        ComputeTarget(name="duckdb", type="duckdb"), "raw", project_dir=tmp_path,
        profiles_dir=tmp_path, dbt_target="dev",
    )  # fmt: skip
    assert duck == DuckDBDestination(
        compute="duckdb", path=(tmp_path / ".floe" / "w.duckdb").resolve(), schema="raw"
    )


def test_config_secrets_come_from_the_environment_into_nested_keys() -> None:
    entry = _entry(
        config={"count": 5, "credentials": {"user": "u"}},
        config_env={"api_key": "SHOP_KEY", "credentials.password": "SHOP_PW"},
    )
    config, secrets = resolved_config(entry, {"SHOP_KEY": "k1", "SHOP_PW": "p1"})
    assert config == {"count": 5, "api_key": "k1", "credentials": {"user": "u", "password": "p1"}}
    assert secrets == {"k1", "p1"}
    assert "password" not in entry.config["credentials"]  # type: ignore[operator]


def test_every_unset_secret_variable_is_named_at_once() -> None:
    entry = _entry(config_env={"api_key": "SHOP_KEY", "token": "SHOP_TOKEN"})
    with pytest.raises(IngestionConfigError, match=r"SHOP_KEY .*SHOP_TOKEN") as caught:
        resolved_config(entry, {"SHOP_KEY": ""})
    assert caught.value.retryable is False


def test_a_request_resolves_paths_from_the_artifacts(tmp_path: Path) -> None:
    entry = _entry(base_dir="product", config_env={"api_key": "K"})
    artifacts = make_artifacts(
        compute_targets=[
            ComputeTarget(name="default", type="duckdb", properties={"path": "w.duckdb"})
        ],
        sources=[make_source("raw.users"), make_source("raw.orders")],
        ingestion=[entry],
    )
    log = logging.getLogger("test")
    request = ingestion_request(
        artifacts, entry, cwd=tmp_path, run_id="r1", log=log, environ={"K": "v"}
    )
    assert request.streams == ("users", "orders")
    assert request.base_dir == (tmp_path / "product").resolve()
    assert request.state_dir == request.base_dir / ".floe" / "ingestion" / "shop"
    assert isinstance(request.destination, DuckDBDestination)
    assert request.destination.path == (tmp_path / "w.duckdb").resolve()
    assert request.config == {"api_key": "v"}
    assert request.path("data") == request.base_dir / "data"
    assert "'v'" not in repr(request)
    one = ingestion_request(artifacts, entry, streams=("orders",), cwd=tmp_path, environ={"K": "v"})
    assert one.streams == ("orders",)


# Wiring into the orchestrator plugin -----------------------------------------------------------
def test_an_orchestrator_resolves_ingestion_through_what_it_was_given() -> None:
    plugin = InMemoryOrchestrator()
    with pytest.raises(PluginError, match="built without ingestion plugins"):
        plugin.ingestion_plugin("in_memory")
    fake = InMemoryIngestion()
    plugin.set_ingestion({"in_memory": fake})
    assert plugin.ingestion_plugin("in_memory") is fake
    with pytest.raises(PluginError, match="given: in_memory"):
        plugin.ingestion_plugin("airbyte")
    plugin.set_ingestion(lambda name: fake)
    assert plugin.ingestion_plugin("anything") is fake


def test_a_resolver_that_fails_or_returns_junk_is_a_plugin_error() -> None:
    plugin = InMemoryOrchestrator()

    def broken(name: str) -> IngestionPlugin:
        raise LookupError(f"no {name}")

    plugin.set_ingestion(broken)
    with pytest.raises(PluginError, match="LookupError: no dlt"):
        plugin.ingestion_plugin("dlt")
    plugin.set_ingestion({"dlt": object()})  # type: ignore[dict-item]
    with pytest.raises(PluginError, match="not an IngestionPlugin"):
        plugin.ingestion_plugin("dlt")
    with pytest.raises(PluginError, match="must be a callable"):
        plugin.set_ingestion(42)  # type: ignore[arg-type]


# One run of an entry at a time -------------------------------------------------------------------
class _Slow(_Scripted):
    """Records when each run was inside ``_run``."""

    def __init__(self) -> None:
        super().__init__()
        self.spans: list[tuple[float, float]] = []

    def _run(self, request: IngestionRequest) -> IngestionResult:
        entered = time.monotonic()
        time.sleep(0.3)
        self.spans.append((entered, time.monotonic()))
        return _result(("users", "raw.users", 1), ("orders", "raw.orders", 1))


def test_two_runs_of_one_entry_take_turns(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    plugin = _Slow()
    request = request_for(_entry(), _destination(tmp_path), tmp_path / "state")
    caplog.set_level(logging.INFO, logger="floe.ingestion")
    threads = [threading.Thread(target=plugin.run, args=(request,)) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    (first, second) = sorted(plugin.spans)
    assert second[0] >= first[1]  # the second entered after the first left
    assert "is running in pid" in caplog.text
    assert (tmp_path / "state" / ".lock").read_text(encoding="utf-8") == ""
