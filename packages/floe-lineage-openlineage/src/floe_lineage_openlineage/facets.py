"""Core facet mappings → the OpenLineage client's facet classes (``facet_v2``).

Core events carry neutral facets (plain mappings, agreed with every emitter); this module
turns the known ones into the client's classes, each stamped with the backend's producer:

- job ``jobType`` ``{processingType, integration, jobType}`` → ``JobTypeJobFacet``
- job ``sql`` ``{query, dialect}`` → ``SQLJobFacet``
- job ``documentation`` ``{description}`` → ``DocumentationJobFacet``
- run ``nominalTime`` ``{nominalStartTime, nominalEndTime}`` (aware datetimes or ISO
  strings) → ``NominalTimeRunFacet``
- run ``processing_engine`` ``{version, name, openlineageAdapterVersion}`` →
  ``ProcessingEngineRunFacet``
- run ``tags`` ``{tags: [{key, value, source}]}`` → ``TagsRunFacet``
- dataset ``schema`` ``{fields: [{name, type, description}]}`` → ``SchemaDatasetFacet``
- dataset ``documentation`` ``{description}`` → ``DocumentationDatasetFacet``
- dataset ``dataSource`` ``{name, uri}`` → ``DatasourceDatasetFacet``
- dataset ``columnLineage`` ``{fields: {column: {inputFields: [{namespace, name, field,
  transformations: [{type, subtype, description, masking}]}]}}, dataset: [input fields]}`` →
  ``ColumnLineageDatasetFacet`` (1-2-0)
- input dataset ``dataQualityAssertions`` ``{assertions: [{assertion, success, column}]}``
  → ``DataQualityAssertionsDatasetFacet`` (in ``inputFacets``)
- output dataset ``outputStatistics`` ``{rowCount, size, fileCount}`` →
  ``OutputStatisticsOutputDatasetFacet`` (in ``outputFacets``)

(The parent run and the error message come from ``LineageEvent.parent`` and ``.error``: see
:mod:`floe_lineage_openlineage.mapping`.)

Any other facet is kept when it is already a client facet object of the right kind, or when
it is a plain mapping whose keys are identifiers: such a *custom* facet is wrapped with the
client's ``with_additional_properties`` on the generic ``RunFacet``/``JobFacet``/
``DatasetFacet`` (values made JSON-ready). Anything else is dropped with one DEBUG log per
facet name. ``dataQualityAssertions`` is an *input*-dataset facet in OpenLineage 2-0-2: on an
output dataset it is dropped the same way (emit the tested dataset as an input of the test's
job, as OpenLineage's dbt integration does); ``outputStatistics`` likewise on an input.

A malformed known facet raises :class:`~floe_orchestration_core.errors.LineageError` naming
the facet and the expected shape; the backend counts the event as dropped.
"""

from __future__ import annotations

import keyword
import logging
import threading
import uuid
from collections.abc import Mapping, Sequence
from datetime import date, datetime
from enum import Enum
from typing import Any

from openlineage.client.facet_v2 import (
    BaseFacet,
    DatasetFacet,
    InputDatasetFacet,
    JobFacet,
    OutputDatasetFacet,
    RunFacet,
    column_lineage_dataset,
    data_quality_assertions_dataset,
    datasource_dataset,
    documentation_dataset,
    documentation_job,
    job_type_job,
    nominal_time_run,
    output_statistics_output_dataset,
    processing_engine_run,
    schema_dataset,
    sql_job,
    tags_run,
)

from floe_orchestration_core.errors import LineageError

__all__ = ["FacetMapper"]

logger = logging.getLogger(__name__)


def _mapping(name: str, value: object, shape: str) -> Mapping[str, Any]:
    if not isinstance(value, Mapping):
        raise LineageError(f"facet {name!r} must be a mapping {shape}, got {type(value).__name__}")
    return value


def _text(name: str, value: Mapping[str, Any], key: str, shape: str) -> str:
    item = value.get(key)
    if not isinstance(item, str) or not item:
        raise LineageError(f"facet {name!r} needs a non-empty string {key!r}: {shape}")
    return item


def _optional_text(name: str, value: Mapping[str, Any], key: str) -> str | None:
    item = value.get(key)
    if item is None:
        return None
    if not isinstance(item, str):
        raise LineageError(f"facet {name!r}: {key!r} must be a string or absent")
    return item


