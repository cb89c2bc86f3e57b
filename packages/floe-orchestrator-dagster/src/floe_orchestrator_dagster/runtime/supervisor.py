"""``DagsterLocalRuntime``: ``dagster-webserver`` and ``dagster-daemon`` supervised by floe.

``start`` (what ``floe up`` runs, blocking):

1. the port check (:func:`~.processes.check_port_free`) — a taken port is
   :class:`~floe_orchestration_core.runtime.PortInUseError` before anything starts; a live
   ``floe up`` of the same product is a :class:`RuntimeServiceError` (``floe down`` first);
2. the product-local ``DAGSTER_HOME`` (:mod:`.home`);
3. ``dagster-webserver -h HOST -p PORT -w workspace.yaml [--read-only]`` and
   ``dagster-daemon run -w workspace.yaml``, each in its own process group, dying with floe,
   output to ``.floe/logs/{webserver,daemon}.log``; ``.floe/runtime.json`` records them;
4. ready when ``GET /server_info`` answers
   (:func:`~floe_orchestrator_dagster.deploy.connection.check_webserver`), polled every 0.5 s
   with a progress line every 10 s, within ``ready_timeout_s``; a service exiting first fails
   the start with the tail of its log;
5. supervision until ``SIGINT``/``SIGTERM``/``SIGHUP`` (``floe down`` sends ``SIGTERM`` to this
   process): each service is polled every 0.5 s.

**Restart policy: none.** A service that exits unexpectedly is reported (with its log tail)
and everything is stopped; ``start`` returns 1. A half-running orchestrator (a UI without the
daemon: schedules silently not ticking) is worse than a clear stop, and restarting loops hide
the cause. Stopping on request returns 0.

**Stopping** (:func:`~.processes.stop_processes`): ``SIGTERM`` to both process groups and every
descendant, up to :data:`STOP_GRACE_S` seconds, then ``SIGKILL``. ``stop`` (``floe down``, from
another process) signals the recorded ``floe up`` and waits for it; when that process is gone
(killed) it stops the recorded groups itself. Both finish within the 65 s budget.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path
from types import FrameType

import attrs
import psutil

from floe_orchestration_core.errors import RuntimeServiceError
from floe_orchestration_core.run_log import RunLog
from floe_orchestration_core.runtime import (
    LocalRuntime,
    PortInUseError,
    ProductWorkspace,
    Progress,
    RuntimeStatus,
    StartOptions,
    StopReport,
)
from floe_orchestrator_dagster.deploy.connection import check_webserver
from floe_orchestrator_dagster.process_lifetime import become_subreaper
from floe_orchestrator_dagster.runtime import processes, state
from floe_orchestrator_dagster.runtime.home import (
    process_environment,
    write_dagster_home,
)
from floe_orchestrator_dagster.runtime.status import runtime_status

__all__ = ["STOP_GRACE_S", "DagsterLocalRuntime", "webserver_url"]

#: Seconds the services get to stop after SIGTERM before SIGKILL.
STOP_GRACE_S = 60.0
_POLL_S = 0.5
_PROGRESS_EVERY_S = 10.0
_LOG_TAIL_CHARS = 4000
_STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)


def webserver_url(host: str, port: int) -> str:
    shown = "127.0.0.1" if host in ("0.0.0.0", "") else host
    shown = f"[{shown}]" if ":" in shown and not shown.startswith("[") else shown
    return f"http://{shown}:{port}"


def _executable(name: str, extra: str) -> str:
    beside = Path(sys.executable).with_name(name)
    if beside.is_file() and os.access(beside, os.X_OK):
        return str(beside)
    found = shutil.which(name)
    if found is None:
        raise RuntimeServiceError(
            f"the {name} command is neither beside {sys.executable} nor on PATH; install it "
            f"with 'pip install floe-orchestrator-dagster[{extra}]'"
        )
    return found


def _log_tail(path: Path) -> str:
    try:
        text = path.read_text(encoding="utf-8", errors="replace")
    except FileNotFoundError:
        return "(no output)"
    return text[-_LOG_TAIL_CHARS:].strip() or "(no output)"


class _Service:
    def __init__(self, name: str, process: subprocess.Popen[bytes], log: Path) -> None:
        self.name = name
        self.process = process
        self.log = log

    def record(self) -> state.ServiceProcess:
        created = psutil.Process(self.process.pid).create_time()
        return state.ServiceProcess(
            name=self.name,
            pid=self.process.pid,
            pgid=self.process.pid,
            create_time=created,
            log=str(self.log),
        )

    def failure(self) -> str:
        return (
            f"dagster {self.name} exited with code {self.process.returncode}; its log "
            f"({self.log}) ends with:\n{_log_tail(self.log)}"
        )


class DagsterLocalRuntime(LocalRuntime):
    """The Dagster webserver and daemon of one product, supervised by ``floe up``."""

    def __init__(self) -> None:
        self._stop_requested = threading.Event()

    def request_stop(self) -> None:
        """Ask a running :meth:`start` (in this process) to stop; safe from any thread."""
        self._stop_requested.set()

    # start ---------------------------------------------------------------------------------
    def _preflight(self, workspace: ProductWorkspace, options: StartOptions) -> None:
        self._refuse_second_instance(workspace)
        processes.check_port_free(options.host, options.port)

    def _start(
        self,
        workspace: ProductWorkspace,
        options: StartOptions,
        on_ready: Callable[[str], None],
        progress: Progress,
    ) -> int:
        self._refuse_second_instance(workspace)
        processes.check_port_free(options.host, options.port)
        webserver = _executable("dagster-webserver", "webserver")
        daemon = _executable("dagster-daemon", "webserver")
        home = write_dagster_home(workspace)
        environment = process_environment(workspace)
        url = webserver_url(options.host, options.port)
        self._stop_requested.clear()
        previous = self._install_signal_handlers()
        become_subreaper()
        services: list[_Service] = []
        try:
            web_command = [
                webserver,
                *("-h", options.host, "-p", str(options.port)),
                *("-w", str(home.workspace_yaml)),
                *(("--read-only",) if options.read_only else ()),
            ]
            for name, command in (
                ("webserver", web_command),
                ("daemon", [daemon, "run", "-w", str(home.workspace_yaml)]),
            ):
                log = home.logs_dir / f"{name}.log"
                log.write_bytes(b"")
                services.append(
                    _Service(
                        name,
                        processes.spawn(command, env=environment, cwd=home.path, log=log),
                        log,
                    )
                )
            state.write_state(
                workspace,
                state.RuntimeState(
                    supervisor=attrs.evolve(state.describe(os.getpid()), name="floe up"),
                    host=options.host,
                    port=options.port,
                    url=url,
                    location=workspace.product_name,
                    started_at=state.now(),
                    services=tuple(s.record() for s in services),
                ),
            )
            if not self._wait_ready(url, options, services, progress):
                return 0  # asked to stop while starting
            on_ready(url)
            return self._supervise(services, progress)
        finally:
            report = processes.stop_processes(
                [s.process.pid for s in services],
                roots=[s.process.pid for s in services],
                children=[s.process for s in services],
                grace=STOP_GRACE_S,
                own_descendants=True,
            )
            if report.was_running:
                progress(
                    f"stopped {len(report.stopped_pids)} process(es) in {report.duration_s:.1f} s"
                    + (f" ({len(report.killed_pids)} killed)" if report.killed_pids else "")
                )
            state.clear_state(workspace, only_if_supervisor=os.getpid())
            self._restore_signal_handlers(previous)

    def _refuse_second_instance(self, workspace: ProductWorkspace) -> None:
        try:
            recorded = state.read_state(workspace)
        except RuntimeServiceError:
            recorded = None
        if recorded is not None and state.is_alive(recorded.supervisor):
            raise RuntimeServiceError(
                f"'floe up' is already running for this product (pid {recorded.supervisor.pid}, "
                f"{recorded.url}); stop it with 'floe down' first"
            )

    def _install_signal_handlers(self) -> dict[int, object]:
        if threading.current_thread() is not threading.main_thread():
            return {}

        def handler(signum: int, frame: FrameType | None) -> None:
            self._stop_requested.set()

        previous: dict[int, object] = {}
        for sig in _STOP_SIGNALS:
            previous[sig] = signal.signal(sig, handler)
        return previous

    def _restore_signal_handlers(self, previous: dict[int, object]) -> None:
        for sig, handler in previous.items():
            with contextlib.suppress(TypeError, ValueError):
                signal.signal(sig, handler)  # type: ignore[arg-type]

    def _wait_ready(
        self, url: str, options: StartOptions, services: list[_Service], progress: Progress
    ) -> bool:
        """Wait until *our* webserver answers ``/server_info``: the port is checked before
        the start, but the webserver binds only after loading the code location (seconds
        later), so another process may take the port meanwhile; an answer counts only when
        the listener is the webserver's process tree (when psutil may look)."""
        from floe_orchestration_core.connectivity import Deadline

        timeout = options.ready_timeout_s
        started = time.monotonic()
        next_note = started + _PROGRESS_EVERY_S
        while not self._stop_requested.is_set():
            for service in services:
                if service.process.poll() is not None:
                    self._raise_start_failure(service, url, options)
            if check_webserver(url, Deadline(2.0)).success and self._listener_is_ours(
                services[0], options.port
            ):
                return True
            now = time.monotonic()
            if now - started > timeout:
                raise RuntimeServiceError(
                    f"the Dagster webserver did not answer {url}/server_info within "
                    f"{timeout:.0f} s; its log ends with:\n"
                    f"{_log_tail(services[0].log)}"
                )
            if now >= next_note:
                progress(f"waiting for the webserver at {url} ({now - started:.0f} s)")
                next_note = now + _PROGRESS_EVERY_S
            self._stop_requested.wait(_POLL_S)
        return False

    @staticmethod
    def _listener_is_ours(webserver: _Service, port: int) -> bool:
        listeners = processes.listener_pids(port)
        if listeners is None:
            return True  # psutil may not look: /server_info answering has to do
        tree = {webserver.process.pid}
        with contextlib.suppress(psutil.Error):
            tree |= {p.pid for p in psutil.Process(webserver.process.pid).children(True)}
        return bool(listeners & tree)

    @staticmethod
    def _raise_start_failure(service: _Service, url: str, options: StartOptions) -> None:
        if "address already in use" in _log_tail(service.log):
            holder = processes.port_holder(options.port)
            raise PortInUseError(
                f"port {options.port} on {options.host} was taken by another process while "
                f"the webserver was starting{', ' + holder if holder else ''}; choose another "
                "port with --port",
                host=options.host,
                port=options.port,
                holder=holder,
            )
        raise RuntimeServiceError(f"{service.failure()}\n(the webserver never answered at {url})")

    def _supervise(self, services: list[_Service], progress: Progress) -> int:
        while not self._stop_requested.wait(_POLL_S):
            for service in services:
                if service.process.poll() is not None:
                    progress(service.failure())
                    progress("stopping every service (floe does not restart a failed service)")
                    return 1
        progress("stopping the services")
        return 0

    # stop ----------------------------------------------------------------------------------
    def _stop(self, workspace: ProductWorkspace, timeout: float) -> StopReport:
        started = time.monotonic()
        recorded = state.read_state(workspace)
        if recorded is None:
            return StopReport(was_running=False)
        pgids = [s.pgid for s in recorded.services if state.is_alive(s)]
        supervisor = recorded.supervisor
        own = supervisor.pid == os.getpid()
        # Everything there is to stop, for the report (the supervisor stops most of it).
        stopped: list[int] = [
            p.pid for p in processes.group_members([s.pgid for s in recorded.services])
        ]
        if not own and state.is_alive(supervisor):
            with contextlib.suppress(ProcessLookupError):
                os.kill(supervisor.pid, signal.SIGTERM)
                stopped.append(supervisor.pid)
            # Poll instead of psutil's wait: an exited ``floe up`` whose parent has not reaped
            # it yet is a zombie, which psutil's wait counts as running.
            waited_until = started + max(1.0, timeout - 3.0)
            while state.is_alive(supervisor) and time.monotonic() < waited_until:
                time.sleep(0.1)
        # Whatever the supervisor left (or everything, when it was killed):
        left = max(1.0, timeout - (time.monotonic() - started) - 1.0)
        report = processes.stop_processes(
            [s.pgid for s in recorded.services],
            roots=[s.pid for s in recorded.services if state.is_alive(s)],
            grace=min(STOP_GRACE_S, left),
        )
        if not state.is_alive(supervisor) or own:
            state.clear_state(workspace, only_if_supervisor=supervisor.pid)
        return StopReport(
            was_running=bool(stopped or pgids or report.was_running),
            stopped_pids=tuple(sorted({*stopped, *report.stopped_pids})),
            killed_pids=report.killed_pids,
            remaining_pids=report.remaining_pids,
            duration_s=time.monotonic() - started,
        )

    # status --------------------------------------------------------------------------------
    def _status(self, workspace: ProductWorkspace) -> RuntimeStatus:
        return runtime_status(workspace)

    def _run_log(self, workspace: ProductWorkspace, run_id: str) -> RunLog:
        from floe_orchestrator_dagster.runtime.run_log import read_run_log

        return read_run_log(workspace, run_id)
