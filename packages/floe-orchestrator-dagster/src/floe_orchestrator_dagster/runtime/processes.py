"""Processes of the local runtime: the port check, spawning, and stopping process trees.

**Port check** (:func:`check_port_free`): binds a socket to ``host:port`` with
``SO_REUSEADDR`` (what the webserver's uvicorn does, so a socket in ``TIME_WAIT`` is not a
conflict) and also tries to connect to it; either failing means the port is taken, which is
:class:`~floe_orchestration_core.runtime.PortInUseError` naming the port and, when psutil
can see it, the process listening there. It never picks another port. Bounded: the connect
attempt has a 1 s timeout and the lookup of the holder is skipped after
:data:`PORT_CHECK_BUDGET_S`.

**Spawning** (:func:`spawn`): each service starts in a new session, so it leads its own
process group (``start_new_session=True``) — the code servers and run workers it starts
join that group, and one ``killpg`` reaches them all. On Linux a ``preexec_fn``
(:mod:`floe_orchestrator_dagster.process_lifetime`) sets
``prctl(PR_SET_PDEATHSIG, SIGTERM)``: when the ``floe up`` process dies — even by
``SIGKILL`` — the kernel sends ``SIGTERM`` to the service, which stops its own children.
(The signal fires when the *thread* that spawned the child exits, so services are spawned
from the main thread.) Other systems have no such call: there, a killed ``floe up`` leaves
the services running; ``floe down`` stops them from ``runtime.json``. The supervisor also
makes itself a child subreaper (``PR_SET_CHILD_SUBREAPER``) so grandchildren orphaned by a
service are re-parented to it and stopped with the rest.

**Stopping** (:func:`stop_processes`): ``SIGTERM`` to every recorded process group and every
descendant, wait up to ``grace`` seconds, then ``SIGKILL`` whatever is left and wait for it.
"""

from __future__ import annotations

import contextlib
import errno
import os
import signal
import socket
import subprocess
import time
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path

import psutil

from floe_orchestration_core.runtime import PortInUseError, StopReport
from floe_orchestrator_dagster.process_lifetime import die_with_parent

__all__ = [
    "PORT_CHECK_BUDGET_S",
    "check_port_free",
    "group_members",
    "listener_pids",
    "port_holder",
    "spawn",
    "stop_processes",
]

#: The port check answers within this many seconds.
PORT_CHECK_BUDGET_S = 5.0


def spawn(
    command: Sequence[str], *, env: Mapping[str, str], cwd: Path, log: Path
) -> subprocess.Popen[bytes]:
    """Start ``command`` in its own process group, output to ``log``, dying with us."""
    log.parent.mkdir(parents=True, exist_ok=True)
    with log.open("ab") as handle:
        return subprocess.Popen(
            list(command),
            cwd=cwd,
            env=dict(env),
            stdin=subprocess.DEVNULL,
            stdout=handle,
            stderr=subprocess.STDOUT,
            start_new_session=True,
            preexec_fn=die_with_parent(),  # noqa: PLW1509
        )


# The port ------------------------------------------------------------------------------------
def port_holder(port: int) -> str | None:
    """``"<name> (pid N): <command line>"`` of the process listening on ``port``, if visible."""
    try:
        connections = psutil.net_connections(kind="inet")
    except (psutil.AccessDenied, OSError):
        return None
    for connection in connections:
        if (
            connection.status == psutil.CONN_LISTEN
            and connection.laddr
            and connection.laddr.port == port
            and connection.pid is not None
        ):
            try:
                proc = psutil.Process(connection.pid)
                command = " ".join(proc.cmdline())[:200]
                return f"{proc.name()} (pid {connection.pid}): {command}"
            except psutil.Error:
                return f"pid {connection.pid}"
    return None


def listener_pids(port: int) -> set[int] | None:
    """Pids listening on TCP ``port``; None when psutil may not look (permissions)."""
    try:
        connections = psutil.net_connections(kind="inet")
    except (psutil.AccessDenied, OSError):
        return None
    return {
        c.pid
        for c in connections
        if c.status == psutil.CONN_LISTEN and c.laddr and c.laddr.port == port and c.pid
    }


def _bind_fails(host: str, port: int) -> OSError | None:
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE)
    except socket.gaierror as exc:
        return exc
    for family, kind, proto, _, address in infos[:2]:
        with socket.socket(family, kind, proto) as sock:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            try:
                sock.bind(address)
            except OSError as exc:
                return exc
    return None


def _connect_succeeds(host: str, port: int) -> bool:
    with contextlib.suppress(OSError), socket.create_connection((host, port), timeout=1.0):
        return True
    return False


