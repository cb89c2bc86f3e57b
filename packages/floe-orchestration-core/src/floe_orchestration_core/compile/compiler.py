"""Compile a dbt ``manifest.json`` (schema v4-v12, dbt Fusion) and ``floe.yaml`` into artifacts.

Entry point: :func:`compile_artifacts`. It reads JSON only and never imports dbt. Reading the
manifest is :mod:`floe_orchestration_core.compile.manifest`; reading ``floe.yaml`` is
:mod:`floe_orchestration_core.compile.product`. This module holds the mapping rules:

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
  edge means an edited or inconsistent manifest: compiling fails with a CompileError naming both
  nodes rather than losing the edge.

**Transforms**

- ``name`` is the node's name; a versioned model (``version`` set) is ``f"{name}_v{version}"``,
  dbt's default relation alias for versions. Two enabled transforms with one name (or two sources
  with one key) are a CompileError naming both unique_ids; nothing is renamed.
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

**Quality checks**: attachment rules and fields in
:mod:`floe_orchestration_core.compile.quality_checks`.

**Defaults without floe.yaml**: product name = the dbt project's name (characters a product
name cannot hold become ``-``), version ``0.0.0``; one compute target named after
``metadata.adapter_type`` (else ``default``) whose type is the adapter type (else ``unknown``);
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
    TransformConfig,
    format_pydantic_errors,
)
from floe_orchestration_core.compile.ingestion import ingestion_section
from floe_orchestration_core.compile.manifest import parse_manifest, read_manifest_file
from floe_orchestration_core.compile.manifest_records import ColumnRecord, DbtManifest, NodeRecord
from floe_orchestration_core.compile.product import (
    FloeProductSpec,
    load_product_spec,
    read_product_spec_file,
)
from floe_orchestration_core.compile.product_selections import apply_product_spec
from floe_orchestration_core.compile.quality_checks import attach_quality_checks
from floe_orchestration_core.errors import CompileError, ProductSpecError
from floe_orchestration_core.gc_pause import paused_gc

__all__ = ["compile_artifacts", "transform_name"]

_DEFAULT_MATERIALIZATION = {"seed": "seed", "snapshot": "snapshot", "model": "view"}
_NOT_PRODUCT_NAME = re.compile(r"[^A-Za-z0-9_.-]")
_NOT_IDENTIFIER = re.compile(r"[^A-Za-z0-9_]")


def transform_name(node: NodeRecord) -> str:
    """A transform's name: the node's name, ``name_v<version>`` for versioned models."""
    return node.name if node.version is None else f"{node.name}_v{node.version}"


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
        return parse_manifest(data, origin=str(manifest)), raw, str(manifest), str(folder)
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


# Manifest records → artifact fields --------------------------------------------------------
_SOURCE_FIELDS = (
    *("unique_id", "source_name", "name", "package_name", "database", "schema"),
    *("identifier", "loader", "description", "tags", "meta"),
)
_EXPOSURE_FIELDS = ("name", "unique_id", "type", "owner", "url", "description")


def _columns(columns: tuple[ColumnRecord, ...]) -> list[dict[str, Any]]:
    return [
        {"name": c.name, "data_type": c.data_type, "description": c.description} for c in columns
    ]


class _Mapper:
    """Maps manifest records to artifact fields (rules in the module docstring), collecting
    every problem in :attr:`problems` so that one error lists them all."""

    def __init__(self, manifest: DbtManifest) -> None:
        self.manifest = manifest
        self.problems: list[str] = []
        self.names = self._unique(
            {n.unique_id: transform_name(n) for n in manifest.nodes}, "transform"
        )
        self.keys = self._unique({s.unique_id: s.key for s in manifest.sources}, "source")

    def _unique(self, labels: dict[str, str], kind: str) -> dict[str, str]:
        first: dict[str, str] = {}
        for uid, label in labels.items():
            owner = first.setdefault(label, uid)
            if owner != uid:
                self.problems.append(
                    f"'{owner}' and '{uid}' are both {kind} '{label}'; rename (or disable) one: "
                    f"floe never renames, and every {kind} name must be unique"
                )
        return labels

    def dependencies(
        self, owner: str, depends_on: tuple[str, ...], *, drop_disabled: bool = False
    ) -> tuple[list[str], list[str]]:
        """(transform names, source keys) ``owner`` reads; problems for lost edges."""
        transforms: dict[str, None] = {}
        sources: dict[str, None] = {}
        for dep in depends_on:
            if dep in self.names:
                transforms[self.names[dep]] = None
            elif dep in self.keys:
                sources[self.keys[dep]] = None
            elif dep in self.manifest.disabled_ids:
                if not drop_disabled:
                    self.problems.append(
                        f"'{owner}' depends on '{dep}', which is disabled; enable it or remove "
                        "the reference (dbt refuses such a project: the manifest is inconsistent)"
                    )
            elif dep not in self.manifest.other_ids:
                self.problems.append(
                    f"'{owner}' depends on '{dep}', which is not in the manifest; re-generate "
                    "the manifest with 'dbt parse'"
                )
        return list(transforms), list(sources)

    def quality_checks(self) -> dict[str, list[dict[str, Any]]]:
        """QualityCheck fields by the unique_id of the transform or source they belong to."""
        return attach_quality_checks(
            self.manifest,
            transforms=self.names,
            sources=self.keys,
            check_dependencies=lambda test: self.dependencies(
                test.unique_id, test.depends_on, drop_disabled=True
            ),
            problems=self.problems,
        )

    def transforms(
        self, checks: Mapping[str, list[dict[str, Any]]], default_compute: str
    ) -> list[TransformConfig]:
        transforms: list[TransformConfig] = []
        for node in self.manifest.nodes:
            depends, source_deps = self.dependencies(node.unique_id, node.depends_on)
            fields = {
                "name": self.names[node.unique_id],
                "unique_id": node.unique_id,
                "resource_type": node.resource_type,
                "package_name": node.package_name,
                "path": node.path,
                "database": node.database,
                "schema": node.schema,
                "alias": node.alias,
                "materialization": node.materialized
                or _DEFAULT_MATERIALIZATION[node.resource_type],
                "language": (node.language or "sql").lower(),
                "version": node.version,
                "depends_on": depends,
                "source_dependencies": source_deps,
                "compute": default_compute,
                "tags": node.tags,
                "meta": node.meta,
                "description": node.description,
                "owners": node.owners,
                "columns": _columns(node.columns),
                "quality_checks": checks.get(node.unique_id, ()),
            }
            try:
                transforms.append(TransformConfig.model_validate(fields))
            except PydanticValidationError as exc:
                self.problems.extend(
                    f"node '{node.unique_id}': {path}: {message}"
                    for path, message in format_pydantic_errors(exc)
                )
        return transforms

    def sources(self, checks: Mapping[str, list[dict[str, Any]]]) -> list[dict[str, Any]]:
        return [
            {
                **{field: getattr(s, field) for field in _SOURCE_FIELDS},
                "key": s.key,
                "columns": _columns(s.columns),
                "quality_checks": checks.get(s.unique_id, ()),
            }
            for s in self.manifest.sources
        ]

    def exposures(self) -> list[dict[str, Any]]:
        exposures: list[dict[str, Any]] = []
        for e in self.manifest.exposures:
            depends, source_deps = self.dependencies(e.unique_id, e.depends_on)
            fields = {field: getattr(e, field) for field in _EXPOSURE_FIELDS}
            exposures.append({**fields, "depends_on": depends, "source_dependencies": source_deps})
        return exposures


# Product settings -----------------------------------------------------------------------------
def _compute_targets(
    spec: FloeProductSpec, manifest: DbtManifest, dbt_target: str | None
) -> tuple[list[dict[str, Any]], str]:
    if spec.compute is not None:
        targets = [
            {"name": name, **target.model_dump(exclude_none=True)}
            for name, target in spec.compute.targets.items()
        ]
        return targets, spec.compute.default_target
    adapter = manifest.adapter_type
    name = _NOT_IDENTIFIER.sub("_", adapter) if adapter else "default"
    if not name[0].isalpha() and name[0] != "_":
        name = f"_{name}"
    return [{"name": name, "type": adapter or "unknown", "dbt_target": dbt_target}], name


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
    section. Raises :class:`CompileError` for an unreadable, invalid or unsupported manifest
    and :class:`ProductSpecError` for floe.yaml problems; both name the file and the fix.
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
    compute_targets, default_compute = _compute_targets(spec, parsed, dbt_target)

    mapper = _Mapper(parsed)
    checks = mapper.quality_checks()
    transforms = mapper.transforms(checks, default_compute)
    sources, exposures = mapper.sources(checks), mapper.exposures()
    if mapper.problems:
        listing = "\n".join(f"  {problem}" for problem in mapper.problems)
        raise CompileError(f"{parsed.origin}: {len(mapper.problems)} problem(s):\n{listing}")

    selected = apply_product_spec(spec, transforms, spec_origin)

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
        raise CompileError(
            f"{origin}: the compiled artifacts are invalid ({len(problems)} problem(s)):\n{listing}"
        ) from exc
