"""Fixtures: real local HTTP receivers (healthy, failing, black hole), the OpenLineage
2-0-2 validator from ``../shared/tools/ol_validate.py``, and a DEBUG log capture.

Every server listens on 127.0.0.1 on an ephemeral port and is stopped after its test.
"""

from __future__ import annotations

import http.server
import importlib.util
import json
import logging
import re
import socket
import threading
from collections.abc import Callable, Iterator
from datetime import datetime
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

REPO_ROOT = Path(__file__).resolve().parents[3]
SHARED = REPO_ROOT.parent / "shared"
OL_VALIDATE = SHARED / "tools" / "ol_validate.py"


# -- HTTP receivers ---------------------------------------------------------------------------
class Receiver:
    """An ``http.server`` that records each POSTed event and answers ``status`` (settable)."""

    def __init__(self) -> None:
        self.status = 200
        self.events: list[dict[str, Any]] = []
        self.headers: list[dict[str, str]] = []
        self.raw: list[bytes] = []
        self.refused = 0
        lock = threading.Lock()
        self._lock = lock
        receiver = self

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("content-length", "0")))
                with lock:
                    status = receiver.status
                    if status == 200:
                        receiver.raw.append(body)
                        receiver.events.append(json.loads(body))
                        receiver.headers.append(dict(self.headers.items()))
                    else:
                        receiver.refused += 1
                self.send_response(status)
                self.send_header("content-length", "0")
                self.end_headers()

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self._server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self.port = self._server.server_address[1]
        self._thread = threading.Thread(
            target=self._server.serve_forever, args=(0.05,), daemon=True, name="ol-receiver"
        )
        self._thread.start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def set_status(self, status: int) -> None:
        with self._lock:
            self.status = status

    def received(self) -> list[dict[str, Any]]:
        with self._lock:
            return list(self.events)

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(5.0)


class BlackHole:
    """Accepts connections and never answers (nor closes them) until stopped."""

    def __init__(self) -> None:
        self._listener = socket.create_server(("127.0.0.1", 0))
        self._listener.settimeout(0.05)
        self.port: int = self._listener.getsockname()[1]
        self._held: list[socket.socket] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._serve, daemon=True, name="black-hole")
        self._thread.start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def _serve(self) -> None:
        while not self._stop.is_set():
            try:
                conn, _ = self._listener.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            self._held.append(conn)

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(5.0)
        for conn in self._held:
            conn.close()
        self._listener.close()


def closed_port_url() -> str:
    """A URL on 127.0.0.1 where nothing listens (a port bound and released)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    return f"http://127.0.0.1:{port}"


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    server = Receiver()
    yield server
    server.stop()


@pytest.fixture
def black_hole() -> Iterator[BlackHole]:
    server = BlackHole()
    yield server
    server.stop()


# -- the OpenLineage validator ----------------------------------------------------------------
_RFC3339 = re.compile(
    r"^\d{4}-\d{2}-\d{2}[Tt]\d{2}:\d{2}:\d{2}(\.\d+)?([Zz]|[+-]\d{2}:\d{2})$", re.ASCII
)
_URI = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*:[A-Za-z0-9\-._~:/?#\[\]@!$&'()*+,;=%]*$", re.ASCII)


def _date_time(value: object) -> bool:
    if not isinstance(value, str) or not _RFC3339.match(value):
        return not isinstance(value, str)
    try:
        datetime.fromisoformat(value.replace("z", "Z"))
    except ValueError:
        return False
    return True


def _uri(value: object) -> bool:
    return not isinstance(value, str) or bool(_URI.match(value))


def _load_ol_validate(monkeypatch: pytest.MonkeyPatch) -> ModuleType:
    """``ol_validate`` with format checking on.

    When ``jsonschema[format-nongpl]`` is installed its checkers are used as they are; when
    it is not, strict stand-ins for ``date-time`` (RFC 3339) and ``uri`` (RFC 3986 absolute
    URI characters) are registered on a copy of the format checker for this test only, so the
    formats are really checked either way (``uuid`` is built in).
    """
    if not OL_VALIDATE.is_file():
        pytest.skip(f"the shared OpenLineage validator is absent ({OL_VALIDATE})")
    from jsonschema import Draft202012Validator, FormatChecker

    checker = Draft202012Validator.FORMAT_CHECKER
    if checker.conforms("yesterday", "date-time") or checker.conforms("not a uri", "uri"):
        strict = FormatChecker()
        strict.checkers = dict(checker.checkers)
        strict.checks("date-time")(_date_time)
        strict.checks("uri")(_uri)
        monkeypatch.setattr(Draft202012Validator, "FORMAT_CHECKER", strict)
    spec = importlib.util.spec_from_file_location("ol_validate", OL_VALIDATE)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture
def assert_valid_openlineage(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> Callable[[list[dict[str, Any]]], None]:
    """A function asserting that events are valid OpenLineage 2-0-2 (events and facets)."""
    validator = _load_ol_validate(monkeypatch)
    folder = tmp_path / "ol-validate"
    folder.mkdir()

    def check(events: list[dict[str, Any]]) -> None:
        assert events, "nothing to validate"
        path = folder / f"events-{len(list(folder.iterdir()))}.jsonl"
        path.write_text("".join(json.dumps(e) + "\n" for e in events), encoding="utf-8")
        count, bad, problems = validator.validate([path])
        assert count == len(events)
        assert bad == 0, "\n".join(problems)

    return check


@pytest.fixture
def refused_url() -> str:
    return closed_port_url()


# -- logs -------------------------------------------------------------------------------------
class AllRecords(logging.Handler):
    """Collects every record of every logger at DEBUG, formatted with its traceback."""

    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.lines: list[str] = []
        self.setFormatter(logging.Formatter("%(levelname)s %(name)s %(message)s"))

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(self.format(record))

    def text(self) -> str:
        return "\n".join(self.lines)


@pytest.fixture
def all_logs() -> Iterator[AllRecords]:
    root = logging.getLogger()
    handler = AllRecords()
    previous = root.level
    root.addHandler(handler)
    root.setLevel(logging.DEBUG)
    yield handler
    root.removeHandler(handler)
    root.setLevel(previous)
