"""The manifests handed to ``@dbt_assets``: read once, normalised, cut to what each needs.

:meth:`ProjectManifest.load` reads the product's ``manifest.json`` once per
``create_definitions`` and :meth:`ProjectManifest.subset` builds, for one ``@dbt_assets``,
a small manifest dict holding only what that decorator (and the runs of its op) look at.

**Where the manifest is found**, and when the slim manifest stands in for it:
:mod:`~floe_orchestrator_dagster.dbt.manifest_files`. Without one, the manifest is *rebuilt
from the artifacts* (:meth:`ProjectManifest.from_artifacts`).

**What is normalised** (what crashes dagster-dbt or dbt-core's selector otherwise, e.g. dbt
Fusion's ``"config": null``): every node gets a ``config`` dict (``materialized`` from the
artifacts, ``enabled``, ``meta``, ``tags``; ``severity`` for tests), list ``tags``/``fqn``,
dict ``meta``/``columns``/``checksum``, ``depends_on.nodes``/``macros``, an ``alias``;
``metadata.adapter_type`` is the compute target's type and ``child_map``/``parent_map`` are
rebuilt (Fusion omits parts of them). A test's name becomes a Dagster check name, so characters
outside ``A-Z a-z 0-9 _`` become ``_`` (``..._block_id-assert_no_gaps``); versions of one model
sharing an alias (dbt refuses that; a hand-edited manifest may hold it) get dbt's default alias
``name_v<N>``, since dagster-dbt keys versioned models by alias.

**The artifacts decide the graph.** A transform's ``depends_on`` is its artifacts' dependencies
(transforms and sources); a test's parents are its quality check's ``references`` and its
``attached_node`` is the transform floe attached it to, so every quality check on a transform
becomes an asset check, multi-parent singular tests included.

**What a subset holds**, for the set ``S`` of transforms one decorator builds: ``S`` in full;
the ephemeral models ``S`` reads, transitively, with their dependencies (dagster-dbt connects
through them); every other transform or source ``S`` (or its ephemeral upstreams, or one of
the tests below) reads, as a *stub* without dependencies (only its asset key is needed); every
test reading a node of ``S``; and tests whose fqn falls under the selection's fqn prefixes
(dbt runs those, so the op must know them). Nothing else: dagster-dbt's cost grows with the
manifest it is given, and each decorator reads only its part.
"""

from __future__ import annotations

import json
from collections.abc import Collection, Iterable, Mapping
from pathlib import Path
from typing import Any

from floe_orchestration_core.artifacts import (
    CompiledArtifacts,
    QualityCheck,
)
from floe_orchestrator_dagster.dbt.manifest_files import read_manifest
from floe_orchestrator_dagster.dbt.nodes import (
    as_dict,
    distinct_version_aliases,
    source_node,
    stub_node,
    test_node,
    transform_node,
)

__all__ = ["ProjectManifest"]


