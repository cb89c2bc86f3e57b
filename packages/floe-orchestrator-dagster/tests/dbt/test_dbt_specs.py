"""dbt_assets_for: the same assets and checks as dagster-dbt's ``@dbt_assets``, without dbt's
selector, on every corpus manifest (whole project, and one group selected by its marker tag)."""

# No `from __future__ import annotations`: Dagster checks the `context` annotation object.
from pathlib import Path
from typing import Any

import dagster as dg
import pytest
from dagster import AssetExecutionContext
from dagster_dbt import dbt_assets

from floe_orchestration_core.compile import compile_artifacts
from floe_orchestrator_dagster.dbt.manifest import ProjectManifest
from floe_orchestrator_dagster.dbt.specs import dbt_assets_for
from floe_orchestrator_dagster.dbt.translator import FloeDagsterDbtTranslator

CORPUS = Path(__file__).resolve().parents[4].parent / "shared" / "corpus" / "dbt-manifests"
FIXTURES = Path(__file__).resolve().parents[3] / "floe-orchestration-core" / "tests" / "fixtures"
MANIFESTS = [
    *(sorted(CORPUS.glob("*.json")) if CORPUS.is_dir() else []),
    FIXTURES / "manifest_v12.json",
]


def _shape(assets: dg.AssetsDefinition) -> dict[str, Any]:
    return {
        "specs": {
            spec.key: (
                sorted(d.asset_key.to_user_string() for d in spec.deps),
                sorted(spec.metadata),
                spec.description,
                spec.group_name,
                dict(spec.tags),
                spec.code_version,
            )
            for spec in assets.specs
        },
        "checks": {
            (
                c.key,
                c.blocking,
                c.description,
                tuple(sorted(d.asset_key for d in c.additional_deps)),
            )
            for c in assets.check_specs
        },
        "op_tags": dict(assets.op.tags),
        "can_subset": assets.can_subset,
    }


def _body(context: AssetExecutionContext) -> Any:
    yield from ()


@pytest.mark.parametrize("path", MANIFESTS, ids=lambda p: p.stem)
def test_the_assets_equal_dbt_assets_on_the_same_manifest(path: Path) -> None:
    artifacts = compile_artifacts(path)
    project = ProjectManifest.from_data(artifacts, {}, None)
    translator = FloeDagsterDbtTranslator(artifacts)
    built = [t.unique_id for t in artifacts.transforms if not t.is_ephemeral]
    half = built[: max(1, len(built) // 2)]
    for selected, marker in ((built, None), (half, "floe_dagster__x____0")):
        manifest = project.subset(selected, adapter_type="duckdb", marker_tag=marker)
        select = "fqn:*" if marker is None else f"tag:{marker}"
        stock = dbt_assets(
            manifest=manifest, select=select, name="x", dagster_dbt_translator=translator
        )(_body)
        ours = dbt_assets_for(
            manifest=manifest,
            selected=list(manifest["nodes"]) if marker is None else selected,
            select=select,
            name="x",
            translator=translator,
            required_resource_keys=set(),
        )(_body)
        assert _shape(ours) == _shape(stock)
