"""The product's Python assets (``CompiledArtifacts.python_assets``) as Dagster assets.

Each :class:`~floe_orchestration_core.artifacts.PythonAssetConfig` becomes one ``@multi_asset``
whose op is named after the asset:

- an asset that ``produces`` dbt sources *is* those sources' asset: its specs carry the keys
  the translator gives the sources, so the dbt models reading them depend on it (and the
  definitions declare no separate source spec for them);
- any other asset has the key ``[name]``;
- ``depends_on`` becomes deps: a transform's asset key, a source's asset key, or another
  Python asset's keys;
- group ``ingestion`` / ``publication`` / ``python`` by ``kind``; kinds ``{"python"}``;
  metadata ``floe/python_asset`` and ``floe/function``; the artifacts' retry policy.

At run time the op imports the function's file (relative paths start from ``base_dir``, the
folder the artifacts' relative paths start from), calls it with an
:class:`~floe_orchestration_core.python_assets.AssetRunContext` (which reads the compute
target's connection from the dbt profile, in the artifacts' profiles folder, when the function
asks for it), and records what it returns as materialization metadata. Lineage: a START and
a COMPLETE or FAIL event per run of the asset, when the plugin has a lineage backend (``emitter``).
"""

# No `from __future__ import annotations`: Dagster inspects the op's `context` annotation.
from collections.abc import Callable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

import dagster as dg

from floe_orchestration_core.artifacts import CompiledArtifacts, PythonAssetConfig
from floe_orchestration_core.python_assets import (
    AssetRunContext,
    load_asset_function,
    run_python_asset,
)
from floe_orchestrator_dagster.dbt.resource import resolve_project_dir
from floe_orchestrator_dagster.dbt.tags import TagMapper
from floe_orchestrator_dagster.definitions.jobs import to_dagster_retry_policy
from floe_orchestrator_dagster.errors import DagsterAdapterError
from floe_orchestrator_dagster.metadata import FloeAssetMetadata

__all__ = ["PythonAssetRunHook", "build_python_assets", "json_metadata", "python_asset_keys"]

#: Called around a Python asset's run: ``hook(asset, context)`` returns a context manager.
PythonAssetRunHook = Callable[[PythonAssetConfig, dg.AssetExecutionContext], Any]


def python_asset_keys(
    artifacts: CompiledArtifacts, source_keys: Mapping[str, dg.AssetKey]
) -> dict[str, tuple[dg.AssetKey, ...]]:
    """The asset keys of each Python asset (its produced sources' keys, else ``[name]``)."""
    return {
        asset.name: tuple(source_keys[k] for k in asset.produces)
        if asset.produces
        else (dg.AssetKey([asset.name]),)
        for asset in artifacts.python_assets
    }


def _deps(
    asset: PythonAssetConfig,
    transform_keys: Mapping[str, dg.AssetKey],
    source_keys: Mapping[str, dg.AssetKey],
    own_keys: Mapping[str, tuple[dg.AssetKey, ...]],
) -> list[dg.AssetKey]:
    deps: list[dg.AssetKey] = []
    for upstream in asset.depends_on:
        if upstream in own_keys:
            deps.extend(own_keys[upstream])
        elif upstream in transform_keys:
            deps.append(transform_keys[upstream])
        elif upstream in source_keys:
            deps.append(source_keys[upstream])
        else:
            raise DagsterAdapterError(
                f"python asset '{asset.name}' depends on '{upstream}', which has no Dagster "
                "asset (an ephemeral model has none: depend on what reads it instead)"
            )
    return deps


def _build_one(
    artifacts: CompiledArtifacts,
    *,
    asset: PythonAssetConfig,
    keys: tuple[dg.AssetKey, ...],
    deps: Sequence[dg.AssetKey],
    base_dir: Path,
    hook: PythonAssetRunHook | None,
    tags: TagMapper,
) -> dg.AssetsDefinition:
    compute = artifacts.compute_target(asset.compute or artifacts.default_compute)
    project_dir = resolve_project_dir(artifacts, base_dir)
    profiles_dir = (
        base_dir / artifacts.dbt.profiles_dir if artifacts.dbt.profiles_dir is not None else None
    )
    description = asset.description or f"{asset.kind} step {asset.function}"
    metadata = FloeAssetMetadata.for_python_asset(asset).to_metadata()
    specs = [
        dg.AssetSpec(
            key=key,
            deps=deps,
            description=description,
            group_name=asset.kind,
            kinds={"python"},
            metadata=metadata,
            tags=dict(tags.tags_for(asset.tags, owner=f"python asset '{asset.name}'")),
        )
        for key in keys
    ]
    retry = to_dagster_retry_policy(artifacts.retry_policy)

    @dg.multi_asset(specs=specs, name=asset.name, retry_policy=retry)
    def _python_asset(context: dg.AssetExecutionContext) -> Iterator[dg.MaterializeResult[Any]]:
        run_context = AssetRunContext(
            asset=asset,
            base_dir=base_dir,
            compute=compute,
            project_dir=project_dir,
            run_id=context.run.run_id,
            log=context.log,
            profiles_dir=profiles_dir,
            dbt_target=artifacts.dbt.target,
        )
        if hook is None:
            values = run_python_asset(load_asset_function(asset, base_dir), run_context)
        else:
            with hook(asset, context):
                values = run_python_asset(load_asset_function(asset, base_dir), run_context)
        for key in keys:
            yield dg.MaterializeResult(asset_key=key, metadata=json_metadata(values))

    return _python_asset


def json_metadata(values: Mapping[str, Any]) -> dict[str, Any]:
    """Dagster metadata from JSON values (a path-like string stays text; nested → JSON)."""
    metadata: dict[str, Any] = {}
    for key, value in values.items():
        if isinstance(value, dict | list):
            metadata[key] = dg.MetadataValue.json(value)
        elif value is None:
            metadata[key] = dg.MetadataValue.null()
        else:
            metadata[key] = value
    return metadata


def build_python_assets(
    artifacts: CompiledArtifacts,
    *,
    transform_keys: Mapping[str, dg.AssetKey],
    source_keys: Mapping[str, dg.AssetKey],
    base_dir: Path,
    tags: TagMapper,
    hook: PythonAssetRunHook | None = None,
) -> list[dg.AssetsDefinition]:
    """One ``@multi_asset`` per Python asset of ``artifacts`` (see the module docstring).

    ``transform_keys`` maps non-ephemeral transform names and ``source_keys`` source keys
    (``source_name.table``) to their asset keys; ``tags`` maps floe tags to Dagster tags
    (the translator's mapper, so collisions are refused across all assets); ``hook`` wraps
    each run (lineage).
    """
    own_keys = python_asset_keys(artifacts, source_keys)
    return [
        _build_one(
            artifacts,
            asset=asset,
            keys=own_keys[asset.name],
            deps=_deps(asset, transform_keys, source_keys, own_keys),
            base_dir=base_dir,
            hook=hook,
            tags=tags,
        )
        for asset in artifacts.python_assets
    ]
