"""``@dbt_assets`` for a selection floe already knows: dagster-dbt's specs, no dbt-core selector.

:func:`dbt_assets_for` is dagster-dbt's ``@dbt_assets`` (0.26 through 0.29) with one difference:
the unique ids to build are given instead of evaluated. ``@dbt_assets`` evaluates its
``select`` with dbt-core's selector, which rebuilds dbt's ``Manifest`` and its networkx graph
from the manifest dict on every call (dagster-dbt only skips that for ``fqn:*`` when dbt-core is
*not* installed); floe has computed every group's unique ids already. Everything else is
dagster-dbt's own code path, so the assets are the decorator's:

- each asset's spec is ``translator.get_asset_spec(manifest, unique_id, None)`` (dagster-dbt's
  metadata, the manifest and translator kept in it for the runs, dependencies through
  ephemeral models), and each test child of an asset its
  ``translator.get_asset_check_spec(...)`` — exactly ``build_dbt_specs``' loop;
- tests on a *source* that an asset reads are checks when the translator's settings have
  ``enable_source_tests_as_checks``, as in ``build_dbt_specs``;
- duplicate asset keys are refused with dagster-dbt's own error
  (``asset_utils._validate_asset_keys``, present in 0.26 through 0.29: ``compat``);
- the op carries the ``dagster_dbt/select`` (and ``exclude``) op tags the decorator would set
  (what ``DbtCliResource.cli`` selects at run time), a single-run backfill policy for
  time-window partitions, ``can_subset=True`` and ``allow_arbitrary_check_specs=True``.

``tests/dbt/test_dbt_specs.py`` checks that the result equals ``@dbt_assets``' on the same
manifest. Why floe builds on dagster-dbt's internals here: ``docs/decisions/0005``.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Mapping
from typing import Any

import dagster as dg

from floe_orchestrator_dagster.compat import (
    ASSET_RESOURCE_TYPES,
    DAGSTER_DBT_SELECT_METADATA_KEY,
    get_upstream_unique_ids,
    is_non_asset_node,
    suppress_dagster_warnings,
    validate_asset_keys,
)
from floe_orchestrator_dagster.dbt.translator import FloeDagsterDbtTranslator

__all__ = ["build_specs", "dbt_assets_for"]


def build_specs(
    manifest: Mapping[str, Any],
    selected: Collection[str],
    translator: FloeDagsterDbtTranslator,
) -> tuple[list[dg.AssetSpec], list[dg.AssetCheckSpec]]:
    """Asset and check specs of the ``selected`` unique ids (``build_dbt_specs`` without dbt)."""
    nodes: Mapping[str, Any] = manifest["nodes"]
    child_map: Mapping[str, Collection[str]] = manifest["child_map"]
    source_checks = translator.settings.enable_source_tests_as_checks
    specs: list[dg.AssetSpec] = []
    check_specs: dict[str, dg.AssetCheckSpec] = {}
    key_by_unique_id: dict[str, dg.AssetKey] = {}

    def add_checks(spec: dg.AssetSpec, parent: str) -> None:
        for child in child_map.get(parent, ()):
            if child.startswith("test"):
                check = translator.get_asset_check_spec(spec, manifest, child, None)
                if check is not None:
                    check_specs[check.get_python_identifier()] = check

    for unique_id in selected:
        props = nodes[unique_id]
        if is_non_asset_node(props) or props["resource_type"] not in ASSET_RESOURCE_TYPES:
            continue
        spec = translator.get_asset_spec(manifest, unique_id, None)
        key_by_unique_id[unique_id] = spec.key
        specs.append(spec)
        add_checks(spec, unique_id)
        for upstream_id in get_upstream_unique_ids(manifest, props):
            upstream = translator.get_asset_spec(manifest, upstream_id, None)
            key_by_unique_id[upstream_id] = upstream.key
            if source_checks and upstream_id.startswith("source"):
                add_checks(upstream, upstream_id)
    validate_asset_keys(translator, manifest, key_by_unique_id)
    return specs, list(check_specs.values())


@suppress_dagster_warnings
def dbt_assets_for(
    *,
    manifest: Mapping[str, Any],
    selected: Collection[str],
    select: str,
    name: str,
    translator: FloeDagsterDbtTranslator,
    required_resource_keys: set[str],
    partitions_def: dg.PartitionsDefinition | None = None,
    retry_policy: dg.RetryPolicy | None = None,
) -> Callable[[Callable[..., Any]], dg.AssetsDefinition]:
    """``@dbt_assets(manifest=manifest, select=select, ...)`` building exactly ``selected``.

    ``select`` must select ``selected`` in ``manifest`` (it is what runs use); it is not
    evaluated here.
    """
    specs, check_specs = build_specs(manifest, selected, translator)
    backfill_policy = (
        dg.BackfillPolicy.single_run()
        if isinstance(partitions_def, dg.TimeWindowPartitionsDefinition)
        else None
    )
    return dg.multi_asset(
        name=name,
        specs=specs,
        check_specs=check_specs,
        can_subset=True,
        required_resource_keys=required_resource_keys,
        partitions_def=partitions_def,
        op_tags={DAGSTER_DBT_SELECT_METADATA_KEY: select},
        backfill_policy=backfill_policy,
        retry_policy=retry_policy,
        allow_arbitrary_check_specs=True,
    )
