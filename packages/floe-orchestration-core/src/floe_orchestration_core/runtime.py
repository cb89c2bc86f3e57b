"""The local-runtime ports: :class:`LocalRuntime` (start/stop/status of the orchestrator's
services on this machine) and :class:`RunLauncher` (a manual run), with their value objects.

An orchestrator adapter that declares :attr:`Capability.LOCAL_RUNTIME
<floe_orchestration_core.plugin_metadata.Capability>` returns a :class:`LocalRuntime` from
its ``_local_runtime()`` hook; one that declares ``RUN_LAUNCHER`` returns a
:class:`RunLauncher` from ``_run_launcher()``. The registry prepares the
:class:`ProductWorkspace` (compiled artifacts, platform manifest, instance storage) and the
``floe up``/``run``/``status``/``down`` commands call these ports.

Implementer's checklist:

1. Subclass :class:`LocalRuntime` and implement the hooks ``_start``, ``_stop`` and
   ``_status``; the public methods validate arguments first (host non-empty, port 1-65535,
   positive timeouts) and are what callers use.

   - ``_start(workspace, options, on_ready)`` blocks: it starts every service, calls
     ``on_ready(url)`` once the orchestrator answers, then supervises until it is asked to
     stop (a signal, or :meth:`LocalRuntime.stop` from another process), stops every
     descendant process and returns an exit code (0 when stopped on request, non-zero
     when a service failed). A port that is already taken is :class:`PortInUseError`
     before anything is started; services are never moved to another port silently.
   - ``_stop(workspace, timeout)`` stops the services started for ``workspace`` (from any
     process) within ``timeout`` seconds and returns a :class:`StopReport`; nothing running
     is not an error.
   - ``_status(workspace)`` → :class:`RuntimeStatus`; works whether or not the services run.
   - optional ``_run_log(workspace, run_id)`` → :class:`~floe_orchestration_core.run_log.RunLog`
     (``floe logs``): one run's events and captured output from the product's instance, a
     unique prefix of the id accepted (checklist in :mod:`floe_orchestration_core.run_log`).
   - optional ``_preflight(workspace, options)``: the cheap checks of ``_start`` (port,
     second instance), called by ``floe up`` before it parses and compiles the product.

2. Subclass :class:`RunLauncher` and implement ``_run(workspace, selection, wait,
   progress)`` → :class:`RunSummary`: through the running services when they are up,
   in-process otherwise (``RunSummary.where`` says which). ``progress`` receives one
   human-readable line per step or asset event.

3. Raise :class:`~floe_orchestration_core.errors.RuntimeServiceError` (or a subclass) for
   anything that stops a service from starting, answering or stopping; the message names
   the service and the fix.

Standard library and ``attrs`` only: the CLI imports this module before any adapter.
"""

from __future__ import annotations

import math
from abc import ABC, abstractmethod
from collections.abc import Callable, Mapping
from datetime import datetime
from pathlib import Path
from typing import Literal

import attrs

from floe_orchestration_core.errors import RuntimeServiceError
from floe_orchestration_core.run_log import RunLog

__all__ = [
    "STATE_DIR_NAME",
    "FailedAsset",
    "InstanceStorage",
    "LineageCounts",
    "LocalRuntime",
    "PortInUseError",
    "ProductWorkspace",
    "RunInfo",
    "RunLauncher",
    "RunSummary",
    "RuntimeStatus",
    "ScheduleInfo",
    "SensorInfo",
    "ServiceInfo",
    "SkippedAsset",
    "StartOptions",
    "StopReport",
]

#: The product-local folder holding compiled artifacts and orchestrator state.
STATE_DIR_NAME = ".floe"

#: A callback receiving one human-readable progress line.
Progress = Callable[[str], None]


class PortInUseError(RuntimeServiceError):
    """The port a service should listen on is taken; ``holder`` describes who holds it."""

    def __init__(self, message: str, *, host: str, port: int, holder: str | None) -> None:
        super().__init__(message)
        self.host = host
        self.port = port
        self.holder = holder


@attrs.frozen
class InstanceStorage:
    """Where the orchestrator keeps runs, events and schedules.

    ``kind == "sqlite"``: files under ``sqlite_dir`` (absolute). ``kind == "postgres"``:
    ``host``/``port``/``database``/``user``; the password is read from the environment
    variable named ``password_env`` by the orchestrator itself (it is never copied).
    """

    kind: Literal["sqlite", "postgres"] = "sqlite"
    sqlite_dir: Path | None = None
    host: str | None = None
    port: int = 5432
    database: str | None = None
    user: str | None = None
    password_env: str | None = None

    def __attrs_post_init__(self) -> None:
        if self.kind == "sqlite" and self.sqlite_dir is None:
            raise RuntimeServiceError("sqlite instance storage needs sqlite_dir (a folder)")
        if self.kind == "postgres":
            missing = [
                name
                for name in ("host", "database", "user", "password_env")
                if not getattr(self, name)
            ]
            if missing:
                raise RuntimeServiceError(
                    f"postgres instance storage needs {', '.join(missing)}; set them under "
                    "'storage' in manifest.yaml"
                )


