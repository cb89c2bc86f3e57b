"""Drive headless Chromium through the DevTools protocol: open a page, wait for text, screenshot.

Debian's ``chromium`` is started with ``--headless --no-sandbox --disable-gpu
--disable-background-networking`` and a private profile; the page is driven over the
DevTools WebSocket (``websockets``' sync client), so no browser-automation package is needed.
"""

from __future__ import annotations

import base64
import contextlib
import itertools
import json
import shutil
import socket
import subprocess
import tempfile
import time
import urllib.request
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

from websockets.sync.client import ClientConnection, connect

CHROMIUM_FLAGS = ("--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking")


def chromium_path() -> str | None:
    """The Chromium binary (Debian's package puts it at /usr/bin/chromium), or None."""
    return shutil.which("chromium") or shutil.which("chromium-browser")


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class Page:
    """One browser tab over the DevTools protocol."""

    def __init__(self, connection: ClientConnection) -> None:
        self._connection = connection
        self._ids = itertools.count(1)

    def call(self, method: str, **params: Any) -> dict[str, Any]:
        message_id = next(self._ids)
        self._connection.send(json.dumps({"id": message_id, "method": method, "params": params}))
        while True:
            reply = json.loads(self._connection.recv(timeout=60))
            if reply.get("id") == message_id:
                if "error" in reply:
                    raise RuntimeError(f"{method}: {reply['error']}")
                return dict(reply.get("result", {}))

    def navigate(self, url: str) -> None:
        self.call("Page.navigate", url=url)

    def text(self) -> str:
        result = self.call(
            "Runtime.evaluate", expression="document.body ? document.body.innerText : ''"
        )
        return str(result.get("result", {}).get("value", ""))

    def evaluate(self, expression: str) -> Any:
        return self.call("Runtime.evaluate", expression=expression, returnByValue=True)[
            "result"
        ].get("value")

    def wait_for(
        self, needles: Sequence[str], timeout: float, *, expression: str | None = None
    ) -> set[str]:
        """Poll until every needle is in the page's text (or ``expression``'s value); return
        the needles still missing when ``timeout`` ran out (empty: all found)."""
        deadline = time.monotonic() + timeout
        missing = set(needles)
        while True:
            text = str(self.evaluate(expression)) if expression else self.text()
            missing = {n for n in needles if n not in text}
            if not missing or time.monotonic() > deadline:
                return missing
            time.sleep(0.5)

    def screenshot(self, path: Path) -> None:
        data = self.call("Page.captureScreenshot", format="png")["data"]
        path.write_bytes(base64.b64decode(data))


@contextlib.contextmanager
def chromium_page(width: int = 1600, height: int = 1000) -> Iterator[Page]:
    """A headless Chromium tab; the browser is killed on exit."""
    binary = chromium_path()
    if binary is None:
        raise FileNotFoundError("chromium is not installed (Debian: apt-get install chromium)")
    port = _free_port()
    with tempfile.TemporaryDirectory(prefix="floe-chromium-") as profile:
        process = subprocess.Popen(
            [
                binary,
                *CHROMIUM_FLAGS,
                f"--remote-debugging-port={port}",
                f"--user-data-dir={profile}",
                f"--window-size={width},{height}",
                "about:blank",
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        try:
            target = _page_target(port)
            with connect(target, max_size=64 * 1024 * 1024, open_timeout=30) as connection:
                page = Page(connection)
                page.call("Page.enable")
                page.call(
                    "Emulation.setDeviceMetricsOverride",
                    width=width,
                    height=height,
                    deviceScaleFactor=1,
                    mobile=False,
                )
                yield page
        finally:
            process.kill()
            process.wait(timeout=30)


def _page_target(port: int, timeout: float = 30.0) -> str:
    deadline = time.monotonic() + timeout
    while True:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/json/list", timeout=5) as reply:
                targets = json.load(reply)
            pages = [t for t in targets if t.get("type") == "page"]
            if pages:
                return str(pages[0]["webSocketDebuggerUrl"])
        except OSError:
            pass
        if time.monotonic() > deadline:
            raise TimeoutError(f"chromium's DevTools did not answer on port {port}")
        time.sleep(0.3)
