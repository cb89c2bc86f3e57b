"""The slim manifest written by the core stands in for the full one, and only while it may.

For every corpus manifest (``../shared/corpus/dbt-manifests``): the normalised nodes, and the
Definitions' asset graph (keys, parents, materializable keys, checks, metadata of every asset
and check), are the same from the slim manifest as from the full one. And the slim manifest is
not used once dbt rewrote the full manifest, nor when it was cut from another manifest.
"""

from __future__ import annotations

import json
import logging
import shutil
from pathlib import Path
from typing import Any

import dagster as dg
import pytest

from floe_orchestration_core.artifacts import CompiledArtifacts
from floe_orchestration_core.compile import compile_artifacts
from floe_orchestration_core.compile.slim_manifest import (
    CHECKSUM_KEY,
    DROPPED_NODE_KEYS,
    slim_manifest_path_for,
    write_slim_manifest,
)
from floe_orchestration_core.graph import TransformGraph
from floe_orchestrator_dagster.config import DagsterAdapterConfig
from floe_orchestrator_dagster.dbt.manifest import ProjectManifest
from floe_orchestrator_dagster.dbt.manifest_files import _SLIM_CHECKSUM_KEY
from floe_orchestrator_dagster.dbt.nodes import UNREAD_KEYS
from floe_orchestrator_dagster.definitions.build import build_definitions

CORPUS = Path(__file__).resolve().parents[4].parent / "shared" / "corpus" / "dbt-manifests"
MANIFESTS = sorted(CORPUS.glob("*.json")) if CORPUS.is_dir() else []


def _compiled(manifest: Path, tmp_path: Path, *, slim: bool) -> CompiledArtifacts:
    """Artifacts of a copy of ``manifest`` (so a test may rewrite it), with a slim manifest."""
    copy = tmp_path / "target" / "manifest.json"
    copy.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(manifest, copy)
    artifacts = compile_artifacts(copy)
    if slim:
        out = slim_manifest_path_for(tmp_path / "compiled_artifacts.json")
        artifacts = write_slim_manifest(artifacts, out, manifest=copy)
    return artifacts


def _graph_doc(artifacts: CompiledArtifacts) -> dict[str, Any]:
    defs = build_definitions(
        artifacts, TransformGraph.from_artifacts(artifacts), DagsterAdapterConfig()
    )
    graph = defs.resolve_asset_graph()

    def metadata(values: Any) -> dict[str, str]:
        # the manifest wrapper's and translator's reprs hold ids: compare the other entries
        return {k: repr(v) for k, v in values.items() if not k.startswith("dagster_dbt/")}

    assets = {}
    for key in graph.get_all_asset_keys():
        node = graph.get(key)
        assets[key.to_user_string()] = {
            "parents": sorted(p.to_user_string() for p in node.parent_keys),
            "materializable": node.is_materializable,
            "metadata": metadata(node.metadata),
            "description": node.description,
            "code_version": node.code_version,
            "tags": dict(node.tags),
            "owners": list(node.owners),
            "group": node.group_name,
        }
    checks = {}
    for check_key in graph.asset_check_keys:
        spec = graph.get_check_spec(check_key)
        checks[check_key.to_user_string()] = {
            "blocking": spec.blocking,
            "description": spec.description,
            "deps": sorted(d.asset_key.to_user_string() for d in spec.additional_deps),
            "metadata": metadata(spec.metadata),
        }
    return {"assets": assets, "checks": checks}


def test_core_drops_only_keys_the_adapter_drops() -> None:
    assert set(DROPPED_NODE_KEYS) <= set(UNREAD_KEYS)
    assert CHECKSUM_KEY == _SLIM_CHECKSUM_KEY


