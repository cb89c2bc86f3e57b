"""A data product folder made ready for the local runtime: ``prepare_product``.

``prepare_product(product_dir)`` is what ``floe up`` and ``floe run`` do before they call
the orchestrator:

1. **Find the files.** ``floe.yaml`` in the product folder (optional: without it the folder
   is the dbt project). The platform ``manifest.yaml``: the ``manifest`` argument
   (``--manifest``) when given, else ``<product>/manifest.yaml``, else ``./manifest.yaml``
   in the working directory, else the defaults (orchestrator ``dagster``, SQLite storage).
   The dbt project is floe.yaml's ``dbt.project_dir`` (relative to floe.yaml), else the
   product folder; the profiles folder is ``dbt.profiles_dir``, else dbt's own default.
2. **Install packages, then parse when stale.** ``dbt deps`` runs first when the project lists
   dbt packages that are not installed or whose lock is out of date (the rules and the error
   for a package that cannot be fetched: :mod:`floe_registry.dbt_packages`); the manifest is
   then re-parsed. ``dbt parse`` runs when ``<target-path>/manifest.json`` is missing
   or older than any of: ``dbt_project.yml``, ``packages.yml``, ``dependencies.yml``,
   ``selectors.yml``, ``profiles.yml`` (in the profiles folder), and every file under the
   project's ``model-paths``, ``seed-paths``, ``snapshot-paths``, ``macro-paths``,
   ``test-paths`` and ``analysis-paths`` (read from ``dbt_project.yml``; dbt's defaults
   otherwise). What the rule cannot see: a changed environment variable, or an installed
   package (``dbt_packages/``) updated without touching ``packages.yml``; delete
   ``target/manifest.json`` (or run ``dbt parse``) after such a change. dbt is the ``dbt``
   beside ``sys.executable`` (the active virtual environment), else the one on ``PATH``;
   its output is shown only when it fails (:class:`DbtParseError` carries the last lines).
3. **Compile.** ``compile_artifacts`` with the *absolute* project, profiles and floe.yaml
   paths, so the artifacts (and any process that loads them: the webserver's code server,
   the daemon, a run worker) do not depend on the working directory — the core resolves
   relative artifact paths against the current directory, which differs between those
   processes. The artifacts are written to ``<product>/.floe/compiled_artifacts.json``
   (atomically: a temporary file renamed over it) only when they differ from the file
   there, ignoring ``metadata.compiled_at``; an unchanged product keeps its file, so a
   webserver already serving it is not told to reload.

It returns the :class:`~floe_orchestration_core.runtime.ProductWorkspace` (with the
environment the orchestrator's processes need to load the product through
:mod:`floe_registry.code_location`) and the composed
:class:`~floe_registry.platform.Platform`; close the platform when done.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import attrs

from floe_orchestration_core.errors import CompileError
from floe_orchestration_core.runtime import STATE_DIR_NAME, InstanceStorage, ProductWorkspace
from floe_orchestration_core.safe_yaml import load_yaml_mapping, read_bounded
from floe_registry.dbt_packages import DbtDepsError, packages_to_install, run_dbt_deps
from floe_registry.platform import Platform, load_platform
from floe_registry.platform_manifest import DEFAULT_MANIFEST_NAME, PostgresStorage

__all__ = [
    "ARTIFACTS_FILE",
    "CODE_LOCATION_MODULE",
    "ENV_ARTIFACTS",
    "ENV_PLATFORM_MANIFEST",
    "ENV_PRODUCT_DIR",
    "PRODUCT_FILE",
    "DbtDepsError",
    "DbtParseError",
    "ProductNotFoundError",
    "find_platform_manifest",
    "locate_product",
    "manifest_is_stale",
    "prepare_product",
]

PRODUCT_FILE = "floe.yaml"
ARTIFACTS_FILE = "compiled_artifacts.json"
#: The module (attribute ``defs``) the orchestrator's code server imports.
CODE_LOCATION_MODULE = "floe_registry.code_location"
ENV_ARTIFACTS = "FLOE_ARTIFACTS"
ENV_PLATFORM_MANIFEST = "FLOE_PLATFORM_MANIFEST"
ENV_PRODUCT_DIR = "FLOE_PRODUCT_DIR"

_DBT_PARSE_TIMEOUT_S = 600
_DBT_OUTPUT_LINES = 25
_PROJECT_FILES = ("dbt_project.yml", "packages.yml", "dependencies.yml", "selectors.yml")
_RESOURCE_PATHS = {
    "model-paths": ["models"],
    "seed-paths": ["seeds"],
    "snapshot-paths": ["snapshots"],
    "macro-paths": ["macros"],
    "test-paths": ["tests"],
    "analysis-paths": ["analyses"],
}


class ProductNotFoundError(CompileError):
    """The product folder, or the dbt project it names, does not exist."""


class DbtParseError(CompileError):
    """``dbt parse`` failed or could not run; ``output`` holds dbt's last lines."""

    def __init__(self, message: str, output: str = "") -> None:
        super().__init__(message)
        self.output = output


