"""``check_webserver`` against real sockets on 127.0.0.1: every fault returns on time, says
what to do, and repeated calls leave no threads or file descriptors behind.

The servers come from ``fault_servers.py`` beside this file; every one a test starts is
stopped in the ``servers`` fixture's teardown.
"""

from __future__ import annotations

import base64
import gc
import importlib.util
import json
import os
import re
import shutil
import socket
import subprocess
import sys
import threading
import time
import warnings
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from types import ModuleType
from typing import TYPE_CHECKING

import pytest

from floe_orchestration_core.connectivity import ValidationResult, run_check
from floe_orchestrator_dagster.deploy.connection import check_webserver
from floe_orchestrator_dagster.deploy.server_info_request import MAX_RESPONSE_BYTES, AddressInfo


def _load_beside(name: str) -> ModuleType:
    """Import ``<name>.py`` from this folder (``--import-mode=importlib`` adds no path)."""
    spec = importlib.util.spec_from_file_location(
        f"floe_dagster_tests_{name}", Path(__file__).with_name(f"{name}.py")
    )
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


if TYPE_CHECKING:
    import fault_servers
else:
    fault_servers = _load_beside("fault_servers")

DagsterLikeServer = fault_servers.DagsterLikeServer
FaultServer = fault_servers.FaultServer
Stoppable = fault_servers.Stoppable
INSTALLED_DAGSTER = fault_servers.INSTALLED_DAGSTER
closed_port_url = fault_servers.closed_port_url
dagster_info = fault_servers.dagster_info
http_response = fault_servers.http_response

#: The budget for one check in the fault tests; results must come back within it + SLACK.
TIMEOUT = 1.5
SLACK = 0.5


@pytest.fixture
def servers() -> Iterator[list[Stoppable]]:
    """Servers a test starts; all stopped in teardown."""
    started: list[Stoppable] = []
    yield started
    for server in started:
        server.stop()


@pytest.fixture
def fault_server(servers: list[Stoppable]) -> Callable[..., FaultServer]:
    def start(
        reply: bytes | None, *, interval: float = 0.0, keep_open: bool = False
    ) -> FaultServer:
        server = FaultServer(reply, interval=interval, keep_open=keep_open)
        servers.append(server)
        return server

    return start


@pytest.fixture
def dagster_like(servers: list[Stoppable]) -> Callable[..., DagsterLikeServer]:
    def start(
        info: dict[str, str] | None = None,
        *,
        prefix: str = "",
        tls: tuple[Path, Path] | None = None,
    ) -> DagsterLikeServer:
        server = DagsterLikeServer(dagster_info() if info is None else info, prefix=prefix, tls=tls)
        servers.append(server)
        return server

    return start


@pytest.fixture(scope="module")
def certificate(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """A self-signed certificate for 127.0.0.1 and its key, made with the openssl CLI."""
    if shutil.which("openssl") is None:
        pytest.skip("needs the openssl command to make a certificate")
    return fault_servers.make_certificate(tmp_path_factory.mktemp("tls"))


@pytest.fixture
def trusted(certificate: tuple[Path, Path], monkeypatch: pytest.MonkeyPatch) -> tuple[Path, Path]:
    """``certificate``, trusted by ``ssl.create_default_context()`` via SSL_CERT_FILE."""
    monkeypatch.setenv("SSL_CERT_FILE", str(certificate[0]))
    return certificate


def probe(url: str, timeout: float = TIMEOUT) -> ValidationResult:
    """Check ``url`` the way ``validate_connection`` does; assert it came back in time."""
    result = run_check(lambda deadline: check_webserver(url, deadline), timeout)
    assert result.duration_s <= timeout + SLACK, result
    # check_webserver answers for itself: run_check never had to give up on it
    assert "did not return in time" not in result.message
    return result


# -- URLs ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("url", "reason"),
    [
        ("localhost:3000", "must start with http:// or https://"),
        ("ftp://127.0.0.1:3000", "must start with http:// or https://"),
        ("http://", "names no host"),
        ("http://127.0.0.1:99999", "port is not a number from 1 to 65535"),
        ("http://127.0.0.1:3000/?x=1", "must not have a query"),
    ],
)
def test_a_bad_url_fails_showing_what_a_valid_one_looks_like(url: str, reason: str) -> None:
    result = probe(url)

    assert not result.success
    assert reason in result.message
    assert "use e.g. http://127.0.0.1:3000" in result.message


