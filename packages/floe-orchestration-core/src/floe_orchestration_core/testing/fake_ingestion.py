"""An ingestion plugin without a connector: :class:`InMemoryIngestion`, for orchestrator tests.

It runs for real through the port (requests, state between runs, results, errors), with a
source made of counters: an entry's ``config.records`` says how many records each stream's
source holds (``{"records": {"users": 5, "orders": 12}}``, default 3 per stream). A run "loads"
what is new since the cursor kept in ``<state_dir>/state.json`` and remembers what each table
holds in :attr:`InMemoryIngestion.tables` (``(destination compute, "schema.table") -> rows``), so
a second run without new records loads 0 rows and keeps each stream's data version.

``config.fail`` makes runs fail the two ways a connector does: ``"config"`` raises
:class:`~floe_orchestration_core.errors.IngestionConfigError` (not retryable), ``"connector"``
an :class:`~floe_orchestration_core.errors.IngestionError` (retryable). A stream named in
``config.unknown_streams`` is refused as a connector refuses a stream it does not offer.
Every run is appended to :attr:`InMemoryIngestion.runs`.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any, ClassVar

from floe_orchestration_core import FLOE_API_VERSION, __version__
from floe_orchestration_core.errors import IngestionConfigError, IngestionError
from floe_orchestration_core.ingestion import (
    IngestionPlugin,
    IngestionRequest,
    IngestionResult,
    StreamResult,
)
from floe_orchestration_core.plugin_metadata import PluginMetadata

if TYPE_CHECKING:
    from floe_orchestration_core.artifacts import IngestionConfig

__all__ = ["InMemoryIngestion"]

_DEFAULT_RECORDS = 3
_KNOWN_CONFIG = frozenset({"records", "fail", "unknown_streams"})


class InMemoryIngestion(IngestionPlugin):
    """The reference ingestion adapter (see the module docstring); passes the contract suite."""

    metadata: ClassVar[PluginMetadata] = PluginMetadata(
        name="in_memory",
        version=__version__,
        floe_api_version=FLOE_API_VERSION,
        description="counters as a source, for tests",
    )

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.runs: list[IngestionRequest] = []
        self.tables: dict[tuple[str, str], int] = {}

    def _check(self, entry: IngestionConfig) -> Iterable[str]:
        for key in sorted(set(entry.config) - _KNOWN_CONFIG):
            yield f"config.{key}: unknown key; in_memory takes {', '.join(sorted(_KNOWN_CONFIG))}"
        records = entry.config.get("records", {})
        if not isinstance(records, dict) or not all(
            isinstance(v, int) and not isinstance(v, bool) and v >= 0 for v in records.values()
        ):
            yield "config.records: a mapping of stream name to a record count >= 0"

    def _run(self, request: IngestionRequest) -> IngestionResult:
        with self._lock:
            self.runs.append(request)
        config = request.config
        if config.get("fail") == "config":
            raise IngestionConfigError(
                f"ingestion '{request.entry.name}': the source refused its config (count must "
                "be a number)"
            )
        if config.get("fail") == "connector":
            raise IngestionError(f"ingestion '{request.entry.name}': the source did not answer")
        unknown = [s for s in request.streams if s in config.get("unknown_streams", [])]
        if unknown:
            raise IngestionConfigError(
                f"ingestion '{request.entry.name}': stream(s) {', '.join(unknown)} are not "
                "offered by the source"
            )
        records: dict[str, Any] = dict(config.get("records", {}))
        state_file = request.state_dir / "state.json"
        state: dict[str, int] = (
            json.loads(state_file.read_text(encoding="utf-8")) if state_file.is_file() else {}
        )
        results: list[StreamResult] = []
        for stream in request.streams:
            total = int(records.get(stream, _DEFAULT_RECORDS))
            loaded = max(0, total - state.get(stream, 0))
            state[stream] = total
            table = request.entry.table(stream)
            with self._lock:
                self.tables[(request.destination.compute, table)] = total
            results.append(
                StreamResult(
                    stream=stream,
                    table=table,
                    rows_loaded=loaded,
                    rows_total=total,
                    data_version=f"{total}",
                    metadata={"cursor": total},
                )
            )
        request.state_dir.mkdir(parents=True, exist_ok=True)
        state_file.write_text(json.dumps(state), encoding="utf-8")
        return IngestionResult(streams=tuple(results), metadata={"source": request.entry.source})
