"""The ``webhook`` channel: alerts POSTed as JSON.

The whole delivery, retries included, is bounded by ``total_timeout_seconds``: each attempt
gets ``min(timeout_seconds, time left)``, and an attempt still running when its time is up is
cut off by closing its socket. It retries on connection errors, timeouts, HTTP 5xx and 429
(honouring ``Retry-After`` when it fits), with exponential backoff (0.5 s, 1 s, 2 s, … capped
at 8 s), at most ``max_attempts`` times; any other HTTP status is final. Messages name the
endpoint's scheme, host and port only (:func:`endpoint_of`): a webhook URL's path often *is* a
secret (Slack's), and header values come from environment variables.
"""

from __future__ import annotations

import contextlib
import http.client
import json
import logging
import socket
import ssl
import threading
import time
import urllib.parse
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Final

import attrs

from floe_orchestration_core.alerts.model import (
    ALERT_LOGGER,
    Alert,
    AlertDeliveryError,
    ChannelLimits,
    safe_error_text,
)

if TYPE_CHECKING:
    from floe_orchestration_core.artifacts import WebhookAlertChannel
    from floe_orchestration_core.env_secrets import EnvironmentSecrets

__all__ = ["WebhookChannel", "endpoint_of"]

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

    @classmethod
    def from_config(
        cls, config: WebhookAlertChannel, *, limits: ChannelLimits, secrets: EnvironmentSecrets
    ) -> WebhookChannel:
        """The channel ``config`` declares, header values read from ``secrets``."""
        headers: dict[str, str] = {}
        for header, variable in config.headers_env.items():
            value = secrets.read(
                variable, needed_by=f"alert channel {config.name!r}: header {header!r}"
            )
            if value is not None:
                headers[header] = value
        return cls(
            name=config.name,
            url=config.url,
            headers=headers,
            timeout_seconds=config.timeout_seconds,
            max_attempts=config.max_attempts,
            total_timeout_seconds=config.total_timeout_seconds,
            limits=limits,
        )

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
                f"{type(error).__name__}: {safe_error_text(error)}", retryable=True
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
