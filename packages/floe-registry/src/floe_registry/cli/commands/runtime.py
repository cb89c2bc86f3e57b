"""The local-runtime commands: ``floe up``, ``floe run``, ``floe status``, ``floe down``.

Each takes ``PRODUCT_DIR`` (default ``.``) and ``--manifest``; the product is located (and,
for ``up`` and ``run``, parsed and compiled) by
:func:`floe_registry.product_workspace.prepare_product`, whose platform manifest lookup is
``--manifest``, else ``<product>/manifest.yaml``, else ``./manifest.yaml``, else defaults.
The orchestrator the product's manifest selects must declare the capability
(``local_runtime`` for up/status/down, ``run_launcher`` for run).

``floe run`` works in the product folder (as the services' code server does), so relative
paths in ``manifest.yaml`` mean the same for in-process runs and for runs of the services.

Output: progress lines go to stderr, results to stdout (JSON with ``--json``; ``floe up``
prints one JSON object when ready and one when stopped). ``floe run`` draws its progress with
:class:`~floe_registry.cli.run_view.RunView` (a live status line on a terminal) and keeps what
the run prints off the terminal unless ``--debug``. Exit codes: ``up`` 0 when stopped
on request, 1 when a service failed; ``run`` 0 when the run succeeded (or was queued without
``--wait``), 1 when it failed; ``status`` and ``down`` 0.
"""

from __future__ import annotations

import argparse
import contextlib
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

import attrs

from floe_registry.cli.command import EXIT_CHECK_FAILED, EXIT_OK, Command, Invocation
from floe_registry.cli.command import require_capability as _require
from floe_registry.cli.run_view import (
    RunView,
    process_started,
    run_stdout_aside,
    view_stream,
)
from floe_registry.cli.tables import render_table

if TYPE_CHECKING:
    from floe_orchestration_core.runtime import (
        LineageCounts,
        ProductWorkspace,
        RunSummary,
        RuntimeStatus,
    )
    from floe_registry.platform import Platform

__all__ = ["COMMANDS"]


def _product_argument(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "product_dir",
        metavar="PRODUCT_DIR",
        nargs="?",
        default=".",
        help="the data product folder (floe.yaml and the dbt project; default: .)",
    )


def _progress(invocation: Invocation) -> Any:
    def say(line: str) -> None:
        invocation.stderr.write(f"floe: {line}\n")
        invocation.stderr.flush()

    return say


def _json_ready(value: Any) -> Any:
    if attrs.has(type(value)):
        return {k: _json_ready(v) for k, v in attrs.asdict(value, recurse=False).items()}
    if isinstance(value, tuple | list):
        return [_json_ready(v) for v in value]
    if isinstance(value, dict):
        return {k: _json_ready(v) for k, v in value.items()}
    return value


def _megabytes(value: int | None) -> str:
    return "-" if value is None else f"{value / 1_048_576:.0f} MiB"


# up ------------------------------------------------------------------------------------------
def _configure_up(parser: argparse.ArgumentParser) -> None:
    _product_argument(parser)
    parser.add_argument("--port", type=int, default=3000, help="webserver port (default 3000)")
    parser.add_argument(
        "--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1)"
    )
    parser.add_argument(
        "--read-only", action="store_true", help="a webserver that cannot launch or change runs"
    )
    parser.add_argument(
        "--ready-timeout",
        type=float,
        default=180.0,
        metavar="S",
        help="seconds to wait for the webserver to answer (default 180)",
    )


def _run_up(invocation: Invocation) -> int:
    from floe_orchestration_core.plugin_metadata import Capability
    from floe_orchestration_core.runtime import StartOptions
    from floe_registry.product_workspace import locate_product, prepare_product

    args = invocation.args
    progress = _progress(invocation)
    options = StartOptions(
        host=args.host,
        port=args.port,
        read_only=args.read_only,
        ready_timeout_s=args.ready_timeout,
    )
    # Fail fast (a taken port, a product already up) before dbt parse and compile.
    located, located_platform = locate_product(
        args.product_dir, manifest=args.manifest, command="up"
    )
    with located_platform:
        _require(located_platform, Capability.LOCAL_RUNTIME, "up")
        located_platform.orchestrator.local_runtime().preflight(located, options)
    workspace, platform = prepare_product(
        args.product_dir, manifest=args.manifest, progress=progress
    )
    with platform:
        _require(platform, Capability.LOCAL_RUNTIME, "up")
        runtime = platform.orchestrator.local_runtime()

        def ready(url: str) -> None:
            invocation.emit(
                f"{workspace.product_name} is up: {url}  (Ctrl-C or 'floe down "
                f"{args.product_dir}' stops it)",
                {"event": "ready", "product": workspace.product_name, "url": url},
            )
            invocation.stdout.flush()

        code = runtime.start(workspace, options, on_ready=ready, progress=progress)
        invocation.emit(
            f"{workspace.product_name} stopped" + ("" if code == 0 else " (a service failed)"),
            {"event": "stopped", "product": workspace.product_name, "exit_code": code},
        )
        return code


