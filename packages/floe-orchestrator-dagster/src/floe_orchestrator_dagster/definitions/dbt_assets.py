"""One ``@dbt_assets`` per group of transforms, and the op that runs ``dbt build`` for it.

:func:`build_dbt_assets` gives one ``@dbt_assets`` per group
(:mod:`~floe_orchestrator_dagster.definitions.groups`), named ``dbt_<compute>``
(``dbt_<compute>_<partition>`` for a partitioned group; ``…_stage<N>`` when targets feed each
other back and forth), selecting exactly its transforms from a manifest holding only what it
needs (:meth:`~floe_orchestrator_dagster.dbt.manifest.ProjectManifest.subset`); dependencies on
transforms of other groups are kept and ephemeral models are connected through, as dagster-dbt
does. dbt tests are asset checks: those under a group's folders belong to its op, and the tests
that read only sources to one op (:func:`~.groups.source_tests_owner`).

Each op runs ``dbt build`` through ``DbtCliResource.cli(..., context=context).stream()``, in a
target folder seeded with the op's own dbt partial-parse state
(:mod:`~floe_orchestrator_dagster.dbt.parse_cache`), so a step parses only what changed; a
partitioned run's window reaches dbt as ``--vars``; with lineage, every dbt node's START and
COMPLETE/FAIL is emitted as its events stream
(:mod:`~floe_orchestrator_dagster.lineage.dbt_op`). dbt's output goes to the run's
``dbt.log`` (:mod:`~floe_orchestrator_dagster.dbt.run_output`), without colour codes.

**Selection, fast.** ``@dbt_assets`` evaluates its ``select`` with dbt-core's selector (a
rebuild of dbt's ``Manifest`` and graph per decorator, criteria x nodes); floe knows each group's
unique ids already, so it builds the decorator's assets from them with
:func:`~floe_orchestrator_dagster.dbt.specs.dbt_assets_for` (dagster-dbt's specs and op, no
selector; decision 5). The ``select`` string still matters at run time: dagster-dbt hands it to
dbt. When one group holds every model, ``select`` is ``fqn:*`` (dagster-dbt's default; at run
time, the whole project). Otherwise the group's manifest marks its transforms with the dbt tag
``floe_dagster__<compute>__<partition>`` and ``select`` is that one tag criterion; the op then
adds ``--select <the group's fqn criteria>`` (:mod:`~floe_orchestrator_dagster.dbt.selection`)
when it builds the whole group. In the real project the tag matches nothing (and dbt's warning
that it matches no node is silenced for that command, ``--warn-error-options`` ``silence``), so
the run builds exactly the group; a run of part of the group is selected by dagster-dbt from
the assets asked for, as usual.

**Without the dbt project** each compute target's resource is a ``MissingDbtProject`` that the
op turns into :class:`~floe_orchestrator_dagster.errors.DbtProjectMissingError`.
"""

# No `from __future__ import annotations`: Dagster compares the op's `context` annotation
# object itself with AssetExecutionContext, a string would be refused.
import json
from collections.abc import Collection, Iterator, Mapping
from pathlib import Path
from typing import Any

import dagster as dg
from dagster import AssetExecutionContext

from floe_orchestration_core.artifacts import CompiledArtifacts, PartitionConfig
from floe_orchestrator_dagster.dbt.manifest import ProjectManifest
from floe_orchestrator_dagster.dbt.parse_cache import parse_cache_target, store_parse_cache
from floe_orchestrator_dagster.dbt.resource import MissingDbtProject
from floe_orchestrator_dagster.dbt.run_output import NO_COLOR_ARGS, dbt_log_file, with_dbt_log
from floe_orchestrator_dagster.dbt.selection import ALL, flat_fqn, plan_selections
from floe_orchestrator_dagster.dbt.specs import dbt_assets_for
from floe_orchestrator_dagster.dbt.translator import FloeDagsterDbtTranslator
from floe_orchestrator_dagster.definitions.groups import (
    GroupLabel,
    label_sort_key,
    marker_tag,
    op_name,
    source_tests_owner,
)
from floe_orchestrator_dagster.definitions.jobs import (
    partition_vars,
    to_dagster_retry_policy,
    to_partitions_definition,
)
from floe_orchestrator_dagster.errors import DbtProjectMissingError
from floe_orchestrator_dagster.lineage.dbt_op import dbt_op_with_lineage
from floe_orchestrator_dagster.lineage.emitter import LineageEmitter

__all__ = ["SILENCE_MARKER_WARNING", "build_dbt_assets"]

#: dbt's ``NoNodesForSelectionCriteria`` warning silenced, for the op's marker tag criterion.
SILENCE_MARKER_WARNING = (
    "--warn-error-options",
    json.dumps({"silence": ["NoNodesForSelectionCriteria"]}),
)


