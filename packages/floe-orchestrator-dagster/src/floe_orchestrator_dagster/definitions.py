"""CompiledArtifacts → ``dagster.Definitions`` with dagster-dbt's native ``@dbt_assets``.

:func:`build_definitions` (called by the plugin after the core validated the artifacts) gives:

- one ``@dbt_assets`` per group of non-ephemeral transforms sharing a compute target (and a
  partitioning, since one AssetsDefinition has one ``partitions_def``), named ``dbt_<compute>``
  (``dbt_<compute>_<partition>`` for a partitioned group; ``…_stage<N>`` when targets feed each
other back and forth, see :func:`_stages`), selecting exactly its transforms
  (:mod:`~floe_orchestrator_dagster.dbt.selection`) from a manifest holding only what it needs
  (:mod:`~floe_orchestrator_dagster.dbt.manifest`); dependencies on transforms of other groups
  are kept (they are assets of the other groups) and ephemeral models are connected through,
  as dagster-dbt does;
- one dbt resource per compute target under ``dbt_<compute>``: a ``DbtCliResource`` on
  ``artifacts.dbt.project_dir`` (relative paths are relative to the current directory),
  ``profiles_dir`` and the target's ``dbt_target`` (else ``artifacts.dbt.target``);
- every dbt source that an asset reads (directly or through ephemeral models) as an
  ``AssetSpec`` (same key as the translator gives it), so sources are upstream assets of the
  repository rather than dangling keys; a source nobody reads is no asset (``@dbt_assets``
  creates none either) and is listed in the Definitions' metadata (``floe/unread_sources``);
- dbt tests as asset checks (see
  :class:`~floe_orchestrator_dagster.dbt.translator.FloeDagsterDbtTranslator`; error severity
  blocking), the retry policy, time-window partitions (the run's window reaches
  dbt as ``--vars``), and the jobs and schedules of :mod:`floe_orchestrator_dagster.jobs`.

Each op runs ``dbt build`` through ``DbtCliResource.cli(..., context=context).stream()``, in a
target folder seeded with the op's own dbt partial-parse state
(:mod:`~floe_orchestrator_dagster.dbt.parse_cache`), so a step parses only what changed.

**Selection, fast.** ``@dbt_assets`` evaluates its ``select`` with dbt-core's selector (a
rebuild of dbt's ``Manifest`` and graph per decorator, criteria x nodes); floe knows each group's
unique ids already, so it builds the decorator's assets from them with
:func:`~floe_orchestrator_dagster.dbt.specs.dbt_assets_for` (dagster-dbt's specs and op, no
selector). The ``select`` string still matters at run time: dagster-dbt hands it to dbt. When one
group holds every model, ``select`` is ``fqn:*`` (dagster-dbt's default; at run time, the whole
project). Otherwise the group's manifest marks its transforms with the dbt tag
``floe_dagster__<compute>__<partition>`` and ``select`` is that one tag criterion; the op then
adds ``--select <the group's fqn criteria>`` (:mod:`~floe_orchestrator_dagster.dbt.selection`)
when it builds the whole group. In the real project the tag matches nothing (dbt logs that it
matched no node), so the run builds exactly the group; a run of part of the group is selected
by dagster-dbt from the assets asked for, as usual.

**Without the dbt project** (CI validating a product from its manifest alone) the definitions
still build. Each compute target's resource is then a MissingDbtProject that the ops turn into
:class:`~floe_orchestrator_dagster.errors.DbtProjectMissingError` naming the missing folder and
the fix. Zero transforms give definitions holding only jobs and schedules.
"""

# No `from __future__ import annotations`: Dagster compares the op's `context` annotation
# object itself with AssetExecutionContext, a string would be refused.
import json
from collections.abc import Collection, Iterator, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import dagster as dg
from dagster import AssetExecutionContext

from floe_orchestration_core.artifacts import (
    CompiledArtifacts,
    PartitionConfig,
    SourceConfig,
    TransformConfig,
)
from floe_orchestration_core.graph import TransformGraph
from floe_orchestrator_dagster import jobs
from floe_orchestrator_dagster.compat import DISALLOWED_NAMES
from floe_orchestrator_dagster.config import DagsterAdapterConfig
from floe_orchestrator_dagster.dbt.manifest import ProjectManifest
from floe_orchestrator_dagster.dbt.parse_cache import parse_cache_target, store_parse_cache
from floe_orchestrator_dagster.dbt.resource import (
    MissingDbtProject,
    dbt_resource,
    resolve_project_dir,
)
from floe_orchestrator_dagster.dbt.selection import ALL, flat_fqn, plan_selections
from floe_orchestrator_dagster.dbt.specs import dbt_assets_for
from floe_orchestrator_dagster.dbt.translator import FloeDagsterDbtTranslator, asset_key_for
from floe_orchestrator_dagster.errors import DbtProjectMissingError, ReservedAssetNameError
from floe_orchestrator_dagster.lineage.assets import python_asset_hook as python_asset_lineage_hook
from floe_orchestrator_dagster.lineage.dbt_events import dbt_op_with_lineage
from floe_orchestrator_dagster.lineage.emitter import LineageEmitter, lineage_emitter
from floe_orchestrator_dagster.sensors import build_sensors

