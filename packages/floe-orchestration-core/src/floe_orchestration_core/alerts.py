"""Alerts: what an alert says, and how it reaches channels without flooding them.

Implementer's checklist (for an orchestrator adapter that raises alerts):

- Build the channels once, when definitions are built, with
  :func:`floe_orchestration_core.alert_channels.channels_from_config`: it reads the secrets'
  environment variables then, so a missing variable is an
  :class:`~floe_orchestration_core.errors.AlertError` naming it before any run happens.
  The channel ``console`` always exists.
- Make one :class:`AlertDispatcher` for all the alerts of a code location (channels' rate limits
  are per channel, whoever sends), give it a :class:`JsonFileAlertState` where the orchestrator
  keeps files (Dagster: the instance's folder) so deduplication and rate limits survive
  restarts and are shared between processes, and call :meth:`AlertDispatcher.dispatch`.
- :meth:`AlertDispatcher.dispatch` never raises: a failing channel is logged once (logger
  ``floe.alerts``, WARNING) and reported in the :class:`DispatchReport`. Never let an alert
  change a run's status.
- Give every alert a stable :attr:`Alert.dedup_key` (the same problem → the same key): within a
  channel's ``dedup_window_seconds`` it is sent once, later copies are counted.
- Over a channel's ``max_per_hour`` (a sliding hour), alerts are counted, not sent; the next
  time the channel may send, one ``"N alerts suppressed"`` summary goes first. Call
  :meth:`AlertDispatcher.flush_summaries` from something that runs regularly (a sensor tick) so
  a summary is not left waiting for the next alert.
- Secrets (webhook header values, SMTP passwords) live only inside channel objects; they never
  reach an alert, a report or a log line.
- :func:`slow_run_verdict` decides whether a run is slow against its rolling median.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import logging
import os
import statistics
import tempfile
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Final, Literal, Protocol

import attrs

from floe_orchestration_core.errors import AlertError

__all__ = [
    "ALERT_LOGGER",
    "Alert",
    "AlertChannel",
    "AlertDeliveryError",
    "AlertDispatcher",
    "AlertKind",
    "AlertSeverity",
    "AlertState",
    "ChannelLimits",
    "DispatchOutcome",
    "DispatchReport",
    "JsonFileAlertState",
    "MemoryAlertState",
    "SlowRunVerdict",
    "slow_run_verdict",
]

ALERT_LOGGER: Final = "floe.alerts"
_log = logging.getLogger(ALERT_LOGGER)

AlertKind = Literal["run_failure", "check_failure", "slow_run", "suppressed", "test"]
AlertSeverity = Literal["info", "warning", "error"]
DispatchOutcome = Literal["sent", "deduplicated", "suppressed", "failed", "unknown_channel"]
DetailValue = str | int | float | bool | None
_HOUR: Final = 3600.0


class AlertDeliveryError(AlertError):
    """A channel could not deliver an alert; the message never holds a secret."""


def _details(value: Mapping[str, Any] | None) -> dict[str, DetailValue]:
    out: dict[str, DetailValue] = {}
    for key, item in (value or {}).items():
        out[str(key)] = (
            item if isinstance(item, str | int | float | bool) or item is None else str(item)
        )
    return out


@attrs.frozen(kw_only=True)
class Alert:
    """One alert: a run failed, a check failed, a run was slow.

    ``dedup_key`` identifies the problem (not the occurrence): the default is the kind, product,
    job, asset, check and title, so the same job failing again within the dedup window is one
    alert. ``url`` points to the orchestrator's UI when known.

    >>> alert = Alert(kind="run_failure", title="Run failed: daily_job", summary="boom",
    ...               product="shop", job="daily_job", run_id="r1")
    >>> alert.key
    'run_failure|shop|daily_job|||Run failed: daily_job'
    """

    kind: AlertKind
    title: str
    summary: str
    severity: AlertSeverity = "error"
    product: str | None = None
    job: str | None = None
    run_id: str | None = None
    asset: str | None = None
    check: str | None = None
    url: str | None = None
    details: Mapping[str, DetailValue] = attrs.field(factory=dict, converter=_details)
    dedup_key: str | None = None
    raised_at: float = attrs.field(factory=time.time)

    @property
    def key(self) -> str:
        """The deduplication key: :attr:`dedup_key`, else derived from what the alert is about."""
        if self.dedup_key:
            return self.dedup_key
        parts = (self.kind, self.product, self.job, self.asset, self.check, self.title)
        return "|".join(part or "" for part in parts)

    def to_payload(self) -> dict[str, Any]:
        """The JSON document a webhook receives (``text`` makes it readable in Slack/Teams)."""
        return {
            "text": f"[{self.severity.upper()}] {self.title}: {self.summary}",
            "kind": self.kind,
            "severity": self.severity,
            "title": self.title,
            "summary": self.summary,
            "product": self.product,
            "job": self.job,
            "run_id": self.run_id,
            "asset": self.asset,
            "check": self.check,
            "url": self.url,
            "details": dict(self.details),
            "dedup_key": self.key,
            "raised_at": datetime.fromtimestamp(self.raised_at, UTC).isoformat(),
        }

    def one_line(self) -> str:
        """The alert as one log line."""
        fields = [
            f"{name}={value}"
            for name, value in (
                ("product", self.product),
                ("job", self.job),
                ("run", self.run_id),
                ("asset", self.asset),
                ("check", self.check),
                ("url", self.url),
            )
            if value
        ]
        summary = " ".join(self.summary.split())
        return f"[{self.kind}] {self.title}: {summary}" + (
            f" ({', '.join(fields)})" if fields else ""
        )

    def to_text(self) -> str:
        """The alert as a plain-text message body (email)."""
        lines = [self.title, "", self.summary, ""]
        for name, value in (
            ("Kind", self.kind),
            ("Severity", self.severity),
            ("Product", self.product),
            ("Job", self.job),
            ("Run", self.run_id),
            ("Asset", self.asset),
            ("Check", self.check),
            ("Link", self.url),
        ):
            if value:
                lines.append(f"{name}: {value}")
        lines.extend(f"{key}: {value}" for key, value in self.details.items())
        lines.append(f"Raised at: {datetime.fromtimestamp(self.raised_at, UTC).isoformat()}")
        return "\n".join(lines) + "\n"


@attrs.frozen
class ChannelLimits:
    """A channel's deduplication window and hourly rate limit."""

    dedup_window_seconds: float = 900.0
    max_per_hour: int = 30