def _timestamp(name: str, key: str, value: object) -> str:
    """An aware datetime or ISO string → an ISO 8601 timestamp with a time and an offset."""
    if isinstance(value, str):
        try:
            parsed = datetime.fromisoformat(value)
        except ValueError:
            parsed = None
        if parsed is None or "t" not in value.lower():
            raise LineageError(
                f"facet {name!r}: {key} must be an ISO 8601 date-time such as "
                f"'2024-05-01T00:00:00+00:00', got {value!r}"
            )
        value = parsed
    if not isinstance(value, datetime):
        raise LineageError(f"facet {name!r}: {key} must be a datetime or an ISO string")
    if value.tzinfo is None or value.utcoffset() is None:
        raise LineageError(
            f"facet {name!r}: {key} {value.isoformat()} has no timezone; pass an aware datetime"
        )
    return value.isoformat()


def json_ready(value: Any) -> Any:  # noqa: PLR0911 (one return per JSON kind)
    """``value`` with mappings, sequences, datetimes, UUIDs and enums made JSON-serialisable."""
    if value is None or isinstance(value, bool | int | float | str):
        return value
    if isinstance(value, Enum):
        return json_ready(value.value)
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, uuid.UUID):
        return str(value)
    if isinstance(value, Mapping):
        return {str(k): json_ready(v) for k, v in value.items()}
    if isinstance(value, Sequence | set | frozenset) and not isinstance(value, bytes):
        return [json_ready(v) for v in value]
    return str(value)


