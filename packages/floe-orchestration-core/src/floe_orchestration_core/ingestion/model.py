"""The value objects of the ingestion port: where streams land, what a run is asked, what it did.

Standard library only (frozen dataclasses): an ingestion plugin's module imports the port, and
the registry imports the plugin's module to load it.

- :class:`DuckDBDestination` / :class:`PostgresDestination` — a compute target's connection,
  resolved from its ``properties`` (:mod:`~floe_orchestration_core.ingestion.destinations`);
- :class:`IngestionRequest` — one run of one entry: the streams to load, the config with its
  secrets, the destination, the folder its state lives in between runs;
- :class:`StreamResult` / :class:`IngestionResult` — what the run loaded, per stream.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar
from urllib.parse import quote

if TYPE_CHECKING:
    from floe_orchestration_core.artifacts import IngestionConfig

__all__ = [
    "Destination",
    "DuckDBDestination",
    "IngestionRequest",
    "IngestionResult",
    "PostgresDestination",
    "StreamResult",
]


@dataclass(frozen=True, slots=True, kw_only=True)
class DuckDBDestination:
    """A DuckDB warehouse file (absolute ``path``) and the schema streams land in."""

    compute: str
    path: Path
    schema: str

    type: ClassVar[str] = "duckdb"

    def describe(self) -> str:
        """How messages name it: ``duckdb /abs/warehouse.duckdb (schema raw)``."""
        return f"duckdb {self.path} (schema {self.schema})"


@dataclass(frozen=True, slots=True, kw_only=True)
class PostgresDestination:
    """A PostgreSQL database and the schema streams land in. ``password`` is the value read
    from the variable the compute target names (None: no password, e.g. trust auth); it is
    left out of ``repr`` and :meth:`describe`."""

    compute: str
    host: str
    port: int
    database: str
    user: str
    schema: str
    password: str | None = field(default=None, repr=False)

    type: ClassVar[str] = "postgres"

    def describe(self) -> str:
        """``postgres user@host:port/database (schema raw)``, never the password."""
        return (
            f"postgres {self.user}@{self.host}:{self.port}/{self.database} (schema {self.schema})"
        )

    def url(self, *, driver: str = "postgresql", password_placeholder: str = "") -> str:
        """A connection URL; ``password_placeholder`` stands in when there is no password
        (dlt refuses credentials without one, even under trust authentication)."""
        password = self.password if self.password else password_placeholder
        secret = f":{quote(password, safe='')}" if password else ""
        return (
            f"{driver}://{quote(self.user, safe='')}{secret}@{self.host}:{self.port}/"
            f"{quote(self.database, safe='')}"
        )


#: Where an ingestion run writes.
Destination = DuckDBDestination | PostgresDestination


@dataclass(frozen=True, slots=True, kw_only=True)
class IngestionRequest:
    """One run of one ingestion entry.

    ``streams`` is what to load this run (a non-empty subset of ``entry.streams``' names, in the
    entry's order); ``config`` is ``entry.config`` with every ``config_env`` secret filled in
    (never log it); ``secrets`` are those values (to redact from anything logged);
    ``state_dir`` is the connector's own folder, kept between runs (sync state, caches);
    ``base_dir`` is the folder relative paths in ``config`` and stream options start from.
    """

    entry: IngestionConfig
    streams: tuple[str, ...]
    config: Mapping[str, Any] = field(repr=False)
    destination: Destination
    state_dir: Path
    base_dir: Path
    run_id: str = ""
    secrets: frozenset[str] = field(default=frozenset(), repr=False)
    log: logging.Logger = field(default_factory=lambda: logging.getLogger("floe.ingestion"))

    def path(self, relative: str | Path) -> Path:
        """``relative`` resolved against :attr:`base_dir` (absolute paths are kept)."""
        candidate = Path(relative)
        return candidate if candidate.is_absolute() else self.base_dir / candidate

    def redact(self, text: str) -> str:
        """``text`` with every secret value of the request replaced by ``***``."""
        for value in sorted(self.secrets, key=len, reverse=True):
            if value:
                text = text.replace(value, "***")
        return text


@dataclass(frozen=True, slots=True, kw_only=True)
class StreamResult:
    """What one run did to one stream's table.

    ``rows_loaded`` is what the connector loaded this run (0 when nothing was new);
    ``rows_total`` the table's row count afterwards; ``data_version`` a string that changes
    exactly when the table's content changes (e.g. the row count and the newest load id), so
    an unchanged table keeps its version and its readers are not stale; ``metadata`` holds
    the connector's extras (cursor, load id) as JSON values.
    """

    stream: str
    table: str
    rows_loaded: int
    rows_total: int
    data_version: str
    metadata: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True, kw_only=True)
class IngestionResult:
    """One :class:`StreamResult` per requested stream, and run-wide metadata (JSON values)."""

    streams: tuple[StreamResult, ...]
    metadata: Mapping[str, Any] = field(default_factory=dict)

    def stream(self, name: str) -> StreamResult:
        """The result of stream ``name`` (KeyError naming the streams otherwise)."""
        for result in self.streams:
            if result.stream == name:
                return result
        answered = ", ".join(s.stream for s in self.streams)
        raise KeyError(f"no result for stream '{name}'; results: {answered}")
