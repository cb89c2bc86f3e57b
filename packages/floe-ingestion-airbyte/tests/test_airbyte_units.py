"""The parts of the airbyte connector that need no PyAirbyte: what an entry may say, where the
venvs live, how installs fail, the runner's protocol, the warehouse copy, stopping a group."""

from __future__ import annotations

import io
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import duckdb
import psutil
import pytest

from faker import faker_entry
from floe_ingestion_airbyte import runner
from floe_ingestion_airbyte.__main__ import main as provision_main
from floe_ingestion_airbyte.connector import ConnectorSource
from floe_ingestion_airbyte.environment import (
    AirbyteEnvironment,
    _run,
    cache_root,
    find_python,
)
from floe_ingestion_airbyte.plugin import AirbyteIngestion
from floe_ingestion_airbyte.sync import LOG_FILE, _answer, _stop
from floe_ingestion_airbyte.warehouse import copy_streams
from floe_orchestration_core.errors import IngestionConfigError, IngestionError
from floe_orchestration_core.ingestion import DuckDBDestination
from floe_orchestration_core.testing import request_for


# What an entry may say ------------------------------------------------------------------------
def test_a_source_is_a_pypi_connector_with_an_optional_version() -> None:
    pinned = ConnectorSource.parse("source-faker==7.2.1")
    assert pinned == ConnectorSource(name="source-faker", version="7.2.1")
    assert (pinned.package, pinned.requirement, pinned.executable, pinned.cache_key) == (
        "airbyte-source-faker",
        "airbyte-source-faker==7.2.1",
        "source-faker",
        "source-faker-7.2.1",
    )
    assert ConnectorSource.parse("source-pokeapi").requirement == "airbyte-source-pokeapi"  # type: ignore[union-attr]
    assert ConnectorSource.parse("destination-duckdb") is None
    assert ConnectorSource.parse("source-faker>=7") is None


def test_check_refuses_other_sources_and_stream_options() -> None:
    plugin = AirbyteIngestion()
    assert plugin.check(faker_entry()) == []
    problems = plugin.check(
        faker_entry(source="faker", streams=[{"name": "users", "options": {"cursor": "id"}}])
    )
    assert any("is not an Airbyte source connector" in p for p in problems)
    assert any("streams[0].cursor: airbyte streams take no options" in p for p in problems)


def test_each_stream_is_read_from_the_connector(tmp_path: Path) -> None:
    datasets = AirbyteIngestion().source_datasets(faker_entry(), tmp_path)
    assert (datasets["users"].namespace, datasets["users"].name) == (
        "airbyte://source-faker",
        "users",
    )


# Where the venvs live, how installs fail ------------------------------------------------------
def test_the_cache_folder_follows_the_environment(tmp_path: Path) -> None:
    assert cache_root({"FLOE_AIRBYTE_HOME": str(tmp_path)}) == tmp_path
    assert cache_root({"XDG_CACHE_HOME": str(tmp_path)}) == tmp_path / "floe" / "airbyte"
    assert cache_root({}) == Path.home() / ".cache" / "floe" / "airbyte"


def test_pyairbyte_gets_a_supported_interpreter() -> None:
    python, version = find_python()
    assert (3, 10) <= version <= (3, 12)
    done = subprocess.run([python, "--version"], capture_output=True, text=True, check=True)
    assert done.stdout.startswith(f"Python {version[0]}.{version[1]}")


def test_the_interpreter_can_be_chosen_and_must_fit(tmp_path: Path) -> None:
    chosen, version = find_python({"FLOE_AIRBYTE_PYTHON": sys.executable})
    assert (chosen, version) == (sys.executable, sys.version_info[:2])
    with pytest.raises(IngestionConfigError, match=r"is not a Python 3\.10-3\.12 interpreter"):
        find_python({"FLOE_AIRBYTE_PYTHON": str(tmp_path / "python9")})


def _fails_with(message: str) -> list[str]:
    code = f"import sys; sys.stderr.write({message!r}); sys.exit(1)"
    return [sys.executable, "-c", code]


def test_a_connector_the_index_does_not_have_is_a_configuration_error() -> None:
    command = _fails_with("No matching distribution found for airbyte-source-nope==1")
    with pytest.raises(IngestionConfigError, match="the package index has no such release"):
        _run(command, what="connector source-nope", requirement="airbyte-source-nope==1")


def test_an_unreachable_index_is_retryable_and_says_how_to_prepare() -> None:
    with pytest.raises(IngestionError, match="floe_ingestion_airbyte provision") as caught:
        _run(_fails_with("Connection refused"), what="PyAirbyte", requirement="airbyte==0.71.3")
    assert caught.value.retryable is True


def test_a_half_made_venv_is_not_ready(tmp_path: Path) -> None:
    environment = AirbyteEnvironment(root=tmp_path)
    (tmp_path / "venv" / "bin").mkdir(parents=True)
    assert not environment.is_ready(tmp_path / "venv")
    (tmp_path / "venv" / ".floe-ready").write_text("{}", encoding="utf-8")
    assert environment.is_ready(tmp_path / "venv")


