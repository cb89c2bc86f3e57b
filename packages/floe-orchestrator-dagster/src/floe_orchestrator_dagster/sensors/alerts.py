"""Alert routing of one code location: :class:`AlertRouter`.

All alerts of a code location go through one router: its channels are built when the
definitions are (a missing secret variable is an ``AlertError`` then), and it keeps one
:class:`~floe_orchestration_core.alerts.AlertDispatcher` per Dagster instance folder, whose
deduplication and rate-limit state lives in ``<instance folder>/floe/alert_state.json``
(shared by every process of the instance, kept across restarts). An alert that names no
channel goes to ``console``. Delivering never raises.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import dagster as dg

from floe_orchestration_core.alerts import (
    Alert,
    AlertChannel,
    AlertDispatcher,
    DispatchReport,
    JsonFileAlertState,
    MemoryAlertState,
)

__all__ = ["DEFAULT_CHANNELS", "AlertRouter", "first_line"]

#: Where an alert goes when its sensor names no channel.
DEFAULT_CHANNELS = ("console",)


class AlertRouter:
    """One code location's alert channels, with one dispatcher per Dagster instance folder."""

    def __init__(
        self,
        channels: Mapping[str, AlertChannel],
        *,
        product: str,
        webserver_url: str | None = None,
    ) -> None:
        self.channels = dict(channels)
        self.product = product
        self.webserver_url = webserver_url.rstrip("/") if webserver_url else None
        self._dispatchers: dict[str, AlertDispatcher] = {}

    def run_url(self, run_id: str) -> str | None:
        return f"{self.webserver_url}/runs/{run_id}" if self.webserver_url else None

    def dispatcher(self, instance: dg.DagsterInstance) -> AlertDispatcher:
        """The dispatcher whose state lives in ``instance``'s folder (in memory without one)."""
        try:
            root: str | None = instance.root_directory
        except Exception:
            root = None
        key = root or ""
        if key not in self._dispatchers:
            state = (
                JsonFileAlertState(Path(root) / "floe" / "alert_state.json")
                if root
                else MemoryAlertState()
            )
            self._dispatchers[key] = AlertDispatcher(self.channels, state=state)
        return self._dispatchers[key]

    def send(
        self,
        instance: dg.DagsterInstance,
        alert: Alert,
        channel_names: Sequence[str],
        log: Any = None,
    ) -> DispatchReport:
        """Dispatch ``alert`` (to ``console`` when no channel is named); never raises."""
        report = self.dispatcher(instance).dispatch(alert, tuple(channel_names) or DEFAULT_CHANNELS)
        if log is not None:
            outcomes = ", ".join(f"{name}: {outcome}" for name, outcome in report.outcomes.items())
            log.info(f"alert {alert.title!r}: {outcomes}")
        return report


def first_line(text: str | None, limit: int = 300) -> str:
    line = next((part.strip() for part in (text or "").splitlines() if part.strip()), "")
    return line[:limit]
