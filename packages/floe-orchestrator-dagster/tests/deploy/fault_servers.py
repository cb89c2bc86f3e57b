"""Misbehaving servers on 127.0.0.1 for connection checks, each stopped with ``stop()``.

``FaultServer`` is one thread driven by ``selectors`` (so that thread and descriptor counts
in leak tests are the client's plus a constant): it holds, trickles, or answers with canned
bytes. ``DagsterLikeServer`` is an ``http.server`` answering ``/server_info`` the way
``dagster_webserver.webserver.DagsterWebserver.webserver_info_endpoint`` does, optionally
over TLS (``make_certificate``). Every server listens on an ephemeral port.

Tests run with ``--import-mode=importlib``, so a test loads this file by path.
"""

from __future__ import annotations

import http.server
import importlib.metadata
import json
import selectors
import socket
import ssl
import subprocess
import threading
import time
from pathlib import Path
from typing import Any, cast

INSTALLED_DAGSTER = importlib.metadata.version("dagster")


def dagster_info(version: str = INSTALLED_DAGSTER) -> dict[str, str]:
    """What Dagster's ``/server_info`` answers (``DagsterWebserver.webserver_info_endpoint``)."""
    return {
        "dagster_webserver_version": version,
        "dagster_version": version,
        "dagster_graphql_version": version,
    }


def http_response(
    status: str, body: bytes, *, content_type: str = "application/json", length: int | None = None
) -> bytes:
    head = (
        f"HTTP/1.1 {status}\r\ncontent-type: {content_type}\r\n"
        f"content-length: {len(body) if length is None else length}\r\n\r\n"
    )
    return head.encode("latin-1") + body


class FaultServer:
    """A one-thread TCP server on 127.0.0.1 that answers every request with ``reply``.

    ``reply=None`` accepts and never answers; ``interval > 0`` sends the reply one byte at a
    time, ``interval`` seconds apart. The server closes a connection once its reply is sent
    (``keep_open``: once the client closes it) or the client closes it.
    """

    def __init__(
        self, reply: bytes | None, *, interval: float = 0.0, keep_open: bool = False
    ) -> None:
        self.reply = reply
        self.interval = interval
        self.keep_open = keep_open
        self._listener = socket.create_server(("127.0.0.1", 0))
        self._listener.setblocking(False)
        self.port: int = self._listener.getsockname()[1]
        self._selector = selectors.DefaultSelector()
        self._received: dict[socket.socket, bytearray] = {}
        self._sending: dict[socket.socket, tuple[bytes, float]] = {}  # what is left, when next
        self._answering: set[socket.socket] = set()
        self._stopping = threading.Event()
        self._thread = threading.Thread(target=self._serve, name="fault-server", daemon=True)
        self._thread.start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def stop(self) -> None:
        self._stopping.set()
        self._thread.join(5.0)
        assert not self._thread.is_alive(), "fault server did not stop"

    def _serve(self) -> None:
        self._selector.register(self._listener, selectors.EVENT_READ)
        try:
            while not self._stopping.is_set():
                for key, _ in self._selector.select(0.01):
                    if key.fileobj is self._listener:
                        self._accept()
                    else:
                        self._read(cast("socket.socket", key.fileobj))
                self._send_due(time.monotonic())
        finally:
            for conn in list(self._received):
                self._close(conn)
            self._selector.close()
            self._listener.close()

    def _accept(self) -> None:
        conn, _ = self._listener.accept()
        conn.setblocking(False)
        self._selector.register(conn, selectors.EVENT_READ)
        self._received[conn] = bytearray()

    def _read(self, conn: socket.socket) -> None:
        try:
            data = conn.recv(65536)
        except OSError:
            data = b""
        if not data:
            self._close(conn)
            return
        self._received[conn] += data
        request_complete = b"\r\n\r\n" in self._received[conn]
        if self.reply is not None and request_complete and conn not in self._answering:
            self._sending[conn] = (self.reply, time.monotonic())
            self._answering.add(conn)

    def _send_due(self, now: float) -> None:
        for conn, (left, due) in list(self._sending.items()):
            if now < due:
                continue
            try:
                if self.interval:
                    sent = conn.send(left[:1])
                else:
                    conn.setblocking(True)
                    conn.sendall(left)
                    sent = len(left)
            except OSError:
                self._close(conn)
                continue
            if sent < len(left):
                self._sending[conn] = (left[sent:], now + self.interval)
            elif self.keep_open:
                del self._sending[conn]
            else:
                self._close(conn)

    def _close(self, conn: socket.socket) -> None:
        self._selector.unregister(conn)
        self._received.pop(conn, None)
        self._sending.pop(conn, None)
        self._answering.discard(conn)
        conn.close()


class DagsterLikeServer:
    """An ``http.server`` answering ``<prefix>/server_info`` like Dagster; 404 elsewhere."""

    def __init__(
        self, info: dict[str, str], *, prefix: str = "", tls: tuple[Path, Path] | None = None
    ) -> None:
        self.requests: list[tuple[str, dict[str, str]]] = []
        requests, body = self.requests, json.dumps(info).encode()

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                requests.append((self.path, dict(self.headers.items())))
                found = self.path == f"{prefix}/server_info"
                self.send_response(200 if found else 404)
                self.send_header("content-type", "application/json" if found else "text/plain")
                reply = body if found else b"Not Found"
                self.send_header("content-length", str(len(reply)))
                self.end_headers()
                self.wfile.write(reply)

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self._server = http.server.HTTPServer(("127.0.0.1", 0), Handler)
        self.port = self._server.server_address[1]
        self.scheme = "https" if tls else "http"
        if tls:
            context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            context.load_cert_chain(*tls)
            self._server.socket = context.wrap_socket(self._server.socket, server_side=True)
        self._thread = threading.Thread(
            target=self._server.serve_forever, args=(0.05,), name="dagster-like", daemon=True
        )
        self._thread.start()

    @property
    def url(self) -> str:
        return f"{self.scheme}://127.0.0.1:{self.port}"

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(5.0)


Stoppable = FaultServer | DagsterLikeServer


def closed_port_url() -> str:
    """A URL on 127.0.0.1 where nothing listens: a port just bound and released."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    return f"http://127.0.0.1:{port}"


def make_certificate(folder: Path) -> tuple[Path, Path]:
    """A self-signed certificate for 127.0.0.1 and its key in ``folder`` (openssl CLI)."""
    cert, key = folder / "cert.pem", folder / "key.pem"
    subprocess.run(
        [
            *("openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1"),
            *("-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1"),
            *("-keyout", str(key), "-out", str(cert)),
        ],
        check=True,
        capture_output=True,
        timeout=30,
    )
    return cert, key
