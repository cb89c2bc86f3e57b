"""What the Dagster adapter's integration tests run against: a real dbt project, real dbt, a real
DuckDB file and a real ``dagster-webserver`` process.

- :func:`copy_product` copies ``integration/dagster_product`` into a temporary directory (tests
  never write into the repository) and :func:`run_dbt` runs the installed ``dbt`` there.
- :func:`write_landing_payments` plays the loader behind the ``landing.payments`` dbt source;
  :data:`BAD_PAYMENT` is the row that makes the error-severity ``accepted_values`` test fail.
- :func:`compile_product` compiles the product with the core and writes the artifacts JSON.
- :class:`DagsterWebserver` starts ``dagster-webserver`` on a free port in its own process
  group, answers GraphQL queries and stops every process it started.

Everything a test may wait on is bounded; a failure message carries the command's output.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import Any, Self

import duckdb
import pytest

from floe_orchestration_core.compile import compile_artifacts

__all__ = [
    "BAD_PAYMENT",
    "DUCKDB_PATH_VARIABLE",
    "GOOD_PAYMENTS",
    "PG_HOST",
    "PG_PORT",
    "PRODUCT_SOURCE",
    "DagsterWebserver",
    "ProductCopy",
    "asset_key_string",
    "compile_product",
    "copy_product",
    "free_port",
    "group_alive",
    "path_with_venv",
    "pg_connect",
    "postgres_database",
    "run_dbt",
    "write_code_location",
    "write_landing_payments",
]

PRODUCT_SOURCE = Path(__file__).resolve().parent / "dagster_product"
DUCKDB_PATH_VARIABLE = "FLOE_IT_DUCKDB_PATH"
BIN = Path(sys.executable).parent

#: (id, order_id, payment_method, amount): every method is one the error test accepts.
GOOD_PAYMENTS: tuple[tuple[int, int, str, float], ...] = (
    (100, 10, "credit_card", 20.0),
    (101, 11, "coupon", 5.0),
    (102, 12, "bank_transfer", 12.5),
    (103, 13, "credit_card", 7.0),
)
#: A payment method outside accepted_values: stg_payments' error-severity check fails.
BAD_PAYMENT: tuple[int, int, str, float] = (104, 12, "bitcoin", 3.0)

_DBT_TIMEOUT_SECONDS = 120
#: The local PostgreSQL (trust authentication, user postgres).
PG_HOST, PG_PORT = "127.0.0.1", 5432
_QUIET_DBT = {"DBT_SEND_ANONYMOUS_USAGE_STATS": "false", "DBT_VERSION_CHECK": "false"}


# The dbt project -----------------------------------------------------------------------------
@dataclass(frozen=True)
class ProductCopy:
    """A copy of ``dagster_product`` in a temporary directory, with its DuckDB file beside it."""

    project_dir: Path
    duckdb_path: Path

    @property
    def manifest_path(self) -> Path:
        return self.project_dir / "target" / "manifest.json"

    @property
    def floe_yaml(self) -> Path:
        return self.project_dir / "floe.yaml"

    def environment(self) -> dict[str, str]:
        """The variables dbt needs (profiles.yml reads the DuckDB path from the environment)."""
        return {DUCKDB_PATH_VARIABLE: str(self.duckdb_path), **_QUIET_DBT}


def path_with_venv() -> str:
    """``PATH`` with this interpreter's ``bin`` first: dagster-dbt looks ``dbt`` up on PATH."""
    return os.pathsep.join([str(BIN), os.environ.get("PATH", "")])


def copy_product(destination: Path) -> ProductCopy:
    """Copy the dbt project (without any build output) to ``destination/dagster_product``."""
    project_dir = destination / "dagster_product"
    shutil.copytree(
        PRODUCT_SOURCE, project_dir, ignore=shutil.ignore_patterns("target", "logs", "*.duckdb*")
    )
    return ProductCopy(project_dir=project_dir, duckdb_path=destination / "warehouse.duckdb")