def test_a_bad_url_never_echoes_its_password() -> None:
    result = probe("ftp://admin:hunter2@127.0.0.1:3000")

    assert "hunter2" not in result.message
    assert "admin:***@" in result.message


# -- faults --------------------------------------------------------------------------------


def test_refused_says_nothing_listens_and_how_to_start_the_webserver() -> None:
    url = closed_port_url()
    port = url.rsplit(":", 1)[1]

    result = probe(url)

    assert not result.success
    assert result.message == (
        f"nothing is listening at {url} (connection refused): start it with "
        f"`floe up PRODUCT_DIR --port {port}`, or pass --url"
    )
    assert result.errors[0].startswith("ConnectionRefusedError")


def test_an_unresolvable_host_says_so_quickly() -> None:
    # RFC 2606: .invalid never resolves
    result = probe("http://dagster.invalid:3000")

    assert not result.success
    assert "cannot resolve host 'dagster.invalid'" in result.message
    assert "check" in result.message


def test_a_resolver_slower_than_the_deadline_fails_on_time_and_its_thread_ends() -> None:
    release = threading.Event()

    def hanging_resolver(host: str, port: int) -> Sequence[AddressInfo]:
        release.wait(10.0)
        raise socket.gaierror(socket.EAI_AGAIN, "Temporary failure in name resolution")

    started = time.monotonic()
    result = run_check(
        lambda deadline: check_webserver(
            "http://slow.example:3000", deadline, resolve=hanging_resolver
        ),
        0.5,
    )

    assert time.monotonic() - started < 0.5 + SLACK
    assert not result.success
    assert result.message.startswith("cannot resolve host 'slow.example' within 0.5 s")
    assert "use an IP address such as http://127.0.0.1:3000" in result.message
    left_behind = [t for t in threading.enumerate() if t.name == "floe-resolve-slow.example"]
    assert len(left_behind) == 1  # the documented trade-off: it ends when the resolver does
    release.set()
    left_behind[0].join(2.0)
    assert not left_behind[0].is_alive()


def test_a_server_that_accepts_and_never_answers_fails_at_the_deadline(
    fault_server: Callable[..., FaultServer],
) -> None:
    server = fault_server(None)

    result = probe(server.url)

    assert not result.success
    assert result.message == (
        f"{server.url}: no answer within {TIMEOUT:.1f} s: the webserver may be starting or "
        "overloaded; retry or raise --timeout"
    )
    assert "while reading the answer" in result.errors[0]
    assert result.duration_s > TIMEOUT * 0.8  # it waited for the answer, not gave up early


def test_a_server_answering_byte_by_byte_fails_at_the_deadline_naming_the_bytes(
    fault_server: Callable[..., FaultServer],
) -> None:
    reply = http_response("200 OK", json.dumps(dagster_info()).encode())
    server = fault_server(reply, interval=0.3)

    result = probe(server.url)

    assert not result.success
    match = re.fullmatch(
        rf"{re.escape(server.url)}: no complete answer within {TIMEOUT:.1f} s \((\d+) bytes "
        r"received\): the webserver may be starting or overloaded; retry or raise --timeout",
        result.message,
    )
    assert match is not None, result.message
    assert 1 <= int(match.group(1)) <= TIMEOUT / 0.3 + 1


def test_http_500_quotes_the_first_200_characters_and_points_at_the_logs(
    fault_server: Callable[..., FaultServer],
) -> None:
    body = "Traceback: DagsterInstance could not open storage. " + "x" * 400
    server = fault_server(
        http_response("500 Internal Server Error", body.encode(), content_type="text/plain")
    )

    result = probe(server.url)

    assert not result.success
    assert result.message == (
        f"{server.url}/server_info answered HTTP 500: {body[:200]}…; see the webserver's logs"
    )
    assert result.errors == ("HTTP 500",)


def test_a_non_json_answer_asks_whether_this_is_a_dagster_webserver(
    fault_server: Callable[..., FaultServer],
) -> None:
    page = b"<html><body>Welcome to nginx!</body></html>"
    server = fault_server(http_response("200 OK", page, content_type="text/html"))

    result = probe(server.url)

    assert not result.success
    assert result.message.startswith(
        f"{server.url}/server_info answered but not with Dagster's JSON (got text/html: "
    )
    assert "Welcome to nginx!" in result.message
    assert result.message.endswith("): is this a Dagster webserver?")


