"""A browser opens the running example in the Dagster UI: the asset graph with no dialog over
it, and every asset of the product on it.

``floe up examples/retail-analytics`` (a copy) starts the webserver and daemon; headless
Chromium (Debian's ``chromium``, a fresh profile each time) opens the UI. The first test
checks what a new user sees first: no dialog (``[role=dialog]``, such as Dagster's "Join the
Dagster community", which floe's ``dagster.yaml`` turns off with ``nux: {enabled: false}``) on
the overview or over the global asset lineage, whose group nodes are on screen and on top
(the element at each node's centre is the node). The second expands every group (Dagster's own
shortcut, Alt+E) and waits until each asset of the product is on the page. Its screenshot is
written to the test's folder; with ``FLOE_UPDATE_SCREENSHOT=1`` it also replaces
``docs/images/asset-graph.png`` (the README's).

Skips with the reason when Chromium is not installed (``apt-get install chromium``; ``nox -s
integration`` installs it when it can), and fails instead under ``FLOE_REQUIRE_CHROMIUM=1``
(set by ``.ci/run``).
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
from browser import Page, chromium_page, chromium_path

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
#: The example's asset groups: the nodes the global asset lineage shows before any is expanded.
GROUPS = ("ingestion", "duckdb", "duckdb_heavy", "publication")
#: How long the first view is watched for a dialog that opens late (Dagster's opened after the
#: page's first GraphQL answers).
DIALOG_WATCH_S = 10.0
DIALOGS = "document.querySelectorAll('[role=dialog], [aria-modal=true]').length"
#: For each group name, whether a node labelled with it is on screen and is what a click at its
#: centre would hit (nothing, such as a dialog or an overlay, lies over it).
NODES_ON_TOP = """
(names => Object.fromEntries(names.map(name => {
  const labels = Array.from(document.querySelectorAll('body *')).filter(
    e => e.children.length === 0 && e.textContent.trim() === name);
  return [name, labels.some(label => {
    const box = label.getBoundingClientRect();
    if (box.width === 0 || box.height === 0 || box.bottom < 0 || box.right < 0
        || box.top > innerHeight || box.left > innerWidth) return false;
    const hit = document.elementFromPoint(box.left + box.width / 2, box.top + box.height / 2);
    return hit !== null && (hit === label || label.contains(hit) || hit.contains(label));
  })];
})))
"""
PAGE_TEXT = "document.documentElement.outerHTML"

#: .ci/run sets it: there a missing browser fails the tests instead of skipping them.
REQUIRE_CHROMIUM = os.environ.get("FLOE_REQUIRE_CHROMIUM") == "1"

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(
        chromium_path() is None and not REQUIRE_CHROMIUM,
        reason="chromium is not installed (apt-get install chromium)",
    ),
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


def _watch_for_dialogs(page: Page, seconds: float) -> int:
    """The most dialogs open at once while watching the page for ``seconds``."""
    most = 0
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        most = max(most, int(page.evaluate(DIALOGS) or 0))
        time.sleep(0.25)
    return most


def test_the_first_view_shows_the_asset_graph_with_no_dialog_over_it(
    running_example: str, tmp_path: Path
) -> None:
    with chromium_page(width=1600, height=1000) as page:
        page.navigate(running_example)
        assert not page.wait_for(["Overview"], 120), "the UI did not load"
        overview_dialogs = _watch_for_dialogs(page, DIALOG_WATCH_S)
        page.navigate(f"{running_example}/asset-groups")
        assert not page.wait_for(list(GROUPS), 120), "the asset graph shows no group"
        graph_dialogs = _watch_for_dialogs(page, DIALOG_WATCH_S)
        on_top = page.evaluate(f"{NODES_ON_TOP}({list(GROUPS)!r})")
        text = page.text()
        page.screenshot(tmp_path / "first-view.png")
    assert overview_dialogs == 0, "a dialog opened over the UI's first page"
    assert graph_dialogs == 0, "a dialog opened over the asset graph"
    assert "Join the Dagster community" not in text
    assert on_top == dict.fromkeys(GROUPS, True), f"group nodes hidden or covered: {on_top}"


def test_the_asset_graph_shows_every_asset_of_the_product(
    running_example: str, tmp_path: Path
) -> None:
    with chromium_page(width=1600, height=1000) as page:
        page.navigate(f"{running_example}/asset-groups")
        assert not page.wait_for(["duckdb_heavy", "ingestion"], 120), "the lineage page is empty"
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
            text = str(page.evaluate(PAGE_TEXT))
            missing = [name for name in ASSETS if not _shown(name, text)]
            if not missing or time.monotonic() > deadline:
                break
            time.sleep(0.5)
        time.sleep(3)
        screenshot = tmp_path / "asset-graph.png"
        page.screenshot(screenshot)
    assert not missing, f"assets missing from the asset graph: {sorted(missing)}"
    assert screenshot.stat().st_size > 20_000
    if os.environ.get("FLOE_UPDATE_SCREENSHOT") == "1":
        target = ROOT / "docs" / "images" / "asset-graph.png"
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(screenshot, target)
