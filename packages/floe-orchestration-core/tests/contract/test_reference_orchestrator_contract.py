"""The reference InMemoryOrchestrator passes the orchestrator contract (the core assumes no
Dagster), and its connection check talks real HTTP."""

from __future__ import annotations

import http.server
import json
import socket
import threading
from collections.abc import Iterator, Mapping
from typing import Any

import pytest

from floe_orchestration_core.artifacts import ScheduleConfig
from floe_orchestration_core.errors import PluginError
from floe_orchestration_core.testing import (
    DefinitionsSummary,
    InMemoryAsset,
    InMemoryDefinitions,
    InMemoryOrchestrator,
    InMemorySchedule,
    OrchestratorPluginContract,
    make_artifacts,
    make_transform,
)


class TestInMemoryOrchestratorContract(OrchestratorPluginContract):
    @pytest.fixture
    def plugin(self) -> InMemoryOrchestrator:
        return InMemoryOrchestrator()

    def describe_definitions(self, definitions: Any) -> DefinitionsSummary:
        assert isinstance(definitions, InMemoryDefinitions)
        return DefinitionsSummary(
            assets={name: asset.upstream for name, asset in definitions.assets.items()},
            schedules=frozenset(definitions.schedules),
        )

    def describe_assets(self, assets: list[Any]) -> Mapping[str, frozenset[str]]:
        assert all(isinstance(asset, InMemoryAsset) for asset in assets)
        return {asset.name: asset.upstream for asset in assets}

    def describe_schedule(self, schedule: Any) -> tuple[str, str, str]:
        assert isinstance(schedule, InMemorySchedule)
        return (schedule.job_name, schedule.cron, schedule.timezone)


# Reference-specific behaviour ---------------------------------------------------------------
class _ServerInfo(http.server.BaseHTTPRequestHandler):
    """Answers like an orchestrator web server; ``/broken`` paths answer HTTP 500."""

    def do_GET(self) -> None:
        if self.path.startswith("/broken"):
            self.send_error(500, "internal error")
            return
        body = b"<html>not json</html>" if self.path.startswith("/html") else b'{"version": "9.9"}'
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: Any) -> None:
        return None


@pytest.fixture
def server_url() -> Iterator[str]:
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _ServerInfo)
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


def test_connection_to_a_live_server_succeeds_with_its_version(server_url: str) -> None:
    result = InMemoryOrchestrator().validate_connection(server_url, timeout=5)
    assert result.success, result.message
    assert "9.9" in result.message


def test_connection_uses_the_configured_url_by_default(server_url: str) -> None:
    plugin = InMemoryOrchestrator(config={"url": server_url})
    assert plugin.validate_connection(timeout=5).success


def test_an_http_error_is_a_failed_result_naming_the_status(server_url: str) -> None:
    result = InMemoryOrchestrator().validate_connection(f"{server_url}/broken", timeout=5)
    assert not result.success
    assert "HTTP 500" in result.message


def test_an_answer_that_is_not_json_is_a_failed_result(server_url: str) -> None:
    result = InMemoryOrchestrator().validate_connection(f"{server_url}/html", timeout=5)
    assert not result.success
    assert "did not answer JSON" in result.message


def test_a_server_that_does_not_speak_http_is_a_failed_result() -> None:
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(1)

    def answer_garbage() -> None:
        connection, _ = listener.accept()
        with connection:
            connection.recv(1024)
            connection.sendall(b"SSH-2.0-OpenSSH_9.6\r\n")

    thread = threading.Thread(target=answer_garbage, daemon=True)
    thread.start()
    try:
        url = f"http://127.0.0.1:{listener.getsockname()[1]}"
        result = InMemoryOrchestrator().validate_connection(url, timeout=5)
    finally:
        thread.join(timeout=5)
        listener.close()
    assert not result.success
    assert "did not answer HTTP" in result.message


def test_a_url_without_http_scheme_is_a_failed_result() -> None:
    result = InMemoryOrchestrator().validate_connection("ftp://127.0.0.1:21", timeout=2)
    assert not result.success
    assert "http://" in result.message


def test_the_configured_url_must_be_http() -> None:
    with pytest.raises(PluginError, match=r"config\.url"):
        InMemoryOrchestrator(config={"url": "localhost:3000"})


def test_assets_carry_compute_tags_and_metadata() -> None:
    artifacts = make_artifacts(
        [
            make_transform("stg", materialization="ephemeral"),
            make_transform("orders", depends_on=["stg"], compute="warehouse", tags=("core",)),
        ]
    )
    definitions = InMemoryOrchestrator().create_definitions(artifacts)
    orders = definitions.assets["orders"]
    assert (orders.compute, orders.tags) == ("warehouse", frozenset({"core"}))
    assert orders.metadata["relation_name"] == "main.orders"
    assert definitions.assets["stg"].metadata["ephemeral"] is True


def test_schedule_selection_is_resolved_and_enabled_flag_kept() -> None:
    artifacts = make_artifacts(
        [make_transform("stg"), make_transform("orders", depends_on=["stg"]), make_transform("x")],
        schedules=(
            ScheduleConfig(
                name="orders_hourly", cron="@hourly", selection="+orders", enabled=False
            ),
        ),
    )
    schedule = InMemoryOrchestrator().create_definitions(artifacts).schedules["orders_hourly"]
    assert schedule.selection == frozenset({"stg", "orders"})
    assert schedule.enabled is False


def test_definitions_are_immutable() -> None:
    definitions = InMemoryOrchestrator().create_definitions(make_artifacts([make_transform("a")]))
    with pytest.raises(TypeError):
        definitions.assets["b"] = definitions.assets["a"]


def test_helm_values_hold_the_kubernetes_resources_and_product() -> None:
    values = InMemoryOrchestrator().get_helm_values(size="small", artifacts=make_artifacts())
    assert values["server"]["resources"]["limits"] == {"cpu": "1000m", "memory": "2Gi"}
    assert values["product"]["name"] == "test_product"
    assert json.loads(json.dumps(values)) == values
