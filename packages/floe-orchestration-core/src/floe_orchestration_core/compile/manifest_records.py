"""The version-normalised records :mod:`floe_orchestration_core.compile.manifest` reads a dbt
``manifest.json`` into: one shape for every manifest schema version."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

__all__ = [
    "ColumnRecord",
    "DbtManifest",
    "ExposureRecord",
    "NodeRecord",
    "SourceRecord",
    "TestRecord",
]


@dataclass(frozen=True, slots=True)
class ColumnRecord:
    """A documented column of a node or source."""

    name: str
    data_type: str | None
    description: str


@dataclass(frozen=True, slots=True)
class NodeRecord:
    """An enabled model, seed or snapshot, version-normalised."""

    unique_id: str
    resource_type: str
    name: str
    package_name: str
    path: str
    database: str | None
    schema: str | None
    alias: str | None
    materialized: str | None
    language: str | None
    version: str | None
    depends_on: tuple[str, ...]
    tags: tuple[str, ...]
    meta: dict[str, Any]
    description: str
    owners: tuple[str, ...]
    columns: tuple[ColumnRecord, ...]


@dataclass(frozen=True, slots=True)
class TestRecord:
    """An enabled dbt data test (generic when ``test_name`` is set, else singular)."""

    unique_id: str
    name: str
    test_name: str | None
    column_name: str | None
    attached_node: str | None
    file_key_name: str | None
    severity: str | None
    depends_on: tuple[str, ...]
    description: str
    tags: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class SourceRecord:
    """An enabled dbt source table."""

    unique_id: str
    source_name: str
    name: str
    package_name: str
    database: str | None
    schema: str | None
    identifier: str | None
    loader: str
    description: str
    tags: tuple[str, ...]
    meta: dict[str, Any]
    columns: tuple[ColumnRecord, ...]

    @property
    def key(self) -> str:
        """``source_name.table``: how transforms and floe refer to this source."""
        return f"{self.source_name}.{self.name}"


@dataclass(frozen=True, slots=True)
class ExposureRecord:
    """An enabled dbt exposure."""

    unique_id: str
    name: str
    type: str
    owner: str
    url: str | None
    description: str
    depends_on: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class DbtManifest:
    """A parsed, version-normalised view of a dbt manifest."""

    origin: str
    schema_version: str
    dbt_version: str | None
    project_name: str
    adapter_type: str | None
    nodes: tuple[NodeRecord, ...]
    tests: tuple[TestRecord, ...]
    sources: tuple[SourceRecord, ...]
    exposures: tuple[ExposureRecord, ...]
    disabled_ids: frozenset[str]
    other_ids: frozenset[str] = field(default_factory=frozenset)

    @property
    def is_fusion(self) -> bool:
        """True when the manifest was written by the dbt Fusion engine (dbt 2.x)."""
        return self.schema_version == "v20" or (self.dbt_version or "").startswith("2.")
