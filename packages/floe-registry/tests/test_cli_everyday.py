"""Everyday use of the installed ``floe`` command: ``--version``, times in ``--json``, hints
that name the command actually run, docs that match the commands.

Each behaviour is checked through the installed command (a subprocess, with the workspace's
real plugins) and, where the code runs only in that child otherwise, in-process too.
"""

from __future__ import annotations

import io
import json
import re
import subprocess
from importlib import metadata
from pathlib import Path

import pytest

from floe_orchestration_core import FLOE_API_VERSION
from floe_registry.cli.app import main

REPO_ROOT = Path(__file__).resolve().parents[3]
FLOE = REPO_ROOT / ".venv" / "bin" / "floe"
EXAMPLE = REPO_ROOT / "examples" / "retail-analytics"


def floe(*args: str, cwd: Path, timeout: float = 180) -> subprocess.CompletedProcess[str]:
    """The installed ``floe`` with ``args`` in ``cwd``."""
    if not FLOE.is_file():
        pytest.skip(f"the installed floe command is absent ({FLOE}); run uv sync")
    return subprocess.run(
        [str(FLOE), *args], cwd=cwd, capture_output=True, text=True, timeout=timeout, check=False
    )


def in_process(*argv: str) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    code = main(list(argv), stdout=out, stderr=err)
    return code, out.getvalue(), err.getvalue()


# --version -------------------------------------------------------------------------------------
def test_version_names_floe_and_every_installed_plugin(tmp_path: Path) -> None:
    result = floe("--version", cwd=tmp_path)

    assert result.returncode == 0, result.stderr
    first, *plugins = result.stdout.splitlines()
    assert first.startswith(f"floe {metadata.version('floe-registry')} ")
    assert f"floe API {FLOE_API_VERSION}" in first
    dagster = f"orchestrator dagster {metadata.version('floe-orchestrator-dagster')} "
    assert any(line.strip().startswith(dagster) for line in plugins), plugins
    assert len(result.stdout.splitlines()) <= 6


def test_version_json_lists_the_plugins_with_their_distributions(tmp_path: Path) -> None:
    after = floe("--version", "--json", cwd=tmp_path)
    before = floe("--json", "--version", cwd=tmp_path)

    assert after.returncode == before.returncode == 0
    data = json.loads(after.stdout)
    assert data == json.loads(before.stdout)
    assert data["floe"] == metadata.version("floe-registry")
    assert data["floe_api_version"] == FLOE_API_VERSION
    dagster = next(p for p in data["plugins"] if p["name"] == "dagster")
    assert dagster == {
        "kind": "orchestrator",
        "name": "dagster",
        "version": metadata.version("floe-orchestrator-dagster"),
        "distribution": "floe-orchestrator-dagster",
        "floe_api_version": FLOE_API_VERSION,
        "compatible": True,
    }


def test_version_wins_over_a_command() -> None:
    code, out, _ = in_process("--version", "--json", "plugins", "list")

    assert code == 0
    assert set(json.loads(out)) == {"floe", "core", "floe_api_version", "python", "plugins"}


def test_version_reads_metadata_only_and_imports_no_plugin(tmp_path: Path) -> None:
    python = FLOE.parent / "python"
    script = (
        "import io, sys\n"
        "from floe_registry.cli.app import main\n"
        "assert main(['--version'], stdout=io.StringIO()) == 0\n"
        "print(sorted(m for m in sys.modules if m.startswith(('floe_orchestrator', "
        "'floe_lineage', 'pydantic', 'dagster'))))\n"
    )
    result = subprocess.run(
        [str(python), "-c", script], capture_output=True, text=True, timeout=60, check=False
    )

    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "[]"


