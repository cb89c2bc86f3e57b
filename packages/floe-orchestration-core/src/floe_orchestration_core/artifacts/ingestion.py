"""Declared ingestion: connectors that load a source's streams into a compute target's schema.

An :class:`IngestionConfig` names the connector (the ingestion plugin registered under that
name in the ``floe.ingestion`` entry-point group, e.g. ``airbyte`` or ``dlt``), the source and
its config, the streams it loads and the destination (a compute target and a schema). Each
stream lands as the table ``<schema>.<stream>``, which is a dbt source of the project: the
compiler records that source's key in :attr:`IngestionStream.source_key`, so the stream's asset
*is* the source's asset and the dbt models reading it run after it.

Secrets never appear here: ``config_env`` maps a config key (a dotted path for a nested key) to
the environment variable holding its value, read when the connector runs. A config value whose
key names a secret (password, token, api key, ...) or that looks like an unexpanded
``${VARIABLE}`` is refused with that fix.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Annotated, Any

from pydantic import Field, JsonValue, StringConstraints, model_validator

from floe_orchestration_core.artifacts.fields import (
    EnvVarName,
    FrozenModel,
    Identifier,
    NonEmptyStr,
)

__all__ = [
    "ConnectorName",
    "IngestionConfig",
    "IngestionDestination",
    "IngestionStream",
    "config_secret_problems",
]

#: An ingestion plugin's name (its entry-point name in ``floe.ingestion``).
ConnectorName = Annotated[str, StringConstraints(pattern=r"^[a-z][a-z0-9_-]*$", max_length=64)]

_SECRET_KEY = re.compile(
    r"(^|_)(password|passwd|secret|token|api_?key|apikey|private_?key|credentials?|"
    r"access_?key|client_?secret)($|_)",
    re.IGNORECASE,
)
_ENV_REFERENCE = re.compile(r"\$\{[^}]*\}|^\$[A-Za-z_][A-Za-z0-9_]*$")
#: A config key path in ``config_env``: ``api_key`` or ``credentials.password``.
ConfigKeyPath = Annotated[
    str, StringConstraints(pattern=r"^[A-Za-z_][A-Za-z0-9_-]*(\.[A-Za-z_][A-Za-z0-9_-]*)*$")
]


class IngestionDestination(FrozenModel):
    """Where the streams land: the tables ``<schema>.<stream>`` on compute target ``compute``."""

    compute: Identifier
    schema_name: Identifier = Field(alias="schema")


class IngestionStream(FrozenModel):
    """One stream (Airbyte) or resource (dlt): one table, one asset.

    ``options`` are the connector's per-stream settings (for dlt's filesystem source:
    ``file_glob``, ``format``, ``primary_key``, ``write_disposition``); ``source_key`` is the
    dbt source (``source_name.table``) the stream's table is, set by the compiler.
    """

    name: Identifier
    options: dict[str, JsonValue] = Field(default_factory=dict)
    source_key: NonEmptyStr | None = None


def config_secret_problems(
    config: Mapping[str, Any], config_env: Mapping[str, str], *, path: str = "config"
) -> list[str]:
    """``"path: message"`` lines for literal secrets and ``${VAR}`` strings in ``config``."""
    problems: list[str] = []

    def visit(value: Any, where: str, key: str) -> None:
        if isinstance(value, Mapping):
            for sub_key, sub_value in value.items():
                visit(sub_value, f"{where}.{sub_key}", str(sub_key))
        elif isinstance(value, list):
            for index, item in enumerate(value):
                visit(item, f"{where}[{index}]", key)
        elif isinstance(value, str) and _ENV_REFERENCE.search(value):
            problems.append(
                f"{where}: {value!r} is not expanded; name the environment variable in "
                f"config_env instead ({{{where.removeprefix(path + '.')}: VARIABLE}})"
            )
        elif isinstance(value, str) and value and _SECRET_KEY.search(key):
            problems.append(
                f"{where}: '{key}' looks like a secret and must not be written in floe.yaml; "
                f"put it in an environment variable and name it in config_env "
                f"({{{where.removeprefix(path + '.')}: VARIABLE}})"
            )

    for key, value in config.items():
        visit(value, f"{path}.{key}", str(key))
    for dotted in config_env:
        node: Any = config
        parts = dotted.split(".")
        for part in parts[:-1]:
            node = node.get(part) if isinstance(node, Mapping) else None
        if isinstance(node, Mapping) and parts[-1] in node:
            problems.append(
                f"config_env.{dotted}: '{dotted}' is also written in config; keep it in one "
                "place (the environment variable for a secret)"
            )
    return problems


class IngestionConfig(FrozenModel):
    """One declared ingestion: a connector loading a source's streams into a schema."""

    name: Identifier
    connector: ConnectorName = Field(
        description="the ingestion plugin (entry point in 'floe.ingestion'), e.g. airbyte, dlt"
    )
    source: NonEmptyStr = Field(
        description="the connector's source, e.g. 'source-faker' (Airbyte), 'filesystem' (dlt)"
    )
    config: dict[str, JsonValue] = Field(default_factory=dict)
    config_env: dict[ConfigKeyPath, EnvVarName] = Field(
        default_factory=dict,
        description="config key (dotted for nested keys) -> environment variable holding it",
    )
    streams: tuple[IngestionStream, ...] = Field(min_length=1)
    destination: IngestionDestination
    base_dir: NonEmptyStr = Field(
        default=".",
        description="the folder relative paths in config and options start from (floe.yaml's "
        "folder, relative to where the artifacts' relative paths start)",
    )
    description: str = ""
    tags: tuple[str, ...] = ()

    @model_validator(mode="after")
    def _no_secrets_and_unique_streams(self) -> IngestionConfig:
        problems = config_secret_problems(self.config, self.config_env)
        seen: set[str] = set()
        for index, stream in enumerate(self.streams):
            if stream.name.lower() in seen:
                problems.append(
                    f"streams[{index}].name: stream '{stream.name}' is listed twice; list it once"
                )
            seen.add(stream.name.lower())
        if problems:
            raise ValueError("\n".join(problems))
        return self

    def stream(self, name: str) -> IngestionStream:
        """The stream called ``name``; KeyError naming the entry's streams otherwise."""
        for stream in self.streams:
            if stream.name == name:
                return stream
        raise KeyError(
            f"ingestion '{self.name}' has no stream '{name}'; streams: "
            + ", ".join(s.name for s in self.streams)
        )

    def table(self, stream: str) -> str:
        """``<schema>.<stream>``: the table the stream lands as."""
        return f"{self.destination.schema_name}.{stream}"
