"""The core's orchestrator contract suite, run against DagsterOrchestratorPlugin.

How the Dagster objects are summarised for the suite:

- **definitions**: the asset graph Dagster resolves (``Definitions.resolve_asset_graph()``,
  present from 1.10 through 1.13). Asset keys are mapped back to transform names with the
  dbt manifests the ``@dbt_assets`` carry (dagster-dbt's own
  ``get_manifest_and_translator_from_dbt_assets``) and the translator that made the keys;
  sources to their ``source_name.table`` key.
- **ephemeral models** have no asset: dagster-dbt connects their downstreams straight to
  their upstreams. The plugin records them in the Definitions' metadata
  (``floe/ephemeral_transforms``). The summary lists each transform with its *declared*
  upstreams (from the manifests and that record; ephemeral models included, which is what
  the suite compares), but
  only after checking that Dagster's upstream set of every asset is exactly those declared
  upstreams with ephemeral models replaced by their own upstreams, transitively. A wrong edge
  in the asset graph therefore fails the suite.
- **assets** (``create_assets_from_transforms``): the same, on each ``AssetsDefinition``'s
  ``asset_deps``.
- **schedule**: ``(job_name, cron_schedule, execution_timezone)``.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

import attrs
import dagster as dg
import pytest
from dagster_dbt.asset_utils import get_manifest_and_translator_from_dbt_assets

from floe_orchestration_core.testing import DefinitionsSummary, OrchestratorPluginContract
from floe_orchestrator_dagster.plugin import EPHEMERAL_TRANSFORMS_KEY, DagsterOrchestratorPlugin

_TRANSFORM_TYPES = frozenset({"model", "seed", "snapshot"})


def _transform_name(props: Mapping[str, Any]) -> str:
    """The floe name of a dbt node: its name, ``<name>_v<version>`` for versioned models."""
    version = props.get("version")
    name = str(props["name"])
    return name if version in (None, "") else f"{name}_v{version}"


@attrs.define
class _ManifestView:
    """What the dbt manifests of some ``@dbt_assets`` say about keys and declared deps."""

    name_by_key: dict[dg.AssetKey, str] = attrs.field(factory=dict)
    name_by_uid: dict[str, str] = attrs.field(factory=dict)
    declared: dict[str, frozenset[str]] = attrs.field(factory=dict)
    ephemeral: set[str] = attrs.field(factory=set)

    def add(self, assets_def: dg.AssetsDefinition) -> None:
        # dagster-dbt 0.26 returns (manifest, translator); later versions add the project.
        found = get_manifest_and_translator_from_dbt_assets([assets_def])
        manifest, translator = found[0], found[1]
        for source in manifest.get("sources", {}).values():
            key = f"{source['source_name']}.{source['name']}"
            self.name_by_key[translator.get_asset_key(source)] = key
            self.name_by_uid[source["unique_id"]] = key
        nodes = [
            n for n in manifest.get("nodes", {}).values() if n["resource_type"] in _TRANSFORM_TYPES
        ]
        for node in nodes:
            name = _transform_name(node)
            self.name_by_uid[node["unique_id"]] = name
            if node.get("config", {}).get("materialized") == "ephemeral":
                self.ephemeral.add(name)
            else:
                self.name_by_key[translator.get_asset_key(node)] = name
        for node in nodes:
            name = _transform_name(node)
            parents = node.get("depends_on", {}).get("nodes", [])
            declared = frozenset(self.name_by_uid[uid] for uid in parents)
            # A stub (a node outside one decorator's selection) carries no dependencies: the
            # full node, from the manifest of the decorator that builds it, wins.
            if declared or name not in self.declared:
                self.declared[name] = declared

    def add_ephemeral(self, recorded: Any) -> None:
        """The ephemeral transforms the plugin records in the Definitions' metadata."""
        assert isinstance(recorded, dg.JsonMetadataValue)
        assert isinstance(recorded.data, dict)
        for name, transform in recorded.data.items():
            self.ephemeral.add(name)
            self.declared[name] = frozenset(
                [*transform["depends_on"], *transform["source_dependencies"]]
            )

    def collapsed(self, names: Iterable[str]) -> frozenset[str]:
        """``names`` with every ephemeral model replaced by its upstreams, transitively."""
        result: set[str] = set()
        pending = list(names)
        while pending:
            name = pending.pop()
            if name in self.ephemeral:
                pending.extend(self.declared.get(name, ()))
            else:
                result.add(name)
        return frozenset(result)


