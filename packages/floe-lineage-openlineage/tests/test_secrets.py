"""No secret — API key, secret header, profile password — reaches an event or a log line.

Canary values are configured through every secret-bearing path; every log record of every
logger is captured at DEBUG (the client's, urllib3's and ours) while events are delivered,
fail, are retried and dropped, and the backend is closed.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from floe_lineage_openlineage.backend import OpenLineageBackend
from floe_orchestration_core.lineage import ErrorInfo, RunState
from floe_orchestration_core.testing import sample_event

API_KEY = "canary-api-key-7f3a9c"
HEADER = "canary-header-51be07"
STATIC_HEADER = "canary-static-header-c0ffee"


def test_no_secret_reaches_events_or_logs(
    receiver: Any, refused_url: str, tmp_path: Path, all_logs: Any, monkeypatch: Any
) -> None:
    monkeypatch.setenv("FLOE_CANARY_KEY", API_KEY)
    monkeypatch.setenv("FLOE_CANARY_HEADER", HEADER)
    secret_http = {
        "api_key_env": "FLOE_CANARY_KEY",
        "headers_env": {"X-Secret": "FLOE_CANARY_HEADER"},
        "custom_headers": {"X-Static": STATIC_HEADER},
        "timeout": 0.5,
    }
    backend = OpenLineageBackend(
        transport={
            "type": "composite",
            "transports": [
                {"type": "http", "url": receiver.url, **secret_http},
                {"type": "http", "url": refused_url, **secret_http},
                {"type": "file", "log_file_path": str(tmp_path / "ol.jsonl"), "append": True},
                {"type": "console"},
            ],
        },
        retry_backoff=0.01,
        retry_backoff_max=0.02,
        max_attempts=2,
        flush_timeout=5.0,
    )
    backend.emit(sample_event(RunState.START))
    backend.emit(sample_event(RunState.FAIL, error=ErrorInfo.from_exception(RuntimeError("boom"))))
    assert backend.flush(5.0)
    receiver.set_status(503)
    backend.emit(sample_event(RunState.COMPLETE))  # fails everywhere but the file, is retried
    backend.flush(5.0)
    backend.close(1.0)

    # the secrets were really used: the healthy receiver got them as headers
    assert receiver.headers[0]["Authorization"] == f"Bearer {API_KEY}"
    assert receiver.headers[0]["X-Secret"] == HEADER
    events = [*receiver.raw, (tmp_path / "ol.jsonl").read_bytes()]
    logs = all_logs.text()
    assert "Constructing OpenLineage" in logs  # the client's DEBUG logs were captured
    for canary in (API_KEY, HEADER, STATIC_HEADER):
        assert all(canary.encode() not in body for body in events)
        assert canary not in logs
    assert json.loads(receiver.raw[0])["eventType"] == "START"


def test_a_password_in_a_compute_target_never_reaches_exported_lineage(tmp_path: Path) -> None:
    from floe_orchestration_core.artifacts import ComputeTarget
    from floe_orchestration_core.lineage.design import StaticJob
    from floe_orchestration_core.lineage.naming import dataset_for_relation

    target = ComputeTarget(
        name="pg",
        type="postgres",
        properties={"host": "db", "port": 5432, "user": "floe", "password": "canary-pw-91"},
    )
    job = StaticJob(
        job_namespace="floe",
        job_name="p.model.orders",
        outputs=(dataset_for_relation(target, "analytics", "main", "orders"),),
    )
    backend = OpenLineageBackend()
    try:
        (event,) = backend.export_design([job])
    finally:
        backend.close(0.0)
    text = json.dumps(event)
    assert "canary-pw-91" not in text
    assert event["outputs"][0]["namespace"] == "postgres://db:5432"
