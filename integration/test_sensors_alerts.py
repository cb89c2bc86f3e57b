"""Sensors and alerts with real processes: ``dagster-daemon``, its code server, the runs it
launches (real ``dbt build`` on DuckDB), a local HTTP webhook receiver and a local SMTP server.

The product gets three sensors in its floe.yaml: a file-arrival sensor on a landing folder
(building ``stg_payments``), a run-failure sensor and a failed-check sensor, both alerting a
webhook and an email channel. Three files are dropped one after another (each once the run of
the previous one finished: the runs share one DuckDB file); before the third, a payment with an
unknown method is loaded, so the third run's error-severity check fails and the run fails.

Expected: exactly three runs, one per file (by the ``floe/trigger_file`` tag), even after more
sensor ticks; the failed run reaches the webhook receiver (with the secret header read from the
environment) and the SMTP server as a ``run_failure`` alert, and the failed check as a
``check_failure`` alert.
"""

from __future__ import annotations

import os
import signal
import subprocess
import time
from collections.abc import Callable, Iterator
from contextlib import suppress
from functools import partial
from pathlib import Path

import dagster as dg
import pytest
from dagster._core.instance.ref import InstanceRef

from floe_orchestration_core.testing.alert_receivers import SmtpReceiver, WebhookReceiver
from harness import (
    BAD_PAYMENT,
    BIN,
    GOOD_PAYMENTS,
    ProductCopy,
    compile_product,
    group_alive,
    path_with_venv,
    write_code_location,
    write_landing_payments,
)

pytestmark = pytest.mark.slow

SENSOR = "landing_files"
TOKEN = "it-token-canary-3b7d"
_WAIT_SECONDS = 150.0  # generous: two shared cores, dbt and Dagster start in each run


def _floe_yaml(landing: Path, webhook_url: str, smtp: SmtpReceiver) -> str:
    return f"""
sensors:
  - {{type: file_arrival, name: {SENSOR}, path: "{landing}", pattern: "*.csv",
     select: stg_payments, minimum_interval_seconds: 1}}
  - {{type: run_failure, name: on_run_failure, alert_channels: [hook, mail],
     minimum_interval_seconds: 1}}
  - {{type: asset_check_failure, name: on_check_failure, select: stg_payments,
     alert_channels: [hook], minimum_interval_seconds: 1}}
alert_channels:
  - {{type: webhook, name: hook, url: "{webhook_url}/alerts",
     headers_env: {{X-Token: IT_HOOK_TOKEN}}, max_attempts: 3, total_timeout_seconds: 10}}
  - {{type: email, name: mail, smtp_host: {smtp.host}, smtp_port: {smtp.port},
     sender: floe@example.com, recipients: [oncall@example.com]}}
"""


class DagsterDaemon:
    """``dagster-daemon run`` on a workspace, in its own process group (stopped on exit)."""

    def __init__(self, workspace: Path, dagster_home: Path, environment: dict[str, str]) -> None:
        self.workspace = workspace
        self.dagster_home = dagster_home
        self.environment = environment
        self.log_path = dagster_home / "daemon.log"
        self._process: subprocess.Popen[bytes] | None = None

    def __enter__(self) -> DagsterDaemon:
        with self.log_path.open("wb") as log:
            self._process = subprocess.Popen(
                [str(BIN / "dagster-daemon"), "run", "-w", str(self.workspace)],
                cwd=self.workspace.parent,
                env=self.environment,
                stdout=log,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                start_new_session=True,
            )
        return self

    def __exit__(self, *exc: object) -> None:
        process = self._process
        if process is None:
            return
        with suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            with suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGKILL)
            process.wait(timeout=30)
        deadline = time.monotonic() + 30
        while group_alive(process.pid) and time.monotonic() < deadline:
            time.sleep(0.2)
        if group_alive(process.pid):
            with suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGKILL)

    def log_tail(self, characters: int = 5000) -> str:
        try:
            return self.log_path.read_text(encoding="utf-8", errors="replace")[-characters:]
        except FileNotFoundError:
            return "(no log)"

    def assert_alive(self) -> None:
        assert self._process is not None
        if self._process.poll() is not None:
            raise AssertionError(f"dagster-daemon exited:\n{self.log_tail()}")


def _sensor_runs(instance: dg.DagsterInstance) -> list[dg.DagsterRun]:
    return list(instance.get_runs(filters=dg.RunsFilter(tags={"floe/sensor": SENSOR})))


def _wait(
    what: str, condition: Callable[[], bool], daemon: DagsterDaemon, timeout: float = _WAIT_SECONDS
) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        daemon.assert_alive()
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}\n{daemon.log_tail()}")
        time.sleep(0.5)


def _drop_file(landing: Path, name: str) -> Path:
    path = landing / name
    path.write_text("id,amount\n1,10\n", encoding="utf-8")
    past = time.time() - 5  # already settled: the sensor need not wait for it
    os.utime(path, (past, past))
    return path


