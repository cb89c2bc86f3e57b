"""What deduplication and rate limiting remember between dispatches, and where it is kept:
in memory, or in a JSON file shared by every process under an exclusive ``flock``."""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import tempfile
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Final, Protocol

import attrs

from floe_orchestration_core.alerts.model import ChannelLimits

__all__ = ["AlertState", "AlertStateStore", "JsonFileAlertState", "MemoryAlertState"]

_HOUR: Final = 3600.0


@attrs.define
class AlertState:
    """What deduplication and rate limiting remember, per channel.

    ``last_sent``: channel → dedup key → when it was last sent; ``sent_at``: channel → send
    times within the last hour; ``suppressed``: channel → alerts counted but not sent since
    ``suppressed_since``.
    """

    last_sent: dict[str, dict[str, float]] = attrs.field(factory=dict)
    sent_at: dict[str, list[float]] = attrs.field(factory=dict)
    suppressed: dict[str, int] = attrs.field(factory=dict)
    suppressed_since: dict[str, float] = attrs.field(factory=dict)
    deduplicated: dict[str, int] = attrs.field(factory=dict)

    def to_json(self) -> str:
        return json.dumps(attrs.asdict(self), sort_keys=True)

    @classmethod
    def from_json(cls, text: str) -> AlertState:
        """Read state written by :meth:`to_json`; anything unreadable starts afresh."""
        try:
            data = json.loads(text)
            return cls(
                last_sent={
                    str(c): {str(k): float(t) for k, t in keys.items()}
                    for c, keys in data.get("last_sent", {}).items()
                },
                sent_at={
                    str(c): [float(t) for t in ts] for c, ts in data.get("sent_at", {}).items()
                },
                suppressed={str(c): int(n) for c, n in data.get("suppressed", {}).items()},
                suppressed_since={
                    str(c): float(t) for c, t in data.get("suppressed_since", {}).items()
                },
                deduplicated={str(c): int(n) for c, n in data.get("deduplicated", {}).items()},
            )
        except (ValueError, TypeError, AttributeError):
            return cls()

    def prune(self, now: float, limits: Mapping[str, ChannelLimits]) -> None:
        """Forget what no longer matters: sends older than an hour, keys outside the window."""
        for times in self.sent_at.values():
            times[:] = [t for t in times if now - t < _HOUR]
        for channel, keys in self.last_sent.items():
            window = limits[channel].dedup_window_seconds if channel in limits else 0.0
            for key in [k for k, t in keys.items() if now - t >= window]:
                del keys[key]


class AlertStateStore(Protocol):
    """Where :class:`AlertState` lives between dispatches."""

    def transaction(self) -> contextlib.AbstractContextManager[AlertState]: ...


class MemoryAlertState:
    """State kept in this process only (lost on restart)."""

    def __init__(self) -> None:
        self.state = AlertState()

    @contextlib.contextmanager
    def transaction(self) -> Iterator[AlertState]:
        yield self.state


class JsonFileAlertState:
    """State in a JSON file, shared by every process that uses the same path.

    Each transaction holds an exclusive ``flock`` on ``<path>.lock`` while it reads, changes and
    atomically replaces the file, so two processes never both send an alert one of them should
    have deduplicated. Sending happens outside the lock.
    """

    def __init__(self, path: Path) -> None:
        self.path = Path(path)

    @contextlib.contextmanager
    def transaction(self) -> Iterator[AlertState]:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        lock_path = self.path.with_name(self.path.name + ".lock")
        with lock_path.open("a+b") as lock:
            fcntl.flock(lock.fileno(), fcntl.LOCK_EX)
            try:
                try:
                    state = AlertState.from_json(self.path.read_text(encoding="utf-8"))
                except FileNotFoundError:
                    state = AlertState()
                yield state
                fd, tmp = tempfile.mkstemp(dir=self.path.parent, prefix=".alert_state.")
                with os.fdopen(fd, "w", encoding="utf-8") as out:
                    out.write(state.to_json())
                os.replace(tmp, self.path)
            finally:
                fcntl.flock(lock.fileno(), fcntl.LOCK_UN)