@attrs.frozen
class ProductWorkspace:
    """A data product prepared for a local runtime: where everything of it is.

    ``environment`` holds the variables the orchestrator's processes need to load the
    product (the registry sets where the artifacts and platform manifest are);
    ``code_location`` is the importable module (attribute ``defs``) that builds the
    orchestrator's definitions from them.
    """

    product_dir: Path
    artifacts_path: Path
    platform_manifest_path: Path | None
    storage: InstanceStorage
    product_name: str
    code_location: str = ""
    environment: Mapping[str, str] = attrs.field(factory=dict)

    @property
    def state_dir(self) -> Path:
        """``<product>/.floe``: compiled artifacts, orchestrator home, runtime state."""
        return self.product_dir / STATE_DIR_NAME


@attrs.frozen
class StartOptions:
    """How ``floe up`` starts the services."""

    host: str = "127.0.0.1"
    port: int = 3000
    read_only: bool = False
    ready_timeout_s: float = 180.0


@attrs.frozen
class StopReport:
    """What :meth:`LocalRuntime.stop` did: the processes it signalled and how it ended."""

    was_running: bool
    stopped_pids: tuple[int, ...] = ()
    killed_pids: tuple[int, ...] = ()
    remaining_pids: tuple[int, ...] = ()
    duration_s: float = 0.0


@attrs.frozen
class ServiceInfo:
    """One service process (with its descendants) of the local runtime."""

    name: str
    pid: int | None
    running: bool
    cpu_percent: float | None = None
    rss_bytes: int | None = None
    processes: int = 0
    url: str | None = None


@attrs.frozen
class ScheduleInfo:
    name: str
    running: bool
    cron: str
    timezone: str
    next_tick: datetime | None


@attrs.frozen
class SensorInfo:
    name: str
    running: bool
    kind: str
    next_tick: datetime | None


@attrs.frozen
class RunInfo:
    """A recent run; ``slow`` when it took longer than the product's slow-run threshold."""

    run_id: str
    job: str
    status: str
    started: datetime | None
    duration_s: float | None
    slow: bool = False
    threshold_s: float | None = None


@attrs.frozen
class RuntimeStatus:
    product_name: str
    url: str | None
    services: tuple[ServiceInfo, ...]
    schedules: tuple[ScheduleInfo, ...]
    sensors: tuple[SensorInfo, ...]
    runs: tuple[RunInfo, ...]
    warnings: tuple[str, ...] = ()

    @property
    def running(self) -> bool:
        """True when every service is running (and there is at least one)."""
        return bool(self.services) and all(s.running for s in self.services)


@attrs.frozen
class LineageCounts:
    """What became of the lineage events a run emitted in this process.

    ``emitted == delivered + spooled + dropped``: ``delivered`` reached the lineage backend,
    ``spooled`` wait in the product's spool for a later delivery (``floe lineage flush``),
    ``dropped`` will never be delivered (refused by the backend, or no room to keep them).
    """

    emitted: int
    delivered: int
    spooled: int
    dropped: int

    def __attrs_post_init__(self) -> None:
        if min(self.emitted, self.delivered, self.spooled, self.dropped) < 0 or (
            self.delivered + self.spooled + self.dropped != self.emitted
        ):
            raise RuntimeServiceError(
                f"inconsistent lineage counts {attrs.asdict(self)}: delivered + spooled + "
                "dropped must equal emitted"
            )


@attrs.frozen
class FailedAsset:
    """An asset (or dbt model, seed, snapshot or test) a run tried and could not build.

    ``error``: the tool's own message (dbt's error for a model); ``log``: the path of the file
    holding the full output, None when no such file was kept.
    """

    name: str
    error: str
    log: str | None = None


@attrs.frozen
class SkippedAsset:
    """An asset a run selected and did not build, and why (``reason``: for example
    ``upstream_failed: fct_orders``, ``canceled``, or ``up_to_date``)."""

    name: str
    reason: str


@attrs.frozen
class RunSummary:
    """The outcome of a manual run.

    ``lineage``: the run's lineage events when they were emitted by this process (an
    in-process run); None when other processes emitted them (a run through the services).
    ``failed``: what the run tried and could not build, each with its error; ``skipped``: what
    it selected and did not build, each with the reason. ``dbt_log``: the file holding dbt's
    whole output of the run, None when none was kept.
    """

    run_id: str
    status: Literal["success", "failure", "queued", "started", "canceled"]
    where: Literal["webserver", "in-process"]
    assets_materialized: tuple[str, ...] = ()
    checks_passed: tuple[str, ...] = ()
    checks_failed: tuple[str, ...] = ()
    failed_steps: tuple[str, ...] = ()
    duration_s: float | None = None
    url: str | None = None
    lineage: LineageCounts | None = None
    failed: tuple[FailedAsset, ...] = ()
    skipped: tuple[SkippedAsset, ...] = ()
    dbt_log: str | None = None

    @property
    def succeeded(self) -> bool:
        """True for a successful run, and for one launched without waiting (queued/started)."""
        return self.status in ("success", "queued", "started")


