"""Core LineageEvents become OpenLineage RunEvents: fields, facets, and 2-0-2 conformance.

Events go through the real client file transport and are read back from the file, so what is
checked is what a backend receives.
"""

from __future__ import annotations

import json
import logging
import uuid
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest
from openlineage.client.facet_v2 import tags_job

from floe_lineage_openlineage import __version__
from floe_lineage_openlineage.backend import OpenLineageBackend
from floe_orchestration_core.lineage import (
    Dataset,
    ErrorInfo,
    LineageEvent,
    ParentRun,
    RunState,
    new_run_id,
)
from floe_orchestration_core.testing import sample_event

Validate = Callable[[list[dict[str, Any]]], None]


class FileBackend:
    """A backend writing to a JSON-lines file, and the events read back from it."""

    def __init__(self, path: Path, **config: Any) -> None:
        self.path = path
        self.backend = OpenLineageBackend(
            transport={"type": "file", "log_file_path": str(path), "append": True}, **config
        )

    def send(self, *events: LineageEvent) -> list[dict[str, Any]]:
        for event in events:
            self.backend.emit(event)
        assert self.backend.flush(5.0)
        return self.read()

    def read(self) -> list[dict[str, Any]]:
        if not self.path.exists():
            return []
        return [json.loads(line) for line in self.path.read_text().splitlines() if line]


@pytest.fixture
def sink(tmp_path: Path) -> Iterator[FileBackend]:
    sink = FileBackend(tmp_path / "events.jsonl", flush_timeout=5.0)
    yield sink
    sink.backend.close(1.0)


def _model_event(state: RunState = RunState.COMPLETE, **overrides: Any) -> LineageEvent:
    fields: dict[str, Any] = {
        "event_type": state,
        "job_name": "jaffle_shop.model.orders",
        "job_namespace": "analytics",
        "run_id": new_run_id(),
        "inputs": (
            Dataset(
                "duckdb:///data/warehouse.duckdb",
                "warehouse.main.stg_orders",
                facets={
                    "dataQualityAssertions": {
                        "assertions": [
                            {"assertion": "not_null", "success": True, "column": "order_id"},
                            {"assertion": "unique", "success": False, "column": "order_id"},
                        ]
                    }
                },
            ),
        ),
        "outputs": (
            Dataset(
                "duckdb:///data/warehouse.duckdb",
                "warehouse.main.orders",
                facets={
                    "schema": {
                        "fields": [
                            {"name": "order_id", "type": "INTEGER", "description": "the key"},
                            {"name": "amount", "type": None, "description": None},
                        ]
                    },
                    "documentation": {"description": "one row per order"},
                },
            ),
        ),
        "job_facets": {
            "jobType": {"processingType": "BATCH", "integration": "DBT", "jobType": "MODEL"},
            "sql": {"query": "select * from stg_orders", "dialect": "duckdb"},
            "documentation": {"description": "orders, cleaned"},
        },
        "run_facets": {
            "nominalTime": {
                "nominalStartTime": datetime(2024, 5, 1, tzinfo=UTC),
                "nominalEndTime": "2024-05-02T00:00:00+00:00",
            }
        },
        "parent": ParentRun("analytics", "jaffle_shop.nightly", new_run_id()),
    }
    fields.update(overrides)
    return LineageEvent(**fields)


