"""Plugin discovery from entry-point metadata: lists plugins without importing any of them.

A plugin distribution registers its class in one of three entry-point groups:

- ``floe.orchestrators`` — an :class:`~floe_orchestration_core.plugin.OrchestratorPlugin`
- ``floe.lineage_backends`` — a :class:`~floe_orchestration_core.lineage.LineageBackendPlugin`
- ``floe.ingestion`` — an :class:`~floe_orchestration_core.ingestion.IngestionPlugin`

and declares the floe API version it targets as a marker in the entry point's value, so the
registry can check compatibility from metadata alone::

    [project.entry-points."floe.orchestrators"]
    dagster = "floe_orchestrator_dagster.plugin:DagsterOrchestratorPlugin [floe-api-1.0]"

The marker uses the extras syntax of the entry-point specification, which every build
backend accepts and :meth:`importlib.metadata.EntryPoint.load` ignores. Without it the
listing reports the API version as unknown and the check happens when the class is loaded.

This module imports only the standard library and the (light) core ``errors`` module: it
never imports a plugin, pydantic, or a port module. Loading lives in
:mod:`floe_registry.loading`.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass, replace
from enum import StrEnum
from importlib import metadata as importlib_metadata
from typing import Any

from floe_orchestration_core import FLOE_API_VERSION
from floe_registry.errors import DuplicatePluginError, PluginNotFoundError

__all__ = [
    "REGISTERED_SOURCE",
    "PluginInfo",
    "PluginKind",
    "api_versions_compatible",
    "find_plugin",
    "list_plugins",
    "parse_api_marker",
]

#: What :attr:`PluginInfo.distribution` says for plugins added with ``register()``.
REGISTERED_SOURCE = "(registered in-process)"

_MARKER = re.compile(r"^floe-api-(\d+)\.(\d+)$")
_EXTRAS = re.compile(r"\[([^\]]*)\]\s*$")
_API_VERSION = re.compile(r"^(\d+)\.(\d+)$")


class PluginKind(StrEnum):
    """The kinds of plugin the registry knows, each with its entry-point group."""

    ORCHESTRATOR = "orchestrator"
    LINEAGE_BACKEND = "lineage_backend"
    INGESTION = "ingestion"

    @property
    def group(self) -> str:
        """The entry-point group plugins of this kind register in."""
        return _GROUPS[self]

    @property
    def label(self) -> str:
        """How messages name this kind: ``orchestrator`` or ``lineage backend``."""
        return self.value.replace("_", " ")


@dataclass(frozen=True)
class PluginInfo:
    """One plugin as seen from metadata (nothing imported).

    ``version`` is the distribution's version (for a registered class: its metadata version);
    ``floe_api_version`` is the declared API version or None when the distribution declares
    none; ``compatible`` is None exactly when the API version is unknown. ``problem`` explains
    why the plugin cannot be loaded as listed (a malformed marker, a duplicate name).
    """

    kind: PluginKind
    name: str
    version: str
    floe_api_version: str | None
    distribution: str
    target: str
    compatible: bool | None
    problem: str | None = None

    @property
    def describe(self) -> str:
        """``name version (distribution)``: how error messages name this plugin."""
        return f"{self.name} {self.version} ({self.distribution})"

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready mapping (``kind`` as its string value)."""
        return {
            "kind": self.kind.value,
            "name": self.name,
            "version": self.version,
            "floe_api_version": self.floe_api_version,
            "distribution": self.distribution,
            "target": self.target,
            "compatible": self.compatible,
            "problem": self.problem,
        }


def api_versions_compatible(plugin: str, platform: str | None = None) -> bool:
    """True when both are ``MAJOR.MINOR``, majors are equal and the plugin's minor ≤ platform's.

    ``platform`` defaults to :data:`~floe_orchestration_core.FLOE_API_VERSION`.

    The same rule as ``PluginMetadata.is_compatible_with``, restated here so listing need not
    import the plugin port; the loader uses the metadata method, which stays authoritative.
    """
    platform = FLOE_API_VERSION if platform is None else platform
    plugin_match, platform_match = _API_VERSION.match(plugin), _API_VERSION.match(platform)
    if plugin_match is None or platform_match is None:
        return False
    plugin_major, plugin_minor = (int(part) for part in plugin_match.groups())
    platform_major, platform_minor = (int(part) for part in platform_match.groups())
    return plugin_major == platform_major and plugin_minor <= platform_minor


def parse_api_marker(value: str) -> tuple[str, str | None, str | None]:
    """Split an entry-point value into ``(object_reference, api_version, problem)``.

    ``"pkg.mod:Cls [floe-api-1.0]"`` → ``("pkg.mod:Cls", "1.0", None)``. Other extras are
    ignored; a ``floe-api`` marker that is not ``floe-api-MAJOR.MINOR`` is reported as the
    problem, and two markers are a problem too.
    """
    match = _EXTRAS.search(value)
    if match is None:
        return value.strip(), None, None
    reference = value[: match.start()].strip()
    versions: list[str] = []
    problem: str | None = None
    for token in (part.strip() for part in match.group(1).split(",")):
        marker = _MARKER.match(token)
        if marker is not None:
            versions.append(f"{int(marker.group(1))}.{int(marker.group(2))}")
        elif token.startswith(("floe-api", "floe_api")):
            problem = (
                f"malformed API version marker '[{token}]' in entry point value '{value}'; "
                "write it as '[floe-api-MAJOR.MINOR]', e.g. '[floe-api-1.0]'"
            )
    if len(versions) > 1:
        problem = (
            f"entry point value '{value}' declares {len(versions)} API versions "
            f"({', '.join(versions)}); declare exactly one '[floe-api-MAJOR.MINOR]'"
        )
    return reference, (versions[0] if versions and problem is None else None), problem


