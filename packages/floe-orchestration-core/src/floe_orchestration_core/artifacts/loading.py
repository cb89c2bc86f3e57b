"""Reading CompiledArtifacts: :func:`load_artifacts`, errors by JSON path, the JSON Schema."""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from pydantic import ValidationError as PydanticValidationError

from floe_orchestration_core.artifacts.compiled import (
    READABLE_SCHEMA_VERSIONS,
    SCHEMA_VERSION,
    CompiledArtifacts,
)
from floe_orchestration_core.errors import ArtifactsError
from floe_orchestration_core.gc_pause import paused_gc

__all__ = ["artifacts_json_schema", "format_pydantic_errors", "load_artifacts"]

_IDENTIFIER_KEY = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
_PATH_PREFIX = re.compile(
    r"^[A-Za-z_][A-Za-z0-9_]*(\[\d+\])*(\.[A-Za-z_][A-Za-z0-9_]*(\[\d+\])*)*: "
)


def format_pydantic_errors(exc: PydanticValidationError) -> list[tuple[str, str]]:
    """Turn pydantic errors into ``(json_path, message)`` pairs, e.g. ``transforms[3].compute``.

    Discriminated-union tags (``file_arrival``…) are dropped from the path, as a user never
    writes them.
    """
    problems: list[tuple[str, str]] = []
    for error in exc.errors(include_url=False):
        path = ""
        for part in error["loc"]:
            if isinstance(part, int):
                path += f"[{part}]"
            elif part in ("file_arrival", "run_failure", "asset_check_failure"):
                continue
            elif _IDENTIFIER_KEY.match(str(part)):
                path += f".{part}" if path else str(part)
            else:
                path += f"[{json.dumps(str(part))}]"
        message = str(error["msg"])
        if message.startswith("Value error, "):
            message = message[len("Value error, ") :]
        if error["type"] == "value_error" and all(
            _PATH_PREFIX.match(line) for line in message.splitlines()
        ):
            # A cross-field check reports "json.path: message" lines relative to this model.
            for line in message.splitlines():
                sub_path, _, sub_message = line.partition(": ")
                joined = f"{path}.{sub_path}" if path else sub_path
                problems.append((joined, sub_message))
            continue
        problems.append((path or "$", message))
    return problems


def load_artifacts(source: str | Path | Mapping[str, Any]) -> CompiledArtifacts:
    """Load and validate CompiledArtifacts from a JSON file path or an already-parsed mapping.

    Raises :class:`ArtifactsError` whose message lists every invalid field by JSON path, e.g.
    ``transforms[3].materialization: Field required``.
    """
    origin = "artifacts"
    if isinstance(source, str | Path):
        path = Path(source)
        origin = str(path)
        try:
            text = path.read_text(encoding="utf-8")
        except FileNotFoundError:
            raise ArtifactsError(
                f"{path}: no such file; create it with 'floe compile --dbt-manifest "
                "target/manifest.json -o compiled_artifacts.json'"
            ) from None
        except OSError as exc:
            raise ArtifactsError(f"{path}: cannot be read ({exc.strerror})") from exc
        try:
            # The fast path: pydantic parses and validates in one pass, without an
            # intermediate dict. Any problem is reported by the path below, which names it.
            with paused_gc():
                return CompiledArtifacts.model_validate_json(text)
        except PydanticValidationError:
            pass
        try:
            data: Any = json.loads(text)
        except json.JSONDecodeError as exc:
            raise ArtifactsError(
                f"{path}: not valid JSON (line {exc.lineno}, column {exc.colno}: {exc.msg})"
            ) from exc
    else:
        data = source
    if not isinstance(data, Mapping):
        raise ArtifactsError(
            f"{origin}: expected a JSON object at the top level, got {type(data).__name__}"
        )
    version = data.get("schema_version")
    if version is not None and version not in READABLE_SCHEMA_VERSIONS:
        major = str(version).split(".")[0]
        advice = (
            "re-compile the product with this floe version ('floe compile')"
            if major != SCHEMA_VERSION.split(".")[0]
            else "upgrade floe-orchestration-core"
        )
        raise ArtifactsError(
            f"{origin}: schema_version '{version}' is not supported (this floe reads "
            f"{', '.join(READABLE_SCHEMA_VERSIONS)}); {advice}",
            [("schema_version", f"expected '{SCHEMA_VERSION}', got '{version}'")],
        )
    try:
        return CompiledArtifacts.model_validate(dict(data))
    except PydanticValidationError as exc:
        problems = format_pydantic_errors(exc)
        listing = "\n".join(f"  {path}: {message}" for path, message in problems)
        raise ArtifactsError(
            f"{origin}: {len(problems)} invalid field(s):\n{listing}", problems
        ) from exc


def artifacts_json_schema() -> dict[str, Any]:
    """The JSON Schema of CompiledArtifacts (the file in docs/reference is generated from it)."""
    schema = CompiledArtifacts.model_json_schema(mode="validation", by_alias=True)
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    schema["$id"] = f"https://floe.dev/schemas/compiled-artifacts/{SCHEMA_VERSION}.json"
    schema["title"] = f"CompiledArtifacts {SCHEMA_VERSION}"
    return schema