@pytest.fixture
def stack(
    fresh_product: Callable[[], ProductCopy], tmp_path: Path
) -> Iterator[
    tuple[ProductCopy, Path, dg.DagsterInstance, WebhookReceiver, SmtpReceiver, DagsterDaemon]
]:
    product = fresh_product()
    landing = tmp_path / "landing"
    landing.mkdir()
    with WebhookReceiver() as webhook, SmtpReceiver() as smtp:
        with product.floe_yaml.open("a", encoding="utf-8") as spec:
            spec.write(_floe_yaml(landing, webhook.url, smtp))
        artifacts = compile_product(product, tmp_path / "compiled_artifacts.json")
        code = write_code_location(artifacts, tmp_path / "definitions.py")
        workspace = tmp_path / "workspace.yaml"
        workspace.write_text(
            f"load_from:\n  - python_file:\n      relative_path: {code.name}\n"
            f"      working_directory: {tmp_path}\n",
            encoding="utf-8",
        )
        home = tmp_path / "dagster_home"
        home.mkdir()
        (home / "dagster.yaml").write_text("telemetry:\n  enabled: false\n", encoding="utf-8")
        environment = {
            **os.environ,
            **product.environment(),
            "DAGSTER_HOME": str(home),
            "PATH": path_with_venv(),
            "IT_HOOK_TOKEN": TOKEN,
        }
        with (
            dg.DagsterInstance.from_ref(InstanceRef.from_dir(str(home))) as instance,
            DagsterDaemon(workspace, home, environment) as daemon,
        ):
            yield product, landing, instance, webhook, smtp, daemon


def test_file_sensor_runs_once_per_file_and_a_failed_run_alerts_webhook_and_email(
    stack: tuple[
        ProductCopy, Path, dg.DagsterInstance, WebhookReceiver, SmtpReceiver, DagsterDaemon
    ],
) -> None:
    product, landing, instance, webhook, smtp, daemon = stack
    names = ["batch_1.csv", "batch_2.csv", "batch_3.csv"]
    for index, name in enumerate(names, start=1):
        if index == 3:
            write_landing_payments(product.duckdb_path, (*GOOD_PAYMENTS, BAD_PAYMENT))
        _drop_file(landing, name)
        _wait(f"run {index} (for {name}) to finish", partial(_finished, instance, index), daemon)

    runs = sorted(_sensor_runs(instance), key=lambda run: run.tags["floe/trigger_file"])
    assert [run.tags["floe/trigger_file"] for run in runs] == [str(landing / n) for n in names]
    statuses = [run.status for run in runs]
    assert statuses == [
        dg.DagsterRunStatus.SUCCESS,
        dg.DagsterRunStatus.SUCCESS,
        dg.DagsterRunStatus.FAILURE,
    ], daemon.log_tail()

    _wait("a run_failure alert on the webhook", lambda: _kinds(webhook) >= {"run_failure"}, daemon)
    _wait("a check_failure alert on the webhook", lambda: "check_failure" in _kinds(webhook),
          daemon)  # fmt: skip
    _wait("the failure email", lambda: bool(smtp.received()), daemon)
    failed = runs[2]
    run_alert = next(r for r in webhook.received() if r.json()["kind"] == "run_failure")
    payload = run_alert.json()
    assert run_alert.headers["X-Token"] == TOKEN
    assert payload["run_id"] == failed.run_id
    assert payload["job"] == f"{SENSOR}_job"
    assert payload["details"]["floe/trigger_file"] == str(landing / "batch_3.csv")
    check_alert = next(r.json() for r in webhook.received() if r.json()["kind"] == "check_failure")
    assert check_alert["asset"] == "stg_payments"
    assert check_alert["check"].startswith("accepted_values_stg_payments_payment_method")
    (mail,) = smtp.received()
    assert mail.recipients == ("oncall@example.com",)
    assert f"Run failed: {SENSOR}_job" in mail.subject
    assert failed.run_id in mail.body

    # More ticks see the same three files: no fourth run.
    ticks_before = len(_ticks(instance))
    _wait("two more sensor ticks", lambda: len(_ticks(instance)) >= ticks_before + 2, daemon)
    assert len(_sensor_runs(instance)) == 3
    assert TOKEN not in daemon.log_tail(200_000)


def _finished(instance: dg.DagsterInstance, count: int) -> bool:
    runs = _sensor_runs(instance)
    return len(runs) >= count and all(run.is_finished for run in runs)


def _kinds(webhook: WebhookReceiver) -> set[str]:
    return {str(request.json().get("kind")) for request in webhook.received()}


def _ticks(instance: dg.DagsterInstance) -> list[object]:
    """The file sensor's ticks so far (the daemon stores one per evaluation)."""
    from dagster._core.scheduler.instigation import InstigatorType

    states = [
        state
        for state in instance.all_instigator_state(instigator_type=InstigatorType.SENSOR)
        if state.name == SENSOR
    ]
    return [
        tick
        for state in states
        for tick in instance.get_ticks(state.instigator_origin_id, state.selector_id, limit=1000)
    ]
