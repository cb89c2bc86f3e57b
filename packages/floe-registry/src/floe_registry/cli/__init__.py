"""The ``floe`` command line (entry point :func:`main`); see :mod:`floe_registry.cli.app`."""

from floe_registry.cli.app import main
from floe_registry.cli.command import Command, Invocation

__all__ = ["Command", "Invocation", "main"]
