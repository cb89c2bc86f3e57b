"""One ``GET /server_info`` under a deadline: resolve, connect, TLS, send, read.

:class:`ServerInfoRequest` is the network half of
:func:`~floe_orchestrator_dagster.deploy.connection.check_webserver`: :func:`parse_url`
validates the URL, :meth:`ServerInfoRequest.fetch` returns the raw HTTP response, and every
way it can fail is a :class:`CheckFailedError` carrying the message the check reports.
Standard library only.

How it stays inside the deadline:

- Every blocking call gets ``deadline.step_timeout()`` minus a small reserve
  (:data:`_RESERVE_FRACTION` of the budget, at most :data:`_RESERVE_CAP_S`), so the check
  returns its own message slightly before ``run_check`` would give up on it.
- The response is read in a loop that sets the socket timeout to the time left before each
  ``recv``: a server trickling one byte every 0.5 s cannot stretch the check, since a
  socket timeout alone applies per ``recv``. The response is capped at
  :data:`MAX_RESPONSE_BYTES`.
- The socket is closed in ``finally`` on every path, TLS included.
- DNS: ``socket.getaddrinfo`` takes no timeout. IP literals skip resolution. A host name
  is resolved on a short-lived daemon thread joined with the step timeout; a resolver slower
  than the deadline yields a failed result on time and the thread is abandoned: it holds no
  socket of ours and ends when the system resolver gives up (``resolv.conf`` timeout x
  attempts, 10 s by default). Resolving on the calling thread instead would leave
  ``run_check``'s worker blocked for the same time with a vaguer message; a hand-written
  DNS client would bypass ``/etc/hosts`` and nsswitch. Threads left behind this way are the
  only leak, and only while a resolver hangs.
"""

from __future__ import annotations

import base64
import ipaddress
import re
import socket
import ssl
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote, unquote, urlsplit, urlunsplit

from floe_orchestration_core.connectivity import Deadline, DeadlineExceeded, ValidationResult

__all__ = [
    "MAX_RESPONSE_BYTES",
    "AddressInfo",
    "CheckFailedError",
    "Resolver",
    "ServerInfoRequest",
    "WebserverTarget",
    "not_http",
    "parse_url",
    "system_resolve",
]

#: The largest response (headers and body) read from ``/server_info``; Dagster's is ~150 B.
MAX_RESPONSE_BYTES = 1024 * 1024
#: Share of the budget kept back so the check returns before ``run_check`` abandons it.
_RESERVE_FRACTION = 0.05
_RESERVE_CAP_S = 0.25
_MAX_HEADER_BYTES = 64 * 1024
_EXAMPLE_URL = "http://127.0.0.1:3000"
_PASSWORD = re.compile(r"(//[^/@:]*:)[^/@]*@")
_CONTENT_LENGTH = re.compile(rb"^content-length[ \t]*:[ \t]*(\d+)[ \t]*\r?$", re.I | re.M)

#: One ``socket.getaddrinfo`` entry: family, type, proto, canonical name, address.
AddressInfo = tuple[int, int, int, str, Any]
#: Resolves ``(host, port)`` to stream-socket addresses; raises ``socket.gaierror``.
Resolver = Callable[[str, int], Sequence[AddressInfo]]


def system_resolve(host: str, port: int) -> Sequence[AddressInfo]:
    return socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)


