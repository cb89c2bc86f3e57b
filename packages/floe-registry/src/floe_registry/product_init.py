"""``floe init``: a data product started from an existing dbt project.

:func:`init_product` writes three files into the dbt project's folder:

- ``floe.yaml`` — the product: its name and version (from ``dbt_project.yml``), the dbt
  settings (``project_dir: .``, the profiles folder when it is not dbt's default, the default
  target), and one **compute target per output of the dbt profile** (named after the dbt
  target, ``dbt_target`` the target itself, ``type`` its adapter), the default being the
  profile's ``target``. The text is validated as floe.yaml before it is written.
- ``manifest.yaml`` — the platform, with floe's embedded defaults written out: the default
  orchestrator and SQLite instance storage (the defaults of
  :class:`~floe_registry.platform_manifest.PlatformManifest`), lineage as a commented example.
- ``.gitignore`` — ``.floe/`` (compiled artifacts, the orchestrator's instance, the local
  warehouse) added unless it is already ignored; an existing file keeps its lines.

Existing ``floe.yaml`` or ``manifest.yaml`` files are never overwritten without ``force``
(:class:`InitError` names them).

**Where the profile is read** (dbt's own order): ``profiles_dir`` when given, else
``$DBT_PROFILES_DIR``, else ``profiles.yml`` in the project folder, else ``~/.dbt``. The
profile is the one ``dbt_project.yml`` names (``profile:``).

**Only what lists the targets is read**: ``target`` and each output's ``type``, rendered by the
core's profile reader (:mod:`floe_orchestration_core.dbt_profiles`, dbt's ``env_var`` and
filters included); credentials and every other setting are never read.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Literal

import attrs
import yaml

from floe_orchestration_core.dbt_profiles.reading import PROFILES_FILE, DbtProfile, profiles_file
from floe_orchestration_core.errors import CompileError, DbtProfileError, FloeError
from floe_orchestration_core.safe_yaml import load_yaml_mapping, read_bounded
from floe_registry.platform_manifest import DEFAULT_MANIFEST_NAME, PlatformManifest

__all__ = [
    "GITIGNORE_ENTRY",
    "InitError",
    "InitResult",
    "ProfileTargets",
    "init_product",
    "read_profile_targets",
]

PRODUCT_FILE = "floe.yaml"
GITIGNORE_ENTRY = ".floe/"
_NOT_IDENTIFIER = re.compile(r"[^A-Za-z0-9_]")
_NOT_PRODUCT_NAME = re.compile(r"[^A-Za-z0-9_.-]")


class InitError(FloeError):
    """``floe init`` cannot start a product here: no dbt project, no usable profile, or files
    it would overwrite."""


@attrs.frozen
class ProfileTargets:
    """The targets of a dbt profile: where it was read (and how that folder was found:
    ``option``, ``environment``, ``project``, ``home``), its outputs' types, the default."""

    profile: str
    path: Path
    types: Mapping[str, str]
    default: str
    found_by: Literal["option", "environment", "project", "home"] = "project"


@attrs.frozen
class InitResult:
    """What :func:`init_product` did."""

    product: str
    project_dir: Path
    profiles: ProfileTargets
    compute_targets: Mapping[str, str]
    written: tuple[Path, ...]
    gitignore: Path
    gitignore_changed: bool


# Reading -----------------------------------------------------------------------------------
def _read_yaml(path: Path, what: str) -> dict[str, Any]:
    try:
        text = read_bounded(
            path,
            what=what,
            expected_size="a dbt setting and should be a few kilobytes",
            when_missing=f"floe init needs the dbt project's {what}",
            error=InitError,
        ).decode("utf-8")
        return load_yaml_mapping(text, origin=str(path))
    except UnicodeDecodeError as exc:
        raise InitError(f"{path}: not UTF-8 text; save it as UTF-8") from exc
    except CompileError as exc:
        raise InitError(str(exc)) from exc