# graph export and impact: sources and Python assets, by kind ----------------------------------
@pytest.fixture
def shop_artifacts(tmp_path: Path) -> Path:
    from floe_orchestration_core.artifacts import PythonAssetConfig
    from floe_orchestration_core.testing.factories import (
        make_artifacts,
        make_source,
        make_transform,
    )

    def asset(name: str, kind: str, **fields: object) -> PythonAssetConfig:
        return PythonAssetConfig.model_validate(
            {"name": name, "kind": kind, "function": f"pipeline/{name}.py:run", **fields}
        )

    artifacts = make_artifacts(
        [
            make_transform("stg_orders", source_dependencies=("raw.orders",)),
            make_transform("orders", depends_on=["stg_orders"]),
        ],
        sources=(make_source("raw.orders"),),
        python_assets=(
            asset("ingest_orders", "ingestion", produces=["raw.orders"]),
            asset("publish_report", "publication", depends_on=["orders"]),
        ),
    )
    path = tmp_path / "compiled_artifacts.json"
    path.write_text(artifacts.to_json(), encoding="utf-8")
    return path


def test_graph_export_json_holds_sources_and_python_assets_with_their_kind(
    shop_artifacts: Path,
) -> None:
    result = floe("graph", "export", "--artifacts", str(shop_artifacts), cwd=shop_artifacts.parent)

    assert result.returncode == 0, result.stderr
    document = json.loads(result.stdout)
    kinds = {node["name"]: (node["type"], node["kind"]) for node in document["nodes"]}
    assert kinds == {
        "raw.orders": ("source", "source"),
        "ingest_orders": ("python_asset", "ingestion"),
        "publish_report": ("python_asset", "publication"),
        "stg_orders": ("transform", "model"),
        "orders": ("transform", "model"),
    }
    assert ["ingest_orders", "raw.orders"] in document["edges"]
    assert ["raw.orders", "stg_orders"] in document["edges"]
    assert ["orders", "publish_report"] in document["edges"]


@pytest.mark.parametrize(
    ("fmt", "source", "python_asset", "edge"),
    [
        (
            "mermaid",
            't_raw_orders[("raw.orders")]:::source',
            't_ingest_orders[["ingest_orders"]]:::ingestion',
            "t_ingest_orders --> t_raw_orders",
        ),
        (
            "dot",
            '"raw.orders" [shape=cylinder, tooltip="source"];',
            '"publish_report" [shape=component, tooltip="python asset (publication)"];',
            '"orders" -> "publish_report";',
        ),
    ],
)
def test_graph_export_draws_sources_and_python_assets_in_mermaid_and_dot(
    shop_artifacts: Path, fmt: str, source: str, python_asset: str, edge: str
) -> None:
    output = shop_artifacts.parent / f"graph.{fmt}"
    result = floe(
        "graph",
        "export",
        "--artifacts",
        str(shop_artifacts),
        "--format",
        fmt,
        "-o",
        str(output),
        cwd=shop_artifacts.parent,
    )

    assert result.returncode == 0, result.stderr
    text = output.read_text(encoding="utf-8")
    assert source in text
    assert python_asset in text
    assert edge in text


def test_impact_of_a_source_lists_transforms_and_python_assets_with_their_kind(
    shop_artifacts: Path,
) -> None:
    human = floe(
        "impact", "raw.orders", "--artifacts", str(shop_artifacts), cwd=shop_artifacts.parent
    )
    machine = floe(
        "impact",
        "raw.orders",
        "--artifacts",
        str(shop_artifacts),
        "--json",
        cwd=shop_artifacts.parent,
    )

    assert human.returncode == machine.returncode == 0
    assert re.search(r"3\s+publish_report\s+publication", human.stdout), human.stdout
    data = json.loads(machine.stdout)
    assert data["impacted"] == {"stg_orders": 1, "orders": 2, "publish_report": 3}
    assert data["nodes"][-1] == {
        "name": "publish_report",
        "type": "python_asset",
        "kind": "publication",
        "distance": 3,
    }


def test_impact_of_an_unknown_asset_names_the_close_python_asset(shop_artifacts: Path) -> None:
    result = floe(
        "impact", "ingest_ordrs", "--artifacts", str(shop_artifacts), cwd=shop_artifacts.parent
    )

    assert result.returncode == 2
    assert "did you mean 'ingest_orders'" in result.stderr


