"""``<product>/.floe/runtime.json``: what ``floe up`` started, for ``floe down``/``status``.

The file records the supervisor (the ``floe up`` process) and each service: pid, process
group, the process's start time (``psutil.Process.create_time()``), and its log file.
A pid is trusted only while a process with that pid *and* that start time exists, so a
pid reused by an unrelated process after a crash is never signalled. The file is written
atomically and removed by ``floe up`` when it stops; one left behind by a killed ``floe up``
is recognised as stale (no live recorded process) and replaced or cleared.
"""

from __future__ import annotations

import json
import os
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import attrs
import psutil

from floe_orchestration_core.errors import RuntimeServiceError
from floe_orchestration_core.runtime import ProductWorkspace

__all__ = [
    "STATE_FILE",
    "RuntimeState",
    "ServiceProcess",
    "clear_state",
    "is_alive",
    "read_state",
    "state_path",
    "write_state",
]

STATE_FILE = "runtime.json"
_FORMAT = 1
#: psutil reports create_time rounded to the clock tick; allow that much difference.
_CREATE_TIME_TOLERANCE_S = 0.05


@attrs.frozen
class ServiceProcess:
    name: str
    pid: int
    pgid: int
    create_time: float
    log: str | None = None


@attrs.frozen
class RuntimeState:
    supervisor: ServiceProcess
    host: str
    port: int
    url: str
    location: str
    started_at: datetime
    services: tuple[ServiceProcess, ...] = ()

    def to_json(self) -> dict[str, Any]:
        return {
            "format": _FORMAT,
            "supervisor": attrs.asdict(self.supervisor),
            "host": self.host,
            "port": self.port,
            "url": self.url,
            "location": self.location,
            "started_at": self.started_at.isoformat(),
            "services": [attrs.asdict(s) for s in self.services],
        }

    @classmethod
    def from_json(cls, data: Any) -> RuntimeState:
        try:
            return cls(
                supervisor=ServiceProcess(**data["supervisor"]),
                host=str(data["host"]),
                port=int(data["port"]),
                url=str(data["url"]),
                location=str(data["location"]),
                started_at=datetime.fromisoformat(data["started_at"]),
                services=tuple(ServiceProcess(**s) for s in data["services"]),
            )
        except (KeyError, TypeError, ValueError) as exc:
            raise RuntimeServiceError(
                f"the runtime state file is not one floe wrote ({type(exc).__name__}: {exc}); "
                "stop any leftover processes yourself and delete it"
            ) from exc

    def live_processes(self) -> list[ServiceProcess]:
        """The recorded processes (supervisor included) that are still the ones recorded."""
        return [p for p in (self.supervisor, *self.services) if is_alive(p)]


def state_path(workspace: ProductWorkspace) -> Path:
    return workspace.state_dir / STATE_FILE


def is_alive(process: ServiceProcess) -> bool:
    """Whether the process recorded as ``process`` (same pid and start time) still runs."""
    try:
        proc = psutil.Process(process.pid)
        alive = abs(proc.create_time() - process.create_time) <= _CREATE_TIME_TOLERANCE_S
        return alive and proc.status() != psutil.STATUS_ZOMBIE
    except (psutil.NoSuchProcess, psutil.ZombieProcess):
        return False
    except psutil.AccessDenied:
        return True


def describe(pid: int) -> ServiceProcess:
    """A :class:`ServiceProcess` for a running ``pid`` (name left empty)."""
    proc = psutil.Process(pid)
    return ServiceProcess(name="", pid=pid, pgid=os.getpgid(pid), create_time=proc.create_time())


def read_state(workspace: ProductWorkspace) -> RuntimeState | None:
    """The recorded state, or None when there is no state file."""
    path = state_path(workspace)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return None
    try:
        data = json.loads(text)
    except ValueError as exc:
        raise RuntimeServiceError(
            f"{path} is not JSON ({exc}); stop any leftover processes yourself and delete it"
        ) from exc
    return RuntimeState.from_json(data)


def write_state(workspace: ProductWorkspace, state: RuntimeState) -> None:
    path = state_path(workspace)
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    temporary.write_text(json.dumps(state.to_json(), indent=2) + "\n", encoding="utf-8")
    os.replace(temporary, path)


def clear_state(workspace: ProductWorkspace, *, only_if_supervisor: int | None = None) -> None:
    """Remove the state file (only when it records ``only_if_supervisor``, if given)."""
    path = state_path(workspace)
    if only_if_supervisor is not None:
        try:
            current = read_state(workspace)
        except RuntimeServiceError:
            current = None
        if current is not None and current.supervisor.pid != only_if_supervisor:
            return
    path.unlink(missing_ok=True)


def now() -> datetime:
    return datetime.now(UTC)