@pytest.mark.skipif(not MANIFESTS, reason=f"the shared corpus is absent ({CORPUS})")
@pytest.mark.parametrize("manifest", MANIFESTS, ids=lambda path: path.stem)
def test_slim_manifest_gives_the_same_nodes_and_asset_graph(
    manifest: Path, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    full = _compiled(manifest, tmp_path / "full", slim=False)
    slim = _compiled(manifest, tmp_path / "slim", slim=True)
    assert slim.dbt.slim_manifest_path is not None
    slim_path = Path(slim.dbt.slim_manifest_path)
    assert slim_path.stat().st_size < manifest.stat().st_size

    from_full, from_slim = ProjectManifest.load(full), ProjectManifest.load(slim)
    assert from_slim.nodes == from_full.nodes
    assert from_slim.sources == from_full.sources
    assert from_slim.groups == from_full.groups
    assert from_slim.metadata == from_full.metadata

    # the slim manifest is what was read: without the full one's nodes it would still match
    (tmp_path / "slim" / "target" / "manifest.json").unlink()
    with caplog.at_level(logging.WARNING):
        assert ProjectManifest.load(slim).nodes == from_full.nodes
    assert "building the definitions from the compiled artifacts alone" not in caplog.text

    assert _graph_doc(slim) == _graph_doc(full)


@pytest.fixture
def corpus_manifest() -> Path:
    if not MANIFESTS:
        pytest.skip(f"the shared corpus is absent ({CORPUS})")
    return next((p for p in MANIFESTS if "jaffle" in p.name), MANIFESTS[0])


def _a_transform_with_sql(artifacts: CompiledArtifacts) -> str:
    return next(t.unique_id for t in artifacts.transforms if not t.is_ephemeral)


def test_a_rewritten_full_manifest_wins_over_the_slim_one(
    corpus_manifest: Path, tmp_path: Path
) -> None:
    artifacts = _compiled(corpus_manifest, tmp_path, slim=True)
    uid = _a_transform_with_sql(artifacts)
    full_path = tmp_path / "target" / "manifest.json"
    data = json.loads(full_path.read_text(encoding="utf-8"))
    data["nodes"][uid]["description"] = "rewritten by dbt after floe compile"
    full_path.write_text(json.dumps(data), encoding="utf-8")  # same graph, new bytes

    assert ProjectManifest.load(artifacts).nodes[uid]["description"] == (
        "rewritten by dbt after floe compile"
    )


def test_a_slim_manifest_of_another_compilation_is_ignored(
    corpus_manifest: Path, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    artifacts = _compiled(corpus_manifest, tmp_path, slim=True)
    uid = _a_transform_with_sql(artifacts)
    assert artifacts.dbt.slim_manifest_path is not None
    slim_path = Path(artifacts.dbt.slim_manifest_path)
    slim = json.loads(slim_path.read_text(encoding="utf-8"))
    slim["metadata"][CHECKSUM_KEY] = "0" * 64
    slim["nodes"][uid]["description"] = "from a stale slim manifest"
    slim_path.write_text(json.dumps(slim), encoding="utf-8")

    with caplog.at_level(logging.WARNING):
        nodes = ProjectManifest.load(artifacts).nodes
    assert nodes[uid]["description"] != "from a stale slim manifest"
    assert "was not cut from the manifest" in caplog.text


def test_an_unreadable_slim_manifest_falls_back_to_the_full_one(
    corpus_manifest: Path, tmp_path: Path
) -> None:
    artifacts = _compiled(corpus_manifest, tmp_path, slim=True)
    full = ProjectManifest.load(_compiled(corpus_manifest, tmp_path / "full", slim=False))
    assert artifacts.dbt.slim_manifest_path is not None
    Path(artifacts.dbt.slim_manifest_path).write_text("{not json", encoding="utf-8")
    assert ProjectManifest.load(artifacts).nodes == full.nodes


def test_definitions_are_unchanged_by_a_missing_slim_manifest(
    corpus_manifest: Path, tmp_path: Path
) -> None:
    artifacts = _compiled(corpus_manifest, tmp_path, slim=True)
    assert artifacts.dbt.slim_manifest_path is not None
    Path(artifacts.dbt.slim_manifest_path).unlink()
    defs = build_definitions(
        artifacts, TransformGraph.from_artifacts(artifacts), DagsterAdapterConfig()
    )
    assert isinstance(defs, dg.Definitions)
    assert defs.resolve_asset_graph().get_all_asset_keys()