def check_port_free(host: str, port: int) -> None:
    """Raise :class:`PortInUseError` when ``host:port`` cannot be listened on."""
    problem = _bind_fails(host, port)
    if isinstance(problem, socket.gaierror):
        raise PortInUseError(
            f"cannot listen on {host}:{port}: the host does not resolve ({problem}); give "
            "--host an address of this machine such as 127.0.0.1",
            host=host,
            port=port,
            holder=None,
        )
    in_use = (problem is not None and problem.errno == errno.EADDRINUSE) or _connect_succeeds(
        host, port
    )
    if problem is not None and not in_use:
        raise PortInUseError(
            f"cannot listen on {host}:{port} ({problem.strerror or problem}); choose another "
            "--host or a --port above 1023",
            host=host,
            port=port,
            holder=None,
        )
    if in_use:
        holder = port_holder(port)
        held_by = f", held by {holder}" if holder else ""
        raise PortInUseError(
            f"port {port} on {host} is already in use{held_by}; stop that process (if it is "
            f"an earlier 'floe up', run 'floe down') or choose another port with --port",
            host=host,
            port=port,
            holder=holder,
        )


# Stopping ------------------------------------------------------------------------------------
def group_members(pgids: Iterable[int]) -> list[psutil.Process]:
    """Live (non-zombie) processes whose process group is one of ``pgids``."""
    wanted = set(pgids)
    members: list[psutil.Process] = []
    for proc in psutil.process_iter():
        try:
            if os.getpgid(proc.pid) in wanted and proc.status() != psutil.STATUS_ZOMBIE:
                members.append(proc)
        except (ProcessLookupError, psutil.Error):
            continue
    return members


def _descendants(pids: Iterable[int]) -> list[psutil.Process]:
    found: list[psutil.Process] = []
    for pid in pids:
        with contextlib.suppress(psutil.Error):
            found.extend(psutil.Process(pid).children(recursive=True))
    return found


def _targets(pgids: Sequence[int], roots: Sequence[int]) -> dict[int, psutil.Process]:
    procs = [*group_members(pgids), *_descendants(roots)]
    for pid in roots:
        with contextlib.suppress(psutil.Error):
            procs.append(psutil.Process(pid))
    own = os.getpid()
    return {p.pid: p for p in procs if p.pid != own and _live(p)}


def _live(proc: psutil.Process) -> bool:
    try:
        return proc.status() != psutil.STATUS_ZOMBIE
    except psutil.Error:
        return False


def _signal_all(pgids: Sequence[int], procs: Iterable[psutil.Process], sig: int) -> None:
    for pgid in pgids:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(pgid, sig)
    for proc in procs:
        with contextlib.suppress(psutil.Error):
            proc.send_signal(sig)


def _reap(children: Sequence[subprocess.Popen[bytes]]) -> None:
    for child in children:
        with contextlib.suppress(subprocess.TimeoutExpired):
            child.wait(timeout=0)


def stop_processes(
    pgids: Sequence[int],
    *,
    roots: Sequence[int] = (),
    children: Sequence[subprocess.Popen[bytes]] = (),
    grace: float = 60.0,
    own_descendants: bool = False,
) -> StopReport:
    """Stop the process groups ``pgids`` and every descendant of ``roots`` (and, with
    ``own_descendants``, of this process): SIGTERM, up to ``grace`` s, then SIGKILL.
    ``children`` (our own Popen objects) are reaped."""
    started = time.monotonic()
    all_roots = [*roots, *([os.getpid()] if own_descendants else [])]
    targets = _targets(pgids, all_roots)
    if not targets:
        _reap(children)
        return StopReport(was_running=False, duration_s=time.monotonic() - started)
    stopped = tuple(sorted(targets))
    _signal_all(pgids, targets.values(), signal.SIGTERM)
    deadline = started + grace
    while time.monotonic() < deadline:
        _reap(children)
        # New descendants (a code server starting during shutdown) are signalled too.
        current = _targets(pgids, all_roots)
        fresh = [p for pid, p in current.items() if pid not in targets]
        if fresh:
            _signal_all((), fresh, signal.SIGTERM)
            targets.update({p.pid: p for p in fresh})
        if not current:
            break
        psutil.wait_procs(list(current.values()), timeout=0.2)
    leftover = _targets(pgids, all_roots)
    killed = tuple(sorted(leftover))
    if leftover:
        _signal_all(pgids, leftover.values(), signal.SIGKILL)
        psutil.wait_procs(list(leftover.values()), timeout=5.0)
    _reap(children)
    remaining = tuple(sorted(_targets(pgids, all_roots)))
    return StopReport(
        was_running=True,
        stopped_pids=stopped,
        killed_pids=killed,
        remaining_pids=remaining,
        duration_s=time.monotonic() - started,
    )