def _floe_name(key: dg.AssetKey) -> str:
    """A transform's name (one-part key) or a source's ``source_name.table`` (two parts)."""
    return ".".join(key.path)


def _dbt_assets_defs(items: Iterable[Any]) -> list[dg.AssetsDefinition]:
    found = []
    for item in items:
        if isinstance(item, dg.AssetsDefinition) and item.is_executable and item.keys:
            try:
                get_manifest_and_translator_from_dbt_assets([item])
            except dg.DagsterInvariantViolationError:
                continue
            found.append(item)
    return found


def _summarise(
    view: _ManifestView, upstream_keys: Mapping[dg.AssetKey, Iterable[dg.AssetKey]]
) -> dict[str, frozenset[str]]:
    """Transform name → declared upstreams, after checking Dagster's edges against them."""
    summary: dict[str, frozenset[str]] = {}
    for key, parents in upstream_keys.items():
        name = view.name_by_key[key]
        in_dagster = frozenset(view.name_by_key[parent] for parent in parents)
        declared = view.declared.get(name, frozenset())
        assert in_dagster == view.collapsed(declared), (
            f"asset {key.to_user_string()} ({name}): Dagster's upstreams {sorted(in_dagster)} "
            f"differ from the declared ones through ephemeral models "
            f"{sorted(view.collapsed(declared))}"
        )
        summary[name] = declared
    for name in view.ephemeral:
        summary[name] = view.declared.get(name, frozenset())
    return summary


class TestDagsterOrchestratorContract(OrchestratorPluginContract):
    @pytest.fixture
    def plugin(self) -> DagsterOrchestratorPlugin:
        # An image: Helm values with artifacts name the code server's image or are refused.
        return DagsterOrchestratorPlugin({"user_code_image": "ghcr.io/floe/contract:1.0.0"})

    def describe_definitions(self, definitions: Any) -> DefinitionsSummary:
        assert isinstance(definitions, dg.Definitions)
        graph = definitions.resolve_asset_graph()
        view = _ManifestView()
        for assets_def in _dbt_assets_defs(definitions.assets or ()):
            view.add(assets_def)
        view.add_ephemeral(definitions.metadata[EPHEMERAL_TRANSFORMS_KEY])
        upstream = {
            key: graph.get(key).parent_keys
            for key in graph.materializable_asset_keys
            if key in view.name_by_key
        }
        assert set(upstream) == set(graph.materializable_asset_keys), (
            "every materializable asset comes from the dbt manifests"
        )
        schedules = [
            s.name for s in definitions.schedules or () if isinstance(s, dg.ScheduleDefinition)
        ]
        return DefinitionsSummary(assets=_summarise(view, upstream), schedules=schedules)

    def describe_assets(self, assets: list[Any]) -> Mapping[str, frozenset[str]]:
        # create_assets_from_transforms has no manifest: it returns AssetSpecs keyed as
        # dagster-dbt keys them by default — a model by its name, a source by
        # [source_name, table] — so the keys are read back into floe names that way.
        summary: dict[str, frozenset[str]] = {}
        for spec in assets:
            assert isinstance(spec, dg.AssetSpec), f"expected AssetSpecs, got {type(spec)}"
            assert spec.metadata["floe/compute_target"], "every asset names its compute target"
            summary[_floe_name(spec.key)] = frozenset(
                _floe_name(dep.asset_key) for dep in spec.deps
            )
        return summary

    def describe_schedule(self, schedule: Any) -> tuple[str, str, str]:
        assert isinstance(schedule, dg.ScheduleDefinition)
        cron = schedule.cron_schedule
        assert isinstance(cron, str)
        return schedule.job_name, cron, schedule.execution_timezone or ""
