"""One run of a dlt entry: the pipeline, its destination, what it loaded, errors mapped.

The pipeline is named ``floe_<entry>``; its working folder (local state, schemas, load
packages) is ``<state_dir>/pipelines`` and dlt also keeps the state in the destination
(``<schema>._dlt_pipeline_state``), so the incremental cursors survive a deleted ``.floe``
folder. The dataset is the destination schema; merges stage in ``<schema>_staging``.

Per stream: ``rows_loaded`` is what the run normalized into the stream's table
(``last_trace.last_normalize_info.row_counts``), ``rows_total`` the table's ``count(*)``, and
the data version ``<rows_total>:<newest _dlt_load_id>``, which stays the same when a run loads
nothing new. Errors: a floe error raised inside dlt (a bad file, an unknown resource) surfaces
as itself; a destination that does not answer is a retryable
:class:`~floe_orchestration_core.errors.IngestionError`; a stream whose table still does not
exist after the run (no file matched its glob) is an
:class:`~floe_orchestration_core.errors.IngestionConfigError`.
"""

from __future__ import annotations

from typing import Any

import dlt
from dlt.common.destination.exceptions import DestinationTransientException
from dlt.destinations.exceptions import (
    DatabaseTransientException,
    DatabaseUndefinedRelation,
    DestinationConnectionError,
)
from dlt.pipeline.exceptions import PipelineStepFailed

from floe_ingestion_dlt.options import function_reference, stream_settings
from floe_ingestion_dlt.resources import build_resources
from floe_orchestration_core.errors import FloeError, IngestionConfigError, IngestionError
from floe_orchestration_core.ingestion import (
    DuckDBDestination,
    IngestionRequest,
    IngestionResult,
    PostgresDestination,
    StreamResult,
)

__all__ = ["run_entry"]

#: dlt refuses PostgreSQL credentials without a password, even under trust authentication.
_PASSWORD_PLACEHOLDER = "unused-by-trust-auth"
_TRANSIENT = (DestinationConnectionError, DatabaseTransientException, DestinationTransientException)


def _destination(request: IngestionRequest) -> Any:
    target = request.destination
    if isinstance(target, DuckDBDestination):
        target.path.parent.mkdir(parents=True, exist_ok=True)
        return dlt.destinations.duckdb(credentials=str(target.path))
    assert isinstance(target, PostgresDestination)
    return dlt.destinations.postgres(
        credentials=target.url(password_placeholder=_PASSWORD_PLACEHOLDER)
    )


def _root_cause(exc: BaseException) -> BaseException:
    seen: set[int] = set()
    current: BaseException = exc
    while id(current) not in seen:
        seen.add(id(current))
        if isinstance(current, (FloeError, *_TRANSIENT)):
            return current
        nested = getattr(current, "exception", None) or current.__cause__ or current.__context__
        if not isinstance(nested, BaseException):
            break
        current = nested
    return current


def _failed(request: IngestionRequest, exc: PipelineStepFailed) -> Exception:
    cause = _root_cause(exc)
    if isinstance(cause, FloeError):
        return cause
    where = f"ingestion '{request.entry.name}' (dlt {request.entry.source})"
    text = request.redact(f"{type(cause).__name__}: {cause}")
    if isinstance(cause, _TRANSIENT):
        return IngestionError(
            f"{where}: the destination {request.destination.describe()} did not answer in the "
            f"{exc.step} step: {text}"
        )
    return IngestionError(
        f"{where} into {request.destination.describe()} failed in the {exc.step} step: {text}"
    )


def _table_stats(pipeline: Any, streams: tuple[str, ...]) -> dict[str, tuple[int, str] | None]:
    stats: dict[str, tuple[int, str] | None] = {}
    with pipeline.sql_client() as client:
        for stream in streams:
            table = client.make_qualified_table_name(stream)
            try:
                rows = client.execute_sql(f"select count(*), max(_dlt_load_id) from {table}")
            except DatabaseUndefinedRelation:
                stats[stream] = None
                continue
            count, load_id = rows[0] if rows else (0, None)
            stats[stream] = (int(count), str(load_id or ""))
    return stats


def _missing_table(request: IngestionRequest, stream: str) -> IngestionConfigError:
    where = f"ingestion '{request.entry.name}'"
    if function_reference(request.entry.source) is None:
        glob = stream_settings(request.entry, stream).file_glob
        return IngestionConfigError(
            f"{where}: stream '{stream}' loaded nothing and {request.entry.table(stream)} does "
            f"not exist: no file in {request.config.get('bucket_url')!r} matches "
            f"'{glob}'; add files or fix the stream's file_glob"
        )
    return IngestionConfigError(
        f"{where}: stream '{stream}' yielded no rows and {request.entry.table(stream)} does not "
        "exist; the dbt models reading it need the table"
    )


def run_entry(request: IngestionRequest) -> IngestionResult:
    """Run ``request`` through a dlt pipeline (see the module docstring)."""
    dlt.config["runtime.dlthub_telemetry"] = False
    resources = build_resources(request)
    request.state_dir.mkdir(parents=True, exist_ok=True)
    pipeline = dlt.pipeline(
        pipeline_name=f"floe_{request.entry.name}",
        destination=_destination(request),
        dataset_name=request.destination.schema,
        pipelines_dir=str(request.state_dir / "pipelines"),
    )
    try:
        info = pipeline.run(resources)
    except PipelineStepFailed as exc:
        raise _failed(request, exc) from exc
    except _TRANSIENT as exc:
        raise IngestionError(
            f"ingestion '{request.entry.name}': the destination "
            f"{request.destination.describe()} did not answer: {request.redact(str(exc))}"
        ) from exc
    trace = pipeline.last_trace
    normalized = trace.last_normalize_info if trace is not None else None
    counts: dict[str, int] = dict(normalized.row_counts) if normalized is not None else {}
    stats = _table_stats(pipeline, request.streams)
    results: list[StreamResult] = []
    for stream in request.streams:
        found = stats[stream]
        if found is None:
            raise _missing_table(request, stream)
        total, load_id = found
        results.append(
            StreamResult(
                stream=stream,
                table=request.entry.table(stream),
                rows_loaded=int(counts.get(stream, 0)),
                rows_total=total,
                data_version=f"{total}:{load_id}",
                metadata={"load_id": load_id},
            )
        )
    return IngestionResult(
        streams=tuple(results),
        metadata={"load_ids": list(info.loads_ids), "pipeline": pipeline.pipeline_name},
    )
