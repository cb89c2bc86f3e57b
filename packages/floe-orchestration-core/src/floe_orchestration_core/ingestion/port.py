"""The ingestion port: the :class:`IngestionPlugin` every connector adapter implements.

Implementer's checklist (for an ingestion adapter such as ``floe-ingestion-dlt``):

1. Subclass :class:`IngestionPlugin` and set ``metadata`` to a
   :class:`~floe_orchestration_core.plugin_metadata.PluginMetadata` whose ``name`` is the
   ``connector:`` users write in floe.yaml and the entry-point name in ``floe.ingestion``::

       [project.entry-points."floe.ingestion"]
       dlt = "floe_ingestion_dlt.plugin:DltIngestion [floe-api-1.0]"

   The constructor takes no arguments. Importing the plugin's module must stay cheap: import
   the connector library (dlt, PyAirbyte's runner) inside the hooks, never at module level.
2. Set ``destination_types`` to the compute target types you write to (default
   ``{"duckdb", "postgres"}``).
3. Implement the protected hooks, never the public methods (template methods: they validate
   the arguments, open a span, wrap unexpected exceptions and check what comes back):

   - ``_run(request)`` → :class:`IngestionResult` with one :class:`StreamResult` per stream of
     ``request.streams``: load them into ``request.destination`` (tables
     ``<schema>.<stream>``), keeping the connector's sync state under ``request.state_dir``
     or in the destination, so the next run is incremental where the source allows it.
     Raise :class:`~floe_orchestration_core.errors.IngestionConfigError` for what a retry
     cannot fix (an unknown stream, a config the source refuses) and
     :class:`~floe_orchestration_core.errors.IngestionError` for what it may (a source that
     did not answer); anything else becomes a retryable IngestionError. Never put
     ``request.config`` or a secret in a message (``request.redact`` helps).
   - optional ``_check(entry)`` → problems (``"path: message"`` strings) found without running
     the connector: unknown options, a source the adapter cannot run. Called before every
     run and when definitions are built.
   - optional ``_source_dataset(entry, stream, base_dir)`` → the lineage
     :class:`~floe_orchestration_core.lineage.Dataset` a stream is read from (default:
     namespace ``<plugin>://<source>``, name the stream).

4. Run the contract suite: subclass
   :class:`floe_orchestration_core.testing.IngestionPluginContract` in your tests.

How an orchestrator adapter uses a plugin: it receives it from the composition root (the
registry gives a resolver to ``orchestrator.set_ingestion(...)``; see
:mod:`floe_orchestration_core.plugin_ingestion`), builds an :class:`IngestionRequest` with
:func:`~floe_orchestration_core.ingestion.destinations.ingestion_request`, calls :meth:`run`,
and records each stream's rows and data version; an error whose ``retryable`` is False must
fail the step without retrying it.

Standard library only at module level (the registry imports this to load a plugin).
"""

from __future__ import annotations

import time
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterable
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar, TypeVar

from floe_orchestration_core import FLOE_API_VERSION
from floe_orchestration_core.errors import (
    FloeError,
    IngestionConfigError,
    IngestionError,
    PluginError,
)
from floe_orchestration_core.ingestion.model import IngestionRequest, IngestionResult
from floe_orchestration_core.ingestion.state_lock import entry_lock
from floe_orchestration_core.plugin_metadata import PluginMetadata

if TYPE_CHECKING:
    from floe_orchestration_core.artifacts import IngestionConfig
    from floe_orchestration_core.lineage import Dataset

__all__ = ["IngestionPlugin"]

_T = TypeVar("_T")