_GROUPS = {
    PluginKind.ORCHESTRATOR: "floe.orchestrators",
    PluginKind.LINEAGE_BACKEND: "floe.lineage_backends",
    PluginKind.INGESTION: "floe.ingestion",
}

# Plugins added by floe_registry.loading.register(): (kind, name) -> (info, class).
_registered: dict[tuple[PluginKind, str], tuple[PluginInfo, type]] = {}


def _entry_point_infos(
    kind: PluginKind,
) -> Iterator[tuple[PluginInfo, importlib_metadata.EntryPoint]]:
    for entry_point in importlib_metadata.entry_points(group=kind.group):
        dist = entry_point.dist
        dist_name = dist.name if dist is not None else "(unknown distribution)"
        dist_version = dist.version if dist is not None else "unknown"
        reference, api_version, problem = parse_api_marker(entry_point.value)
        info = PluginInfo(
            kind=kind,
            name=entry_point.name,
            version=dist_version,
            floe_api_version=api_version,
            distribution=dist_name,
            target=reference,
            compatible=None if api_version is None else api_versions_compatible(api_version),
            problem=problem,
        )
        yield info, entry_point


def _kinds(kind: PluginKind | str | None) -> tuple[PluginKind, ...]:
    if kind is None:
        return tuple(PluginKind)
    try:
        return (PluginKind(kind),)
    except ValueError:
        allowed = ", ".join(k.value for k in PluginKind)
        raise ValueError(f"unknown plugin kind '{kind}'; expected one of: {allowed}") from None


def _with_duplicates_marked(infos: list[PluginInfo]) -> list[PluginInfo]:
    by_name: dict[tuple[PluginKind, str], list[PluginInfo]] = {}
    for info in infos:
        by_name.setdefault((info.kind, info.name), []).append(info)
    marked: list[PluginInfo] = []
    for info in infos:
        others = [o.distribution for o in by_name[(info.kind, info.name)] if o is not info]
        problem = f"duplicate name: also registered by {', '.join(others)}" if others else None
        marked.append(replace(info, problem=problem) if problem else info)
    return marked


def list_plugins(kind: PluginKind | str | None = None) -> list[PluginInfo]:
    """Every installed and registered plugin (of ``kind``, or of every kind), sorted.

    Reads entry-point metadata only: no plugin module is imported. Problems (a malformed
    marker, one name registered twice) are reported in :attr:`PluginInfo.problem` rather than
    raised, so the listing can show them; loading such a plugin raises.
    """
    infos: list[PluginInfo] = []
    for each in _kinds(kind):
        infos.extend(info for info, _ in _entry_point_infos(each))
        infos.extend(info for (k, _), (info, _) in _registered.items() if k is each)
    infos = _with_duplicates_marked(infos)
    return sorted(infos, key=lambda i: (i.kind.value, i.name, i.distribution))


def _installed_summary(kind: PluginKind) -> list[str]:
    return [f"{info.name} {info.version}" for info in list_plugins(kind)]


def find_plugin(
    kind: PluginKind | str, name: str
) -> tuple[PluginInfo, importlib_metadata.EntryPoint | type]:
    """The one plugin of ``kind`` called ``name``, with its entry point (or registered class).

    Raises :class:`PluginNotFoundError` listing every installed plugin of that kind with its
    version, or :class:`DuplicatePluginError` naming every distribution that registers
    ``name``. Imports nothing.
    """
    (plugin_kind,) = _kinds(kind)
    matches: list[tuple[PluginInfo, importlib_metadata.EntryPoint | type]] = [
        (info, entry_point)
        for info, entry_point in _entry_point_infos(plugin_kind)
        if info.name == name
    ]
    registered = _registered.get((plugin_kind, name))
    if registered is not None:
        matches.append(registered)
    if not matches:
        installed = _installed_summary(plugin_kind)
        listing = ", ".join(installed) if installed else "none"
        hint = (
            f"install a distribution that registers it in the '{plugin_kind.group}' "
            "entry-point group"
        )
        raise PluginNotFoundError(
            f"no {plugin_kind.label} plugin named '{name}'; installed: {listing}; {hint}",
            kind=plugin_kind.value,
            name=name,
            installed=installed,
        )
    if len(matches) > 1:
        sources = [f"{info.distribution} {info.version} ({info.target})" for info, _ in matches]
        raise DuplicatePluginError(
            f"{plugin_kind.label} plugin name '{name}' is registered more than once, by: "
            f"{'; '.join(sources)}; uninstall all but one of these distributions",
            kind=plugin_kind.value,
            name=name,
            sources=[info.distribution for info, _ in matches],
        )
    return matches[0]
