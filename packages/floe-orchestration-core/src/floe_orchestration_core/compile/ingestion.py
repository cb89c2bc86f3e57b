"""floe.yaml's ``ingestion:`` section, and which dbt source each declared stream is.

floe.yaml spells an entry like this (``resources:`` is accepted for ``streams:``, as dlt calls
them; a stream is a name or a mapping of its name and the connector's per-stream options)::

    ingestion:
      - name: shop
        connector: airbyte
        source: source-faker==7.2.1
        config: {count: 500, seed: 1}
        config_env: {api_key: SHOP_API_KEY}      # secrets: the variable's name, never the value
        streams: [users, products, purchases]
        destination: {compute: duckdb, schema: raw}
      - name: landing
        connector: dlt
        source: filesystem
        config: {bucket_url: data/landing}
        resources:
          - {name: orders, file_glob: "orders_*.csv", primary_key: order_id}
        destination: {compute: duckdb, schema: raw}

:func:`resolve_ingestion` checks the entries against the dbt project, both ways:

- each stream lands as the table ``<schema>.<stream>``, which must be a dbt source (its
  ``schema`` and its ``identifier`` or name, compared case-insensitively); the source's key is
  recorded on the stream;
- a dbt source in a schema an entry lands in that no stream (and no Python asset) produces is
  reported: the project reads a table nothing loads.

Every problem is a ``(json_path, message)`` pair naming the fix; the compiler raises them all
at once as a :class:`~floe_orchestration_core.errors.ProductSpecError`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, JsonValue, model_validator

from floe_orchestration_core.artifacts import IngestionDestination, SourceConfig
from floe_orchestration_core.artifacts.fields import EnvVarName, Identifier, NonEmptyStr
from floe_orchestration_core.artifacts.ingestion import (
    ConfigKeyPath,
    ConnectorName,
    config_secret_problems,
)
from floe_orchestration_core.errors import ProductSpecError

__all__ = ["IngestionSpec", "IngestionStreamSpec", "ingestion_section", "resolve_ingestion"]


class IngestionStreamSpec(BaseModel):
    """A stream as floe.yaml writes it: ``users`` or ``{name: orders, file_glob: ...}``."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    name: Identifier
    options: dict[str, JsonValue] = Field(default_factory=dict)

    @model_validator(mode="before")
    @classmethod
    def _name_or_mapping(cls, value: Any) -> Any:
        if isinstance(value, str):
            return {"name": value}
        if isinstance(value, Mapping) and "options" not in value:
            options = {k: v for k, v in value.items() if k != "name"}
            return {"name": value.get("name"), "options": options}
        return value


