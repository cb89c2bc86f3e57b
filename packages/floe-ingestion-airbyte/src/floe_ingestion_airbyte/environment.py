"""PyAirbyte's own virtual environment, and each connector's: created once, cached, reused.

PyAirbyte cannot share floe's environment (it pins duckdb 1.4.3, sqlalchemy 2.0.43, rich<14,
structlog<25, OpenTelemetry 1.39; decision 0008), and every Airbyte connector needs one of its
own too (source-faker 7.x needs airbyte-cdk 6, PyAirbyte 0.71 needs 7): PyAirbyte's own design.
So floe keeps, under one cache folder:

- ``pyairbyte-<version>-py<X.Y>/``: a venv with ``airbyte==`` :data:`PYAIRBYTE_VERSION`, in
  which floe's runner script runs;
- ``connectors/<source>-<version>-py<X.Y>/``: a venv per connector (``airbyte-source-faker``),
  whose console script PyAirbyte runs as a ``local_executable`` (so it never installs anything
  itself and needs no network once the venvs exist).

The folder is ``$FLOE_AIRBYTE_HOME``, else ``$XDG_CACHE_HOME/floe/airbyte``, else
``~/.cache/floe/airbyte``: shared by every product of a user (and by CI runs, which cache it).
A venv is created with ``uv`` when it is on PATH (bytecode compiled: connector start-up halves),
else with ``python -m venv`` and pip, from a Python 3.10-3.12 interpreter (PyAirbyte's range):
``$FLOE_AIRBYTE_PYTHON`` when set, else the running one when it fits, else
``python3.12``/``3.11``/``3.10`` from PATH. Creation holds
an exclusive lock on ``<folder>/.lock``, so two runs never build one venv at once, and a venv
counts only once its ``.floe-ready`` marker is written: one left half-made by a killed run is
rebuilt. Measured on 2 cores: PyAirbyte's venv 29 s from PyPI (26 s from uv's cache),
source-faker's 24 s (14 s).

``python -m floe_ingestion_airbyte provision source-faker==7.2.1`` creates both ahead of time.
"""

from __future__ import annotations

import fcntl
import json
import logging
import os
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from floe_ingestion_airbyte.connector import ConnectorSource
from floe_orchestration_core.errors import IngestionConfigError, IngestionError

__all__ = [
    "HOME_VARIABLE",
    "PYAIRBYTE_VERSION",
    "PYTHON_VARIABLE",
    "AirbyteEnvironment",
    "cache_root",
    "find_python",
]

#: The PyAirbyte release floe's runner is written against.
PYAIRBYTE_VERSION = "0.71.3"
#: Environment variable naming the cache folder.
HOME_VARIABLE = "FLOE_AIRBYTE_HOME"
#: Environment variable naming the interpreter PyAirbyte's venvs are made from.
PYTHON_VARIABLE = "FLOE_AIRBYTE_PYTHON"
_READY = ".floe-ready"
_SUPPORTED = ((3, 10), (3, 11), (3, 12))
_INSTALL_TIMEOUT_SECONDS = 900
_NOT_FOUND = (
    "not found in the package registry",
    "No matching distribution",
    "No solution found",
    "because there is no version of",
    "could not find a version",
)


def cache_root(environ: Mapping[str, str] | None = None) -> Path:
    """The cache folder (see the module docstring)."""
    environ = os.environ if environ is None else environ
    if environ.get(HOME_VARIABLE):
        return Path(environ[HOME_VARIABLE]).expanduser()
    base = environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base).expanduser() / "floe" / "airbyte"


def _version_of(python: str) -> tuple[int, int] | None:
    try:
        done = subprocess.run(
            [python, "-c", "import sys; print('%d.%d' % sys.version_info[:2])"],
            capture_output=True,
            text=True,
            timeout=30,
            check=True,
        )
        major, minor = done.stdout.strip().split(".")
        return int(major), int(minor)
    except (OSError, subprocess.SubprocessError, ValueError):
        return None


def find_python(environ: Mapping[str, str] | None = None) -> tuple[str, tuple[int, int]]:
    """A Python 3.10-3.12 interpreter for PyAirbyte, and its version."""
    environ = os.environ if environ is None else environ
    chosen = environ.get(PYTHON_VARIABLE)
    if chosen:
        version = _version_of(chosen)
        if version not in _SUPPORTED:
            raise IngestionConfigError(
                f"{PYTHON_VARIABLE}={chosen} is not a Python 3.10-3.12 interpreter "
                f"(PyAirbyte {PYAIRBYTE_VERSION}'s range); point it at one, or unset it"
            )
        assert version is not None
        return chosen, version
    current = (sys.version_info.major, sys.version_info.minor)
    if current in _SUPPORTED:
        return getattr(sys, "_base_executable", sys.executable), current
    for major, minor in reversed(_SUPPORTED):
        found = shutil.which(f"python{major}.{minor}")
        if found is not None and _version_of(found) == (major, minor):
            return found, (major, minor)
    raise IngestionConfigError(
        f"PyAirbyte {PYAIRBYTE_VERSION} needs Python 3.10-3.12 and this is "
        f"{current[0]}.{current[1]}, with no python3.12, python3.11 or python3.10 on PATH; "
        "install one of them (floe runs PyAirbyte in a virtual environment of its own)"
    )


