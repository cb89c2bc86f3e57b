"""Each dbt op keeps its own partial-parse state between runs."""

from __future__ import annotations

from pathlib import Path

import pytest

from floe_orchestrator_dagster.dbt.parse_cache import (
    CACHE_FOLDER,
    PARTIAL_PARSE,
    parse_cache_target,
    store_parse_cache,
)


@pytest.fixture(autouse=True)
def _default_target(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("DBT_TARGET_PATH", raising=False)


def test_a_new_target_folder_is_seeded_with_the_ops_own_state(tmp_path: Path) -> None:
    first = parse_cache_target(tmp_path, "dbt_duckdb", "abcdef123")
    assert not first.is_absolute()
    assert first.parent == Path("target")
    assert first.name.startswith("dbt_duckdb-abcdef1-")
    assert not (tmp_path / first / PARTIAL_PARSE).exists()  # nothing cached yet
    (tmp_path / first).mkdir(parents=True)
    (tmp_path / first / PARTIAL_PARSE).write_bytes(b"state of dbt_duckdb")
    store_parse_cache(tmp_path, "dbt_duckdb", first)

    second = parse_cache_target(tmp_path, "dbt_duckdb", "fedcba987")
    assert second != first
    assert (tmp_path / second / PARTIAL_PARSE).read_bytes() == b"state of dbt_duckdb"
    other = parse_cache_target(tmp_path, "dbt_duckdb_heavy", "fedcba987")
    assert not (tmp_path / other / PARTIAL_PARSE).exists()  # ops never share state
    assert (tmp_path / "target" / CACHE_FOLDER / "dbt_duckdb.msgpack").is_file()


def test_nothing_written_keeps_the_previous_state(tmp_path: Path) -> None:
    cached = tmp_path / "target" / CACHE_FOLDER / "op.msgpack"
    cached.parent.mkdir(parents=True)
    cached.write_bytes(b"old")
    store_parse_cache(tmp_path, "op", Path("target") / "op-run-empty")
    assert cached.read_bytes() == b"old"


def test_an_absolute_dbt_target_path_is_respected(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DBT_TARGET_PATH", str(tmp_path / "elsewhere"))
    target = parse_cache_target(tmp_path / "project", "op", "0123456789")
    assert target.is_absolute()
    assert target.parent == tmp_path / "elsewhere"
