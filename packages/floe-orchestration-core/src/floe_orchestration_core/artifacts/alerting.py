"""Where alerts go (channels) and when a run is slow enough to alert (monitoring).

Channel types are the ``type`` of each model; the alert port builds the channel of each
type with :mod:`floe_orchestration_core.alerts.factory`.
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field, StringConstraints

from floe_orchestration_core.artifacts.fields import (
    EnvVarName,
    FrozenModel,
    Identifier,
    NonEmptyStr,
)

__all__ = [
    "AlertChannelConfig",
    "ConsoleAlertChannel",
    "EmailAlertChannel",
    "MonitoringSettings",
    "WebhookAlertChannel",
]


class _AlertChannelBase(FrozenModel):
    name: Identifier
    dedup_window_seconds: Annotated[int, Field(ge=0, le=7 * 86_400)] = Field(
        default=900, description="an identical alert within this window is sent once"
    )
    max_per_hour: Annotated[int, Field(ge=1, le=10_000)] = Field(
        default=30, description="alerts above this rate are counted and summarised, not sent"
    )


class ConsoleAlertChannel(_AlertChannelBase):
    """Alerts written to the orchestrator's log (stderr)."""

    type: Literal["console"] = "console"


class WebhookAlertChannel(_AlertChannelBase):
    """Alerts POSTed as JSON; header values come from environment variables, never literals."""

    type: Literal["webhook"] = "webhook"
    url: Annotated[str, StringConstraints(pattern=r"^https?://[^\s]+$")]
    headers_env: dict[str, EnvVarName] = Field(
        default_factory=dict, description="header name -> environment variable holding its value"
    )
    timeout_seconds: Annotated[float, Field(gt=0, le=60)] = 5.0
    max_attempts: Annotated[int, Field(ge=1, le=10)] = 3
    total_timeout_seconds: Annotated[float, Field(gt=0, le=300)] = 15.0


class EmailAlertChannel(_AlertChannelBase):
    """Alerts sent over SMTP; the password comes from an environment variable."""

    type: Literal["email"] = "email"
    smtp_host: NonEmptyStr
    smtp_port: Annotated[int, Field(ge=1, le=65_535)] = 25
    starttls: bool = False
    username: str | None = None
    password_env: EnvVarName | None = None
    sender: NonEmptyStr
    recipients: tuple[NonEmptyStr, ...] = Field(min_length=1)
    timeout_seconds: Annotated[float, Field(gt=0, le=120)] = 10.0


AlertChannelConfig = Annotated[
    ConsoleAlertChannel | WebhookAlertChannel | EmailAlertChannel, Field(discriminator="type")
]


class MonitoringSettings(FrozenModel):
    """Run-duration monitoring: a run slower than ``slow_run_factor`` x its median alerts."""

    slow_run_factor: Annotated[float, Field(gt=1, le=1000)] = 2.0
    window: Annotated[int, Field(ge=3, le=1000)] = Field(
        default=20, description="how many recent successful runs the median is taken over"
    )
    min_history: Annotated[int, Field(ge=1, le=1000)] = Field(
        default=3, description="no slow-run alert before this many successful runs"
    )
    alert_channels: tuple[str, ...] = ()