# run -----------------------------------------------------------------------------------------
def _configure_run(parser: argparse.ArgumentParser) -> None:
    _product_argument(parser)
    parser.add_argument(
        "--select",
        metavar="SELECTOR",
        help="dbt-style selector of the transforms to run ('tag:nightly', '+orders'); "
        "default: every asset",
    )
    parser.add_argument(
        "--wait",
        action="store_true",
        help="through a running webserver: wait for the run to finish (in-process runs always "
        "wait)",
    )


def _summary_text(summary: RunSummary, product_dir: str = ".", wall_s: float | None = None) -> str:
    """The human summary; ``wall_s``: the command's wall time, shown instead of the run's."""
    took = summary.duration_s if wall_s is None else wall_s
    duration = "" if took is None else f" in {took:.1f} s"
    lines = [
        f"run {summary.run_id} ({summary.where}): {summary.status.upper()}{duration}",
        f"  assets materialized: {len(summary.assets_materialized)}",
        f"  checks passed: {len(summary.checks_passed)}, failed: {len(summary.checks_failed)}",
    ]
    lines += [f"  failed check: {name}" for name in summary.checks_failed]
    lines += [f"  failed step: {step}" for step in summary.failed_steps]
    lines += _lineage_lines(summary, product_dir)
    if summary.dbt_log:
        lines.append(f"  dbt log: {_shown_path(summary.dbt_log)}")
    if not summary.succeeded and summary.where == "in-process":
        lines.append(
            f"  full log: floe logs {summary.run_id[:8]} {product_dir} (tracebacks: --debug)"
        )
    if summary.url:
        lines.append(f"  {summary.url}")
    return "\n".join(lines)


def _shown_path(path: str) -> str:
    """``path`` relative to the working directory when it is under it, else as it is."""
    with contextlib.suppress(ValueError):
        return str(Path(path).relative_to(Path.cwd()))
    return path


def _lineage_lines(summary: RunSummary, product_dir: str) -> list[str]:
    counts = summary.lineage
    if counts is None:
        return []
    if counts.delivered == counts.emitted:
        return [f"  lineage: {counts.emitted} event(s), all delivered"]
    line = (
        f"  lineage: {counts.emitted} event(s): {counts.delivered} delivered, "
        f"{counts.spooled} spooled, {counts.dropped} dropped"
    )
    if counts.spooled:
        line += (
            f"; the spooled ones wait in {product_dir}/.floe/lineage/spool for "
            f"'floe lineage flush {product_dir}' (or the next run, or 'floe up')"
        )
    return [line]


def _lineage_counts(platform: Platform, summary: RunSummary) -> LineageCounts | None:
    """What became of the run's lineage events, when this process emitted them."""
    from floe_orchestration_core.runtime import LineageCounts

    if summary.where != "in-process" or platform.manifest.lineage is None:
        return None
    stats = platform.lineage_backend.stats()
    return LineageCounts(
        emitted=stats.emitted,
        delivered=stats.delivered,
        spooled=stats.spooled + stats.pending,
        dropped=stats.dropped,
    )


def _run_run(invocation: Invocation) -> int:
    from floe_registry.product_workspace import find_platform_manifest

    args = invocation.args
    started = process_started()
    product_dir = Path(args.product_dir).resolve()
    manifest = find_platform_manifest(product_dir, args.manifest)  # before changing folder
    with view_stream(invocation.stderr) as stderr:
        view = RunView(stderr, started=started)
        summary, platform = _run_viewed(invocation, view, product_dir, manifest)
    # The platform is closed: what lineage could not deliver is counted as spooled now.
    summary = attrs.evolve(summary, lineage=_lineage_counts(platform, summary))
    data = {**_json_ready(summary), "succeeded": summary.succeeded}
    wall_s = time.monotonic() - started
    invocation.emit(_summary_text(summary, args.product_dir, wall_s), data)
    return EXIT_OK if summary.succeeded else EXIT_CHECK_FAILED


def _run_viewed(
    invocation: Invocation, view: RunView, product_dir: Path, manifest: Path | None
) -> tuple[RunSummary, Platform]:
    from floe_orchestration_core.plugin_metadata import Capability
    from floe_registry.product_workspace import prepare_product

    args = invocation.args
    # In the product folder, as the services' code server is: relative paths of
    # manifest.yaml (a lineage file, say) mean the same for in-process runs.
    try:
        with contextlib.chdir(product_dir) if product_dir.is_dir() else contextlib.nullcontext():
            workspace, platform = prepare_product(
                product_dir, manifest=manifest, progress=view, command="run"
            )
            with platform:
                _require(platform, Capability.RUN_LAUNCHER, "run")
                launcher = platform.orchestrator.run_launcher()
                debug = bool(getattr(args, "debug", False))
                with run_stdout_aside(invocation.stdout, to_stderr=debug):
                    summary = launcher.run(
                        workspace, selection=args.select, wait=args.wait, progress=view
                    )
    finally:
        view.close()
    return summary, platform


