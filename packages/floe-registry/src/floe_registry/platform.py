"""Composition: ``manifest.yaml`` → a :class:`Platform` holding the wired plugins.

:func:`load_platform` is the composition root of the hexagon:

1. read and validate the manifest (:func:`~floe_registry.platform_manifest.load_manifest`);
2. load the lineage backend named in ``lineage.type`` — or the core's
   :class:`~floe_orchestration_core.lineage.NoOpLineageBackend` when ``lineage`` is absent —
   passing ``lineage.config`` as constructor keywords (validated first against the backend's
   ``config_model`` when it declares one), plus, when the backend's constructor takes them,
   ``base_dir`` (the manifest's folder, so relative paths in its config start there) and
   ``state_dir`` (the product's ``.floe`` folder, where a backend keeps what it could not
   deliver yet, when the platform is composed for a product);
3. load the orchestrator named in ``orchestrator.type``, validate ``orchestrator.config``
   against the plugin's own ``config_model`` (a plugin without one accepts no config), and
   construct it with the backend injected through the port
   (``OrchestratorPlugin(config, lineage_backend=backend)``);
4. give it the ingestion plugins (``orchestrator.set_ingestion(resolver)``): an
   :class:`~floe_registry.loading.IngestionPlugins` resolver that loads the plugin a
   product's ``ingestion:`` entry names (its ``connector``) from the ``floe.ingestion``
   entry points on first use, so a product without ingestion imports none.

Configuration problems are :class:`~floe_registry.errors.ManifestError` with JSON paths
such as ``orchestrator.config.url``. Close the platform (or use it as a context manager) to
flush and close the lineage backend.
"""

from __future__ import annotations

import inspect
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel
from pydantic import ValidationError as PydanticValidationError

from floe_orchestration_core.errors import FloeError
from floe_registry.errors import ManifestError, PluginLoadError
from floe_registry.loading import (
    IngestionPlugins,
    check_constructor_keywords,
    load_lineage_backend_class,
    load_orchestrator_class,
)
from floe_registry.platform_manifest import PlatformManifest, PluginSelection, load_manifest

if TYPE_CHECKING:
    from floe_orchestration_core.lineage import LineageBackendPlugin
    from floe_orchestration_core.plugin import OrchestratorPlugin

__all__ = ["Platform", "load_platform", "validate_plugin_config"]


@dataclass
class Platform:
    """The composed platform: the manifest, the orchestrator, its lineage backend and the
    resolver of its ingestion plugins."""

    manifest: PlatformManifest
    orchestrator: OrchestratorPlugin
    lineage_backend: LineageBackendPlugin
    ingestion: IngestionPlugins = field(default_factory=IngestionPlugins)
    _closed: bool = field(default=False, init=False, repr=False)

    def close(self, timeout: float = 5.0) -> bool:
        """Close the lineage backend: one flush of at most ``timeout`` s (the backend may
        bound it further, e.g. by its own flush timeout). Idempotent.

        Returns True when every event emitted through the backend was delivered (or dropped):
        none is left pending or spooled for a later delivery.
        """
        if self._closed:
            return True
        self._closed = True
        self.lineage_backend.close(timeout)
        stats = self.lineage_backend.stats()
        return stats.pending == 0 and stats.spooled == 0

    def __enter__(self) -> Platform:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()


def _config_problems(exc: Exception, prefix: str) -> list[tuple[str, str]]:
    if not isinstance(exc, PydanticValidationError):
        return [(prefix, str(exc))]
    problems: list[tuple[str, str]] = []
    for error in exc.errors(include_url=False):
        path = prefix
        for part in error["loc"]:
            path += f"[{part}]" if isinstance(part, int) else f".{part}"
        problems.append((path, str(error["msg"]).removeprefix("Value error, ")))
    return problems


