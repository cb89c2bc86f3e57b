"""Core lineage objects → the OpenLineage client's events (``event_v2``), spec 2-0-2.

:class:`EventMapper` maps

- a :class:`~floe_orchestration_core.lineage.LineageEvent` to a ``RunEvent``:
  ``eventType`` the event's state, ``eventTime`` its aware timestamp in ISO 8601,
  ``run.runId`` its UUID (a UUIDv7 from ``new_run_id``), ``job`` its namespace and name
  (passed through: the emitter follows the naming convention of
  :mod:`floe_orchestration_core.lineage.design`), ``inputs``/``outputs`` its datasets.
  Run facets: the event's own run facets; ``processing_engine`` (floe and its version,
  this package as the adapter) unless the emitter gave one; ``parent``
  (``ParentRunFacet``) from ``event.parent`` and ``errorMessage`` (``ErrorMessageRunFacet``:
  message, programming language, stack trace) from ``event.error``, which win over run
  facets of the same name.
- a :class:`~floe_orchestration_core.lineage.design.StaticJob` to a ``JobEvent`` (static,
  design-time lineage: a job and its datasets, no run), stamped with the export time.

Facets are converted by :class:`~floe_lineage_openlineage.facets.FacetMapper`. The producer
URI of every event and facet is the backend's (see :func:`~floe_lineage_openlineage.config.
default_producer`).
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from openlineage.client.event_v2 import (
    InputDataset,
    Job,
    JobEvent,
    OutputDataset,
    Run,
    RunEvent,
    RunState,
)
from openlineage.client.facet_v2 import error_message_run, parent_run

from floe_lineage_openlineage.facets import FacetMapper

if TYPE_CHECKING:
    from collections.abc import Iterable

    from openlineage.client.facet_v2 import RunFacet

    from floe_orchestration_core.lineage import Dataset, LineageEvent
    from floe_orchestration_core.lineage.design import StaticJob

__all__ = ["EventMapper"]


class EventMapper:
    """Builds client events for one backend (its producer and facet conversion)."""

    def __init__(self, producer: str, *, engine_version: str, adapter_version: str) -> None:
        self.producer = producer
        self.facets = FacetMapper(producer)
        self._engine = {
            "name": "floe",
            "version": engine_version,
            "openlineageAdapterVersion": adapter_version,
        }

    def run_event(self, event: LineageEvent) -> RunEvent:
        """The ``RunEvent`` of ``event`` (raises LineageError for a malformed facet)."""
        return RunEvent(
            eventType=RunState(event.event_type.value),
            eventTime=event.event_time.isoformat(),
            run=Run(runId=str(event.run_id), facets=self._run_facets(event)),
            job=Job(
                namespace=event.job_namespace,
                name=event.job_name,
                facets=self.facets.job_facets(event.job_facets),
            ),
            inputs=self._inputs(event.inputs, side="input"),
            outputs=self._outputs(event.outputs),
            producer=self.producer,
        )

    def job_event(self, job: StaticJob, *, event_time: datetime | None = None) -> JobEvent:
        """The static ``JobEvent`` of ``job`` at ``event_time`` (default: now, UTC)."""
        return JobEvent(
            eventTime=(event_time or datetime.now(UTC)).isoformat(),
            job=Job(
                namespace=job.job_namespace,
                name=job.job_name,
                facets=self.facets.job_facets(job.job_facets),
            ),
            inputs=self._inputs(job.inputs, side="input"),
            outputs=self._outputs(job.outputs),
            producer=self.producer,
        )

    def _run_facets(self, event: LineageEvent) -> dict[str, RunFacet]:
        own: dict[str, Any] = dict(event.run_facets)
        own.setdefault("processing_engine", self._engine)
        facets = self.facets.run_facets(own)
        # The structured fields win over run facets of the same name.
        if event.parent is not None:
            facets["parent"] = parent_run.ParentRunFacet(
                run=parent_run.Run(runId=str(event.parent.run_id)),
                job=parent_run.Job(
                    namespace=event.parent.job_namespace, name=event.parent.job_name
                ),
                producer=self.producer,
            )
        if event.error is not None:
            facets["errorMessage"] = error_message_run.ErrorMessageRunFacet(
                message=event.error.message,
                programmingLanguage=event.error.language,
                stackTrace=event.error.stack_trace,
                producer=self.producer,
            )
        return facets

    def _inputs(self, datasets: Iterable[Dataset], *, side: str) -> list[InputDataset]:
        inputs = []
        for dataset in datasets:
            common, io = self.facets.dataset_facets(dataset.facets, side=side)
            inputs.append(
                InputDataset(
                    namespace=dataset.namespace,
                    name=dataset.name,
                    facets=dict(common),
                    inputFacets=dict(io),  # type: ignore[arg-type]
                )
            )
        return inputs

    def _outputs(self, datasets: Iterable[Dataset]) -> list[OutputDataset]:
        outputs = []
        for dataset in datasets:
            common, io = self.facets.dataset_facets(dataset.facets, side="output")
            outputs.append(
                OutputDataset(
                    namespace=dataset.namespace,
                    name=dataset.name,
                    facets=dict(common),
                    outputFacets=dict(io),  # type: ignore[arg-type]
                )
            )
        return outputs
