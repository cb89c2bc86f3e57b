"""The dlt resources of one run: filesystem readers or a product's own dlt source.

Imports dlt (this module is reached only when an entry runs). The file readers are the
standard library's ``csv`` and ``json``: dlt's ``read_csv`` needs pandas and its
``read_csv_duckdb`` fails on duckdb 2.0 (relations lost ``fetchmany``), so neither is used.
A CSV field left empty is read as null.
"""

from __future__ import annotations

import csv
import inspect
import io
import json
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

import dlt
from dlt.common.storages.fsspec_filesystem import FileItemDict
from dlt.extract import DltResource, DltSource
from dlt.sources.filesystem import filesystem

from floe_ingestion_dlt.options import StreamSettings, function_reference, stream_settings
from floe_orchestration_core.errors import IngestionConfigError
from floe_orchestration_core.ingestion import IngestionRequest
from floe_orchestration_core.product_code import load_product_function

__all__ = ["bucket_url", "build_resources"]

_CHUNK = 5_000


def _read_csv(
    items: Iterable[FileItemDict], delimiter: str = ",", encoding: str = "utf-8"
) -> Iterator[list[dict[str, Any]]]:
    for item in items:
        with item.open(mode="rb") as raw:
            text = io.TextIOWrapper(raw, encoding=encoding, newline="")
            chunk: list[dict[str, Any]] = []
            for row in csv.DictReader(text, delimiter=delimiter):
                chunk.append({k: (v if v != "" else None) for k, v in row.items()})
                if len(chunk) >= _CHUNK:
                    yield chunk
                    chunk = []
            if chunk:
                yield chunk


def _read_jsonl(items: Iterable[FileItemDict], encoding: str = "utf-8") -> Iterator[list[Any]]:
    for item in items:
        with item.open(mode="rb") as raw:
            chunk: list[Any] = []
            for number, line in enumerate(io.TextIOWrapper(raw, encoding=encoding), start=1):
                if not line.strip():
                    continue
                try:
                    chunk.append(json.loads(line))
                except json.JSONDecodeError as exc:
                    raise IngestionConfigError(
                        f"{item['file_url']} line {number} is not JSON ({exc.msg}); fix the file "
                        "or the stream's format"
                    ) from exc
                if len(chunk) >= _CHUNK:
                    yield chunk
                    chunk = []
            if chunk:
                yield chunk


read_csv = dlt.transformer(standalone=True, name="read_csv")(_read_csv)
read_jsonl = dlt.transformer(standalone=True, name="read_jsonl")(_read_jsonl)


def bucket_url(request: IngestionRequest) -> str:
    """The entry's ``bucket_url``: a local folder (relative to floe.yaml's folder) as a
    ``file://`` URL, which must exist; another URL as given."""
    value = str(request.config.get("bucket_url", ""))
    if "://" in value and not value.startswith("file://"):
        return value
    folder = Path(value.removeprefix("file://"))
    folder = request.path(folder).resolve()
    if not folder.is_dir():
        raise IngestionConfigError(
            f"ingestion '{request.entry.name}': bucket_url {value!r} is not a folder "
            f"({folder} does not exist); fix config.bucket_url (relative paths start at "
            "floe.yaml's folder)"
        )
    return folder.as_uri()


def _apply_hints(resource: DltResource, settings: StreamSettings) -> DltResource:
    hints: dict[str, Any] = {"write_disposition": settings.write_disposition}
    if settings.primary_key:
        hints["primary_key"] = list(settings.primary_key)
    if settings.columns:
        hints["columns"] = {c: {"data_type": t} for c, t in settings.columns.items()}
    resource.apply_hints(**hints)
    return resource


def _filesystem_resource(request: IngestionRequest, settings: StreamSettings) -> DltResource:
    extra: dict[str, Any] = {}
    for key in ("credentials", "kwargs"):
        if key in request.config:
            extra[key] = request.config[key]
    files = filesystem(
        bucket_url=bucket_url(request),
        file_glob=settings.file_glob,
        incremental=dlt.sources.incremental("modification_date") if settings.incremental else None,
        **extra,
    )
    reader = (
        read_csv(delimiter=settings.delimiter, encoding=settings.encoding)
        if settings.format == "csv"
        else read_jsonl(encoding=settings.encoding)
    )
    # Each stream's listing is its own resource, so its incremental cursor is its own.
    files = files.with_name(f"files_{settings.name}")
    return _apply_hints((files | reader).with_name(settings.name), settings)


def _load_function(request: IngestionRequest, file: str, function: str) -> Any:
    return load_product_function(
        request.path(file).resolve(),
        function,
        where=f"ingestion '{request.entry.name}'",
        missing_hint=(
            f"fix 'source: {request.entry.source}' (relative paths start at floe.yaml's folder)"
        ),
        error=IngestionConfigError,
    )


def _call_source(request: IngestionRequest, function: Any) -> Any:
    """``function(**config)``; config keys the function does not take are named first."""
    where = f"ingestion '{request.entry.name}' ({request.entry.source})"
    try:
        signature = inspect.signature(function)
    except (TypeError, ValueError):
        signature = None
    if signature is not None:
        try:
            signature.bind(**request.config)
        except TypeError as exc:
            raise IngestionConfigError(
                f"{where}: its config does not fit the function's parameters {signature}: {exc}; "
                "fix the entry's config"
            ) from None
    return function(**dict(request.config))


def _function_resources(request: IngestionRequest, file: str, function: str) -> list[DltResource]:
    made = _call_source(request, _load_function(request, file, function))
    where = f"ingestion '{request.entry.name}' ({request.entry.source})"
    if isinstance(made, DltSource):
        offered = dict(made.resources)
    elif isinstance(made, DltResource):
        offered = {made.name: made}
    elif isinstance(made, list | tuple) and all(isinstance(r, DltResource) for r in made):
        offered = {r.name: r for r in made}
    else:
        raise IngestionConfigError(
            f"{where}: the function returned {type(made).__name__}; return a dlt source or "
            "resources"
        )
    missing = [s for s in request.streams if s not in offered]
    if missing:
        raise IngestionConfigError(
            f"{where}: stream(s) {', '.join(missing)} are not resources of the source; it "
            f"offers: {', '.join(sorted(offered)) or 'none'}"
        )
    return [_apply_hints(offered[s], stream_settings(request.entry, s)) for s in request.streams]


def build_resources(request: IngestionRequest) -> list[DltResource]:
    """One dlt resource per requested stream, named like the stream, with its hints."""
    function = function_reference(request.entry.source)
    if function is not None:
        return _function_resources(request, *function)
    return [
        _filesystem_resource(request, stream_settings(request.entry, stream))
        for stream in request.streams
    ]
