"""``floe lineage export``: a product's design-time lineage, before its first run.

The jobs and datasets come from :func:`floe_orchestration_core.lineage.design.design_lineage`;
``--format`` names the lineage backend (an entry point of ``floe.lineage_backends``, loaded
through the registry like any plugin) whose ``export_design`` turns them into events, written
one JSON object per line (JSON Lines) to ``-o FILE`` or stdout. With ``--format openlineage``
each line is an OpenLineage ``JobEvent``. The backend is built with its default configuration
and delivers nothing: the command only asks it for the events.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from floe_registry.cli.command import EXIT_OK, Command, Invocation

__all__ = ["COMMANDS"]


def _configure_export(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--artifacts",
        metavar="PATH",
        default="compiled_artifacts.json",
        help="compiled artifacts JSON (default: compiled_artifacts.json)",
    )
    parser.add_argument(
        "--format",
        default="openlineage",
        metavar="BACKEND",
        help="the lineage backend whose events to write (default: openlineage)",
    )
    parser.add_argument(
        "-o",
        "--output",
        metavar="PATH",
        help="where to write the JSON Lines; '-' or absent for stdout",
    )
    parser.add_argument(
        "--namespace",
        help="job namespace (default: the artifacts' lineage.namespace)",
    )
    parser.add_argument(
        "--base-dir",
        metavar="DIR",
        help="resolves relative DuckDB and file paths (default: the dbt project directory)",
    )


def _run_export(invocation: Invocation) -> int:
    from floe_orchestration_core.artifacts import load_artifacts
    from floe_orchestration_core.lineage.design import design_lineage
    from floe_registry.loading import load_lineage_backend

    args = invocation.args
    artifacts = load_artifacts(args.artifacts)
    jobs = design_lineage(artifacts, namespace=args.namespace, base_dir=args.base_dir)
    backend = load_lineage_backend(args.format)
    try:
        events = backend.export_design(jobs)
    finally:
        backend.close(0.0)
    text = "".join(json.dumps(event, sort_keys=True) + "\n" for event in events)
    if args.output is None or args.output == "-":
        invocation.stdout.write(text)
        return EXIT_OK
    path = Path(args.output)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    summary = {
        "output": str(path),
        "format": args.format,
        "jobs": len(jobs),
        "events": len(events),
        "datasets": len(
            {(d.namespace, d.name) for job in jobs for d in (*job.inputs, *job.outputs)}
        ),
    }
    invocation.emit(
        f"wrote {summary['events']} {args.format} event(s) for {summary['jobs']} job(s) and "
        f"{summary['datasets']} dataset(s) -> {path}",
        summary,
    )
    return EXIT_OK


COMMANDS = (
    Command(
        ("lineage", "export"),
        "write the design-time lineage (jobs and datasets, no run) of compiled artifacts",
        run=_run_export,
        configure=_configure_export,
    ),
)
