"""Generate dbt-like ``manifest.json`` documents of any size for benchmarks.

The shape follows a dbt 1.8+ (schema v12) manifest closely enough for floe's compiler:
layered models (staging → intermediate → marts) over a set of sources, each model with a few
upstream dependencies, documented columns, and two generic tests (``not_null``, ``unique``).
The generator is seeded, so the same size always gives the same manifest.
"""

from __future__ import annotations

import json
import random
import sys
from pathlib import Path
from typing import Any

PROJECT = "synthetic"


def _model(index: int, deps: list[str], layer: str) -> dict[str, Any]:
    name = f"{layer}_model_{index:05d}"
    return {
        "unique_id": f"model.{PROJECT}.{name}",
        "resource_type": "model",
        "name": name,
        "package_name": PROJECT,
        "path": f"{layer}/{name}.sql",
        "original_file_path": f"models/{layer}/{name}.sql",
        "database": "analytics",
        "schema": layer,
        "alias": name,
        "fqn": [PROJECT, layer, name],
        "tags": [layer] + (["heavy"] if index % 50 == 0 else []),
        "meta": {"owner": "data-team@example.com"} if index % 10 == 0 else {},
        "description": f"Synthetic {layer} model {index}",
        "columns": {
            f"col_{c}": {"name": f"col_{c}", "data_type": "integer", "description": ""}
            for c in range(3)
        },
        "config": {
            "enabled": True,
            "materialized": "view" if layer == "stg" else "table",
            "tags": [layer],
            "meta": {},
        },
        "depends_on": {"macros": [], "nodes": deps},
        "language": "sql",
        "version": None,
        "raw_code": "select 1",
        "checksum": {"name": "sha256", "checksum": "0" * 64},
    }


def _test(model_id: str, model_name: str, kind: str) -> dict[str, Any]:
    name = f"{kind}_{model_name}_col_0"
    return {
        "unique_id": f"test.{PROJECT}.{name}",
        "resource_type": "test",
        "name": name,
        "package_name": PROJECT,
        "path": f"{name}.sql",
        "original_file_path": "models/schema.yml",
        "database": "analytics",
        "schema": "dbt_test__audit",
        "config": {"enabled": True, "severity": "ERROR" if kind == "unique" else "warn"},
        "depends_on": {"macros": [f"macro.dbt.test_{kind}"], "nodes": [model_id]},
        "test_metadata": {"name": kind, "kwargs": {"column_name": "col_0"}, "namespace": None},
        "column_name": "col_0",
        "attached_node": model_id,
    }


def generate_manifest(models: int, *, seed: int = 7) -> dict[str, Any]:
    """A manifest with ``models`` models, ``max(1, models // 20)`` sources and 2 tests per model."""
    rng = random.Random(seed)
    sources: dict[str, Any] = {}
    source_ids = []
    for s in range(max(1, models // 20)):
        uid = f"source.{PROJECT}.raw.table_{s:04d}"
        source_ids.append(uid)
        sources[uid] = {
            "unique_id": uid,
            "resource_type": "source",
            "source_name": "raw",
            "name": f"table_{s:04d}",
            "package_name": PROJECT,
            "path": "models/sources.yml",
            "database": "analytics",
            "schema": "raw",
            "identifier": f"table_{s:04d}",
            "loader": "",
            "description": "",
            "columns": {},
            "meta": {},
            "tags": [],
            "config": {"enabled": True},
        }
    nodes: dict[str, Any] = {}
    model_ids: list[str] = []
    staging = max(1, models // 4)
    for i in range(models):
        if i < staging:
            layer, deps = "stg", [rng.choice(source_ids)]
        else:
            layer = "int" if i < models * 3 // 4 else "fct"
            window = model_ids[max(0, i - 400) : i]
            deps = sorted(set(rng.sample(window, k=min(len(window), rng.randint(1, 3)))))
        node = _model(i, deps, layer)
        nodes[node["unique_id"]] = node
        model_ids.append(node["unique_id"])
        for kind in ("not_null", "unique"):
            test = _test(node["unique_id"], node["name"], kind)
            nodes[test["unique_id"]] = test
    return {
        "metadata": {
            "dbt_schema_version": "https://schemas.getdbt.com/dbt/manifest/v12.json",
            "dbt_version": "1.9.4",
            "generated_at": "2026-01-01T00:00:00Z",
            "project_name": PROJECT,
            "adapter_type": "duckdb",
        },
        "nodes": nodes,
        "sources": sources,
        "macros": {},
        "docs": {},
        "exposures": {},
        "metrics": {},
        "groups": {},
        "selectors": {},
        "disabled": {},
        "parent_map": {},
        "child_map": {},
        "semantic_models": {},
        "unit_tests": {},
        "saved_queries": {},
    }


def write_manifest(models: int, path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(generate_manifest(models)), encoding="utf-8")
    return path


if __name__ == "__main__":
    count = int(sys.argv[1]) if len(sys.argv) > 1 else 500
    target = Path(sys.argv[2]) if len(sys.argv) > 2 else Path(f"manifest_{count}.json")
    print(write_manifest(count, target))