def _product_spec(product_dir: Path) -> tuple[Path | None, dict[str, Any]]:
    """(floe.yaml path or None, its ``dbt`` section as a plain mapping)."""
    floe_yaml = product_dir / PRODUCT_FILE
    if not floe_yaml.is_file():
        return None, {}
    from floe_orchestration_core.compile.product import read_product_spec_file

    spec, _ = read_product_spec_file(floe_yaml)
    return floe_yaml, {**spec.dbt.model_dump(), "name": spec.name}


def find_platform_manifest(product_dir: Path, manifest: str | Path | None) -> Path | None:
    """``manifest`` (absolute), else ``product_dir/manifest.yaml``, else ``./manifest.yaml``,
    else None (the defaults)."""
    if manifest is not None:
        return Path(manifest).resolve()
    for candidate in (product_dir / DEFAULT_MANIFEST_NAME, Path.cwd() / DEFAULT_MANIFEST_NAME):
        if candidate.is_file():
            return candidate.resolve()
    return None


def _storage(platform: Platform, product_dir: Path) -> InstanceStorage:
    storage = platform.manifest.storage
    if isinstance(storage, PostgresStorage):
        return InstanceStorage(
            kind="postgres",
            host=storage.host,
            port=storage.port,
            database=storage.database,
            user=storage.user,
            password_env=storage.password_env,
        )
    folder = Path(storage.path)
    return InstanceStorage(
        kind="sqlite", sqlite_dir=folder if folder.is_absolute() else product_dir / folder
    )


def locate_product(
    product_dir: str | Path = ".",
    *,
    manifest: str | Path | None = None,
    command: str = "up",
) -> tuple[ProductWorkspace, Platform]:
    """The workspace of ``product_dir`` without parsing or compiling (for status and down).

    Raises :class:`ProductNotFoundError` when the folder does not exist (its hint names
    ``floe <command>``, the command being run), and the registry's manifest and plugin errors
    for the platform manifest.
    """
    folder = Path(product_dir).resolve()
    if not folder.is_dir():
        raise ProductNotFoundError(
            f"product folder '{product_dir}' does not exist; give the folder holding "
            f"{PRODUCT_FILE} (or the dbt project), e.g. 'floe {command} "
            "examples/retail-analytics'"
        )
    try:
        _, dbt = _product_spec(folder)
    except CompileError:
        dbt = {}  # status and down work on a product whose floe.yaml is broken
    manifest_path = find_platform_manifest(folder, manifest)
    platform = load_platform(
        manifest_path if manifest_path is not None else {"orchestrator": "dagster"},
        state_dir=folder / STATE_DIR_NAME,
    )
    try:
        artifacts_path = folder / STATE_DIR_NAME / ARTIFACTS_FILE
        workspace = ProductWorkspace(
            product_dir=folder,
            artifacts_path=artifacts_path,
            platform_manifest_path=manifest_path,
            storage=_storage(platform, folder),
            product_name=dbt.get("name") or folder.name,
            code_location=CODE_LOCATION_MODULE,
            environment={
                ENV_ARTIFACTS: str(artifacts_path),
                ENV_PRODUCT_DIR: str(folder),
                ENV_PLATFORM_MANIFEST: "" if manifest_path is None else str(manifest_path),
            },
        )
    except BaseException:
        platform.close()
        raise
    return workspace, platform


def prepare_product(
    product_dir: str | Path = ".",
    *,
    manifest: str | Path | None = None,
    progress: Callable[[str], None] | None = None,
    command: str = "up",
) -> tuple[ProductWorkspace, Platform]:
    """Locate, ``dbt parse`` when stale, and compile ``product_dir`` (see the module doc);
    ``command`` is the ``floe`` command that hints name (``up``, ``run``)."""
    say = progress or (lambda _: None)
    workspace, platform = locate_product(product_dir, manifest=manifest, command=command)
    try:
        floe_yaml, dbt = _product_spec(workspace.product_dir)
        base = floe_yaml.parent if floe_yaml is not None else workspace.product_dir
        project_dir = (base / (dbt.get("project_dir") or ".")).resolve()
        if not (project_dir / "dbt_project.yml").is_file():
            raise ProductNotFoundError(
                f"no dbt_project.yml in '{project_dir}'; set dbt.project_dir in "
                f"{floe_yaml or PRODUCT_FILE} to the dbt project's folder"
            )
        profiles_dir = (base / dbt["profiles_dir"]).resolve() if dbt.get("profiles_dir") else None
        target = dbt.get("target")
        manifest_json = _target_path(project_dir) / "manifest.json"
        missing_packages = packages_to_install(project_dir)
        if missing_packages is not None:
            say(f"dbt deps in {project_dir} ({missing_packages})")
            run_dbt_deps(project_dir, profiles_dir, target, _dbt_executable())
        if missing_packages is not None or manifest_is_stale(
            manifest_json, project_dir, profiles_dir
        ):
            say(f"dbt parse in {project_dir} (the manifest is missing or older than the project)")
            run_dbt_parse(project_dir, profiles_dir, target)
        from floe_orchestration_core.compile import compile_artifacts

        artifacts = compile_artifacts(
            manifest_json,
            product=floe_yaml,
            project_dir=project_dir,
            profiles_dir=profiles_dir,
        )
        if _write_if_changed(workspace.artifacts_path, artifacts.model_dump(mode="json")):
            say(f"compiled {len(artifacts.transforms)} transforms to {workspace.artifacts_path}")
        workspace = attrs.evolve(workspace, product_name=artifacts.metadata.product_name)
    except BaseException:
        platform.close()
        raise
    return workspace, platform


