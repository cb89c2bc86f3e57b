"""Configuration problems are LineageErrors naming the key and the fix, raised at build time."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from floe_lineage_openlineage.backend import OpenLineageBackend
from floe_lineage_openlineage.config import OpenLineageConfig
from floe_orchestration_core.errors import LineageError


@pytest.mark.parametrize(
    ("transport", "message"),
    [
        ({"type": "http"}, "needs 'url'"),
        ({"type": "http", "url": "marquez:5000"}, "http(s) URL"),
        ({"type": "http", "url": "http://u:p@marquez:5000"}, "must not carry credentials"),
        (
            {"type": "http", "url": "http://m:5000", "auth": {"type": "api_key", "apiKey": "k"}},
            "api_key_env",
        ),
        ({"type": "http", "url": "http://m:5000", "timeout": 0}, "positive number"),
        ({"type": "http", "url": "http://m:5000", "headers_env": {"X-A": 1}}, "headers_env"),
        ({"type": "file"}, "needs 'log_file_path'"),
        ({"type": "carrier-pigeon"}, "not supported"),
        ({"url": "http://m:5000"}, "needs a 'type'"),
        ({"type": "composite", "transports": []}, "non-empty"),
        ({"type": "composite", "transports": [{"type": "http"}]}, "transports[0]: a http"),
        ({"type": "kafka", "topic": "ol"}, "needs 'config'"),
    ],
)
def test_invalid_transport_configuration_names_the_problem(
    transport: dict[str, Any], message: str
) -> None:
    with pytest.raises(LineageError, match="transport") as caught:
        OpenLineageBackend(transport=transport)
    assert message in str(caught.value)


def test_an_unset_api_key_variable_names_the_variable(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("FLOE_TEST_UNSET_KEY", raising=False)
    with pytest.raises(LineageError, match=r"FLOE_TEST_UNSET_KEY.*not set"):
        OpenLineageBackend(
            transport={"type": "http", "url": "http://m:5000", "api_key_env": "FLOE_TEST_UNSET_KEY"}
        )


def test_an_unset_header_variable_in_a_composite_child_names_its_path(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("FLOE_TEST_UNSET_HEADER", raising=False)
    transport = {
        "type": "composite",
        "transports": {
            "console": {"type": "console"},
            "marquez": {
                "type": "http",
                "url": "http://m:5000",
                "headers_env": {"X-Token": "FLOE_TEST_UNSET_HEADER"},
            },
        },
    }
    with pytest.raises(LineageError, match=r"transports\.marquez\.headers_env\.X-Token"):
        OpenLineageBackend(transport=transport)


@pytest.mark.parametrize(
    ("config", "field"),
    [
        ({"queue_size": 100}, "queue_size is replaced by spool_max_bytes"),
        ({"spool_max_bytes": 10}, "spool_max_bytes"),
        ({"flush_timeout": -1}, "flush_timeout"),
        ({"producer": "not a uri"}, "producer"),
        ({"namespace": ""}, "namespace"),
    ],
)
def test_invalid_settings_name_the_field(config: dict[str, Any], field: str) -> None:
    with pytest.raises(LineageError, match=field):
        OpenLineageBackend(**config)


def test_the_config_model_accepts_the_documented_examples() -> None:
    for transport in (
        {"type": "console"},
        {"type": "file", "log_file_path": ".floe/lineage/events.jsonl", "append": True},
        {"type": "http", "url": "http://marquez:5000", "endpoint": "api/v1/lineage"},
        {"type": "composite", "transports": [{"type": "console"}, {"type": "noop"}]},
        {"type": "kafka", "topic": "ol", "config": {"bootstrap.servers": "k:9092"}},
    ):
        assert OpenLineageConfig(transport=transport).transport == transport


def test_the_kafka_transport_without_its_extra_says_what_to_install() -> None:
    try:
        import confluent_kafka  # type: ignore[import-not-found,unused-ignore]  # noqa: F401
    except ImportError:
        pass
    else:
        pytest.skip("confluent-kafka is installed")
    with pytest.raises(LineageError, match=r"floe-lineage-openlineage\[kafka\]"):
        OpenLineageBackend(
            transport={"type": "kafka", "topic": "ol", "config": {"bootstrap.servers": "k:9092"}}
        )


def test_importing_the_backend_class_does_not_import_the_openlineage_client() -> None:
    code = (
        "import sys, floe_lineage_openlineage.backend as b; b.OpenLineageBackend; "
        "print(sorted(m for m in sys.modules if m.startswith(('openlineage', 'requests'))))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], check=True, capture_output=True, text=True, timeout=60
    )
    assert out.stdout.strip() == "[]"


def test_a_relative_log_file_starts_from_base_dir_and_its_folder_is_created(
    tmp_path: Path,
) -> None:
    from floe_lineage_openlineage.backend import OpenLineageBackend
    from floe_orchestration_core.lineage import LineageEvent, new_run_id

    backend = OpenLineageBackend(
        transport={"type": "file", "log_file_path": ".floe/lineage/events.jsonl", "append": True},
        base_dir=str(tmp_path),
    )
    backend.emit(
        LineageEvent(event_type="START", job_name="j", job_namespace="n", run_id=new_run_id())
    )
    backend.close(5.0)
    written = tmp_path / ".floe" / "lineage" / "events.jsonl"
    assert written.is_file()
    assert backend.stats().delivered == 1
    assert (
        '"eventType": "START"' in written.read_text()
        or '"eventType":"START"' in written.read_text()
    )


def test_a_relative_spool_dir_starts_from_base_dir(tmp_path: Path) -> None:
    backend = OpenLineageBackend(spool_dir="spool", base_dir=str(tmp_path))
    try:
        assert backend.spool_folder == tmp_path / "spool"
        assert backend.spool_is_durable
        assert (tmp_path / "spool" / "deliver.lock").is_file()
    finally:
        backend.close(0.1)


def test_the_product_s_state_dir_holds_the_spool(tmp_path: Path) -> None:
    backend = OpenLineageBackend(state_dir=str(tmp_path / ".floe"))
    try:
        assert backend.spool_folder == tmp_path / ".floe" / "lineage" / "spool"
    finally:
        backend.close(0.1)
