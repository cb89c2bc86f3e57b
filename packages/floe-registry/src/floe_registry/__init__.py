"""Plugin registry and ``floe`` command line: the composition root of floe orchestration.

- :mod:`floe_registry.discovery` — list plugins from entry-point metadata (imports none);
- :mod:`floe_registry.loading` — load one plugin on demand with every check; ``register()``;
- :mod:`floe_registry.platform_manifest` — ``manifest.yaml`` (:class:`PlatformManifest`);
- :mod:`floe_registry.platform` — :func:`load_platform` → :class:`Platform`;
- :mod:`floe_registry.errors` — the registry's typed errors;
- :mod:`floe_registry.cli` — the ``floe`` command.

This module imports nothing: import the submodule you need, so that ``floe plugins list``
and plugin discovery stay cheap.
"""

__version__ = "0.1.0"
