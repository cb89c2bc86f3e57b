"""``floe up`` / ``run`` / ``status`` / ``down`` as a user runs them: real ``floe`` processes,
a real Dagster webserver and daemon, real dbt on DuckDB, and real PostgreSQL.

Orphans are looked for two ways after every stop: members of the process groups that
``.floe/runtime.json`` recorded, and any process whose environment names the product's
``DAGSTER_HOME`` (which catches a process that left its group).

Measurements (up-to-ready, down, cycle times) are printed and written to
``$FLOE_RUNTIME_MEASUREMENTS`` when that variable names a file; they are not asserted,
except the contract's hard bounds (a taken port fails fast, stopping stays within 65 s).
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import socket
import statistics
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import psutil
import pytest

from harness import (
    BIN,
    PG_HOST,
    PG_PORT,
    ProductCopy,
    free_port,
    path_with_venv,
    pg_connect,
)
from harness import postgres_database as fresh_postgres_database

FLOE = BIN / "floe"
READY_TIMEOUT_S = 300.0
STOP_BUDGET_S = 65.0
CYCLES = int(os.environ.get("FLOE_RUNTIME_CYCLES", "20"))
PASSWORD_ENV = "FLOE_IT_PG_PASSWORD"

pytestmark = pytest.mark.slow

MEASUREMENTS: dict[str, Any] = {}


def _record(name: str, value: Any) -> None:
    MEASUREMENTS[name] = value
    print(f"measurement {name}: {value}")
    target = os.environ.get("FLOE_RUNTIME_MEASUREMENTS")
    if target:
        Path(target).write_text(json.dumps(MEASUREMENTS, indent=2) + "\n")


def _environment(product: ProductCopy, extra: dict[str, str] | None = None) -> dict[str, str]:
    return {**os.environ, **product.environment(), "PATH": path_with_venv(), **(extra or {})}


def _floe(
    product: ProductCopy, *args: str, timeout: float = 600, extra: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(FLOE), *args],
        cwd=product.project_dir.parent,
        env=_environment(product, extra),
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


def _json_documents(text: str) -> list[dict[str, Any]]:
    decoder, index = json.JSONDecoder(), 0
    documents: list[dict[str, Any]] = []
    while True:
        while index < len(text) and text[index].isspace():
            index += 1
        if index >= len(text):
            return documents
        document, index = decoder.raw_decode(text, index)
        documents.append(document)


class FloeUp:
    """``floe up --json`` as a subprocess; its stdout collected on a thread."""

    def __init__(
        self, product: ProductCopy, port: int, extra: dict[str, str] | None = None
    ) -> None:
        self.product = product
        self.port = port
        self.stderr_path = product.project_dir.parent / f"floe-up-{port}.err"
        with self.stderr_path.open("w") as stderr:
            self.process = subprocess.Popen(
                [str(FLOE), "up", str(product.project_dir), "--port", str(port), "--json"],
                cwd=product.project_dir.parent,
                env=_environment(product, extra),
                stdout=subprocess.PIPE,
                stderr=stderr,
                text=True,
            )
        self._out: list[str] = []
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        assert self.process.stdout is not None
        for line in self.process.stdout:
            self._out.append(line)

    @property
    def events(self) -> list[dict[str, Any]]:
        with contextlib.suppress(ValueError):
            return _json_documents("".join(self._out))
        return []

    def stderr(self) -> str:
        return self.stderr_path.read_text(errors="replace")[-6000:]

    def wait_ready(self) -> float:
        started = time.monotonic()
        while time.monotonic() - started < READY_TIMEOUT_S:
            if any(e.get("event") == "ready" for e in self.events):
                return time.monotonic() - started
            if self.process.poll() is not None:
                pytest.fail(f"floe up exited {self.process.returncode}:\n{self.stderr()}")
            time.sleep(0.2)
        pytest.fail(f"floe up was not ready within {READY_TIMEOUT_S} s:\n{self.stderr()}")

    def state(self) -> dict[str, Any]:
        data: dict[str, Any] = json.loads(
            (self.product.project_dir / ".floe" / "runtime.json").read_text()
        )
        return data

    def kill(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
            self.process.wait(timeout=30)


def _home(product: ProductCopy) -> str:
    return str(product.project_dir / ".floe" / "dagster")


def _leftovers(pgids: list[int], home: str) -> list[str]:
    """Live processes of the recorded groups or with DAGSTER_HOME=home (zombies aside)."""
    found = []
    for proc in psutil.process_iter(["pid", "cmdline"]):
        try:
            if proc.status() == psutil.STATUS_ZOMBIE:
                continue
            in_group = os.getpgid(proc.pid) in pgids
            environ = proc.environ() if not in_group else {}
            if in_group or environ.get("DAGSTER_HOME") == home:
                found.append(f"{proc.pid}: {' '.join(proc.info['cmdline'] or [])[:160]}")
        except (psutil.Error, ProcessLookupError):
            continue
    return found


def _wait_no_leftovers(pgids: list[int], home: str, seconds: float) -> list[str]:
    deadline = time.monotonic() + seconds
    while True:
        left = _leftovers(pgids, home)
        if not left or time.monotonic() > deadline:
            return left
        time.sleep(0.25)


@pytest.fixture
def product(fresh_product: Callable[[], ProductCopy]) -> Iterator[ProductCopy]:
    """A parsed copy of ``dagster_product``; anything left running is stopped afterwards."""
    copy = fresh_product()
    yield copy
    if (copy.project_dir / ".floe" / "runtime.json").exists():
        _floe(copy, "down", str(copy.project_dir), timeout=120)


def _up_status_down(product: ProductCopy) -> dict[str, float]:
    port = free_port()
    up = FloeUp(product, port)
    try:
        ready_s = up.wait_ready()
        recorded = up.state()
        pgids = [s["pgid"] for s in recorded["services"]]
        assert recorded["port"] == port
        status = _floe(product, "status", str(product.project_dir), "--json")
        assert status.returncode == 0, status.stderr
        services = {s["name"]: s for s in json.loads(status.stdout)["services"]}
        assert set(services) == {"webserver", "daemon"}
        for service in services.values():
            assert service["running"], service
            assert service["rss_bytes"] > 10_000_000, service  # a Python process with Dagster
        started = time.monotonic()
        down = _floe(product, "down", str(product.project_dir), "--json")
        down_s = time.monotonic() - started
        assert down.returncode == 0, down.stderr
        assert down_s < STOP_BUDGET_S + 5
        up.process.wait(timeout=STOP_BUDGET_S)
        assert up.process.returncode == 0, up.stderr()
        assert up.events[-1] == {"event": "stopped", "product": "floe-dagster-it", "exit_code": 0}
        assert _wait_no_leftovers(pgids, _home(product), 2.0) == []
        assert not (product.project_dir / ".floe" / "runtime.json").exists()
        return {"ready_s": ready_s, "down_s": down_s}
    finally:
        up.kill()


def test_up_status_down_leaves_no_process(product: ProductCopy) -> None:
    timings = _up_status_down(product)
    _record("single_cycle", timings)


@pytest.mark.skipif(CYCLES < 1, reason="FLOE_RUNTIME_CYCLES=0")
def test_repeated_up_down_cycles_leave_zero_orphans(product: ProductCopy) -> None:
    cycles = []
    for _ in range(CYCLES):
        started = time.monotonic()
        timings = _up_status_down(product)
        cycles.append({**timings, "cycle_s": time.monotonic() - started})
    _record(
        "cycles",
        {
            "count": len(cycles),
            "orphans": 0,  # every cycle asserted none
            "ready_s_median": statistics.median(c["ready_s"] for c in cycles),
            "ready_s_max": max(c["ready_s"] for c in cycles),
            "down_s_median": statistics.median(c["down_s"] for c in cycles),
            "down_s_max": max(c["down_s"] for c in cycles),
            "cycle_s_median": statistics.median(c["cycle_s"] for c in cycles),
        },
    )


def test_killing_floe_up_takes_its_services_with_it(product: ProductCopy) -> None:
    up = FloeUp(product, free_port())
    try:
        up.wait_ready()
        pgids = [s["pgid"] for s in up.state()["services"]]
        started = time.monotonic()
        up.process.send_signal(signal.SIGKILL)
        up.process.wait(timeout=30)
        left = _wait_no_leftovers(pgids, _home(product), STOP_BUDGET_S)
        _record("services_gone_after_sigkill_s", round(time.monotonic() - started, 2))
        assert left == [], "services outlived the killed floe up"
        # The state file of the killed supervisor is stale; down clears it.
        down = _floe(product, "down", str(product.project_dir))
        assert down.returncode == 0, down.stderr
        assert not (product.project_dir / ".floe" / "runtime.json").exists()
    finally:
        up.kill()


def test_sigterm_and_ctrl_c_stop_every_descendant(product: ProductCopy) -> None:
    for sig in (signal.SIGTERM, signal.SIGINT):
        up = FloeUp(product, free_port())
        try:
            up.wait_ready()
            pgids = [s["pgid"] for s in up.state()["services"]]
            started = time.monotonic()
            up.process.send_signal(sig)
            up.process.wait(timeout=STOP_BUDGET_S)
            _record(f"stop_on_{sig.name}_s", round(time.monotonic() - started, 2))
            assert up.process.returncode == 0, up.stderr()
            assert _wait_no_leftovers(pgids, _home(product), 2.0) == []
        finally:
            up.kill()


def test_a_taken_port_is_a_typed_error_and_nothing_starts(product: ProductCopy) -> None:
    with socket.socket() as holder:
        holder.bind(("127.0.0.1", 0))
        holder.listen()
        port = holder.getsockname()[1]
        started = time.monotonic()
        result = _floe(product, "up", str(product.project_dir), "--port", str(port), "--json")
        elapsed = time.monotonic() - started
    _record("port_conflict_cli_s", round(elapsed, 2))
    assert result.returncode == 2
    error = json.loads(result.stderr.strip().splitlines()[-1])["error"]
    assert error["type"] == "PortInUseError"
    assert f"port {port} on 127.0.0.1 is already in use" in error["message"]
    assert f"pid {os.getpid()}" in error["message"]  # psutil names the holder: this test
    assert not (product.project_dir / ".floe" / "runtime.json").exists()
    # The whole command (interpreter start, imports, the check) ends well within the bound.
    assert elapsed < 30


def _run_summary(result: subprocess.CompletedProcess[str]) -> dict[str, Any]:
    assert result.returncode in (0, 1), result.stderr
    summary: dict[str, Any] = json.loads(result.stdout)  # stdout holds only the summary
    return summary


def test_floe_run_in_process_then_through_the_webserver(product: ProductCopy) -> None:
    started = time.monotonic()
    result = _floe(product, "run", str(product.project_dir), "--wait", "--json")
    in_process_s = time.monotonic() - started
    summary = _run_summary(result)
    assert result.returncode == 0, result.stderr
    assert summary["where"] == "in-process"
    assert summary["status"] == "success"
    assert len(summary["assets_materialized"]) == 8
    assert len(summary["checks_passed"]) >= 14
    assert summary["checks_failed"] == ["stg_customers:not_null_stg_customers_email (warn)"]
    assert "materialized orders" in result.stderr  # progress lines on stderr

    up = FloeUp(product, free_port())
    try:
        up.wait_ready()
        started = time.monotonic()
        result = _floe(
            product, "run", str(product.project_dir), "--select", "stg_orders+", "--wait", "--json"
        )
        webserver_s = time.monotonic() - started
        summary = _run_summary(result)
        assert result.returncode == 0, result.stderr
        assert summary["where"] == "webserver"
        assert summary["status"] == "success"
        assert set(summary["assets_materialized"]) == {
            "stg_orders",
            "orders",
            "customers",
            "order_status_counts",
        }
        assert summary["url"].startswith(f"http://127.0.0.1:{up.port}/runs/")

        status = json.loads(_floe(product, "status", str(product.project_dir), "--json").stdout)
        assert [r["status"] for r in status["runs"]] == ["success", "success"]
        assert [s["name"] for s in status["schedules"]] == ["daily_marts"]
        _floe(product, "down", str(product.project_dir))
        up.process.wait(timeout=STOP_BUDGET_S)
    finally:
        up.kill()
    _record("run_in_process_s", round(in_process_s, 1))
    _record("run_through_webserver_select_s", round(webserver_s, 1))


# Postgres storage ------------------------------------------------------------------------------
@pytest.fixture
def postgres_database() -> Iterator[str]:
    """A fresh database on 127.0.0.1:5432 (trust auth), started if down, dropped after."""
    with fresh_postgres_database() as name:
        yield name


def test_postgres_storage_holds_the_runs_of_up_and_run(
    product: ProductCopy, postgres_database: str
) -> None:
    (product.project_dir / "manifest.yaml").write_text(
        "orchestrator: dagster\n"
        f"storage: {{type: postgres, host: {PG_HOST}, port: {PG_PORT}, "
        f"database: {postgres_database}, user: postgres, password_env: {PASSWORD_ENV}}}\n"
    )
    extra = {PASSWORD_ENV: ""}
    result = _floe(
        product, "run", str(product.project_dir), "--select", "raw_customers", "--json", extra=extra
    )
    summary = _run_summary(result)
    assert result.returncode == 0, result.stderr
    assert summary["assets_materialized"] == ["raw_customers"]

    up = FloeUp(product, free_port(), extra=extra)
    try:
        up.wait_ready()
        status = _floe(product, "status", str(product.project_dir), "--json", extra=extra)
        data = json.loads(status.stdout)
        assert [s["running"] for s in data["services"]] == [True, True]
        assert [r["run_id"] for r in data["runs"]] == [summary["run_id"]]
        _floe(product, "down", str(product.project_dir), extra=extra)
        up.process.wait(timeout=STOP_BUDGET_S)
        assert up.process.returncode == 0, up.stderr()
    finally:
        up.kill()
    connection = pg_connect(postgres_database)
    try:
        with connection.cursor() as cursor:
            cursor.execute("select run_id, status from runs")
            assert cursor.fetchall() == [(summary["run_id"], "SUCCESS")]
    finally:
        connection.close()
    # Nothing of the instance was written to SQLite.
    assert not (product.project_dir / ".floe" / "instance").exists()


if __name__ == "__main__":  # pragma: no cover
    sys.exit(pytest.main([__file__, "-s"]))
