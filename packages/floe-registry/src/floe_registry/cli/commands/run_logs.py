"""``floe logs RUN_ID [PRODUCT_DIR]``: one run's events and what its processes printed.

The run is read from the product's orchestrator instance by the local runtime
(:meth:`~floe_orchestration_core.runtime.LocalRuntime.run_log`); ``RUN_ID`` is the whole id or
its first characters (``floe status`` prints eight). The product is located as ``floe
status`` locates it (``--manifest``, else ``<product>/manifest.yaml``, …), nothing is compiled,
and the services need not run.

Output: a header, one line per event (UTC time, message; with ``--debug`` a failure's whole
error under it), then the captured stdout and stderr of each process. ``--step`` keeps the
events of one step and the output of the processes that ran it; ``--no-output`` leaves the
output out. ``--json``: ``{"run_id", "job", "status", "started", "ended", "duration_s",
"entries": [{"time", "kind", "level", "step", "message", "detail"}], "output": [{"steps",
"stdout", "stderr"}]}`` with ISO 8601 times. Exit 0; an unknown run id is exit 2, naming the
close ids and the latest runs.
"""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING, Any

import attrs

from floe_registry.cli.command import EXIT_OK, Command, Invocation, require_capability

if TYPE_CHECKING:
    from floe_orchestration_core.run_log import RunLog

__all__ = ["COMMANDS"]


def _configure_logs(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "run_id", metavar="RUN_ID", help="the run's id, or its first characters (floe status)"
    )
    parser.add_argument(
        "product_dir",
        metavar="PRODUCT_DIR",
        nargs="?",
        default=".",
        help="the data product folder (default: .)",
    )
    parser.add_argument("--step", metavar="STEP", help="only this step's events and output")
    parser.add_argument(
        "--no-output",
        action="store_true",
        help="only the events, not what the run's processes printed",
    )


def _only_step(log: RunLog, step: str | None, with_output: bool) -> RunLog:
    entries = log.entries if step is None else tuple(e for e in log.entries if e.step == step)
    output = log.output if step is None else tuple(o for o in log.output if step in o.steps)
    return attrs.evolve(log, entries=entries, output=output if with_output else ())


def _duration(log: RunLog) -> float | None:
    if log.started is None or log.ended is None:
        return None
    return round((log.ended - log.started).total_seconds(), 3)


def _text(log: RunLog, *, details: bool) -> str:
    duration = _duration(log)
    started = log.started.isoformat(timespec="seconds") if log.started else "not started"
    lines = [
        f"run {log.run_id} ({log.job}): {log.status.upper()}, started {started}"
        + (f", {duration:.1f} s" if duration is not None else "")
    ]
    for entry in log.entries:
        first, *more = entry.message.splitlines() or [""]
        lines.append(f"{entry.time.strftime('%H:%M:%S')}  {first}")
        lines += [f"{'':10}{line}" for line in more]
        if details and entry.detail:
            lines += [f"{'':10}{line}" for line in entry.detail.rstrip().splitlines()]
    for captured in log.output:
        steps = ", ".join(captured.steps) or "the run"
        for stream in ("stdout", "stderr"):
            text: str = getattr(captured, stream)
            if text.strip():
                lines.append(f"--- {stream} of the process running {steps} ---")
                lines.append(text.rstrip("\n"))
    return "\n".join(lines)


def _data(log: RunLog) -> dict[str, Any]:
    return {
        "run_id": log.run_id,
        "job": log.job,
        "status": log.status,
        "started": log.started,
        "ended": log.ended,
        "duration_s": _duration(log),
        "entries": [attrs.asdict(entry) for entry in log.entries],
        "output": [
            {"steps": list(o.steps), "stdout": o.stdout, "stderr": o.stderr} for o in log.output
        ],
    }


def _run_logs(invocation: Invocation) -> int:
    from floe_orchestration_core.plugin_metadata import Capability
    from floe_registry.product_workspace import locate_product

    args = invocation.args
    workspace, platform = locate_product(args.product_dir, manifest=args.manifest, command="logs")
    with platform:
        require_capability(platform, Capability.LOCAL_RUNTIME, "logs")
        log = platform.orchestrator.local_runtime().run_log(workspace, args.run_id)
    log = _only_step(log, args.step, not args.no_output)
    invocation.emit(_text(log, details=bool(args.debug)), _data(log))
    return EXIT_OK


COMMANDS = (
    Command(
        ("logs",),
        "a run's events (steps, materializations, checks, failures) and what its processes "
        "printed, from the product's instance",
        run=_run_logs,
        configure=_configure_logs,
        requires="local_runtime",
    ),
)
