"""manifest.yaml parsing and composing a Platform from registered in-memory plugins."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import ClassVar

import pytest
from pydantic import BaseModel, ConfigDict

from floe_orchestration_core.lineage import LineageEvent, NoOpLineageBackend, new_run_id
from floe_orchestration_core.plugin import PluginMetadata
from floe_orchestration_core.testing.fakes import InMemoryLineageBackend, InMemoryOrchestrator
from floe_registry.errors import ManifestError, PluginNotFoundError
from floe_registry.loading import register
from floe_registry.platform import Platform, load_platform
from floe_registry.platform_manifest import (
    MAX_MANIFEST_BYTES,
    PostgresStorage,
    SqliteStorage,
    load_manifest,
)


@pytest.fixture
def in_memory_plugins() -> Iterator[None]:
    with register(InMemoryOrchestrator), register(InMemoryLineageBackend):
        yield


# manifest.yaml ---------------------------------------------------------------------------
def test_bare_orchestrator_name_is_accepted(tmp_path: Path) -> None:
    path = tmp_path / "manifest.yaml"
    path.write_text("orchestrator: dagster\n", encoding="utf-8")

    manifest = load_manifest(path)

    assert manifest.orchestrator.type == "dagster"
    assert manifest.orchestrator.config == {}
    assert manifest.lineage is None
    assert isinstance(manifest.storage, SqliteStorage)


def test_full_manifest_parses_every_section(tmp_path: Path) -> None:
    path = tmp_path / "manifest.yaml"
    path.write_text(
        """
orchestrator: {type: dagster, config: {port: 3000}}
lineage:
  type: openlineage
  config: {transport: {type: file, log_file_path: .floe/lineage/events.jsonl}}
compute:
  duckdb: {type: duckdb, properties: {path: warehouse.duckdb}}
