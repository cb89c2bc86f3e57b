"""A rendered container run as a local process: its command, arguments and environment, with
only what ties it to a cluster rewritten (listen address, ports, paths of mounted volumes,
Secret references), in a process group of its own that :meth:`LocalContainer.stop` empties.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Mapping, Sequence
from contextlib import suppress
from pathlib import Path
from types import TracebackType
from typing import Any, Self

from harness import group_alive

__all__ = ["LocalContainer", "rendered_env", "replace_flag"]

BIN = Path(sys.executable).parent


def replace_flag(command: Sequence[str], flag: str, value: str) -> list[str]:
    """``command`` with the value after ``flag`` replaced; the flag must occur exactly once."""
    assert list(command).count(flag) == 1, f"{flag} in {list(command)}"
    index = list(command).index(flag)
    return [*command[: index + 1], value, *command[index + 2 :]]


def rendered_env(
    container: Mapping[str, Any], *, secrets: Mapping[str, str], paths: Mapping[str, str]
) -> dict[str, str]:
    """The container's ``env``: literal values (a pod path in ``paths`` mapped to its local
    folder) and values from a Secret (``secrets`` by variable name; a missing one fails)."""
    env: dict[str, str] = {}
    for variable in container.get("env") or []:
        name = variable["name"]
        if "valueFrom" in variable:
            assert "secretKeyRef" in variable["valueFrom"], variable
            env[name] = secrets[name]
        else:
            env[name] = paths.get(variable["value"], variable["value"])
    return env


class LocalContainer:
    """A command started in its own session (process group); leaving the context stops the
    whole group (SIGTERM, a bounded wait, SIGKILL) and checks that nothing of it is left."""

    def __init__(
        self, command: Sequence[str], *, cwd: Path, env: Mapping[str, str], log: Path
    ) -> None:
        self.command = [str(BIN / command[0]), *command[1:]]
        self.cwd = cwd
        self.env = {**os.environ, **env, "PATH": f"{BIN}{os.pathsep}{os.environ['PATH']}"}
        self.log = log
        self.process: subprocess.Popen[bytes] | None = None

    def __enter__(self) -> Self:
        with self.log.open("wb") as out:
            self.process = subprocess.Popen(
                self.command,
                cwd=self.cwd,
                env=self.env,
                stdout=out,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                start_new_session=True,
            )
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.stop()

    @property
    def group(self) -> int:
        assert self.process is not None, "not started"
        return self.process.pid

    def alive(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def log_tail(self, characters: int = 5000) -> str:
        return self.log.read_text(encoding="utf-8", errors="replace")[-characters:]

    def stop(self, timeout: float = 20.0) -> None:
        if self.process is None:
            return
        with suppress(ProcessLookupError):
            os.killpg(self.group, signal.SIGTERM)
        try:
            self.process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            with suppress(ProcessLookupError):
                os.killpg(self.group, signal.SIGKILL)
            self.process.wait(timeout=timeout)
        deadline = time.monotonic() + timeout
        while group_alive(self.group) and time.monotonic() < deadline:
            time.sleep(0.1)
        if group_alive(self.group):
            with suppress(ProcessLookupError):
                os.killpg(self.group, signal.SIGKILL)
            raise AssertionError(f"{self.command[0]} left processes behind after SIGTERM")
