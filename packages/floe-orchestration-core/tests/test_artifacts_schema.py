"""The published JSON Schema of CompiledArtifacts must match the model.

docs/reference/compiled-artifacts.schema.json is what other tools read. When the model
changes, regenerate it on purpose::

    FLOE_REGENERATE_SCHEMA=1 uv run pytest \
        packages/floe-orchestration-core/tests/test_artifacts_schema.py
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import jsonschema
import pytest

from floe_orchestration_core.artifacts import artifacts_json_schema
from floe_orchestration_core.testing.factories import make_artifacts, make_transform

SCHEMA_FILE = Path(__file__).resolve().parents[3] / "docs/reference/compiled-artifacts.schema.json"


def _rendered() -> str:
    return json.dumps(artifacts_json_schema(), indent=2, sort_keys=True) + "\n"


def test_published_schema_matches_the_model() -> None:
    if os.environ.get("FLOE_REGENERATE_SCHEMA") == "1":
        SCHEMA_FILE.write_text(_rendered(), encoding="utf-8")
    if not SCHEMA_FILE.exists():
        pytest.fail(f"{SCHEMA_FILE} is missing; regenerate it (see this module's docstring)")
    assert SCHEMA_FILE.read_text(encoding="utf-8") == _rendered(), (
        "the CompiledArtifacts model changed but docs/reference/compiled-artifacts.schema.json "
        "did not: regenerate it with FLOE_REGENERATE_SCHEMA=1 (see this module's docstring) "
        "and bump SCHEMA_VERSION if documents valid before are now refused"
    )


def test_dumped_artifacts_validate_against_the_published_schema() -> None:
    artifacts = make_artifacts(
        [
            make_transform("a", tags=("x",), meta={"k": [1, "two"]}),
            make_transform("b", depends_on=["a"]),
        ]
    )
    schema = json.loads(SCHEMA_FILE.read_text(encoding="utf-8"))
    jsonschema.validate(json.loads(artifacts.to_json()), schema)


def test_published_schema_refuses_unknown_fields() -> None:
    document = json.loads(make_artifacts([make_transform("a")]).to_json())
    document["transforms"][0]["colour"] = "blue"
    schema = json.loads(SCHEMA_FILE.read_text(encoding="utf-8"))
    with pytest.raises(jsonschema.ValidationError, match="colour"):
        jsonschema.validate(document, schema)
