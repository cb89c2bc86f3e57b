"""How an orchestrator plugin reaches the ingestion plugins: injected, like its lineage backend.

The composition root (the registry's ``load_platform``) hands them to the orchestrator it built
with ``orchestrator.set_ingestion(ingestion)``, where ``ingestion`` is

- a callable ``connector name -> IngestionPlugin`` (the registry's resolver, which loads a
  plugin from the ``floe.ingestion`` entry points on first use), or
- a mapping ``connector name -> IngestionPlugin`` (tests, embedding applications), or
- None: no ingestion plugins; a product declaring ingestion is then refused with the fix.

:class:`IngestionPorts` is the part of
:class:`~floe_orchestration_core.plugin.OrchestratorPlugin` that holds it:
:meth:`~IngestionPorts.ingestion_plugin` is what an adapter calls for each entry's
``connector``. Orchestrator adapters never import an ingestion package.

Standard library only at module level (the plugin-discovery path imports it).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING

from floe_orchestration_core.errors import FloeError, PluginError

if TYPE_CHECKING:
    from typing import TypeAlias

    from floe_orchestration_core.ingestion import IngestionPlugin

    #: What an orchestrator plugin accepts as ``ingestion=``.
    IngestionSource: TypeAlias = (
        Callable[[str], IngestionPlugin] | Mapping[str, IngestionPlugin] | None
    )

__all__ = ["IngestionPorts"]


class IngestionPorts:
    """The ingestion plugins an orchestrator plugin was given (a base of
    ``OrchestratorPlugin``, which provides :attr:`name`)."""

    _ingestion: IngestionSource = None

    if TYPE_CHECKING:

        @property
        def name(self) -> str: ...

    def set_ingestion(self, ingestion: IngestionSource) -> None:
        """Resolve ingestion connectors with ``ingestion`` from now on (None: none)."""
        if ingestion is not None and not (callable(ingestion) or isinstance(ingestion, Mapping)):
            raise PluginError(
                f"orchestrator plugin '{self.name}': ingestion must be a callable (connector "
                f"name -> IngestionPlugin), a mapping or None; got {type(ingestion).__name__}"
            )
        self._ingestion = ingestion

    def ingestion_plugin(self, connector: str) -> IngestionPlugin:
        """The ingestion plugin for ``connector`` (an entry's ``connector:``).

        Raises :class:`PluginError` when none was given, or when the resolver has no such
        connector (its message lists the installed ones).
        """
        from floe_orchestration_core.ingestion import IngestionPlugin

        source = self._ingestion
        if source is None:
            raise PluginError(
                f"ingestion connector '{connector}' is needed, but orchestrator plugin "
                f"'{self.name}' was built without ingestion plugins; compose it with "
                "floe_registry.load_platform (which finds them by their 'floe.ingestion' entry "
                "points) or call set_ingestion({connector: plugin})"
            )
        if isinstance(source, Mapping):
            plugin = source.get(connector)
            if plugin is None:
                known = ", ".join(sorted(source)) or "none"
                raise PluginError(
                    f"no ingestion plugin named '{connector}'; given: {known}; install the "
                    f"package that registers '{connector}' in the 'floe.ingestion' entry points"
                )
        else:
            try:
                plugin = source(connector)
            except FloeError:
                raise
            except Exception as exc:
                raise PluginError(
                    f"resolving ingestion connector '{connector}' failed: "
                    f"{type(exc).__name__}: {exc}"
                ) from exc
        if not isinstance(plugin, IngestionPlugin):
            raise PluginError(
                f"ingestion connector '{connector}' resolved to {type(plugin).__name__}, not an "
                "IngestionPlugin"
            )
        return plugin
