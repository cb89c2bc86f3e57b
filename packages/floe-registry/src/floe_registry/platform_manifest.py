"""``manifest.yaml``: the platform engineer's choice of orchestrator, lineage, compute, storage.

Schema (every section but ``orchestrator`` is optional)::

    orchestrator: dagster              # or {type: dagster, config: {...}}
    lineage:                           # absent: lineage is a no-op
      type: openlineage
      config: {transport: {type: file, log_file_path: .floe/lineage/events.jsonl}}
    compute:                           # platform compute targets, name -> {type, properties}
      duckdb: {type: duckdb}
    storage: {type: sqlite}            # default; or
    # storage: {type: postgres, host: db, port: 5432, database: dagster, user: dagster,
    #           password_env: DAGSTER_PG_PASSWORD}   # the env var's name, never the password

The file is read with the core's safe, size-bounded YAML reader (no Python tags, no alias
bombs, no duplicate keys). Plugin ``config`` sections are kept as plain mappings here and
validated against each plugin's own ``config_model`` when the platform is composed
(:func:`floe_registry.platform.load_platform`), with paths such as ``orchestrator.config.port``.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    JsonValue,
    StringConstraints,
    field_validator,
    model_validator,
)
from pydantic import ValidationError as PydanticValidationError

from floe_orchestration_core.env_secrets import refuse_literal_secrets
from floe_orchestration_core.errors import ProductSpecError
from floe_orchestration_core.safe_yaml import (
    YamlDocument,
    YamlLines,
    load_yaml_document,
    read_bounded,
    with_lines,
)
from floe_registry.errors import ManifestError

__all__ = [
    "DEFAULT_MANIFEST_NAME",
    "MAX_MANIFEST_BYTES",
    "ComputeTargetSpec",
    "PlatformManifest",
    "PluginSelection",
    "PostgresStorage",
    "SqliteStorage",
    "load_manifest",
]

#: The file name ``floe`` looks for in the working directory.
DEFAULT_MANIFEST_NAME = "manifest.yaml"
#: Largest manifest accepted, in bytes.
MAX_MANIFEST_BYTES = 256 * 1024

PluginName = Annotated[str, StringConstraints(pattern=r"^[a-z][a-z0-9_-]*$", max_length=64)]
Identifier = Annotated[str, StringConstraints(pattern=r"^[A-Za-z_][A-Za-z0-9_]*$", max_length=128)]
EnvVarName = Annotated[str, StringConstraints(pattern=r"^[A-Za-z_][A-Za-z0-9_]*$", max_length=128)]


class _Strict(BaseModel):
    # A refused value (a literal password) is never echoed, not even by `floe --debug`.
    model_config = ConfigDict(frozen=True, extra="forbid", hide_input_in_errors=True)


class PluginSelection(_Strict):
    """Which plugin to use (its entry-point name) and its configuration mapping."""

    type: PluginName
    config: dict[str, JsonValue] = Field(default_factory=dict)

    @model_validator(mode="before")
    @classmethod
    def _bare_name(cls, value: Any) -> Any:
        return {"type": value} if isinstance(value, str) else value


class ComputeTargetSpec(_Strict):
    """A compute target the platform offers: the warehouse adapter type and its properties."""

    type: Annotated[str, StringConstraints(min_length=1)]
    properties: dict[str, JsonValue] = Field(default_factory=dict)

    @field_validator("properties")
    @classmethod
    def _no_literal_secret(cls, value: dict[str, JsonValue]) -> dict[str, JsonValue]:
        refuse_literal_secrets(value, "manifest.yaml")
        return value


class SqliteStorage(_Strict):
    """Orchestrator instance storage in a local SQLite directory (the embedded default)."""

    type: Literal["sqlite"] = "sqlite"
    path: str = ".floe/instance"


class PostgresStorage(_Strict):
    """Orchestrator instance storage in Postgres; the password is read from ``password_env``."""

    type: Literal["postgres"]
    host: Annotated[str, StringConstraints(min_length=1)]
    port: Annotated[int, Field(ge=1, le=65_535)] = 5432
    database: Annotated[str, StringConstraints(min_length=1)]
    user: Annotated[str, StringConstraints(min_length=1)]
    password_env: EnvVarName

    @model_validator(mode="before")
    @classmethod
    def _no_literal_password(cls, value: Any) -> Any:
        if isinstance(value, Mapping) and "password" in value:
            raise ValueError(
                "a literal 'password' is not accepted; put the password in an environment "
                "variable and give its name as 'password_env' (e.g. DAGSTER_PG_PASSWORD)"
            )
        return value


Storage = Annotated[SqliteStorage | PostgresStorage, Field(discriminator="type")]


class PlatformManifest(_Strict):
    """The parsed and validated ``manifest.yaml``."""

    orchestrator: PluginSelection = Field(default_factory=lambda: PluginSelection(type="dagster"))
    lineage: PluginSelection | None = None
    compute: dict[Identifier, ComputeTargetSpec] = Field(default_factory=dict)
    storage: Storage = Field(default_factory=SqliteStorage)


_IDENTIFIER_KEY = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
_UNION_TAGS = {"sqlite", "postgres"}


def _problems(exc: PydanticValidationError) -> list[tuple[str, str]]:
    problems: list[tuple[str, str]] = []
    for error in exc.errors(include_url=False):
        original = list(error["loc"])
        loc = list(original)
        if len(loc) >= 2 and loc[0] == "storage" and loc[1] in _UNION_TAGS:
            del loc[1]
        path = ""
        for part in loc:
            if isinstance(part, int):
                path += f"[{part}]"
            elif _IDENTIFIER_KEY.match(str(part)):
                path += f".{part}" if path else str(part)
            else:
                path += f"[{json.dumps(str(part))}]"
        message = str(error["msg"]).removeprefix("Value error, ")
        if error["type"] == "union_tag_invalid":
            message = f"expected one of: sqlite, postgres; got {error['input'].get('type')!r}"
        elif error["type"] == "union_tag_not_found":
            message = "missing 'type'; expected one of: sqlite, postgres"
        elif error["type"] == "extra_forbidden":
            allowed = _allowed_keys(original[:-1])
            message = f"unknown key; allowed keys here: {allowed}"
        elif error["type"] == "string_pattern_mismatch" and loc and loc[-1] == "type":
            message = (
                f"{error['input']!r} is not a plugin name (lowercase letters, digits, '_' and '-'; "
                "e.g. 'dagster')"
            )
        problems.append((path or "$", message))
    return problems


def _allowed_keys(loc: list[int | str]) -> str:
    model: type[BaseModel] = PlatformManifest
    if loc and loc[0] in ("orchestrator", "lineage"):
        model = PluginSelection
    elif loc and loc[0] == "compute":
        model = ComputeTargetSpec
    elif loc and loc[0] == "storage":
        model = PostgresStorage if len(loc) > 1 and loc[1] == "postgres" else SqliteStorage
    return ", ".join(model.model_fields)


def _read_manifest_text(path: Path) -> str:
    data = read_bounded(
        path,
        limit=MAX_MANIFEST_BYTES,
        what="manifest.yaml",
        expected_size="a platform and should be a few kilobytes",
        when_missing="write a manifest.yaml with at least 'orchestrator: dagster', or leave "
        "out --manifest to use the defaults",
        error=ManifestError,
    )
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ManifestError(f"{path}: not UTF-8 text (byte {exc.start})") from exc


def _is_blank_yaml(text: str) -> bool:
    return all(
        not stripped or stripped.startswith("#") or stripped in ("---", "...")
        for stripped in (line.strip() for line in text.splitlines())
    )


def _parse_yaml(text: str, origin: str) -> YamlDocument:
    if _is_blank_yaml(text):
        raise ManifestError(f"{origin} is empty; write at least 'orchestrator: dagster'")
    try:
        return load_yaml_document(
            text,
            origin=origin,
            keys="orchestrator:, lineage:, compute:, storage:",
            minimal="orchestrator: dagster",
        )
    except ProductSpecError as exc:
        raise ManifestError(str(exc)) from exc


def load_manifest(source: str | Path | Mapping[str, Any] | PlatformManifest) -> PlatformManifest:
    """Read and validate a platform manifest from a YAML file path or a parsed mapping.

    Raises :class:`ManifestError` whose message lists every problem by JSON path, with the
    line of a file, e.g. ``line 4: storage.type: expected one of: sqlite, postgres; got
    'mysql'``.
    """
    if isinstance(source, PlatformManifest):
        return source
    lines: YamlLines | None = None
    if isinstance(source, str | Path):
        origin = str(source)
        document = _parse_yaml(_read_manifest_text(Path(source)), origin)
        data: Any = document.data
        lines = document.lines
    else:
        origin = "manifest"
        data = source
    if not isinstance(data, Mapping):
        raise ManifestError(
            f"{origin}: expected a mapping at the top level, got {type(data).__name__}"
        )
    try:
        return PlatformManifest.model_validate(dict(data))
    except PydanticValidationError as exc:
        problems = _problems(exc)
        listing = "\n".join(f"  {entry}" for entry in with_lines(problems, lines))
        raise ManifestError(f"{origin}: {len(problems)} problem(s):\n{listing}", problems) from exc
