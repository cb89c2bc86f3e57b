"""The compiler: a dbt ``manifest.json`` and ``floe.yaml`` into CompiledArtifacts.

It reads JSON and YAML only and never imports dbt.

- :mod:`~floe_orchestration_core.compile.compiler` — :func:`compile_artifacts` and the mapping
  rules (what becomes what)
- :mod:`~floe_orchestration_core.compile.record_mapping` — the records into artifact fields,
  every problem with its JSON path; refuses dependency cycles
  (:mod:`~floe_orchestration_core.compile.dependency_cycles`)
- :mod:`~floe_orchestration_core.compile.manifest` — reading ``manifest.json`` (v4-v12, dbt
  Fusion) into the records of :mod:`~floe_orchestration_core.compile.manifest_records`, one
  node at a time (:mod:`~floe_orchestration_core.compile.manifest_nodes`), each field checked
  (:mod:`~floe_orchestration_core.compile.manifest_fields`) after a bounded decoding
  (:mod:`~floe_orchestration_core.compile.manifest_json`: size, depth, duplicate keys)
- :mod:`~floe_orchestration_core.compile.product` — ``floe.yaml``: its model, read and validated
- :mod:`~floe_orchestration_core.compile.product_selections` — floe.yaml's selectors applied to
  the transforms (compute overrides, partitions, schedules, sensors)
- :mod:`~floe_orchestration_core.compile.quality_checks` — which node each dbt test attaches to
- :mod:`~floe_orchestration_core.compile.slim_manifest` — the trimmed manifest written beside
  the artifacts

floe.yaml is read with :mod:`floe_orchestration_core.safe_yaml`, the YAML loader for every
user file (the registry reads ``manifest.yaml`` with it too), so it is not part of this package.
"""

from __future__ import annotations

from floe_orchestration_core.compile.compiler import compile_artifacts, transform_name

__all__ = ["compile_artifacts", "transform_name"]
