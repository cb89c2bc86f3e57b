"""What a ``@dbt_assets`` op yields with lineage: dbt's Dagster events, plus the lineage of
every dbt node, plus each built model's column lineage and row count as Dagster metadata.

:func:`dbt_op_with_lineage` runs the invocation through a
:class:`~floe_orchestrator_dagster.lineage.dbt_events.DbtLineageTap` and yields the Dagster
events ``invocation.stream()`` yields, each model's materialization (``Output`` or
``AssetMaterialization``) carrying what the tap measured:

- ``dagster/column_lineage``: per output column, the parent assets' columns it is computed
  from (the same mapping as the OpenLineage ``columnLineage`` facet's fields), so the
  Dagster UI shows column lineage;
- ``dagster/row_count``: the rows of the built table (the adapter's count, or a count after
  dbt exited on DuckDB; none for views).

On DuckDB the warehouse can be read only once the dbt process exited, so the op's Dagster
events are held until then and yielded in their order afterwards (what dagster-dbt's own
``fetch_row_counts()`` does on DuckDB); events yielded before a failure are yielded before
the failure is raised. The backend is flushed (bounded) when the op ends.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator, Mapping
from datetime import UTC, datetime
from typing import Any, Final

import dagster as dg

from floe_orchestration_core.lineage import ParentRun
from floe_orchestrator_dagster.lineage.dbt_events import DbtLineageTap, stream_with_lineage
from floe_orchestrator_dagster.lineage.dbt_facts import NodeFacts
from floe_orchestrator_dagster.lineage.emitter import LineageEmitter, parent_run
from floe_orchestrator_dagster.lineage.redaction import redact

__all__ = ["COLUMN_LINEAGE_KEY", "ROW_COUNT_KEY", "dagster_metadata", "dbt_op_with_lineage"]

logger = logging.getLogger(__name__)

#: Dagster's own metadata keys (what its ``TableMetadataSet`` writes; the UI reads them).
ROW_COUNT_KEY: Final = "dagster/row_count"
COLUMN_LINEAGE_KEY: Final = "dagster/column_lineage"


def dagster_metadata(facts: NodeFacts, asset_key_of: Mapping[str, dg.AssetKey]) -> dict[str, Any]:
    """``dagster/row_count`` and ``dagster/column_lineage`` of ``facts`` (parents named by
    unique id in ``facts``, by asset key here)."""
    metadata: dict[str, Any] = {}
    if facts.row_count is not None:
        metadata[ROW_COUNT_KEY] = dg.MetadataValue.int(facts.row_count)
    if facts.columns is not None:
        lineage = dg.TableColumnLineage(
            deps_by_column={
                column: [
                    dg.TableColumnDep(asset_key=asset_key_of[uid], column_name=name)
                    for uid, name in inputs
                    if uid in asset_key_of
                ]
                for column, inputs in facts.columns.items()
            }
        )
        metadata[COLUMN_LINEAGE_KEY] = dg.MetadataValue.column_lineage(lineage)
    return metadata


def _with_facts(event: Any, tap: DbtLineageTap, invocation: Any) -> Any:
    if not isinstance(event, dg.Output | dg.AssetMaterialization):
        return event
    unique_id = getattr(event.metadata.get("unique_id"), "text", None)
    facts = tap.node_facts.get(unique_id) if isinstance(unique_id, str) else None
    if facts is None:
        return event
    try:
        metadata = dagster_metadata(facts, _asset_keys(facts, invocation))
    except Exception as exc:  # lineage must never fail a run
        logger.debug("lineage: no Dagster metadata for %s: %s", unique_id, redact(repr(exc)))
        return event
    return event.with_metadata({**event.metadata, **metadata}) if metadata else event


def _asset_keys(facts: NodeFacts, invocation: Any) -> dict[str, dg.AssetKey]:
    translator = getattr(invocation, "dagster_dbt_translator", None)
    manifest = getattr(invocation, "manifest", None) or {}
    keys: dict[str, dg.AssetKey] = {}
    if translator is None or facts.columns is None:
        return keys
    for inputs in facts.columns.values():
        for uid, _ in inputs:
            props = manifest.get("nodes", {}).get(uid) or manifest.get("sources", {}).get(uid)
            if props is not None and uid not in keys:
                keys[uid] = translator.get_asset_key(props)
    return keys


def _held(invocation: Any, tap: DbtLineageTap) -> Iterator[Any]:
    """The invocation's events once dbt exited (DuckDB), with the warehouse's facts."""
    events: list[Any] = []
    failure: Exception | None = None
    try:
        for event in stream_with_lineage(invocation, tap):
            events.append(event)
    except Exception as exc:  # dbt failed: yield what it built first, then fail the same way
        failure = exc
    tap.finish()
    for event in events:
        yield _with_facts(event, tap, invocation)
    if failure is not None:
        raise failure


def dbt_op_with_lineage(context: Any, invocation: Any, emitter: LineageEmitter) -> Iterator[Any]:
    """What a ``@dbt_assets`` op yields for ``invocation`` (a ``DbtCliInvocation``), with the
    lineage of every dbt node it runs (see the module docstring).

    The models' parent is the Dagster run; a partitioned run's window is every event's
    ``nominalTime`` run facet; every event is tagged with the Dagster run id.
    """
    run_facets: dict[str, Any] = {}
    try:
        parent: ParentRun | None = parent_run(context, emitter)
        run_facets["tags"] = {
            "tags": [{"key": "dagster_run_id", "value": context.run.run_id, "source": "DAGSTER"}]
        }
        if context.has_partition_key:
            window = context.partition_time_window
            run_facets["nominalTime"] = {
                "nominalStartTime": _utc(window.start),
                "nominalEndTime": _utc(window.end),
            }
    except Exception as exc:  # lineage must never fail a run: emit without what failed
        logger.warning("lineage: no parent run for the dbt op: %s", redact(repr(exc)))
        parent = None
    tap = DbtLineageTap(
        emitter,
        parent=parent,
        manifest=getattr(invocation, "manifest", None),
        target_path=getattr(invocation, "target_path", None),
        run_facets=run_facets,
    )
    try:
        if tap.holds:
            yield from _held(invocation, tap)
        else:
            for event in stream_with_lineage(invocation, tap):
                yield _with_facts(event, tap, invocation)
    finally:
        tap.finish(read_warehouse=False)  # interrupted: held COMPLETEs go out as they are
        emitter.flush(context.run.run_id)


def _utc(moment: datetime) -> datetime:
    return moment.astimezone(UTC) if moment.tzinfo else moment.replace(tzinfo=UTC)
