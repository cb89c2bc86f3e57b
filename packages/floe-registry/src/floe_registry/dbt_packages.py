"""dbt packages of a product: installed with ``dbt deps`` when missing or out of date.

:func:`packages_to_install` says why ``dbt deps`` must run (None when it need not), by rules
that never contact a package source:

- the project lists packages: ``packages:`` in ``packages.yml`` or ``dependencies.yml``
  (``projects:`` of dbt Mesh need no install);
- and ``package-lock.yml`` is missing, or older than the file listing the packages (it was
  edited since dbt locked it), or a locked package has no folder under ``packages-install-path``
  (``dbt_packages`` by default; every lock entry names its folder).

dbt itself compares the lock with the packages (``sha1_hash``) and re-resolves only when they
differ. After a successful ``dbt deps`` the lock's modification time is set to now, so an
unchanged lock that dbt kept does not look stale to the next run.

:func:`run_dbt_deps` runs it and turns a failure into :class:`DbtDepsError`: the packages
that dbt fetches from outside (hub, git, tarball, private) are named with the fix (vendor each
as a ``local:`` package, which installs offline), above dbt's last lines.
"""

from __future__ import annotations

import os
import subprocess
import time
from pathlib import Path
from typing import Any

from floe_orchestration_core.errors import CompileError
from floe_orchestration_core.safe_yaml import load_yaml_mapping, read_bounded

__all__ = ["LOCK_FILE", "PACKAGE_FILES", "DbtDepsError", "packages_to_install", "run_dbt_deps"]

PACKAGE_FILES = ("packages.yml", "dependencies.yml")
LOCK_FILE = "package-lock.yml"
_REMOTE_KEYS = ("package", "git", "tarball", "private")
_DEPS_TIMEOUT_S = 600
_OUTPUT_LINES = 25
_QUIET = {"DBT_SEND_ANONYMOUS_USAGE_STATS": "false", "DBT_VERSION_CHECK": "false"}


class DbtDepsError(CompileError):
    """``dbt deps`` failed; ``packages`` names the packages dbt had to fetch, ``output`` holds
    dbt's last lines."""

    def __init__(self, message: str, packages: tuple[str, ...] = (), output: str = "") -> None:
        super().__init__(message)
        self.packages = packages
        self.output = output


def _yaml(path: Path) -> dict[str, Any]:
    try:
        text = read_bounded(path, what=path.name, error=CompileError).decode("utf-8")
        return load_yaml_mapping(text, origin=str(path)) if text.strip() else {}
    except (CompileError, UnicodeDecodeError):
        return {}  # dbt deps reports a broken file better than we can


def _listed_packages(project_dir: Path) -> tuple[Path, list[dict[str, Any]]] | None:
    """(the file listing packages, its entries), or None when the project lists none."""
    for name in PACKAGE_FILES:
        path = project_dir / name
        if path.is_file():
            entries = _yaml(path).get("packages")
            if isinstance(entries, list) and entries:
                return path, [e for e in entries if isinstance(e, dict)]
    return None


def _install_path(project_dir: Path) -> Path:
    settings = _yaml(project_dir / "dbt_project.yml")
    configured = settings.get("packages-install-path") or settings.get("modules-path")
    return project_dir / (configured if isinstance(configured, str) else "dbt_packages")


def packages_to_install(project_dir: Path) -> str | None:
    """Why ``dbt deps`` must run for ``project_dir`` (see the module docstring), or None."""
    listed = _listed_packages(project_dir)
    if listed is None:
        return None
    packages_file, _ = listed
    lock = project_dir / LOCK_FILE
    if not lock.is_file():
        return f"{packages_file.name} lists packages and there is no {LOCK_FILE}"
    if packages_file.stat().st_mtime_ns > lock.stat().st_mtime_ns:
        return f"{packages_file.name} changed since {LOCK_FILE} was written"
    locked = _yaml(lock).get("packages")
    install_path = _install_path(project_dir)
    names = [str(e["name"]) for e in locked or [] if isinstance(e, dict) and e.get("name")]
    if not install_path.is_dir() or not any(install_path.iterdir()):
        return f"the packages are not installed ({install_path.name}/ is missing or empty)"
    missing = [name for name in names if not (install_path / name).exists()]
    if missing:
        return f"package(s) {', '.join(missing)} are not installed in {install_path.name}/"
    return None


def _label(entry: dict[str, Any]) -> str:
    for key in _REMOTE_KEYS:
        if key in entry:
            return f"{entry[key]} ({'hub' if key == 'package' else key})"
    return str(entry)


def _failure(project_dir: Path, returncode: int, output: str) -> DbtDepsError:
    lines = output.strip().splitlines()
    cause = ""
    for index, line in enumerate(lines):
        if "Encountered an error" in line and index + 1 < len(lines):
            cause = lines[index + 1].strip()
            break
    tail = "\n".join(f"  {line}" for line in lines[-_OUTPUT_LINES:])
    listed = _listed_packages(project_dir)
    entries = listed[1] if listed else []
    remote = [e for e in entries if any(key in e for key in _REMOTE_KEYS)]
    named = [e for e in remote if any(str(e.get(k, "")) in output for k in _REMOTE_KEYS if k in e)]
    failed = tuple(_label(e) for e in (named or remote))
    where = listed[0].name if listed else "packages.yml"
    if failed:
        example = next((e for e in (named or remote) if "package" in e), (named or remote)[0])
        folder = str(example.get("package") or example.get("git") or "package").rstrip("/")
        folder = folder.rsplit("/", 1)[-1].removesuffix(".git")
        key = next(k for k in _REMOTE_KEYS if k in example)
        advice = (
            f"dbt could not fetch {', '.join(failed)}{': ' + cause if cause else ''}. Without "
            "access to the package source, vendor each package: copy it (from a machine that "
            f"has access, or its release archive) into the project, e.g. vendor/{folder}/, and "
            f"replace '- {key}: {example[key]}' in {where} with '- local: vendor/{folder}' "
            "(local packages install offline)"
        )
    else:
        advice = f"fix {where} (dbt's output below){': ' + cause if cause else ''}"
    return DbtDepsError(
        f"'dbt deps' failed (exit {returncode}) in {project_dir}; {advice}:\n{tail}",
        packages=failed,
        output=tail,
    )


def run_dbt_deps(
    project_dir: Path, profiles_dir: Path | None, target: str | None, dbt: str
) -> None:
    """Run ``dbt deps`` (the ``dbt`` command ``dbt``) in ``project_dir``; :class:`DbtDepsError`
    naming the packages it could not fetch and how to vendor them."""
    command = [dbt, "deps", "--project-dir", str(project_dir)]
    if profiles_dir is not None:
        command += ["--profiles-dir", str(profiles_dir)]
    if target is not None:
        command += ["--target", target]
    try:
        result = subprocess.run(
            command,
            cwd=project_dir,
            env={**_QUIET, **os.environ},
            capture_output=True,
            text=True,
            timeout=_DEPS_TIMEOUT_S,
            check=False,
        )
    except subprocess.TimeoutExpired as exc:
        raise DbtDepsError(
            f"'dbt deps' in {project_dir} did not finish within {_DEPS_TIMEOUT_S} s; run it "
            "yourself to see which package it waits for, or vendor the packages as local: ones"
        ) from exc
    if result.returncode != 0:
        raise _failure(project_dir, result.returncode, result.stdout + result.stderr)
    lock = project_dir / LOCK_FILE
    if lock.is_file():
        now = time.time()
        os.utime(lock, (now, now))
