"""The durable spool: serialized events on disk until a backend accepted them.

A spool is a folder (a product's ``.floe/lineage/spool``) shared by every process of the
product. Layout:

=========================  ===================================================================
``seg-<offset>.jsonl``     append-only segments, one serialized event per line; ``<offset>``
                           (20 digits) is the spool-wide byte offset of the segment's first
                           byte, so a position in the spool is one integer
``cursor.json``            ``{"offset": N}``: every event before byte ``N`` was delivered
``append.lock``            ``flock``-ed around each append (events of all processes interleave
                           whole lines, in the order they were appended)
``deliver.lock``           held by the one process delivering (two never send the same events)
``rejected.jsonl``         events a backend refused permanently, with their offset and why
=========================  ===================================================================

**Appending** (:meth:`EventSpool.append`): one ``write`` of a whole line to an ``O_APPEND``
descriptor under ``append.lock``. The page cache survives a killed process, so an event
appended is kept even after ``SIGKILL``; :meth:`EventSpool.sync` (``fdatasync``) makes it
survive a power loss too (the delivery thread calls it at most every 0.2 s, and every flush
and close). A segment is closed at ``segment_bytes``; the next one starts where it ended.

**Bounded**: when the segments on disk would exceed ``max_bytes``, :meth:`append` raises
:class:`SpoolFullError` and the event is not stored (the backend counts it dropped and warns
once, naming ``lineage.config.spool_max_bytes``). Stored events and their order are kept:
dropping the oldest instead would lose the START of runs whose terminal event is kept.

**Delivering** (only with :meth:`EventSpool.lock_delivery`): read complete lines from the
cursor (:meth:`read_from`), and after the backend accepted an event move the cursor past it
(:meth:`write_cursor`: a temporary file renamed over ``cursor.json``). Segments wholly before
the cursor are deleted (:meth:`remove_delivered`). A torn line (a crash in the middle of a
write, or a disk that filled up) is ended by the next append and read as an unreadable event,
which is rejected.

Standard library only; POSIX ``fcntl.flock`` locks (released by the kernel when a process
dies, so a killed deliverer never wedges the spool).
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Final

from floe_orchestration_core.errors import LineageError

__all__ = ["EventSpool", "SpoolFullError", "SpooledLine"]

_SEGMENT_PREFIX: Final = "seg-"
_SEGMENT_SUFFIX: Final = ".jsonl"
_CURSOR: Final = "cursor.json"
_REJECTED: Final = "rejected.jsonl"
_READ_CHUNK: Final = 1 << 20
_MIN_SEGMENT: Final = 64 << 10
_MAX_SEGMENT: Final = 8 << 20


class SpoolFullError(LineageError):
    """The spool holds ``max_bytes``: the event was not stored."""


class SpooledLine:
    """One stored event: its spool-wide ``start`` and ``end`` offsets and its bytes."""

    __slots__ = ("end", "line", "start")

    def __init__(self, start: int, end: int, line: bytes) -> None:
        self.start = start
        self.end = end
        self.line = line


def _segment_name(base: int) -> str:
    return f"{_SEGMENT_PREFIX}{base:020d}{_SEGMENT_SUFFIX}"


class EventSpool:
    """A spool folder (see the module docstring). Thread-safe within a process."""

    def __init__(self, folder: Path, *, max_bytes: int, segment_bytes: int | None = None) -> None:
        self.folder = folder
        self.max_bytes = max_bytes
        default = max(_MIN_SEGMENT, min(_MAX_SEGMENT, max_bytes // 8))
        self.segment_bytes = segment_bytes or default
        try:
            folder.mkdir(parents=True, exist_ok=True)
            self._append_lock_fd = os.open(folder / "append.lock", os.O_RDWR | os.O_CREAT, 0o644)
            self._deliver_lock_fd = os.open(folder / "deliver.lock", os.O_RDWR | os.O_CREAT, 0o644)
        except OSError as exc:
            raise LineageError(
                f"cannot use the lineage spool folder {folder} ({exc.strerror}); make it "
                "writable or choose another with lineage.config.spool_dir"
            ) from exc
        self._mutex = threading.Lock()
        self._segment_fd: int | None = None
        self._segment_base = 0
        self._other_bytes = 0  # bytes of the other segments at the last listing
        self._dirty = False
        self._holding = False
        self._closed = False

    # -- segments ---------------------------------------------------------------------------
    def segments(self) -> list[tuple[int, Path]]:
        """``(base offset, path)`` of every segment, oldest first."""
        found = []
        try:
            names = os.listdir(self.folder)
        except FileNotFoundError:
            return []
        for name in names:
            if name.startswith(_SEGMENT_PREFIX) and name.endswith(_SEGMENT_SUFFIX):
                digits = name[len(_SEGMENT_PREFIX) : -len(_SEGMENT_SUFFIX)]
                if digits.isdigit():
                    found.append((int(digits), self.folder / name))
        return sorted(found)

    def _sizes(self) -> list[tuple[int, Path, int]]:
        sized = []
        for base, path in self.segments():
            with contextlib.suppress(FileNotFoundError):
                sized.append((base, path, path.stat().st_size))
        return sized

    def _open_current(self) -> None:
        """Open the newest segment for appending (a new one when it is full or absent)."""
        if self._segment_fd is not None:
            os.close(self._segment_fd)
            self._segment_fd = None
        sized = self._sizes()
        if sized and sized[-1][2] < self.segment_bytes:
            base, path, _ = sized[-1]
        else:
            # After the last segment; in an empty spool, at the cursor (whatever was there
            # before was delivered: offsets never go back).
            base = sized[-1][0] + sized[-1][2] if sized else self.read_cursor()
            path = self.folder / _segment_name(base)
        self._segment_fd = os.open(path, os.O_RDWR | os.O_APPEND | os.O_CREAT, 0o644)
        self._segment_base = base
        self._other_bytes = sum(size for b, _, size in sized if b != base)

    @contextlib.contextmanager
    def _appending(self) -> Iterator[int]:
        with self._mutex:
            if self._closed:
                raise LineageError("the lineage spool is closed")
            fcntl.flock(self._append_lock_fd, fcntl.LOCK_EX)
            try:
                fd = self._segment_fd
                if fd is None:
                    self._open_current()
                else:
                    status = os.fstat(fd)
                    if status.st_nlink == 0 or status.st_size >= self.segment_bytes:
                        self._open_current()
                assert self._segment_fd is not None
                yield self._segment_fd
            finally:
                fcntl.flock(self._append_lock_fd, fcntl.LOCK_UN)

    def append(self, line: bytes) -> tuple[int, int]:
        """Store ``line`` (one serialized event ending with a newline); its (start, end).

        Raises :class:`SpoolFullError` when it would not fit in ``max_bytes`` and OSError
        when the disk refuses it.
        """
        with self._appending() as fd:
            size = os.fstat(fd).st_size
            if size and os.pread(fd, 1, size - 1) != b"\n":
                os.write(fd, b"\n")  # end a torn line left by a crash, so this one is whole
                size += 1
            if self._other_bytes + size + len(line) > self.max_bytes:
                self._other_bytes = sum(s for b, _, s in self._sizes() if b != self._segment_base)
                if self._other_bytes + size + len(line) > self.max_bytes:
                    raise SpoolFullError(
                        f"the lineage spool {self.folder} is full ({self.max_bytes} bytes of "
                        "undelivered events); deliver them with 'floe lineage flush' or raise "
                        "lineage.config.spool_max_bytes"
                    )
            written = os.write(fd, line)
            self._dirty = True
            if written != len(line):
                raise OSError(f"only {written} of {len(line)} bytes written to the lineage spool")
            start = self._segment_base + size
            return start, start + len(line)

    def sync(self) -> None:
        """Make every appended event durable (``fdatasync``); cheap when nothing is new."""
        with self._mutex:
            if self._dirty and self._segment_fd is not None:
                os.fdatasync(self._segment_fd)
                self._dirty = False

    # -- delivery ---------------------------------------------------------------------------
    @property
    def holding(self) -> bool:
        """Whether this spool object holds ``deliver.lock``."""
        return self._holding

    def lock_delivery(self) -> bool:
        """Take ``deliver.lock`` without waiting; True when this spool object now holds it."""
        if self._holding:
            return True
        try:
            fcntl.flock(self._deliver_lock_fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            return False
        self._holding = True
        return True

    def unlock_delivery(self) -> None:
        if self._holding:
            fcntl.flock(self._deliver_lock_fd, fcntl.LOCK_UN)
            self._holding = False

    def read_cursor(self) -> int:
        """The offset before which every event was delivered (0 for a new spool)."""
        try:
            state = json.loads((self.folder / _CURSOR).read_text(encoding="utf-8"))
            return max(0, int(state["offset"]))
        except (FileNotFoundError, ValueError, KeyError, TypeError):
            return 0

    def write_cursor(self, offset: int, *, durable: bool = False) -> None:
        """Record that every event before ``offset`` was delivered (deliverer only)."""
        temporary = self.folder / f".{_CURSOR}.{os.getpid()}.{threading.get_ident()}"
        with open(temporary, "w", encoding="utf-8") as handle:
            handle.write(json.dumps({"offset": offset}))
            if durable:
                handle.flush()
                os.fsync(handle.fileno())
        os.replace(temporary, self.folder / _CURSOR)
        if durable:
            self._sync_folder()

    def _sync_folder(self) -> None:
        fd = os.open(self.folder, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)

    def end_offset(self) -> int:
        """The offset just past the last stored byte."""
        sized = self._sizes()
        return sized[-1][0] + sized[-1][2] if sized else 0

    def read_from(self, offset: int, limit: int = 64) -> list[SpooledLine]:
        """Up to ``limit`` stored events from ``offset`` on, in order.

        A line without its newline at the end of the newest segment is still being written
        and is not returned; anywhere else it is torn and is returned as it is (the caller
        rejects what it cannot read).
        """
        sized = self._sizes()
        lines: list[SpooledLine] = []
        for index, (base, path, size) in enumerate(sized):
            if base + size <= offset or len(lines) >= limit:
                continue
            position = max(offset, base)
            newest = index == len(sized) - 1
            lines += self._read_segment(
                path, base, position, end=base + size, newest=newest, limit=limit - len(lines)
            )
            if lines:
                offset = lines[-1].end
            if lines and lines[-1].end < base + size:
                break  # a partial line at the end of the newest segment, or the limit
        return lines

    def _read_segment(
        self, path: Path, base: int, position: int, *, end: int, newest: bool, limit: int
    ) -> list[SpooledLine]:
        lines: list[SpooledLine] = []
        try:
            handle = open(path, "rb")  # noqa: SIM115 (closed below; the loop reads in chunks)
        except FileNotFoundError:
            return lines
        with handle:
            handle.seek(position - base)
            pending = b""
            while len(lines) < limit and position + len(pending) < end:
                chunk = handle.read(min(_READ_CHUNK, end - position - len(pending)))
                if not chunk:
                    break
                pending += chunk
                first = 0
                while len(lines) < limit:
                    cut = pending.find(b"\n", first)
                    if cut < 0:
                        break
                    line = pending[first : cut + 1]
                    lines.append(SpooledLine(position, position + len(line), line))
                    position += len(line)
                    first = cut + 1
                pending = pending[first:]
            if pending and not newest and len(lines) < limit and position + len(pending) >= end:
                lines.append(SpooledLine(position, end, pending))  # torn: ended by nothing
        return lines

    def remove_delivered(self, cursor: int) -> None:
        """Delete the segments wholly before ``cursor`` (never the newest one)."""
        sized = self._sizes()
        for base, path, size in sized[:-1]:
            if base + size <= cursor:
                with contextlib.suppress(FileNotFoundError):
                    path.unlink()

    def count_from(self, offset: int) -> int:
        """How many stored events start at or after ``offset``."""
        count = 0
        while True:
            batch = self.read_from(offset, limit=10_000)
            if not batch:
                return count
            count += len(batch)
            offset = batch[-1].end

    def reject(self, stored: SpooledLine, reason: str) -> None:
        """Keep ``stored`` in ``rejected.jsonl`` with ``reason`` (deliverer only)."""
        record = {
            "offset": stored.start,
            "reason": reason,
            "event": stored.line.decode("utf-8", errors="replace").rstrip("\n"),
        }
        with open(self.folder / _REJECTED, "a", encoding="utf-8") as handle:
            handle.write(json.dumps(record) + "\n")

    def rejected_offsets(self) -> set[int]:
        """The start offsets of every rejected event."""
        offsets: set[int] = set()
        try:
            text = (self.folder / _REJECTED).read_text(encoding="utf-8")
        except FileNotFoundError:
            return offsets
        for line in text.splitlines():
            with contextlib.suppress(ValueError, KeyError, TypeError):
                offsets.add(int(json.loads(line)["offset"]))
        return offsets

    def rejected_size(self) -> int:
        try:
            return (self.folder / _REJECTED).stat().st_size
        except FileNotFoundError:
            return 0

    def close(self) -> None:
        """Make appended events durable and release descriptors and locks. Idempotent."""
        with self._mutex:
            if self._closed:
                return
            self._closed = True
            fd, self._segment_fd = self._segment_fd, None
        if fd is not None:
            with contextlib.suppress(OSError):
                if self._dirty:
                    os.fdatasync(fd)
            os.close(fd)
        self.unlock_delivery()
        os.close(self._append_lock_fd)
        os.close(self._deliver_lock_fd)
