"""What the dbt project holds, as the artifacts carry it: transforms (models, seeds,
snapshots), sources, exposures, their columns and quality checks, and the compute targets
transforms run on."""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated, Literal

from pydantic import Field, JsonValue

from floe_orchestration_core.artifacts.fields import FrozenModel, Identifier, NonEmptyStr

__all__ = [
    "ColumnInfo",
    "ComputeTarget",
    "ExposureConfig",
    "QualityCheck",
    "ResourceType",
    "Severity",
    "SourceConfig",
    "TransformConfig",
]


class ResourceType(StrEnum):
    """dbt resource types that become transforms."""

    MODEL = "model"
    SEED = "seed"
    SNAPSHOT = "snapshot"


class Severity(StrEnum):
    """dbt test severity. ``error`` tests block downstream work; ``warn`` tests only report."""

    ERROR = "error"
    WARN = "warn"


class ColumnInfo(FrozenModel):
    """A documented column of a transform or source (from the dbt manifest)."""

    name: NonEmptyStr
    data_type: str | None = None
    description: str = ""


class QualityCheck(FrozenModel):
    """A dbt test, attached to the transform (or source) it checks.

    ``attached_to`` is the name of the transform (or the ``source.table`` key of the source)
    the check belongs to; ``references`` lists every transform or source the test reads
    (a ``relationships`` test reads two).
    """

    name: NonEmptyStr
    unique_id: NonEmptyStr
    kind: Literal["generic", "singular"]
    test_name: NonEmptyStr = Field(
        description="generic test macro (not_null, unique, …) or the singular test's name"
    )
    column: str | None = None
    severity: Severity = Severity.ERROR
    attached_to: NonEmptyStr
    references: tuple[str, ...] = ()
    description: str = ""
    tags: tuple[str, ...] = ()


class TransformConfig(FrozenModel):
    """One dbt model, seed or snapshot: a node of the transform graph."""

    name: NonEmptyStr = Field(description="unique among transforms; versioned models: name_vN")
    unique_id: NonEmptyStr
    resource_type: ResourceType
    package_name: NonEmptyStr
    path: str = Field(description="original file path, relative to the dbt project")
    database: str | None = None
    schema_name: str | None = Field(default=None, alias="schema")
    alias: str | None = None
    materialization: NonEmptyStr
    language: Literal["sql", "python"] = "sql"
    version: str | None = None
    depends_on: tuple[str, ...] = Field(default=(), description="names of upstream transforms")
    source_dependencies: tuple[str, ...] = Field(
        default=(), description="keys ('source_name.table') of upstream sources"
    )
    compute: Identifier
    partition: Identifier | None = None
    tags: tuple[str, ...] = ()
    meta: dict[str, JsonValue] = Field(default_factory=dict)
    description: str = ""
    owners: tuple[str, ...] = ()
    columns: tuple[ColumnInfo, ...] = ()
    quality_checks: tuple[QualityCheck, ...] = ()

    @property
    def is_ephemeral(self) -> bool:
        """Ephemeral models are inlined by dbt: they are graph nodes but build nothing."""
        return self.materialization == "ephemeral"

    @property
    def relation_name(self) -> str:
        """The warehouse relation this transform writes, ``database.schema.alias``."""
        parts = [self.database, self.schema_name, self.alias or self.name]
        return ".".join(p for p in parts if p)


class SourceConfig(FrozenModel):
    """A dbt source table: an upstream input that floe does not build."""

    key: NonEmptyStr = Field(description="'source_name.table', unique among sources")
    unique_id: NonEmptyStr
    source_name: NonEmptyStr
    name: NonEmptyStr
    package_name: NonEmptyStr
    database: str | None = None
    schema_name: str | None = Field(default=None, alias="schema")
    identifier: str | None = None
    loader: str = ""
    description: str = ""
    tags: tuple[str, ...] = ()
    meta: dict[str, JsonValue] = Field(default_factory=dict)
    columns: tuple[ColumnInfo, ...] = ()
    quality_checks: tuple[QualityCheck, ...] = ()

    @property
    def relation_name(self) -> str:
        parts = [self.database, self.schema_name, self.identifier or self.name]
        return ".".join(p for p in parts if p)


class ExposureConfig(FrozenModel):
    """A dbt exposure: a downstream consumer (dashboard, application) of transforms."""

    name: NonEmptyStr
    unique_id: NonEmptyStr
    type: str
    owner: str = ""
    url: str | None = None
    description: str = ""
    depends_on: tuple[str, ...] = Field(default=(), description="names of transforms read")
    source_dependencies: tuple[str, ...] = ()


class ComputeTarget(FrozenModel):
    """Where transforms run: a dbt target of the profile, with execution settings.

    ``properties`` are what floe knows of the warehouse (lineage names datasets from ``host``,
    ``port`` and ``path``): the dbt profile's non-secret details, recorded in ``from_profile``
    when compiled, with floe.yaml's own ``properties`` over them. Secrets are never recorded:
    a connection re-reads the profile when it is made.
    """

    name: Identifier
    type: NonEmptyStr = Field(description="warehouse adapter, e.g. duckdb, postgres, snowflake")
    dbt_target: str | None = Field(
        default=None, description="dbt profiles.yml target; None means the profile's default"
    )
    threads: Annotated[int, Field(ge=1, le=1024)] | None = None
    properties: dict[str, JsonValue] = Field(default_factory=dict)
    from_profile: dict[str, JsonValue] = Field(
        default_factory=dict,
        description="non-secret connection details (host, port, database, schema, path) the "
        "dbt profile's target gave when compiled; empty when no profile was found",
    )

    @property
    def property_overrides(self) -> dict[str, JsonValue]:
        """The ``properties`` floe.yaml set itself (those that are not the profile's)."""
        return {
            key: value
            for key, value in self.properties.items()
            if key not in self.from_profile or self.from_profile[key] != value
        }