def test_json_without_the_version_keys_names_the_missing_keys(
    fault_server: Callable[..., FaultServer],
) -> None:
    server = fault_server(http_response("200 OK", b'{"status": "ok", "dagster_version": 1}'))

    result = probe(server.url)

    assert not result.success
    assert (
        "answered JSON but not Dagster's (no dagster_webserver_version, dagster_version, "
        "dagster_graphql_version in " in result.message
    )
    assert result.message.endswith("is this a Dagster webserver?")


def test_an_answer_declaring_more_than_the_cap_is_refused_unread(
    fault_server: Callable[..., FaultServer],
) -> None:
    server = fault_server(http_response("200 OK", b"{}", length=MAX_RESPONSE_BYTES + 1))

    result = probe(server.url)

    assert not result.success
    assert f"answered with more than {MAX_RESPONSE_BYTES} bytes" in result.message


def test_an_endless_answer_is_cut_at_the_cap(fault_server: Callable[..., FaultServer]) -> None:
    endless = b"HTTP/1.1 200 OK\r\ncontent-type: text/plain\r\n\r\n" + b"y" * (
        MAX_RESPONSE_BYTES + 4096
    )
    server = fault_server(endless)

    result = probe(server.url)

    assert not result.success
    assert f"answered with more than {MAX_RESPONSE_BYTES} bytes" in result.message


def test_a_server_that_hangs_up_without_answering_says_so(
    fault_server: Callable[..., FaultServer],
) -> None:
    server = fault_server(b"")

    result = probe(server.url)

    assert not result.success
    assert result.message.startswith(
        f"{server.url}/server_info closed the connection without answering"
    )


def test_https_to_a_plain_http_server_fails_suggesting_http(
    dagster_like: Callable[..., DagsterLikeServer],
) -> None:
    server = dagster_like()

    result = probe(f"https://127.0.0.1:{server.port}")

    assert not result.success
    assert result.message.startswith(f"TLS with https://127.0.0.1:{server.port} failed (")
    assert "use http:// if the webserver does not serve TLS" in result.message


def test_an_untrusted_certificate_fails_pointing_at_the_certificate(
    dagster_like: Callable[..., DagsterLikeServer], certificate: tuple[Path, Path]
) -> None:
    server = dagster_like(tls=certificate)

    result = probe(server.url)

    assert not result.success
    assert result.message.startswith(f"TLS with {server.url} failed (CERTIFICATE_VERIFY_FAILED)")
    assert "check the server's certificate" in result.message


def test_a_dagster_webserver_over_https_succeeds(
    dagster_like: Callable[..., DagsterLikeServer], trusted: tuple[Path, Path]
) -> None:
    server = dagster_like(tls=trusted)

    result = probe(server.url)

    assert result.success, result
    assert result.message.endswith(f"answers at https://127.0.0.1:{server.port}")


def test_a_redirect_names_where_to(fault_server: Callable[..., FaultServer]) -> None:
    reply = b"HTTP/1.1 302 Found\r\nlocation: /login\r\ncontent-length: 0\r\n\r\n"
    server = fault_server(reply)

    result = probe(server.url)

    assert not result.success
    assert result.message == (
        f"{server.url}/server_info redirects (HTTP 302) to /login: pass that URL with --url"
    )


# -- a webserver that answers like Dagster -------------------------------------------------


def test_a_dagster_webserver_succeeds_naming_the_versions_and_the_url(
    dagster_like: Callable[..., DagsterLikeServer],
) -> None:
    server = dagster_like()

    result = probe(server.url + "/")

    assert result.success
    v = INSTALLED_DAGSTER
    assert result.message == (
        f"Dagster webserver {v} (dagster {v}, dagster-graphql {v}) answers at {server.url}"
    )
    assert result.warnings == ()
    path, headers = server.requests[0]
    assert path == "/server_info"
    assert headers["Host"] == f"127.0.0.1:{server.port}"


def test_a_complete_answer_is_not_held_up_by_a_connection_left_open(
    fault_server: Callable[..., FaultServer],
) -> None:
    reply = http_response("200 OK", json.dumps(dagster_info()).encode())
    server = fault_server(reply, keep_open=True)

    result = probe(server.url)

    assert result.success, result
    assert result.duration_s < TIMEOUT / 2  # stopped at Content-Length, not at the deadline


