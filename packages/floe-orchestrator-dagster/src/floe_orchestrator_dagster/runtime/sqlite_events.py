"""Dagster's SQLite event log, keeping SQLAlchemy engines and connections open.

Dagster's ``SqliteEventLogStorage`` builds a new SQLAlchemy engine for every read and write,
so every statement is compiled again and the dialect set up again, and it opens and closes a
SQLite connection each time: closing the last connection of a WAL database checkpoints the log
and deletes it, and every commit waits for an ``fsync``. In a run of 500 dbt models (about
1,400 asset and check events, each written to the run's file and the index file) storing
events took over half of the run process's CPU time, competing with dbt for the same cores.

:class:`CachedEngineSqliteEventLogStorage` keeps an engine per file, each with one pooled
connection, for the most recently used files (:data:`MAX_OPEN_SHARDS`; a daemon that touches
thousands of run files over weeks keeps a bounded number open). Connections use
``PRAGMA synchronous=NORMAL``, SQLite's recommended setting for WAL databases: a commit is
durable once written to the WAL, so a crash of any process loses nothing and the files never
corrupt; only a power loss can undo the last commits. Transactions, locking and the schema
are Dagster's own, so several processes (webserver, daemon, runs) share the files as before.
Dagster's question whether an index table exists (asked before every asset-check event) is
answered from memory once the answer is yes.

``dagster.yaml`` selects it with ``event_log_storage: {module:
floe_orchestrator_dagster.runtime.sqlite_events, class: CachedEngineSqliteEventLogStorage,
config: {base_dir: ...}}`` (:func:`~floe_orchestrator_dagster.runtime.home.instance_config`
does for SQLite storage). The decision and what would make us revisit it:
``docs/decisions/0007-local-sqlite-event-log-keeps-engines.md``; the Dagster internals it relies
on are listed in :mod:`floe_orchestrator_dagster.compat`.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from sqlalchemy import Connection, Engine, create_engine, event
from sqlalchemy.pool import QueuePool

from floe_orchestrator_dagster.compat import (
    ConfigurableClassData,
    SqliteEventLogStorage,
    sqlite_busy_timeout_seconds,
)

__all__ = ["MAX_OPEN_SHARDS", "CachedEngineSqliteEventLogStorage"]

#: Files (run shards and the index) whose engine and connection stay open at once.
MAX_OPEN_SHARDS = 8

#: Dagster's own SQLite busy timeout (seconds).
_BUSY_TIMEOUT_SECONDS = sqlite_busy_timeout_seconds()


class CachedEngineSqliteEventLogStorage(SqliteEventLogStorage):
    """``SqliteEventLogStorage`` with one engine per shard file (see the module docstring)."""

    def __init__(self, base_dir: str, inst_data: ConfigurableClassData | None = None) -> None:
        self._engines: OrderedDict[str, Engine] = OrderedDict()
        self._engines_lock = threading.Lock()
        self._tables: set[str] = set()
        super().__init__(base_dir, inst_data=inst_data)

    @classmethod
    def from_config_value(
        cls, inst_data: ConfigurableClassData | None, config_value: Any
    ) -> CachedEngineSqliteEventLogStorage:
        return cls(inst_data=inst_data, **config_value)

    def _engine(self, conn_string: str) -> Engine:
        evicted: list[Engine] = []
        with self._engines_lock:
            engine = self._engines.get(conn_string)
            if engine is None:
                engine = create_engine(
                    conn_string,
                    poolclass=QueuePool,
                    pool_size=1,  # Dagster's own lock serializes every use of the storage
                    max_overflow=4,
                    connect_args={"timeout": _BUSY_TIMEOUT_SECONDS, "check_same_thread": False},
                )
                event.listen(engine, "connect", _wal_settings)
                self._engines[conn_string] = engine
                while len(self._engines) > MAX_OPEN_SHARDS:
                    evicted.append(self._engines.popitem(last=False)[1])
            else:
                self._engines.move_to_end(conn_string)
        for old in evicted:  # a connection still in use closes when it is given back
            old.dispose()
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

    def has_table(self, table_name: str) -> bool:
        """Dagster asks before every asset-check and tagged asset event (a new engine and
        connection each time); a table, once there, stays, so a yes is remembered."""
        if table_name in self._tables:
            return True
        found = super().has_table(table_name)
        if found:
            self._tables.add(table_name)
        return found

    def dispose(self) -> None:
        with self._engines_lock:
            engines, self._engines = list(self._engines.values()), OrderedDict()
        for engine in engines:
            engine.dispose()
        super().dispose()


def _wal_settings(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    try:
        cursor.execute("PRAGMA synchronous=NORMAL")
    finally:
        cursor.close()