class IngestionSpec(BaseModel):
    """One entry of floe.yaml's ``ingestion:`` (the artifacts' ``IngestionConfig`` before the
    compiler matches its streams to dbt sources)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    name: Identifier
    connector: ConnectorName
    source: NonEmptyStr
    config: dict[str, JsonValue] = Field(default_factory=dict)
    config_env: dict[ConfigKeyPath, EnvVarName] = Field(default_factory=dict)
    streams: tuple[IngestionStreamSpec, ...] = Field(min_length=1)
    destination: IngestionDestination
    description: str = ""
    tags: tuple[str, ...] = ()

    @model_validator(mode="before")
    @classmethod
    def _resources_are_streams(cls, value: Any) -> Any:
        if isinstance(value, Mapping) and "resources" in value:
            if "streams" in value:
                raise ValueError(
                    "both 'streams' and 'resources' are given; they are the same list (dlt "
                    "calls streams resources): keep one"
                )
            value = {("streams" if k == "resources" else k): v for k, v in value.items()}
        return value

    @model_validator(mode="after")
    def _no_literal_secrets(self) -> IngestionSpec:
        problems = config_secret_problems(self.config, self.config_env)
        if problems:
            raise ValueError("\n".join(problems))
        return self


def _table_of(source: SourceConfig) -> tuple[str, str]:
    schema = source.schema_name or source.source_name
    return schema.lower(), (source.identifier or source.name).lower()


def _in_schema(sources: Sequence[SourceConfig], schema: str) -> str:
    names = sorted(s.key for s in sources if _table_of(s)[0] == schema.lower())
    return ", ".join(names) if names else "none"


def resolve_ingestion(
    entries: Sequence[IngestionSpec],
    sources: Sequence[SourceConfig],
    produced_by_python: Mapping[str, str],
) -> tuple[list[dict[str, Any]], list[tuple[str, str]]]:
    """The entries as artifacts fields (streams with their ``source_key``) and the problems.

    ``produced_by_python`` maps the source keys Python assets produce to the asset's name.
    """
    by_table: dict[tuple[str, str], list[SourceConfig]] = {}
    for source in sources:
        by_table.setdefault(_table_of(source), []).append(source)
    problems: list[tuple[str, str]] = []
    resolved: list[dict[str, Any]] = []
    landed: set[str] = set()
    for index, entry in enumerate(entries):
        schema = entry.destination.schema_name
        streams: list[dict[str, Any]] = []
        for j, stream in enumerate(entry.streams):
            path = f"ingestion[{index}].streams[{j}]"
            matches = by_table.get((schema.lower(), stream.name.lower()), [])
            key: str | None = None
            if not matches:
                problems.append(
                    (
                        path,
                        f"stream '{stream.name}' lands as table {schema}.{stream.name}, but no "
                        f"dbt source is that table (dbt sources in schema {schema}: "
                        f"{_in_schema(sources, schema)}); declare it in a sources .yml "
                        f"(schema: {schema}, tables: [{{name: {stream.name}}}]) or fix the "
                        "stream's name",
                    )
                )
            elif len(matches) > 1:
                problems.append(
                    (
                        path,
                        f"table {schema}.{stream.name} is declared by several dbt sources "
                        f"({', '.join(sorted(m.key for m in matches))}); keep one",
                    )
                )
            else:
                key = matches[0].key
                landed.add(key)
            streams.append({"name": stream.name, "options": stream.options, "source_key": key})
        resolved.append({**entry.model_dump(by_alias=True), "streams": streams})
    problems.extend(_unloaded_sources(entries, sources, landed, produced_by_python))
    return resolved, problems


def _unloaded_sources(
    entries: Sequence[IngestionSpec],
    sources: Sequence[SourceConfig],
    landed: set[str],
    produced_by_python: Mapping[str, str],
) -> list[tuple[str, str]]:
    """A dbt source in a schema some entry lands in, that nothing produces."""
    first_entry: dict[str, int] = {}
    for index, entry in enumerate(entries):
        first_entry.setdefault(entry.destination.schema_name.lower(), index)
    problems: list[tuple[str, str]] = []
    for source in sources:
        schema, table = _table_of(source)
        owner = first_entry.get(schema)
        if owner is None or source.key in landed or source.key in produced_by_python:
            continue
        entry = entries[owner]
        problems.append(
            (
                f"ingestion[{owner}].streams",
                f"dbt source '{source.key}' is table {schema}.{table}, in schema "
                f"{entry.destination.schema_name} where ingestion '{entry.name}' lands, but no "
                f"stream loads it; add '{table}' to the streams of '{entry.name}', or move the "
                "source to a schema no ingestion writes",
            )
        )
    return problems


def ingestion_section(
    entries: Sequence[IngestionSpec],
    sources: Sequence[Mapping[str, Any]],
    produced_by_python: Mapping[str, str],
    *,
    base_dir: str,
    origin: str,
) -> list[dict[str, Any]]:
    """The artifacts' ``ingestion`` section: :func:`resolve_ingestion` on the compiled sources
    (their artifacts fields), every problem raised at once as a ProductSpecError of ``origin``;
    ``base_dir`` is floe.yaml's folder as the artifacts' relative paths see it."""
    if not entries:
        return []
    configs = [SourceConfig.model_validate(source) for source in sources]
    resolved, problems = resolve_ingestion(entries, configs, produced_by_python)
    if problems:
        listing = "\n".join(f"  {path}: {message}" for path, message in problems)
        raise ProductSpecError(
            f"{origin}: {len(problems)} ingestion problem(s):\n{listing}", problems
        )
    return [{**entry, "base_dir": base_dir} for entry in resolved]
