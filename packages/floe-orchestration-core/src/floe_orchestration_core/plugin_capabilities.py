"""The optional capability ports of an orchestrator plugin: declared, checked, handed out.

A plugin declares what it has in ``capabilities`` (:class:`Capability` members); the CLI uses a
capability only when it is declared. :class:`CapabilityPorts` is the part of
:class:`~floe_orchestration_core.plugin.OrchestratorPlugin` that hands the ports out:
:meth:`~CapabilityPorts.local_runtime` and :meth:`~CapabilityPorts.run_launcher` check the
declaration, then call the adapter's hooks ``_local_runtime()`` / ``_run_launcher()`` (ports in
:mod:`floe_orchestration_core.runtime`).

Standard library only at module level (the plugin-discovery path imports it).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, ClassVar, TypeVar

from floe_orchestration_core.errors import PluginError
from floe_orchestration_core.plugin_metadata import Capability

if TYPE_CHECKING:
    from floe_orchestration_core.runtime import LocalRuntime, RunLauncher

__all__ = ["CapabilityPorts", "check_capabilities"]

_T = TypeVar("_T")


def check_capabilities(plugin: str, capabilities: object) -> None:
    """Raise :class:`PluginError` unless ``capabilities`` is a frozenset of Capability members."""
    if not isinstance(capabilities, frozenset) or not all(
        isinstance(c, Capability) for c in capabilities
    ):
        raise PluginError(
            f"orchestrator plugin '{plugin}': 'capabilities' must be a frozenset of "
            f"Capability members ({', '.join(c.value for c in Capability)}); "
            f"got {capabilities!r}"
        )


class CapabilityPorts:
    """The capability ports of a plugin (a base of ``OrchestratorPlugin``, which provides
    :attr:`name` and :meth:`_call_hook`)."""

    capabilities: ClassVar[frozenset[Capability]] = frozenset()

    if TYPE_CHECKING:

        @property
        def name(self) -> str: ...

        def _call_hook(self, hook: str, call: Callable[[], _T]) -> _T: ...

    def supports(self, capability: Capability | str) -> bool:
        """Whether the plugin declares ``capability``; an unknown capability name is False."""
        try:
            return Capability(capability) in self.capabilities
        except ValueError:
            return False

    def local_runtime(self) -> LocalRuntime:
        """The :class:`~floe_orchestration_core.runtime.LocalRuntime` of this orchestrator.

        Raises :class:`PluginError` unless the plugin declares ``Capability.LOCAL_RUNTIME``;
        an adapter that declares it implements the ``_local_runtime()`` hook.
        """
        self._require(Capability.LOCAL_RUNTIME)
        return self._call_hook("_local_runtime", self._local_runtime)

    def run_launcher(self) -> RunLauncher:
        """The :class:`~floe_orchestration_core.runtime.RunLauncher` of this orchestrator.

        Raises :class:`PluginError` unless the plugin declares ``Capability.RUN_LAUNCHER``.
        """
        self._require(Capability.RUN_LAUNCHER)
        return self._call_hook("_run_launcher", self._run_launcher)

    def _require(self, capability: Capability) -> None:
        if capability not in self.capabilities:
            declared = ", ".join(sorted(c.value for c in self.capabilities)) or "none"
            raise PluginError(
                f"orchestrator plugin '{self.name}' does not provide {capability.value} (it "
                f"declares: {declared}); select an orchestrator that does in manifest.yaml"
            )

    def _local_runtime(self) -> LocalRuntime:
        """Hook of :meth:`local_runtime`; implement it when declaring LOCAL_RUNTIME."""
        raise PluginError(
            f"orchestrator plugin '{self.name}' declares local_runtime but does not implement "
            "_local_runtime()"
        )

    def _run_launcher(self) -> RunLauncher:
        """Hook of :meth:`run_launcher`; implement it when declaring RUN_LAUNCHER."""
        raise PluginError(
            f"orchestrator plugin '{self.name}' declares run_launcher but does not implement "
            "_run_launcher()"
        )