def test_a_model_run_maps_every_field_and_facet(
    sink: FileBackend, assert_valid_openlineage: Validate
) -> None:
    event = _model_event()
    (out,) = sink.send(event)
    assert_valid_openlineage([out])
    assert out["eventType"] == "COMPLETE"
    assert out["schemaURL"].startswith("https://openlineage.io/spec/2-0-2/OpenLineage.json")
    assert out["producer"] == (
        f"https://github.com/floe-orchestration/floe/tree/v{__version__}/packages/"
        "floe-lineage-openlineage"
    )
    assert out["run"]["runId"] == str(event.run_id)
    assert uuid.UUID(out["run"]["runId"]).version == 7
    assert datetime.fromisoformat(out["eventTime"]) == event.event_time
    assert out["job"]["namespace"] == "analytics"
    assert out["job"]["name"] == "jaffle_shop.model.orders"
    job = out["job"]["facets"]
    assert job["jobType"]["integration"] == "DBT"
    assert job["jobType"]["jobType"] == "MODEL"
    assert job["jobType"]["processingType"] == "BATCH"
    assert job["sql"]["query"] == "select * from stg_orders"
    assert job["sql"]["dialect"] == "duckdb"
    assert job["documentation"]["description"] == "orders, cleaned"
    run = out["run"]["facets"]
    assert run["parent"]["run"]["runId"] == str(event.parent.run_id)  # type: ignore[union-attr]
    assert run["parent"]["job"] == {
        "namespace": "analytics",
        "name": "jaffle_shop.nightly",
        "facets": {},
    }
    assert run["nominalTime"]["nominalStartTime"] == "2024-05-01T00:00:00+00:00"
    assert run["nominalTime"]["nominalEndTime"] == "2024-05-02T00:00:00+00:00"
    assert run["processing_engine"]["name"] == "floe"
    assert run["processing_engine"]["openlineageAdapterVersion"] == __version__
    (source,) = out["inputs"]
    assert source["namespace"] == "duckdb:///data/warehouse.duckdb"
    assertions = source["inputFacets"]["dataQualityAssertions"]["assertions"]
    assert [(a["assertion"], a["success"], a["column"]) for a in assertions] == [
        ("not_null", True, "order_id"),
        ("unique", False, "order_id"),
    ]
    (table,) = out["outputs"]
    assert table["name"] == "warehouse.main.orders"
    fields = table["facets"]["schema"]["fields"]
    assert [(f["name"], f.get("type"), f.get("description")) for f in fields] == [
        ("order_id", "INTEGER", "the key"),
        ("amount", None, None),
    ]
    assert table["facets"]["documentation"]["description"] == "one row per order"
    for facet in [*job.values(), *run.values(), *table["facets"].values()]:
        assert facet["_producer"] == out["producer"]


def test_a_failed_run_carries_the_error_message_facet(
    sink: FileBackend, assert_valid_openlineage: Validate
) -> None:
    try:
        raise ZeroDivisionError("division by zero in model 'orders'")
    except ZeroDivisionError as exc:
        error = ErrorInfo.from_exception(exc)
    (out,) = sink.send(_model_event(RunState.FAIL, error=error))
    assert_valid_openlineage([out])
    facet = out["run"]["facets"]["errorMessage"]
    assert facet["message"] == "ZeroDivisionError: division by zero in model 'orders'"
    assert facet["programmingLanguage"] == "python"
    assert "Traceback (most recent call last)" in facet["stackTrace"]
    assert "test_a_failed_run_carries_the_error_message_facet" in facet["stackTrace"]


def test_every_state_of_a_run_is_valid_openlineage(
    sink: FileBackend, assert_valid_openlineage: Validate
) -> None:
    run_id = new_run_id()
    events = [
        sample_event(RunState.START, run_id=run_id),
        sample_event(RunState.RUNNING, run_id=run_id),
        sample_event(RunState.COMPLETE, run_id=run_id),
        sample_event(RunState.ABORT, error=ErrorInfo("cancelled by the operator")),
        sample_event(RunState.OTHER, inputs=(), outputs=(), parent=None),
        _model_event(RunState.START, run_facets={}, parent=None, job_facets={}),
    ]
    out = sink.send(*events)
    assert [e["eventType"] for e in out] == [
        "START",
        "RUNNING",
        "COMPLETE",
        "ABORT",
        "OTHER",
        "START",
    ]
    assert [e["run"]["runId"] for e in out[:3]] == [str(run_id)] * 3
    assert_valid_openlineage(out)


