"""Which transforms one ``@dbt_assets`` builds: groups by compute target, partition and stage.

A group is the non-ephemeral transforms sharing a compute target and a partitioning (one
AssetsDefinition has one ``partitions_def``). When targets feed each other back and forth, a
target's transforms are split further into *stages* (:func:`_stages`) so that the ops form no
cycle. Each group becomes one op named :func:`op_name`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from floe_orchestration_core.artifacts import CompiledArtifacts, TransformConfig
from floe_orchestration_core.graph import TransformGraph

__all__ = [
    "GroupLabel",
    "label_sort_key",
    "marker_tag",
    "op_name",
    "source_tests_owner",
    "transform_groups",
]

#: A group of transforms built by one ``@dbt_assets``: (compute target, partition or None,
#: stage; see :func:`_stages`).
GroupLabel = tuple[str, str | None, int]


def marker_tag(label: GroupLabel) -> str:
    compute, partition, stage = label
    return f"floe_dagster__{compute}__{partition or ''}__{stage}"


def op_name(label: GroupLabel) -> str:
    compute, partition, stage = label
    name = f"dbt_{compute}" if partition is None else f"dbt_{compute}_{partition}"
    return f"{name}_stage{stage}" if stage else name


def label_sort_key(label: GroupLabel) -> tuple[str, str, int]:
    return (label[0], label[1] or "", label[2])


def source_tests_owner(labels: list[GroupLabel], default_compute: str) -> GroupLabel | None:
    """The group whose op runs the tests that read only sources (and holds their checks).

    The unpartitioned group of the default compute target, else the first group by name:
    every test runs in exactly one op, and each check belongs to one ``@dbt_assets``.
    """
    ordered = sorted(labels, key=label_sort_key)
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


def transform_groups(
    artifacts: CompiledArtifacts, graph: TransformGraph
) -> dict[GroupLabel, list[str]]:
    """Group label → unique ids of the non-ephemeral transforms in that group."""
    stages = _stages(graph)
    groups: dict[GroupLabel, list[str]] = {}
    for transform in artifacts.transforms:
        if not transform.is_ephemeral:
            label = (transform.compute, transform.partition, stages[transform.name])
            groups.setdefault(label, []).append(transform.unique_id)
    return groups
