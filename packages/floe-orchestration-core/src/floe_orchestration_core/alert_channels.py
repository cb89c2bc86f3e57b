"""Alert channels: console, webhook (JSON POST) and email (SMTP), built from CompiledArtifacts.

Implementer's checklist:

- Build channels with :func:`channels_from_config` when definitions are built: secrets are read
  from the environment variables the artifacts name (``headers_env``, ``password_env``) then,
  and every missing variable is reported at once in one
  :class:`~floe_orchestration_core.errors.AlertError`. ``console`` is always in the result.
- A channel's ``send`` raises :class:`~floe_orchestration_core.alerts.AlertDeliveryError`
  when it gives up; messages name the channel and the endpoint's scheme, host and port only
  (a webhook URL's path often *is* a secret, e.g. Slack's), never header values or passwords.
- :class:`WebhookChannel` bounds the whole delivery, retries included, by
  ``total_timeout_seconds``: each attempt gets ``min(timeout_seconds, time left)``, and an
  attempt still running when its time is up is cut off by closing its socket. It retries on
  connection errors, timeouts, HTTP 5xx and 429 (honouring ``Retry-After`` when it fits), with
  exponential backoff (0.5 s, 1 s, 2 s, … capped at 8 s), at most ``max_attempts`` times; any
  other HTTP status is final.
- :class:`EmailChannel` sends one plain-text message per alert over SMTP (optional STARTTLS
  and login); ``timeout_seconds`` bounds each network operation.
"""

from __future__ import annotations

import contextlib
import http.client
import json
import logging
import os
import smtplib
import socket
import ssl
import threading
import time
import urllib.parse
from collections.abc import Callable, Iterable, Mapping
from email.message import EmailMessage
from email.utils import formatdate, make_msgid
from typing import TYPE_CHECKING, Final

import attrs

from floe_orchestration_core.alerts import ALERT_LOGGER, Alert, AlertDeliveryError, ChannelLimits
from floe_orchestration_core.errors import AlertError

if TYPE_CHECKING:
    from floe_orchestration_core.alerts import AlertChannel
    from floe_orchestration_core.artifacts import AlertChannelConfig

__all__ = [
    "ConsoleChannel",
    "EmailChannel",
    "WebhookChannel",
    "channels_from_config",
    "endpoint_of",
]

_log = logging.getLogger(ALERT_LOGGER)
_MAX_BACKOFF: Final = 8.0
_MAX_RESPONSE_BYTES: Final = 64 * 1024


def endpoint_of(url: str) -> str:
    """``scheme://host[:port]`` of ``url``: what may be logged about a webhook.

    >>> endpoint_of("https://hooks.slack.com/services/T000/B000/XXXX")
    'https://hooks.slack.com'
    """
    parts = urllib.parse.urlsplit(url)
    host = parts.hostname or "?"
    port = f":{parts.port}" if parts.port else ""
    return f"{parts.scheme}://{host}{port}"


@attrs.frozen
class ConsoleChannel:
    """Alerts as one log line each on logger ``floe.alerts`` (ERROR for errors, else WARNING)."""

    name: str = "console"
    limits: ChannelLimits = attrs.field(factory=ChannelLimits)

    def send(self, alert: Alert) -> None:
        level = logging.ERROR if alert.severity == "error" else logging.WARNING
        _log.log(level, "%s", alert.one_line())


class _AttemptFailedError(Exception):
    def __init__(self, message: str, *, retryable: bool, retry_after: float | None = None) -> None:
        super().__init__(message)
        self.retryable = retryable
        self.retry_after = retry_after