def _found_by(
    project_dir: Path, profiles_dir: Path | None
) -> Literal["option", "environment", "project", "home"]:
    if profiles_dir is not None:
        return "option"
    if os.environ.get("DBT_PROFILES_DIR"):
        return "environment"
    return "project" if (project_dir / PROFILES_FILE).is_file() else "home"


def read_profile_targets(
    project_dir: Path, profile: str, profiles_dir: str | Path | None = None
) -> ProfileTargets:
    """The targets of ``profile`` and their adapter types, read and rendered by the core's
    profile reader (:mod:`floe_orchestration_core.dbt_profiles`) the way dbt reads them."""
    folder = Path(profiles_dir).expanduser().resolve() if profiles_dir is not None else None
    path = profiles_file(project_dir, folder, os.environ)
    try:
        profiles = _read_yaml(path, PROFILES_FILE)
        entry = profiles.get(profile)
        if not isinstance(entry, Mapping):
            known = ", ".join(sorted(k for k in profiles if k != "config"))
            raise InitError(
                f"{path}: no profile '{profile}' (dbt_project.yml's 'profile'); profiles here: "
                f"{known or 'none'}"
            )
        read = DbtProfile(file=path, name=profile, raw=dict(entry), environment=os.environ)
        if not read.target_names:
            raise InitError(f"{path}: profile '{profile}' has no outputs (its dbt targets)")
        types = {name: read.target(name).type for name in read.target_names}
        # dbt falls back to a target named "default"; a new product takes the first output.
        explicit = "target" in entry or os.environ.get("DBT_TARGET")
        default = read.default_target if explicit else read.target_names[0]
    except DbtProfileError as exc:
        raise InitError(str(exc)) from exc
    if default not in types:
        raise InitError(
            f"{path}: {profile}.target is '{default}', which is not one of its outputs "
            f"({', '.join(types)})"
        )
    return ProfileTargets(
        profile=profile,
        path=path,
        types=types,
        default=default,
        found_by=_found_by(project_dir, folder),
    )


# Writing -----------------------------------------------------------------------------------
def _identifier(name: str, taken: set[str]) -> str:
    """A compute target name (an identifier) for the dbt target ``name``, unique in
    ``taken``."""
    base = _NOT_IDENTIFIER.sub("_", name) or "target"
    if not (base[0].isalpha() or base[0] == "_"):
        base = f"_{base}"
    candidate, suffix = base, 1
    while candidate in taken:
        suffix += 1
        candidate = f"{base}_{suffix}"
    taken.add(candidate)
    return candidate


def _product_name(project: Mapping[str, Any], project_dir: Path) -> str:
    raw = project.get("name")
    name = _NOT_PRODUCT_NAME.sub("-", str(raw or project_dir.name)).lstrip("_.-")
    return name or "product"


def _shown_path(path: Path, project_dir: Path) -> str:
    """``path`` as a committed file may name it: relative to the project, or from ``~``."""
    if path.is_relative_to(project_dir):
        return str(path.relative_to(project_dir))
    if path.is_relative_to(Path.home()):
        return str(Path("~") / path.relative_to(Path.home()))
    return str(path)


def _relative(path: Path, start: Path) -> str:
    try:
        return os.path.relpath(path, start)
    except ValueError:  # another drive
        return str(path)


def _floe_yaml(
    project: Mapping[str, Any], project_dir: Path, targets: ProfileTargets
) -> tuple[str, str, dict[str, str]]:
    """(text, product name, compute target name -> dbt target)."""
    taken: set[str] = set()
    names = {dbt_target: _identifier(dbt_target, taken) for dbt_target in targets.types}
    dbt: dict[str, str] = {"project_dir": "."}
    if targets.found_by in ("option", "project"):  # else dbt finds it again by itself
        dbt["profiles_dir"] = _relative(targets.path.parent, project_dir)
    dbt["target"] = targets.default
    version = project.get("version")
    document = {
        "name": _product_name(project, project_dir),
        "version": str(version) if version not in (None, "") else "0.1.0",
        "dbt": dbt,
        "compute": {
            "default": names[targets.default],
            "targets": {
                name: {"type": targets.types[dbt_target], "dbt_target": dbt_target}
                for dbt_target, name in names.items()
            },
        },
    }
    header = (
        f"# The data product, started by 'floe init' from dbt_project.yml and\n"
        f"# {_shown_path(targets.path, project_dir)} (profile '{targets.profile}'): one compute "
        "target per dbt target.\n"
        "# Add schedules, sensors, Python assets and alerts: docs/reference/floe-yaml.md.\n"
    )
    text = header + yaml.safe_dump(document, sort_keys=False, default_flow_style=False)
    return text, str(document["name"]), {v: k for k, v in names.items()}


