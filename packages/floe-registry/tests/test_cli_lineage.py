"""``floe lineage export``: design-time lineage of compiled artifacts as JSON Lines events."""

from __future__ import annotations

import importlib.metadata
import importlib.util
import io
import json
import re
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest

from floe_registry.cli.app import main

REPO_ROOT = Path(__file__).resolve().parents[3]
JAFFLE = REPO_ROOT / "examples" / "jaffle-shop"
OL_VALIDATE = REPO_ROOT.parent / "shared" / "tools" / "ol_validate.py"
ENTRY_POINT = "floe_lineage_openlineage.backend:OpenLineageBackend [floe-api-1.0]"


def _run(*argv: str) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    code = main(list(argv), stdout=out, stderr=err)
    return code, out.getvalue(), err.getvalue()


@pytest.fixture
def openlineage_plugin(fake_dists: Any) -> None:
    """The ``openlineage`` backend discoverable by its entry point.

    Until the workspace is re-synced after the entry point was added to
    floe-lineage-openlineage's pyproject, the installed metadata lacks it: a fake
    distribution then declares the same entry point on the real module.
    """
    installed = importlib.metadata.entry_points(group="floe.lineage_backends")
    if not any(ep.name == "openlineage" for ep in installed):
        fake_dists.add(
            "floe-lineage-openlineage-entry-point",
            "0.1.0",
            {"floe.lineage_backends": {"openlineage": ENTRY_POINT}},
        )


@pytest.fixture
def jaffle_artifacts(tmp_path: Path) -> Path:
    manifest = JAFFLE / "target" / "manifest.json"
    if not manifest.is_file():
        pytest.skip(f"the example's manifest is absent ({manifest})")
    output = tmp_path / "compiled_artifacts.json"
    code, _, err = _run(
        "compile",
        "--dbt-manifest",
        str(manifest),
        "--product",
        str(JAFFLE / "floe.yaml"),
        "-o",
        str(output),
    )
    assert code == 0, err
    return output


def _validator(monkeypatch: pytest.MonkeyPatch) -> Any:
    """ol_validate with real format checks (strict stand-ins without format-nongpl)."""
    if not OL_VALIDATE.is_file():
        pytest.skip(f"the shared OpenLineage validator is absent ({OL_VALIDATE})")
    from jsonschema import Draft202012Validator, FormatChecker

    checker = Draft202012Validator.FORMAT_CHECKER
    if checker.conforms("yesterday", "date-time") or checker.conforms("not a uri", "uri"):
        rfc3339 = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$")
        uri = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*:[A-Za-z0-9\-._~:/?#\[\]@!$&'()*+,;=%]*$")

        def date_time(value: object) -> bool:
            if not isinstance(value, str):
                return True
            if not rfc3339.match(value):
                return False
            datetime.fromisoformat(value)
            return True

        strict = FormatChecker()
        strict.checkers = dict(checker.checkers)
        strict.checks("date-time")(date_time)
        strict.checks("uri")(lambda v: not isinstance(v, str) or bool(uri.match(v)))
        monkeypatch.setattr(Draft202012Validator, "FORMAT_CHECKER", strict)
    spec = importlib.util.spec_from_file_location("ol_validate", OL_VALIDATE)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.mark.usefixtures("openlineage_plugin")
def test_the_jaffle_shop_exports_one_valid_job_event_per_model(
    jaffle_artifacts: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    output = tmp_path / "lineage" / "design.jsonl"
    code, out, err = _run(
        "lineage", "export", "--artifacts", str(jaffle_artifacts), "-o", str(output)
    )
    assert code == 0, err
    events = [json.loads(line) for line in output.read_text().splitlines()]
    artifacts = json.loads(jaffle_artifacts.read_text())
    models = [t["name"] for t in artifacts["transforms"] if t["materialization"] != "ephemeral"]
    assert sorted(e["job"]["name"] for e in events) == sorted(
        f"jaffle-shop.model.{name}" for name in models
    )
    assert {e["job"]["namespace"] for e in events} == {"jaffle_shop"}
    assert all("eventType" not in e and "run" not in e for e in events)
    assert all(e["schemaURL"].endswith("#/$defs/JobEvent") for e in events)
    orders = next(e for e in events if e["job"]["name"] == "jaffle-shop.model.orders")
    assert {d["name"].rsplit(".", 1)[-1] for d in orders["inputs"]} >= {"stg_orders"}
    assert orders["outputs"][0]["facets"]["schema"]["fields"]
    assert f"wrote {len(events)} openlineage event(s)" in out
    count, bad, problems = _validator(monkeypatch).validate([output])
    assert (count, bad) == (len(events), 0), problems


@pytest.mark.usefixtures("openlineage_plugin")
def test_export_to_stdout_writes_json_lines_and_takes_a_namespace(jaffle_artifacts: Path) -> None:
    code, out, err = _run(
        "lineage", "export", "--artifacts", str(jaffle_artifacts), "--namespace", "catalog"
    )
    assert code == 0, err
    lines = out.splitlines()
    assert len(lines) == 13
    assert {json.loads(line)["job"]["namespace"] for line in lines} == {"catalog"}


def test_a_backend_that_cannot_export_is_a_usage_error(
    jaffle_artifacts: Path, fake_dists: Any
) -> None:
    fake_dists.lineage_backend("plain")
    code, out, err = _run(
        "lineage", "export", "--artifacts", str(jaffle_artifacts), "--format", "plain"
    )
    assert code == 2
    assert out == ""
    assert "cannot export design-time lineage" in err


def test_an_unknown_format_lists_the_installed_backends(jaffle_artifacts: Path) -> None:
    code, _, err = _run(
        "lineage", "export", "--artifacts", str(jaffle_artifacts), "--format", "nope"
    )
    assert code == 2
    assert "nope" in err


def test_missing_artifacts_are_a_usage_error(tmp_path: Path) -> None:
    code, _, err = _run("lineage", "export", "--artifacts", str(tmp_path / "absent.json"))
    assert code == 2
    assert "absent.json" in err


# --- floe lineage flush ----------------------------------------------------------------------
class _Receiver:
    """A local HTTP endpoint recording every POSTed event (status settable)."""

    def __init__(self) -> None:
        import http.server
        import threading

        self.events: list[dict[str, Any]] = []
        receiver = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("content-length", "0")))
                receiver.events.append(json.loads(body))
                self.send_response(200)
                self.send_header("content-length", "0")
                self.end_headers()

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, args=(0.05,), daemon=True).start()

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def _refused_url() -> str:
    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return f"http://127.0.0.1:{probe.getsockname()[1]}"


