"""The ``email`` channel: one plain-text message per alert over SMTP (optional STARTTLS and
login; the password comes from an environment variable). ``timeout_seconds`` bounds each
network operation."""

from __future__ import annotations

import smtplib
import ssl
from email.message import EmailMessage
from email.utils import formatdate, make_msgid
from typing import TYPE_CHECKING

import attrs

from floe_orchestration_core.alerts.model import (
    Alert,
    AlertDeliveryError,
    ChannelLimits,
    safe_error_text,
)

if TYPE_CHECKING:
    from floe_orchestration_core.artifacts import EmailAlertChannel
    from floe_orchestration_core.env_secrets import EnvironmentSecrets

__all__ = ["EmailChannel"]


@attrs.frozen
class EmailChannel:
    """Alerts sent as plain-text email over SMTP."""

    name: str
    smtp_host: str
    smtp_port: int
    sender: str
    recipients: tuple[str, ...]
    starttls: bool = False
    username: str | None = None
    password: str | None = attrs.field(default=None, repr=False)
    timeout_seconds: float = 10.0
    limits: ChannelLimits = attrs.field(factory=ChannelLimits)

    @classmethod
    def from_config(
        cls, config: EmailAlertChannel, *, limits: ChannelLimits, secrets: EnvironmentSecrets
    ) -> EmailChannel:
        """The channel ``config`` declares, the SMTP password read from ``secrets``."""
        password: str | None = None
        if config.password_env is not None:
            password = secrets.read(
                config.password_env, needed_by=f"alert channel {config.name!r}: the SMTP password"
            )
        return cls(
            name=config.name,
            smtp_host=config.smtp_host,
            smtp_port=config.smtp_port,
            sender=config.sender,
            recipients=tuple(config.recipients),
            starttls=config.starttls,
            username=config.username,
            password=password,
            timeout_seconds=config.timeout_seconds,
            limits=limits,
        )

    def message(self, alert: Alert) -> EmailMessage:
        """The email for ``alert``."""
        message = EmailMessage()
        product = f"[{alert.product}] " if alert.product else ""
        message["Subject"] = f"[floe {alert.severity}] {product}{alert.title}"
        message["From"] = self.sender
        message["To"] = ", ".join(self.recipients)
        message["Date"] = formatdate(alert.raised_at, usegmt=True)
        message["Message-ID"] = make_msgid(domain="floe.alerts")
        message.set_content(alert.to_text())
        return message

    def send(self, alert: Alert) -> None:
        where = f"email channel {self.name!r} (smtp {self.smtp_host}:{self.smtp_port})"
        try:
            with smtplib.SMTP(self.smtp_host, self.smtp_port, timeout=self.timeout_seconds) as smtp:
                if self.starttls:
                    smtp.starttls(context=ssl.create_default_context())
                if self.username is not None:
                    smtp.login(self.username, self.password or "")
                smtp.send_message(self.message(alert), self.sender, list(self.recipients))
        except smtplib.SMTPAuthenticationError as exc:
            raise AlertDeliveryError(
                f"{where}: the server refused the login of {self.username!r} ({exc.smtp_code}); "
                "check the username and the password's environment variable"
            ) from None
        except smtplib.SMTPException as exc:
            raise AlertDeliveryError(f"{where}: {type(exc).__name__}: {_smtp_text(exc)}") from None
        except (OSError, TimeoutError) as exc:
            raise AlertDeliveryError(
                f"{where}: {type(exc).__name__}: {safe_error_text(exc)}"
            ) from None


def _smtp_text(exc: smtplib.SMTPException) -> str:
    if isinstance(exc, smtplib.SMTPResponseException):
        detail = (
            exc.smtp_error.decode("utf-8", "replace")
            if isinstance(exc.smtp_error, bytes)
            else str(exc.smtp_error)
        )
        return f"{exc.smtp_code} {detail}"[:300]
    return str(exc)[:300]
