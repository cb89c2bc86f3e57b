"""The dbt resource of a compute target: dagster-dbt's ``DbtCliResource``, tuned for floe.

:func:`dbt_resource` builds one per compute target (``dbt_<compute>``), or a
:class:`MissingDbtProject` when the project, profiles or ``dbt`` command are absent, so the
definitions still load and only a run fails, with :class:`DbtProjectMissingError`.

:class:`FloeDbtCliResource` differs from dagster-dbt's resource in three measured ways (see
``docs/benchmarks.md``): it reads the dbt version from package metadata instead of a ``dbt
--version`` process per op; it does not open a dbt adapter in the run process (floe's ops never
fetch row counts or column metadata, which is all that handle is for, and opening it loads the
profile and imports the adapter: about a second per op); and when the process runs a warm dbt
server (:mod:`floe_orchestrator_dagster.dbt.warm`, started by in-process ``floe run``), its
command is the warm client, so each op's dbt starts without importing dbt again.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence
from functools import cached_property
from importlib.metadata import PackageNotFoundError
from importlib.metadata import version as installed_version
from pathlib import Path
from typing import Any

import dagster as dg
from dagster_dbt import DbtCliResource
from packaging import version

from floe_orchestration_core.artifacts import CompiledArtifacts, ComputeTarget
from floe_orchestrator_dagster.dbt import warm
from floe_orchestrator_dagster.dbt.warm import dbt_executable

__all__ = [
    "FloeDbtCliResource",
    "MissingDbtProject",
    "dbt_executable",
    "dbt_resource",
    "resolve_project_dir",
]


def resolve_project_dir(artifacts: CompiledArtifacts, cwd: Path | None = None) -> Path:
    """``artifacts.dbt.project_dir`` as an absolute path (relative to ``cwd``, default: now)."""
    path = Path(artifacts.dbt.project_dir)
    return path if path.is_absolute() else (cwd or Path.cwd()) / path


class MissingDbtProject:
    """Stands in for ``DbtCliResource`` when the dbt project is absent: the op that receives it
    raises :class:`DbtProjectMissingError` with :attr:`message` before running anything."""

    def __init__(self, message: str) -> None:
        self.message = message

    def __repr__(self) -> str:
        return f"MissingDbtProject({self.message!r})"


def _missing_resource(message: str) -> dg.ResourceDefinition:
    return dg.ResourceDefinition.hardcoded_resource(MissingDbtProject(message), message)


def dbt_resource(
    artifacts: CompiledArtifacts, target: ComputeTarget, cwd: Path | None = None
) -> DbtCliResource | dg.ResourceDefinition:
    """The dbt resource of compute target ``target``.

    A ``DbtCliResource`` when the project (and profiles folder, if set) exist; otherwise a
    :class:`MissingDbtProject` whose op raises :class:`DbtProjectMissingError`, so the
    definitions load and only a run fails, with the error itself (not wrapped in a resource
    initialisation failure).
    """
    project_dir = resolve_project_dir(artifacts, cwd)
    fix = (
        "build the definitions where the dbt project is, or re-compile with "
        "'floe compile --project-dir <folder with dbt_project.yml>' (dbt.project_dir in the "
        "compiled artifacts)"
    )
    if not (project_dir / "dbt_project.yml").is_file():
        return _missing_resource(
            f"compute target {target.name!r} runs dbt in {str(project_dir)!r}, which "
            f"{'has no dbt_project.yml' if project_dir.is_dir() else 'does not exist'}; {fix}"
        )
    profiles_dir: str | None = None
    if artifacts.dbt.profiles_dir is not None:
        profiles = Path(artifacts.dbt.profiles_dir)
        profiles = profiles if profiles.is_absolute() else (cwd or Path.cwd()) / profiles
        if not profiles.is_dir():
            return _missing_resource(
                f"compute target {target.name!r} reads dbt profiles from {str(profiles)!r}, "
                "which does not exist; create it (with profiles.yml) or re-compile with "
                "'floe compile --profiles-dir <folder>' (dbt.profiles_dir in the artifacts)"
            )
        profiles_dir = str(profiles)
    executable = dbt_executable()
    client = warm.client_executable()
    if executable is None:
        return _missing_resource(
            f"compute target {target.name!r} needs the dbt command, which is neither on PATH "
            f"nor beside {sys.executable}; install dbt-core and an adapter (e.g. "
            "'pip install floe-orchestrator-dagster[duckdb]') or put dbt on PATH"
        )
    return FloeDbtCliResource(
        project_dir=str(project_dir),
        profiles_dir=profiles_dir,
        target=target.dbt_target or artifacts.dbt.target,
        dbt_executable=client if client is not None and warm.is_own_dbt(executable) else executable,
    )


class FloeDbtCliResource(DbtCliResource):
    """``DbtCliResource`` for floe's ops (see the module docstring for why each change).

    - The dbt version: when the executable is the ``dbt`` of this interpreter's environment
      (or the warm client, which runs it), the installed dbt-core's, from package metadata;
      any other executable (dbt Fusion, another virtualenv) is still asked ``--version``.
    - No dbt adapter handle in the run process: dagster-dbt opens one per command only for
      ``fetch_row_counts``/``fetch_column_metadata``, which floe's ops do not call.
    """

    @cached_property
    def _cli_version(self) -> Any:
        if warm.is_own_dbt(self.dbt_executable) or (
            self.dbt_executable == warm.client_executable()
        ):
            try:
                return version.parse(installed_version("dbt-core"))
            except PackageNotFoundError:
                pass
        return super()._cli_version

    def _initialize_dbt_core_adapter(self, args: Sequence[str]) -> Any:  # dagster-dbt 0.27+
        return None

    def _initialize_adapter(self, cli_vars: Any) -> Any:  # dagster-dbt 0.26
        return None
