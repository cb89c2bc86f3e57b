"""Compile a dbt ``manifest.json`` (schema v4-v12, dbt Fusion) and ``floe.yaml`` into artifacts.

Entry point: :func:`compile_artifacts`. It reads JSON only and never imports dbt. Reading the
manifest is :mod:`floe_orchestration_core.compile.manifest`; reading ``floe.yaml`` is
:mod:`floe_orchestration_core.compile.product`. This module holds the mapping rules (applied by
:mod:`~floe_orchestration_core.compile.record_mapping`):

**What becomes what**

- Enabled ``model``, ``seed`` and ``snapshot`` nodes (of the root project *and* of installed
  packages) → :class:`TransformConfig`, in manifest node order. Ephemeral and python models are
  transforms like any other (``materialization="ephemeral"``, ``language="python"``).
- Enabled ``sources`` → :class:`SourceConfig` keyed ``source_name.table``; ``exposures`` →
  :class:`ExposureConfig`.
- ``test`` nodes → :class:`QualityCheck` on the transform or source they test.
- Everything else (analyses, operations, unit tests, metrics, semantic models, saved queries,
  macros) is not part of the artifacts; dependencies on such nodes are ignored.
- Disabled resources (the manifest's ``disabled`` section, or ``config.enabled: false``) are
  excluded. dbt itself refuses to parse a project in which an enabled node depends on a disabled
  or missing one (checked on every manifest of the corpus: none has such an edge), so such an
  edge means an edited or inconsistent manifest: compiling fails with an InvalidManifestError
  naming both nodes (and the edge's JSON path) rather than losing the edge. Transforms that
  depend on each other in a cycle (a self-dependency included) are a ManifestCycleError naming
  the models, as dbt refuses them too.
- What is deliberately not carried is listed in ``docs/reference/compiled-artifacts.md``
  ("What the compiler does not carry"); a field that is read but malformed is refused
  (:mod:`~floe_orchestration_core.compile.manifest`), never read as "not set".

**Transforms**

- ``name`` is the node's name; a versioned model (``version`` set) is ``f"{name}_v{version}"``,
  dbt's default relation alias for versions. Two enabled transforms with one name (or two sources
  with one key) are an InvalidManifestError naming both unique_ids; nothing is renamed.
- ``materialization`` = ``config.materialized``, else ``seed`` for seeds, ``snapshot`` for
  snapshots, ``view`` for models. ``language`` = the node's language, else ``sql``.
- ``depends_on`` = names of the upstream transforms, ``source_dependencies`` = keys of the
  upstream sources, both de-duplicated in manifest order.
- ``path`` = ``original_file_path``; ``database``/``schema``/``alias``/``tags``/``meta``/
  ``description``/``columns`` from the node; ``owners`` from ``meta.owner(s)``,
  ``config.meta.owner(s)`` and the owner of the node's group.
- ``compute`` = the default compute target unless a ``compute.overrides`` entry of floe.yaml
  selects the transform (entries applied in order; a later match wins). ``partition`` = the
  floe.yaml partition whose ``select`` matches it (two matching partitions are an error).

**Compute targets** come from the dbt profile with floe.yaml over it
(:mod:`floe_orchestration_core.compile.compute_targets`); reads across warehouses are refused
(:mod:`floe_orchestration_core.compile.compute_mix`).

**Quality checks**: attachment rules and fields in
:mod:`floe_orchestration_core.compile.quality_checks`.

**Defaults without floe.yaml**: product name = the dbt project's name (characters a product
name cannot hold become ``-``), version ``0.0.0``; one compute target, the dbt profile's target
named after its adapter type (without a profile: after ``metadata.adapter_type``, else
``default``, whose type is the adapter type, else ``unknown``);
``project_dir`` = the manifest's folder, or its parent when the manifest is in ``target/``.

**Selectors in floe.yaml** (overrides, partitions, schedules, sensors) are resolved with
:meth:`TransformGraph.select`; a selector that is malformed, or that has an atom matching no
transform, is a ProductSpecError naming it — nothing a user wrote is silently dropped.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
from collections.abc import Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from pydantic import ValidationError as PydanticValidationError

from floe_orchestration_core import __version__
from floe_orchestration_core.artifacts import (
    CompiledArtifacts,
    FileArrivalSensor,
    PythonAssetConfig,
    format_pydantic_errors,
)
from floe_orchestration_core.compile.compute_mix import check_compute_mix
from floe_orchestration_core.compile.compute_targets import (
    compute_targets as resolve_compute_targets,
)
from floe_orchestration_core.compile.ingestion import ingestion_section
from floe_orchestration_core.compile.manifest import parse_manifest, read_manifest_file
from floe_orchestration_core.compile.manifest_json import json_path
from floe_orchestration_core.compile.manifest_records import DbtManifest
from floe_orchestration_core.compile.product import (
    FloeProductSpec,
    load_product_spec,
    read_product_spec_file,
)
from floe_orchestration_core.compile.product_selections import apply_product_spec
from floe_orchestration_core.compile.record_mapping import RecordMapper, transform_name
from floe_orchestration_core.errors import CompileError, InvalidManifestError, ProductSpecError
from floe_orchestration_core.gc_pause import paused_gc

__all__ = ["compile_artifacts", "transform_name"]

_NOT_PRODUCT_NAME = re.compile(r"[^A-Za-z0-9_.-]")


def _canonical_json(value: Any) -> bytes:
    return json.dumps(
        value, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str
    ).encode()


# Inputs ---------------------------------------------------------------------------------------
def _read_manifest(
    manifest: str | Path | Mapping[str, Any],
) -> tuple[DbtManifest, bytes, str, str]:
    """(parsed manifest, bytes hashed, manifest_path for artifacts, default project_dir)."""
    if isinstance(manifest, str | Path):
        raw, data = read_manifest_file(manifest)
        path = Path(manifest)
        folder = path.parent.parent if path.parent.name == "target" else path.parent
        parsed = parse_manifest(data, origin=str(manifest), decoded=True)
        return parsed, raw, str(manifest), str(folder)
    if not isinstance(manifest, Mapping):
        raise CompileError(
            f"manifest: expected a path to manifest.json or a decoded mapping, got "
            f"{type(manifest).__name__}"
        )
    return parse_manifest(manifest), _canonical_json(manifest), "manifest.json", "."


def _read_product(
    product: str | Path | FloeProductSpec | Mapping[str, Any] | None,
) -> tuple[FloeProductSpec, bytes, Path | None, str]:
    """(spec, bytes hashed, folder relative paths start from, origin for messages)."""
    if product is None:
        return FloeProductSpec(), b"", None, "floe.yaml"
    if isinstance(product, FloeProductSpec):
        return product, product.canonical_bytes(), None, "floe.yaml"
    if isinstance(product, str | Path):
        spec, raw = read_product_spec_file(product)
        return spec, raw, Path(product).parent, str(product)
    return load_product_spec(product), _canonical_json(dict(product)), None, "floe.yaml"


def _relative_to(folder: Path | None, value: str) -> str:
    return os.path.normpath(folder / value) if folder is not None else value


def _rebased_asset(asset: PythonAssetConfig, folder: Path | None) -> dict[str, Any]:
    """A Python asset with its file paths relative to where dbt paths are relative to."""
    data = asset.model_dump()
    data["function"] = f"{_relative_to(folder, asset.file)}:{asset.callable_name}"
    data["inputs"] = [_relative_to(folder, path) for path in asset.inputs]
    data["outputs"] = [_relative_to(folder, path) for path in asset.outputs]
    return data


# Product settings -----------------------------------------------------------------------------
def _product_name(spec: FloeProductSpec, manifest: DbtManifest) -> str:
    if spec.name is not None:
        return spec.name
    name = _NOT_PRODUCT_NAME.sub("-", manifest.project_name).lstrip("_.-")
    if not name:
        raise CompileError(
            f"{manifest.origin}: the dbt project name '{manifest.project_name}' cannot be a "
            "product name; set 'name:' in floe.yaml (letters, digits, '_', '.', '-')"
        )
    return name


def compile_artifacts(
    manifest: str | Path | Mapping[str, Any],
    *,
    product: str | Path | FloeProductSpec | Mapping[str, Any] | None = None,
    project_dir: str | Path | None = None,
    profiles_dir: str | Path | None = None,
    target: str | None = None,
    compiled_at: datetime | None = None,
) -> CompiledArtifacts:
    """Compile a dbt manifest (path or decoded mapping) and optional floe.yaml into artifacts.

    ``product`` is a floe.yaml path, a :class:`FloeProductSpec`, or a mapping of its content.
    Explicit ``project_dir``, ``profiles_dir`` and ``target`` override floe.yaml's ``dbt``
    section. Raises :class:`CompileError` for an unreadable, invalid or unsupported manifest,
    :class:`ProductSpecError` for floe.yaml problems, and
    :class:`~floe_orchestration_core.errors.DbtProfileError` when the project's dbt profile
    cannot be read as dbt reads it (an unset variable among the values read included); each
    names the file and the fix.
    """
    with paused_gc():
        return _compile(
            manifest,
            product=product,
            project_dir=project_dir,
            profiles_dir=profiles_dir,
            target=target,
            compiled_at=compiled_at,
        )


def _compile(
    manifest: str | Path | Mapping[str, Any],
    *,
    product: str | Path | FloeProductSpec | Mapping[str, Any] | None,
    project_dir: str | Path | None,
    profiles_dir: str | Path | None,
    target: str | None,
    compiled_at: datetime | None,
) -> CompiledArtifacts:
    if compiled_at is not None and compiled_at.utcoffset() is None:
        raise CompileError(
            f"compiled_at {compiled_at.isoformat()} has no timezone; pass an aware datetime "
            "such as datetime.now(UTC)"
        )
    parsed, manifest_bytes, manifest_path, default_project_dir = _read_manifest(manifest)
    spec, spec_bytes, spec_folder, spec_origin = _read_product(product)
    dbt_target = target if target is not None else spec.dbt.target
    mapper = RecordMapper(parsed)
    checks = mapper.quality_checks()
    mapper.raise_problems()
    mapper.refuse_cycles()
    if project_dir is not None:
        resolved_project_dir = str(project_dir)
    elif spec.dbt.project_dir is not None:
        resolved_project_dir = _relative_to(spec_folder, spec.dbt.project_dir)
    else:
        resolved_project_dir = default_project_dir
    if profiles_dir is not None:
        resolved_profiles_dir: str | None = str(profiles_dir)
    elif spec.dbt.profiles_dir is not None:
        resolved_profiles_dir = _relative_to(spec_folder, spec.dbt.profiles_dir)
    else:
        resolved_profiles_dir = None
    compute_targets, default_compute = resolve_compute_targets(
        spec,
        parsed,
        dbt_target=dbt_target,
        project_dir=resolved_project_dir,
        profiles_dir=resolved_profiles_dir,
        origin=spec_origin,
    )

    transforms = mapper.transforms(checks, default_compute)
    sources, exposures = mapper.sources(checks), mapper.exposures()
    mapper.raise_problems()

    selected = apply_product_spec(spec, transforms, spec_origin)
    check_compute_mix(
        selected.transforms, compute_targets, default_compute, spec.python_assets, spec_origin
    )

    document: dict[str, Any] = {
        "metadata": {
            "product_name": _product_name(spec, parsed),
            "product_version": spec.version,
            "compiled_at": compiled_at or datetime.now(UTC),
            "source_hash": hashlib.sha256(manifest_bytes + spec_bytes).hexdigest(),
            "floe_version": __version__,
            "owners": spec.owners,
            "description": spec.description,
        },
        "dbt": {
            "project_name": parsed.project_name,
            "project_dir": resolved_project_dir,
            "manifest_path": manifest_path,
            "profiles_dir": resolved_profiles_dir,
            "target": dbt_target,
            "manifest_checksum": hashlib.sha256(manifest_bytes).hexdigest(),
            "manifest_schema_version": parsed.schema_version,
            "dbt_version": parsed.dbt_version,
            "adapter_type": parsed.adapter_type,
        },
        "compute_targets": compute_targets,
        "default_compute": default_compute,
        "transforms": selected.transforms,
        "sources": sources,
        "exposures": exposures,
        "schedules": selected.schedules,
        "sensors": [
            s.model_copy(update={"path": _relative_to(spec_folder, s.path)})
            if isinstance(s, FileArrivalSensor)
            else s
            for s in selected.sensors
        ],
        "retry_policy": spec.retry,
        "partitions": selected.partitions,
        "lineage": spec.lineage,
        "python_assets": [_rebased_asset(asset, spec_folder) for asset in spec.python_assets],
        "ingestion": ingestion_section(
            spec.ingestion,
            sources,
            {key: asset.name for asset in spec.python_assets for key in asset.produces},
            base_dir=_relative_to(spec_folder, "."),
            origin=spec_origin,
        ),
        "alert_channels": spec.alert_channels,
        "monitoring": spec.monitoring,
    }
    return _validate_artifacts(document, parsed.origin, spec_origin)


_MANIFEST_SECTIONS = {"transforms": "nodes", "sources": "sources", "exposures": "exposures"}
_ARTIFACT_ITEM = re.compile(r"^(transforms|sources|exposures)\[(\d+)\](.*)$")


def _manifest_path(path: str, document: dict[str, Any]) -> str:
    """The manifest's JSON path of an artifacts path such as ``sources[0].package_name``
    (``sources["source.shop.app.orders"].package_name``), else ``$``."""
    match = _ARTIFACT_ITEM.match(path)
    if match is None:
        return "$"
    section, index, rest = match.group(1), int(match.group(2)), match.group(3)
    item = document[section][index]
    unique_id = item["unique_id"] if isinstance(item, dict) else item.unique_id
    return json_path((_MANIFEST_SECTIONS[section], unique_id)) + rest


def _validate_artifacts(
    document: dict[str, Any], origin: str, spec_origin: str
) -> CompiledArtifacts:
    try:
        return CompiledArtifacts.model_validate(document)
    except PydanticValidationError as exc:
        problems = format_pydantic_errors(exc)
        listing = "\n".join(f"  {path}: {message}" for path, message in problems)
        from_spec = {
            *("metadata", "compute_targets", "default_compute", "retry_policy", "lineage"),
            *("python_assets", "alert_channels", "monitoring", "sensors", "ingestion"),
        }
        if all(path.split(".")[0].split("[")[0] in from_spec for path, _ in problems):
            raise ProductSpecError(
                f"{spec_origin}: {len(problems)} invalid setting(s):\n{listing}", problems
            ) from exc
        located = [(_manifest_path(path, document), f"{path}: {m}") for path, m in problems]
        raise InvalidManifestError(
            f"{origin}: the compiled artifacts would be invalid ({len(problems)} problem(s)):\n"
            + "\n".join(f"  {where}: {message}" for where, message in located),
            file=origin,
            path=located[0][0],
            expected=located[0][1],
            problems=located,
        ) from exc