def test_event_time_keeps_its_offset(sink: FileBackend, assert_valid_openlineage: Validate) -> None:
    when = datetime(2024, 3, 10, 2, 30, tzinfo=timezone(timedelta(hours=-5)))
    (out,) = sink.send(sample_event(event_time=when))
    assert out["eventTime"] == "2024-03-10T02:30:00-05:00"
    assert_valid_openlineage([out])


def test_a_custom_mapping_facet_is_wrapped_and_valid(
    sink: FileBackend, assert_valid_openlineage: Validate
) -> None:
    when = datetime(2024, 1, 1, tzinfo=UTC)
    event = sample_event(run_facets={"floe": {"product": "jaffle", "at": when, "tags": ("a", "b")}})
    (out,) = sink.send(event)
    facet = out["run"]["facets"]["floe"]
    assert facet["product"] == "jaffle"
    assert facet["at"] == "2024-01-01T00:00:00+00:00"
    assert facet["tags"] == ["a", "b"]
    assert facet["_schemaURL"].endswith("#/$defs/RunFacet")
    assert_valid_openlineage([out])


def test_client_facet_objects_pass_through(
    sink: FileBackend, assert_valid_openlineage: Validate
) -> None:
    tags = tags_job.TagsJobFacet(tags=[tags_job.TagsJobFacetFields(key="team", value="data")])
    (out,) = sink.send(sample_event(job_facets={"tags": tags}))
    assert out["job"]["facets"]["tags"]["tags"][0]["key"] == "team"
    assert_valid_openlineage([out])


def test_unusable_facets_are_dropped_with_one_debug_log_per_name(
    sink: FileBackend, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG, logger="floe_lineage_openlineage")
    weird = {"not an identifier": 1}
    events = [
        sample_event(run_facets={"odd": weird, "scalar": 3}),
        sample_event(run_facets={"odd": weird}),
        # dataQualityAssertions is an input facet in 2-0-2: not kept on an output
        sample_event(
            outputs=(
                Dataset(
                    "duckdb://memory",
                    "main.orders",
                    facets={"dataQualityAssertions": {"assertions": []}},
                ),
            )
        ),
    ]
    out = sink.send(*events)
    assert "odd" not in out[0]["run"]["facets"]
    assert "scalar" not in out[0]["run"]["facets"]
    assert out[2]["outputs"][0]["outputFacets"] == {}
    assert "dataQualityAssertions" not in out[2]["outputs"][0]["facets"]
    dropped = [r.getMessage() for r in caplog.records if "dropped" in r.getMessage()]
    assert sum("'odd'" in m for m in dropped) == 1
    assert sum("'scalar'" in m for m in dropped) == 1
    assert sum("'dataQualityAssertions'" in m for m in dropped) == 1


@pytest.mark.parametrize(
    ("facets", "message"),
    [
        ({"job_facets": {"jobType": {"processingType": "BATCH"}}}, "integration"),
        ({"job_facets": {"sql": "select 1"}}, "sql"),
        ({"run_facets": {"nominalTime": {"nominalStartTime": "2024-05-01"}}}, "nominalStartTime"),
        (
            {"run_facets": {"nominalTime": {"nominalStartTime": datetime(2024, 5, 1)}}},
            "no timezone",
        ),
    ],
)
def test_a_malformed_known_facet_drops_the_event_with_a_warning_naming_it(
    sink: FileBackend, caplog: pytest.LogCaptureFixture, facets: dict[str, Any], message: str
) -> None:
    caplog.set_level(logging.WARNING)
    sink.send(sample_event(**facets))
    stats = sink.backend.stats()
    assert (stats.emitted, stats.dropped, stats.delivered) == (1, 1, 0)
    assert sink.read() == []
    assert any(message in r.getMessage() for r in caplog.records)