def build_dbt_assets(
    artifacts: CompiledArtifacts,
    groups: Mapping[GroupLabel, list[str]],
    project: ProjectManifest,
    translator: FloeDagsterDbtTranslator,
    lineage: LineageEmitter | None,
) -> list[dg.AssetsDefinition]:
    """One ``@dbt_assets`` per group of ``groups`` (label → unique ids), in label order."""
    label_of: dict[str, GroupLabel | None] = dict.fromkeys(project.nodes)
    label_of.update({uid: label for label, uids in groups.items() for uid in uids})
    label_of = {t.unique_id: label_of[t.unique_id] for t in artifacts.transforms}
    fqns = {uid: flat_fqn(project.nodes[uid]["fqn"]) for uid in label_of}
    selections = plan_selections(fqns, label_of)
    all_tests = [uid for uid, node in project.nodes.items() if node["resource_type"] == "test"]
    source_tests = [
        uid
        for uid in all_tests
        if all(p in project.sources for p in project.nodes[uid]["depends_on"]["nodes"])
    ]
    owner = source_tests_owner(list(groups), artifacts.default_compute)
    under = {label: project.tests_under(selections[label].prefixes) for label in groups}
    claimed = {uid for tests in under.values() for uid in tests}
    unclaimed = [uid for uid in source_tests if uid not in claimed]
    partitions = {p.name: p for p in artifacts.partitions}
    retry_policy = to_dagster_retry_policy(artifacts.retry_policy)

    assets: list[dg.AssetsDefinition] = []
    for label in sorted(groups, key=label_sort_key):
        compute, partition, _ = label
        selection = selections[label]
        run_select = selection.select
        if selection.select == ALL:
            extra, marker = all_tests, None
        else:
            extra, marker = under[label], marker_tag(label)
            if label == owner:  # tests reading only sources, outside every group's folders
                extra = [*extra, *unclaimed]
                run_select = " ".join(
                    [run_select, *(".".join(project.nodes[uid]["fqn"]) for uid in unclaimed)]
                )
        manifest = project.subset(
            groups[label],
            adapter_type=artifacts.compute_target(compute).type,
            extra_tests=extra,
            marker_tag=marker,
        )
        assets.append(
            _dbt_op(
                manifest=manifest,
                selected=list(manifest["nodes"]) if marker is None else groups[label],
                select=ALL if marker is None else f"tag:{marker}",
                run_select=None if marker is None else run_select,
                name=op_name(label),
                translator=translator,
                resource_key=f"dbt_{compute}",
                partition=partitions[partition] if partition is not None else None,
                retry_policy=retry_policy,
                threads=artifacts.compute_target(compute).threads,
                lineage=lineage,
            )
        )
    return assets


def _is_subset(context: AssetExecutionContext) -> bool:
    """Whether the run builds part of the op's assets or checks (dagster-dbt's own test)."""
    assets_def = context.assets_def
    return bool(
        assets_def.keys_by_output_name != assets_def.node_keys_by_output_name
        or assets_def.check_specs_by_output_name != assets_def.node_check_specs_by_output_name
    )


def _dbt_op(
    *,
    manifest: Mapping[str, Any],
    selected: Collection[str],
    select: str,
    run_select: str | None,
    name: str,
    translator: FloeDagsterDbtTranslator,
    resource_key: str,
    partition: PartitionConfig | None,
    retry_policy: dg.RetryPolicy | None,
    threads: int | None,
    lineage: LineageEmitter | None = None,
) -> dg.AssetsDefinition:
    partitions_def = to_partitions_definition(partition) if partition is not None else None

    @dbt_assets_for(
        manifest=manifest,
        selected=selected,
        select=select,
        name=name,
        translator=translator,
        partitions_def=partitions_def,
        retry_policy=retry_policy,
        required_resource_keys={resource_key},
    )
    def _dbt_build(context: AssetExecutionContext) -> Iterator[Any]:
        dbt = getattr(context.resources, resource_key)
        if isinstance(dbt, MissingDbtProject):
            raise DbtProjectMissingError(dbt.message)
        args = ["build", *NO_COLOR_ARGS]
        if threads is not None:
            args += ["--threads", str(threads)]
        if run_select is not None and not _is_subset(context):
            # dagster-dbt adds the op's marker tag, which matches no node of the real project
            # by design: dbt's warning about it would only confuse (it is floe's own criterion).
            args += ["--select", run_select, *SILENCE_MARKER_WARNING]
        if partition is not None:
            args += ["--vars", json.dumps(partition_vars(context, partition))]
        project_dir = Path(dbt.project_dir)
        target_path = parse_cache_target(project_dir, name, context.run.run_id)
        invocation = dbt.cli(args, context=context, target_path=target_path)
        log = dbt_log_file(context.instance.root_directory, context.run.run_id)
        try:
            if lineage is None:
                events = iter(invocation.stream())
            else:  # the same Dagster events, plus START/COMPLETE/FAIL of every dbt node
                events = dbt_op_with_lineage(context, invocation, lineage)
            yield from with_dbt_log(events, log)
        finally:
            store_parse_cache(project_dir, name, target_path)

    return _dbt_build
