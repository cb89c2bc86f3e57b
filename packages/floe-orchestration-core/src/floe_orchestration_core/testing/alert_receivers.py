"""Real local receivers for alert tests: an HTTP webhook receiver and an SMTP server.

- :class:`WebhookReceiver` (standard library only): an HTTP server on 127.0.0.1 in a thread
  that answers each POST with the next status of a script (``[500, 500, 200]``; the last one
  repeats) and keeps every request it received (path, headers, JSON body).
- :class:`BlackHole`: a listening socket that accepts connections and never answers.
- :class:`SmtpReceiver`: an ``aiosmtpd`` server (install ``aiosmtpd``) on 127.0.0.1 that keeps
  every message, optionally requiring a login.

All are context managers that stop what they started on exit.
"""

from __future__ import annotations

import email
import email.policy
import json
import socket
import threading
import time
from collections.abc import Sequence
from email.message import EmailMessage
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Any, Self

import attrs

__all__ = ["BlackHole", "ReceivedMail", "ReceivedRequest", "SmtpReceiver", "WebhookReceiver"]


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@attrs.frozen
class ReceivedRequest:
    path: str
    headers: dict[str, str]
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)


class WebhookReceiver:
    """An HTTP receiver answering POSTs with ``statuses`` in turn (the last one repeats)."""

    def __init__(self, statuses: Sequence[int] = (200,), retry_after: str | None = None) -> None:
        self.statuses = list(statuses) or [200]
        self.retry_after = retry_after
        self.requests: list[ReceivedRequest] = []
        self._lock = threading.Lock()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length)
                with receiver._lock:
                    index = min(len(receiver.requests), len(receiver.statuses) - 1)
                    status = receiver.statuses[index]
                    receiver.requests.append(
                        ReceivedRequest(self.path, dict(self.headers.items()), body)
                    )
                self.send_response(status)
                if receiver.retry_after is not None:
                    self.send_header("Retry-After", receiver.retry_after)
                self.send_header("Content-Length", "2")
                self.end_headers()
                self.wfile.write(b"ok")

            def log_message(self, format: str, *args: Any) -> None:
                return

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}"

    def received(self) -> list[ReceivedRequest]:
        with self._lock:
            return list(self.requests)

    def wait_for(self, count: int, timeout: float = 10.0) -> list[ReceivedRequest]:
        """The requests once there are at least ``count`` (or all there are after ``timeout``)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if len(self.received()) >= count:
                break
            time.sleep(0.05)
        return self.received()

    def __enter__(self) -> Self:
        self._thread.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(5.0)


class BlackHole:
    """A TCP port that accepts connections (the kernel's backlog) and never answers."""

    def __init__(self) -> None:
        self._socket = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self._socket.bind(("127.0.0.1", 0))
        self._socket.listen(64)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._socket.getsockname()[1]}/hook"

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self._socket.close()


@attrs.frozen
class ReceivedMail:
    sender: str
    recipients: tuple[str, ...]
    message: EmailMessage
    login: str | None

    @property
    def subject(self) -> str:
        return str(self.message["Subject"])

    @property
    def body(self) -> str:
        part = self.message.get_body(preferencelist=("plain",))
        return "" if part is None else str(part.get_content())


class SmtpReceiver:
    """An aiosmtpd SMTP server on 127.0.0.1 keeping every message in :attr:`messages`.

    With ``credentials=(user, password)`` it offers AUTH (without TLS, for tests) and refuses
    mail from clients that did not log in with exactly those.
    """

    def __init__(self, credentials: tuple[str, str] | None = None) -> None:
        self.port = _free_port()
        self.credentials = credentials
        self.messages: list[ReceivedMail] = []
        self._lock = threading.Lock()
        self._controller: Any = None

    @property
    def host(self) -> str:
        return "127.0.0.1"

    def received(self) -> list[ReceivedMail]:
        with self._lock:
            return list(self.messages)

    def __enter__(self) -> Self:
        from aiosmtpd.controller import Controller
        from aiosmtpd.smtp import AuthResult, LoginPassword

        receiver = self

        class Handler:
            async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:  # noqa: N802
                if receiver.credentials is not None and not session.authenticated:
                    return "530 Authentication required"
                message = email.message_from_bytes(envelope.content, policy=email.policy.default)
                login = session.auth_data.login.decode() if session.auth_data else None
                with receiver._lock:
                    receiver.messages.append(
                        ReceivedMail(
                            sender=envelope.mail_from,
                            recipients=tuple(envelope.rcpt_tos),
                            message=message,
                            login=login,
                        )
                    )
                return "250 Message accepted for delivery"

        def authenticator(
            server: Any, session: Any, envelope: Any, mechanism: str, auth_data: Any
        ) -> Any:
            ok = (
                isinstance(auth_data, LoginPassword)
                and receiver.credentials is not None
                and (auth_data.login.decode(), auth_data.password.decode()) == receiver.credentials
            )
            return AuthResult(success=ok, handled=False, auth_data=auth_data if ok else None)

        kwargs: dict[str, Any] = {}
        if self.credentials is not None:
            kwargs = {"authenticator": authenticator, "auth_require_tls": False}
        self._controller = Controller(Handler(), hostname=self.host, port=self.port, **kwargs)
        self._controller.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        if self._controller is not None:
            self._controller.stop()