def _check_timeout(value: float, what: str) -> None:
    if (
        isinstance(value, bool)
        or not isinstance(value, int | float)
        or not math.isfinite(value)
        or value <= 0
    ):
        raise RuntimeServiceError(f"{what} must be a number of seconds above zero; got {value!r}")


def _valid_options(options: StartOptions | None) -> StartOptions:
    options = options or StartOptions()
    if not isinstance(options.host, str) or not options.host.strip():
        raise RuntimeServiceError(f"host must be a non-empty address; got {options.host!r}")
    if isinstance(options.port, bool) or not (
        isinstance(options.port, int) and 1 <= options.port <= 65_535
    ):
        raise RuntimeServiceError(f"port must be 1-65535; got {options.port!r}")
    _check_timeout(options.ready_timeout_s, "ready_timeout_s")
    return options


class LocalRuntime(ABC):
    """Start, stop and inspect the orchestrator's services for one product on this machine."""

    def preflight(self, workspace: ProductWorkspace, options: StartOptions | None = None) -> None:
        """Cheap checks :meth:`start` would fail on (the port is taken, the product already
        runs), so a caller can fail fast before slow preparation such as ``dbt parse``.
        :meth:`start` checks again: the port may be taken in between."""
        self._preflight(workspace, _valid_options(options))

    def start(
        self,
        workspace: ProductWorkspace,
        options: StartOptions | None = None,
        *,
        on_ready: Callable[[str], None] | None = None,
        progress: Progress | None = None,
    ) -> int:
        """Start the services and supervise them until asked to stop; return the exit code.

        ``on_ready(url)`` is called once, when the orchestrator answers. Raises
        :class:`PortInUseError` (before starting anything) when the port is taken, and
        :class:`RuntimeServiceError` when a service cannot start or answer.
        """
        options = _valid_options(options)
        return self._start(workspace, options, on_ready or _ignore, progress or _ignore)

    def stop(self, workspace: ProductWorkspace, timeout: float = 65.0) -> StopReport:
        """Stop every process started for ``workspace`` within ``timeout`` seconds."""
        _check_timeout(timeout, "timeout")
        return self._stop(workspace, float(timeout))

    def status(self, workspace: ProductWorkspace) -> RuntimeStatus:
        """Services, schedules, sensors and recent runs of ``workspace``."""
        return self._status(workspace)

    def run_log(self, workspace: ProductWorkspace, run_id: str) -> RunLog:
        """The events and captured output of the run ``run_id`` (or a unique prefix of it)."""
        if not isinstance(run_id, str) or not run_id.strip():
            raise RuntimeServiceError(
                f"a run id must be the id (or its first characters) 'floe status' lists; got "
                f"{run_id!r}"
            )
        return self._run_log(workspace, run_id.strip())

    def _run_log(self, workspace: ProductWorkspace, run_id: str) -> RunLog:
        """Hook of :meth:`run_log`; the default says the runtime keeps no run logs."""
        raise RuntimeServiceError(
            f"{type(self).__name__} cannot read a run's log; this orchestrator's local runtime "
            "does not provide 'floe logs'"
        )

    def _preflight(  # noqa: B027 (an optional hook: checking nothing is a valid default)
        self, workspace: ProductWorkspace, options: StartOptions
    ) -> None:
        """Hook of :meth:`preflight`; the default checks nothing."""

    @abstractmethod
    def _start(
        self,
        workspace: ProductWorkspace,
        options: StartOptions,
        on_ready: Callable[[str], None],
        progress: Progress,
    ) -> int: ...

    @abstractmethod
    def _stop(self, workspace: ProductWorkspace, timeout: float) -> StopReport: ...

    @abstractmethod
    def _status(self, workspace: ProductWorkspace) -> RuntimeStatus: ...


class RunLauncher(ABC):
    """Launch a manual run of a product (all of it, or a dbt-style selection)."""

    def run(
        self,
        workspace: ProductWorkspace,
        *,
        selection: str | None = None,
        wait: bool = True,
        progress: Progress | None = None,
    ) -> RunSummary:
        """Run ``selection`` (None: everything) and, with ``wait``, wait for the outcome."""
        if selection is not None and (not isinstance(selection, str) or not selection.strip()):
            raise RuntimeServiceError(
                f"selection must be a dbt-style selector such as 'tag:nightly' or '+orders', "
                f"or None for everything; got {selection!r}"
            )
        return self._run(workspace, selection, wait, progress or _ignore)

    @abstractmethod
    def _run(
        self, workspace: ProductWorkspace, selection: str | None, wait: bool, progress: Progress
    ) -> RunSummary: ...


def _ignore(_: str) -> None:
    """A callback that does nothing."""