def _product(folder: Path, url: str) -> Path:
    folder.mkdir(exist_ok=True)
    (folder / "manifest.yaml").write_text(
        "orchestrator: dagster\n"
        "lineage:\n"
        "  type: openlineage\n"
        "  config:\n"
        f"    transport: {{type: http, url: '{url}', timeout: 1.0}}\n"
        "    flush_timeout: 0.2\n"
        "    retry_backoff: 0.05\n"
    )
    return folder


@pytest.mark.usefixtures("openlineage_plugin")
def test_flush_delivers_what_a_run_spooled_in_order_then_has_nothing_left(
    tmp_path: Path,
) -> None:
    from floe_orchestration_core.lineage import RunState, new_run_id
    from floe_orchestration_core.runtime import STATE_DIR_NAME
    from floe_orchestration_core.testing import sample_event
    from floe_registry.platform import load_platform

    product = _product(tmp_path / "shop", _refused_url())
    platform = load_platform(product / "manifest.yaml", state_dir=product / STATE_DIR_NAME)
    run_ids = [new_run_id() for _ in range(5)]
    for run_id in run_ids:
        platform.lineage_backend.emit(sample_event(RunState.START, run_id=run_id))
        platform.lineage_backend.emit(sample_event(RunState.COMPLETE, run_id=run_id))
    assert platform.close() is False  # undelivered: spooled
    assert platform.lineage_backend.stats().spooled == 10

    code, out, err = _run("lineage", "flush", str(product), "--timeout", "2", "--json")
    assert code == 1, err  # still unreachable: the events remain
    assert json.loads(out)["remaining"] == 10

    receiver = _Receiver()
    try:
        _product(product, receiver.url)
        code, out, err = _run("lineage", "flush", str(product))
        assert code == 0, err
        assert "delivered 10 spooled lineage event(s)" in out
        assert "0 remain" in out
        assert [(e["run"]["runId"], e["eventType"]) for e in receiver.events] == [
            (str(r), s) for r in run_ids for s in ("START", "COMPLETE")
        ]
        code, out, _ = _run("lineage", "flush", str(product), "--json")
        assert (code, json.loads(out)["remaining"]) == (0, 0)
        assert len(receiver.events) == 10  # nothing sent twice
    finally:
        receiver.stop()


def test_flush_without_a_lineage_backend_has_nothing_to_deliver(tmp_path: Path) -> None:
    (tmp_path / "manifest.yaml").write_text("orchestrator: dagster\n")
    code, out, _ = _run("lineage", "flush", str(tmp_path))
    assert code == 0
    assert "keeps no spool" in out
    code, _, err = _run("lineage", "flush", str(tmp_path), "--timeout", "0")
    assert code == 2
    assert "--timeout must be" in err


def test_the_run_summary_says_what_became_of_the_run_s_lineage_events() -> None:
    from floe_orchestration_core.runtime import LineageCounts, RunSummary
    from floe_registry.cli.commands.runtime import _summary_text

    def text(counts: LineageCounts | None) -> str:
        summary = RunSummary(run_id="r", status="success", where="in-process", lineage=counts)
        return _summary_text(summary, "shop")

    assert "lineage" not in text(None)  # emitted by the services: not this process's to count
    assert "lineage: 74 event(s), all delivered" in text(LineageCounts(74, 74, 0, 0))
    partial = text(LineageCounts(74, 10, 63, 1))
    assert "lineage: 74 event(s): 10 delivered, 63 spooled, 1 dropped" in partial
    assert "'floe lineage flush shop'" in partial
    assert "shop/.floe/lineage/spool" in partial
    assert "spooled ones" not in text(LineageCounts(2, 1, 0, 1))
