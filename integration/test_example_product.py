"""End to end on the example product: the installed `floe` compiles it, the artifacts load,
the graph matches the dbt manifest, and an orchestrator adapter builds definitions from them.

Runs the real command in a subprocess (as a user would) against the real files in
examples/jaffle-shop; nothing is faked but the orchestrator, which is the core's in-memory
reference adapter (the Dagster adapter has its own integration tests).
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from floe_orchestration_core.artifacts import load_artifacts
from floe_orchestration_core.graph import TransformGraph
from floe_orchestration_core.testing.fakes import InMemoryOrchestrator

ROOT = Path(__file__).resolve().parents[1]
EXAMPLE = ROOT / "examples" / "jaffle-shop"


def _floe(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    executable = shutil.which("floe", path=str(Path(sys.executable).parent))
    assert executable is not None, "the floe command is not installed in this environment"
    return subprocess.run(
        [executable, *args], cwd=cwd, capture_output=True, text=True, timeout=120, check=False
    )


@pytest.fixture(scope="module")
def compiled(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("compiled") / "compiled_artifacts.json"
    result = _floe(
        "compile",
        "--dbt-manifest",
        str(EXAMPLE / "target" / "manifest.json"),
        "--product",
        str(EXAMPLE / "floe.yaml"),
        "-o",
        str(out),
        "--json",
        cwd=ROOT,
    )
    assert result.returncode == 0, result.stderr
    summary = json.loads(result.stdout)
    assert summary["product"] == "jaffle-shop"
    return out


def test_compiled_graph_has_exactly_the_manifest_edges(compiled: Path) -> None:
    manifest = json.loads((EXAMPLE / "target" / "manifest.json").read_text(encoding="utf-8"))
    nodes = {
        uid: node
        for uid, node in manifest["nodes"].items()
        if node["resource_type"] in ("model", "seed", "snapshot")
    }
    expected = sorted(
        [nodes[dep]["name"], node["name"]]
        for node in nodes.values()
        for dep in node["depends_on"]["nodes"]
        if dep in nodes
    )
    graph = TransformGraph.from_artifacts(load_artifacts(compiled))
    assert graph.to_json()["edges"] == expected


def test_floe_yaml_settings_reach_the_artifacts(compiled: Path) -> None:
    artifacts = load_artifacts(compiled)
    heavy = {t.name for t in artifacts.transforms if t.compute == "duckdb_heavy"}
    assert heavy == {"order_items", "orders", "customers"}  # "order_items+"
    (schedule,) = artifacts.schedules
    assert (schedule.cron, schedule.timezone) == ("0 8 * * *", "America/New_York")
    assert artifacts.retry_policy.max_retries == 2
    checks = [c for t in artifacts.transforms for c in t.quality_checks]
    assert len(checks) == sum(
        1
        for n in json.loads((EXAMPLE / "target" / "manifest.json").read_text(encoding="utf-8"))[
            "nodes"
        ].values()
        if n["resource_type"] == "test"
    )


def test_validate_graph_export_and_impact_agree_on_the_compiled_file(compiled: Path) -> None:
    validate = _floe("validate", "--artifacts", str(compiled), "--json", cwd=ROOT)
    assert validate.returncode == 0, validate.stderr
    assert json.loads(validate.stdout)["valid"] is True

    exported = _floe("graph", "export", "--artifacts", str(compiled), "--format", "json", cwd=ROOT)
    assert exported.returncode == 0, exported.stderr
    edges = {tuple(edge) for edge in json.loads(exported.stdout)["edges"]}

    impact = _floe("impact", "stg_orders", "--artifacts", str(compiled), "--json", cwd=ROOT)
    assert impact.returncode == 0, impact.stderr
    downstream = set(json.loads(impact.stdout)["impacted"])
    reachable: set[str] = set()
    frontier = {"stg_orders"}
    while frontier:
        frontier = {down for up, down in edges if up in frontier} - reachable
        reachable |= frontier
    assert downstream == reachable


def test_an_orchestrator_adapter_builds_definitions_from_the_compiled_file(
    compiled: Path,
) -> None:
    artifacts = load_artifacts(compiled)
    definitions = InMemoryOrchestrator().create_definitions(artifacts)
    assert set(definitions.assets) == {t.name for t in artifacts.transforms}
    for transform in artifacts.transforms:
        expected = set(transform.depends_on) | set(transform.source_dependencies)
        assert definitions.assets[transform.name].upstream == expected
    assert set(definitions.schedules) == {"daily_marts"}
