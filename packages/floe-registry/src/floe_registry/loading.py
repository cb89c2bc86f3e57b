"""Loading one plugin on demand, with the checks every load makes; ``register()`` for tests.

Checks, in order (each failure raises; a broken plugin is never logged and skipped):

1. The name resolves to exactly one plugin (:class:`PluginNotFoundError` lists what is
   installed; :class:`DuplicatePluginError` names every distribution registering the name).
2. An API version declared in the entry point (``[floe-api-MAJOR.MINOR]``) is compatible —
   checked *before* importing, so an incompatible plugin's code never runs
   (:class:`PluginIncompatibleError`).
3. The module imports and the attribute exists (:class:`PluginLoadError`, cause chained).
4. The object is a concrete subclass of the port: ``OrchestratorPlugin`` for
   ``floe.orchestrators``, ``LineageBackendPlugin`` for ``floe.lineage_backends``,
   ``IngestionPlugin`` for ``floe.ingestion``, with a ``PluginMetadata`` in ``metadata``
   (:class:`PluginLoadError`).
5. ``metadata.name`` equals the entry-point name (:class:`PluginLoadError`).
6. ``metadata.floe_api_version`` — authoritative — is compatible with
   :data:`~floe_orchestration_core.FLOE_API_VERSION` (:class:`PluginIncompatibleError`).
7. The version declared in the entry point equals ``metadata.floe_api_version``; a
   disagreement is a packaging bug (:class:`PluginLoadError`).
"""

from __future__ import annotations

import inspect
from collections.abc import Mapping
from dataclasses import dataclass, replace
from importlib import metadata as importlib_metadata
from types import TracebackType
from typing import TYPE_CHECKING, Any, cast

from floe_orchestration_core import FLOE_API_VERSION
from floe_registry import discovery
from floe_registry.discovery import PluginInfo, PluginKind, find_plugin
from floe_registry.errors import (
    DuplicatePluginError,
    PluginIncompatibleError,
    PluginLoadError,
)

if TYPE_CHECKING:
    from pydantic import BaseModel

    from floe_orchestration_core.ingestion import IngestionPlugin
    from floe_orchestration_core.lineage import LineageBackendPlugin
    from floe_orchestration_core.plugin import OrchestratorPlugin

__all__ = [
    "IngestionPlugins",
    "Registration",
    "check_constructor_keywords",
    "constructor_keywords",
    "load_ingestion",
    "load_ingestion_class",
    "load_lineage_backend",
    "load_lineage_backend_class",
    "load_orchestrator",
    "load_orchestrator_class",
    "register",
]


def _port_of(kind: PluginKind) -> type[Any]:
    if kind is PluginKind.ORCHESTRATOR:
        from floe_orchestration_core.plugin import OrchestratorPlugin

        return OrchestratorPlugin
    if kind is PluginKind.INGESTION:
        from floe_orchestration_core.ingestion import IngestionPlugin

        return IngestionPlugin
    from floe_orchestration_core.lineage import LineageBackendPlugin

    return LineageBackendPlugin


def _kind_of(plugin: object) -> PluginKind:
    """The port ``plugin`` subclasses (each port is imported only when the ones before it did
    not match: loading an orchestrator never imports the lineage module)."""
    for kind in (PluginKind.ORCHESTRATOR, PluginKind.INGESTION, PluginKind.LINEAGE_BACKEND):
        if isinstance(plugin, type) and issubclass(plugin, _port_of(kind)):
            return kind
    raise PluginLoadError(
        "register() takes a subclass of OrchestratorPlugin, LineageBackendPlugin or "
        f"IngestionPlugin, got {plugin!r}"
    )


def _incompatible(info: PluginInfo, api_version: str, where: str) -> PluginIncompatibleError:
    platform_major = FLOE_API_VERSION.split(".")[0]
    return PluginIncompatibleError(
        f"{info.kind.label} plugin '{info.name}' {info.version} ({info.distribution}) targets "
        f"floe API {api_version} ({where}), but this platform implements floe API "
        f"{FLOE_API_VERSION}; a compatible plugin has major version {platform_major} and a minor "
        f"version of at most {FLOE_API_VERSION.split('.')[1]}; install a release of "
        f"{info.distribution} built for floe API {platform_major}.x, or upgrade "
        "floe-orchestration-core",
        name=info.name,
        plugin_api_version=api_version,
        platform_api_version=FLOE_API_VERSION,
    )


