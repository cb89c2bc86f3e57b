"""Every corpus manifest: the resolved asset graph has exactly the manifest's upstreams.

For each real ``manifest.json`` of ``../shared/corpus/dbt-manifests`` (the repository root's
sibling ``shared/``), compiled by the core and turned into Definitions: each non-ephemeral
transform is one asset whose upstream assets are exactly its manifest upstream transforms and
sources, ephemeral models replaced by their own upstreams (transitively); ephemeral models are
not assets; every source an asset reads is a declared, non-materializable asset, and no
other source is an asset (as with ``@dbt_assets``).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import dagster as dg
import pytest

from floe_orchestration_core.artifacts import CompiledArtifacts
from floe_orchestration_core.compile import compile_artifacts
from floe_orchestration_core.graph import TransformGraph
from floe_orchestrator_dagster.config import DagsterAdapterConfig
from floe_orchestrator_dagster.definitions.build import build_definitions

CORPUS = Path(__file__).resolve().parents[4].parent / "shared" / "corpus" / "dbt-manifests"
MANIFESTS = sorted(CORPUS.glob("*.json")) if CORPUS.is_dir() else []

pytestmark = pytest.mark.skipif(
    not MANIFESTS, reason=f"the shared corpus is absent ({CORPUS} has no manifests)"
)

#: (transform or source) node in the expected graph: ("t", name) or ("s", source key).
Node = tuple[str, str]


@pytest.fixture(scope="module", params=MANIFESTS, ids=lambda path: path.stem)
def built(request: pytest.FixtureRequest) -> tuple[CompiledArtifacts, Any]:
    artifacts = compile_artifacts(request.param)
    definitions = build_definitions(
        artifacts, TransformGraph.from_artifacts(artifacts), DagsterAdapterConfig()
    )
    return artifacts, definitions.resolve_asset_graph()


def _expected(artifacts: CompiledArtifacts) -> dict[str, frozenset[Node]]:
    by_name = {t.name: t for t in artifacts.transforms}
    memo: dict[str, frozenset[Node]] = {}

    def upstreams(name: str) -> frozenset[Node]:
        if name not in memo:
            transform = by_name[name]
            found: set[Node] = {("s", key) for key in transform.source_dependencies}
            for parent in transform.depends_on:
                if by_name[parent].is_ephemeral:
                    found |= upstreams(parent)
                else:
                    found.add(("t", parent))
            memo[name] = frozenset(found)
        return memo[name]

    return {t.name: upstreams(t.name) for t in artifacts.transforms if not t.is_ephemeral}


def _node_of(artifacts: CompiledArtifacts, graph: Any) -> dict[dg.AssetKey, Node]:
    by_uid: dict[str, Node] = {t.unique_id: ("t", t.name) for t in artifacts.transforms}
    by_uid.update({s.unique_id: ("s", s.key) for s in artifacts.sources})
    return {
        key: by_uid[str(graph.get(key).metadata["floe/unique_id"])]
        for key in graph.get_all_asset_keys()
    }


def test_every_transform_has_exactly_the_manifest_upstreams(
    built: tuple[CompiledArtifacts, Any],
) -> None:
    artifacts, graph = built
    node_of = _node_of(artifacts, graph)
    key_of = {node: key for key, node in node_of.items()}
    expected = _expected(artifacts)
    actual = {
        name: frozenset(node_of[p] for p in graph.get(key_of[("t", name)]).parent_keys)
        for name in expected
    }
    wrong = {
        name: actual[name] ^ expected[name] for name in expected if actual[name] != expected[name]
    }
    assert not wrong, (
        f"{len(wrong)} of {len(expected)} transforms differ, e.g. {list(wrong.items())[:3]}"
    )


def test_ephemeral_models_are_not_assets_and_exactly_the_read_sources_are_declared(
    built: tuple[CompiledArtifacts, Any],
) -> None:
    artifacts, graph = built
    nodes = set(_node_of(artifacts, graph).values())
    for transform in artifacts.transforms:
        assert (("t", transform.name) in nodes) != transform.is_ephemeral, transform.name
    read = {node for upstreams in _expected(artifacts).values() for node in upstreams}
    for source in artifacts.sources:
        # As @dbt_assets: a source is an asset when an asset reads it, else it is none.
        assert (("s", source.key) in nodes) == (("s", source.key) in read), source.key
    materializable = {_node_of(artifacts, graph)[k] for k in graph.materializable_asset_keys}
    assert not {n for n in materializable if n[0] == "s"}
