"""What a plugin declares about itself: :class:`PluginMetadata` and :class:`Capability`.

Both are re-exported by :mod:`floe_orchestration_core.plugin`, the port module; they live
here so the port stays one responsibility. Standard library only: the registry and every
plugin module import this on the discovery path.
"""

from __future__ import annotations

import inspect
import re
from dataclasses import dataclass
from enum import StrEnum

from floe_orchestration_core import FLOE_API_VERSION
from floe_orchestration_core.errors import PluginError

__all__ = ["Capability", "PluginMetadata", "abstract_members"]

_API_VERSION = re.compile(r"^(\d+)\.(\d+)$")
_PLUGIN_NAME = re.compile(r"[a-z][a-z0-9_-]*")
_PLUGIN_NAME_MAX = 64
_PLUGIN_API_VERSION = re.compile(r"\d+\.\d+")


def _major_minor(version: str, *, what: str) -> tuple[int, int]:
    match = _API_VERSION.match(version)
    if match is None:
        raise PluginError(f"{what} '{version}' is not 'MAJOR.MINOR' (for example '1.0')")
    return int(match.group(1)), int(match.group(2))


def _metadata_problems(
    *, name: object, version: object, floe_api_version: object, description: object
) -> list[str]:
    """What is wrong with these :class:`PluginMetadata` fields (empty when they are valid)."""
    problems = [
        f"{field} must be a string, got {type(value).__name__} {value!r}"
        for field, value in (
            ("name", name),
            ("version", version),
            ("floe_api_version", floe_api_version),
            ("description", description),
        )
        if not isinstance(value, str)
    ]
    if isinstance(name, str) and (
        len(name) > _PLUGIN_NAME_MAX or _PLUGIN_NAME.fullmatch(name) is None
    ):
        problems.append(
            f"name {name!r} must start with a lowercase letter and hold only lowercase letters, "
            f"digits, '_' and '-' (at most {_PLUGIN_NAME_MAX} characters), e.g. 'dagster'"
        )
    if version == "":
        problems.append("version must not be empty, e.g. '0.1.0'")
    if (
        isinstance(floe_api_version, str)
        and _PLUGIN_API_VERSION.fullmatch(floe_api_version) is None
    ):
        problems.append(
            f"floe_api_version {floe_api_version!r} is not 'MAJOR.MINOR', e.g. '{FLOE_API_VERSION}'"
        )
    return problems


@dataclass(frozen=True, slots=True, kw_only=True)
class PluginMetadata:
    """What a plugin declares about itself; read by the registry without loading the plugin.

    A frozen dataclass (not a pydantic model) so that the port module stays cheap to import.
    Construction validates every field and raises :class:`PluginError` listing each problem:
    ``name`` is lowercase letters, digits, ``_`` and ``-``, starting with a letter (at most 64
    characters; it is the entry-point name); ``version`` is non-empty; ``floe_api_version``
    is ``MAJOR.MINOR``; ``description`` is a string.

    >>> meta = PluginMetadata(name="dagster", version="0.1.0", floe_api_version="1.0")
    >>> meta.is_compatible_with("1.2")
    True
    >>> meta.is_compatible_with("2.0")
    False
    """

    name: str
    version: str
    floe_api_version: str
    description: str = ""

    def __post_init__(self) -> None:
        problems = _metadata_problems(
            name=self.name,
            version=self.version,
            floe_api_version=self.floe_api_version,
            description=self.description,
        )
        if problems:
            label = repr(self.name) if isinstance(self.name, str) else "(unnamed)"
            raise PluginError(
                f"invalid plugin metadata {label}: {'; '.join(problems)}; for example "
                "PluginMetadata(name='my_orchestrator', version='0.1.0', "
                f"floe_api_version='{FLOE_API_VERSION}')"
            )

    def is_compatible_with(self, platform_api_version: str = FLOE_API_VERSION) -> bool:
        """True when the majors are equal and this plugin's minor is at most the platform's."""
        plugin_major, plugin_minor = _major_minor(
            self.floe_api_version, what=f"plugin '{self.name}' floe_api_version"
        )
        platform_major, platform_minor = _major_minor(
            platform_api_version, what="platform API version"
        )
        return plugin_major == platform_major and plugin_minor <= platform_minor


class Capability(StrEnum):
    """Optional capability ports an adapter declares; the CLI uses one only when declared."""

    LOCAL_RUNTIME = "local_runtime"
    RUN_LAUNCHER = "run_launcher"
    ALERTS = "alerts"


def abstract_members(cls: type) -> list[str]:
    """Names of abstract members of the plugin class ``cls``: a class that still has some is
    a base, not a plugin, and declares no metadata yet (ABCMeta sets ``__abstractmethods__``
    only after ``__init_subclass__`` runs, so they are computed here)."""
    return sorted(
        name
        for name in dir(cls)
        if getattr(inspect.getattr_static(cls, name, None), "__isabstractmethod__", False)
    )
