"""The built-in ``floe`` commands, one module per group of commands.

Each module holds its :class:`~floe_registry.cli.command.Command` rows and their handlers and
imports only :mod:`floe_registry.cli.command` and :mod:`floe_registry.cli.tables` from the CLI;
handlers import the core, the registry and the plugin they need when they run.
"""

from __future__ import annotations

from floe_registry.cli.command import Command
from floe_registry.cli.commands import (
    artifacts,
    lineage,
    new_product,
    platform,
    run_logs,
    runtime,
    schedule,
)

__all__ = ["builtin_commands"]


def builtin_commands() -> list[Command]:
    """Every built-in command, in help order."""
    return [
        *new_product.COMMANDS,
        *platform.PLUGIN_COMMANDS,
        *artifacts.COMMANDS,
        *lineage.COMMANDS,
        *schedule.COMMANDS,
        *platform.ORCHESTRATOR_COMMANDS,
        *runtime.COMMANDS,
        *run_logs.COMMANDS,
    ]
