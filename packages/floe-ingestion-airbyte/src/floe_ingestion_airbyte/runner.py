"""floe's PyAirbyte runner: the script floe runs with the interpreter of PyAirbyte's own venv.

It imports the standard library and ``airbyte`` only (never floe, which is not installed in
that venv), and is run by path: ``<pyairbyte venv>/bin/python runner.py``.

Protocol (one request, one answer):

- **stdin**: one JSON object: ``source`` (``source-faker``), ``executable`` (the connector's
  console script), ``config`` (with its secrets: they travel on stdin, never in argv or the
  environment), ``secrets`` (the values to redact from anything written), ``streams``,
  ``cache`` (``{"type": "duckdb", "path", "schema"}`` or ``{"type": "postgres", "host",
  "port", "database", "user", "password", "schema"}``) and ``full_refresh``;
- **stdout**: PyAirbyte's own output goes to stderr; the last stdout line is the answer:
  ``{"ok": true, "streams": {name: {"read", "rows", "max_extracted_at", "table"}}, "timings"}``
  or ``{"ok": false, "kind": "config" | "stream" | "connector", "message"}``;
- **exit status**: 0 with an ok answer, 1 with an error answer; anything else (killed,
  crashed before answering) means no answer.

Steps: ``get_source(..., local_executable=...)`` (``AIRBYTE_OFFLINE_MODE=1`` is set by floe:
no registry lookup), ``validate_config()`` (the connector's spec: a bad config is ``config``),
``select_streams`` (an unknown stream is ``stream``, the message naming the ones offered),
``read(cache=...)`` (PyAirbyte's incremental state lives in the cache's ``_airbyte_state``
table), then per stream the rows read this sync, the table's rows and its newest
``_airbyte_extracted_at``. The cache's SQL engine is disposed before exiting, so a DuckDB
cache file is unlocked.
"""

from __future__ import annotations

import json
import sys
import time
from typing import Any

__all__ = ["answer_error", "main", "redact"]


def redact(text: str, secrets: list[str]) -> str:
    """``text`` with each secret replaced by ``***`` (longest first)."""
    for value in sorted((s for s in secrets if s), key=len, reverse=True):
        text = text.replace(value, "***")
    return text


def answer_error(kind: str, message: str, secrets: list[str]) -> str:
    """The error answer line."""
    return json.dumps({"ok": False, "kind": kind, "message": redact(message, secrets)})


def _describe(exc: BaseException) -> str:
    text = f"{type(exc).__name__}: {exc}"
    context = getattr(exc, "context", None)
    if isinstance(context, dict):
        details = {k: v for k, v in context.items() if k not in ("config",)}
        if details:
            text += f" ({json.dumps(details, default=str)[:1500]})"
    return text


# The functions below import airbyte: they run only in PyAirbyte's venv, where floe's tests
# cannot measure them; tests/test_airbyte_sync.py runs them through real syncs.
def _cache(spec: dict[str, Any]) -> Any:  # pragma: no cover
    from airbyte.caches import DuckDBCache, PostgresCache

    if spec["type"] == "duckdb":
        return DuckDBCache(db_path=spec["path"], schema_name=spec["schema"])
    return PostgresCache(
        host=spec["host"],
        port=int(spec["port"]),
        database=spec["database"],
        username=spec["user"],
        password=spec.get("password") or "",
        schema_name=spec["schema"],
    )


def _stream_stats(  # pragma: no cover
    cache: Any, result: Any, streams: list[str]
) -> dict[str, dict[str, Any]]:
    from sqlalchemy import text

    tracker = getattr(result, "_progress_tracker", None)
    counts = dict(getattr(tracker, "stream_read_counts", {}) or {})
    stats: dict[str, dict[str, Any]] = {}
    engine = cache.get_sql_engine()
    with engine.connect() as connection:
        for stream in streams:
            table = cache.processor.get_sql_table_name(stream)
            qualified = f'"{cache.schema_name}"."{table}"'
            row = connection.execute(
                text(f"select count(*), max(_airbyte_extracted_at) from {qualified}")
            ).one()
            stats[stream] = {
                "table": table,
                "read": counts.get(stream),
                "rows": int(row[0]),
                "max_extracted_at": None if row[1] is None else str(row[1]),
            }
    return stats


def _sync(request: dict[str, Any]) -> tuple[int, str]:
    secrets = [str(s) for s in request.get("secrets", [])]
    started = time.monotonic()
    import airbyte as ab
    from airbyte import exceptions as errors

    return _sync_with(ab, errors, request, secrets, started)


def _sync_with(  # pragma: no cover
    ab: Any, errors: Any, request: dict[str, Any], secrets: list[str], started: float
) -> tuple[int, str]:
    imported = time.monotonic()
    try:
        source = ab.get_source(
            request["source"],
            config=request["config"],
            local_executable=request["executable"],
        )
        source.validate_config()
    except errors.AirbyteConnectorValidationFailedError as exc:
        return 1, answer_error("config", _describe(exc), secrets)
    try:
        source.select_streams(request["streams"])
    except (errors.AirbyteStreamNotFoundError, errors.PyAirbyteInputError) as exc:
        offered = ", ".join(sorted(source.get_available_streams()))
        return 1, answer_error("stream", f"{_describe(exc)}; the source offers: {offered}", secrets)
    cache = _cache(request["cache"])
    try:
        validated = time.monotonic()
        result = source.read(cache=cache, force_full_refresh=bool(request.get("full_refresh")))
        read = time.monotonic()
        stats = _stream_stats(cache, result, request["streams"])
    finally:
        cache.get_sql_engine().dispose()
    timings = {
        "import_s": round(imported - started, 2),
        "validate_s": round(validated - imported, 2),
        "read_s": round(read - validated, 2),
    }
    return 0, json.dumps({"ok": True, "streams": stats, "timings": timings})


def main() -> int:
    """Read the request from stdin, sync, print the answer as the last stdout line."""
    try:
        request = json.loads(sys.stdin.read())
    except json.JSONDecodeError as exc:
        print(answer_error("connector", f"the request is not JSON: {exc}", []))
        return 1
    secrets = [str(s) for s in request.get("secrets", [])]
    try:
        code, answer = _sync(request)
    except Exception as exc:
        code, answer = 1, answer_error("connector", _describe(exc), secrets)
    sys.stdout.flush()
    print(answer, flush=True)
    return code


if __name__ == "__main__":
    sys.exit(main())
