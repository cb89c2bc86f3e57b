"""Errors of the registry: finding, loading and composing plugins, reading ``manifest.yaml``.

Hierarchy (every class is a :class:`~floe_orchestration_core.errors.FloeError`)::

    RegistryError
    ├── PluginNotFoundError       no plugin of that kind has that name; lists what is installed
    ├── DuplicatePluginError      two distributions register one name; names both
    ├── PluginLoadError           (also core PluginError) import failed (cause chained),
    │                              not the port's class, name mismatch, metadata disagreement
    ├── PluginIncompatibleError   (also core PluginError) floe_api_version does not match
    ├── MissingCapabilityError    the selected orchestrator does not provide a capability
    └── ManifestError             (also ValueError) manifest.yaml is unreadable or invalid

A broken plugin always raises one of these; the registry never logs and skips it.
"""

from __future__ import annotations

from collections.abc import Sequence

from floe_orchestration_core.errors import FloeError, PluginError

__all__ = [
    "DuplicatePluginError",
    "ManifestError",
    "MissingCapabilityError",
    "PluginIncompatibleError",
    "PluginLoadError",
    "PluginNotFoundError",
    "RegistryError",
]


class RegistryError(FloeError):
    """Base of every error raised by the registry."""


class PluginNotFoundError(RegistryError):
    """No plugin of ``kind`` is called ``name``; ``installed`` lists ``"name version"`` of each."""

    def __init__(self, message: str, *, kind: str, name: str, installed: Sequence[str]) -> None:
        super().__init__(message)
        self.kind = kind
        self.name = name
        self.installed: tuple[str, ...] = tuple(installed)


class DuplicatePluginError(RegistryError):
    """Two or more sources register one plugin name; ``sources`` names each distribution."""

    def __init__(self, message: str, *, kind: str, name: str, sources: Sequence[str]) -> None:
        super().__init__(message)
        self.kind = kind
        self.name = name
        self.sources: tuple[str, ...] = tuple(sources)


class PluginLoadError(RegistryError, PluginError):
    """A plugin could not be loaded.

    Raised when its module fails to import (the original exception is ``__cause__``), when the
    entry point does not resolve to a concrete subclass of the port, when the entry-point name
    differs from ``metadata.name``, or when the API version declared in the entry point differs
    from the one the class declares.
    """


class PluginIncompatibleError(RegistryError, PluginError):
    """A plugin targets a floe API version this platform does not implement.

    Compatible means: same major version, and the plugin's minor at most the platform's.
    """

    def __init__(
        self, message: str, *, name: str, plugin_api_version: str, platform_api_version: str
    ) -> None:
        super().__init__(message)
        self.name = name
        self.plugin_api_version = plugin_api_version
        self.platform_api_version = platform_api_version


class MissingCapabilityError(RegistryError):
    """The selected orchestrator does not declare a capability a command needs."""

    def __init__(self, message: str, *, plugin: str, capability: str) -> None:
        super().__init__(message)
        self.plugin = plugin
        self.capability = capability


class ManifestError(RegistryError, ValueError):
    """``manifest.yaml`` is unreadable, unsafe, or does not match the platform schema.

    ``problems`` holds one ``(json_path, message)`` pair per problem, for example
    ``("storage.type", "expected one of: sqlite, postgres; got 'mysql'")``.
    """

    def __init__(self, message: str, problems: Sequence[tuple[str, str]] = ()) -> None:
        super().__init__(message)
        self.problems: tuple[tuple[str, str], ...] = tuple(problems)
