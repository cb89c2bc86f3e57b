"""The compiler: a dbt ``manifest.json`` and ``floe.yaml`` into CompiledArtifacts.

It reads JSON and YAML only and never imports dbt.

- :mod:`~floe_orchestration_core.compile.compiler` — :func:`compile_artifacts` and the mapping
  rules (what becomes what)
- :mod:`~floe_orchestration_core.compile.manifest` — reading ``manifest.json`` (v4-v12, dbt
  Fusion) into the records of :mod:`~floe_orchestration_core.compile.manifest_records`
- :mod:`~floe_orchestration_core.compile.product` — ``floe.yaml``: its model and applying its
  selectors to the transforms
- :mod:`~floe_orchestration_core.compile.quality_checks` — which node each dbt test attaches to
- :mod:`~floe_orchestration_core.compile.slim_manifest` — the trimmed manifest written beside
  the artifacts
- :mod:`~floe_orchestration_core.compile.safe_yaml` — the YAML loader for every user file
"""

from __future__ import annotations

from floe_orchestration_core.compile.compiler import compile_artifacts, transform_name

__all__ = ["compile_artifacts", "transform_name"]