def _check_class(info: PluginInfo, obj: object, port: type[Any]) -> type[Any]:
    """Checks 4-7 of the module docstring on an imported object."""
    from floe_orchestration_core.plugin import PluginMetadata

    origin = f"{info.kind.label} plugin '{info.name}' ({info.distribution}, {info.target})"
    expected = f"{port.__module__}.{port.__qualname__}"
    if not isinstance(obj, type) or not issubclass(obj, port):
        got = obj.__qualname__ if isinstance(obj, type) else f"a {type(obj).__name__} object"
        raise PluginLoadError(
            f"{origin} resolves to {got}, which is not a subclass of {expected}; point the "
            f"'{info.kind.group}' entry point at the plugin class"
        )
    if inspect.isabstract(obj):
        missing = ", ".join(sorted(getattr(obj, "__abstractmethods__", ())))
        raise PluginLoadError(
            f"{origin}: {obj.__qualname__} does not implement the abstract methods {missing} "
            f"of {expected}"
        )
    meta = getattr(obj, "metadata", None)
    if not isinstance(meta, PluginMetadata):
        raise PluginLoadError(
            f"{origin}: {obj.__qualname__}.metadata is {type(meta).__name__}, not a "
            "PluginMetadata; add metadata = PluginMetadata(name=..., version=..., "
            "floe_api_version=...)"
        )
    if meta.name != info.name:
        raise PluginLoadError(
            f"{origin}: the entry point is named '{info.name}' but {obj.__qualname__}.metadata"
            f".name is '{meta.name}'; they must be equal (manifest.yaml selects plugins by this "
            f"name): rename the entry point to '{meta.name}' or the metadata name to "
            f"'{info.name}'"
        )
    if not meta.is_compatible_with(FLOE_API_VERSION):
        raise _incompatible(info, meta.floe_api_version, f"{obj.__qualname__}.metadata")
    if info.floe_api_version is not None and info.floe_api_version != meta.floe_api_version:
        raise PluginLoadError(
            f"{origin}: the entry point declares floe API {info.floe_api_version} but "
            f"{obj.__qualname__}.metadata declares {meta.floe_api_version}; fix the "
            f"'[floe-api-...]' marker in the distribution's entry point and reinstall it"
        )
    return obj


def _load_class(kind: PluginKind, name: str) -> type[Any]:
    info, source = find_plugin(kind, name)
    if info.problem is not None:
        raise PluginLoadError(f"{kind.label} plugin '{name}' ({info.distribution}): {info.problem}")
    if info.compatible is False and info.floe_api_version is not None:
        raise _incompatible(info, info.floe_api_version, "declared in its entry point")
    if isinstance(source, importlib_metadata.EntryPoint):
        try:
            obj: object = source.load()
        except Exception as exc:
            raise PluginLoadError(
                f"{kind.label} plugin '{name}' ({info.distribution} {info.version}) failed to "
                f"import '{info.target}': {type(exc).__name__}: {exc}; reinstall "
                f"{info.distribution} or fix the module (run with --debug for the traceback)"
            ) from exc
    else:
        obj = source
    return _check_class(info, obj, _port_of(kind))


def load_orchestrator_class(name: str) -> type[OrchestratorPlugin]:
    """Import and check the orchestrator plugin class called ``name`` (see module checks)."""
    return cast("type[OrchestratorPlugin]", _load_class(PluginKind.ORCHESTRATOR, name))


def load_lineage_backend_class(name: str) -> type[LineageBackendPlugin]:
    """Import and check the lineage backend plugin class called ``name``."""
    return cast("type[LineageBackendPlugin]", _load_class(PluginKind.LINEAGE_BACKEND, name))


def load_ingestion_class(name: str) -> type[IngestionPlugin]:
    """Import and check the ingestion plugin class called ``name`` (an entry's ``connector``)."""
    return cast("type[IngestionPlugin]", _load_class(PluginKind.INGESTION, name))


def load_ingestion(name: str) -> IngestionPlugin:
    """An instance of the ingestion plugin ``name`` (ingestion plugins take no arguments)."""
    return load_ingestion_class(name)()


class IngestionPlugins:
    """The resolver an orchestrator plugin gets (``set_ingestion``): ``resolver(connector)``
    loads that ingestion plugin on first use, with every check of this module, and keeps it.

    Nothing is imported until a product's entry names a connector, so a platform without
    ingestion pays nothing for it.
    """

    def __init__(self) -> None:
        self._loaded: dict[str, IngestionPlugin] = {}

    def __call__(self, connector: str) -> IngestionPlugin:
        plugin = self._loaded.get(connector)
        if plugin is None:
            plugin = self._loaded[connector] = load_ingestion(connector)
        return plugin

    @property
    def loaded(self) -> dict[str, IngestionPlugin]:
        """The plugins loaded so far, by connector name."""
        return dict(self._loaded)


