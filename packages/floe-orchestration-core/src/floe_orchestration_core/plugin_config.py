"""An orchestrator plugin's configuration: its ``config_model``, declared, resolved, applied.

:class:`~floe_orchestration_core.plugin.OrchestratorPlugin` calls these: :func:`check_declared`
when a concrete plugin class is created, :func:`resolve` on first use, :func:`validate` in the
constructor. A plugin declares ``config_model`` as a pydantic model or, to keep pydantic off the
plugin-discovery path, as its import path ``"package.module:Model"``.

On the discovery path: pydantic is imported only by a function that needs it (a plugin without
a ``config_model``, or one declared by import path, never imports it when its class is made).
"""

from __future__ import annotations

import importlib
import re
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from floe_orchestration_core.errors import PluginError

if TYPE_CHECKING:
    from pydantic import BaseModel

__all__ = ["check_declared", "resolve", "validate"]

_IMPORT_PATH = re.compile(r"[A-Za-z_][\w.]*:[A-Za-z_][\w.]*")


def check_declared(plugin: str, declared: object) -> None:
    """Raise :class:`PluginError` unless ``declared`` is None, a pydantic model class, or an
    import path such as ``'my_package.config:MyConfig'``."""
    if declared is None:
        return
    if isinstance(declared, str):
        if not _IMPORT_PATH.fullmatch(declared):
            raise PluginError(
                f"orchestrator plugin '{plugin}': 'config_model' {declared!r} is "
                "not an import path such as 'my_package.config:MyConfig'"
            )
        return
    from pydantic import BaseModel

    if not (isinstance(declared, type) and issubclass(declared, BaseModel)):
        raise PluginError(
            f"orchestrator plugin '{plugin}': 'config_model' must be a pydantic "
            f"BaseModel subclass, its import path ('package.module:Model'), or None; "
            f"got {declared!r}"
        )


def resolve(plugin: str, declared: type[BaseModel] | str | None) -> type[BaseModel] | None:
    """The config model class, importing it when ``declared`` is an import path.

    Raises :class:`PluginError` (cause chained) when the path cannot be imported or does not
    name a pydantic model.
    """
    if not isinstance(declared, str):
        return declared
    from pydantic import BaseModel

    module_name, _, attribute = declared.partition(":")
    try:
        resolved: object = importlib.import_module(module_name)
        for part in attribute.split("."):
            resolved = getattr(resolved, part)
    except (ImportError, AttributeError) as exc:
        raise PluginError(
            f"orchestrator plugin '{plugin}': config_model {declared!r} cannot "
            f"be imported ({type(exc).__name__}: {exc})"
        ) from exc
    if not (isinstance(resolved, type) and issubclass(resolved, BaseModel)):
        raise PluginError(
            f"orchestrator plugin '{plugin}': config_model {declared!r} is "
            f"{resolved!r}, not a pydantic BaseModel subclass"
        )
    return resolved


def validate(
    plugin: str, model: type[BaseModel] | None, config: Mapping[str, Any] | BaseModel | None
) -> BaseModel | None:
    """``config`` validated with ``model``; :class:`PluginError` listing every invalid field.

    Without a model only no configuration (None or an empty mapping) is accepted.
    """
    if model is None:
        if config is None or (isinstance(config, Mapping) and not config):
            return None
        raise PluginError(
            f"orchestrator plugin '{plugin}' takes no configuration; remove its config "
            f"(got {type(config).__name__})"
        )
    from pydantic import BaseModel
    from pydantic import ValidationError as PydanticValidationError

    from floe_orchestration_core.artifacts import format_pydantic_errors

    if isinstance(config, model):
        return config
    if config is None:
        config = {}
    if isinstance(config, BaseModel):
        config = config.model_dump(by_alias=True)
    if not isinstance(config, Mapping):
        raise PluginError(
            f"orchestrator plugin '{plugin}': config must be a mapping or a "
            f"{model.__name__}; got {type(config).__name__}"
        )
    try:
        return model.model_validate(dict(config))
    except PydanticValidationError as exc:
        problems = format_pydantic_errors(exc)
        listing = "; ".join(
            f"{'config' if path == '$' else 'config.' + path}: {message}"
            for path, message in problems
        )
        raise PluginError(
            f"orchestrator plugin '{plugin}' has invalid configuration: {listing}"
        ) from exc
