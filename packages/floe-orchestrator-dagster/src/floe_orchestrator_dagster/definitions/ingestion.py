"""The product's declared ingestion (``CompiledArtifacts.ingestion``) as Dagster assets.

Each :class:`~floe_orchestration_core.artifacts.IngestionConfig` becomes one ``@multi_asset``
named after the entry, with one output per stream: the stream's asset key is the key the
translator gives the dbt source the stream lands as, so the dbt models reading it run after
it (and the definitions declare no separate source spec for it). The asset is subsettable:
materializing some streams runs the connector for those only. Group ``ingestion``, kind the
connector's name (``airbyte``, ``dlt``), the artifacts' retry policy.

The op calls the ingestion plugin through the core's port only: the plugin comes from the
orchestrator plugin's resolver (``ingestion_plugin(connector)``, given by the registry) and is
resolved, and the entry checked (:meth:`IngestionPlugin.check`), when the definitions are built
— a misconfigured entry or a missing connector stops them from loading, naming the fix. At run
time the op builds the request (destination from the compute target, secrets from
``config_env``, the entry's state folder, kept between runs) and records per stream:

- ``dagster/row_count`` (rows in the table) and ``floe/rows_loaded`` (this run), the table,
  the connector's own metadata;
- a data version from the plugin, which stays the same when a run loaded nothing new, so the
  models reading the stream are not stale;
- lineage: START and COMPLETE or FAIL of job ``{product}.asset.{entry}``, its inputs the
  connector's source per stream, its outputs the tables named like the compute target's others.

A misconfiguration found while running (``IngestionConfigError``: an unknown stream, a config
the source refuses, a missing secret) fails the step with ``dagster.Failure(allow_retries=
False)``: no retry loop. Other connector failures follow the retry policy.
"""

# No `from __future__ import annotations`: Dagster inspects the op's `context` annotation.
import logging
from collections.abc import Callable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

import dagster as dg

from floe_orchestration_core.artifacts import CompiledArtifacts, IngestionConfig
from floe_orchestration_core.errors import IngestionConfigError, IngestionError
from floe_orchestration_core.ingestion import IngestionPlugin, IngestionResult, StreamResult
from floe_orchestration_core.ingestion.destinations import ingestion_request
from floe_orchestration_core.lineage import Dataset, ParentRun
from floe_orchestrator_dagster.dbt.tags import TagMapper
from floe_orchestrator_dagster.definitions.jobs import to_dagster_retry_policy
from floe_orchestrator_dagster.definitions.python_assets import json_metadata
from floe_orchestrator_dagster.errors import DagsterAdapterError
from floe_orchestrator_dagster.lineage.assets import AssetLineage
from floe_orchestrator_dagster.lineage.emitter import LineageEmitter, parent_run
from floe_orchestrator_dagster.lineage.redaction import redact
from floe_orchestrator_dagster.metadata import ROWS_LOADED_KEY, FloeAssetMetadata

__all__ = ["IngestionResolver", "build_ingestion_assets", "ingested_source_keys"]

#: ``connector name -> IngestionPlugin`` (the orchestrator plugin's ``ingestion_plugin``).
IngestionResolver = Callable[[str], IngestionPlugin]

logger = logging.getLogger(__name__)


def ingested_source_keys(artifacts: CompiledArtifacts) -> set[str]:
    """The dbt source keys some ingestion stream produces."""
    return {
        stream.source_key
        for entry in artifacts.ingestion
        for stream in entry.streams
        if stream.source_key is not None
    }


def _checked_plugin(entry: IngestionConfig, resolve: IngestionResolver | None) -> IngestionPlugin:
    if resolve is None:
        raise DagsterAdapterError(
            f"ingestion '{entry.name}' needs the '{entry.connector}' connector, but the Dagster "
            "plugin was given no ingestion plugins; build it through floe_registry.load_platform "
            "or call set_ingestion() on it"
        )
    plugin = resolve(entry.connector)
    problems = plugin.check(entry)
    if problems:
        raise IngestionConfigError(
            f"ingestion '{entry.name}' ({entry.connector}, {entry.source}) is misconfigured:\n"
            + "\n".join(f"  ingestion.{entry.name}.{problem}" for problem in problems)
        )
    return plugin


def _outputs(
    artifacts: CompiledArtifacts, entry: IngestionConfig, emitter: LineageEmitter | None
) -> dict[str, Dataset]:
    if emitter is None:
        return {}
    sources = {s.key: s for s in artifacts.sources}
    outputs: dict[str, Dataset] = {}
    for stream in entry.streams:
        source = sources.get(stream.source_key or "")
        if source is not None:
            outputs[stream.name] = emitter.model.source_dataset(source, entry.destination.compute)
    return outputs


def _stream_metadata(stream: StreamResult) -> dict[str, Any]:
    """The stream's row counts and table, and the connector's extras as ``floe/<key>``."""
    extras = {
        key if "/" in key else FloeAssetMetadata.key(key): value
        for key, value in stream.metadata.items()
    }
    return {
        **json_metadata(extras),
        "dagster/row_count": dg.MetadataValue.int(stream.rows_total),
        ROWS_LOADED_KEY: dg.MetadataValue.int(stream.rows_loaded),
        FloeAssetMetadata.key("table"): stream.table,
    }


