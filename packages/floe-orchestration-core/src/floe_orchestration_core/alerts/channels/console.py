"""The ``console`` channel: one log line per alert on logger ``floe.alerts``. It always
exists, declared or not."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

import attrs

from floe_orchestration_core.alerts.model import ALERT_LOGGER, Alert, ChannelLimits

if TYPE_CHECKING:
    from floe_orchestration_core.artifacts import ConsoleAlertChannel
    from floe_orchestration_core.env_secrets import EnvironmentSecrets

__all__ = ["ConsoleChannel"]

_log = logging.getLogger(ALERT_LOGGER)


@attrs.frozen
class ConsoleChannel:
    """Alerts as one log line each on logger ``floe.alerts`` (ERROR for errors, else WARNING)."""

    name: str = "console"
    limits: ChannelLimits = attrs.field(factory=ChannelLimits)

    @classmethod
    def from_config(
        cls, config: ConsoleAlertChannel, *, limits: ChannelLimits, secrets: EnvironmentSecrets
    ) -> ConsoleChannel:
        """The channel ``config`` declares (it has no secrets)."""
        return cls(name=config.name, limits=limits)

    def send(self, alert: Alert) -> None:
        level = logging.ERROR if alert.severity == "error" else logging.WARNING
        _log.log(level, "%s", alert.one_line())