@attrs.frozen
class WebhookChannel:
    """Alerts POSTed as JSON (:meth:`Alert.to_payload`) to ``url``."""

    name: str
    url: str = attrs.field(repr=False)
    headers: Mapping[str, str] = attrs.field(factory=dict, repr=False)
    timeout_seconds: float = 5.0
    max_attempts: int = 3
    total_timeout_seconds: float = 15.0
    limits: ChannelLimits = attrs.field(factory=ChannelLimits)
    sleep: Callable[[float], None] = attrs.field(default=time.sleep, repr=False)

    @property
    def endpoint(self) -> str:
        return endpoint_of(self.url)

    def send(self, alert: Alert) -> None:
        body = json.dumps(alert.to_payload()).encode("utf-8")
        start = time.monotonic()
        last = "no attempt made"
        for attempt in range(1, self.max_attempts + 1):
            remaining = self.total_timeout_seconds - (time.monotonic() - start)
            if remaining <= 0:
                break
            try:
                self._post(body, min(self.timeout_seconds, remaining))
            except _AttemptFailedError as failure:
                last = str(failure)
                _log.debug("webhook %r attempt %d failed: %s", self.name, attempt, last)
                if not failure.retryable:
                    raise AlertDeliveryError(self._message(attempt, last)) from None
                if attempt == self.max_attempts:
                    break
                pause = min(_MAX_BACKOFF, 0.5 * 2 ** (attempt - 1))
                if failure.retry_after is not None:
                    pause = max(pause, failure.retry_after)
                remaining = self.total_timeout_seconds - (time.monotonic() - start)
                if pause >= remaining:
                    break
                self.sleep(pause)
                continue
            return
        raise AlertDeliveryError(
            self._message(attempt, last) + f" (gave up within {self.total_timeout_seconds:g} s, "
            f"{self.max_attempts} attempts max)"
        )

    def _message(self, attempts: int, last: str) -> str:
        return (
            f"webhook channel {self.name!r} ({self.endpoint}) failed after {attempts} "
            f"attempt(s): {last}"
        )

    def _post(self, body: bytes, timeout: float) -> None:
        parts = urllib.parse.urlsplit(self.url)
        connection_class = (
            http.client.HTTPSConnection if parts.scheme == "https" else http.client.HTTPConnection
        )
        connection = connection_class(parts.hostname or "", parts.port, timeout=timeout)
        path = parts.path or "/"
        if parts.query:
            path += "?" + parts.query
        headers = {
            "Content-Type": "application/json",
            "User-Agent": "floe-alerts",
            **self.headers,
        }
        outcome: dict[str, object] = {}

        def attempt() -> None:
            try:
                connection.request("POST", path, body=body, headers=headers)
                response = connection.getresponse()
                response.read(_MAX_RESPONSE_BYTES)
                outcome["status"] = response.status
                outcome["retry_after"] = response.getheader("Retry-After")
            except BaseException as exc:
                outcome["error"] = exc

        worker = threading.Thread(target=attempt, name=f"floe-webhook-{self.name}", daemon=True)
        worker.start()
        worker.join(timeout)
        if worker.is_alive():
            _cut_off(connection)
            worker.join(1.0)
            connection.close()
            raise _AttemptFailedError(f"no answer within {timeout:.1f} s", retryable=True)
        connection.close()
        error = outcome.get("error")
        if isinstance(error, TimeoutError | socket.timeout):
            raise _AttemptFailedError(f"timed out after {timeout:.1f} s", retryable=True)
        if isinstance(error, ssl.SSLCertVerificationError):
            raise _AttemptFailedError(
                f"TLS certificate not trusted: {error.reason}", retryable=False
            )
        if isinstance(error, OSError | http.client.HTTPException):
            raise _AttemptFailedError(
                f"{type(error).__name__}: {_safe_os_error(error)}", retryable=True
            )
        if isinstance(error, BaseException):
            raise _AttemptFailedError(f"{type(error).__name__}", retryable=False)
        status = outcome.get("status")
        if not isinstance(status, int):
            raise _AttemptFailedError("no HTTP status received", retryable=True)
        if 200 <= status < 300:
            return
        retryable = status >= 500 or status == 429
        raise _AttemptFailedError(
            f"HTTP {status}",
            retryable=retryable,
            retry_after=_retry_after(outcome.get("retry_after")),
        )


def _safe_os_error(error: BaseException) -> str:
    """An OS/HTTP error's text without anything a request carried."""
    if isinstance(error, OSError) and error.strerror:
        return error.strerror
    return str(error)[:200]


def _cut_off(connection: http.client.HTTPConnection) -> None:
    """Unblock a thread waiting on ``connection``'s socket (its call then fails)."""
    sock = connection.sock
    if sock is not None:
        with contextlib.suppress(OSError):
            sock.shutdown(socket.SHUT_RDWR)


def _retry_after(value: object) -> float | None:
    if not isinstance(value, str):
        return None
    try:
        seconds = float(value.strip())
    except ValueError:
        return None
    return seconds if seconds >= 0 else None


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
                f"{where}: {type(exc).__name__}: {_safe_os_error(exc)}"
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


def channels_from_config(
    configs: Iterable[AlertChannelConfig], environ: Mapping[str, str] | None = None
) -> dict[str, AlertChannel]:
    """The channels the artifacts declare, by name, plus ``console`` when not declared.

    Secrets are read from ``environ`` (default: ``os.environ``) now; every missing variable is
    listed in one :class:`AlertError`.
    """
    from floe_orchestration_core.artifacts import (
        ConsoleAlertChannel,
        EmailAlertChannel,
        WebhookAlertChannel,
    )

    env = os.environ if environ is None else environ
    channels: dict[str, AlertChannel] = {"console": ConsoleChannel()}
    missing: list[str] = []
    for config in configs:
        limits = ChannelLimits(float(config.dedup_window_seconds), config.max_per_hour)
        if isinstance(config, ConsoleAlertChannel):
            channels[config.name] = ConsoleChannel(name=config.name, limits=limits)
        elif isinstance(config, WebhookAlertChannel):
            headers: dict[str, str] = {}
            for header, variable in config.headers_env.items():
                if variable in env:
                    headers[header] = env[variable]
                else:
                    missing.append(
                        f"alert channel {config.name!r}: header {header!r} reads environment "
                        f"variable {variable}, which is not set"
                    )
            channels[config.name] = WebhookChannel(
                name=config.name,
                url=config.url,
                headers=headers,
                timeout_seconds=config.timeout_seconds,
                max_attempts=config.max_attempts,
                total_timeout_seconds=config.total_timeout_seconds,
                limits=limits,
            )
        elif isinstance(config, EmailAlertChannel):
            password: str | None = None
            if config.password_env is not None:
                password = env.get(config.password_env)
                if password is None:
                    missing.append(
                        f"alert channel {config.name!r}: the SMTP password reads environment "
                        f"variable {config.password_env}, which is not set"
                    )
            channels[config.name] = EmailChannel(
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
    if missing:
        raise AlertError(
            "alert channels need environment variables that are not set (set them where the "
            "orchestrator's code runs):\n  " + "\n  ".join(missing)
        )
    return channels