def run_dbt(product: ProductCopy, *args: str) -> subprocess.CompletedProcess[str]:
    """Run the installed ``dbt`` in the copy; a non-zero exit fails with dbt's output."""
    result = subprocess.run(
        [str(BIN / "dbt"), *args, "--profiles-dir", str(product.project_dir)],
        cwd=product.project_dir,
        env={**os.environ, **product.environment()},
        capture_output=True,
        text=True,
        timeout=_DBT_TIMEOUT_SECONDS,
        check=False,
    )
    if result.returncode != 0:
        raise AssertionError(
            f"dbt {' '.join(args)} exited {result.returncode} in {product.project_dir}:\n"
            f"{result.stdout}\n{result.stderr}"
        )
    return result


def write_landing_payments(
    duckdb_path: Path, rows: Sequence[tuple[int, int, str, float]] = GOOD_PAYMENTS
) -> None:
    """Replace ``landing.payments`` (the dbt source) with ``rows``; the connection is closed
    before returning, so a dbt process can open the file next."""
    with duckdb.connect(str(duckdb_path)) as connection:
        connection.execute("create schema if not exists landing")
        connection.execute(
            "create or replace table landing.payments "
            "(id integer, order_id integer, payment_method varchar, amount decimal(10, 2))"
        )
        connection.executemany("insert into landing.payments values (?, ?, ?, ?)", list(rows))


def compile_product(
    product: ProductCopy,
    destination: Path,
    *,
    project_dir: Path | None = None,
) -> Path:
    """Compile the copy's manifest and floe.yaml with the core; write and return the JSON.

    ``project_dir`` overrides where the artifacts say the dbt project is (a test points it at a
    missing folder to act as CI validating a product without its warehouse).
    """
    # The compiler reads the dbt profile as dbt does: the DuckDB path comes from the variable
    # dbt gets too.
    saved = os.environ.get(DUCKDB_PATH_VARIABLE)
    os.environ[DUCKDB_PATH_VARIABLE] = str(product.duckdb_path)
    try:
        artifacts = compile_artifacts(
            product.manifest_path,
            product=product.floe_yaml,
            project_dir=project_dir if project_dir is not None else product.project_dir,
            profiles_dir=product.project_dir,
        )
    finally:
        if saved is None:
            del os.environ[DUCKDB_PATH_VARIABLE]
        else:
            os.environ[DUCKDB_PATH_VARIABLE] = saved
    destination.parent.mkdir(parents=True, exist_ok=True)
    destination.write_text(artifacts.to_json() + "\n", encoding="utf-8")
    return destination


def asset_key_string(path: Sequence[str]) -> str:
    """An asset key as Dagster prints it: ``landing/payments``."""
    return "/".join(path)


# The webserver -------------------------------------------------------------------------------
_CODE_LOCATION = '''"""Written by integration/harness.py: the adapter's Definitions."""

from floe_orchestration_core.artifacts import load_artifacts
from floe_orchestrator_dagster.plugin import DagsterOrchestratorPlugin

defs = DagsterOrchestratorPlugin().create_definitions(load_artifacts({artifacts!r}))
'''


def write_code_location(artifacts_path: Path, destination: Path) -> Path:
    """Write the Python file ``dagster-webserver -f`` loads: ``defs`` built by the adapter."""
    destination.write_text(_CODE_LOCATION.format(artifacts=str(artifacts_path)), encoding="utf-8")
    return destination


