"""Which dbt profile and target a project runs with, read the way dbt reads them.

dbt's rules, followed here without importing dbt:

- **The file**: ``profiles.yml`` in the profiles folder given (floe.yaml's ``dbt.profiles_dir``,
  ``--profiles-dir``), else ``$DBT_PROFILES_DIR``, else the dbt project's folder when it holds
  a ``profiles.yml`` (floe runs dbt there), else ``~/.dbt``.
- **The profile**: ``$DBT_PROFILE``, else ``profile:`` of ``dbt_project.yml`` (rendered).
- **The target**: the one asked for (floe.yaml's ``dbt_target``/``dbt.target``), else
  ``$DBT_TARGET``, else the profile's ``target:`` (rendered), else ``default``.
- **Values** are rendered by :mod:`floe_orchestration_core.dbt_profiles.rendering` when they are
  read, one at a time: reading the host never renders the password, so a profile whose secret
  comes from an unset variable can still be compiled (dbt itself would render all of it).

Errors are :class:`~floe_orchestration_core.errors.DbtProfileError` naming the file and the
fix; an unset variable is :class:`~floe_orchestration_core.errors.ProfileVariableMissingError`.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import attrs

from floe_orchestration_core.dbt_profiles.rendering import render_value
from floe_orchestration_core.errors import DbtProfileError, ProductSpecError
from floe_orchestration_core.safe_yaml import load_yaml_mapping, read_bounded

__all__ = [
    "PUBLIC_KEYS",
    "DbtProfile",
    "ProfileTarget",
    "find_profile",
    "load_profile",
    "profiles_file",
]

PROFILES_FILE = "profiles.yml"
#: Target fields that are never secret and that floe records in the artifacts (``database`` is
#: also read from dbt-postgres's alias ``dbname``). Everything else (passwords, tokens, keys,
#: users) is read only at run time, from the profile itself.
PUBLIC_KEYS = ("host", "port", "database", "schema", "path", "account", "project", "dataset")
_ALIASES = {"dbname": "database", "pass": "password"}
_DEFAULT_THREADS = 1


def _read_yaml(path: Path, what: str) -> dict[str, Any]:
    data = read_bounded(
        path,
        what=what,
        expected_size="dbt settings and should be a few kilobytes",
        when_missing="create it or point floe at the folder that holds it",
        error=DbtProfileError,
    )
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise DbtProfileError(f"{path}: not UTF-8 text ({exc.reason}); save it as UTF-8") from exc
    if not text.strip():
        raise DbtProfileError(f"{path}: the file is empty; dbt needs the {what} settings in it")
    try:
        return load_yaml_mapping(text, origin=str(path))
    except ProductSpecError as exc:
        raise DbtProfileError(str(exc)) from exc


def profiles_file(
    project_dir: Path, profiles_dir: Path | None, environment: Mapping[str, str]
) -> Path:
    """Where dbt looks for ``profiles.yml`` (see the module docstring); it may not exist."""
    if profiles_dir is not None:
        return profiles_dir / PROFILES_FILE
    if environment.get("DBT_PROFILES_DIR"):
        return Path(environment["DBT_PROFILES_DIR"]) / PROFILES_FILE
    if (project_dir / PROFILES_FILE).is_file():
        return project_dir / PROFILES_FILE
    home = Path(environment["HOME"]) if environment.get("HOME") else Path.home()
    return home / ".dbt" / PROFILES_FILE


@attrs.frozen
class ProfileTarget:
    """One output (target) of a dbt profile. :meth:`value` renders a field when it is read."""

    file: Path
    profile: str
    name: str
    raw: Mapping[str, Any] = attrs.field(repr=False)
    environment: Mapping[str, str] = attrs.field(repr=False, eq=False)

    def _where(self, key: str) -> str:
        return f"profile '{self.profile}', target '{self.name}', field '{key}'"

    def value(self, key: str, default: Any = None) -> Any:
        """Field ``key`` (or its alias: ``dbname`` for ``database``) rendered, else ``default``."""
        for name in (key, *(alias for alias, canonical in _ALIASES.items() if canonical == key)):
            if name in self.raw:
                return render_value(
                    self.raw[name],
                    environment=self.environment,
                    where=self._where(name),
                    file=str(self.file),
                )
        return default

    @property
    def type(self) -> str:
        """The adapter type (``postgres``, ``duckdb``…)."""
        value = self.value("type")
        if not isinstance(value, str) or not value:
            raise DbtProfileError(
                f"{self.file}: {self._where('type')}: every target needs 'type:' (the dbt "
                "adapter, e.g. postgres or duckdb)"
            )
        return value

    @property
    def threads(self) -> int:
        """``threads`` as dbt reads it (1 when absent)."""
        value = self.value("threads", _DEFAULT_THREADS)
        if isinstance(value, bool) or not isinstance(value, int | str):
            raise DbtProfileError(f"{self.file}: {self._where('threads')}: not a number: {value!r}")
        try:
            threads = int(value)
        except ValueError:
            raise DbtProfileError(
                f"{self.file}: {self._where('threads')}: not a number: {value!r} (write "
                "\"{{ env_var('DBT_THREADS', '4') | as_number }}\" to read it from a variable)"
            ) from None
        return threads

    def public_properties(self) -> dict[str, Any]:
        """The non-secret connection details (:data:`PUBLIC_KEYS`) the target sets, rendered;
        a numeric ``port`` becomes an int."""
        properties: dict[str, Any] = {}
        for key in PUBLIC_KEYS:
            value = self.value(key)
            if value is None or value == "":
                continue
            if key == "port" and isinstance(value, str) and value.isdigit():
                value = int(value)
            properties[key] = value
        return properties

    def connection_values(self) -> dict[str, Any]:
        """Every field rendered, secrets included (aliases under their canonical names): what
        a connection needs at run time. Never write these into artifacts or logs."""
        values: dict[str, Any] = {}
        for key in self.raw:
            values[_ALIASES.get(key, key)] = self.value(_ALIASES.get(key, key))
        return values


@attrs.frozen
class DbtProfile:
    """A profile of ``profiles.yml``: its targets, read lazily."""

    file: Path
    name: str
    raw: Mapping[str, Any] = attrs.field(repr=False)
    environment: Mapping[str, str] = attrs.field(repr=False, eq=False)

    @property
    def target_names(self) -> tuple[str, ...]:
        outputs = self.raw.get("outputs")
        return tuple(str(name) for name in outputs) if isinstance(outputs, Mapping) else ()

    @property
    def default_target(self) -> str:
        """``$DBT_TARGET``, else the profile's ``target:`` (rendered), else ``default``."""
        if self.environment.get("DBT_TARGET"):
            return self.environment["DBT_TARGET"]
        if "target" not in self.raw:
            return "default"
        value = render_value(
            self.raw["target"],
            environment=self.environment,
            where=f"profile '{self.name}', field 'target'",
            file=str(self.file),
        )
        return str(value)

    def target(self, name: str | None = None) -> ProfileTarget:
        """Target ``name`` (the default target for None)."""
        chosen = name if name is not None else self.default_target
        outputs = self.raw.get("outputs")
        if not isinstance(outputs, Mapping) or not outputs:
            raise DbtProfileError(
                f"{self.file}: profile '{self.name}' has no 'outputs:'; dbt needs at least one "
                "target under it"
            )
        output = outputs.get(chosen)
        if not isinstance(output, Mapping):
            defined = ", ".join(self.target_names)
            raise DbtProfileError(
                f"{self.file}: profile '{self.name}' has no target '{chosen}'; defined: "
                f"{defined}. Name one of them (floe.yaml dbt.target or a compute target's "
                "dbt_target) or add it to the profile"
            )
        return ProfileTarget(
            file=self.file,
            profile=self.name,
            name=chosen,
            raw=dict(output),
            environment=self.environment,
        )


