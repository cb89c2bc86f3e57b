"""Dagster's SQLite event log, keeping one SQLAlchemy engine per database file.

Dagster's ``SqliteEventLogStorage`` builds a new SQLAlchemy engine for every read and write,
so every statement is compiled again and the dialect set up again: in a run of 500 dbt models
(about 1,400 events) storing events took over half of the run process's CPU time, competing
with dbt for the same cores. :class:`CachedEngineSqliteEventLogStorage` keeps each file's
engine for the life of the process. Connections are still opened per operation (``NullPool``)
and transactions, locking and schema are Dagster's own, so several processes (webserver,
daemon, runs) share the files exactly as before.

``dagster.yaml`` selects it with ``event_log_storage: {module:
floe_orchestrator_dagster.runtime.sqlite_events, class: CachedEngineSqliteEventLogStorage,
config: {base_dir: ...}}`` (:func:`~floe_orchestrator_dagster.runtime.home.instance_config`
does for SQLite storage).
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from dagster._core.storage.event_log.sqlite import sqlite_event_log
from dagster._serdes import ConfigurableClassData
from sqlalchemy import Connection, Engine, create_engine
from sqlalchemy.pool import NullPool

__all__ = ["CachedEngineSqliteEventLogStorage"]

#: Dagster's own SQLite busy timeout (seconds), read where it is defined when it is there.
_BUSY_TIMEOUT_SECONDS: float = getattr(sqlite_event_log, "SQLITE_BUSY_TIMEOUT_SECONDS", 30)


class CachedEngineSqliteEventLogStorage(sqlite_event_log.SqliteEventLogStorage):
    """``SqliteEventLogStorage`` with one engine per shard file (see the module docstring)."""

    def __init__(self, base_dir: str, inst_data: ConfigurableClassData | None = None) -> None:
        self._engines: dict[str, Engine] = {}
        self._engines_lock = threading.Lock()
        super().__init__(base_dir, inst_data=inst_data)

    @classmethod
    def from_config_value(
        cls, inst_data: ConfigurableClassData | None, config_value: Any
    ) -> CachedEngineSqliteEventLogStorage:
        return cls(inst_data=inst_data, **config_value)

    def _engine(self, conn_string: str) -> Engine:
        with self._engines_lock:
            engine = self._engines.get(conn_string)
            if engine is None:
                engine = create_engine(
                    conn_string,
                    poolclass=NullPool,
                    connect_args={"timeout": _BUSY_TIMEOUT_SECONDS},
                )
                self._engines[conn_string] = engine
            return engine

    @contextmanager
    def _connect(self, shard: str) -> Iterator[Connection]:
        with self._db_lock:
            engine = self._engine(self.conn_string_for_shard(shard))
            if shard not in self._initialized_dbs:
                self._initdb(engine)
                self._initialized_dbs.add(shard)
            with engine.connect() as conn, conn.begin():
                yield conn

    def dispose(self) -> None:
        with self._engines_lock:
            engines, self._engines = list(self._engines.values()), {}
        for engine in engines:
            engine.dispose()
        super().dispose()