if TYPE_CHECKING:
    from floe_orchestration_core.lineage import LineageBackendPlugin
    from floe_orchestrator_dagster.python_assets import PythonAssetRunHook

__all__ = [
    "MissingDbtProject",
    "asset_key_for",
    "build_definitions",
    "dbt_resource",
    "read_sources",
    "resolve_project_dir",
]

#: A group of transforms built by one ``@dbt_assets``: (compute target, partition or None,
#: stage; see :func:`_stages`).
GroupLabel = tuple[str, str | None, int]


def _marker_tag(label: GroupLabel) -> str:
    compute, partition, stage = label
    return f"floe_dagster__{compute}__{partition or ''}__{stage}"


def _op_name(label: GroupLabel) -> str:
    compute, partition, stage = label
    name = f"dbt_{compute}" if partition is None else f"dbt_{compute}_{partition}"
    return f"{name}_stage{stage}" if stage else name


def _label_sort_key(label: GroupLabel) -> tuple[str, str, int]:
    return (label[0], label[1] or "", label[2])


def _is_subset(context: AssetExecutionContext) -> bool:
    """Whether the run builds part of the op's assets or checks (dagster-dbt's own test)."""
    assets_def = context.assets_def
    return bool(
        assets_def.keys_by_output_name != assets_def.node_keys_by_output_name
        or assets_def.check_specs_by_output_name != assets_def.node_check_specs_by_output_name
    )


