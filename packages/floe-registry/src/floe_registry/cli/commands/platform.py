"""Commands about plugins and the selected orchestrator: ``plugins list``, ``helm values``,
``check connection``.

``plugins list`` reads entry-point metadata only (no plugin, no pydantic is imported). The
orchestrator commands are thin calls into the plugin selected by ``--manifest``.
"""

from __future__ import annotations

import argparse

from floe_orchestration_core import FLOE_API_VERSION
from floe_registry.cli.command import (
    EXIT_CHECK_FAILED,
    EXIT_OK,
    Command,
    Invocation,
    add_manifest_option,
)
from floe_registry.cli.tables import render_table

__all__ = ["ORCHESTRATOR_COMMANDS", "PLUGIN_COMMANDS", "run_version"]


def _distribution_version(name: str) -> str:
    from importlib import metadata

    try:
        return metadata.version(name)
    except metadata.PackageNotFoundError:
        return "unknown"


def run_version(invocation: Invocation) -> int:
    """``floe --version``: floe's version, the core's, the floe API, Python, and each installed
    plugin's version, from distribution metadata only (no plugin is imported)."""
    import platform

    from floe_registry.discovery import list_plugins

    plugins = list_plugins()
    data = {
        "floe": _distribution_version("floe-registry"),
        "core": _distribution_version("floe-orchestration-core"),
        "floe_api_version": FLOE_API_VERSION,
        "python": platform.python_version(),
        "plugins": [
            {
                "kind": info.kind.value,
                "name": info.name,
                "version": info.version,
                "distribution": info.distribution,
                "floe_api_version": info.floe_api_version,
                "compatible": info.compatible,
            }
            for info in plugins
        ],
    }
    lines = [
        f"floe {data['floe']} (floe-registry; floe-orchestration-core {data['core']}; "
        f"floe API {FLOE_API_VERSION}; Python {data['python']})"
    ]
    lines += [
        f"  {info.kind.label} {info.name} {info.version} ({info.distribution}; floe API "
        f"{info.floe_api_version or 'unknown'}"
        + ("" if info.compatible is not False else "; NOT compatible")
        + ")"
        for info in plugins
    ]
    if not plugins:
        lines.append("  no plugins installed")
    invocation.emit("\n".join(lines), data)
    return EXIT_OK


def _configure_plugins_list(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--kind",
        choices=["orchestrator", "lineage_backend", "ingestion"],
        help="list only plugins of this kind (default: every kind)",
    )


def _run_plugins_list(invocation: Invocation) -> int:
    from floe_registry.discovery import list_plugins

    plugins = list_plugins(invocation.args.kind)
    compatibility = {True: "yes", False: "NO", None: "unknown"}
    rows = [
        [
            info.kind.value,
            info.name,
            info.version,
            info.floe_api_version or "unknown",
            info.distribution,
            compatibility[info.compatible] + (f" ({info.problem})" if info.problem else ""),
        ]
        for info in plugins
    ]
    header = ["KIND", "NAME", "VERSION", "FLOE API", "DISTRIBUTION", "COMPATIBLE"]
    human = (
        render_table(header, rows) + f"\nplatform floe API: {FLOE_API_VERSION}"
        if rows
        else "no plugins installed; install one that registers the 'floe.orchestrators', "
        "'floe.lineage_backends' or 'floe.ingestion' entry-point group\n"
        f"platform floe API: {FLOE_API_VERSION}"
    )
    invocation.emit(
        human,
        {
            "platform_api_version": FLOE_API_VERSION,
            "plugins": [info.to_dict() for info in plugins],
        },
    )
    return EXIT_OK


def _configure_helm_values(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--size",
        default="medium",
        metavar="SIZE",
        help="resource preset: small, medium or large (default: medium)",
    )
    parser.add_argument(
        "--artifacts",
        metavar="PATH",
        help="compiled_artifacts.json to derive values from (optional)",
    )
    parser.add_argument(
        "--image",
        metavar="REPOSITORY[:TAG]",
        help="the product's user-code image, with --artifacts (default: the orchestrator's "
        "configured one, e.g. orchestrator.config.user_code_image in manifest.yaml)",
    )
    add_manifest_option(parser)


def _run_helm_values(invocation: Invocation) -> int:
    args = invocation.args
    artifacts = None
    if args.artifacts is not None:
        from floe_orchestration_core.artifacts import load_artifacts

        artifacts = load_artifacts(args.artifacts)
    values = invocation.platform().orchestrator.get_helm_values(
        size=args.size, artifacts=artifacts, image=args.image
    )
    if invocation.json:
        invocation.emit("", values)
    else:
        import yaml

        invocation.emit(yaml.safe_dump(values, sort_keys=False, default_flow_style=False), values)
    return EXIT_OK


def _timeout(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"'{text}' is not a number of seconds") from None
    if not 0 < value <= 600:
        raise argparse.ArgumentTypeError(f"{value} s is outside 0 < timeout <= 600")
    return value


def _configure_check_connection(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--url", help="orchestrator URL to check (default: the plugin's configured one)"
    )
    parser.add_argument(
        "--timeout",
        type=_timeout,
        default=10.0,
        metavar="S",
        help="give up after S seconds (default: 10)",
    )
    add_manifest_option(parser)


def _run_check_connection(invocation: Invocation) -> int:
    args = invocation.args
    orchestrator = invocation.platform().orchestrator
    result = orchestrator.validate_connection(url=args.url, timeout=args.timeout)
    lines = [
        f"{'ok' if result.success else 'FAILED'}: {result.message} ({result.duration_s:.2f} s)"
    ]
    lines += [f"  error: {error}" for error in result.errors if error != result.message]
    lines += [f"  warning: {warning}" for warning in result.warnings]
    if result.success:
        invocation.emit("\n".join(lines), result.to_dict())
        return EXIT_OK
    if invocation.json:
        invocation.emit("", result.to_dict())
    else:
        invocation.stdout.write("\n".join(lines) + "\n")
    return EXIT_CHECK_FAILED


PLUGIN_COMMANDS = (
    Command(
        ("plugins", "list"),
        "list installed plugins (reads metadata only; imports no plugin)",
        run=_run_plugins_list,
        configure=_configure_plugins_list,
    ),
)

ORCHESTRATOR_COMMANDS = (
    Command(
        ("helm", "values"),
        "print Helm chart values from the selected orchestrator plugin (YAML; JSON with --json)",
        run=_run_helm_values,
        configure=_configure_helm_values,
    ),
    Command(
        ("check", "connection"),
        "check that the selected orchestrator is reachable (exit 1 when it is not)",
        run=_run_check_connection,
        configure=_configure_check_connection,
    ),
)
