"""One sync: the runner subprocess in PyAirbyte's venv, its answer, the warehouse copy.

floe starts ``<pyairbyte venv>/bin/python runner.py`` (:mod:`floe_ingestion_airbyte.runner`)
in a process group of its own, in the entry's state folder, with ``AIRBYTE_OFFLINE_MODE=1``
(PyAirbyte looks nothing up in Airbyte's registry: the connector is a ``local_executable``)
and without ``PYTHONPATH``/``VIRTUAL_ENV`` (floe's packages never leak into that venv). The
request (config and its secrets included) goes on stdin; PyAirbyte's log goes to
``<state_dir>/last-sync.log``, whose tail is quoted when the runner gives no answer. If the run
is interrupted (Ctrl-C, SIGTERM, a cancelled Dagster run) the whole group gets SIGTERM, then
SIGKILL after 10 s: no connector process outlives floe's.

Where the streams land:

- DuckDB: PyAirbyte writes ``<state_dir>/pyairbyte-cache.duckdb`` (its own duckdb version, its
  incremental state in ``<schema>._airbyte_state``), then
  :func:`~floe_ingestion_airbyte.warehouse.copy_streams` copies the tables into the warehouse;
- PostgreSQL: PyAirbyte writes into the destination schema itself (state included).

Per stream: ``rows_loaded`` is what the connector emitted this sync (PyAirbyte's read counter),
``rows_total`` the table's rows, the data version ``<rows>:<newest _airbyte_extracted_at>``.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
from pathlib import Path
from typing import Any

from floe_ingestion_airbyte.connector import ConnectorSource
from floe_ingestion_airbyte.environment import AirbyteEnvironment
from floe_ingestion_airbyte.warehouse import copy_streams
from floe_orchestration_core.errors import IngestionConfigError, IngestionError
from floe_orchestration_core.ingestion import (
    DuckDBDestination,
    IngestionRequest,
    IngestionResult,
    StreamResult,
)

__all__ = ["RUNNER", "run_sync"]

#: The runner script, run by path with PyAirbyte's interpreter.
RUNNER = Path(__file__).with_name("runner.py")
CACHE_FILE = "pyairbyte-cache.duckdb"
LOG_FILE = "last-sync.log"
_STOP_GRACE_SECONDS = 10.0
_LOG_TAIL = 3000


def _environment(state_dir: Path) -> dict[str, str]:
    environ = {
        k: v
        for k, v in os.environ.items()
        if k not in ("PYTHONPATH", "PYTHONHOME", "VIRTUAL_ENV", "PYTHONSTARTUP")
    }
    environ.update(
        {
            "AIRBYTE_OFFLINE_MODE": "1",
            "DO_NOT_TRACK": "1",
            "AIRBYTE_LOGGING_ROOT": str(state_dir / "logs"),
            "PYTHONUNBUFFERED": "1",
        }
    )
    return environ


def _cache_spec(request: IngestionRequest) -> dict[str, Any]:
    target = request.destination
    if isinstance(target, DuckDBDestination):
        return {
            "type": "duckdb",
            "path": str(request.state_dir / CACHE_FILE),
            "schema": target.schema,
        }
    return {
        "type": "postgres",
        "host": target.host,
        "port": target.port,
        "database": target.database,
        "user": target.user,
        "password": target.password or "",
        "schema": target.schema,
    }


def _stop(process: subprocess.Popen[bytes]) -> None:
    """SIGTERM to the runner's whole group (the connector is in it), SIGKILL after a grace."""
    for sig, wait in ((signal.SIGTERM, _STOP_GRACE_SECONDS), (signal.SIGKILL, 5.0)):
        try:
            os.killpg(process.pid, sig)
        except ProcessLookupError:
            return
        try:
            process.wait(timeout=wait)
            return
        except subprocess.TimeoutExpired:
            continue


def _log_tail(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8", errors="replace")[-_LOG_TAIL:]
    except OSError:
        return ""


def _call_runner(python: Path, payload: dict[str, Any], state_dir: Path) -> tuple[int, str]:
    log_path = state_dir / LOG_FILE
    with log_path.open("wb") as log:
        process = subprocess.Popen(
            [str(python), str(RUNNER)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=log,
            cwd=state_dir,
            env=_environment(state_dir),
            start_new_session=True,
        )
        try:
            stdout, _ = process.communicate(json.dumps(payload).encode("utf-8"))
        except BaseException:
            _stop(process)
            raise
    return process.returncode, stdout.decode("utf-8", errors="replace")


def _answer(request: IngestionRequest, code: int, stdout: str) -> dict[str, Any]:
    where = f"ingestion '{request.entry.name}' ({request.entry.source})"
    lines = [line for line in stdout.splitlines() if line.strip().startswith("{")]
    answer: Any = None
    if lines:
        try:
            answer = json.loads(lines[-1])
        except json.JSONDecodeError:
            answer = None
    if not isinstance(answer, dict):
        tail = request.redact(_log_tail(request.state_dir / LOG_FILE))
        raise IngestionError(
            f"{where}: PyAirbyte's runner exited {code} without an answer; the end of its log "
            f"({request.state_dir / LOG_FILE}):\n{tail}"
        )
    if answer.get("ok"):
        return answer
    message = request.redact(str(answer.get("message", "")))
    kind = answer.get("kind")
    if kind == "config":
        raise IngestionConfigError(f"{where}: the connector refused its config: {message}")
    if kind == "stream":
        raise IngestionConfigError(f"{where}: a stream is not offered: {message}")
    raise IngestionError(f"{where}: the sync failed: {message}")


def run_sync(request: IngestionRequest, environment: AirbyteEnvironment) -> IngestionResult:
    """Sync ``request`` through PyAirbyte in its own venv (see the module docstring)."""
    source = ConnectorSource.parse(request.entry.source)
    if source is None:  # the port's check refuses such an entry before this runs
        raise IngestionConfigError(f"'{request.entry.source}' is not an Airbyte source")
    executable = environment.connector_executable(source)
    python = environment.pyairbyte_python()
    request.state_dir.mkdir(parents=True, exist_ok=True)
    cache = _cache_spec(request)
    secrets = sorted(request.secrets | ({cache["password"]} if cache.get("password") else set()))
    payload = {
        "source": source.name,
        "executable": str(executable),
        "config": dict(request.config),
        "secrets": secrets,
        "streams": list(request.streams),
        "cache": cache,
        "full_refresh": False,
    }
    code, stdout = _call_runner(python, payload, request.state_dir)
    answer = _answer(request, code, stdout)
    stats: dict[str, dict[str, Any]] = answer["streams"]
    copied: dict[str, bool] = {}
    if isinstance(request.destination, DuckDBDestination):
        copied = copy_streams(
            Path(cache["path"]),
            request.destination.path,
            request.destination.schema,
            {stream: str(stats[stream]["table"]) for stream in request.streams},
        )
    results: list[StreamResult] = []
    for stream in request.streams:
        found = stats[stream]
        rows = int(found["rows"])
        newest = found.get("max_extracted_at") or ""
        read = found.get("read")
        results.append(
            StreamResult(
                stream=stream,
                table=request.entry.table(stream),
                rows_loaded=int(read) if read is not None else 0,
                rows_total=rows,
                data_version=f"{rows}:{newest}",
                metadata={
                    "extracted_at": newest or None,
                    **({"copied": copied[stream]} if stream in copied else {}),
                },
            )
        )
    return IngestionResult(
        streams=tuple(results),
        metadata={
            "connector": source.requirement,
            "timings": answer.get("timings", {}),
            "provision_seconds": round(environment.provision_seconds, 1),
        },
    )
