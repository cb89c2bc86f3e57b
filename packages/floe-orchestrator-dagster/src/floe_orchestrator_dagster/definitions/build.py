"""CompiledArtifacts → ``dagster.Definitions`` with dagster-dbt's native ``@dbt_assets``.

:func:`build_product_definitions` is what the plugin's ``create_definitions`` returns (after the
core validated the artifacts): :func:`build_definitions`, plus the product's own metadata and,
with a lineage backend, the lineage sensor. :func:`build_definitions` gives:

- one ``@dbt_assets`` per group of non-ephemeral transforms sharing a compute target, a
  partitioning and a stage (:mod:`~.groups`, :mod:`~.dbt_assets`); dbt tests as asset checks
  (error severity blocking: the translator's
  :meth:`~floe_orchestrator_dagster.dbt.translator.FloeDagsterDbtTranslator.is_blocking`), the
  retry policy, time-window partitions;
- one dbt resource per compute target under ``dbt_<compute>``: a ``DbtCliResource`` on
  ``artifacts.dbt.project_dir`` (relative paths are relative to ``cwd``), ``profiles_dir`` and
  the target's ``dbt_target`` (else ``artifacts.dbt.target``);
- every dbt source that an asset reads as an ``AssetSpec`` (:mod:`~.sources`), unless a Python
  asset or an ingestion stream produces it; the product's Python assets (:mod:`~.python_assets`)
  and its declared ingestion, one ``@multi_asset`` per entry (:mod:`~.ingestion`);
- the jobs and schedules of :mod:`~.jobs` and the sensors of :mod:`~.sensors`;
- the executor of ``DagsterAdapterConfig.executor`` (:func:`executor_for`).

**Without the dbt project** (CI validating a product from its manifest alone) the definitions
still build. Each compute target's resource is then a ``MissingDbtProject`` that the ops turn
into :class:`~floe_orchestrator_dagster.errors.DbtProjectMissingError` naming the missing
folder and the fix. Zero transforms give definitions holding only jobs and schedules.

The Definitions' metadata (:mod:`floe_orchestrator_dagster.metadata`) names the product
(``floe/product``), the ephemeral transforms, which dagster-dbt gives no asset
(``floe/ephemeral_transforms``: name → unique id, declared ``depends_on`` and
``source_dependencies``, so tools and the contract suite see every transform), and the sources
no asset reads (``floe/unread_sources``).
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import dagster as dg

from floe_orchestration_core.artifacts import CompiledArtifacts
from floe_orchestration_core.graph import TransformGraph
from floe_orchestrator_dagster.config import DagsterAdapterConfig
from floe_orchestrator_dagster.dbt.manifest import ProjectManifest
from floe_orchestrator_dagster.dbt.resource import dbt_resource
from floe_orchestrator_dagster.dbt.translator import FloeDagsterDbtTranslator
from floe_orchestrator_dagster.definitions.dbt_assets import build_dbt_assets
from floe_orchestrator_dagster.definitions.groups import transform_groups
from floe_orchestrator_dagster.definitions.ingestion import (
    IngestionResolver,
    build_ingestion_assets,
    ingested_source_keys,
)
from floe_orchestrator_dagster.definitions.jobs import build_jobs_and_schedules
from floe_orchestrator_dagster.definitions.python_assets import (
    PythonAssetRunHook,
    build_python_assets,
)
from floe_orchestrator_dagster.definitions.sensors import build_sensors
from floe_orchestrator_dagster.definitions.sources import read_sources, source_specs
from floe_orchestrator_dagster.lineage.assets import python_asset_hook as python_asset_lineage_hook
from floe_orchestrator_dagster.lineage.emitter import lineage_emitter
from floe_orchestrator_dagster.lineage.sensor import build_lineage_sensor
from floe_orchestrator_dagster.metadata import (
    EPHEMERAL_TRANSFORMS_KEY,
    PRODUCT_KEY,
    UNREAD_SOURCES_KEY,
)

if TYPE_CHECKING:
    from floe_orchestration_core.lineage import LineageBackendPlugin

__all__ = [
    "build_definitions",
    "build_product_definitions",
    "executor_for",
    "project_manifest",
    "with_lineage_sensor",
    "with_product_metadata",
]


def build_definitions(
    artifacts: CompiledArtifacts,
    graph: TransformGraph,
    config: DagsterAdapterConfig,
    *,
    cwd: Path | None = None,
    python_asset_hook: PythonAssetRunHook | None = None,
    lineage_backend: LineageBackendPlugin | None = None,
    project: ProjectManifest | None = None,
    ingestion: IngestionResolver | None = None,
) -> dg.Definitions:
    """The Dagster definitions of ``artifacts`` (see the module docstring).

    ``graph`` is the validated transform graph; ``cwd`` is the folder relative paths of the
    artifacts start from (default: the current directory). With ``lineage_backend`` (and
    lineage enabled in the artifacts) the ops emit run-time lineage
    (:mod:`~floe_orchestrator_dagster.lineage`). ``project`` is the manifest already read for
    ``artifacts`` (:func:`project_manifest`), else it is read here. The names are the
    plugin's to check first (:mod:`~floe_orchestrator_dagster.definitions.names`).
    ``ingestion`` gives the ingestion plugin of a connector (the orchestrator plugin's
    ``ingestion_plugin``); needed only when the artifacts declare ingestion.
    """
    lineage = lineage_emitter(lineage_backend, artifacts, cwd)
    if python_asset_hook is None and lineage is not None:
        python_asset_hook = python_asset_lineage_hook(lineage, cwd or Path.cwd())
    translator = FloeDagsterDbtTranslator(artifacts, config.translator)
    groups = transform_groups(artifacts, graph)
    sources = read_sources(artifacts)
    if not groups and not sources and not artifacts.python_assets and not artifacts.ingestion:
        jobs_, schedules = build_jobs_and_schedules(artifacts, graph, {})
        sensor_jobs, sensors = build_sensors(
            artifacts, graph, {}, cwd=cwd, webserver_url=config.webserver_url
        )
        return dg.Definitions(
            jobs=[*jobs_, *sensor_jobs],
            schedules=schedules,
            sensors=sensors,
            executor=executor_for(artifacts, config),
        )

    if project is None:
        project = project_manifest(artifacts, cwd)
    assets: list[dg.AssetsDefinition | dg.AssetSpec] = [
        *build_dbt_assets(artifacts, groups, project, translator, lineage)
    ]
    produced = {key for asset in artifacts.python_assets for key in asset.produces}
    produced |= ingested_source_keys(artifacts)
    assets.extend(source_specs([s for s in sources if s.key not in produced], project, translator))

    asset_keys = {
        t.name: translator.get_asset_key(project.nodes[t.unique_id])
        for t in artifacts.transforms
        if not t.is_ephemeral
    }
    source_keys = {
        s.key: translator.get_asset_key(project.sources[s.unique_id]) for s in artifacts.sources
    }
    if artifacts.ingestion:
        assets.extend(
            build_ingestion_assets(
                artifacts,
                source_keys=source_keys,
                resolve=ingestion,
                base_dir=cwd or Path.cwd(),
                tags=translator.tag_mapper,
                emitter=lineage,
            )
        )
    if artifacts.python_assets:
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
    jobs_, schedules = build_jobs_and_schedules(artifacts, graph, asset_keys)
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


# The product's definitions --------------------------------------------------------------------
def project_manifest(artifacts: CompiledArtifacts, cwd: Path | None = None) -> ProjectManifest:
    """The manifest the definitions of ``artifacts`` are built from: the product's (read once)
    when a transform builds something, else rebuilt from the artifacts."""
    if any(not t.is_ephemeral for t in artifacts.transforms):
        return ProjectManifest.load(artifacts, cwd=cwd)
    return ProjectManifest.from_artifacts(artifacts)


def build_product_definitions(
    artifacts: CompiledArtifacts,
    graph: TransformGraph,
    config: DagsterAdapterConfig,
    *,
    lineage_backend: LineageBackendPlugin | None = None,
    project: ProjectManifest | None = None,
    ingestion: IngestionResolver | None = None,
) -> dg.Definitions:
    """What ``DagsterOrchestratorPlugin.create_definitions`` returns: :func:`build_definitions`
    with the product's metadata (:func:`with_product_metadata`) and, with a lineage backend and
    lineage enabled, the lineage sensor (:func:`with_lineage_sensor`)."""
    built = with_product_metadata(
        build_definitions(
            artifacts,
            graph,
            config,
            lineage_backend=lineage_backend,
            project=project,
            ingestion=ingestion,
        ),
        artifacts,
    )
    return with_lineage_sensor(built, artifacts, lineage_backend)


def with_product_metadata(built: dg.Definitions, artifacts: CompiledArtifacts) -> dg.Definitions:
    """``built`` plus code-location metadata naming the product, its ephemeral transforms and
    the sources no asset reads (see the module docstring)."""
    ephemeral = {
        t.name: {
            "unique_id": t.unique_id,
            "depends_on": list(t.depends_on),
            "source_dependencies": list(t.source_dependencies),
        }
        for t in artifacts.transforms
        if t.is_ephemeral
    }
    read = {s.unique_id for s in read_sources(artifacts)}
    unread = sorted(s.key for s in artifacts.sources if s.unique_id not in read)
    product = f"{artifacts.metadata.product_name} {artifacts.metadata.product_version}"
    extra = dg.Definitions(
        metadata={
            PRODUCT_KEY: product,
            EPHEMERAL_TRANSFORMS_KEY: dg.MetadataValue.json(ephemeral),
            UNREAD_SOURCES_KEY: dg.MetadataValue.json(unread),
        }
    )
    return dg.Definitions.merge(built, extra)


def with_lineage_sensor(
    built: dg.Definitions,
    artifacts: CompiledArtifacts,
    backend: LineageBackendPlugin | None,
) -> dg.Definitions:
    """``built`` plus the sensor emitting Dagster runs' lineage, when there is a backend and
    the artifacts enable lineage (:mod:`floe_orchestrator_dagster.lineage.sensor`)."""
    emitter = lineage_emitter(backend, artifacts)
    if emitter is None:
        return built
    return dg.Definitions.merge(built, dg.Definitions(sensors=[build_lineage_sensor(emitter)]))
