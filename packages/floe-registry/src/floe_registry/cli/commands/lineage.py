"""``floe lineage export`` (a product's design-time lineage, before its first run) and
``floe lineage flush`` (deliver the lineage events a product's runs could not deliver).

**flush.** ``floe lineage flush [PRODUCT_DIR]`` composes the product's platform (its
``manifest.yaml``, as ``floe run`` finds it) and asks the lineage backend to deliver its
backlog (:meth:`~floe_orchestration_core.lineage.LineageBackendPlugin.deliver_backlog`): for
the OpenLineage backend, the spool in ``<product>/.floe/lineage/spool``, in order, until it is
empty or ``--timeout`` seconds have passed. Exit 0 when nothing is left to deliver, 1 when
events remain (the backend is still unreachable, or another process is delivering them).

**export.**
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

from floe_registry.cli.command import (
    EXIT_CHECK_FAILED,
    EXIT_OK,
    Command,
    Invocation,
    add_manifest_option,
)

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


def _configure_flush(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "product_dir",
        metavar="PRODUCT_DIR",
        nargs="?",
        default=".",
        help="the data product folder whose spooled lineage events to deliver (default: .)",
    )
    parser.add_argument(
        "--timeout",
        type=float,
        default=60.0,
        metavar="S",
        help="seconds to keep delivering before giving up (default 60)",
    )
    add_manifest_option(parser)


def _run_flush(invocation: Invocation) -> int:
    from floe_registry.product_workspace import locate_product

    args = invocation.args
    if not args.timeout > 0:
        from floe_orchestration_core.errors import LineageError

        raise LineageError(f"--timeout must be a number of seconds above 0, got {args.timeout}")
    workspace, platform = locate_product(args.product_dir, manifest=args.manifest)
    with platform:
        backend = platform.lineage_backend
        report = backend.deliver_backlog(args.timeout)
    data = {
        "product": workspace.product_name,
        "backend": backend.name,
        "spool": report.location,
        "delivered": report.delivered,
        "dropped": report.dropped,
        "remaining": report.remaining,
        "busy": report.busy,
    }
    if report.location is None:
        human = (
            f"lineage backend {backend.name!r} keeps no spool for {workspace.product_name}: "
            "nothing to deliver"
        )
    else:
        human = (
            f"{workspace.product_name}: delivered {report.delivered} spooled lineage event(s) "
            f"from {report.location}"
            + (f", gave up {report.dropped} (kept in rejected.jsonl)" if report.dropped else "")
            + f"; {report.remaining} remain"
        )
        if report.remaining:
            human += (
                "; another process is delivering them"
                if report.busy
                else "; the backend did not accept them in time (see the warning above), run "
                "this again later or raise --timeout"
            )
    invocation.emit(human, data)
    return EXIT_OK if report.remaining == 0 else EXIT_CHECK_FAILED


COMMANDS = (
    Command(
        ("lineage", "flush"),
        "deliver the lineage events a product's runs left in its spool, in order",
        run=_run_flush,
        configure=_configure_flush,
    ),
    Command(
        ("lineage", "export"),
        "write the design-time lineage (jobs and datasets, no run) of compiled artifacts",
        run=_run_export,
        configure=_configure_export,
    ),
)