def load_orchestrator(
    name: str,
    config: Mapping[str, Any] | BaseModel | None = None,
    *,
    lineage_backend: LineageBackendPlugin | None = None,
) -> OrchestratorPlugin:
    """An instance of the orchestrator plugin ``name``, built with ``config``.

    The plugin's constructor validates ``config`` against its ``config_model`` and raises
    :class:`~floe_orchestration_core.errors.PluginError` when it is invalid.
    """
    return load_orchestrator_class(name)(config, lineage_backend=lineage_backend)


def load_lineage_backend(
    name: str, config: Mapping[str, Any] | None = None
) -> LineageBackendPlugin:
    """An instance of the lineage backend ``name``; ``config`` keys are constructor keywords.

    Keys the constructor does not accept raise :class:`PluginLoadError` naming the accepted
    ones (``floe_registry.platform.load_platform`` reports them as manifest problems).
    """
    cls = load_lineage_backend_class(name)
    kwargs = dict(config or {})
    check_constructor_keywords(cls, kwargs, where=f"lineage backend '{name}'")
    return cls(**kwargs)


def constructor_keywords(cls: type) -> list[str]:
    """The keyword parameters ``cls(...)`` accepts (``["*"]`` when it takes ``**kwargs``)."""
    parameters = inspect.signature(cls).parameters.values()
    if any(p.kind is inspect.Parameter.VAR_KEYWORD for p in parameters):
        return ["*"]
    return [
        p.name
        for p in parameters
        if p.kind in (inspect.Parameter.KEYWORD_ONLY, inspect.Parameter.POSITIONAL_OR_KEYWORD)
    ]


def check_constructor_keywords(cls: type, kwargs: Mapping[str, Any], *, where: str) -> None:
    """PluginLoadError naming the unknown keys of ``kwargs`` and the accepted ones."""
    accepted = constructor_keywords(cls)
    if "*" in accepted:
        return
    unknown = sorted(set(kwargs) - set(accepted))
    if unknown:
        raise PluginLoadError(
            f"{where} does not accept the configuration key(s) {', '.join(unknown)}; accepted: "
            f"{', '.join(accepted) or 'none'}"
        )


@dataclass(frozen=True)
class Registration:
    """A plugin added with :func:`register`; a context manager that unregisters on exit."""

    info: PluginInfo

    def unregister(self) -> None:
        """Remove the plugin from the registry (idempotent)."""
        discovery._registered.pop((self.info.kind, self.info.name), None)

    def __enter__(self) -> Registration:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.unregister()


def register(
    plugin: type[OrchestratorPlugin] | type[LineageBackendPlugin] | type[IngestionPlugin],
) -> Registration:
    """Make ``plugin`` loadable by its ``metadata.name`` without an entry point (for tests).

    The class gets the same checks as an entry-point plugin (it must be a concrete subclass
    of a port with compatible metadata). A name that is already registered, or provided by an
    installed distribution, raises :class:`DuplicatePluginError` naming both. Use the returned
    :class:`Registration` as a context manager, or call ``unregister()``::

        with register(InMemoryOrchestrator):
            platform = load_platform({"orchestrator": "in_memory"})
    """
    kind = _kind_of(plugin)
    meta = getattr(plugin, "metadata", None)
    name = getattr(meta, "name", None)
    if not isinstance(name, str):
        raise PluginLoadError(
            f"{plugin.__qualname__} declares no metadata; add metadata = PluginMetadata(...)"
        )
    info = PluginInfo(
        kind=kind,
        name=name,
        version=str(getattr(meta, "version", "unknown")),
        floe_api_version=None,
        distribution=discovery.REGISTERED_SOURCE,
        target=f"{plugin.__module__}:{plugin.__qualname__}",
        compatible=None,
    )
    _check_class(info, plugin, _port_of(kind))
    existing = [i for i in discovery.list_plugins(kind) if i.name == name]
    if existing:
        sources = [f"{i.distribution} ({i.target})" for i in existing]
        raise DuplicatePluginError(
            f"cannot register {info.target} as {kind.label} plugin '{name}': the name is "
            f"already registered by {'; '.join(sources)}; unregister it first",
            kind=kind.value,
            name=name,
            sources=[*(i.distribution for i in existing), discovery.REGISTERED_SOURCE],
        )
    info = replace(info, floe_api_version=getattr(meta, "floe_api_version", None), compatible=True)
    discovery._registered[(kind, name)] = (info, plugin)
    return Registration(info)