def _manifest_yaml() -> str:
    defaults = PlatformManifest()
    storage = defaults.storage.model_dump()
    document = {"orchestrator": defaults.orchestrator.type, "storage": storage}
    return (
        "# The platform that runs the product, written by 'floe init' with floe's defaults:\n"
        "# the orchestrator, and its runs, schedules and events in SQLite under .floe/.\n"
        + yaml.safe_dump(document, sort_keys=False, default_flow_style=None)
        + "# OpenLineage events to a file (pip install floe-lineage-openlineage):\n"
        "# lineage:\n"
        "#   type: openlineage\n"
        "#   config: {transport: {type: file, log_file_path: .floe/lineage/events.jsonl}}\n"
    )


def _ignore_state(gitignore: Path) -> bool:
    """Add ``.floe/`` to ``gitignore`` unless a line already ignores it; True if changed."""
    try:
        text = gitignore.read_text(encoding="utf-8")
    except FileNotFoundError:
        text = ""
    if {".floe", ".floe/", "/.floe", "/.floe/"} & {line.strip() for line in text.splitlines()}:
        return False
    separator = "" if not text else ("\n" if text.endswith("\n") else "\n\n")
    gitignore.write_text(
        text
        + separator
        + "# floe: compiled artifacts, the orchestrator's instance, local state\n"
        + f"{GITIGNORE_ENTRY}\n",
        encoding="utf-8",
    )
    return True


def init_product(
    project_dir: str | Path = ".",
    *,
    profiles_dir: str | Path | None = None,
    force: bool = False,
) -> InitResult:
    """Write floe.yaml, manifest.yaml and .gitignore for the dbt project in ``project_dir``."""
    from floe_orchestration_core.compile.product import parse_product_spec_text

    folder = Path(project_dir).resolve()
    if not (folder / "dbt_project.yml").is_file():
        raise InitError(
            f"no dbt_project.yml in '{project_dir}'; floe init starts a product from an "
            "existing dbt project: run it in the project's folder (or create one with "
            "'dbt init')"
        )
    project = _read_yaml(folder / "dbt_project.yml", "dbt_project.yml")
    profile = project.get("profile")
    if not isinstance(profile, str) or not profile:
        raise InitError(f"{folder / 'dbt_project.yml'}: 'profile' must name the dbt profile")
    targets = read_profile_targets(folder, profile, profiles_dir)
    product_text, product, compute = _floe_yaml(project, folder, targets)
    parse_product_spec_text(product_text, origin=f"{folder / PRODUCT_FILE} (as written)")
    files = {folder / PRODUCT_FILE: product_text, folder / DEFAULT_MANIFEST_NAME: _manifest_yaml()}
    existing = [path for path in files if path.exists()]
    if existing and not force:
        verb = "exists" if len(existing) == 1 else "exist"
        raise InitError(
            f"{' and '.join(str(p) for p in existing)} already {verb}; floe init does not "
            "overwrite a product's files: remove them, or run 'floe init --force' to replace "
            "them"
        )
    for path, text in files.items():
        path.write_text(text, encoding="utf-8")
    gitignore = folder / ".gitignore"
    changed = _ignore_state(gitignore)
    return InitResult(
        product=product,
        project_dir=folder,
        profiles=targets,
        compute_targets={name: targets.types[dbt] for name, dbt in compute.items()},
        written=tuple(files),
        gitignore=gitignore,
        gitignore_changed=changed,
    )
