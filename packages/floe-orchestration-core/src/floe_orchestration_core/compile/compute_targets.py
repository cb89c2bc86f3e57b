"""The product's compute targets: the dbt profile's targets, with floe.yaml's settings over them.

The dbt profile is the source of truth (read and rendered by
:mod:`floe_orchestration_core.dbt_profiles`, the way dbt reads it, with the profiles folder of
floe.yaml or ``--profiles-dir``, else dbt's own search):

- **Without a ``compute`` section** the product has one compute target: the profile's target
  that dbt would use (``--target``/floe.yaml's ``dbt.target``, else ``$DBT_TARGET``, else the
  profile's ``target:``), named after its adapter type (``postgres``, ``duckdb``). Any other
  target of the profile is used by declaring it under ``compute.targets`` with its
  ``dbt_target``.
- **A compute target of floe.yaml** takes ``type`` and ``threads`` from its dbt target
  (``dbt_target``, else the one above) unless it sets them; a ``type`` that differs from the
  profile's is an error (dbt runs the profile's adapter whatever floe.yaml says). Its
  ``properties`` are the target's non-secret details (``host``, ``port``, ``database``,
  ``schema``, ``path``…: :data:`~floe_orchestration_core.dbt_profiles.PUBLIC_KEYS`) with
  floe.yaml's ``properties`` over them; ``from_profile`` records what the profile said.
- **Without a profile** (no ``dbt_project.yml`` with a ``profile:``, or no ``profiles.yml``
  where dbt looks: compiling a manifest alone, e.g. in CI) floe.yaml says everything, and the
  one default target's type is the manifest's adapter type.

Errors: :class:`~floe_orchestration_core.errors.DbtProfileError` (an invalid profile, a missing
target, an unset variable among the values read) and
:class:`~floe_orchestration_core.errors.ProductSpecError` for floe.yaml settings that disagree
with the profile, both naming the file and the fix.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from floe_orchestration_core.compile.manifest_records import DbtManifest
from floe_orchestration_core.compile.product import ComputeTargetSpec, FloeProductSpec
from floe_orchestration_core.dbt_profiles import DbtProfile, ProfileTarget, find_profile
from floe_orchestration_core.errors import ProductSpecError

__all__ = ["compute_targets"]

_NOT_IDENTIFIER = re.compile(r"[^A-Za-z0-9_]")


def _identifier(text: str) -> str:
    name = _NOT_IDENTIFIER.sub("_", text) if text else "default"
    return name if name[0].isalpha() or name[0] == "_" else f"_{name}"


def _profile(project_dir: str, profiles_dir: str | None) -> DbtProfile | None:
    folder = Path(project_dir)
    if not folder.is_dir():
        return None
    return find_profile(folder, profiles_dir=profiles_dir)


def _from_profile(target: ProfileTarget) -> dict[str, Any]:
    return {
        "type": target.type,
        "dbt_target": target.name,
        "threads": target.threads,
        "properties": target.public_properties(),
    }


def _declared(
    name: str,
    spec: ComputeTargetSpec,
    profile: DbtProfile | None,
    dbt_target: str | None,
    origin: str,
) -> dict[str, Any]:
    declared = {"name": name, **spec.model_dump(exclude_none=True)}
    where = f"compute.targets.{name}"
    if profile is None:
        if spec.type is None:
            raise ProductSpecError(
                f"{origin}: {where}.type: no dbt profile was found to read the adapter type "
                "from; set 'type:' (e.g. postgres, duckdb) or make profiles.yml reachable "
                "(dbt.profiles_dir)",
                [(f"{where}.type", "required without a dbt profile")],
            )
        return declared
    target = profile.target(spec.dbt_target or dbt_target)
    found = _from_profile(target)
    if spec.type is not None and spec.type.lower() != found["type"].lower():
        message = (
            f"type '{spec.type}' differs from dbt target '{target.name}' of profile "
            f"'{profile.name}' ({profile.file}), which is '{found['type']}'; dbt runs the "
            "profile's adapter: remove 'type:' or name the right dbt_target"
        )
        raise ProductSpecError(f"{origin}: {where}.type: {message}", [(f"{where}.type", message)])
    return {
        **declared,
        "type": spec.type or found["type"],
        "dbt_target": target.name,
        "threads": spec.threads or found["threads"],
        "properties": {**found["properties"], **spec.properties},
        "from_profile": found["properties"],
    }


def compute_targets(
    spec: FloeProductSpec,
    manifest: DbtManifest,
    *,
    dbt_target: str | None,
    project_dir: str,
    profiles_dir: str | None,
    origin: str,
) -> tuple[list[dict[str, Any]], str]:
    """(the compute targets' fields, the default target's name); rules in the module doc."""
    profile = _profile(project_dir, profiles_dir)
    if spec.compute is not None:
        targets = [
            _declared(name, target, profile, dbt_target, origin)
            for name, target in spec.compute.targets.items()
        ]
        return targets, spec.compute.default_target
    if profile is None:
        adapter = manifest.adapter_type
        name = _identifier(adapter or "")
        return [{"name": name, "type": adapter or "unknown", "dbt_target": dbt_target}], name
    target = profile.target(dbt_target)
    found = _from_profile(target)
    name = _identifier(found["type"])
    return [{"name": name, **found, "from_profile": found["properties"]}], name
