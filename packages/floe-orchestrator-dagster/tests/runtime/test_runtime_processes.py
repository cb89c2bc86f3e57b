"""The local runtime's processes: the port check, the state file, stopping process groups
(SIGTERM then SIGKILL), children dying with their parent, and ``stop`` from another process."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import textwrap
import time
from collections.abc import Iterator
from pathlib import Path

import psutil
import pytest

from floe_orchestration_core.errors import RuntimeServiceError
from floe_orchestration_core.runtime import (
    InstanceStorage,
    PortInUseError,
    ProductWorkspace,
    StartOptions,
)
from floe_orchestrator_dagster.runtime import processes, state
from floe_orchestrator_dagster.runtime.supervisor import DagsterLocalRuntime

SLEEPER = [sys.executable, "-c", "import time; time.sleep(300)"]
IGNORES_TERM = [
    sys.executable,
    "-c",
    "import signal, time; signal.signal(signal.SIGTERM, signal.SIG_IGN); print('ok', flush=True); "
    "time.sleep(300)",
]


def _workspace(tmp_path: Path) -> ProductWorkspace:
    return ProductWorkspace(
        product_dir=tmp_path,
        artifacts_path=tmp_path / ".floe" / "compiled_artifacts.json",
        platform_manifest_path=None,
        storage=InstanceStorage(sqlite_dir=tmp_path / ".floe" / "instance"),
        product_name="shop",
        code_location="floe_registry.code_location",
    )


def _alive(pid: int) -> bool:
    try:
        return psutil.Process(pid).status() != psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return False


def _wait_gone(pids: list[int], seconds: float) -> list[int]:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        alive = [pid for pid in pids if _alive(pid)]
        if not alive:
            return []
        time.sleep(0.1)
    return [pid for pid in pids if _alive(pid)]


@pytest.fixture
def listener() -> Iterator[tuple[str, int]]:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen()
        yield "127.0.0.1", sock.getsockname()[1]


@pytest.fixture
def spawned(tmp_path: Path) -> Iterator[list[subprocess.Popen[bytes]]]:
    started: list[subprocess.Popen[bytes]] = []
    yield started
    for process in started:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait(timeout=10)


def _spawn(
    spawned: list[subprocess.Popen[bytes]], command: list[str], tmp_path: Path
) -> subprocess.Popen[bytes]:
    log = tmp_path / f"log-{len(spawned)}.txt"
    process = processes.spawn(command, env=dict(os.environ), cwd=tmp_path, log=log)
    spawned.append(process)
    return process


# The port ------------------------------------------------------------------------------------
def test_a_taken_port_is_a_typed_error_naming_port_and_holder_within_5_seconds(
    listener: tuple[str, int],
) -> None:
    host, port = listener
    started = time.monotonic()
    with pytest.raises(PortInUseError) as caught:
        processes.check_port_free(host, port)
    elapsed = time.monotonic() - started
    assert elapsed < processes.PORT_CHECK_BUDGET_S, f"took {elapsed:.1f} s"
    assert caught.value.port == port
    assert f"port {port} on {host} is already in use" in str(caught.value)
    assert "--port" in str(caught.value)
    # psutil can see our own listening socket: the message names this process.
    assert caught.value.holder is not None
    assert f"pid {os.getpid()}" in caught.value.holder


def test_a_free_port_passes_the_check() -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    processes.check_port_free("127.0.0.1", port)


def test_an_unresolvable_host_is_a_typed_error() -> None:
    with pytest.raises(PortInUseError, match="does not resolve"):
        processes.check_port_free("no-such-host.invalid", 3000)


def test_start_refuses_a_taken_port_before_starting_anything(
    tmp_path: Path, listener: tuple[str, int]
) -> None:
    host, port = listener
    with pytest.raises(PortInUseError):
        DagsterLocalRuntime().start(_workspace(tmp_path), StartOptions(host=host, port=port))
    assert not state.state_path(_workspace(tmp_path)).exists()
    assert not (tmp_path / ".floe" / "logs").exists()


# The state file ------------------------------------------------------------------------------
def test_state_round_trips_and_recognises_live_processes(
    tmp_path: Path, spawned: list[subprocess.Popen[bytes]]
) -> None:
    workspace = _workspace(tmp_path)
    child = _spawn(spawned, SLEEPER, tmp_path)
    recorded = state.RuntimeState(
        supervisor=state.describe(os.getpid()),
        host="127.0.0.1",
        port=3000,
        url="http://127.0.0.1:3000",
        location="shop",
        started_at=state.now(),
        services=(state.describe(child.pid),),
    )
    state.write_state(workspace, recorded)
    again = state.read_state(workspace)
    assert again == recorded
    assert [p.pid for p in again.live_processes()] == [os.getpid(), child.pid]
    assert again.services[0].pgid == child.pid  # its own process group


def test_a_reused_pid_is_not_the_recorded_process(tmp_path: Path) -> None:
    me = state.describe(os.getpid())
    impostor = state.ServiceProcess(
        name="webserver", pid=me.pid, pgid=me.pgid, create_time=me.create_time - 1000
    )
    assert state.is_alive(me)
    assert not state.is_alive(impostor)


def test_an_unreadable_state_file_is_a_typed_error_saying_what_to_do(tmp_path: Path) -> None:
    workspace = _workspace(tmp_path)
    state.state_path(workspace).parent.mkdir(parents=True)
    state.state_path(workspace).write_text("{not json")
    with pytest.raises(RuntimeServiceError, match="delete it"):
        state.read_state(workspace)
    state.state_path(workspace).write_text(json.dumps({"format": 1}))
    with pytest.raises(RuntimeServiceError, match="not one floe wrote"):
        state.read_state(workspace)


def test_a_second_up_of_a_running_product_is_refused(tmp_path: Path) -> None:
    workspace = _workspace(tmp_path)
    state.write_state(
        workspace,
        state.RuntimeState(
            supervisor=state.describe(os.getpid()),
            host="127.0.0.1",
            port=3999,
            url="http://127.0.0.1:3999",
            location="shop",
            started_at=state.now(),
        ),
    )
    with pytest.raises(RuntimeServiceError, match=r"already running.*floe down"):
        DagsterLocalRuntime().start(workspace, StartOptions(port=3999))


# Stopping ------------------------------------------------------------------------------------
def test_stop_processes_ends_the_whole_group_including_grandchildren(
    tmp_path: Path, spawned: list[subprocess.Popen[bytes]]
) -> None:
    script = "import subprocess, sys, time; subprocess.Popen([sys.executable, '-c', " + (
        "'import time; time.sleep(300)']); time.sleep(300)"
    )
    leader = _spawn(spawned, [sys.executable, "-c", script], tmp_path)
    deadline = time.monotonic() + 30
    while len(processes.group_members([leader.pid])) < 2 and time.monotonic() < deadline:
        time.sleep(0.1)
    members = [p.pid for p in processes.group_members([leader.pid])]
    assert len(members) == 2
    report = processes.stop_processes([leader.pid], roots=[leader.pid], children=[leader])
    assert report.was_running
    assert set(members) <= set(report.stopped_pids)
    assert report.killed_pids == ()
    assert report.remaining_pids == ()
    assert _wait_gone(members, 5) == []


def test_stop_processes_kills_what_ignores_sigterm_after_the_grace(
    tmp_path: Path, spawned: list[subprocess.Popen[bytes]]
) -> None:
    stubborn = _spawn(spawned, IGNORES_TERM, tmp_path)
    deadline = time.monotonic() + 30
    while "ok" not in (tmp_path / "log-0.txt").read_text() and time.monotonic() < deadline:
        time.sleep(0.1)
    report = processes.stop_processes([stubborn.pid], children=[stubborn], grace=1.0)
    assert report.killed_pids == (stubborn.pid,)
    assert report.remaining_pids == ()
    assert not _alive(stubborn.pid)


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="PR_SET_PDEATHSIG is Linux")
def test_a_service_dies_when_the_process_that_spawned_it_is_killed(tmp_path: Path) -> None:
    parent_code = textwrap.dedent(
        f"""
        import os, sys, time
        from pathlib import Path
        from floe_orchestrator_dagster.runtime.processes import spawn
        child = spawn({SLEEPER!r}, env=dict(os.environ), cwd=Path({str(tmp_path)!r}),
                      log=Path({str(tmp_path / "child.log")!r}))
        print(child.pid, flush=True)
        time.sleep(300)
        """
    )
    parent = subprocess.Popen(
        [sys.executable, "-c", parent_code], stdout=subprocess.PIPE, text=True
    )
    try:
        assert parent.stdout is not None
        child_pid = int(parent.stdout.readline())
        assert _alive(child_pid)
        parent.kill()  # SIGKILL: no handler of the parent runs
        parent.wait(timeout=10)
        assert _wait_gone([child_pid], 10) == [], "the child outlived its killed parent"
    finally:
        if parent.poll() is None:
            parent.kill()
            parent.wait(timeout=10)


def test_stop_from_another_process_ends_recorded_groups_of_a_killed_supervisor(
    tmp_path: Path, spawned: list[subprocess.Popen[bytes]]
) -> None:
    workspace = _workspace(tmp_path)
    web, daemon = _spawn(spawned, SLEEPER, tmp_path), _spawn(spawned, SLEEPER, tmp_path)
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead_record = state.describe(dead.pid)
    dead.wait(timeout=30)
    state.write_state(
        workspace,
        state.RuntimeState(
            supervisor=dead_record,
            host="127.0.0.1",
            port=3000,
            url="http://127.0.0.1:3000",
            location="shop",
            started_at=state.now(),
            services=(state.describe(web.pid), state.describe(daemon.pid)),
        ),
    )
    report = DagsterLocalRuntime().stop(workspace, timeout=20)
    assert report.was_running
    assert {web.pid, daemon.pid} <= set(report.stopped_pids)
    assert report.remaining_pids == ()
    web.wait(timeout=10)
    daemon.wait(timeout=10)
    assert state.read_state(workspace) is None


def test_stop_with_nothing_recorded_is_not_an_error(tmp_path: Path) -> None:
    report = DagsterLocalRuntime().stop(_workspace(tmp_path))
    assert not report.was_running