def free_port() -> int:
    """A TCP port on 127.0.0.1 nothing listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


_LOCATION_STATUS = """
query LocationStatus {
  workspaceOrError {
    __typename
    ... on Workspace {
      locationEntries {
        name
        loadStatus
        locationOrLoadError {
          __typename
          ... on PythonError { message stack }
        }
      }
    }
    ... on PythonError { message }
  }
}
"""


class DagsterWebserver:
    """``dagster-webserver`` serving one Python file, in a process group of its own.

    Use as a context manager: entering starts the server and waits (bounded) until it answers
    ``/server_info`` and its code location has loaded; leaving stops the whole process group
    (the webserver and the code server it spawns): SIGTERM, a bounded wait, then SIGKILL.
    """

    def __init__(
        self,
        python_file: Path,
        *,
        dagster_home: Path,
        startup_timeout_seconds: float = 90.0,
    ) -> None:
        self.python_file = python_file
        self.dagster_home = dagster_home
        self.startup_timeout_seconds = startup_timeout_seconds
        self.port = free_port()
        self.log_path = dagster_home / "webserver.log"
        self._process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def process_group(self) -> int:
        if self._process is None:
            raise RuntimeError("the webserver has not been started")
        return self._process.pid  # start_new_session: the group id is the leader's pid

    def __enter__(self) -> Self:
        self.start()
        try:
            self.wait_until_ready()
        except BaseException:
            self.stop()
            raise
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.stop()

    def start(self) -> None:
        self.dagster_home.mkdir(parents=True, exist_ok=True)
        command = [
            str(BIN / "dagster-webserver"),
            *("-h", "127.0.0.1", "-p", str(self.port)),
            *("-f", str(self.python_file)),
            *("-d", str(self.python_file.parent)),
        ]
        (self.dagster_home / "dagster.yaml").write_text(
            "telemetry:\n  enabled: false\n", encoding="utf-8"
        )
        environment = {
            **os.environ,
            "DAGSTER_HOME": str(self.dagster_home),
            "PATH": path_with_venv(),
        }
        with self.log_path.open("wb") as log:
            self._process = subprocess.Popen(
                command,
                cwd=self.dagster_home,
                env=environment,
                stdout=log,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                start_new_session=True,
            )

    def log_tail(self, characters: int = 6000) -> str:
        try:
            text = self.log_path.read_text(encoding="utf-8", errors="replace")
        except FileNotFoundError:
            return "(no log written)"
        return text[-characters:]

    def _fail(self, message: str) -> AssertionError:
        return AssertionError(f"{message}\n--- dagster-webserver log (tail) ---\n{self.log_tail()}")

    def wait_until_ready(self) -> None:
        """Wait until ``/server_info`` answers and the code location has loaded without error."""
        deadline = time.monotonic() + self.startup_timeout_seconds
        while not self._answers("/server_info"):
            self._check_alive_before(deadline, "answer /server_info")
            time.sleep(0.25)
        while True:
            (entry,) = self._location_entries()
            if entry["loadStatus"] == "LOADED":
                location = entry["locationOrLoadError"]
                if location is None or location["__typename"] != "RepositoryLocation":
                    raise self._fail(
                        f"code location {entry['name']!r} failed to load:\n"
                        f"{json.dumps(location, indent=2)}"
                    )
                return
            self._check_alive_before(deadline, "load its code location")
            time.sleep(0.25)

    def _check_alive_before(self, deadline: float, what: str) -> None:
        assert self._process is not None
        if self._process.poll() is not None:
            raise self._fail(
                f"dagster-webserver exited with {self._process.returncode} before it could {what}"
            )
        if time.monotonic() > deadline:
            raise self._fail(
                f"dagster-webserver did not {what} within {self.startup_timeout_seconds:.0f} s"
            )

    def _answers(self, path: str) -> bool:
        try:
            with urllib.request.urlopen(self.url + path, timeout=2) as response:
                return bool(response.status == 200)
        except (urllib.error.URLError, ConnectionError, TimeoutError):
            return False

    def _location_entries(self) -> list[dict[str, Any]]:
        workspace = self.graphql(_LOCATION_STATUS)["workspaceOrError"]
        if workspace["__typename"] != "Workspace":
            raise self._fail(f"the workspace did not load: {json.dumps(workspace, indent=2)}")
        entries: list[dict[str, Any]] = workspace["locationEntries"]
        return entries

    def graphql(self, query: str, variables: Mapping[str, Any] | None = None) -> dict[str, Any]:
        """POST a query to ``/graphql``; GraphQL errors fail the test with the server log."""
        body = json.dumps({"query": query, "variables": dict(variables or {})}).encode()
        request = urllib.request.Request(
            self.url + "/graphql",
            data=body,
            headers={"Content-Type": "application/json"},
            method="POST",
        )
        try:
            with urllib.request.urlopen(request, timeout=30) as response:
                payload: dict[str, Any] = json.loads(response.read())
        except urllib.error.HTTPError as exc:
            raise self._fail(f"GraphQL answered HTTP {exc.code}: {exc.read()[:2000]!r}") from exc
        if payload.get("errors"):
            raise self._fail(f"GraphQL errors: {json.dumps(payload['errors'], indent=2)}")
        data: dict[str, Any] = payload["data"]
        return data

    def stop(self, timeout_seconds: float = 20.0) -> None:
        """Stop the process group: SIGTERM, wait, then SIGKILL; reap the leader."""
        process = self._process
        if process is None:
            return
        group = process.pid
        with suppress(ProcessLookupError):
            os.killpg(group, signal.SIGTERM)
        try:
            process.wait(timeout=timeout_seconds)
        except subprocess.TimeoutExpired:
            with suppress(ProcessLookupError):
                os.killpg(group, signal.SIGKILL)
            process.wait(timeout=timeout_seconds)
        # The code server may outlive the webserver by a moment; wait for the group to empty.
        deadline = time.monotonic() + timeout_seconds
        while group_alive(group) and time.monotonic() < deadline:
            time.sleep(0.1)
        if group_alive(group):
            with suppress(ProcessLookupError):
                os.killpg(group, signal.SIGKILL)


def group_alive(group: int) -> bool:
    """Whether any process of process group ``group`` still exists (zombies aside)."""
    try:
        os.killpg(group, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return any(_is_live_member(pid, group) for pid in _pids())


def _pids() -> Iterator[int]:
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            yield int(entry.name)


def _is_live_member(pid: int, group: int) -> bool:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text(encoding="ascii", errors="replace")
    except OSError:
        return False
    # Fields after the parenthesised command: state ppid pgrp ...
    fields = stat.rsplit(")", 1)[1].split()
    return fields[2] == str(group) and fields[0] != "Z"


# PostgreSQL ----------------------------------------------------------------------------------
def pg_connect(database: str = "postgres") -> Any:
    """A psycopg2 connection to ``database`` on the local server as postgres, or None."""
    import psycopg2  # type: ignore[import-untyped]

    try:
        return psycopg2.connect(
            host=PG_HOST, port=PG_PORT, user="postgres", dbname=database, connect_timeout=3
        )
    except psycopg2.OperationalError:
        return None


@contextmanager
def postgres_database(prefix: str = "floe_it") -> Iterator[str]:
    """A fresh database on 127.0.0.1:5432 (trust auth), the server started if down (the test
    skips when none can be), dropped on exit."""
    connection = pg_connect()
    if connection is None and Path("/etc/postgresql").is_dir():
        for version in sorted(os.listdir("/etc/postgresql"))[-1:]:
            subprocess.run(
                ["pg_ctlcluster", "--skip-systemctl-redirect", version, "main", "start"],
                capture_output=True,
                timeout=60,
                check=False,
            )
        deadline = time.monotonic() + 30
        while connection is None and time.monotonic() < deadline:
            time.sleep(1)
            connection = pg_connect()
    if connection is None:
        pytest.skip(f"no PostgreSQL server on {PG_HOST}:{PG_PORT}, and none could be started")
    name = f"{prefix}_{uuid.uuid4().hex[:12]}"
    connection.autocommit = True
    with connection.cursor() as cursor:
        cursor.execute(f'CREATE DATABASE "{name}"')
    try:
        yield name
    finally:
        with connection.cursor() as cursor:
            cursor.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        connection.close()
