"""Is a Dagster webserver answering at a URL? ``check_webserver`` asks ``/server_info``.

``check_webserver(url, deadline)`` is the body of the Dagster plugin's
``_validate_connection`` hook: ``OrchestratorPlugin.validate_connection`` runs it through
:func:`~floe_orchestration_core.connectivity.run_check`, which supplies the
:class:`~floe_orchestration_core.connectivity.Deadline`. It returns a
:class:`~floe_orchestration_core.connectivity.ValidationResult` and never raises for a down,
slow or wrong server; every failure message says what to do next.

What it does:

- Validates the URL: ``http``/``https``, a host, an optional port and path prefix
  (``dagster-webserver --path-prefix``), optional ``user:password@`` sent as basic auth and
  never echoed.
- ``GET <url>/server_info``. The webserver answers
  ``{"dagster_webserver_version", "dagster_version", "dagster_graphql_version"}``
  (``dagster_webserver.webserver.DagsterWebserver.webserver_info_endpoint``). No GraphQL
  probe: ``/server_info`` proves it is a Dagster webserver and names its versions in one
  small request that touches neither the instance nor the code locations, and a second
  round trip would only halve the time left for slow servers.
- Success names the versions and the URL; a warning when the server's Dagster version
  differs from the installed ``dagster`` distribution (read with ``importlib.metadata``,
  so the check never imports ``dagster``: it uses only the standard library).

The request itself, and how it stays inside the deadline:
:mod:`~floe_orchestrator_dagster.deploy.server_info_request`.
"""

from __future__ import annotations

import http.client
import importlib.metadata
import io
import json
import socket
from typing import cast

from floe_orchestration_core.connectivity import Deadline, ValidationResult
from floe_orchestrator_dagster.deploy.server_info_request import (
    CheckFailedError,
    Resolver,
    ServerInfoRequest,
    WebserverTarget,
    not_http,
    parse_url,
    system_resolve,
)

__all__ = ["SERVER_INFO_KEYS", "check_webserver"]

#: The keys Dagster's ``/server_info`` answers with.
SERVER_INFO_KEYS = ("dagster_webserver_version", "dagster_version", "dagster_graphql_version")
_SNIPPET_CHARS = 200


class _Replay:
    """Feeds recorded bytes to ``http.client.HTTPResponse`` as if they came off a socket."""

    def __init__(self, data: bytes) -> None:
        self._data = data

    def makefile(self, mode: str, *args: object, **kwargs: object) -> io.BytesIO:
        return io.BytesIO(self._data)


def _snippet(body: bytes) -> str:
    text = body.decode("utf-8", "replace").strip()
    text = " ".join(text.split())
    return text[:_SNIPPET_CHARS] + ("…" if len(text) > _SNIPPET_CHARS else "")


def _parse_http(target: WebserverTarget, raw: bytes) -> tuple[int, http.client.HTTPMessage, bytes]:
    if not raw:
        raise CheckFailedError(
            f"{target.endpoint} closed the connection without answering: is this a Dagster "
            "webserver? check the port and the webserver's logs"
        )
    response = http.client.HTTPResponse(cast("socket.socket", _Replay(raw)), method="GET")
    try:
        response.begin()
        body = response.read()
    except http.client.IncompleteRead as exc:
        raise CheckFailedError(
            f"{target.endpoint} closed the connection mid-answer ({len(exc.partial)} body "
            "bytes received): the webserver may have crashed; see its logs",
            f"IncompleteRead: {exc}",
        ) from None
    except (http.client.HTTPException, ValueError) as exc:
        raise not_http(target, raw) from exc
    return response.status, response.headers, body


def _status_problem(
    target: WebserverTarget, status: int, headers: http.client.HTTPMessage, body: bytes
) -> str | None:
    """The failure message for an HTTP status other than 200, or None for 200."""
    endpoint = target.endpoint
    if status == 200:
        return None
    if 300 <= status < 400:
        location = headers.get("Location", "elsewhere")
        return f"{endpoint} redirects (HTTP {status}) to {location}: pass that URL with --url"
    if status in (401, 403):
        return (
            f"{endpoint} answered HTTP {status}: the webserver is behind authentication; "
            "check the credentials, e.g. http://user:password@host:3000"
        )
    if status == 404:
        return (
            f"{endpoint} answered HTTP 404: this is not a Dagster webserver, or it is served "
            "under a path prefix; pass the URL with the prefix, e.g. http://127.0.0.1:3000/dagster"
        )
    if status >= 500:
        return f"{endpoint} answered HTTP {status}: {_snippet(body)}; see the webserver's logs"
    return f"{endpoint} answered HTTP {status}: {_snippet(body)}; is this a Dagster webserver?"


def _server_info(target: WebserverTarget, raw: bytes) -> dict[str, str]:
    status, headers, body = _parse_http(target, raw)
    endpoint = target.endpoint
    problem = _status_problem(target, status, headers, body)
    if problem is not None:
        raise CheckFailedError(problem, f"HTTP {status}")
    content_type = headers.get("Content-Type", "no content type")
    try:
        payload: object = json.loads(body)
    except ValueError:
        raise CheckFailedError(
            f"{endpoint} answered but not with Dagster's JSON (got {content_type}: "
            f"{_snippet(body)!r}): is this a Dagster webserver?"
        ) from None
    if not isinstance(payload, dict):
        payload = {}
    missing = [key for key in SERVER_INFO_KEYS if not isinstance(payload.get(key), str)]
    if missing:
        raise CheckFailedError(
            f"{endpoint} answered JSON but not Dagster's (no {', '.join(missing)} in "
            f"{_snippet(body)!r}): is this a Dagster webserver?"
        )
    return {key: str(payload[key]) for key in SERVER_INFO_KEYS}


def _installed_dagster() -> str | None:
    try:
        return importlib.metadata.version("dagster")
    except importlib.metadata.PackageNotFoundError:
        return None


def _success(target: WebserverTarget, info: dict[str, str]) -> ValidationResult:
    dagster = info["dagster_version"]
    warnings = []
    installed = _installed_dagster()
    if installed is not None and installed != dagster:
        warnings.append(
            f"the webserver at {target.shown} runs dagster {dagster} but dagster {installed} is "
            "installed here: definitions built here may not load there; align the versions"
        )
    return ValidationResult.ok(
        f"Dagster webserver {info['dagster_webserver_version']} (dagster {dagster}, "
        f"dagster-graphql {info['dagster_graphql_version']}) answers at {target.shown}",
        warnings=warnings,
    )


def check_webserver(
    url: str, deadline: Deadline, *, resolve: Resolver = system_resolve
) -> ValidationResult:
    """Ask the Dagster webserver at ``url`` for ``/server_info`` within ``deadline``.

    Returns a succeeded result naming the versions, or a failed one saying what to do;
    never raises for a bad URL or a down, slow or wrong server. ``resolve`` replaces
    ``socket.getaddrinfo(host, port, type=SOCK_STREAM)`` (a fake resolver in tests).

    >>> result = check_webserver("localhost:3000", Deadline(1.0))
    >>> bool(result), "use e.g. http://127.0.0.1:3000" in result.message
    (False, True)
    """
    try:
        target = parse_url(url)
        raw = ServerInfoRequest(target, deadline, resolve).fetch()
        info = _server_info(target, raw)
    except CheckFailedError as failed:
        return failed.result()
    return _success(target, info)
