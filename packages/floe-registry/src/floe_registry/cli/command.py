"""What every ``floe`` command shares: the :class:`Command` row, the :class:`Invocation` it
runs with, the ``--manifest`` option and the exit codes.

The command modules (:mod:`floe_registry.cli.commands`) and the frame that runs them
(:mod:`floe_registry.cli.app`) both import this module; neither imports the other's way back.

Exit codes: 0 ok; 1 the checked thing failed (returned by the command); 2 usage or input error;
3 an unexpected exception (a bug); 130 when interrupted.

Only the standard library is imported at module level.
"""

from __future__ import annotations

import argparse
import json
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, TextIO

if TYPE_CHECKING:
    from floe_registry.platform import Platform

__all__ = [
    "EXIT_CHECK_FAILED",
    "EXIT_INTERNAL",
    "EXIT_INTERRUPTED",
    "EXIT_OK",
    "EXIT_USAGE",
    "Command",
    "Invocation",
    "add_manifest_option",
    "json_value",
    "require_capability",
]

EXIT_OK = 0
EXIT_CHECK_FAILED = 1
EXIT_USAGE = 2
EXIT_INTERNAL = 3
EXIT_INTERRUPTED = 130


def _no_arguments(parser: argparse.ArgumentParser) -> None:
    """A command without arguments of its own."""


@dataclass(frozen=True)
class Command:
    """One ``floe`` command: the words that invoke it and the functions that implement it."""

    words: tuple[str, ...]
    help: str
    run: Callable[[Invocation], int]
    configure: Callable[[argparse.ArgumentParser], None] = _no_arguments
    requires: str | None = None
    description: str | None = None


@dataclass
class Invocation:
    """What a running command gets: its arguments, output streams, and the platform."""

    args: argparse.Namespace
    stdout: TextIO
    stderr: TextIO
    json: bool = False
    _platform: Platform | None = field(default=None, init=False, repr=False)

    def emit(self, human: str, data: Any) -> None:
        """Print ``data`` as JSON with ``--json``, else the ``human`` text (both to stdout).

        Times (``datetime``, ``date``) are written in ISO 8601 (``2026-12-07T19:51:58+00:00``);
        other values JSON cannot hold (paths) as their text.
        """
        if self.json:
            self.stdout.write(json.dumps(data, indent=2, default=json_value) + "\n")
        elif human:
            self.stdout.write(human if human.endswith("\n") else human + "\n")

    def platform(self) -> Platform:
        """The platform composed from ``--manifest`` (loaded once, closed after the command).

        Without ``--manifest``: ``manifest.yaml`` in the working directory when it exists,
        else the defaults (orchestrator ``dagster``, no lineage, SQLite storage).
        """
        if self._platform is None:
            from floe_registry.platform import load_platform
            from floe_registry.platform_manifest import DEFAULT_MANIFEST_NAME

            path = getattr(self.args, "manifest", None)
            if path is None and Path(DEFAULT_MANIFEST_NAME).is_file():
                path = DEFAULT_MANIFEST_NAME
            source: Any = path if path is not None else {"orchestrator": "dagster"}
            self._platform = load_platform(source)
        return self._platform

    def close(self) -> None:
        """Close the platform if a command composed one."""
        if self._platform is not None:
            self._platform.close()


def require_capability(
    platform: Platform, capability: str, command: str, *, whose: str = "the product's"
) -> None:
    """:class:`~floe_registry.errors.MissingCapabilityError` unless the orchestrator of
    ``platform`` (``whose``: the product's, or the one ``--manifest`` selects) declares
    ``capability``, which ``floe <command>`` needs."""
    from floe_registry.errors import MissingCapabilityError

    orchestrator = platform.orchestrator
    if not orchestrator.supports(capability):
        name = type(orchestrator).metadata.name
        declared = ", ".join(sorted(c.value for c in orchestrator.capabilities)) or "none"
        raise MissingCapabilityError(
            f"'floe {command}' needs the {capability} capability, and {whose} "
            f"orchestrator '{name}' does not provide {capability} (it declares: "
            f"{declared}); select an orchestrator that does in manifest.yaml",
            plugin=name,
            capability=str(capability),
        )


def json_value(value: object) -> str:
    """``value`` as JSON text: ISO 8601 for times and dates, ``str()`` for anything else."""
    if isinstance(value, datetime | date):
        return value.isoformat()
    return str(value)


def add_manifest_option(parser: argparse.ArgumentParser) -> None:
    """``--manifest PATH``: which manifest.yaml selects the orchestrator."""
    parser.add_argument(
        "--manifest",
        metavar="PATH",
        help="platform manifest selecting the orchestrator (default: ./manifest.yaml if it "
        "exists, else the 'dagster' orchestrator with defaults)",
    )