class IngestionPlugin(ABC):
    """The port every ingestion connector adapter implements (see the module checklist)."""

    metadata: ClassVar[PluginMetadata]
    destination_types: ClassVar[frozenset[str]] = frozenset({"duckdb", "postgres"})

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        if getattr(cls._run, "__isabstractmethod__", False):
            return
        if not isinstance(getattr(cls, "metadata", None), PluginMetadata):
            raise PluginError(
                f"ingestion plugin {cls.__qualname__} must set the class attribute 'metadata' "
                "to a PluginMetadata, e.g. metadata = PluginMetadata(name='my_connector', "
                f"version='0.1.0', floe_api_version='{FLOE_API_VERSION}')"
            )

    def __repr__(self) -> str:
        return f"{type(self).__name__}(name={self.name!r}, version={self.version!r})"

    @property
    def name(self) -> str:
        """The connector name users write in floe.yaml (``metadata.name``)."""
        return type(self).metadata.name

    @property
    def version(self) -> str:
        """The plugin's own version (``metadata.version``)."""
        return type(self).metadata.version

    @property
    def floe_api_version(self) -> str:
        """The floe plugin API version the plugin implements."""
        return type(self).metadata.floe_api_version

    # Template methods ------------------------------------------------------------------
    def check(self, entry: IngestionConfig) -> list[str]:
        """Problems of ``entry`` found without running the connector (``"path: message"``).

        Empty when the entry looks runnable. Raises :class:`PluginError` when ``entry`` is not
        an ``IngestionConfig`` of this connector (a caller's mistake).
        """
        self._check_entry(entry)
        problems = self._call("_check", lambda: list(self._check(entry)))
        if not all(isinstance(p, str) for p in problems):
            raise PluginError(f"ingestion plugin '{self.name}': _check must yield strings")
        return problems

    def source_datasets(self, entry: IngestionConfig, base_dir: Path) -> dict[str, Dataset]:
        """The lineage dataset each stream of ``entry`` is read from, by stream name."""
        from floe_orchestration_core.lineage import Dataset

        self._check_entry(entry)
        datasets: dict[str, Dataset] = {}
        for stream in entry.streams:
            dataset: object = self._call(
                "_source_dataset", partial(self._source_dataset, entry, stream.name, base_dir)
            )
            if not isinstance(dataset, Dataset):
                raise PluginError(
                    f"ingestion plugin '{self.name}': _source_dataset must return a Dataset; "
                    f"got {type(dataset).__name__}"
                )
            datasets[stream.name] = dataset
        return datasets

    def run(self, request: IngestionRequest) -> IngestionResult:
        """Load ``request.streams`` into ``request.destination``; one result per stream.

        Raises :class:`IngestionConfigError` (not retryable) for a misconfiguration found
        before or while running, :class:`IngestionError` for a failed run; a result that does
        not answer every requested stream is a :class:`PluginError`. Runs of one entry take
        turns: the entry's state folder is locked while ``_run`` runs
        (:mod:`~floe_orchestration_core.ingestion.state_lock`).
        """
        from floe_orchestration_core.telemetry import span

        if not isinstance(request, IngestionRequest):
            raise PluginError(
                f"run() takes an IngestionRequest, got {type(request).__name__}; build one with "
                "floe_orchestration_core.ingestion.destinations.ingestion_request(...)"
            )
        entry = request.entry
        self._check_entry(entry)
        self._check_request(request)
        problems = self.check(entry)
        if problems:
            raise IngestionConfigError(
                f"ingestion '{entry.name}' ({self.name}, {entry.source}) is misconfigured:\n"
                + "\n".join(f"  {problem}" for problem in problems)
            )
        started = time.monotonic()
        with (
            entry_lock(request.state_dir, entry=entry.name, log=request.log),
            span(
                "floe_orchestration_core",
                "ingestion.run",
                tracer_provider=None,
                **{
                    "floe.ingestion": entry.name,
                    "floe.ingestion.connector": self.name,
                    "floe.ingestion.source": entry.source,
                    "floe.ingestion.streams": request.streams,
                    "floe.ingestion.destination": request.destination.type,
                },
            ) as current,
        ):
            result = self._call("_run", lambda: self._run(request), request=request)
            self._check_result(request, result)
            current.set_attribute("floe.ingestion.rows_loaded", _rows(result))
        request.log.info(
            "ingestion '%s' (%s) loaded %d row(s) into %s in %.1f s",
            entry.name,
            self.name,
            _rows(result),
            request.destination.describe(),
            time.monotonic() - started,
        )
        return result

    # Checks ----------------------------------------------------------------------------
    def _check_entry(self, entry: object) -> None:
        from floe_orchestration_core.artifacts import IngestionConfig

        if not isinstance(entry, IngestionConfig):
            raise PluginError(
                f"ingestion plugin '{self.name}' takes an IngestionConfig; got "
                f"{type(entry).__name__}"
            )
        if entry.connector != self.name:
            raise PluginError(
                f"ingestion '{entry.name}' names connector '{entry.connector}', not "
                f"'{self.name}'; resolve the plugin by the entry's connector"
            )

    def _check_request(self, request: IngestionRequest) -> None:
        entry = request.entry
        declared = [s.name for s in entry.streams]
        unknown = [s for s in request.streams if s not in declared]
        if not request.streams or unknown or len(set(request.streams)) != len(request.streams):
            raise PluginError(
                f"ingestion '{entry.name}': streams to run must be a non-empty subset of "
                f"{declared} without repeats; got {list(request.streams)}"
            )
        if request.destination.type not in self.destination_types:
            raise IngestionConfigError(
                f"ingestion '{entry.name}': connector '{self.name}' writes to "
                f"{', '.join(sorted(self.destination_types))} compute targets, not "
                f"{request.destination.type} ({request.destination.compute}); point "
                "destination.compute at one it supports"
            )

    def _check_result(self, request: IngestionRequest, result: object) -> None:
        where = f"ingestion plugin '{self.name}': _run"
        if not isinstance(result, IngestionResult):
            raise PluginError(f"{where} must return an IngestionResult; got {type(result)}")
        answered = [s.stream for s in result.streams]
        if sorted(answered) != sorted(request.streams):
            raise PluginError(
                f"{where} answered streams {answered}; it must answer each of "
                f"{list(request.streams)} once"
            )
        for stream in result.streams:
            problems: list[str] = []
            if not isinstance(stream.rows_loaded, int) or stream.rows_loaded < 0:
                problems.append(f"rows_loaded {stream.rows_loaded!r}")
            if not isinstance(stream.rows_total, int) or stream.rows_total < 0:
                problems.append(f"rows_total {stream.rows_total!r}")
            if not isinstance(stream.data_version, str) or not stream.data_version:
                problems.append(f"data_version {stream.data_version!r}")
            if stream.table != request.entry.table(stream.stream):
                problems.append(
                    f"table {stream.table!r} (expected {request.entry.table(stream.stream)!r})"
                )
            if problems:
                raise PluginError(f"{where}: stream '{stream.stream}' has {', '.join(problems)}")

    def _call(
        self, hook: str, call: Callable[[], _T], *, request: IngestionRequest | None = None
    ) -> _T:
        """Run a hook: floe errors (and interrupts) pass through; anything else becomes a
        retryable IngestionError, its text redacted of the request's secrets."""
        try:
            return call()
        except FloeError:
            raise
        except Exception as exc:
            text = f"{type(exc).__name__}: {exc}"
            if request is not None:
                text = request.redact(text)
            raise IngestionError(
                f"ingestion plugin '{self.name}' failed in {hook}: {text}"
            ) from exc

    # Hooks -----------------------------------------------------------------------------
    @abstractmethod
    def _run(self, request: IngestionRequest) -> IngestionResult:
        """Load the request's streams; see the module checklist."""

    def _check(self, entry: IngestionConfig) -> Iterable[str]:
        """Problems found without running the connector; none by default."""
        return ()

    def _source_dataset(self, entry: IngestionConfig, stream: str, base_dir: Path) -> Dataset:
        """The dataset stream ``stream`` is read from: ``<plugin>://<source>`` / stream."""
        from floe_orchestration_core.lineage import Dataset

        return Dataset(namespace=f"{self.name}://{entry.source}", name=stream)


def _rows(result: IngestionResult) -> int:
    return sum(stream.rows_loaded for stream in result.streams)