# Staleness -----------------------------------------------------------------------------------
def _project_settings(project_dir: Path) -> dict[str, Any]:
    path = project_dir / "dbt_project.yml"
    try:
        return load_yaml_mapping(read_bounded(path).decode("utf-8"), origin=str(path))
    except (CompileError, UnicodeDecodeError):
        return {}  # dbt parse reports a broken dbt_project.yml better than we can


def _target_path(project_dir: Path) -> Path:
    target = _project_settings(project_dir).get("target-path")
    return project_dir / (target if isinstance(target, str) and target else "target")


def _project_inputs(project_dir: Path, profiles_dir: Path | None) -> Iterator[Path]:
    for name in _PROJECT_FILES:
        yield project_dir / name
    yield (profiles_dir or project_dir) / "profiles.yml"
    settings = _project_settings(project_dir)
    for key, default in _RESOURCE_PATHS.items():
        configured = settings.get(key)
        folders = configured if isinstance(configured, list) else default
        for folder in folders:
            root = project_dir / str(folder)
            if root.is_dir():
                yield from (p for p in root.rglob("*") if p.is_file())


def manifest_is_stale(manifest_json: Path, project_dir: Path, profiles_dir: Path | None) -> bool:
    """True when ``manifest_json`` is missing or older than a file of the project."""
    try:
        built = manifest_json.stat().st_mtime_ns
    except FileNotFoundError:
        return True
    for path in _project_inputs(project_dir, profiles_dir):
        try:
            if path.stat().st_mtime_ns > built:
                return True
        except FileNotFoundError:
            continue
    return False


def _dbt_executable() -> str:
    beside = Path(sys.executable).with_name("dbt")
    if beside.is_file() and os.access(beside, os.X_OK):
        return str(beside)
    found = shutil.which("dbt")
    if found is None:
        raise DbtParseError(
            f"the dbt command is neither beside {sys.executable} nor on PATH, and the dbt "
            "manifest must be (re)built; install dbt-core with your adapter (e.g. "
            "'pip install dbt-duckdb') or run 'dbt parse' yourself"
        )
    return found


def run_dbt_parse(project_dir: Path, profiles_dir: Path | None, target: str | None) -> None:
    """Run ``dbt parse`` for the project; :class:`DbtParseError` with dbt's output on failure."""
    command = [_dbt_executable(), "parse", "--project-dir", str(project_dir)]
    if profiles_dir is not None:
        command += ["--profiles-dir", str(profiles_dir)]
    if target is not None:
        command += ["--target", target]
    environment = {
        "DBT_SEND_ANONYMOUS_USAGE_STATS": "false",
        "DBT_VERSION_CHECK": "false",
        **os.environ,
    }
    try:
        result = subprocess.run(
            command,
            cwd=project_dir,
            env=environment,
            capture_output=True,
            text=True,
            timeout=_DBT_PARSE_TIMEOUT_S,
            check=False,
        )
    except subprocess.TimeoutExpired as exc:
        raise DbtParseError(
            f"'dbt parse' in {project_dir} did not finish within {_DBT_PARSE_TIMEOUT_S} s; "
            "run it yourself to see why"
        ) from exc
    if result.returncode != 0:
        lines = (result.stdout + result.stderr).strip().splitlines()[-_DBT_OUTPUT_LINES:]
        tail = "\n".join(f"  {line}" for line in lines)
        raise DbtParseError(
            f"'dbt parse' failed (exit {result.returncode}) in {project_dir}; fix the dbt "
            f"project (or its profile: environment variables it reads must be set):\n{tail}",
            output=tail,
        )


# Writing -------------------------------------------------------------------------------------
def _without_compiled_at(document: dict[str, Any]) -> dict[str, Any]:
    metadata = {k: v for k, v in document.get("metadata", {}).items() if k != "compiled_at"}
    return {**document, "metadata": metadata}


def _write_if_changed(path: Path, document: dict[str, Any]) -> bool:
    """Write ``document`` as JSON to ``path`` atomically unless an equal one is there."""
    try:
        existing = json.loads(path.read_text(encoding="utf-8"))
        if isinstance(existing, dict) and _without_compiled_at(existing) == _without_compiled_at(
            document
        ):
            return False
    except (FileNotFoundError, ValueError):
        pass
    path.parent.mkdir(parents=True, exist_ok=True)
    descriptor, temporary = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        os.fchmod(descriptor, 0o644)  # mkstemp makes it private; it is a build output
        with os.fdopen(descriptor, "w", encoding="utf-8") as handle:
            json.dump(document, handle, indent=2)
            handle.write("\n")
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
    return True
