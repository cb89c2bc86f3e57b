"""``create_assets_from_transforms``: Dagster ``AssetSpec``s for transforms, without a manifest.

:func:`build_assets` describes part (or all) of a product as asset specs: for planning, docs,
or composing with assets defined elsewhere. They carry what
:func:`~floe_orchestrator_dagster.definitions.build.build_definitions` gives its assets (same
keys via :func:`~floe_orchestrator_dagster.dbt.translator.asset_key_for`, tags,
:class:`~floe_orchestrator_dagster.metadata.FloeAssetMetadata`, owners, group, description) but
no computation: there is no manifest here to hand ``@dbt_assets``.

Consistent with ``build_definitions``:

- ephemeral transforms are not assets; an asset reading one depends on the ephemeral model's
  own upstreams instead, transitively (as dagster-dbt connects them);
- dependencies on transforms outside ``transforms`` (``graph.external_dependencies``) are kept
  as keys by name (their materialization is not known here, so they are taken to be assets);
- source dependencies are the sources' keys (``[source_name, table]``).
"""

from __future__ import annotations

from collections.abc import Sequence

import dagster as dg

from floe_orchestration_core.artifacts import TransformConfig
from floe_orchestration_core.graph import TransformGraph
from floe_orchestrator_dagster.config import DagsterAdapterConfig, TranslatorSettings
from floe_orchestrator_dagster.dbt.tags import TagMapper
from floe_orchestrator_dagster.dbt.translator import (
    asset_key_for,
    dagster_group_name,
    dagster_owners,
)
from floe_orchestrator_dagster.metadata import FloeAssetMetadata

__all__ = ["build_assets"]


def _source_key(key: str, settings: TranslatorSettings) -> dg.AssetKey:
    source_name, _, table = key.partition(".")
    asset_key = dg.AssetKey([source_name, table])
    return asset_key.with_prefix(list(settings.key_prefix)) if settings.key_prefix else asset_key


def _external_key(name: str, settings: TranslatorSettings) -> dg.AssetKey:
    key = dg.AssetKey([name])
    return key.with_prefix(list(settings.key_prefix)) if settings.key_prefix else key


def _group(transform: TransformConfig, settings: TranslatorSettings) -> str | None:
    if settings.group_by == "compute":
        return transform.compute
    if settings.group_by == "schema":
        return dagster_group_name(transform.schema_name)
    if settings.group_by == "package":
        return dagster_group_name(transform.package_name)
    return None


def build_assets(
    transforms: Sequence[TransformConfig], graph: TransformGraph, config: DagsterAdapterConfig
) -> list[dg.AssetSpec | dg.AssetsDefinition]:
    """One ``AssetSpec`` per non-ephemeral transform, in the graph's topological order."""
    settings = config.translator
    mapper = TagMapper(prefix=settings.tag_prefix)
    for transform in transforms:
        mapper.register(transform.tags, owner=f"'{transform.name}'")
    by_name = graph.transforms

    def upstream_keys(transform: TransformConfig, seen: set[str]) -> dict[dg.AssetKey, None]:
        keys: dict[dg.AssetKey, None] = {}
        for name in transform.depends_on:
            parent = by_name.get(name)
            if parent is None:
                keys[_external_key(name, settings)] = None
            elif parent.is_ephemeral:
                if name not in seen:
                    seen.add(name)
                    keys.update(upstream_keys(parent, seen))
            else:
                keys[asset_key_for(parent, settings)] = None
        for source in transform.source_dependencies:
            keys[_source_key(source, settings)] = None
        return keys

    specs: list[dg.AssetSpec | dg.AssetsDefinition] = []
    for name in graph.topological_order():
        transform = by_name[name]
        if transform.is_ephemeral:
            continue
        specs.append(
            dg.AssetSpec(
                key=asset_key_for(transform, settings),
                deps=list(upstream_keys(transform, set())),
                description=transform.description or f"dbt {transform.resource_type.value} {name}",
                metadata=FloeAssetMetadata.for_transform(transform).to_metadata(),
                tags=mapper.tags_for(transform.tags),
                owners=dagster_owners(transform.owners),
                group_name=_group(transform, settings),
                kinds={"dbt"},
            )
        )
    return specs