def test_provision_refuses_what_is_not_a_source(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        provision_main(["provision", "source-faker>=7"])
    assert "is not an Airbyte source" in capsys.readouterr().err


# The runner's protocol ------------------------------------------------------------------------
def test_the_runner_redacts_secrets_from_its_answers() -> None:
    line = runner.answer_error("config", "token abc123 and abc1234 refused", ["abc123", "abc1234"])
    assert json.loads(line) == {
        "ok": False,
        "kind": "config",
        "message": "token *** and *** refused",
    }


def test_the_runner_answers_a_request_that_is_not_json(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(sys, "stdin", io.StringIO("{not json"))
    out = io.StringIO()
    monkeypatch.setattr(sys, "stdout", out)
    assert runner.main() == 1
    assert json.loads(out.getvalue().splitlines()[-1])["kind"] == "connector"


def test_the_runner_outside_pyairbyte_answers_a_connector_error(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setitem(sys.modules, "airbyte", None)  # as in floe's own environment
    monkeypatch.setattr(sys, "stdin", io.StringIO(json.dumps({"secrets": []})))
    out = io.StringIO()
    monkeypatch.setattr(sys, "stdout", out)
    assert runner.main() == 1
    answer = json.loads(out.getvalue().splitlines()[-1])
    assert answer["kind"] == "connector"
    assert "airbyte" in answer["message"]


def _request(tmp_path: Path):  # type: ignore[no-untyped-def]
    destination = DuckDBDestination(compute="duckdb", path=tmp_path / "w.duckdb", schema="raw")
    return request_for(faker_entry(), destination, tmp_path)


@pytest.mark.parametrize(
    ("answer", "error", "expected"),
    [
        ({"ok": False, "kind": "config", "message": "bad"}, IngestionConfigError, "refused"),
        ({"ok": False, "kind": "stream", "message": "x"}, IngestionConfigError, "not offered"),
        ({"ok": False, "kind": "connector", "message": "boom"}, IngestionError, "sync failed"),
    ],
)
def test_error_answers_become_floe_errors(
    tmp_path: Path, answer: dict[str, object], error: type[Exception], expected: str
) -> None:
    with pytest.raises(error, match=expected):
        _answer(_request(tmp_path), 1, "progress\n" + json.dumps(answer) + "\n")


def test_no_answer_quotes_the_end_of_pyairbyte_s_log(tmp_path: Path) -> None:
    (tmp_path / LOG_FILE).write_text("...\nSegmentation fault\n", encoding="utf-8")
    with pytest.raises(IngestionError, match="Segmentation fault") as caught:
        _answer(_request(tmp_path), -11, "")
    assert caught.value.retryable is True


# The warehouse copy ---------------------------------------------------------------------------
def _cache(path: Path, rows: int) -> None:
    with duckdb.connect(str(path)) as connection:
        connection.execute("create schema if not exists raw")
        connection.execute(
            "create or replace table raw.users as select range as id, "
            "timestamp '2026-01-01' + to_seconds(range) as _airbyte_extracted_at "
            f"from range({rows})"
        )


def test_streams_are_copied_into_the_warehouse_once_per_change(tmp_path: Path) -> None:
    cache, warehouse = tmp_path / "cache.duckdb", tmp_path / "w.duckdb"
    _cache(cache, 5)
    assert copy_streams(cache, warehouse, "raw", {"users": "users"}) == {"users": True}
    assert copy_streams(cache, warehouse, "raw", {"users": "users"}) == {"users": False}
    _cache(cache, 8)
    assert copy_streams(cache, warehouse, "raw", {"users": "users"}) == {"users": True}
    with duckdb.connect(str(warehouse), read_only=True) as connection:
        assert connection.execute("select count(*) from raw.users").fetchone() == (8,)
    with pytest.raises(IngestionError, match=r"holds no table raw\.orders"):
        copy_streams(cache, warehouse, "raw", {"orders": "orders"})


def test_a_warehouse_held_by_another_writer_is_named(tmp_path: Path) -> None:
    cache, warehouse = tmp_path / "cache.duckdb", tmp_path / "w.duckdb"
    _cache(cache, 1)
    holder = subprocess.Popen(
        [sys.executable, "-c", "import duckdb, sys, time; c = duckdb.connect(sys.argv[1]); "
         "print('held', flush=True); time.sleep(60)", str(warehouse)],
        stdout=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        assert holder.stdout is not None
        assert holder.stdout.readline().strip() == "held"
        with pytest.raises(IngestionError, match="another program holds it"):
            copy_streams(cache, warehouse, "raw", {"users": "users"})
    finally:
        holder.kill()
        holder.wait()


# Stopping a sync ------------------------------------------------------------------------------
def test_stopping_a_sync_stops_its_whole_process_group() -> None:
    code = (
        "import subprocess, sys, time;"
        "child = subprocess.Popen([sys.executable, '-c', 'import time; time.sleep(120)']);"
        "print(child.pid, flush=True); time.sleep(120)"
    )
    process = subprocess.Popen(
        [sys.executable, "-c", code], stdout=subprocess.PIPE, start_new_session=True
    )
    assert process.stdout is not None
    child = psutil.Process(int(process.stdout.readline()))
    started = time.monotonic()
    _stop(process)
    assert process.returncode == -signal.SIGTERM
    psutil.wait_procs([child], timeout=10)
    assert not child.is_running() or child.status() == psutil.STATUS_ZOMBIE
    assert time.monotonic() - started < 10
    assert os.getpgid(os.getpid()) != process.pid  # the test's own group was left alone
