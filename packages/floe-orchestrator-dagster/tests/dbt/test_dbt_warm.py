"""The warm dbt server: real dbt commands through the client, as dagster-dbt starts them."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import duckdb
import pytest

from floe_orchestrator_dagster.dbt import warm as dbt_warm
from floe_orchestrator_dagster.dbt.warm_client import ENV_FALLBACK, ENV_SOCKET

DBT = dbt_warm.dbt_executable()
pytestmark = pytest.mark.skipif(
    DBT is None or not hasattr(os, "fork"), reason="needs dbt and fork (POSIX)"
)


@pytest.fixture
def project(tmp_path: Path) -> Path:
    (tmp_path / "models").mkdir()
    (tmp_path / "macros").mkdir()
    (tmp_path / "dbt_project.yml").write_text(
        "name: warm\nprofile: warm\nversion: '1.0'\nconfig-version: 2\n", encoding="utf-8"
    )
    (tmp_path / "profiles.yml").write_text(
        "warm:\n  target: dev\n  outputs:\n    dev:\n      type: duckdb\n"
        f"      path: {tmp_path / 'warm.duckdb'}\n      threads: 1\n",
        encoding="utf-8",
    )
    (tmp_path / "models" / "one.sql").write_text("select 1 as id\n", encoding="utf-8")
    (tmp_path / "macros" / "sleepy.sql").write_text(
        "{% macro sleepy(seconds) %}{% do modules.time.sleep(seconds) %}{% endmacro %}\n",
        encoding="utf-8",
    )
    return tmp_path


@pytest.fixture
def server() -> Iterator[dbt_warm.WarmDbt]:
    assert DBT is not None
    with dbt_warm.WarmDbt(DBT, ["duckdb"]) as warm:
        yield warm


def _env(project: Path) -> dict[str, str]:
    return {
        **os.environ,
        "DBT_LOG_FORMAT": "json",
        "DBT_PROFILES_DIR": str(project),
        "DBT_SEND_ANONYMOUS_USAGE_STATS": "false",
        "PYTHONUNBUFFERED": "1",
    }


def _events(stdout: str) -> list[dict[str, object]]:
    return [json.loads(line) for line in stdout.splitlines() if line.startswith("{")]


def _client(server: dbt_warm.WarmDbt) -> str:
    client = dbt_warm.client_executable()
    assert client == str(server.client)
    return client


def _build(dbt: str, project: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [dbt, "build", "--project-dir", str(project)],
        cwd=project,
        env=_env(project),
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_a_command_through_the_warm_server_is_dbt_in_a_process_of_its_own(
    project: Path, server: dbt_warm.WarmDbt
) -> None:
    done = _build(_client(server), project)
    assert done.returncode == 0, done.stdout + done.stderr
    events = _events(done.stdout)
    nodes = {
        e["data"]["node_info"]["unique_id"]  # type: ignore[index]
        for e in events
        if e["data"].get("node_info")  # type: ignore[attr-defined]
    }
    assert nodes == {"model.warm.one"}
    pids = {e["info"]["pid"] for e in events}  # type: ignore[index]
    assert len(pids) == 1
    assert server.pid not in pids
    with duckdb.connect(str(project / "warm.duckdb"), read_only=True) as connection:
        assert connection.execute("select id from main.one").fetchall() == [(1,)]


def test_exit_status_is_dbt_s_own(project: Path, server: dbt_warm.WarmDbt) -> None:
    (project / "models" / "broken.sql").write_text("select * from no_such_table\n")
    warm = _build(_client(server), project)
    assert DBT is not None
    plain = _build(DBT, project)
    assert plain.returncode == 1
    assert warm.returncode == plain.returncode
    assert any(
        e["info"]["level"] == "error" and "no_such_table" in str(e["info"]["msg"])  # type: ignore[index]
        for e in _events(warm.stdout)
    )


def _assert_real_dbt_answers(client: Path, env: dict[str, str] | None = None) -> None:
    done = subprocess.run(
        [str(client), "--version"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert "Core:" in done.stdout


def test_without_a_server_the_client_runs_the_real_dbt(tmp_path: Path) -> None:
    assert DBT is not None
    with dbt_warm.WarmDbt(DBT) as server:
        env = {**os.environ, ENV_SOCKET: str(tmp_path / "gone.sock"), ENV_FALLBACK: DBT}
        _assert_real_dbt_answers(server.client, env)


def test_a_server_that_died_leaves_the_command_to_the_real_dbt() -> None:
    assert DBT is not None
    with dbt_warm.WarmDbt(DBT) as server:
        os.kill(server.pid, signal.SIGKILL)
        server._server.wait(timeout=10)  # reaped: nobody listens on the socket any more
        _assert_real_dbt_answers(server.client)


def _start_sleeper(project: Path, server: dbt_warm.WarmDbt) -> tuple[subprocess.Popen[str], int]:
    client = subprocess.Popen(
        [
            _client(server),
            "run-operation",
            "sleepy",
            "--args",
            "{seconds: 120}",
            "--project-dir",
            str(project),
        ],
        cwd=project,
        env=_env(project),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    assert client.stdout is not None
    for line in client.stdout:  # the first JSON line names the dbt process
        if line.startswith("{"):
            return client, int(json.loads(line)["info"]["pid"])
    raise AssertionError(f"dbt never started (exit {client.wait()})")


def _gone(pid: int, within: float) -> bool:
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return True
        time.sleep(0.1)
    return False


def test_ctrl_c_of_the_client_interrupts_dbt(project: Path, server: dbt_warm.WarmDbt) -> None:
    client, dbt_pid = _start_sleeper(project, server)
    time.sleep(1.0)
    client.send_signal(signal.SIGINT)
    assert client.wait(timeout=30) != 0
    assert _gone(dbt_pid, within=10)


def test_dbt_does_not_outlive_a_killed_client(project: Path, server: dbt_warm.WarmDbt) -> None:
    client, dbt_pid = _start_sleeper(project, server)
    client.kill()
    client.wait(timeout=10)
    assert _gone(dbt_pid, within=15)


def test_close_stops_the_server_and_restores_the_environment() -> None:
    assert DBT is not None
    before = os.environ.get(ENV_SOCKET)
    server = dbt_warm.WarmDbt(DBT)
    assert os.environ[ENV_SOCKET] == str(server.socket_path)
    pid = server.pid
    server.close()
    assert os.environ.get(ENV_SOCKET) == before
    assert dbt_warm.client_executable() is None
    assert _gone(pid, within=10)
    assert not server.socket_path.parent.exists()


def test_the_server_dies_with_the_process_that_started_it(tmp_path: Path) -> None:
    script = (
        "import sys, time\n"
        "from floe_orchestrator_dagster.dbt import warm as dbt_warm\n"
        f"server = dbt_warm.WarmDbt({DBT!r})\n"
        "print(server.pid, flush=True)\n"
        "time.sleep(120)\n"
    )
    owner = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, text=True)
    assert owner.stdout is not None
    pid = int(owner.stdout.readline())
    owner.kill()
    owner.wait(timeout=10)
    assert _gone(pid, within=10)


def test_dbt_output_never_waits_for_a_slow_reader_and_keeps_every_line_in_order() -> None:
    import threading

    from floe_orchestrator_dagster.dbt.warm import _UnblockedStdout

    read_end, write_end = os.pipe()
    out = _UnblockedStdout(write_end)
    lines = [f'{{"n": {i}, "pad": "{"x" * 200}"}}\n' for i in range(10_000)]  # ~2 MB
    writer = threading.Thread(target=lambda: [out.write(line) for line in lines])
    writer.start()
    writer.join(timeout=30)  # the pipe holds 64 KiB and nobody reads yet
    assert not writer.is_alive()
    received: list[bytes] = []

    def read() -> None:
        while chunk := os.read(read_end, 65536):
            received.append(chunk)

    reader = threading.Thread(target=read)
    reader.start()
    out.close()  # returns once everything is in the pipe
    os.close(write_end)
    reader.join(timeout=30)
    os.close(read_end)
    assert b"".join(received).decode() == "".join(lines)
