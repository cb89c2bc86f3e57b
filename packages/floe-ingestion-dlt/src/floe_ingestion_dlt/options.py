"""What a ``connector: dlt`` entry may say, checked without importing dlt.

Two kinds of ``source``:

``filesystem``
    dlt's filesystem source reading local files (or any fsspec URL dlt can open). Entry
    ``config``: ``bucket_url`` (required; a folder relative to floe.yaml's folder, an absolute
    path or a ``file://`` URL), optional ``credentials`` and ``kwargs`` (passed to dlt, for
    remote buckets: put their secrets in ``config_env``). Each stream (dlt calls them
    resources) reads the files matching its ``file_glob`` (default ``<stream>*``) in the
    ``format`` its glob ends with (``csv`` or ``jsonl``; or set ``format``), and loads only
    files modified since the last run (``incremental: false`` re-reads every file).

``path/to/file.py:function``
    A dlt source the product defines: the function is called with the entry's ``config`` as
    keyword arguments and returns a dlt source (or resources); each stream is one of its
    resources, selected by name. Relative paths start at floe.yaml's folder.

Per-stream options of both kinds: ``primary_key`` (a column or a list; makes the default
``write_disposition`` ``merge``), ``write_disposition`` (``append``, ``replace``, ``merge``)
and ``columns`` (``{column: dlt data type}``, e.g. ``{order_id: bigint}``). A filesystem stream
also takes ``file_glob``, ``format``, ``incremental``, ``delimiter`` and ``encoding``.

A stream's name must be the table name dlt gives it (lowercase snake case, no ``__``, which
dlt keeps for nested tables), so that ``<schema>.<stream>`` is the table the dbt source reads.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final

if TYPE_CHECKING:
    from floe_orchestration_core.artifacts import IngestionConfig

__all__ = [
    "FILESYSTEM",
    "FORMATS",
    "StreamSettings",
    "entry_problems",
    "function_reference",
    "stream_settings",
]

FILESYSTEM: Final = "filesystem"
FORMATS: Final = ("csv", "jsonl")
WRITE_DISPOSITIONS: Final = ("append", "replace", "merge")
#: dlt's data types (``columns`` hints).
DATA_TYPES: Final = (
    *("text", "bigint", "double", "bool", "timestamp", "date", "time"),
    *("decimal", "json", "binary", "wei"),
)
_FILESYSTEM_CONFIG: Final = ("bucket_url", "credentials", "kwargs")
_HINTS: Final = ("primary_key", "write_disposition", "columns")
_FILESYSTEM_STREAM: Final = (*_HINTS, "file_glob", "format", "incremental", "delimiter", "encoding")
_FUNCTION = re.compile(r"^(?P<file>[^:]+\.py):(?P<function>[A-Za-z_][A-Za-z0-9_]*)$")
_TABLE_NAME = re.compile(r"^[a-z_][a-z0-9_]*$")
_SUFFIXES: Final = {".csv": "csv", ".jsonl": "jsonl", ".ndjson": "jsonl"}


@dataclass(frozen=True, slots=True)
class StreamSettings:
    """One stream's options, with their defaults applied."""

    name: str
    primary_key: tuple[str, ...] = ()
    write_disposition: str = "append"
    columns: Mapping[str, str] | None = None
    file_glob: str = ""
    format: str = "csv"
    incremental: bool = True
    delimiter: str = ","
    encoding: str = "utf-8"


def function_reference(source: str) -> tuple[str, str] | None:
    """``(file, function)`` of a ``path/file.py:function`` source; None for other sources."""
    match = _FUNCTION.match(source)
    return None if match is None else (match.group("file"), match.group("function"))


def _format_of(glob: str) -> str | None:
    return _SUFFIXES.get(Path(glob).suffix.lower())


def _primary_key(value: Any) -> tuple[str, ...] | None:
    if isinstance(value, str) and value:
        return (value,)
    if isinstance(value, list) and value and all(isinstance(v, str) and v for v in value):
        return tuple(value)
    return None