@dataclass
class AirbyteEnvironment:
    """The cached virtual environments under ``root`` (see the module docstring)."""

    root: Path = field(default_factory=cache_root)
    log: logging.Logger = field(default_factory=lambda: logging.getLogger("floe.ingestion"))
    #: Seconds spent creating venvs by this object (0 when everything was cached).
    provision_seconds: float = 0.0

    def __post_init__(self) -> None:
        self._python: tuple[str, tuple[int, int]] | None = None

    def _base(self) -> tuple[str, str]:
        if self._python is None:
            self._python = find_python()
        python, (major, minor) = self._python
        return python, f"py{major}.{minor}"

    def pyairbyte_python(self) -> Path:
        """The interpreter of PyAirbyte's venv, creating the venv on first use."""
        python, tag = self._base()
        venv = self.root / f"pyairbyte-{PYAIRBYTE_VERSION}-{tag}"
        self._ensure(venv, f"airbyte=={PYAIRBYTE_VERSION}", python, what="PyAirbyte")
        return venv / "bin" / "python"

    def connector_executable(self, source: ConnectorSource) -> Path:
        """The console script of ``source``'s venv, creating the venv on first use."""
        python, tag = self._base()
        venv = self.root / "connectors" / f"{source.cache_key}-{tag}"
        self._ensure(venv, source.requirement, python, what=f"connector {source.name}")
        executable = venv / "bin" / source.executable
        if not executable.is_file():
            raise IngestionConfigError(
                f"{source.package} installed no '{source.executable}' command in {venv}; it is "
                "not a Python Airbyte source connector (check source:)"
            )
        return executable

    def is_ready(self, venv: Path) -> bool:
        """Whether ``venv`` was completely created (its marker written)."""
        return (venv / _READY).is_file()

    @contextmanager
    def _locked(self) -> Iterator[None]:
        self.root.mkdir(parents=True, exist_ok=True)
        with (self.root / ".lock").open("a+") as handle:
            fcntl.flock(handle, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(handle, fcntl.LOCK_UN)

    def _ensure(self, venv: Path, requirement: str, python: str, *, what: str) -> None:
        if self.is_ready(venv):
            return
        with self._locked():
            if self.is_ready(venv):  # another run made it while this one waited
                return
            started = time.monotonic()
            self.log.info("creating the virtual environment of %s in %s", what, venv)
            _create(venv, requirement, python, what=what)
            spent = time.monotonic() - started
            (venv / _READY).write_text(
                json.dumps(
                    {
                        "requirement": requirement,
                        "python": python,
                        "created": datetime.now(UTC).isoformat(),
                        "seconds": round(spent, 1),
                    }
                ),
                encoding="utf-8",
            )
            self.provision_seconds += spent
            self.log.info("created the virtual environment of %s in %.1f s", what, spent)


def _run(command: list[str], *, what: str, requirement: str) -> None:
    environ = {
        **os.environ,
        "UV_COMPILE_BYTECODE": "1",
        "UV_PYTHON_DOWNLOADS": "never",
        "PIP_DISABLE_PIP_VERSION_CHECK": "1",
    }
    try:
        done = subprocess.run(
            command,
            capture_output=True,
            text=True,
            env=environ,
            timeout=_INSTALL_TIMEOUT_SECONDS,
            check=False,
        )
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise IngestionError(f"creating the environment of {what} failed: {exc}") from exc
    if done.returncode == 0:
        return
    output = (done.stderr or done.stdout).strip()[-2000:]
    if any(marker in output for marker in _NOT_FOUND):
        raise IngestionConfigError(
            f"{requirement} cannot be installed for {what}: the package index has no such "
            f"release; check the entry's source: (e.g. source-faker==7.2.1)\n{output}"
        )
    raise IngestionError(
        f"installing {requirement} for {what} failed (exit {done.returncode}); the package "
        f"index may be unreachable: run again once it answers, or create the environments "
        f"ahead of time with 'python -m floe_ingestion_airbyte provision'\n{output}"
    )


def _create(venv: Path, requirement: str, python: str, *, what: str) -> None:
    if venv.exists():
        shutil.rmtree(venv)  # left half-made by a run that was stopped
    venv.parent.mkdir(parents=True, exist_ok=True)
    uv = shutil.which("uv")
    target = str(venv / "bin" / "python")
    if uv is not None:
        _run([uv, "venv", "--quiet", "--python", python, str(venv)], what=what, requirement=python)
        _run(
            [uv, "pip", "install", "--quiet", "--python", target, requirement],
            what=what,
            requirement=requirement,
        )
        return
    _run([python, "-m", "venv", str(venv)], what=what, requirement=python)
    _run(
        [target, "-m", "pip", "install", "--quiet", requirement],
        what=what,
        requirement=requirement,
    )