# status --------------------------------------------------------------------------------------
def _when(value: Any) -> str:
    return "-" if value is None else value.strftime("%Y-%m-%d %H:%M:%S %Z")


def _status_text(status: RuntimeStatus) -> str:
    parts = [f"product {status.product_name}: " + (status.url or "not running")]
    parts.append(
        render_table(
            ["SERVICE", "PID", "STATE", "CPU", "MEMORY", "PROCESSES"],
            [
                [
                    s.name,
                    str(s.pid or "-"),
                    "running" if s.running else "stopped",
                    "-" if s.cpu_percent is None else f"{s.cpu_percent:.0f}%",
                    _megabytes(s.rss_bytes),
                    str(s.processes),
                ]
                for s in status.services
            ],
        )
    )
    if status.schedules:
        parts.append(
            render_table(
                ["SCHEDULE", "STATE", "CRON", "TIMEZONE", "NEXT TICK (UTC)"],
                [
                    [s.name, "on" if s.running else "off", s.cron, s.timezone, _when(s.next_tick)]
                    for s in status.schedules
                ],
            )
        )
    if status.sensors:
        parts.append(
            render_table(
                ["SENSOR", "STATE", "KIND", "NEXT TICK (UTC)"],
                [
                    [s.name, "on" if s.running else "off", s.kind, _when(s.next_tick)]
                    for s in status.sensors
                ],
            )
        )
    if status.runs:
        parts.append(
            render_table(
                ["RUN", "JOB", "STATUS", "STARTED (UTC)", "DURATION"],
                [
                    [
                        r.run_id[:8],
                        r.job,
                        r.status + (" SLOW" if r.slow else ""),
                        _when(r.started),
                        "-" if r.duration_s is None else f"{r.duration_s:.1f} s",
                    ]
                    for r in status.runs
                ],
            )
        )
    else:
        parts.append("no runs yet")
    parts += [f"warning: {w}" for w in status.warnings]
    return "\n\n".join(parts)


def _located(invocation: Invocation, command: str) -> tuple[ProductWorkspace, Platform]:
    from floe_registry.product_workspace import locate_product

    args = invocation.args
    return locate_product(args.product_dir, manifest=args.manifest, command=command)


def _run_status(invocation: Invocation) -> int:
    from floe_orchestration_core.plugin_metadata import Capability

    workspace, platform = _located(invocation, "status")
    with platform:
        _require(platform, Capability.LOCAL_RUNTIME, "status")
        status = platform.orchestrator.local_runtime().status(workspace)
    data = {**_json_ready(status), "running": status.running}
    invocation.emit(_status_text(status), data)
    return EXIT_OK


# down ----------------------------------------------------------------------------------------
def _configure_down(parser: argparse.ArgumentParser) -> None:
    _product_argument(parser)
    parser.add_argument(
        "--timeout",
        type=float,
        default=65.0,
        metavar="S",
        help="seconds to wait for every process to stop before killing it (default 65)",
    )


def _run_down(invocation: Invocation) -> int:
    from floe_orchestration_core.plugin_metadata import Capability

    workspace, platform = _located(invocation, "down")
    with platform:
        _require(platform, Capability.LOCAL_RUNTIME, "down")
        report = platform.orchestrator.local_runtime().stop(
            workspace, timeout=invocation.args.timeout
        )
    if not report.was_running:
        human = f"{workspace.product_name} is not running"
    else:
        human = (
            f"stopped {workspace.product_name}: {len(report.stopped_pids)} process(es) in "
            f"{report.duration_s:.1f} s"
            + (f", {len(report.killed_pids)} killed" if report.killed_pids else "")
            + (f"; still running: {report.remaining_pids}" if report.remaining_pids else "")
        )
    invocation.emit(human, _json_ready(report))
    return EXIT_OK


COMMANDS = (
    Command(
        ("up",),
        "start the orchestrator's services for a product (webserver and daemon) until "
        "Ctrl-C or 'floe down'",
        run=_run_up,
        configure=_configure_up,
        requires="local_runtime",
    ),
    Command(
        ("run",),
        "run a product's assets now: through the running webserver, else in-process",
        run=_run_run,
        configure=_configure_run,
        requires="run_launcher",
    ),
    Command(
        ("status",),
        "services, schedules, sensors and recent runs of a product",
        run=_run_status,
        configure=_product_argument,
        requires="local_runtime",
    ),
    Command(
        ("down",),
        "stop the services 'floe up' started for a product",
        run=_run_down,
        configure=_configure_down,
        requires="local_runtime",
    ),
)
