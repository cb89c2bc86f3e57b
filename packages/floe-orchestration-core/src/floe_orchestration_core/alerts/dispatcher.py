"""Sending alerts to named channels: deduplication, hourly rate limits, suppression summaries."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Mapping, Sequence
from datetime import UTC, datetime
from typing import Literal

import attrs

from floe_orchestration_core.alerts.model import ALERT_LOGGER, Alert, AlertChannel
from floe_orchestration_core.alerts.state import AlertState, AlertStateStore, MemoryAlertState
from floe_orchestration_core.errors import AlertError

__all__ = ["AlertDispatcher", "DispatchOutcome", "DispatchReport"]

_log = logging.getLogger(ALERT_LOGGER)

DispatchOutcome = Literal["sent", "deduplicated", "suppressed", "failed", "unknown_channel"]


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
