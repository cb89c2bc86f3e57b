"""Everyday use of the installed ``floe`` command: ``--version``, times in ``--json``, hints
that name the command actually run, docs that match the commands.

Each behaviour is checked through the installed command (a subprocess, with the workspace's
real plugins) and, where the code runs only in that child otherwise, in-process too.
"""

from __future__ import annotations

import io
import json
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
