"""What an alert is, and what a channel must do with it (the port channels implement)."""

from __future__ import annotations

import time
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any, Final, Literal, Protocol

import attrs

from floe_orchestration_core.errors import AlertError

__all__ = [
    "ALERT_LOGGER",
    "Alert",
    "AlertChannel",
    "AlertDeliveryError",
    "AlertKind",
    "AlertSeverity",
    "ChannelLimits",
    "DetailValue",
    "safe_error_text",
]

#: The logger every alert channel and the dispatcher log on.
ALERT_LOGGER: Final = "floe.alerts"

AlertKind = Literal["run_failure", "check_failure", "slow_run", "suppressed", "test"]
AlertSeverity = Literal["info", "warning", "error"]
DetailValue = str | int | float | bool | None


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


def safe_error_text(error: BaseException) -> str:
    """An OS/HTTP error's text without anything a request carried (channels report it)."""
    if isinstance(error, OSError) and error.strerror:
        return error.strerror
    return str(error)[:200]