def _parent(
    context: dg.AssetExecutionContext, emitter: LineageEmitter | None, name: str
) -> ParentRun | None:
    if emitter is None:
        return None
    try:
        return parent_run(context, emitter)
    except Exception as exc:
        logger.warning("lineage: no parent run for ingestion %s: %s", name, redact(repr(exc)))
        return None


def _build_one(
    artifacts: CompiledArtifacts,
    entry: IngestionConfig,
    plugin: IngestionPlugin,
    *,
    keys: Mapping[str, dg.AssetKey],
    base_dir: Path,
    tags: TagMapper,
    emitter: LineageEmitter | None,
) -> dg.AssetsDefinition:
    stream_of = {key: name for name, key in keys.items()}
    owner = f"ingestion '{entry.name}'"
    specs = [
        dg.AssetSpec(
            key=keys[stream.name],
            description=entry.description
            or (
                f"{entry.connector} {entry.source}: stream {stream.name} into "
                f"{entry.table(stream.name)} on {entry.destination.compute}"
            ),
            group_name="ingestion",
            kinds={entry.connector},
            metadata=FloeAssetMetadata.for_ingestion_stream(entry, stream.name).to_metadata(),
            tags=dict(tags.tags_for(entry.tags, owner=owner)),
        )
        for stream in entry.streams
    ]
    outputs = _outputs(artifacts, entry, emitter)
    lineage = AssetLineage(emitter)
    integration = entry.connector.upper()

    @dg.multi_asset(
        specs=specs,
        name=entry.name,
        can_subset=True,
        retry_policy=to_dagster_retry_policy(artifacts.retry_policy),
    )
    def _ingest(context: dg.AssetExecutionContext) -> Iterator[dg.MaterializeResult[Any]]:
        selected = set(context.selected_asset_keys)
        streams = tuple(s.name for s in entry.streams if keys[s.name] in selected)
        try:
            request = ingestion_request(
                artifacts, entry, streams=streams, cwd=base_dir, run_id=context.run.run_id,
                log=context.log,
            )  # fmt: skip
        except IngestionConfigError as exc:
            raise dg.Failure(description=str(exc), allow_retries=False) from exc
        sources = plugin.source_datasets(entry, request.base_dir)
        run = lineage.start(
            asset_name=entry.name,
            inputs=[sources[s] for s in streams if s in sources],
            outputs=[outputs[s] for s in streams if s in outputs],
            job_facets={
                "jobType": {
                    "processingType": "BATCH",
                    "integration": integration,
                    "jobType": "INGESTION",
                }
            },
            description=entry.description or f"{entry.connector} {entry.source} → {streams}",
            parent=_parent(context, emitter, entry.name),
        )
        try:
            result: IngestionResult = plugin.run(request)
        except IngestionError as exc:
            run.fail(exc)
            if not exc.retryable:
                raise dg.Failure(
                    description=str(exc),
                    metadata={"floe/retryable": False},
                    allow_retries=False,
                ) from exc
            raise
        except BaseException as exc:
            run.fail(exc)
            raise
        run.complete()
        for stream in result.streams:
            key = keys[stream.stream]
            if key not in selected or stream_of.get(key) != stream.stream:
                continue
            yield dg.MaterializeResult(
                asset_key=key,
                metadata=_stream_metadata(stream),
                data_version=dg.DataVersion(stream.data_version),
            )

    return _ingest


def build_ingestion_assets(
    artifacts: CompiledArtifacts,
    *,
    source_keys: Mapping[str, dg.AssetKey],
    resolve: IngestionResolver | None,
    base_dir: Path,
    tags: TagMapper,
    emitter: LineageEmitter | None = None,
) -> Sequence[dg.AssetsDefinition]:
    """One ``@multi_asset`` per ingestion entry of ``artifacts`` (see the module docstring).

    ``source_keys`` maps source keys (``source_name.table``) to their asset keys; ``resolve``
    gives the plugin of a connector; ``base_dir`` is the folder the artifacts' relative paths
    start from; ``emitter`` (None: no lineage) emits each run's events.
    """
    built: list[dg.AssetsDefinition] = []
    for entry in artifacts.ingestion:
        plugin = _checked_plugin(entry, resolve)
        keys: dict[str, dg.AssetKey] = {}
        for stream in entry.streams:
            if stream.source_key is None or stream.source_key not in source_keys:
                raise DagsterAdapterError(
                    f"ingestion '{entry.name}': stream '{stream.name}' has no dbt source; "
                    "compile the product with floe compile, which matches streams to sources"
                )
            keys[stream.name] = source_keys[stream.source_key]
        built.append(
            _build_one(
                artifacts,
                entry,
                plugin,
                keys=keys,
                base_dir=base_dir,
                tags=tags,
                emitter=emitter,
            )
        )
    return built
