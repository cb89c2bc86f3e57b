"""CompiledArtifacts: the contract's validation, JSON paths in errors, and loading."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from pydantic import ValidationError as PydanticValidationError

from floe_orchestration_core.artifacts import (
    SCHEMA_VERSION,
    CompiledArtifacts,
    ComputeTarget,
    load_artifacts,
)
from floe_orchestration_core.errors import ArtifactsError
from floe_orchestration_core.testing.factories import make_artifacts, make_transform


def _document(**changes: Any) -> dict[str, Any]:
    artifacts = make_artifacts(
        [make_transform("stg_orders"), make_transform("orders", depends_on=["stg_orders"])]
    )
    document = artifacts.model_dump(mode="json")
    document.update(changes)
    return document


def test_loading_a_dumped_document_gives_equal_artifacts() -> None:
    artifacts = make_artifacts([make_transform("a"), make_transform("b", depends_on=["a"])])
    assert load_artifacts(json.loads(artifacts.to_json())) == artifacts


def test_schema_is_serialised_under_the_dbt_name_schema() -> None:
    document = _document()
    assert document["transforms"][0]["schema"] == "main"
    assert "schema_name" not in document["transforms"][0]


def test_artifacts_are_frozen() -> None:
    artifacts = make_artifacts([make_transform("a")])
    with pytest.raises(PydanticValidationError):
        artifacts.default_compute = "other"  # type: ignore[misc]


def test_unknown_field_is_refused_with_its_json_path() -> None:
    document = _document()
    document["transforms"][1]["colour"] = "blue"
    with pytest.raises(ArtifactsError) as caught:
        load_artifacts(document)
    assert ("transforms[1].colour", "Extra inputs are not permitted") in caught.value.problems
    assert "transforms[1].colour" in str(caught.value)


def test_missing_field_error_names_the_json_path() -> None:
    document = _document()
    del document["transforms"][0]["materialization"]
    with pytest.raises(ArtifactsError) as caught:
        load_artifacts(document)
    assert caught.value.problems == (("transforms[0].materialization", "Field required"),)


def test_every_invalid_field_is_reported_not_only_the_first() -> None:
    document = _document()
    document["transforms"][0]["resource_type"] = "macro"
    document["metadata"]["compiled_at"] = "2026-01-01T00:00:00"  # naive: refused
    with pytest.raises(ArtifactsError) as caught:
        load_artifacts(document)
    paths = {path for path, _ in caught.value.problems}
    assert paths == {"transforms[0].resource_type", "metadata.compiled_at"}


def test_unknown_compute_target_error_names_the_transform_and_the_defined_targets() -> None:
    document = _document()
    document["transforms"][1]["compute"] = "warehouse"
    with pytest.raises(ArtifactsError) as caught:
        load_artifacts(document)
    ((path, message),) = caught.value.problems
    assert path == "transforms[1].compute"
    assert "'orders'" in message
    assert "'warehouse'" in message
    assert "defined: default" in message


def test_default_compute_must_be_a_defined_target() -> None:
    with pytest.raises(ArtifactsError) as caught:
        load_artifacts(_document(default_compute="nowhere"))
    assert caught.value.problems[0][0] == "default_compute"


def test_repeated_compute_target_names_are_refused() -> None:
    targets = [ComputeTarget(name="duckdb", type="duckdb")] * 2
    with pytest.raises(PydanticValidationError, match="repeated: duckdb"):
        make_artifacts([], compute_targets=targets, default_compute="duckdb")


def test_unknown_partition_is_refused() -> None:
    with pytest.raises(PydanticValidationError, match="partition 'daily'"):
        make_artifacts([make_transform("a", partition="daily")])


def test_sensor_errors_name_the_sensor_without_the_union_tag() -> None:
    document = _document(sensors=[{"type": "file_arrival", "name": "landing"}])
    with pytest.raises(ArtifactsError) as caught:
        load_artifacts(document)
    assert caught.value.problems == (("sensors[0].path", "Field required"),)


def test_unknown_sensor_type_is_refused() -> None:
    document = _document(sensors=[{"type": "sql", "name": "landing"}])
    with pytest.raises(ArtifactsError, match=r"sensors\[0\]"):
        load_artifacts(document)


@pytest.mark.parametrize("version", ["1.0.0", "3.0.0"])
def test_other_major_schema_versions_ask_for_a_recompile(version: str) -> None:
    with pytest.raises(ArtifactsError, match="re-compile") as caught:
        load_artifacts(_document(schema_version=version))
    assert caught.value.problems[0][0] == "schema_version"


def test_newer_minor_schema_version_asks_for_an_upgrade() -> None:
    with pytest.raises(ArtifactsError, match="upgrade floe-orchestration-core"):
        load_artifacts(_document(schema_version="2.2.0"))


def test_an_older_minor_schema_version_is_read_unchanged() -> None:
    """2.1 only added the optional ingestion section: a 2.0.0 document still loads."""
    artifacts = load_artifacts(_document(schema_version="2.0.0"))
    assert artifacts.schema_version == "2.0.0"
    assert artifacts.ingestion == ()


def test_load_from_a_file_path(tmp_path: Path) -> None:
    artifacts = make_artifacts([make_transform("a")])
    path = tmp_path / "compiled_artifacts.json"
    path.write_text(artifacts.to_json(), encoding="utf-8")
    assert load_artifacts(path) == artifacts
    assert load_artifacts(str(path)) == artifacts


def test_missing_file_error_says_how_to_create_it(tmp_path: Path) -> None:
    with pytest.raises(ArtifactsError, match="floe compile"):
        load_artifacts(tmp_path / "nope.json")


def test_invalid_json_error_gives_line_and_column(tmp_path: Path) -> None:
    path = tmp_path / "broken.json"
    path.write_text('{"schema_version": "2.0.0",\n  oops}', encoding="utf-8")
    with pytest.raises(ArtifactsError, match="line 2, column 3"):
        load_artifacts(path)


def test_top_level_must_be_an_object(tmp_path: Path) -> None:
    path = tmp_path / "list.json"
    path.write_text("[]", encoding="utf-8")
    with pytest.raises(ArtifactsError, match="expected a JSON object"):
        load_artifacts(path)


def test_transform_lookup_suggests_close_names() -> None:
    artifacts = make_artifacts([make_transform("stg_orders")])
    assert artifacts.transform("stg_orders").name == "stg_orders"
    with pytest.raises(KeyError, match="did you mean 'stg_orders'"):
        artifacts.transform("stg_order")


def test_relation_name_joins_the_parts_that_exist() -> None:
    full = make_transform("orders", database="analytics", alias="fct_orders")
    assert full.relation_name == "analytics.main.fct_orders"
    bare = make_transform("orders", schema=None, alias=None)
    assert bare.relation_name == "orders"


def test_ephemeral_transforms_are_recognised() -> None:
    assert make_transform("x", materialization="ephemeral").is_ephemeral
    assert not make_transform("y").is_ephemeral


def test_schema_version_constant_matches_the_model_default() -> None:
    assert CompiledArtifacts.model_fields["schema_version"].default == SCHEMA_VERSION == "2.1.0"