class FacetMapper:
    """Converts facet mappings for one backend (its producer; DEBUG logs once per name)."""

    def __init__(self, producer: str) -> None:
        self.producer = producer
        self._logged: set[tuple[str, str]] = set()
        self._lock = threading.Lock()

    # -- job ---------------------------------------------------------------------------------
    def job_facets(self, facets: Mapping[str, Any]) -> dict[str, JobFacet]:
        out: dict[str, JobFacet] = {}
        for name, value in facets.items():
            facet: JobFacet | None
            if isinstance(value, BaseFacet):
                facet = value if isinstance(value, JobFacet) else None
            elif name == "jobType":
                facet = self._job_type(value)
            elif name == "sql":
                shape = "{query: str, dialect: str | None}"
                body = _mapping(name, value, shape)
                facet = sql_job.SQLJobFacet(
                    query=_text(name, body, "query", shape),
                    dialect=_optional_text(name, body, "dialect"),
                    producer=self.producer,
                )
            elif name == "documentation":
                facet = self._job_documentation(value)
            else:
                facet = self._custom(name, value, JobFacet, "job")
            self._keep(out, name, facet, "job")
        return out

    def _job_type(self, value: object) -> JobFacet:
        shape = "{processingType: BATCH, integration: DBT|DAGSTER, jobType: MODEL|JOB|...}"
        body = _mapping("jobType", value, shape)
        return job_type_job.JobTypeJobFacet(
            processingType=_text("jobType", body, "processingType", shape),
            integration=_text("jobType", body, "integration", shape),
            jobType=_optional_text("jobType", body, "jobType"),
            producer=self.producer,
        )

    def _job_documentation(self, value: object) -> JobFacet:
        body = _mapping("documentation", value, "{description: str}")
        return documentation_job.DocumentationJobFacet(
            description=_text("documentation", body, "description", "{description: str}"),
            contentType=_optional_text("documentation", body, "contentType"),
            producer=self.producer,
        )

    # -- run ---------------------------------------------------------------------------------
    def run_facets(self, facets: Mapping[str, Any]) -> dict[str, RunFacet]:
        out: dict[str, RunFacet] = {}
        for name, value in facets.items():
            facet: RunFacet | None
            if isinstance(value, BaseFacet):
                facet = value if isinstance(value, RunFacet) else None
            elif name == "nominalTime":
                body = _mapping(name, value, "{nominalStartTime, nominalEndTime}")
                if "nominalStartTime" not in body:
                    raise LineageError("facet 'nominalTime' needs 'nominalStartTime'")
                end = body.get("nominalEndTime")
                facet = nominal_time_run.NominalTimeRunFacet(
                    nominalStartTime=_timestamp(name, "nominalStartTime", body["nominalStartTime"]),
                    nominalEndTime=None if end is None else _timestamp(name, "nominalEndTime", end),
                    producer=self.producer,
                )
            elif name == "processing_engine":
                body = _mapping(name, value, "{version, name}")
                facet = processing_engine_run.ProcessingEngineRunFacet(
                    version=_text(name, body, "version", "{version: str, name: str}"),
                    name=_optional_text(name, body, "name"),
                    openlineageAdapterVersion=_optional_text(
                        name, body, "openlineageAdapterVersion"
                    ),
                    producer=self.producer,
                )
            elif name == "tags":
                facet = self._tags(value)
            else:
                facet = self._custom(name, value, RunFacet, "run")
            self._keep(out, name, facet, "run")
        return out

    def _tags(self, value: object) -> RunFacet:
        shape = "{tags: [{key: str, value: str, source: str | None}]}"
        items = _mapping("tags", value, shape).get("tags")
        if not isinstance(items, Sequence) or isinstance(items, str):
            raise LineageError(f"facet 'tags' needs a list 'tags': {shape}")
        tags = []
        for index, item in enumerate(items):
            where = f"tags.tags[{index}]"
            entry = _mapping(where, item, shape)
            tags.append(
                tags_run.TagsRunFacetFields(
                    key=_text(where, entry, "key", shape),
                    value=_text(where, entry, "value", shape),
                    source=_optional_text(where, entry, "source"),
                )
            )
        return tags_run.TagsRunFacet(tags=tags, producer=self.producer)

    # -- datasets ----------------------------------------------------------------------------
    def dataset_facets(
        self, facets: Mapping[str, Any], *, side: str
    ) -> tuple[dict[str, DatasetFacet], dict[str, InputDatasetFacet | OutputDatasetFacet]]:
        """(dataset facets, input or output facets) for a dataset on ``side``.

        ``side`` is ``"input"``, ``"output"`` or ``"static"`` (a job event's dataset).
        """
        common: dict[str, DatasetFacet] = {}
        io: dict[str, InputDatasetFacet | OutputDatasetFacet] = {}
        io_kind: type[BaseFacet] = InputDatasetFacet if side == "input" else OutputDatasetFacet
        for name, value in facets.items():
            if isinstance(value, DatasetFacet):
                common[name] = value
            elif isinstance(value, InputDatasetFacet | OutputDatasetFacet):
                self._keep(io, name, value if isinstance(value, io_kind) else None, side)
            elif isinstance(value, BaseFacet):
                self._keep(common, name, None, side)
            elif name == "schema":
                common[name] = self._schema(value)
            elif name == "documentation":
                body = _mapping(name, value, "{description: str}")
                common[name] = documentation_dataset.DocumentationDatasetFacet(
                    description=_text(name, body, "description", "{description: str}"),
                    contentType=_optional_text(name, body, "contentType"),
                    producer=self.producer,
                )
            elif name == "dataSource":
                body = _mapping(name, value, "{name: str, uri: str}")
                common[name] = datasource_dataset.DatasourceDatasetFacet(
                    name=_optional_text(name, body, "name"),
                    uri=_optional_text(name, body, "uri"),
                    producer=self.producer,
                )
            elif name == "columnLineage":
                common[name] = self._column_lineage(value)
            elif name == "dataQualityAssertions":
                self._keep(io, name, self._assertions(value) if side == "input" else None, side)
            elif name == "outputStatistics":
                self._keep(io, name, self._statistics(value) if side == "output" else None, side)
            else:
                self._keep(common, name, self._custom(name, value, DatasetFacet, "dataset"), side)
        return common, io

    def _schema(self, value: object) -> DatasetFacet:
        shape = "{fields: [{name, type, description}]}"
        body = _mapping("schema", value, shape)
        fields = body.get("fields", [])
        if not isinstance(fields, Sequence) or isinstance(fields, str):
            raise LineageError(f"facet 'schema': fields must be a list {shape}")
        columns = []
        for index, field in enumerate(fields):
            column = _mapping(f"schema.fields[{index}]", field, "{name, type, description}")
            columns.append(
                schema_dataset.SchemaDatasetFacetFields(
                    name=_text(f"schema.fields[{index}]", column, "name", shape),
                    type=_optional_text(f"schema.fields[{index}]", column, "type"),
                    description=_optional_text(f"schema.fields[{index}]", column, "description")
                    or None,
                )
            )
        return schema_dataset.SchemaDatasetFacet(fields=columns, producer=self.producer)

    def _statistics(self, value: object) -> OutputDatasetFacet:
        body = _mapping("outputStatistics", value, "{rowCount: int, size: int, fileCount: int}")
        counts: dict[str, int] = {}
        for key in ("rowCount", "size", "fileCount"):
            item = body.get(key)
            if item is None:
                continue
            if isinstance(item, bool) or not isinstance(item, int) or item < 0:
                raise LineageError(f"facet 'outputStatistics': {key} must be a count >= 0")
            counts[key] = item
        return output_statistics_output_dataset.OutputStatisticsOutputDatasetFacet(
            **counts, producer=self.producer
        )

    def _input_fields(self, where: str, value: object) -> list[Any]:
        shape = "[{namespace, name, field, transformations: [{type, subtype}]}]"
        if not isinstance(value, Sequence) or isinstance(value, str):
            raise LineageError(f"facet {where!r} must be a list {shape}")
        fields = []
        for index, item in enumerate(value):
            entry = _mapping(f"{where}[{index}]", item, shape)
            steps = entry.get("transformations") or []
            if not isinstance(steps, Sequence) or isinstance(steps, str):
                raise LineageError(f"facet {where}[{index}].transformations must be a list")
            transformations = []
            for step in steps:
                body = _mapping(f"{where}[{index}].transformations", step, "{type, subtype}")
                masking = body.get("masking")
                transformations.append(
                    column_lineage_dataset.Transformation(
                        type=_text(where, body, "type", "{type: DIRECT|INDIRECT}"),
                        subtype=_optional_text(where, body, "subtype"),
                        description=_optional_text(where, body, "description"),
                        masking=masking if isinstance(masking, bool) else None,
                    )
                )
            fields.append(
                column_lineage_dataset.InputField(
                    namespace=_text(where, entry, "namespace", shape),
                    name=_text(where, entry, "name", shape),
                    field=_text(where, entry, "field", shape),
                    transformations=transformations,
                )
            )
        return fields

    def _column_lineage(self, value: object) -> DatasetFacet:
        shape = "{fields: {column: {inputFields: [...]}}, dataset: [...]}"
        body = _mapping("columnLineage", value, shape)
        columns = _mapping("columnLineage.fields", body.get("fields", {}), shape)
        fields = {
            str(column): column_lineage_dataset.Fields(
                inputFields=self._input_fields(
                    f"columnLineage.fields.{column}.inputFields",
                    _mapping(f"columnLineage.fields.{column}", entry, shape).get("inputFields", []),
                )
            )
            for column, entry in columns.items()
        }
        return column_lineage_dataset.ColumnLineageDatasetFacet(
            fields=fields,
            dataset=self._input_fields("columnLineage.dataset", body.get("dataset", [])),
            producer=self.producer,
        )

    def _assertions(self, value: object) -> InputDatasetFacet:
        shape = "{assertions: [{assertion: str, success: bool, column: str | None}]}"
        body = _mapping("dataQualityAssertions", value, shape)
        items = body.get("assertions")
        if not isinstance(items, Sequence) or isinstance(items, str):
            raise LineageError(f"facet 'dataQualityAssertions' needs a list 'assertions': {shape}")
        assertions = []
        for index, item in enumerate(items):
            where = f"dataQualityAssertions.assertions[{index}]"
            entry = _mapping(where, item, shape)
            success = entry.get("success")
            if not isinstance(success, bool):
                raise LineageError(f"facet {where!r}: 'success' must be true or false")
            assertions.append(
                data_quality_assertions_dataset.Assertion(
                    assertion=_text(where, entry, "assertion", shape),
                    success=success,
                    column=_optional_text(where, entry, "column"),
                )
            )
        return data_quality_assertions_dataset.DataQualityAssertionsDatasetFacet(
            assertions=assertions, producer=self.producer
        )

    # -- custom and dropped facets -------------------------------------------------------------
    def _custom(self, name: str, value: object, kind: type[BaseFacet], where: str) -> Any:
        if not isinstance(value, Mapping):
            return None
        keys = [str(k) for k in value]
        if not all(k.isidentifier() and not keyword.iskeyword(k) and k[0] != "_" for k in keys):
            return None
        return kind(producer=self.producer).with_additional_properties(
            **{str(k): json_ready(v) for k, v in value.items()}
        )

    def _keep(self, out: dict[str, Any], name: str, facet: object, where: str) -> None:
        if facet is not None:
            out[name] = facet
            return
        with self._lock:
            first = (where, name) not in self._logged
            self._logged.add((where, name))
        if first:
            logger.debug(
                "OpenLineage backend: %s facet %r dropped: not a known floe facet, a %s facet "
                "object of the client, nor a mapping with identifier keys (logged once)",
                where,
                name,
                where,
            )