def stream_settings(entry: IngestionConfig, name: str) -> StreamSettings:
    """The settings of stream ``name`` of ``entry`` (assumes :func:`entry_problems` is empty)."""
    options = dict(entry.stream(name).options)
    primary_key = _primary_key(options.get("primary_key")) or ()
    glob = str(options.get("file_glob") or f"{name}*")
    fmt = str(options.get("format") or _format_of(glob) or "csv")
    default_disposition = "merge" if primary_key else "append"
    columns = options.get("columns")
    return StreamSettings(
        name=name,
        primary_key=primary_key,
        write_disposition=str(options.get("write_disposition") or default_disposition),
        columns={str(k): str(v) for k, v in columns.items()} if isinstance(columns, dict) else None,
        file_glob=glob,
        format=fmt,
        incremental=bool(options.get("incremental", True)),
        delimiter=str(options.get("delimiter") or ","),
        encoding=str(options.get("encoding") or "utf-8"),
    )


def _hint_problems(path: str, options: Mapping[str, Any]) -> Iterator[str]:
    """Problems of the hints every dlt stream takes: primary key, disposition, columns."""
    if "primary_key" in options and _primary_key(options["primary_key"]) is None:
        yield f"{path}.primary_key: a column name or a list of column names"
    disposition = options.get("write_disposition")
    if disposition is not None and disposition not in WRITE_DISPOSITIONS:
        yield (
            f"{path}.write_disposition: {disposition!r} is not one of "
            f"{', '.join(WRITE_DISPOSITIONS)}"
        )
    if disposition == "merge" and "primary_key" not in options:
        yield f"{path}.write_disposition: merge needs a primary_key"
    columns = options.get("columns")
    if columns is not None and not isinstance(columns, dict):
        yield f"{path}.columns: a mapping of column name to dlt data type"
    elif isinstance(columns, dict):
        for column, kind in columns.items():
            if kind not in DATA_TYPES:
                yield (
                    f"{path}.columns.{column}: {kind!r} is not a dlt data type "
                    f"({', '.join(DATA_TYPES)})"
                )


def _file_problems(path: str, options: Mapping[str, Any]) -> Iterator[str]:
    """Problems of a filesystem stream's file options: format, glob, incremental."""
    fmt = options.get("format")
    if fmt is not None and fmt not in FORMATS:
        yield f"{path}.format: {fmt!r} is not one of {', '.join(FORMATS)}"
    glob = options.get("file_glob")
    if glob is not None and (not isinstance(glob, str) or not glob):
        yield f"{path}.file_glob: a glob such as 'orders_*.csv'"
    elif fmt is None and isinstance(glob, str) and _format_of(glob) is None:
        yield (
            f"{path}.file_glob: '{glob}' does not end in .csv or .jsonl; add format: csv or "
            "format: jsonl"
        )
    if "incremental" in options and not isinstance(options["incremental"], bool):
        yield f"{path}.incremental: true or false"


def _stream_problems(
    path: str, name: str, options: Mapping[str, Any], allowed: tuple[str, ...]
) -> Iterator[str]:
    if not _TABLE_NAME.match(name) or "__" in name:
        yield (
            f"{path}.name: dlt names its table '{name.lower()}' differently from the stream "
            f"'{name}'; use a lowercase snake_case name without '__'"
        )
    for key in sorted(set(options) - set(allowed)):
        yield f"{path}.{key}: unknown option; a dlt stream of this source takes " + ", ".join(
            allowed
        )
    yield from _hint_problems(path, options)
    if "file_glob" in allowed:
        yield from _file_problems(path, options)


def entry_problems(entry: IngestionConfig) -> Iterator[str]:
    """Problems of ``entry`` as ``path: message`` (paths relative to the entry)."""
    function = function_reference(entry.source)
    if entry.source != FILESYSTEM and function is None:
        yield (
            f"source: '{entry.source}' is neither 'filesystem' nor a dlt source function of the "
            "product ('path/to/file.py:function')"
        )
        return
    if function is None:
        for key in sorted(set(entry.config) - set(_FILESYSTEM_CONFIG) - set(entry.config_env)):
            yield (
                f"config.{key}: unknown key; the filesystem source takes "
                f"{', '.join(_FILESYSTEM_CONFIG)}"
            )
        bucket = entry.config.get("bucket_url")
        if "bucket_url" not in entry.config_env and (not isinstance(bucket, str) or not bucket):
            yield "config.bucket_url: the folder the files are in, e.g. data/landing"
    allowed = _FILESYSTEM_STREAM if function is None else _HINTS
    for index, stream in enumerate(entry.streams):
        yield from _stream_problems(f"streams[{index}]", stream.name, stream.options, allowed)
