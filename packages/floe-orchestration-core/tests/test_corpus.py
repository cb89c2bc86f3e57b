"""Every manifest of the shared corpus compiles, and its graph edges are exactly dbt's.

The expected edges are computed here, independently of the compiler, from the raw JSON: each
enabled model/seed/snapshot's ``depends_on.nodes`` restricted to enabled models, seeds and
snapshots, mapped to transform names (``name``, or ``name_v<version>`` for versioned models).
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from floe_orchestration_core.compile import compile_artifacts
from floe_orchestration_core.graph import TransformGraph

SHARED = Path(__file__).resolve().parents[3].parent / "shared"
CORPUS = SHARED / "corpus" / "dbt-manifests"
FILES = sorted(CORPUS.glob("*.json")) if CORPUS.is_dir() else []

pytestmark = [
    pytest.mark.corpus,
    pytest.mark.skipif(
        not FILES,
        reason=f"the shared dbt manifest corpus is absent ({CORPUS}); it lives beside the repo",
    ),
]


def _enabled_transforms(raw: dict[str, Any]) -> dict[str, str]:
    names: dict[str, str] = {}
    for uid, node in raw["nodes"].items():
        if node["resource_type"] not in ("model", "seed", "snapshot"):
            continue
        if (node.get("config") or {}).get("enabled") is False:
            continue
        version = node.get("version")
        names[uid] = node["name"] if version is None else f"{node['name']}_v{version}"
    return names


def _expected_edges(raw: dict[str, Any]) -> set[tuple[str, str]]:
    names = _enabled_transforms(raw)
    edges: set[tuple[str, str]] = set()
    for uid, name in names.items():
        for parent in (raw["nodes"][uid].get("depends_on") or {}).get("nodes") or []:
            if parent in names:
                edges.add((names[parent], name))
    return edges


def test_corpus_sources_list_every_file() -> None:
    listed = {
        line.split("\t")[0]
        for line in (CORPUS / "SOURCES.tsv").read_text().splitlines()[1:]
        if line.strip()
    }
    assert listed == {path.stem for path in FILES}


@pytest.mark.parametrize("path", FILES, ids=[p.stem for p in FILES])
def test_corpus_manifest_compiles_with_exactly_the_manifest_edges(path: Path) -> None:
    raw = json.loads(path.read_bytes())
    artifacts = compile_artifacts(path, compiled_at=datetime(2026, 1, 1, tzinfo=UTC))
    exported = TransformGraph.from_artifacts(artifacts).to_json()
    edges = {(up, down) for up, down in exported["edges"]}
    assert edges == _expected_edges(raw)
    assert len(exported["edges"]) == len(edges)
    assert sorted(node["name"] for node in exported["nodes"]) == sorted(
        _enabled_transforms(raw).values()
    )
