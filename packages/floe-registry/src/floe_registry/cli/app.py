"""The ``floe`` command's frame: a table of commands, argument parsing, output, exit codes.

A command is a :class:`~floe_registry.cli.command.Command` row: its words
(``("graph", "export")``), help, a function adding its arguments, a function running it, and
optionally the orchestrator capability it ``requires``. Adding a command is adding a row to a
module of :mod:`floe_registry.cli.commands` (collected by ``builtin_commands``); for example
the local-runtime commands are::

    Command(("up",), "start the orchestrator's services", run=run_up,
            configure=configure_up, requires="local_runtime")

A command that ``requires`` a capability gets a ``--manifest`` option; before it runs, the
platform is composed from the manifest and, when the selected orchestrator does not declare
the capability, the command stops with :class:`MissingCapabilityError` (exit 2).

Exit codes: 0 ok; 1 the checked thing failed (returned by the command: ``validate`` found
problems, ``check connection`` failed); 2 usage or input error (argparse errors and every
:class:`~floe_orchestration_core.errors.FloeError` or ``OSError`` that escapes a command);
3 an unexpected exception (a bug: the message asks for ``--debug`` and a report); 130 when
interrupted. Errors go to stderr without a traceback unless ``--debug``; with ``--json`` an
error is one JSON object ``{"error": {"type", "message", "problems"}}`` on stderr.

Layers: this module > :mod:`floe_registry.cli.commands` > :mod:`floe_registry.cli.command`
(shared types, exit codes). Only the standard library and the command modules are imported at
module level: handlers import what they need when they run.
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
import traceback
from collections.abc import Sequence
from typing import Any, TextIO

from floe_registry.cli.command import (
    EXIT_CHECK_FAILED,
    EXIT_INTERNAL,
    EXIT_INTERRUPTED,
    EXIT_OK,
    EXIT_USAGE,
    Command,
    Invocation,
    add_manifest_option,
    require_capability,
)
from floe_registry.cli.commands import builtin_commands
from floe_registry.cli.commands.platform import run_version

__all__ = [
    "EXIT_CHECK_FAILED",
    "EXIT_INTERNAL",
    "EXIT_OK",
    "EXIT_USAGE",
    "Command",
    "Invocation",
    "build_parser",
    "default_commands",
    "main",
]

#: Help of command groups (``floe graph`` …); a group not listed here gets "<word> commands".
GROUP_HELP: dict[tuple[str, ...], str] = {
    ("plugins",): "inspect installed plugins",
    ("graph",): "the transform graph of compiled artifacts",
    ("schedule",): "cron schedules",
    ("helm",): "Helm chart values from the selected orchestrator",
    ("check",): "checks against the selected orchestrator",
    ("lineage",): "lineage: design-time export, delivery of spooled events",
}


#: ``floe --version`` (a flag of the root parser, run like a command).
VERSION_COMMAND = Command(("--version",), "print versions", run=run_version)


def default_commands() -> list[Command]:
    """Every built-in command, in help order."""
    return builtin_commands()


def _common_options(*, top_level: bool) -> argparse.ArgumentParser:
    parent = argparse.ArgumentParser(add_help=False)
    default: Any = False if top_level else argparse.SUPPRESS
    parent.add_argument(
        "--json", action="store_true", default=default, help="machine-readable JSON output"
    )
    parent.add_argument(
        "--debug",
        action="store_true",
        default=default,
        help="show tracebacks and debug logging on errors",
    )
    return parent


def build_parser(commands: Sequence[Command]) -> argparse.ArgumentParser:
    """The argparse parser for ``commands`` (groups such as ``graph`` are made as needed)."""
    root = argparse.ArgumentParser(
        prog="floe",
        description="floe orchestration: compile dbt projects into CompiledArtifacts and run "
        "them on the orchestrator selected in manifest.yaml.",
        parents=[_common_options(top_level=True)],
    )
    root.add_argument(
        "--version",
        action="store_true",
        help="print floe's version and the installed plugins' versions, then exit",
    )
    common = _common_options(top_level=False)
    groups: dict[tuple[str, ...], argparse._SubParsersAction[argparse.ArgumentParser]] = {}
    parsers: dict[tuple[str, ...], argparse.ArgumentParser] = {(): root}
    for command in commands:
        for depth in range(len(command.words)):
            prefix = command.words[:depth]
            if prefix not in groups:
                groups[prefix] = parsers[prefix].add_subparsers(
                    title="commands", metavar="COMMAND", dest=f"_words_{depth}"
                )
            words = command.words[: depth + 1]
            if words in parsers:
                continue
            is_leaf = depth == len(command.words) - 1
            parser = groups[prefix].add_parser(
                words[-1],
                help=command.help if is_leaf else GROUP_HELP.get(words, f"{words[-1]} commands"),
                description=(command.description or command.help) if is_leaf else None,
                parents=[common],
            )
            parsers[words] = parser
            if is_leaf:
                command.configure(parser)
                if command.requires is not None:
                    add_manifest_option(parser)
                parser.set_defaults(_command=command)
            else:
                parser.set_defaults(_group=parser)
    return root


def _error_payload(exc: BaseException) -> dict[str, Any]:
    problems = getattr(exc, "problems", ())
    return {
        "error": {
            "type": type(exc).__name__,
            "message": str(exc),
            "problems": [list(p) if isinstance(p, tuple) else p for p in problems],
        }
    }


def _report_error(invocation: Invocation, exc: BaseException, prefix: str = "error") -> None:
    if invocation.args.debug:
        traceback.print_exception(exc, file=invocation.stderr)
    if invocation.json:
        invocation.stderr.write(json.dumps(_error_payload(exc)) + "\n")
    else:
        invocation.stderr.write(f"floe: {prefix}: {exc}\n")


def _check_capability(invocation: Invocation, command: Command) -> None:
    # Imported here: `floe --help` and `floe plugins list` start without it.
    from floe_orchestration_core.plugin_metadata import Capability

    if command.requires is None:
        return
    require_capability(
        invocation.platform(),
        Capability(command.requires),
        " ".join(command.words),
        whose="the",
    )


def _run(invocation: Invocation, command: Command) -> int:
    from floe_orchestration_core.errors import FloeError

    try:
        if command.requires is not None:
            _check_capability(invocation, command)
        return command.run(invocation)
    except FloeError as exc:
        _report_error(invocation, exc)
        return EXIT_USAGE
    except OSError as exc:
        _report_error(invocation, exc)
        return EXIT_USAGE
    except KeyboardInterrupt:
        invocation.stderr.write("floe: interrupted\n")
        return EXIT_INTERRUPTED
    except Exception as exc:
        _report_error(
            invocation,
            exc,
            prefix="internal error (a bug in floe or a plugin; run with --debug and report "
            f"the traceback) {type(exc).__name__}",
        )
        return EXIT_INTERNAL
    finally:
        invocation.close()


def main(
    argv: Sequence[str] | None = None,
    *,
    commands: Sequence[Command] | None = None,
    stdout: TextIO | None = None,
    stderr: TextIO | None = None,
) -> int:
    """Run ``floe`` with ``argv`` (default: ``sys.argv[1:]``) and return the exit code."""
    out, err = stdout or sys.stdout, stderr or sys.stderr
    parser = build_parser(default_commands() if commands is None else commands)
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:  # argparse: --help (0) or a usage error (2)
        return exc.code if isinstance(exc.code, int) else EXIT_USAGE
    command: Command | None = getattr(args, "_command", None)
    if args.version:  # like argparse's own --version: it wins over a command
        command = VERSION_COMMAND
    if command is None:
        group: argparse.ArgumentParser = getattr(args, "_group", parser)
        group.print_help(err)
        return EXIT_USAGE
    if args.debug:
        logging.basicConfig(level=logging.DEBUG, stream=err)
    invocation = Invocation(args=args, stdout=out, stderr=err, json=bool(args.json))
    return _run(invocation, command)