class ProjectManifest:
    """Normalised dbt nodes of one product, read once; :meth:`subset` per decorator."""

    __slots__ = (
        "_ephemeral",
        "_test_fqns",
        "_tests_by_parent",
        "groups",
        "metadata",
        "nodes",
        "path",
        "sources",
    )

    def __init__(
        self,
        *,
        metadata: dict[str, Any],
        nodes: dict[str, dict[str, Any]],
        sources: dict[str, dict[str, Any]],
        groups: dict[str, dict[str, Any]],
        ephemeral: frozenset[str],
        path: Path | None,
    ) -> None:
        self.metadata = metadata
        self.nodes = nodes
        self.sources = sources
        self.groups = groups
        self.path = path
        self._ephemeral = ephemeral
        self._tests_by_parent: dict[str, list[str]] = {}
        self._test_fqns: list[tuple[str, tuple[str, ...]]] | None = None
        for unique_id, node in nodes.items():
            if node["resource_type"] == "test":
                for parent in node["depends_on"]["nodes"]:
                    self._tests_by_parent.setdefault(parent, []).append(unique_id)

    # Building -----------------------------------------------------------------------------
    @classmethod
    def load(cls, artifacts: CompiledArtifacts, *, cwd: Path | None = None) -> ProjectManifest:
        """Read the manifest of ``artifacts`` once, or rebuild it from them when it is absent."""
        found = read_manifest(artifacts, cwd)
        if found is None:
            return cls.from_artifacts(artifacts)
        data, path = found
        return cls._from_data(artifacts, data, path, consume=True)

    @classmethod
    def from_artifacts(cls, artifacts: CompiledArtifacts) -> ProjectManifest:
        """A manifest rebuilt from the artifacts alone (no SQL, no checksums)."""
        return cls.from_data(artifacts, {}, None)

    @classmethod
    def from_data(
        cls, artifacts: CompiledArtifacts, data: Mapping[str, Any], path: Path | None = None
    ) -> ProjectManifest:
        """Normalise the decoded manifest ``data`` against ``artifacts`` (module docstring)."""
        return cls._from_data(artifacts, data, path, consume=False)

    @classmethod
    def _from_data(
        cls,
        artifacts: CompiledArtifacts,
        data: Mapping[str, Any],
        path: Path | None,
        *,
        consume: bool,
    ) -> ProjectManifest:
        """:meth:`from_data`; with ``consume``, ``data`` (ours alone) is emptied on the way,
        so that each raw node is freed once normalised (a lower peak for big manifests)."""
        nodes_in, sources_in = data.get("nodes"), data.get("sources")
        raw_nodes = nodes_in if consume and type(nodes_in) is dict else as_dict(nodes_in)
        raw_sources = sources_in if consume and type(sources_in) is dict else as_dict(sources_in)
        del nodes_in, sources_in
        uid_of = {t.name: t.unique_id for t in artifacts.transforms}
        source_uid = {s.key: s.unique_id for s in artifacts.sources}
        nodes: dict[str, dict[str, Any]] = {}
        sources: dict[str, dict[str, Any]] = {}
        for transform in artifacts.transforms:
            nodes[transform.unique_id] = transform_node(
                transform, raw_nodes.pop(transform.unique_id, None), uid_of, source_uid
            )
        distinct_version_aliases(nodes, artifacts.transforms)
        for source in artifacts.sources:
            sources[source.unique_id] = source_node(source, raw_sources.pop(source.unique_id, None))
        for attached_uid, check in _quality_checks(artifacts):
            nodes[check.unique_id] = test_node(
                check, raw_nodes.pop(check.unique_id, None), attached_uid, uid_of, source_uid
            )
        del raw_nodes, raw_sources
        _share_equal_configs(nodes)
        _share_equal_configs(sources)
        metadata = {
            key: value
            for key, value in as_dict(data.get("metadata")).items()
            if key in ("dbt_schema_version", "project_id", "project_name", "generated_at")
            and value is not None
        }
        metadata.setdefault("project_name", artifacts.dbt.project_name)
        groups = {
            uid: dict(group)
            for uid, group in as_dict(data.get("groups")).items()
            if isinstance(group, Mapping) and isinstance(group.get("name"), str)
        }
        ephemeral = frozenset(t.unique_id for t in artifacts.transforms if t.is_ephemeral)
        return cls(
            metadata=metadata,
            nodes=nodes,
            sources=sources,
            groups=groups,
            ephemeral=ephemeral,
            path=path,
        )

    # Subsets ------------------------------------------------------------------------------
    def tests_under(self, prefixes: Collection[tuple[str, ...]]) -> list[str]:
        """Unique ids of tests whose (dot-flattened) fqn starts with one of ``prefixes``."""
        if not prefixes:
            return []
        wanted = set(prefixes)
        lengths = sorted({len(p) for p in wanted})
        if self._test_fqns is None:
            self._test_fqns = [
                (uid, tuple(part for segment in node["fqn"] for part in str(segment).split(".")))
                for uid, node in self.nodes.items()
                if node["resource_type"] == "test"
            ]
        return [uid for uid, flat in self._test_fqns if any(flat[:n] in wanted for n in lengths)]

    def subset(
        self,
        selected: Collection[str],
        *,
        adapter_type: str,
        extra_tests: Iterable[str] = (),
        marker_tag: str | None = None,
    ) -> dict[str, Any]:
        """The manifest dict for one ``@dbt_assets`` building the transforms ``selected``.

        With ``marker_tag``, the selected transforms (only they) carry that extra dbt tag, so
        that ``tag:<marker_tag>`` selects them in this manifest with one cheap criterion.
        """
        included: dict[str, dict[str, Any]] = {
            uid: self.nodes[uid]
            if marker_tag is None
            else {**self.nodes[uid], "tags": [*self.nodes[uid]["tags"], marker_tag]}
            for uid in selected
        }
        sources: dict[str, dict[str, Any]] = {}
        stubs: list[str] = []
        pending = [p for uid in selected for p in self.nodes[uid]["depends_on"]["nodes"]]
        while pending:  # ephemeral upstreams in full, everything else as a stub
            parent = pending.pop()
            if parent in included or parent in sources:
                continue
            if parent in self._ephemeral:
                included[parent] = self.nodes[parent]
                pending.extend(self.nodes[parent]["depends_on"]["nodes"])
            else:
                stubs.append(parent)
        tests = dict.fromkeys(t for uid in selected for t in self._tests_by_parent.get(uid, ()))
        tests.update(dict.fromkeys(extra_tests))
        for test in tests:
            included[test] = self.nodes[test]
            stubs.extend(self.nodes[test]["depends_on"]["nodes"])
        for stub in stubs:
            if stub in included or stub in sources:
                continue
            if stub in self.sources:
                sources[stub] = stub_node(self.sources[stub])
            else:
                included[stub] = stub_node(self.nodes[stub])
        child_map: dict[str, list[str]] = {uid: [] for uid in (*included, *sources)}
        parent_map: dict[str, list[str]] = {}
        for uid, node in included.items():
            parents = node["depends_on"]["nodes"]
            parent_map[uid] = list(parents)
            for parent in parents:
                child_map[parent].append(uid)
        for uid in sources:
            parent_map[uid] = []
        used_groups = {node.get("group") for node in included.values()}
        return {
            "metadata": {**self.metadata, "adapter_type": adapter_type},
            "nodes": included,
            "sources": sources,
            "exposures": {},
            "metrics": {},
            "semantic_models": {},
            "saved_queries": {},
            "unit_tests": {},
            "selectors": {},
            "macros": {},
            "docs": {},
            "disabled": {},
            "groups": {
                uid: group for uid, group in self.groups.items() if group["name"] in used_groups
            },
            "child_map": child_map,
            "parent_map": parent_map,
        }


