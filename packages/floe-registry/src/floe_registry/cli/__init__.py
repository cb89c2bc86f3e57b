"""The ``floe`` command line (entry point :func:`main`); see :mod:`floe_registry.cli.app`."""

from floe_registry.cli.app import Command, Invocation, main

__all__ = ["Command", "Invocation", "main"]
