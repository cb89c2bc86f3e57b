"""A selection (``tag:nightly``, ``+orders``, ``*``) → the asset keys of what it picks.

The one place where floe's dbt-style selection, evaluated by the core
(:meth:`~floe_orchestration_core.graph.TransformGraph.select`), becomes Dagster asset keys: for
schedules' jobs, file-arrival sensors' jobs, failed-check sensors and ``floe run --select``.
Ephemeral transforms build nothing and have no asset, so they are left out.
"""

from __future__ import annotations

from collections.abc import Mapping

import dagster as dg

from floe_orchestration_core.artifacts import CompiledArtifacts
from floe_orchestration_core.graph import TransformGraph
from floe_orchestrator_dagster.errors import JobDefinitionError
from floe_orchestrator_dagster.metadata import FloeAssetMetadata

__all__ = ["selected_asset_keys", "transform_asset_keys"]


def selected_asset_keys(
    graph: TransformGraph,
    selection: str,
    asset_keys: Mapping[str, dg.AssetKey],
    *,
    selector: str,
) -> list[dg.AssetKey]:
    """The asset keys of the non-ephemeral transforms ``selection`` picks, by transform name.

    ``asset_keys`` maps each non-ephemeral transform name to its asset key; a selected one it
    lacks is a :class:`~floe_orchestrator_dagster.errors.JobDefinitionError` naming
    ``selector`` (who selects: ``"schedule 'nightly'"``). A malformed selection is the core's
    :class:`~floe_orchestration_core.errors.SelectionError`.
    """
    keys: list[dg.AssetKey] = []
    for name in sorted(graph.select(selection)):
        if graph.transforms[name].is_ephemeral:
            continue
        key = asset_keys.get(name)
        if key is None:
            raise JobDefinitionError(
                f"{selector} selects transform {name!r}, which has no asset key; "
                "asset_keys must map every non-ephemeral transform name to its AssetKey"
            )
        keys.append(key)
    return keys


def transform_asset_keys(
    definitions: dg.Definitions, artifacts: CompiledArtifacts
) -> dict[str, dg.AssetKey]:
    """Transform name → asset key of every transform that ``definitions`` materializes, found
    by floe's ``floe/unique_id`` metadata (source specs, declared but never materialized by
    floe, are left out)."""
    name_of = {t.unique_id: t.name for t in artifacts.transforms}
    keys: dict[str, dg.AssetKey] = {}
    for assets_def in definitions.assets or ():
        if not (isinstance(assets_def, dg.AssetsDefinition) and assets_def.is_executable):
            continue
        for spec in assets_def.specs:
            name = name_of.get(FloeAssetMetadata.extract(spec.metadata).unique_id or "")
            if name is not None:
                keys[name] = spec.key
    return keys
