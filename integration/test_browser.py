"""A browser opens the running example's asset graph in the Dagster UI and finds every asset.

``floe up examples/retail-analytics`` (a copy) starts the webserver and daemon; headless
Chromium (Debian's ``chromium``) opens the global asset lineage, dismisses Dagster's welcome
dialog, expands every group (Dagster's own shortcut, Alt+E) and waits until each asset of the
product is on the page. The screenshot is written to the test's folder; with
``FLOE_UPDATE_SCREENSHOT=1`` it also replaces ``docs/images/asset-graph.png`` (the README's).

Skips with the reason when Chromium is not installed (``apt-get install chromium``).
"""

from __future__ import annotations

import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))
from browser import chromium_page, chromium_path

ROOT = Path(__file__).resolve().parent.parent
EXAMPLE = ROOT / "examples" / "retail-analytics"
FLOE = Path(sys.executable).parent / "floe"
#: Every asset of the example as the asset graph labels it (the last part of its key).
ASSETS = (
    *("customers", "products", "orders", "order_items"),  # the ingestion assets' sources
    *("stg_customers", "stg_products", "stg_orders", "stg_order_items"),
    *("fct_orders", "dim_customers", "mart_daily_revenue", "mart_product_performance"),
    "publish_report",
)
DISMISS_WELCOME = (
    "Array.from(document.querySelectorAll('button'))"
    ".filter(b => ['Skip', 'Dismiss'].includes(b.innerText.trim())).forEach(b => b.click())"
)
PAGE_TEXT = "document.documentElement.outerHTML"

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(chromium_path() is None, reason="chromium is not installed"),
]


def _shown(name: str, page: str) -> bool:
    """``name`` is on the page, whole or as Dagster abbreviates long labels in the middle
    (``mart_…_performance``: a prefix and a suffix of the name around an ellipsis)."""
    if f">{name}<" in page or f'"{name}"' in page:
        return True
    for match in re.finditer(r">([A-Za-z0-9_]+)\u2026([A-Za-z0-9_]+)<", page):
        head, tail = match.groups()
        if name.startswith(head) and name.endswith(tail) and len(head) + len(tail) < len(name):
            return True
    return False


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _wait_for_server(url: str, process: subprocess.Popen[bytes], timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise AssertionError(f"floe up exited with {process.returncode}")
        try:
            with urllib.request.urlopen(f"{url}/server_info", timeout=2):
                return
        except OSError:
            time.sleep(1)
    raise AssertionError(f"{url} did not answer within {timeout} s")


@pytest.fixture(scope="module")
def running_example(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    product = tmp_path_factory.mktemp("browser") / "retail-analytics"
    shutil.copytree(
        EXAMPLE, product, ignore=shutil.ignore_patterns(".floe", "target", "output", "logs")
    )
    port = _free_port()
    log = (product.parent / "floe-up.log").open("wb")
    process = subprocess.Popen(
        [str(FLOE), "up", str(product), "--port", str(port), "--host", "127.0.0.1"],
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        _wait_for_server(url, process, timeout=240)
        yield url
    finally:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=90)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()
        log.close()


def test_the_asset_graph_shows_every_asset_of_the_product(
    running_example: str, tmp_path: Path
) -> None:
    with chromium_page(width=1600, height=1000) as page:
        page.navigate(f"{running_example}/asset-groups")
        assert not page.wait_for(["duckdb_heavy", "ingestion"], 120), "the lineage page is empty"
        page.evaluate(DISMISS_WELCOME)
        time.sleep(1)
        for kind in ("rawKeyDown", "keyUp"):  # Alt+E: expand all groups
            page.call(
                "Input.dispatchKeyEvent",
                type=kind,
                modifiers=1,
                key="e",
                code="KeyE",
                windowsVirtualKeyCode=69,
            )
        deadline = time.monotonic() + 60
        while True:
            page.evaluate(DISMISS_WELCOME)  # the welcome dialog may open late
            text = str(page.evaluate(PAGE_TEXT))
            missing = [name for name in ASSETS if not _shown(name, text)]
            if not missing or time.monotonic() > deadline:
                break
            time.sleep(0.5)
        for _ in range(3):
            time.sleep(1)
            page.evaluate(DISMISS_WELCOME)
        screenshot = tmp_path / "asset-graph.png"
        page.screenshot(screenshot)
    assert not missing, f"assets missing from the asset graph: {sorted(missing)}"
    assert screenshot.stat().st_size > 20_000
    if os.environ.get("FLOE_UPDATE_SCREENSHOT") == "1":
        target = ROOT / "docs" / "images" / "asset-graph.png"
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(screenshot, target)