def test_a_webserver_on_another_dagster_version_succeeds_with_a_warning(
    dagster_like: Callable[..., DagsterLikeServer],
) -> None:
    server = dagster_like(dagster_info("1.9.0"))

    result = probe(server.url)

    assert result.success
    assert result.warnings == (
        f"the webserver at {server.url} runs dagster 1.9.0 but dagster {INSTALLED_DAGSTER} is "
        "installed here: definitions built here may not load there; align the versions",
    )


def test_a_path_prefix_is_kept_and_a_missing_one_is_suggested(
    dagster_like: Callable[..., DagsterLikeServer],
) -> None:
    server = dagster_like(prefix="/dagster")

    assert probe(f"{server.url}/dagster/").success
    missing = probe(server.url)

    assert server.requests[0][0] == "/dagster/server_info"
    assert not missing.success
    assert missing.message.startswith(f"{server.url}/server_info answered HTTP 404: ")
    assert "pass the URL with the prefix" in missing.message


def test_credentials_in_the_url_are_sent_as_basic_auth_and_never_shown(
    dagster_like: Callable[..., DagsterLikeServer],
) -> None:
    server = dagster_like()

    result = probe(f"http://ops:s3cret@127.0.0.1:{server.port}")

    assert result.success
    assert "s3cret" not in result.message
    assert result.message.endswith(f"answers at {server.url}")
    expected = "Basic " + base64.b64encode(b"ops:s3cret").decode()
    assert server.requests[0][1]["Authorization"] == expected


def test_the_check_never_imports_dagster() -> None:
    code = (
        "import sys\n"
        "from floe_orchestration_core.connectivity import Deadline\n"
        "from floe_orchestrator_dagster.deploy.connection import check_webserver\n"
        f"check_webserver({closed_port_url()!r}, Deadline(2.0))\n"
        "print(sorted(m for m in sys.modules if m.split('.')[0] == 'dagster'))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=30, check=True
    )

    assert done.stdout.strip() == "[]"


# -- leaks ---------------------------------------------------------------------------------


def _open_fds() -> int:
    return len(os.listdir("/proc/self/fd"))


def _settles(measure: Callable[[], int], baseline: int, within: float = 3.0) -> int:
    """``measure()`` once it is back to ``baseline`` (or the last value after ``within`` s)."""
    give_up = time.monotonic() + within
    value = measure()
    while value > baseline and time.monotonic() < give_up:
        time.sleep(0.02)
        value = measure()
    return value


@pytest.mark.skipif(not os.path.isdir("/proc/self/fd"), reason="counts fds via /proc")
def test_fifty_calls_per_fault_leave_no_threads_or_sockets_behind(
    fault_server: Callable[..., FaultServer],
    dagster_like: Callable[..., DagsterLikeServer],
    trusted: tuple[Path, Path],
) -> None:
    info = json.dumps(dagster_info()).encode()
    fast = [
        closed_port_url(),
        "http://dagster.invalid:3000",
        fault_server(http_response("500 Internal Server Error", b"boom")).url,
        fault_server(http_response("200 OK", b"<html/>", content_type="text/html")).url,
        fault_server(http_response("200 OK", b'{"status": "ok"}')).url,
        fault_server(b"").url,
        f"https://127.0.0.1:{dagster_like().port}",
        dagster_like(tls=trusted).url,
        dagster_like().url,
    ]
    # slow faults with a short budget, so that the deadline falls mid-connection
    slow = [fault_server(None).url, fault_server(http_response("200 OK", info), interval=0.01).url]
    probe(fast[-1])  # warm up: first-use imports and caches are not leaks
    threads, fds = threading.active_count(), _open_fds()

    with warnings.catch_warnings(record=True) as caught:
        # a socket dropped unclosed is closed by its finaliser, with a ResourceWarning
        warnings.simplefilter("always", ResourceWarning)
        for url in fast:
            outcomes = {probe(url).success for _ in range(50)}
            assert len(outcomes) == 1, url  # the same fault every time
        for url in slow:
            for _ in range(50):
                assert not probe(url, timeout=0.05).success
        # counted before any garbage collection: nothing may wait for the collector. A leak
        # makes a count grow; it may shrink when something an earlier test left open is
        # finalised meanwhile.
        assert _settles(threading.active_count, threads) <= threads
        assert _settles(_open_fds, fds) <= fds
        gc.collect()

    assert [str(w.message) for w in caught if w.category is ResourceWarning] == []