def _profile_name(project_dir: Path, environment: Mapping[str, str]) -> str | None:
    project_file = project_dir / "dbt_project.yml"
    if not project_file.is_file():
        return None
    if environment.get("DBT_PROFILE"):
        return environment["DBT_PROFILE"]
    settings = _read_yaml(project_file, "dbt_project.yml")
    if "profile" not in settings:
        return None
    value = render_value(
        settings["profile"],
        environment=environment,
        where="field 'profile'",
        file=str(project_file),
    )
    return str(value) if value not in (None, "") else None


def find_profile(
    project_dir: str | Path,
    *,
    profiles_dir: str | Path | None = None,
    environment: Mapping[str, str] | None = None,
) -> DbtProfile | None:
    """The project's profile, or None when there is nothing to read: no ``dbt_project.yml``
    (or no ``profile:`` in it), or no ``profiles.yml`` where dbt would look. A file that exists
    but is invalid, or that lacks the profile, raises :class:`DbtProfileError`."""
    env = os.environ if environment is None else environment
    project = Path(project_dir)
    name = _profile_name(project, env)
    if name is None:
        return None
    file = profiles_file(project, Path(profiles_dir) if profiles_dir else None, env)
    if not file.is_file():
        return None
    profiles = _read_yaml(file, PROFILES_FILE)
    raw = profiles.get(name)
    if not isinstance(raw, Mapping) or not raw:
        defined = ", ".join(sorted(k for k in profiles if k != "config")) or "none"
        raise DbtProfileError(
            f"{file}: no profile '{name}' (the 'profile:' of {project / 'dbt_project.yml'}); "
            f"defined: {defined}. Add it, or point dbt.profiles_dir in floe.yaml at the folder "
            "holding the right profiles.yml"
        )
    return DbtProfile(file=file, name=name, raw=dict(raw), environment=env)


def load_profile(
    project_dir: str | Path,
    *,
    profiles_dir: str | Path | None = None,
    environment: Mapping[str, str] | None = None,
) -> DbtProfile:
    """:func:`find_profile`, with a :class:`DbtProfileError` saying what is missing instead
    of None."""
    env = os.environ if environment is None else environment
    profile = find_profile(project_dir, profiles_dir=profiles_dir, environment=env)
    if profile is not None:
        return profile
    project = Path(project_dir)
    if _profile_name(project, env) is None:
        raise DbtProfileError(
            f"{project / 'dbt_project.yml'}: no dbt project with a 'profile:' there; dbt needs "
            "one to know which profiles.yml entry to connect with"
        )
    file = profiles_file(project, Path(profiles_dir) if profiles_dir else None, env)
    raise DbtProfileError(
        f"{file}: no such file, and dbt reads the project's connection from it; create it, set "
        "dbt.profiles_dir in floe.yaml, or set DBT_PROFILES_DIR"
    )
