"""One lineage model: for every real manifest, what design-time export says each job reads and
writes is what run-time emission says when dbt builds it.

Design time is ``design_lineage`` (what ``floe lineage export`` writes). Run time is the real
run-time path: dbt's own info-level events (``LogStartLine`` then ``LogModelResult`` /
``LogSeedResult`` / ``LogSnapshotResult``, shaped as dbt 1.11 prints them) fed to the
``DbtLineageTap`` of a lineage emitter, the path every ``@dbt_assets`` op takes. For each job:
the same inputs and outputs (namespace, name), the same dataset facets (minus what only a run
measures: column lineage, statistics), the same job facets (minus the compiled SQL).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from floe_orchestration_core.artifacts import CompiledArtifacts, TransformConfig
from floe_orchestration_core.compile import compile_artifacts
from floe_orchestration_core.lineage import Dataset, LineageEvent, RunState
from floe_orchestration_core.lineage.design import StaticJob, design_lineage
from floe_orchestration_core.testing import InMemoryLineageBackend
from floe_orchestrator_dagster.lineage.dbt_events import DbtLineageTap
from floe_orchestrator_dagster.lineage.emitter import lineage_emitter

CORPUS = Path(__file__).resolve().parents[4].parent / "shared" / "corpus" / "dbt-manifests"
MANIFESTS = sorted(CORPUS.glob("*.json")) if CORPUS.is_dir() else []

pytestmark = pytest.mark.skipif(
    not MANIFESTS, reason=f"the shared corpus is absent ({CORPUS} has no manifests)"
)

#: What only a run knows: measured facets, and the compiled SQL.
RUN_ONLY_DATASET_FACETS = {"columnLineage", "outputStatistics", "dataQualityAssertions"}
RUN_ONLY_JOB_FACETS = {"sql"}
_RESULT = {"model": "LogModelResult", "seed": "LogSeedResult", "snapshot": "LogSnapshotResult"}


def _dbt_event(name: str, transform: TransformConfig, **data: Any) -> dict[str, Any]:
    kind = transform.resource_type.value
    return {
        "info": {
            "name": name,
            "level": "info",
            "ts": "2026-01-02T03:04:05.000000Z",
            "invocation_id": "5f1e9a0c-6f3b-4d7e-9a1c-2b3d4e5f6a7b",
        },
        "data": {
            "node_info": {
                "unique_id": transform.unique_id,
                "node_name": transform.name,
                "resource_type": kind,
                "materialized": transform.materialization,
                "node_status": data.pop("node_status", "started"),
                "node_relation": {
                    "database": transform.database,
                    "schema": transform.schema_name,
                    "alias": transform.alias or transform.name,
                },
            },
            **data,
        },
    }


def _run_time(artifacts: CompiledArtifacts, cwd: Path) -> list[LineageEvent]:
    backend = InMemoryLineageBackend(namespace="floe")
    emitter = lineage_emitter(backend, artifacts, cwd=cwd)
    assert emitter is not None
    tap = DbtLineageTap(emitter, parent=None)
    for transform in artifacts.transforms:
        if transform.is_ephemeral:
            continue
        kind = transform.resource_type.value
        tap.observe(_dbt_event("LogStartLine", transform))
        status = {"status": "INSERT 3"} if kind == "seed" else {"status": "OK"}
        tap.observe(_dbt_event(_RESULT[kind], transform, node_status="success", **status))
    tap.close()
    tap.finish(read_warehouse=False)
    return list(backend.events)


def _datasets(datasets: tuple[Dataset, ...]) -> dict[tuple[str, str], dict[str, Any]]:
    return {
        (d.namespace, d.name): {
            k: v for k, v in d.facets.items() if k not in RUN_ONLY_DATASET_FACETS
        }
        for d in datasets
    }


def _job_view(
    inputs: tuple[Dataset, ...], outputs: tuple[Dataset, ...], facets: Any
) -> dict[str, Any]:
    return {
        "inputs": _datasets(inputs),
        "outputs": _datasets(outputs),
        "job_facets": {k: v for k, v in dict(facets).items() if k not in RUN_ONLY_JOB_FACETS},
    }


@pytest.mark.parametrize("manifest", MANIFESTS, ids=lambda path: path.stem)
def test_design_time_datasets_equal_run_time_datasets_for_every_job(
    manifest: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)  # relative project paths resolve the same way for both
    artifacts = compile_artifacts(manifest)
    design: dict[str, StaticJob] = {
        job.job_name: job
        for job in design_lineage(artifacts, namespace="floe")
        if not job.job_name.startswith(f"{artifacts.metadata.product_name}.asset.")
    }
    events = _run_time(artifacts, tmp_path)
    starts = {e.job_name: e for e in events if e.event_type is RunState.START}
    completes = {e.job_name: e for e in events if e.event_type is RunState.COMPLETE}
    built = [t for t in artifacts.transforms if not t.is_ephemeral]
    assert len(design) == len(built) > 0
    assert set(starts) == set(completes) == set(design)
    for name, job in design.items():
        expected = _job_view(job.inputs, job.outputs, job.job_facets)
        for event in (starts[name], completes[name]):
            assert _job_view(event.inputs, event.outputs, event.job_facets) == expected, name
            assert event.job_namespace == job.job_namespace
    seeds = [t for t in built if t.resource_type.value == "seed"]
    for seed in seeds:  # a seed reads its CSV file, at design time and at run time
        (csv,) = design[f"{artifacts.metadata.product_name}.seed.{seed.name}"].inputs
        assert (csv.namespace, csv.name.endswith(".csv")) == ("file", True)
