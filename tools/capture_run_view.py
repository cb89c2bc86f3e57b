"""Capture ``floe run examples/retail-analytics --wait`` on a real terminal into the docs.

Runs the README's command on a fresh copy of the example inside a detached 120x30 tmux pane
and writes ``docs/images/run-view.txt``: the pane while the run is going (the live status
line) and once it ended (the summary). ``packages/floe-registry/tests/test_run_view.py``
checks that file; ``integration/test_run_view.py`` makes such a capture live.

    .venv/bin/python tools/capture_run_view.py
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
EXAMPLE = ROOT / "examples" / "retail-analytics"
OUT = ROOT / "docs" / "images" / "run-view.txt"
FLOE = Path(sys.executable).parent / "floe"
STATUS = re.compile(r"^[|/\\-] \[[#-]{20}\] (\d+)/\d+ assets ")


def _pane(tmux: str, session: str) -> str:
    done = subprocess.run(
        [tmux, "capture-pane", "-p", "-J", "-t", session],
        capture_output=True,
        text=True,
        check=True,
    )
    return "\n".join(line.rstrip() for line in done.stdout.rstrip().splitlines())


def main() -> int:
    tmux = shutil.which("tmux")
    if tmux is None:
        print("tmux is not installed (apt-get install tmux)", file=sys.stderr)
        return 1
    with tempfile.TemporaryDirectory(prefix="floe-run-view-") as tmp:
        shutil.copytree(
            EXAMPLE,
            Path(tmp) / "examples" / "retail-analytics",
            ignore=shutil.ignore_patterns(".floe", "target", "output", "logs"),
        )
        session = f"floe-capture-{os.getpid()}"
        command = (
            f"cd {tmp} && PS1='$ ' bash --norc -i -c "
            f'\'echo "$ floe run examples/retail-analytics --wait"; '
            f"{FLOE} run examples/retail-analytics --wait; echo FLOE-EXIT=$?; sleep 600'"
        )
        subprocess.run(
            [tmux, "new-session", "-d", "-s", session, "-x", "120", "-y", "30", command],
            check=True,
        )
        live = ""
        try:
            while "FLOE-EXIT=" not in (pane := _pane(tmux, session)):
                lines = pane.splitlines()
                if lines and (match := STATUS.match(lines[-1])) and int(match.group(1)) >= 5:
                    live = live or pane  # the first view with some assets done
                time.sleep(0.3)
            final = pane
        finally:
            subprocess.run([tmux, "kill-session", "-t", session], check=False)
    final = "\n".join(line for line in final.splitlines() if not line.startswith("FLOE-EXIT="))
    OUT.parent.mkdir(parents=True, exist_ok=True)
    OUT.write_text(
        "# floe run in a 120x30 terminal (tmux capture-pane -J; tools/capture_run_view.py),\n"
        "# on a copy of the example in a temporary folder\n"
        "# While the run is going: one status line, redrawn in place\n"
        f"{live}\n"
        "# When it ended: the status line is gone, the summary is on stdout\n"
        f"{final}\n",
        encoding="utf-8",
    )
    print(f"wrote {OUT.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