def _config_key(config: dict[str, Any]) -> bytes | str:
    try:
        import orjson
    except ImportError:  # pragma: no cover - dagster-dbt installs it
        return json.dumps(config, sort_keys=True)
    return orjson.dumps(config, option=orjson.OPT_SORT_KEYS)


def _share_equal_configs(nodes: Mapping[str, dict[str, Any]]) -> None:
    """Make nodes with equal ``config`` dicts share one (never mutated once normalised).

    dbt writes every config option of every node (about 40); most nodes of a folder, and
    most tests, have the same ones. The normalised nodes live as long as the definitions
    (dagster-dbt keeps the manifest for the runs); at 10,000 models sharing saves ~20 MB RSS.
    """
    shared: dict[bytes | str, dict[str, Any]] = {}
    for node in nodes.values():
        config = node.get("config")
        if type(config) is not dict:
            continue
        try:
            key = _config_key(config)
        except (TypeError, ValueError):  # not JSON (a hand-built manifest): keep it as is
            continue
        node["config"] = shared.setdefault(key, config)


def _quality_checks(artifacts: CompiledArtifacts) -> Iterable[tuple[str, QualityCheck]]:
    for transform in artifacts.transforms:
        for check in transform.quality_checks:
            yield transform.unique_id, check
    for source in artifacts.sources:
        for check in source.quality_checks:
            yield source.unique_id, check
