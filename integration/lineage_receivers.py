"""Local OpenLineage endpoints for run-level fault tests and benchmarks, and the product setup.

- :class:`LineageReceiver`: a real HTTP server recording every event it accepts (200); it can
  answer 503 throughout, or 503 for its first ``seconds`` after the first request and then
  recover.
- :class:`BlackHole`: accepts connections and never answers.
- :func:`refused_url`: a port nothing listens on.
- :func:`example_copy` / :func:`point_lineage_at`: a copy of ``examples/retail-analytics`` and
  its ``manifest.yaml`` pointed at a transport.
- :func:`identities` / :func:`check_delivery`: what "the receiver holds exactly the events the
  run wrote" means: the same count, no event twice ((runId, eventType, job)), START before the
  terminal event of each run id, the same (eventType, job) as the reference.

Used by ``integration/test_lineage_durable.py`` and ``benchmarks/bench_lineage_run_faults.py``.
"""

from __future__ import annotations

import http.server
import json
import shutil
import socket
import threading
import time
from collections import Counter
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

__all__ = [
    "BlackHole",
    "LineageReceiver",
    "check_delivery",
    "example_copy",
    "identities",
    "point_lineage_at",
    "refused_url",
]

ROOT = Path(__file__).resolve().parent.parent
EXAMPLE = ROOT / "examples" / "retail-analytics"
TERMINAL = frozenset({"COMPLETE", "FAIL", "ABORT"})


class LineageReceiver:
    """An OpenLineage HTTP endpoint on 127.0.0.1 (see the module docstring)."""

    def __init__(self, *, status: int = 200, fail_for: float | None = None) -> None:
        self.events: list[dict[str, Any]] = []
        self.refused = 0
        self.status = status
        self.fail_for = fail_for
        self._first: float | None = None
        self._lock = threading.Lock()
        receiver = self

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("content-length", "0")))
                status = receiver._answer()
                if status == 200:
                    with receiver._lock:
                        receiver.events.append(json.loads(body))
                self.send_response(status)
                self.send_header("content-length", "0")
                self.end_headers()

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self._server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}"
        threading.Thread(target=self._server.serve_forever, args=(0.05,), daemon=True).start()

    def _answer(self) -> int:
        with self._lock:
            now = time.monotonic()
            self._first = self._first if self._first is not None else now
            if self.fail_for is not None:
                status = 503 if now - self._first < self.fail_for else 200
            else:
                status = self.status
            if status != 200:
                self.refused += 1
            return status

    def received(self) -> list[dict[str, Any]]:
        with self._lock:
            return list(self.events)

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()


class BlackHole:
    """Accepts connections and never answers them (until stopped)."""

    def __init__(self) -> None:
        self._listener = socket.create_server(("127.0.0.1", 0))
        self._listener.settimeout(0.05)
        self._held: list[socket.socket] = []
        self._stop = threading.Event()
        self.url = f"http://127.0.0.1:{self._listener.getsockname()[1]}"
        self._thread = threading.Thread(target=self._serve, daemon=True)
        self._thread.start()

    def _serve(self) -> None:
        while not self._stop.is_set():
            try:
                connection, _ = self._listener.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            self._held.append(connection)

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(5.0)
        for connection in self._held:
            connection.close()
        self._listener.close()


def refused_url() -> str:
    """A URL on 127.0.0.1 where nothing listens (a port bound and released)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return f"http://127.0.0.1:{probe.getsockname()[1]}"


def example_copy(destination: Path, source: Path = EXAMPLE) -> Path:
    """``source`` (default: the example; or an already-run copy, warehouse and dbt parse
    included) copied to ``destination``, without lineage output or a spool."""
    shutil.copytree(
        source,
        destination,
        ignore=shutil.ignore_patterns("lineage", "output", "logs", "dagster", "instance"),
    )
    return destination


def point_lineage_at(product: Path, transport: Mapping[str, Any]) -> None:
    """Write ``product/manifest.yaml`` with the OpenLineage backend on ``transport``."""
    (product / "manifest.yaml").write_text(
        "orchestrator: dagster\n"
        "lineage:\n"
        "  type: openlineage\n"
        f"  config: {{transport: {json.dumps(dict(transport))}}}\n"
        "storage: {type: sqlite}\n",
        encoding="utf-8",
    )


def identities(events: Iterable[Mapping[str, Any]]) -> list[tuple[str, str, str, str]]:
    """(runId, eventType, job namespace, job name) of each event, in order."""
    return [
        (e["run"]["runId"], e["eventType"], e["job"]["namespace"], e["job"]["name"]) for e in events
    ]


def check_delivery(received: list[dict[str, Any]], reference: list[dict[str, Any]]) -> list[str]:
    """Why ``received`` is not exactly what ``reference`` holds (an empty list: it is).

    ``reference`` may come from another run of the same product (another run id each): run
    ids are compared within ``received`` only; (eventType, job) across both.
    """
    problems = []
    ids = identities(received)
    if len(received) != len(reference):
        problems.append(f"{len(received)} events received, {len(reference)} expected")
    repeated = [i for i, n in Counter(ids).items() if n > 1]
    if repeated:
        problems.append(f"received more than once: {repeated[:3]}")
    started: set[str] = set()
    for run_id, kind, _, job in ids:
        if kind == "START":
            started.add(run_id)
        elif kind in TERMINAL and run_id not in started:
            problems.append(f"{kind} of {job} (run {run_id}) before its START")
    shape = Counter((kind, job) for _, kind, _, job in ids)
    expected = Counter((kind, job) for _, kind, _, job in identities(reference))
    if shape != expected:
        problems.append(
            f"events differ: missing {dict(expected - shape)}, unexpected {dict(shape - expected)}"
        )
    return problems
