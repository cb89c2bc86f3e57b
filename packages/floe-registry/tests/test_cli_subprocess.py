"""The installed ``floe`` command, run as a subprocess: exit codes, output, --json parses.

Plugins are provided by fake distributions on PYTHONPATH whose entry points name the core's
in-memory reference adapter, so every command runs against a real (if small) orchestrator.
"""

from __future__ import annotations

import http.server
import json
import socket
import subprocess
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from floe_orchestration_core.testing.factories import make_artifacts, make_transform

if TYPE_CHECKING:
    from conftest import FakeDistributions


@dataclass
class Result:
    code: int
    stdout: str
    stderr: str

    def json(self) -> Any:
        return json.loads(self.stdout)


@dataclass
class Floe:
    executable: Path
    cwd: Path
    env: dict[str, str]

    def __call__(self, *args: str) -> Result:
        done = subprocess.run(
            [str(self.executable), *args],
            cwd=self.cwd,
            env=self.env,
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
        return Result(done.returncode, done.stdout, done.stderr)


@pytest.fixture(scope="session")
def bytecode_cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("pycache")


@pytest.fixture
def floe(
    floe_command: Path,
    fake_dists: FakeDistributions,
    tmp_path: Path,
    bytecode_cache: Path,
) -> Floe:
    fake_dists.add(
        "floe-test-plugins",
        "9.9.9",
        {
            "floe.orchestrators": {
                "in_memory": "floe_orchestration_core.testing.fakes:InMemoryOrchestrator "
                "[floe-api-1.0]"
            },
            "floe.lineage_backends": {
                "in_memory": "floe_orchestration_core.testing.fakes:InMemoryLineageBackend "
                "[floe-api-1.0]"
            },
        },
    )
    work = tmp_path / "work"
    work.mkdir()
    (work / "manifest.yaml").write_text(
        "orchestrator: in_memory\nlineage: in_memory\n", encoding="utf-8"
    )
    env = fake_dists.env
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    env["PYTHONPYCACHEPREFIX"] = str(bytecode_cache)
    return Floe(floe_command, work, env)


@pytest.fixture
def artifacts(floe: Floe) -> Path:
    path = floe.cwd / "compiled_artifacts.json"
    transforms = [
        make_transform("stg_orders"),
        make_transform("orders", depends_on=["stg_orders"]),
        make_transform("revenue", depends_on=["orders"]),
    ]
    path.write_text(make_artifacts(transforms).to_json(), encoding="utf-8")
    return path


@pytest.fixture
def cyclic_artifacts(floe: Floe) -> Path:
    path = floe.cwd / "cyclic.json"
    transforms = [make_transform("a", depends_on=["b"]), make_transform("b", depends_on=["a"])]
    path.write_text(make_artifacts(transforms).to_json(), encoding="utf-8")
    return path


COMMAND_WORDS = [
    [],
    ["plugins"],
    ["plugins", "list"],
    ["compile"],
    ["validate"],
    ["graph", "export"],
    ["impact"],
    ["schedule", "preview"],
    ["helm", "values"],
    ["check", "connection"],
]


@pytest.mark.parametrize("words", COMMAND_WORDS, ids=lambda w: " ".join(w) or "floe")
def test_every_command_has_help_and_exits_zero(floe: Floe, words: list[str]) -> None:
    result = floe(*words, "--help")

    assert result.code == 0
    assert result.stdout.startswith("usage: floe")


def test_group_without_a_command_prints_help_and_exits_two(floe: Floe) -> None:
    result = floe("graph")

    assert result.code == 2
    assert "export" in result.stderr


def test_missing_required_argument_is_a_usage_error(floe: Floe) -> None:
    result = floe("compile")

    assert result.code == 2
    assert "--dbt-manifest" in result.stderr


def test_plugins_list_shows_installed_plugins(floe: Floe) -> None:
    result = floe("plugins", "list")

    assert result.code == 0
    assert "in_memory" in result.stdout
    assert "floe-test-plugins" in result.stdout
    assert "orchestrator" in result.stdout
    assert "lineage_backend" in result.stdout


def test_plugins_list_json_parses_with_every_column(floe: Floe) -> None:
    result = floe("plugins", "list", "--json")

    assert result.code == 0
    data = result.json()
    assert data["platform_api_version"] == "1.0"
    [orchestrator] = [
        p for p in data["plugins"] if p["kind"] == "orchestrator" and p["name"] == "in_memory"
    ]
    assert orchestrator == {
        "kind": "orchestrator",
        "name": "in_memory",
        "version": "9.9.9",
        "floe_api_version": "1.0",
        "distribution": "floe-test-plugins",
        "target": "floe_orchestration_core.testing.fakes:InMemoryOrchestrator",
        "compatible": True,
        "problem": None,
    }


def test_listing_in_a_fresh_interpreter_imports_no_plugin_and_no_pydantic(
    floe: Floe, fake_dists: FakeDistributions
) -> None:
    module = fake_dists.orchestrator("probe")
    python = floe.executable.parent / "python"
    code = (
        "import sys, json; from floe_registry.discovery import list_plugins; "
        "names = [p.name for p in list_plugins()]; "
        f"print(json.dumps([names, {module!r} in sys.modules, 'pydantic' in sys.modules]))"
    )
    done = subprocess.run(
        [str(python), "-c", code], env=floe.env, capture_output=True, text=True, check=True
    )

    names, module_imported, pydantic_imported = json.loads(done.stdout)
    assert {"in_memory", "probe"} <= set(names)
    assert module_imported is False
    assert pydantic_imported is False


def test_compile_runs_with_only_a_dbt_manifest(floe: Floe, corpus_manifest: Path) -> None:
    result = floe("compile", "--dbt-manifest", str(corpus_manifest), "--json")

    assert result.code == 0, result.stderr
    summary = result.json()
    assert summary["output"] == "compiled_artifacts.json"
    assert summary["transforms"] > 0
    written = json.loads((floe.cwd / "compiled_artifacts.json").read_text(encoding="utf-8"))
    assert written["schema_version"] == "2.1.0"
    assert floe("validate", "--artifacts", "compiled_artifacts.json").code == 0


def test_compile_to_stdout_prints_the_artifacts(floe: Floe, corpus_manifest: Path) -> None:
    result = floe("compile", "--dbt-manifest", str(corpus_manifest), "-o", "-")

    assert result.code == 0
    assert json.loads(result.stdout)["schema_version"] == "2.1.0"


def test_compile_of_a_missing_manifest_is_an_input_error_without_traceback(floe: Floe) -> None:
    result = floe("compile", "--dbt-manifest", "nope/manifest.json")

    assert result.code == 2
    assert "nope/manifest.json" in result.stderr
    assert "Traceback" not in result.stderr


def test_debug_shows_the_traceback(floe: Floe) -> None:
    result = floe("compile", "--dbt-manifest", "nope/manifest.json", "--debug")

    assert result.code == 2
    assert "Traceback" in result.stderr


def test_validate_of_valid_artifacts_exits_zero(floe: Floe, artifacts: Path) -> None:
    result = floe("validate", "--artifacts", str(artifacts), "--json")

    assert result.code == 0
    assert result.json()["valid"] is True
    assert result.json()["transforms"] == 3


def test_validate_of_a_cycle_exits_one_naming_the_models(
    floe: Floe, cyclic_artifacts: Path
) -> None:
    human = floe("validate", "--artifacts", str(cyclic_artifacts))
    machine = floe("validate", "--artifacts", str(cyclic_artifacts), "--json")

    assert human.code == 1
    assert machine.code == 1
    assert "a -> b -> a" in human.stdout
    data = machine.json()
    assert data["valid"] is False
    assert data["kind"] == "graph"
    assert data["problems"]


def test_validate_of_schema_problems_exits_one_with_json_paths(floe: Floe) -> None:
    bad = floe.cwd / "bad.json"
    data = json.loads(make_artifacts([make_transform("x")]).to_json())
    del data["transforms"][0]["materialization"]
    bad.write_text(json.dumps(data), encoding="utf-8")

    result = floe("validate", "--artifacts", str(bad), "--json")

    assert result.code == 1
    assert {"path": "transforms[0].materialization", "message": "Field required"} in result.json()[
        "problems"
    ]


def test_validate_of_a_missing_file_is_an_input_error(floe: Floe) -> None:
    result = floe("validate", "--artifacts", "absent.json", "--json")

    assert result.code == 2
    assert result.stdout == ""
    error = json.loads(result.stderr)["error"]
    assert error["type"] == "ArtifactsError"
    assert "absent.json" in error["message"]


@pytest.mark.parametrize(
    ("fmt", "expected"), [("json", '"nodes"'), ("mermaid", "flowchart"), ("dot", "digraph")]
)
def test_graph_export_writes_each_format(
    floe: Floe, artifacts: Path, fmt: str, expected: str
) -> None:
    result = floe("graph", "export", "--artifacts", str(artifacts), "--format", fmt)

    assert result.code == 0
    assert expected in result.stdout
    if fmt == "json":
        assert len(json.loads(result.stdout)["nodes"]) == 3


def test_graph_export_of_a_cycle_is_an_input_error(floe: Floe, cyclic_artifacts: Path) -> None:
    assert floe("graph", "export", "--artifacts", str(cyclic_artifacts)).code == 2


def test_impact_lists_downstream_transforms_by_distance(floe: Floe, artifacts: Path) -> None:
    human = floe("impact", "stg_orders", "--artifacts", str(artifacts))
    machine = floe("impact", "stg_orders", "--artifacts", str(artifacts), "--json")

    assert human.code == 0
    assert "revenue" in human.stdout
    assert machine.json()["impacted"] == {"orders": 1, "revenue": 2}
    assert machine.json()["model"] == "stg_orders"


def test_impact_of_an_unknown_model_is_an_input_error(floe: Floe, artifacts: Path) -> None:
    result = floe("impact", "ordrs", "--artifacts", str(artifacts))

    assert result.code == 2
    assert "ordrs" in result.stderr


def test_schedule_preview_marks_the_dst_shifted_run(floe: Floe) -> None:
    args = ["30 2 * * *", "--timezone", "America/New_York", "--start", "2026-03-07"]
    human = floe("schedule", "preview", *args, "--count", "3")
    machine = floe("schedule", "preview", *args, "--count", "3", "--json")

    assert human.code == 0
    assert "shifted" in human.stdout
    runs = machine.json()["fire_times"]
    assert [r["shifted"] for r in runs] == [False, True, False]
    assert runs[1]["local"] == "2026-03-08T03:00:00-04:00"
    assert runs[1]["utc"] == "2026-03-08T07:00:00+00:00"


def test_schedule_preview_marks_skipped_hourly_wall_times(floe: Floe) -> None:
    result = floe(
        "schedule", "preview", "0 * * * *", "--timezone", "America/New_York",
        "--start", "2026-03-08T00:30", "--count", "3", "--json",
    )  # fmt: skip

    assert result.code == 0
    assert [r["skipped_before"] for r in result.json()["fire_times"]] == [False, True, False]


@pytest.mark.parametrize(
    ("args", "needle"),
    [
        (["bad cron"], "cron"),
        (["0 0 * * *", "--timezone", "Europe/Pari"], "Europe/Paris"),
        (["0 0 * * *", "--count", "0"], "1-1000"),
        (["0 0 * * *", "--start", "yesterday"], "ISO-8601"),
    ],
)
def test_schedule_preview_input_errors_exit_two(floe: Floe, args: list[str], needle: str) -> None:
    result = floe("schedule", "preview", *args)

    assert result.code == 2
    assert needle in result.stderr


def test_helm_values_come_from_the_selected_orchestrator(floe: Floe) -> None:
    human = floe("helm", "values", "--size", "small")
    machine = floe("helm", "values", "--size", "small", "--json")

    assert human.code == 0
    assert "size: small" in human.stdout
    assert machine.json()["size"] == "small"


def test_helm_values_with_an_unknown_size_lists_valid_sizes(floe: Floe) -> None:
    result = floe("helm", "values", "--size", "huge")

    assert result.code == 2
    assert "small" in result.stderr
    assert "large" in result.stderr


def test_orchestrator_commands_use_the_manifest_option(floe: Floe) -> None:
    other = floe.cwd / "other.yaml"
    other.write_text("orchestrator: airflow\n", encoding="utf-8")

    result = floe("helm", "values", "--manifest", str(other))

    assert result.code == 2
    assert "no orchestrator plugin named 'airflow'" in result.stderr
    assert "in_memory 9.9.9" in result.stderr


def test_invalid_manifest_is_an_input_error_naming_the_field(floe: Floe) -> None:
    (floe.cwd / "manifest.yaml").write_text(
        "orchestrator: in_memory\nstorage: {type: mysql}\n", encoding="utf-8"
    )

    result = floe("check", "connection", "--json")

    assert result.code == 2
    error = json.loads(result.stderr)["error"]
    assert error["type"] == "ManifestError"
    assert ["storage", "expected one of: sqlite, postgres; got 'mysql'"] in error["problems"]


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
    return port


def test_check_connection_to_a_down_server_exits_one(floe: Floe) -> None:
    url = f"http://127.0.0.1:{_closed_port()}"

    result = floe("check", "connection", "--url", url, "--timeout", "3", "--json")

    assert result.code == 1
    data = result.json()
    assert data["success"] is False
    assert url in data["message"]


class _ServerInfo(http.server.BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        body = json.dumps({"version": "1.2.3"}).encode()
        self.send_response(200 if self.path == "/server_info" else 404)
        self.send_header("Content-Type", "application/json")
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: Any) -> None:
        return


@pytest.fixture
def orchestrator_server() -> Iterator[str]:
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _ServerInfo)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def test_check_connection_to_a_live_server_exits_zero(floe: Floe, orchestrator_server: str) -> None:
    result = floe("check", "connection", "--url", orchestrator_server)

    assert result.code == 0
    assert result.stdout.startswith("ok:")
    assert "1.2.3" in result.stdout