storage: {type: postgres, host: db, database: dagster, user: dagster, password_env: PG_PASS}
""",
        encoding="utf-8",
    )

    manifest = load_manifest(path)

    assert manifest.orchestrator.config == {"port": 3000}
    assert manifest.lineage is not None
    assert manifest.lineage.type == "openlineage"
    assert manifest.compute["duckdb"].properties == {"path": "warehouse.duckdb"}
    assert isinstance(manifest.storage, PostgresStorage)
    assert manifest.storage.port == 5432
    assert manifest.storage.password_env == "PG_PASS"


def test_unknown_storage_type_names_the_field_and_allowed_values() -> None:
    with pytest.raises(ManifestError) as caught:
        load_manifest({"orchestrator": "dagster", "storage": {"type": "mysql"}})

    assert caught.value.problems == (("storage", "expected one of: sqlite, postgres; got 'mysql'"),)


def test_unknown_key_lists_the_allowed_keys() -> None:
    with pytest.raises(ManifestError) as caught:
        load_manifest({"orchestrator": "dagster", "orchestator_typo": 1})

    [(path, message)] = caught.value.problems
    assert path == "orchestator_typo"
    assert "orchestrator, lineage, compute, storage" in message


def test_literal_postgres_password_is_refused_in_favour_of_an_env_var_name() -> None:
    with pytest.raises(ManifestError, match="password_env"):
        load_manifest(
            {
                "storage": {
                    "type": "postgres",
                    "host": "db",
                    "database": "d",
                    "user": "u",
                    "password": "hunter2",
                }
            }
        )


def test_every_problem_is_reported_with_its_json_path() -> None:
    with pytest.raises(ManifestError) as caught:
        load_manifest(
            {
                "orchestrator": {"type": "Not A Name"},
                "compute": {"duckdb": {}},
                "storage": {"type": "postgres", "host": "db", "port": 70000},
            }
        )

    paths = {path for path, _ in caught.value.problems}
    assert {
        "orchestrator.type",
        "compute.duckdb.type",
        "storage.port",
        "storage.database",
        "storage.user",
        "storage.password_env",
    } <= paths


@pytest.mark.parametrize(
    ("text", "match"),
    [
        ("", "is empty"),
        ("# only a comment\n", "is empty"),
        ("- a\n- b\n", "top level must be a mapping"),
        ("orchestrator: dagster\norchestrator: other\n", "duplicate key 'orchestrator'"),
        ("orchestrator: !!python/object:os.system x\n", "python/object"),
        ("orchestrator: [unclosed\n", "line"),
    ],
)
def test_unsafe_or_malformed_yaml_is_a_manifest_error(
    tmp_path: Path, text: str, match: str
) -> None:
    path = tmp_path / "manifest.yaml"
    path.write_text(text, encoding="utf-8")

    with pytest.raises(ManifestError, match=match):
        load_manifest(path)


def test_alias_bomb_is_refused(tmp_path: Path) -> None:
    lines = ["a0: &a0 [x, x, x, x, x, x, x, x, x, x]"]
    lines += [f"a{i}: &a{i} [{', '.join([f'*a{i - 1}'] * 10)}]" for i in range(1, 8)]
    path = tmp_path / "manifest.yaml"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")

    with pytest.raises(ManifestError, match="alias"):
        load_manifest(path)


def test_oversized_manifest_is_refused_before_parsing(tmp_path: Path) -> None:
    path = tmp_path / "manifest.yaml"
    path.write_text("# " + "x" * MAX_MANIFEST_BYTES + "\norchestrator: dagster\n")

    with pytest.raises(ManifestError, match="byte limit"):
        load_manifest(path)


def test_missing_manifest_file_says_how_to_create_one(tmp_path: Path) -> None:
    with pytest.raises(ManifestError, match="orchestrator: dagster"):
        load_manifest(tmp_path / "absent.yaml")


# load_platform ------------------------------------------------------------------------------
@pytest.mark.usefixtures("in_memory_plugins")
def test_platform_wires_the_lineage_backend_into_the_orchestrator() -> None:
    platform = load_platform(
        {"orchestrator": "in_memory", "lineage": {"type": "in_memory", "config": {}}}
    )

    assert isinstance(platform.orchestrator, InMemoryOrchestrator)
    assert isinstance(platform.lineage_backend, InMemoryLineageBackend)
    assert platform.orchestrator.lineage_backend is platform.lineage_backend
    platform.close()


@pytest.mark.usefixtures("in_memory_plugins")
def test_emitted_lineage_reaches_the_configured_backend() -> None:
    with load_platform({"orchestrator": "in_memory", "lineage": "in_memory"}) as platform:
        platform.orchestrator.emit_lineage_event("START", "orders", run_id=new_run_id())
        backend = platform.lineage_backend
        assert isinstance(backend, InMemoryLineageBackend)
        assert [event.job_name for event in backend.events] == ["orders"]


@pytest.mark.usefixtures("in_memory_plugins")
def test_absent_lineage_section_gives_the_no_op_backend() -> None:
    platform = load_platform({"orchestrator": "in_memory"})

    assert isinstance(platform.lineage_backend, NoOpLineageBackend)


@pytest.mark.usefixtures("in_memory_plugins")
def test_orchestrator_config_is_validated_against_the_plugins_model() -> None:
    with pytest.raises(ManifestError) as caught:
        load_platform({"orchestrator": {"type": "in_memory", "config": {"url": "nope"}}})

    [(path, _)] = caught.value.problems
    assert path == "orchestrator.config.url"
    assert "fields: url" in str(caught.value)


@pytest.mark.usefixtures("in_memory_plugins")
def test_valid_orchestrator_config_reaches_the_plugin() -> None:
    platform = load_platform(
        {"orchestrator": {"type": "in_memory", "config": {"url": "http://dagster:3000"}}}
    )

    assert isinstance(platform.orchestrator, InMemoryOrchestrator)
    assert platform.orchestrator.settings.url == "http://dagster:3000"


@pytest.mark.usefixtures("in_memory_plugins")
def test_lineage_config_key_the_backend_does_not_accept_is_a_manifest_error() -> None:
    with pytest.raises(ManifestError) as caught:
        load_platform(
            {"orchestrator": "in_memory", "lineage": {"type": "in_memory", "config": {"url": 1}}}
        )

    assert caught.value.problems[0][0] == "lineage.config"
    assert "accepted: namespace" in str(caught.value)


def test_lineage_config_is_validated_against_a_declared_config_model() -> None:
    class Settings(BaseModel):
        model_config = ConfigDict(extra="forbid")
        namespace: str

    class ConfiguredBackend(InMemoryLineageBackend):
        metadata = PluginMetadata(name="configured", version="1", floe_api_version="1.0")
        config_model: ClassVar[type[BaseModel]] = Settings

    with register(InMemoryOrchestrator), register(ConfiguredBackend):
        with pytest.raises(ManifestError) as caught:
            load_platform(
                {"orchestrator": "in_memory", "lineage": {"type": "configured", "config": {}}}
            )
        platform = load_platform(
            {
                "orchestrator": "in_memory",
                "lineage": {"type": "configured", "config": {"namespace": "prod"}},
            }
        )

    assert caught.value.problems[0][0] == "lineage.config.namespace"
    assert platform.lineage_backend.namespace == "prod"


def test_orchestrator_without_config_model_refuses_config() -> None:
    class Bare(InMemoryOrchestrator):
        metadata = PluginMetadata(name="bare", version="1", floe_api_version="1.0")
        config_model = None

    with register(Bare), pytest.raises(ManifestError, match="takes no configuration"):
        load_platform({"orchestrator": {"type": "bare", "config": {"x": 1}}})


@pytest.mark.usefixtures("in_memory_plugins")
def test_unknown_orchestrator_in_the_manifest_lists_installed_ones() -> None:
    with pytest.raises(PluginNotFoundError, match="in_memory"):
        load_platform({"orchestrator": "airflow"})


class _CountingBackend(InMemoryLineageBackend):
    metadata = PluginMetadata(name="counting", version="1", floe_api_version="1.0")

    def __init__(self, *, namespace: str = "floe") -> None:
        super().__init__(namespace=namespace)
        self.flushes = 0

    def flush(self, timeout: float = 5.0) -> bool:
        self.flushes += 1
        return super().flush(timeout)


def test_platform_close_flushes_and_closes_the_backend_once() -> None:
    with register(InMemoryOrchestrator), register(_CountingBackend):
        platform = load_platform({"orchestrator": "in_memory", "lineage": "counting"})
    backend = platform.lineage_backend
    assert isinstance(backend, _CountingBackend)

    assert platform.close() is True
    platform.close()

    assert backend.flushes >= 1
    assert backend.closed
    before = backend.stats().dropped
    backend.emit(
        LineageEvent(event_type="START", job_name="late", job_namespace="floe", run_id=new_run_id())
    )
    assert backend.stats().dropped == before + 1


def test_platform_is_a_context_manager_that_closes() -> None:
    with register(InMemoryOrchestrator), register(InMemoryLineageBackend):
        with load_platform({"orchestrator": "in_memory", "lineage": "in_memory"}) as platform:
            assert isinstance(platform, Platform)
        assert platform.lineage_backend.closed