def _build_dbt_assets(
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
    partitions_def = jobs.to_partitions_definition(partition) if partition is not None else None

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
        args = ["build"]
        if threads is not None:
            args += ["--threads", str(threads)]
        if run_select is not None and not _is_subset(context):
            args += ["--select", run_select]
        if partition is not None:
            args += ["--vars", json.dumps(jobs.partition_vars(context, partition))]
        project_dir = Path(dbt.project_dir)
        target_path = parse_cache_target(project_dir, name, context.run.run_id)
        invocation = dbt.cli(args, context=context, target_path=target_path)
        try:
            if lineage is None:
                yield from invocation.stream()
            else:  # the same Dagster events, plus START/COMPLETE/FAIL of every dbt node
                yield from dbt_op_with_lineage(context, invocation, lineage)
        finally:
            store_parse_cache(project_dir, name, target_path)

    return _dbt_build


def _source_tests_owner(labels: list[GroupLabel], default_compute: str) -> GroupLabel | None:
    """The group whose op runs the tests that read only sources (and holds their checks).

    The unpartitioned group of the default compute target, else the first group by name:
    every test runs in exactly one op, and each check belongs to one ``@dbt_assets``.
    """
    ordered = sorted(labels, key=_label_sort_key)
    preferred = (default_compute, None, 0)
    return preferred if preferred in ordered else (ordered[0] if ordered else None)


def _stages(graph: TransformGraph) -> dict[str, int]:
    """Stage of every non-ephemeral transform: how often its upstream paths change group.

    Transforms of one compute target (and partitioning) that feed another target which feeds
    the first one back would make one op per target a cycle of ops (only then are stages
    used; otherwise every stage is 0). Dagster breaks such
    cycles itself whenever it builds a job, by splitting ops (about 50 s at 10,000 models
    with interleaved targets). Splitting a target by stage instead is linear and gives the
    same runs: along every edge the stage never decreases and it grows when the group
    changes, so the graph of (group, stage) ops is acyclic. Ephemeral models are passed
    through, as dagster-dbt does.
    """
    transforms = graph.transforms
    stage: dict[str, int] = {}
    parents_of: dict[str, list[str]] = {}
    for name in graph.topological_order():
        transform = transforms[name]
        parents: list[str] = []
        for parent in transform.depends_on:
            if parent in transforms:
                parents.extend(parents_of[parent] if transforms[parent].is_ephemeral else [parent])
        parents_of[name] = parents
        if transform.is_ephemeral:
            continue
        group = (transform.compute, transform.partition)
        stage[name] = max(
            (
                stage[p] + ((transforms[p].compute, transforms[p].partition) != group)
                for p in parents
            ),
            default=0,
        )
    if not _groups_cycle(transforms, parents_of):
        return dict.fromkeys(stage, 0)  # one op per group is acyclic already
    return stage


def _groups_cycle(
    transforms: Mapping[str, TransformConfig], parents_of: Mapping[str, Sequence[str]]
) -> bool:
    """Whether the graph of groups (compute target, partition) has a cycle."""
    edges: dict[tuple[str, str | None], set[tuple[str, str | None]]] = {}
    for name, parents in parents_of.items():
        child = (transforms[name].compute, transforms[name].partition)
        if transforms[name].is_ephemeral:
            continue
        for parent in parents:
            group = (transforms[parent].compute, transforms[parent].partition)
            if group != child:
                edges.setdefault(group, set()).add(child)
    indegree = dict.fromkeys(edges, 0)
    for children in edges.values():
        for child in children:
            indegree[child] = indegree.get(child, 0) + 1
    ready = [g for g, d in indegree.items() if d == 0]
    removed = 0
    while ready:
        group = ready.pop()
        removed += 1
        for child in edges.get(group, ()):
            indegree[child] -= 1
            if indegree[child] == 0:
                ready.append(child)
    return removed != len(indegree)


def _groups(artifacts: CompiledArtifacts, graph: TransformGraph) -> dict[GroupLabel, list[str]]:
    stages = _stages(graph)
    groups: dict[GroupLabel, list[str]] = {}
    for transform in artifacts.transforms:
        if not transform.is_ephemeral:
            label = (transform.compute, transform.partition, stages[transform.name])
            groups.setdefault(label, []).append(transform.unique_id)
    return groups


def read_sources(artifacts: CompiledArtifacts) -> list[SourceConfig]:
    """The sources some asset reads: directly, or through ephemeral models (as dagster-dbt
    connects them). Only these are declared as assets, as ``@dbt_assets`` itself creates keys
    for exactly these; the others are listed in the Definitions' metadata by the plugin."""
    by_name = {t.name: t for t in artifacts.transforms}
    read: set[str] = set()
    seen: set[str] = set()
    pending = [t for t in artifacts.transforms if not t.is_ephemeral]
    while pending:
        transform = pending.pop()
        read.update(transform.source_dependencies)
        for parent in transform.depends_on:
            upstream = by_name.get(parent)
            if upstream is not None and upstream.is_ephemeral and parent not in seen:
                seen.add(parent)
                pending.append(upstream)
    return [s for s in artifacts.sources if s.key in read]


def _source_specs(
    sources: Sequence[SourceConfig],
    project: ProjectManifest,
    translator: FloeDagsterDbtTranslator,
) -> list[dg.AssetSpec]:
    specs: list[dg.AssetSpec] = []
    for source in sources:
        props = project.sources[source.unique_id]
        specs.append(
            dg.AssetSpec(
                key=translator.get_asset_key(props),
                description=source.description or f"dbt source {source.key}",
                metadata=translator.get_metadata(props),
                group_name=translator.get_group_name(props),
                tags=translator.get_tags(props),
                owners=translator.get_owners(props),
            )
        )
    return specs


def _refuse_reserved_names(artifacts: CompiledArtifacts, config: DagsterAdapterConfig) -> None:
    """Dagster names each op output after its asset key and refuses Python keywords and its
    own parameter names there (a model called ``config`` or ``or``): say so, with the fix,
    before dagster-dbt fails deep inside the decorator."""
    for transform in artifacts.transforms:
        if transform.is_ephemeral:
            continue
        identifier = asset_key_for(transform, config.translator).to_python_identifier()
        if identifier in DISALLOWED_NAMES:
            raise ReservedAssetNameError(
                f"{transform.resource_type.value} '{transform.name}' would be the Dagster asset "
                f"'{identifier}', a name Dagster reserves (Python keywords and {{config, "
                "context, input, output, type, ...}}); set a key prefix in the Dagster "
                "adapter's config (translator.key_prefix: [dbt]) or rename the model"
            )


def build_definitions(
    artifacts: CompiledArtifacts,
    graph: TransformGraph,
    config: DagsterAdapterConfig,
    *,
    cwd: Path | None = None,
    python_asset_hook: "PythonAssetRunHook | None" = None,
    lineage_backend: "LineageBackendPlugin | None" = None,
) -> dg.Definitions:
    """The Dagster definitions of ``artifacts`` (see the module docstring).

    ``graph`` is the validated transform graph; ``cwd`` is the folder relative paths of the
    artifacts start from (default: the current directory). With ``lineage_backend`` (and
    lineage enabled in the artifacts) the ops emit run-time lineage
    (:mod:`~floe_orchestrator_dagster.lineage`).
    """
    lineage = lineage_emitter(lineage_backend, artifacts, cwd)
    if python_asset_hook is None and lineage is not None:
        python_asset_hook = python_asset_lineage_hook(lineage, cwd or Path.cwd())
    _refuse_reserved_names(artifacts, config)
    translator = FloeDagsterDbtTranslator(artifacts, config.translator)
    groups = _groups(artifacts, graph)
    sources = read_sources(artifacts)
    if not groups and not sources and not artifacts.python_assets:
        jobs_, schedules = jobs.build_jobs_and_schedules(artifacts, graph, {})
        sensor_jobs, sensors = build_sensors(
            artifacts, graph, {}, cwd=cwd, webserver_url=config.webserver_url
        )
        return dg.Definitions(
            jobs=[*jobs_, *sensor_jobs],
            schedules=schedules,
            sensors=sensors,
            executor=executor_for(artifacts, config),
        )

    project = (
        ProjectManifest.load(artifacts, cwd=cwd)
        if groups
        else ProjectManifest.from_artifacts(artifacts)
    )
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
    owner = _source_tests_owner(list(groups), artifacts.default_compute)
    under = {label: project.tests_under(selections[label].prefixes) for label in groups}
    claimed = {uid for tests in under.values() for uid in tests}
    unclaimed = [uid for uid in source_tests if uid not in claimed]
    partitions = {p.name: p for p in artifacts.partitions}
    retry_policy = jobs.to_dagster_retry_policy(artifacts.retry_policy)

    assets: list[dg.AssetsDefinition | dg.AssetSpec] = []
    for label in sorted(groups, key=_label_sort_key):
        compute, partition, _ = label
        selection = selections[label]
        run_select = selection.select
        if selection.select == ALL:
            extra, marker = all_tests, None
        else:
            extra, marker = under[label], _marker_tag(label)
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
            _build_dbt_assets(
                manifest=manifest,
                selected=list(manifest["nodes"]) if marker is None else groups[label],
                select=ALL if marker is None else f"tag:{marker}",
                run_select=None if marker is None else run_select,
                name=_op_name(label),
                translator=translator,
                resource_key=f"dbt_{compute}",
                partition=partitions[partition] if partition is not None else None,
                retry_policy=retry_policy,
                threads=artifacts.compute_target(compute).threads,
                lineage=lineage,
            )
        )
    produced = {key for asset in artifacts.python_assets for key in asset.produces}
    assets.extend(_source_specs([s for s in sources if s.key not in produced], project, translator))

    asset_keys = {
        t.name: translator.get_asset_key(project.nodes[t.unique_id])
        for t in artifacts.transforms
        if not t.is_ephemeral
    }
    if artifacts.python_assets:
        from floe_orchestrator_dagster.python_assets import build_python_assets

        source_keys = {
            s.key: translator.get_asset_key(project.sources[s.unique_id]) for s in artifacts.sources
        }
        assets.extend(
            build_python_assets(
                artifacts,
                transform_keys=asset_keys,
                source_keys=source_keys,
                base_dir=cwd or Path.cwd(),
                tags=translator.tag_mapper,
                hook=python_asset_hook,
            )
        )
    jobs_, schedules = jobs.build_jobs_and_schedules(artifacts, graph, asset_keys)
    sensor_jobs, sensors = build_sensors(
        artifacts, graph, asset_keys, cwd=cwd, webserver_url=config.webserver_url
    )
    resources = {
        f"dbt_{compute}": dbt_resource(artifacts, artifacts.compute_target(compute), cwd)
        for compute in sorted({label[0] for label in groups})
    }
    return dg.Definitions(
        assets=assets,
        jobs=[*jobs_, *sensor_jobs],
        schedules=schedules,
        sensors=sensors,
        resources=resources,
        executor=executor_for(artifacts, config),
    )


def executor_for(
    artifacts: CompiledArtifacts, config: DagsterAdapterConfig
) -> dg.ExecutorDefinition:
    """The executor of ``config.executor`` ('auto': in-process when a target is DuckDB)."""
    choice = config.executor
    if choice == "auto":
        duckdb = any(t.type.lower() == "duckdb" for t in artifacts.compute_targets)
        choice = "in_process" if duckdb else "multiprocess"
    return dg.in_process_executor if choice == "in_process" else dg.multiprocess_executor
