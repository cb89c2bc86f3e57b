"""One run of an ingestion entry at a time: an exclusive lock on the entry's state folder.

Two runs of one entry at once (a schedule firing while a manual run syncs) would share the
connector's state and cache files. :func:`entry_lock` holds an exclusive ``flock`` on
``<state_dir>/.lock`` for the whole run; a second run waits for the first to finish (logging
who holds it), so the runs take turns instead of corrupting each other's state. The lock is
the kernel's: a run that is killed releases it. Where ``fcntl`` does not exist (Windows) no
lock is taken. Standard library only.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

__all__ = ["entry_lock"]


@contextmanager
def entry_lock(state_dir: Path, *, entry: str, log: logging.Logger) -> Iterator[None]:
    """Hold the exclusive lock of ``state_dir`` (created if missing) while the block runs."""
    try:
        import fcntl
    except ImportError:  # pragma: no cover (Windows)
        yield
        return
    state_dir.mkdir(parents=True, exist_ok=True)
    with (state_dir / ".lock").open("a+", encoding="utf-8") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            handle.seek(0)
            holder = handle.read().strip() or "another process"
            log.info(
                "ingestion '%s' is running in %s; waiting for it to finish (%s)",
                entry,
                holder,
                state_dir,
            )
            fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            handle.seek(0)
            handle.truncate()
            handle.write(f"pid {os.getpid()}")
            handle.flush()
            yield
        finally:
            handle.seek(0)
            handle.truncate()
            handle.flush()
            fcntl.flock(handle, fcntl.LOCK_UN)
