"""The code location the local runtime's orchestrator loads: attribute ``defs``.

The workspace written by ``floe up`` points the orchestrator's code server at this module
(for Dagster: ``python_module: {module_name: floe_registry.code_location, attribute:
defs}``). ``defs`` is built on first access (PEP 562 module ``__getattr__``, so importing
the module does nothing) from the environment ``floe up`` gives the processes:

- ``FLOE_ARTIFACTS``: the compiled artifacts JSON (required);
- ``FLOE_PLATFORM_MANIFEST``: the platform ``manifest.yaml`` (empty or unset: defaults);
- ``FLOE_PRODUCT_DIR``: the product folder (the workspace runs the code server there; its
  ``.floe`` holds the lineage spool the processes share).

It composes the platform with :func:`~floe_registry.platform.load_platform` and returns
``platform.orchestrator.create_definitions(artifacts)``: orchestrator-neutral, nothing here
imports an orchestrator. The platform is closed at interpreter exit so the lineage backend
flushes what the process emitted.
"""

from __future__ import annotations

import atexit
import os
from pathlib import Path
from typing import Any

from floe_orchestration_core.errors import RuntimeServiceError
from floe_orchestration_core.runtime import STATE_DIR_NAME
from floe_registry.product_workspace import ENV_ARTIFACTS, ENV_PLATFORM_MANIFEST, ENV_PRODUCT_DIR

__all__ = ["build_definitions"]

_built: dict[str, Any] = {}


def build_definitions() -> Any:
    """The orchestrator's definitions of the product named by the environment (cached)."""
    if "defs" in _built:
        return _built["defs"]
    artifacts_path = os.environ.get(ENV_ARTIFACTS)
    if not artifacts_path:
        raise RuntimeServiceError(
            f"{ENV_ARTIFACTS} is not set: this code location is loaded by 'floe up', which "
            "sets it to the compiled artifacts; start the product with 'floe up <folder>'"
        )
    from floe_orchestration_core.artifacts import load_artifacts
    from floe_registry.platform import load_platform

    artifacts = load_artifacts(artifacts_path)
    manifest = os.environ.get(ENV_PLATFORM_MANIFEST) or {"orchestrator": "dagster"}
    product_dir = os.environ.get(ENV_PRODUCT_DIR)
    state_dir = Path(product_dir) / STATE_DIR_NAME if product_dir else None
    platform = load_platform(manifest, state_dir=state_dir)
    atexit.register(platform.close)
    _built["defs"] = platform.orchestrator.create_definitions(artifacts)
    return _built["defs"]


def __getattr__(name: str) -> Any:
    if name == "defs":
        return build_definitions()
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