def test_the_producer_can_be_configured(tmp_path: Path, assert_valid_openlineage: Validate) -> None:
    sink = FileBackend(tmp_path / "e.jsonl", producer="https://data.example.com/platform")
    try:
        (out,) = sink.send(sample_event())
    finally:
        sink.backend.close(1.0)
    assert out["producer"] == "https://data.example.com/platform"
    assert out["job"]["facets"]["jobType"]["_producer"] == "https://data.example.com/platform"
    assert_valid_openlineage([out])


def test_column_lineage_data_source_statistics_and_tags_are_the_spec_s_facets(
    sink: FileBackend, assert_valid_openlineage: Validate
) -> None:
    namespace = "duckdb://.floe/warehouse.duckdb"
    field = {
        "namespace": namespace,
        "name": "warehouse.main.stg_orders",
        "field": "order_id",
        "transformations": [{"type": "DIRECT", "subtype": "IDENTITY"}],
    }
    output = Dataset(
        namespace,
        "warehouse.main.orders",
        {
            "dataSource": {"name": namespace, "uri": namespace},
            "columnLineage": {
                "fields": {"order_id": {"inputFields": [field]}},
                "dataset": [
                    {**field, "transformations": [{"type": "INDIRECT", "subtype": "JOIN"}]}
                ],
            },
            "outputStatistics": {"rowCount": 42},
        },
    )
    source = Dataset(namespace, "warehouse.main.stg_orders", {"outputStatistics": {"rowCount": 1}})
    event = sample_event(
        RunState.COMPLETE,
        inputs=(source,),
        outputs=(output,),
        run_facets={
            "tags": {"tags": [{"key": "dagster_run_id", "value": "r1", "source": "DAGSTER"}]}
        },
    )
    (out,) = sink.send(event)
    facets = out["outputs"][0]["facets"]
    assert facets["dataSource"]["uri"] == namespace
    lineage = facets["columnLineage"]
    assert lineage["fields"]["order_id"]["inputFields"][0]["transformations"] == [
        {"type": "DIRECT", "subtype": "IDENTITY"}
    ]
    assert lineage["dataset"][0]["transformations"][0]["subtype"] == "JOIN"
    assert lineage["_schemaURL"].endswith(
        "1-2-0/ColumnLineageDatasetFacet.json#/$defs/ColumnLineageDatasetFacet"
    )
    assert out["outputs"][0]["outputFacets"]["outputStatistics"]["rowCount"] == 42
    assert "outputStatistics" not in out["inputs"][0].get("inputFacets", {})  # outputs only
    assert out["run"]["facets"]["tags"]["tags"][0]["key"] == "dagster_run_id"
    assert_valid_openlineage([out])


@pytest.mark.parametrize(
    ("facets", "message"),
    [
        ({"outputStatistics": {"rowCount": -1}}, "count >= 0"),
        ({"columnLineage": {"fields": {"a": {"inputFields": [{"name": "x"}]}}}}, "namespace"),
        ({"columnLineage": {"fields": {"a": {"inputFields": "x"}}}}, "must be a list"),
        (
            {
                "columnLineage": {
                    "fields": {
                        "a": {
                            "inputFields": [
                                {
                                    "namespace": "n",
                                    "name": "x",
                                    "field": "f",
                                    "transformations": "x",
                                }
                            ]
                        }
                    }
                }
            },
            "transformations must be a list",
        ),
    ],
)
def test_malformed_column_lineage_or_statistics_drop_the_event_naming_the_facet(
    sink: FileBackend, caplog: pytest.LogCaptureFixture, facets: dict[str, Any], message: str
) -> None:
    caplog.set_level(logging.WARNING)
    sink.send(sample_event(outputs=(Dataset("n", "t", facets),)))
    assert sink.backend.stats().dropped == 1
    assert any(message in r.getMessage() for r in caplog.records)


def test_malformed_tags_drop_the_event(sink: FileBackend, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.WARNING)
    sink.send(sample_event(run_facets={"tags": {"tags": "x"}}))
    sink.send(sample_event(run_facets={"tags": {"tags": [{"key": "k"}]}}))
    assert sink.backend.stats().dropped == 2