def validate_plugin_config(
    plugin_cls: type, config: Mapping[str, Any], *, path: str, plugin_name: str
) -> BaseModel | None:
    """``config`` validated against ``plugin_cls.config_model``; ManifestError otherwise.

    A plugin whose ``config_model`` is None (or absent) accepts only an empty config and gets
    None. Problems are reported under ``path`` (e.g. ``orchestrator.config.url``).
    """
    resolve = getattr(plugin_cls, "resolve_config_model", None)
    try:
        model = resolve() if callable(resolve) else getattr(plugin_cls, "config_model", None)
    except FloeError as exc:
        raise PluginLoadError(f"plugin '{plugin_name}': {exc}") from exc
    if model is None:
        if config:
            keys = ", ".join(sorted(config))
            raise ManifestError(
                f"{path}: plugin '{plugin_name}' takes no configuration, but {keys} given; "
                f"remove '{path}'",
                [(path, f"plugin '{plugin_name}' takes no configuration")],
            )
        return None
    if not (isinstance(model, type) and issubclass(model, BaseModel)):
        raise PluginLoadError(
            f"plugin '{plugin_name}': config_model is {model!r}, not a pydantic model class"
        )
    try:
        return model.model_validate(dict(config))
    except PydanticValidationError as exc:
        problems = _config_problems(exc, path)
        fields = ", ".join(model.model_fields) or "none"
        listing = "\n".join(f"  {p}: {m}" for p, m in problems)
        raise ManifestError(
            f"invalid configuration for plugin '{plugin_name}' (its fields: {fields}):\n{listing}",
            problems,
        ) from exc


def _build_lineage_backend(
    selection: PluginSelection | None,
    base_dir: Path | None = None,
    state_dir: Path | None = None,
) -> LineageBackendPlugin:
    if selection is None:
        from floe_orchestration_core.lineage import NoOpLineageBackend

        return NoOpLineageBackend()
    cls = load_lineage_backend_class(selection.type)
    config: dict[str, Any] = dict(selection.config)
    if getattr(cls, "config_model", None) is not None:
        validate_plugin_config(cls, config, path="lineage.config", plugin_name=selection.type)
    try:
        check_constructor_keywords(cls, config, where=f"lineage backend '{selection.type}'")
    except PluginLoadError as exc:
        raise ManifestError(f"lineage.config: {exc}", [("lineage.config", str(exc))]) from exc
    if base_dir is not None and "base_dir" not in config and _accepts(cls, "base_dir"):
        # Relative paths in the backend's config start from the manifest's folder.
        config["base_dir"] = str(base_dir)
    if state_dir is not None and "state_dir" not in config and _accepts(cls, "state_dir"):
        config["state_dir"] = str(state_dir)  # the product's .floe: its lineage spool
    return cls(**config)


def _accepts(cls: type, keyword: str) -> bool:
    try:
        return keyword in inspect.signature(cls).parameters
    except (TypeError, ValueError):
        return False


def load_platform(
    manifest: str | Path | Mapping[str, Any] | PlatformManifest,
    *,
    state_dir: Path | None = None,
) -> Platform:
    """Compose the platform described by ``manifest`` (a YAML path, a mapping, or a model).

    ``state_dir`` is the product's ``.floe`` folder when the platform serves a product (the
    lineage backend keeps undelivered events there). Raises :class:`ManifestError` for
    manifest and plugin-configuration problems, and the registry's plugin errors (not found,
    duplicate, load, incompatible) for the plugins.
    """
    parsed = load_manifest(manifest)
    orchestrator_cls = load_orchestrator_class(parsed.orchestrator.type)
    config = validate_plugin_config(
        orchestrator_cls,
        parsed.orchestrator.config,
        path="orchestrator.config",
        plugin_name=parsed.orchestrator.type,
    )
    base_dir = Path(manifest).resolve().parent if isinstance(manifest, str | Path) else None
    backend = _build_lineage_backend(parsed.lineage, base_dir, state_dir)
    try:
        orchestrator = orchestrator_cls(config, lineage_backend=backend)
    except BaseException:
        backend.close(0.0)
        raise
    ingestion = IngestionPlugins()
    orchestrator.set_ingestion(ingestion)
    return Platform(
        manifest=parsed, orchestrator=orchestrator, lineage_backend=backend, ingestion=ingestion
    )
