"""The local-runtime ports: value objects, validation in the template methods, and the
plugin's capability-gated factories."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any, ClassVar

import pytest

from floe_orchestration_core.errors import PluginError, RuntimeServiceError
from floe_orchestration_core.plugin import Capability, PluginMetadata
from floe_orchestration_core.runtime import (
    InstanceStorage,
    LocalRuntime,
    PortInUseError,
    ProductWorkspace,
    Progress,
    RunLauncher,
    RunSummary,
    RuntimeStatus,
    ServiceInfo,
    StartOptions,
    StopReport,
)
from floe_orchestration_core.testing.fakes import InMemoryOrchestrator


def _workspace(tmp_path: Path) -> ProductWorkspace:
    return ProductWorkspace(
        product_dir=tmp_path,
        artifacts_path=tmp_path / ".floe" / "compiled_artifacts.json",
        platform_manifest_path=None,
        storage=InstanceStorage(sqlite_dir=tmp_path / ".floe" / "instance"),
        product_name="shop",
    )


class _RecordingRuntime(LocalRuntime):
    def __init__(self) -> None:
        self.calls: list[tuple[str, Any]] = []

    def _start(
        self,
        workspace: ProductWorkspace,
        options: StartOptions,
        on_ready: Callable[[str], None],
        progress: Progress,
    ) -> int:
        self.calls.append(("start", options))
        on_ready(f"http://{options.host}:{options.port}")
        return 0

    def _stop(self, workspace: ProductWorkspace, timeout: float) -> StopReport:
        self.calls.append(("stop", timeout))
        return StopReport(was_running=False)

    def _status(self, workspace: ProductWorkspace) -> RuntimeStatus:
        return RuntimeStatus(
            product_name=workspace.product_name,
            url=None,
            services=(ServiceInfo(name="webserver", pid=None, running=False),),
            schedules=(),
            sensors=(),
            runs=(),
        )


class _RecordingLauncher(RunLauncher):
    def __init__(self) -> None:
        self.selections: list[str | None] = []

    def _run(
        self, workspace: ProductWorkspace, selection: str | None, wait: bool, progress: Progress
    ) -> RunSummary:
        self.selections.append(selection)
        progress("ran")
        return RunSummary(run_id="r1", status="success", where="in-process")


def test_state_dir_is_the_product_local_floe_folder(tmp_path: Path) -> None:
    assert _workspace(tmp_path).state_dir == tmp_path / ".floe"


@pytest.mark.parametrize(
    ("fields", "missing"),
    [
        ({"kind": "sqlite"}, "sqlite_dir"),
        ({"kind": "postgres", "host": "db", "user": "u", "password_env": "P"}, "database"),
        ({"kind": "postgres", "host": "db", "database": "d", "user": "u"}, "password_env"),
    ],
)
def test_instance_storage_names_what_is_missing(fields: dict[str, Any], missing: str) -> None:
    with pytest.raises(RuntimeServiceError, match=missing):
        InstanceStorage(**fields)


@pytest.mark.parametrize(
    ("options", "message"),
    [
        (StartOptions(port=0), "port must be 1-65535"),
        (StartOptions(port=70_000), "port must be 1-65535"),
        (StartOptions(host=" "), "host must be a non-empty address"),
        (StartOptions(ready_timeout_s=0), "ready_timeout_s"),
        (StartOptions(ready_timeout_s=float("nan")), "ready_timeout_s"),
    ],
)
def test_start_refuses_invalid_options_before_the_adapter_runs(
    tmp_path: Path, options: StartOptions, message: str
) -> None:
    runtime = _RecordingRuntime()
    with pytest.raises(RuntimeServiceError, match=message):
        runtime.start(_workspace(tmp_path), options)
    assert runtime.calls == []


def test_start_passes_valid_options_and_reports_ready(tmp_path: Path) -> None:
    runtime = _RecordingRuntime()
    ready: list[str] = []
    code = runtime.start(_workspace(tmp_path), StartOptions(port=4000), on_ready=ready.append)
    assert (code, ready) == (0, ["http://127.0.0.1:4000"])


@pytest.mark.parametrize("timeout", [0, -1, float("inf"), True])
def test_stop_refuses_a_timeout_that_is_not_positive_seconds(
    tmp_path: Path, timeout: float
) -> None:
    runtime = _RecordingRuntime()
    with pytest.raises(RuntimeServiceError, match="timeout"):
        runtime.stop(_workspace(tmp_path), timeout=timeout)
    assert runtime.calls == []


def test_stop_defaults_to_the_65_second_budget(tmp_path: Path) -> None:
    runtime = _RecordingRuntime()
    runtime.stop(_workspace(tmp_path))
    assert runtime.calls == [("stop", 65.0)]


@pytest.mark.parametrize("selection", ["", "   "])
def test_run_refuses_an_empty_selector(tmp_path: Path, selection: str) -> None:
    launcher = _RecordingLauncher()
    with pytest.raises(RuntimeServiceError, match="dbt-style selector"):
        launcher.run(_workspace(tmp_path), selection=selection)
    assert launcher.selections == []


def test_run_passes_the_selection_and_progress(tmp_path: Path) -> None:
    launcher = _RecordingLauncher()
    lines: list[str] = []
    summary = launcher.run(_workspace(tmp_path), selection="tag:nightly", progress=lines.append)
    assert launcher.selections == ["tag:nightly"]
    assert lines == ["ran"]
    assert summary.succeeded


@pytest.mark.parametrize(
    ("status", "succeeded"),
    [("success", True), ("queued", True), ("failure", False), ("canceled", False)],
)
def test_run_summary_success_follows_the_status(status: Any, succeeded: bool) -> None:
    assert RunSummary(run_id="r", status=status, where="webserver").succeeded is succeeded


def test_runtime_status_is_running_only_when_every_service_runs() -> None:
    up = ServiceInfo(name="webserver", pid=1, running=True)
    down = ServiceInfo(name="daemon", pid=None, running=False)
    common: dict[str, Any] = {"product_name": "p", "url": None, "schedules": (), "sensors": ()}
    assert RuntimeStatus(services=(up,), runs=(), **common).running
    assert not RuntimeStatus(services=(up, down), runs=(), **common).running
    assert not RuntimeStatus(services=(), runs=(), **common).running


def test_port_in_use_error_is_a_runtime_service_error_carrying_the_port() -> None:
    error = PortInUseError("taken", host="127.0.0.1", port=3000, holder="nginx (pid 1)")
    assert isinstance(error, RuntimeServiceError)
    assert (error.port, error.holder) == (3000, "nginx (pid 1)")


# The plugin's factories ------------------------------------------------------------------------
class _WithRuntime(InMemoryOrchestrator):
    metadata = PluginMetadata(name="with_runtime", version="1", floe_api_version="1.0")
    capabilities: ClassVar[frozenset[Capability]] = frozenset(
        {Capability.LOCAL_RUNTIME, Capability.RUN_LAUNCHER}
    )

    def _local_runtime(self) -> LocalRuntime:
        return _RecordingRuntime()

    def _run_launcher(self) -> RunLauncher:
        return _RecordingLauncher()


class _DeclaresButLacksHooks(InMemoryOrchestrator):
    metadata = PluginMetadata(name="no_hooks", version="1", floe_api_version="1.0")
    capabilities: ClassVar[frozenset[Capability]] = frozenset({Capability.LOCAL_RUNTIME})


def test_factories_refuse_an_undeclared_capability() -> None:
    plugin = InMemoryOrchestrator()
    with pytest.raises(PluginError, match="does not provide local_runtime"):
        plugin.local_runtime()
    with pytest.raises(PluginError, match="does not provide run_launcher"):
        plugin.run_launcher()


def test_factories_return_the_adapters_ports_when_declared() -> None:
    plugin = _WithRuntime()
    assert isinstance(plugin.local_runtime(), _RecordingRuntime)
    assert isinstance(plugin.run_launcher(), _RecordingLauncher)


def test_a_declared_capability_without_its_hook_is_a_plugin_error() -> None:
    with pytest.raises(PluginError, match="does not implement _local_runtime"):
        _DeclaresButLacksHooks().local_runtime()


def test_the_runtime_port_imports_only_the_standard_library_and_attrs() -> None:
    probe = (
        "import json, sys; import floe_orchestration_core.runtime; "
        "print(json.dumps(sorted(sys.modules)))"
    )
    done = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, check=True, timeout=120
    )
    loaded = {name.split(".")[0] for name in json.loads(done.stdout)}
    assert not loaded & {"pydantic", "networkx", "opentelemetry", "dagster", "yaml"}


def test_lineage_counts_add_up_or_are_refused() -> None:
    from floe_orchestration_core.runtime import LineageCounts

    counts = LineageCounts(emitted=74, delivered=70, spooled=3, dropped=1)
    summary = RunSummary(run_id="r", status="success", where="in-process", lineage=counts)
    assert summary.lineage == counts
    with pytest.raises(RuntimeServiceError, match="must equal emitted"):
        LineageCounts(emitted=74, delivered=70, spooled=3, dropped=0)
    with pytest.raises(RuntimeServiceError, match="must equal emitted"):
        LineageCounts(emitted=0, delivered=-1, spooled=1, dropped=0)
