"""The docs name only commands the installed ``floe`` has.

Every ``floe <word>`` a user could copy — in a code block or inline code of the README and
``docs/``, the packages' and examples' READMEs, and in quotes or backticks in the packages'
sources (messages in single quotes, docstrings in backticks) — must be a command of
``floe --help``. (A docs page named a ``floe dev`` that never existed.)
"""

from __future__ import annotations

import re
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[3]
FLOE = REPO_ROOT / ".venv" / "bin" / "floe"

_FENCE = re.compile(r"^```.*?^```", re.MULTILINE | re.DOTALL)
_IN_BLOCK = re.compile(r"^\s*(?:\$ )?(?:uv run )?floe ([a-z][a-z_-]*)", re.MULTILINE)
_INLINE = re.compile(r"`(?:uv run )?floe ([a-z][a-z_-]*)")
_QUOTED = re.compile(r"[`'](?:uv run )?floe ([a-z][a-z_-]*)")


def _documents() -> Iterator[Path]:
    yield REPO_ROOT / "README.md"
    yield from sorted((REPO_ROOT / "docs").rglob("*.md"))
    yield from sorted(REPO_ROOT.glob("examples/*/README.md"))
    yield from sorted(REPO_ROOT.glob("packages/*/README.md"))


def _mentions() -> Iterator[tuple[str, str]]:
    """(where, command word) for every ``floe <word>`` a user could copy."""
    for path in _documents():
        text = path.read_text(encoding="utf-8")
        blocks = _FENCE.findall(text)
        for block in blocks:
            for word in _IN_BLOCK.findall(block):
                yield str(path.relative_to(REPO_ROOT)), word
        for word in _INLINE.findall(_FENCE.sub("", text)):
            yield str(path.relative_to(REPO_ROOT)), word
    for path in sorted(REPO_ROOT.glob("packages/*/src/**/*.py")):
        for word in _QUOTED.findall(path.read_text(encoding="utf-8")):
            yield str(path.relative_to(REPO_ROOT)), word


@pytest.fixture(scope="module")
def commands() -> set[str]:
    """The command words of the installed ``floe --help``."""
    if not FLOE.is_file():
        pytest.skip(f"the installed floe command is absent ({FLOE})")
    done = subprocess.run(
        [str(FLOE), "--help"], capture_output=True, text=True, timeout=60, check=True
    )
    listed = done.stdout.split("commands:", 1)[1]
    return set(re.findall(r"^    ([a-z][a-z_-]*)\s", listed, re.MULTILINE))


def test_floe_help_lists_the_commands(commands: set[str]) -> None:
    assert {"init", "compile", "run", "up", "logs", "status", "graph", "impact"} <= commands


def test_every_floe_command_the_docs_name_exists(commands: set[str]) -> None:
    mentions = list(_mentions())
    unknown = sorted({(where, word) for where, word in mentions if word not in commands})

    assert len(mentions) > 100
    assert unknown == [], f"docs name floe commands that do not exist: {unknown}"