class CheckFailedError(Exception):
    """Internal: carries a failed result's message and detail up to ``check_webserver``."""

    def __init__(self, message: str, detail: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.detail = detail

    def result(self) -> ValidationResult:
        return ValidationResult.failure(self.message, errors=(self.detail or self.message,))


@dataclass(frozen=True)
class WebserverTarget:
    """A validated webserver URL, split into what the request needs."""

    scheme: str
    host: str
    port: int
    prefix: str
    shown: str
    authorization: str | None

    @property
    def endpoint(self) -> str:
        return f"{self.shown}/server_info"

    @property
    def host_header(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        default = 443 if self.scheme == "https" else 80
        return host if self.port == default else f"{host}:{self.port}"


def _bad_url(url: str, reason: str) -> CheckFailedError:
    url = _PASSWORD.sub(r"\1***@", url)
    return CheckFailedError(
        f"{url!r} is not a webserver URL: {reason}; use e.g. {_EXAMPLE_URL} "
        "(http or https, a host, an optional port and path prefix)"
    )


def parse_url(url: str) -> WebserverTarget:
    text = url.strip()
    parts = urlsplit(text)
    if parts.scheme not in ("http", "https"):
        raise _bad_url(url, "it must start with http:// or https://")
    if not parts.hostname:
        raise _bad_url(url, "it names no host")
    if parts.query or parts.fragment:
        raise _bad_url(url, "it must not have a query (?...) or fragment (#...)")
    try:
        port = parts.port
    except ValueError:
        raise _bad_url(url, "its port is not a number from 1 to 65535") from None
    if port == 0:
        raise _bad_url(url, "its port is not a number from 1 to 65535")
    authorization = None
    if parts.username is not None:
        pair = f"{unquote(parts.username)}:{unquote(parts.password or '')}".encode()
        authorization = "Basic " + base64.b64encode(pair).decode("ascii")
    netloc = parts.netloc.rpartition("@")[2]
    prefix = quote(parts.path.rstrip("/"), safe="/%:@!$&'()*+,;=-._~")
    return WebserverTarget(
        scheme=parts.scheme,
        host=parts.hostname,
        port=port or (443 if parts.scheme == "https" else 80),
        prefix=prefix,
        shown=urlunsplit((parts.scheme, netloc, prefix, "", "")),
        authorization=authorization,
    )


class ServerInfoRequest:
    """One request to ``/server_info`` under a deadline; remembers how far it got."""

    def __init__(self, target: WebserverTarget, deadline: Deadline, resolve: Resolver) -> None:
        self.target = target
        self.deadline = deadline
        self.resolve = resolve
        self.reserve = min(_RESERVE_CAP_S, deadline.budget * _RESERVE_FRACTION)
        self.step = "resolving the host"
        self.received = 0

    def timeout(self) -> float:
        """The time the next blocking call may take; raises ``CheckFailedError`` at zero."""
        try:
            left = self.deadline.step_timeout() - self.reserve
        except DeadlineExceeded:
            left = 0.0
        if left <= 0.0:
            raise self.too_slow()
        return left

    def too_slow(self) -> CheckFailedError:
        target, budget = self.target, self.deadline.budget
        advice = "the webserver may be starting or overloaded; retry or raise --timeout"
        if self.step == "resolving the host":
            return CheckFailedError(
                f"cannot resolve host '{target.host}' within {budget:.1f} s: the DNS resolver "
                f"is slow or unreachable; check the network, or use an IP address such as "
                f"http://127.0.0.1:{target.port}",
                f"DeadlineExceeded: gave up after {budget:.1f} s while {self.step}",
            )
        if self.received:
            what = f"no complete answer within {budget:.1f} s ({self.received} bytes received)"
        else:
            what = f"no answer within {budget:.1f} s"
        return CheckFailedError(
            f"{target.shown}: {what}: {advice}",
            f"DeadlineExceeded: gave up after {budget:.1f} s while {self.step}",
        )

    def fetch(self) -> bytes:
        """The raw HTTP response to ``GET /server_info``."""
        addresses = self._addresses()
        self.step = "connecting"
        sock = self._connect(addresses)
        conn: socket.socket = sock
        try:
            if self.target.scheme == "https":
                self.step = "negotiating TLS"
                sock.settimeout(self.timeout())
                context = ssl.create_default_context()
                conn = context.wrap_socket(sock, server_hostname=self.target.host)
            self.step = "sending the request"
            conn.settimeout(self.timeout())
            conn.sendall(self._request())
            self.step = "reading the answer"
            return self._read(conn)
        except TimeoutError:
            raise self.too_slow() from None
        except ssl.SSLError as exc:
            raise CheckFailedError(
                f"TLS with {self.target.shown} failed ({exc.reason or exc}): check the "
                "server's certificate, or use http:// if the webserver does not serve TLS",
                f"{type(exc).__name__}: {exc}",
            ) from None
        except OSError as exc:
            raise CheckFailedError(
                f"{self.target.endpoint} closed the connection after {self.received} bytes "
                f"while {self.step} ({exc.strerror or exc}): is this a Dagster webserver? "
                "check its logs",
                f"{type(exc).__name__}: {exc}",
            ) from None
        finally:
            conn.close()
            sock.close()

    def _addresses(self) -> Sequence[AddressInfo]:
        host, port = self.target.host, self.target.port
        try:
            literal = ipaddress.ip_address(host)
        except ValueError:
            pass
        else:
            family = socket.AF_INET6 if literal.version == 6 else socket.AF_INET
            return [(family, socket.SOCK_STREAM, 0, "", (host, port))]
        outcome: list[Sequence[AddressInfo] | Exception] = []

        def resolve() -> None:
            try:
                outcome.append(self.resolve(host, port))
            except Exception as exc:
                outcome.append(exc)

        worker = threading.Thread(target=resolve, name=f"floe-resolve-{host}", daemon=True)
        worker.start()
        worker.join(self.timeout())
        if not outcome:
            raise self.too_slow()
        found = outcome[0]
        if isinstance(found, Exception):
            reason = found.strerror if isinstance(found, OSError) else None
            raise CheckFailedError(
                f"cannot resolve host '{host}' ({reason or found}): check the URL, or use an "
                f"IP address such as http://127.0.0.1:{port}",
                f"{type(found).__name__}: {found}",
            )
        if not found:
            raise CheckFailedError(f"cannot resolve host '{host}' (no addresses): check the URL")
        return found

    def _connect(self, addresses: Sequence[AddressInfo]) -> socket.socket:
        errors: list[OSError] = []
        for family, kind, proto, _, address in addresses:
            sock = socket.socket(family, kind, proto)
            try:
                sock.settimeout(self.timeout())
                sock.connect(address)
            except TimeoutError:
                sock.close()
                raise self.too_slow() from None
            except OSError as exc:
                sock.close()
                errors.append(exc)
            except BaseException:
                sock.close()
                raise
            else:
                return sock
        target = self.target
        detail = "; ".join(f"{type(exc).__name__}: {exc}" for exc in errors)
        if any(isinstance(exc, ConnectionRefusedError) for exc in errors):
            raise CheckFailedError(
                f"nothing is listening at {target.shown} (connection refused): start it with "
                f"`floe up PRODUCT_DIR --port {target.port}`, or pass --url",
                detail,
            )
        reason = errors[-1].strerror if errors else "no address"
        raise CheckFailedError(
            f"cannot connect to {target.shown} ({reason}): check the host and port, or pass --url",
            detail or None,
        )

    def _request(self) -> bytes:
        lines = [
            f"GET {self.target.prefix}/server_info HTTP/1.1",
            f"Host: {self.target.host_header}",
            "Accept: application/json",
            "User-Agent: floe-orchestrator-dagster",
            "Connection: close",
        ]
        if self.target.authorization:
            lines.append(f"Authorization: {self.target.authorization}")
        return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")

    def _read(self, conn: socket.socket) -> bytes:
        """Read until the server closes or Content-Length is reached, within the deadline."""
        buffer = bytearray()
        expected: int | None = None
        while expected is None or len(buffer) < expected:
            conn.settimeout(self.timeout())
            chunk = conn.recv(65536)
            if not chunk:
                break
            buffer += chunk
            self.received = len(buffer)
            if len(buffer) > MAX_RESPONSE_BYTES:
                raise self.too_large()
            if expected is None:
                expected = self._expected_length(buffer)
        return bytes(buffer)

    def _expected_length(self, buffer: bytearray) -> int | None:
        end = buffer.find(b"\r\n\r\n")
        if end < 0:
            if len(buffer) > _MAX_HEADER_BYTES:
                raise not_http(self.target, bytes(buffer))
            return None
        match = _CONTENT_LENGTH.search(buffer, 0, end + 2)
        if match is None:
            return None
        expected = end + 4 + int(match.group(1))
        if expected > MAX_RESPONSE_BYTES:
            raise self.too_large()
        return expected

    def too_large(self) -> CheckFailedError:
        return CheckFailedError(
            f"{self.target.endpoint} answered with more than {MAX_RESPONSE_BYTES} bytes; "
            "Dagster's answer is under 1 KiB: is this a Dagster webserver?"
        )


def not_http(target: WebserverTarget, raw: bytes) -> CheckFailedError:
    return CheckFailedError(
        f"{target.endpoint} answered with something that is not HTTP ({raw[:40]!r}): is this "
        "a Dagster webserver? check the port"
    )
