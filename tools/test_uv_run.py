"""`uv run floe …` on an up-to-date environment is quiet and keeps the compiled bytecode.

With `compile-bytecode = true` in the root pyproject, uv recompiled the whole site-packages
after every sync, changed or not, and printed "Bytecode compiled 8748 files" before each
command. The environment is now compiled once (`uv sync --compile-bytecode`, as nox's
sessions do) and `uv run` leaves the `.pyc` files alone.

The test runs `uv run` on the environment running it (`UV_PROJECT_ENVIRONMENT`), only when a
dry run says uv would change nothing there: it must never re-sync the environment under the
test run (the `tests_dagster` session installs other Dagster versions over the lock).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
UV = shutil.which("uv")
SYNC_ARGS = ("--frozen", "--all-packages", "--group", "dev")


def _uv(*args: str) -> subprocess.CompletedProcess[str]:
    assert UV is not None
    environment = {**os.environ, "UV_PROJECT_ENVIRONMENT": sys.prefix, "NO_COLOR": "1"}
    return subprocess.run(
        [UV, *args],
        cwd=ROOT,
        env=environment,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def _compiled_files() -> int:
    return sum(1 for _ in Path(sys.prefix).glob("lib/python3*/site-packages/**/*.pyc"))


def test_the_workspace_does_not_ask_uv_to_compile_on_every_sync() -> None:
    settings = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    assert "compile-bytecode" not in settings["tool"]["uv"]
    assert not (ROOT / "uv.toml").exists()


@pytest.mark.skipif(UV is None, reason="uv is not on PATH")
def test_uv_run_prints_no_bytecode_line_and_keeps_the_compiled_files() -> None:
    dry_run = _uv("sync", "--dry-run", *SYNC_ARGS)
    if dry_run.returncode != 0 or "Would make no changes" not in dry_run.stderr:
        pytest.skip(f"this environment differs from uv.lock: {dry_run.stderr.strip()[-300:]}")
    before = _compiled_files()
    result = _uv("run", *SYNC_ARGS, "floe", "--version")
    assert result.returncode == 0, result.stderr
    assert "Bytecode compiled" not in result.stderr
    assert result.stderr == ""
    assert result.stdout.startswith("floe ")
    assert _compiled_files() >= before