class AlertChannel(Protocol):
    """A place alerts go. ``send`` delivers one alert or raises :class:`AlertDeliveryError`
    (any other exception is treated the same way by the dispatcher)."""

    @property
    def name(self) -> str: ...

    @property
    def limits(self) -> ChannelLimits: ...

    def send(self, alert: Alert) -> None: ...


# State --------------------------------------------------------------------------------------
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


# Dispatch -----------------------------------------------------------------------------------
@attrs.frozen
class DispatchReport:
    """What happened to one alert on each channel asked for; ``errors`` never hold secrets."""

    alert_key: str
    outcomes: Mapping[str, DispatchOutcome]
    errors: Mapping[str, str] = attrs.field(factory=dict)

    @property
    def sent(self) -> tuple[str, ...]:
        return tuple(name for name, outcome in self.outcomes.items() if outcome == "sent")

    @property
    def failed(self) -> tuple[str, ...]:
        return tuple(name for name, outcome in self.outcomes.items() if outcome == "failed")


class AlertDispatcher:
    """Sends alerts to named channels with deduplication and per-channel rate limits.

    ``clock`` gives wall-clock seconds (shared state is compared across processes).
    """

    def __init__(
        self,
        channels: Mapping[str, AlertChannel],
        *,
        state: AlertStateStore | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.channels = dict(channels)
        self.state = state if state is not None else MemoryAlertState()
        self.clock = clock
        self._limits = {name: channel.limits for name, channel in self.channels.items()}

    def dispatch(self, alert: Alert, channel_names: Sequence[str]) -> DispatchReport:
        """Send ``alert`` to each named channel (a name listed twice counts once); never raises."""
        outcomes: dict[str, DispatchOutcome] = {}
        errors: dict[str, str] = {}
        for name in dict.fromkeys(channel_names):
            channel = self.channels.get(name)
            if channel is None:
                outcomes[name] = "unknown_channel"
                errors[name] = (
                    f"no alert channel named {name!r}; defined: {', '.join(sorted(self.channels))}"
                )
                _log.warning("alert %r not sent: %s", alert.title, errors[name])
                continue
            try:
                outcome, error = self._dispatch_one(channel, alert)
            except Exception as exc:
                outcome, error = "failed", f"{type(exc).__name__}: {exc}"
                _log.warning("alert channel %r: %s", name, error)
            outcomes[name] = outcome
            if error is not None:
                errors[name] = error
        return DispatchReport(alert_key=alert.key, outcomes=outcomes, errors=errors)

    def flush_summaries(self) -> dict[str, DispatchOutcome]:
        """Send the pending "N alerts suppressed" summary of every channel that may send now."""
        results: dict[str, DispatchOutcome] = {}
        for name, channel in self.channels.items():
            try:
                with self.state.transaction() as state:
                    now = self.clock()
                    state.prune(now, self._limits)
                    summary = self._take_summary(state, channel, now)
            except Exception as exc:
                _log.warning("alert channel %r: cannot read alert state: %s", name, exc)
                continue
            if summary is not None:
                results[name] = "sent" if self._deliver(channel, summary) is None else "failed"
        return results

    # internals ------------------------------------------------------------------------
    def _dispatch_one(
        self, channel: AlertChannel, alert: Alert
    ) -> tuple[DispatchOutcome, str | None]:
        name, key = channel.name, alert.key
        with self.state.transaction() as state:
            now = self.clock()
            state.prune(now, self._limits)
            if key in state.last_sent.get(name, {}):
                state.deduplicated[name] = state.deduplicated.get(name, 0) + 1
                return "deduplicated", None
            summary = self._take_summary(state, channel, now)
            if not self._has_room(state, channel):
                self._suppress(state, name, now)
                send_alert = False
            else:
                state.sent_at.setdefault(name, []).append(now)
                state.last_sent.setdefault(name, {})[key] = now
                send_alert = True
        if summary is not None:
            self._deliver(channel, summary)
        if not send_alert:
            return "suppressed", None
        error = self._deliver(channel, alert)
        if error is not None:
            # Not remembered for deduplication: the next identical alert tries again. The
            # attempt still counts against the hourly limit (a dead channel is not hammered).
            with self.state.transaction() as state:
                state.last_sent.get(name, {}).pop(key, None)
            return "failed", error
        return "sent", None

    def _has_room(self, state: AlertState, channel: AlertChannel) -> bool:
        return len(state.sent_at.get(channel.name, [])) < channel.limits.max_per_hour

    def _suppress(self, state: AlertState, name: str, now: float) -> None:
        if not state.suppressed.get(name):
            state.suppressed_since[name] = now
        state.suppressed[name] = state.suppressed.get(name, 0) + 1

    def _take_summary(self, state: AlertState, channel: AlertChannel, now: float) -> Alert | None:
        """The pending summary of ``channel`` if it may be sent now (its send is recorded)."""
        name = channel.name
        count = state.suppressed.get(name, 0)
        if not count or not self._has_room(state, channel):
            return None
        since = state.suppressed_since.get(name, now)
        state.suppressed[name] = 0
        state.suppressed_since.pop(name, None)
        state.sent_at.setdefault(name, []).append(now)
        return Alert(
            kind="suppressed",
            severity="warning",
            title=f"{count} alerts suppressed",
            summary=(
                f"{count} alerts to channel {name!r} were not sent since "
                f"{datetime.fromtimestamp(since, UTC).isoformat()} because the channel's limit "
                f"of {channel.limits.max_per_hour} alerts per hour was reached; see the "
                "orchestrator's logs and UI for them"
            ),
            details={"suppressed": count, "channel": name},
            dedup_key=f"suppressed|{name}|{now}",
            raised_at=now,
        )

    def _deliver(self, channel: AlertChannel, alert: Alert) -> str | None:
        """Send; the error message on failure (logged once), None on success."""
        try:
            channel.send(alert)
        except Exception as exc:
            error = str(exc) if isinstance(exc, AlertError) else f"{type(exc).__name__}: {exc}"
            _log.warning("alert channel %r could not send %r: %s", channel.name, alert.title, error)
            return error
        return None


# Slow runs ----------------------------------------------------------------------------------
@attrs.frozen
class SlowRunVerdict:
    """Whether a run is slow: its duration against the median of the runs before it."""

    slow: bool
    duration_seconds: float
    median_seconds: float | None
    history: int
    factor: float

    @property
    def ratio(self) -> float | None:
        if not self.median_seconds:
            return None
        return self.duration_seconds / self.median_seconds


def slow_run_verdict(
    duration_seconds: float,
    previous_durations: Sequence[float],
    *,
    factor: float,
    window: int,
    min_history: int,
) -> SlowRunVerdict:
    """Judge a run against the median of the last ``window`` of ``previous_durations``
    (newest first). Slow means ``duration > factor x median`` with at least ``min_history``
    previous runs; a zero median never makes a run slow.

    >>> slow_run_verdict(30.0, [10.0, 11.0, 9.0], factor=2.0, window=20, min_history=3).slow
    True
    >>> slow_run_verdict(30.0, [10.0, 11.0], factor=2.0, window=20, min_history=3).slow
    False
    """
    if factor <= 1 or window < 1 or min_history < 1:
        raise AlertError(
            f"slow-run monitoring needs factor > 1, window >= 1 and min_history >= 1; got "
            f"factor={factor}, window={window}, min_history={min_history}"
        )
    history = [float(d) for d in previous_durations[:window] if d >= 0]
    if len(history) < min_history:
        return SlowRunVerdict(False, duration_seconds, None, len(history), factor)
    median = statistics.median(history)
    slow = median > 0 and duration_seconds > factor * median
    return SlowRunVerdict(slow, duration_seconds, median, len(history), factor)