def test_impact_in_process_lists_downstream_python_assets(shop_artifacts: Path) -> None:
    code, out, _ = in_process("impact", "stg_orders", "--artifacts", str(shop_artifacts))

    assert code == 0
    assert "2 asset(s) downstream of 'stg_orders'" in out
    assert "publish_report" in out


# line numbers in YAML schema errors -----------------------------------------------------------
def test_a_floe_yaml_schema_error_names_the_line_of_each_field(tmp_path: Path) -> None:
    (tmp_path / "floe.yaml").write_text(
        "name: shop\n"
        "compute:\n"
        "  targets:\n"
        "    duckdb: {type: duckdb, threads: 0}\n"
        "schedules:\n"
        "  - name: nightly\n"
        "    cron: '0 2 * * *'\n"
        "    select: '*'\n"
        "    timezone: Mars/Base\n",
        encoding="utf-8",
    )
    result = floe("run", str(tmp_path), cwd=tmp_path)

    assert result.returncode == 2
    assert "  line 4: compute.targets.duckdb.threads: " in result.stderr
    assert "  line 9: schedules[0].timezone: unknown timezone 'Mars/Base'" in result.stderr


def test_a_manifest_yaml_schema_error_names_the_line_of_each_field(tmp_path: Path) -> None:
    manifest = tmp_path / "manifest.yaml"
    manifest.write_text(
        "orchestrator: dagster\n# storage below\nstorage:\n  type: sqlite\n  pth: x\n",
        encoding="utf-8",
    )
    result = floe("helm", "values", "--manifest", str(manifest), "--json", cwd=tmp_path)

    assert result.returncode == 2
    error = json.loads(result.stderr)["error"]
    assert "  line 5: storage.pth: unknown key; allowed keys here: type, path" in error["message"]
    assert error["problems"] == [["storage.pth", "unknown key; allowed keys here: type, path"]]


# selectors that match nothing -------------------------------------------------------------------
def test_a_floe_yaml_selector_typo_names_the_close_transform(
    tmp_path: Path, corpus_manifest: Path
) -> None:
    (tmp_path / "floe.yaml").write_text(
        "name: jaffle\nschedules:\n"
        "  - {name: nightly, cron: '0 2 * * *', select: '+stg_ordrs tag:nope'}\n",
        encoding="utf-8",
    )
    result = floe(
        "compile", "--dbt-manifest", str(corpus_manifest), "--product", "floe.yaml",
        "-o", "out.json", cwd=tmp_path,
    )  # fmt: skip

    assert result.returncode == 2
    assert "'+stg_ordrs' matches no transform; did you mean '+stg_orders'" in result.stderr
    assert "'tag:nope' matches no transform" in result.stderr


# hints that name the command run ----------------------------------------------------------------
@pytest.mark.parametrize("command", ["up", "run", "status", "down", "logs"])
def test_a_missing_product_folder_hint_names_the_command_run(tmp_path: Path, command: str) -> None:
    args = [command, "abc"] if command == "logs" else [command]
    result = floe(*args, str(tmp_path / "no-such-product"), cwd=tmp_path)

    assert result.returncode == 2
    assert f"e.g. 'floe {command} examples/retail-analytics'" in result.stderr


def test_check_connection_to_nothing_suggests_floe_up(tmp_path: Path) -> None:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    result = floe("check", "connection", "--url", f"http://127.0.0.1:{port}", cwd=tmp_path)

    assert result.returncode == 1
    assert f"start it with `floe up PRODUCT_DIR --port {port}`" in result.stdout + result.stderr
    assert "dagster-webserver" not in result.stdout + result.stderr


# ISO 8601 in --json ---------------------------------------------------------------------------
def test_json_output_writes_times_in_iso_8601() -> None:
    from datetime import UTC, date, datetime

    from floe_registry.cli.command import json_value

    assert json_value(datetime(2026, 12, 7, 19, 51, 58, tzinfo=UTC)) == "2026-12-07T19:51:58+00:00"
    assert json_value(date(2026, 12, 7)) == "2026-12-07"
    assert json_value(Path("a/b")) == "a/b"
