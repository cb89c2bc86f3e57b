"""Finding and reading the product's dbt manifest: ``manifest.json`` or the slim manifest.

:func:`read_manifest` gives :meth:`~floe_orchestrator_dagster.dbt.manifest.ProjectManifest.load`
the decoded manifest it normalises, once per ``create_definitions``.

**Where the manifest is found.** ``artifacts.dbt.manifest_path`` is stored as given to
``floe compile`` (relative paths are relative to the folder it ran in). An absolute path is
used as is; a relative one is tried against the current directory first, then against
``artifacts.dbt.project_dir`` (itself relative to the current directory). When neither exists
the manifest is *rebuilt from the artifacts* (:meth:`ProjectManifest.from_artifacts`): the
assets, their dependencies and checks are the same, but descriptions carry no SQL and assets no
code version. A manifest whose sha256 differs from ``artifacts.dbt.manifest_checksum`` was
rewritten after compiling (any dbt command does that): it is used when it still describes the
same transforms and dependencies, and refused otherwise (:class:`DbtManifestError` naming the
differences: re-run ``floe compile``).

**The slim manifest.** When ``floe compile`` wrote one (``artifacts.dbt.slim_manifest_path``,
resolved like ``manifest_path``; :mod:`floe_orchestration_core.compile.slim_manifest`) it is read
instead of the full manifest — the same nodes minus keys nobody reads, a fraction of the size —
as long as the full manifest is unchanged (its sha256 is still ``manifest_checksum``, checked
without decoding it) or absent, and the slim manifest names that checksum
(``metadata.floe_manifest_checksum``). Otherwise the full manifest is read as above. Both give
the same normalised nodes.
"""

from __future__ import annotations

import hashlib
import json
import logging
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from floe_orchestration_core.artifacts import CompiledArtifacts
from floe_orchestrator_dagster.dbt.nodes import as_dict
from floe_orchestrator_dagster.errors import DbtManifestError

__all__ = ["read_manifest", "resolve_manifest_path"]

_LOG = logging.getLogger(__name__)

#: ``metadata`` key of a slim manifest
#: (``floe_orchestration_core.compile.slim_manifest.CHECKSUM_KEY``).
_SLIM_CHECKSUM_KEY = "floe_manifest_checksum"

#: The top-level sections of ``manifest.json`` that the manifest is normalised from.
_USED_SECTIONS = ("nodes", "sources", "metadata", "groups")


def resolve_manifest_path(
    artifacts: CompiledArtifacts, cwd: Path | None = None, *, given_path: str | None = None
) -> Path | None:
    """The existing manifest file of ``artifacts`` (rules in the module docstring), or None.

    ``given_path`` replaces ``artifacts.dbt.manifest_path`` (the slim manifest's path is
    resolved by the same rules).
    """
    base = cwd if cwd is not None else Path.cwd()
    given = Path(given_path if given_path is not None else artifacts.dbt.manifest_path)
    if given.is_absolute():
        candidates = [given]
    else:
        project_dir = Path(artifacts.dbt.project_dir)
        if not project_dir.is_absolute():
            project_dir = base / project_dir
        candidates = [base / given, project_dir / given]
    for candidate in candidates:
        if candidate.is_file():
            return candidate
    return None


def _loads(raw: bytes) -> Any:
    """Decode JSON with orjson when importable (a dependency of dagster-dbt), else ``json``.

    orjson builds the 66 MB manifest of 10,000 models about 3x faster and shares equal key
    strings; both raise a ``ValueError`` (``JSONDecodeError``) for invalid JSON.
    """
    try:
        import orjson
    except ImportError:  # pragma: no cover - dagster-dbt installs it
        return json.loads(raw)
    return orjson.loads(raw)


def _read_json(path: Path, expected_sha256: str) -> tuple[dict[str, Any], bool]:
    """The decoded manifest, and whether its bytes are the ones the artifacts were compiled
    from."""
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise DbtManifestError(f"{path}: the dbt manifest cannot be read ({exc.strerror})") from exc
    unchanged = hashlib.sha256(raw).hexdigest() == expected_sha256
    try:
        data = _loads(raw)
    except ValueError as exc:
        raise DbtManifestError(f"{path}: not valid JSON ({exc}); re-run 'dbt parse'") from exc
    finally:
        del raw
    if not isinstance(data, dict):
        raise DbtManifestError(f"{path}: expected a JSON object at the top level")
    return data, unchanged


def _graph_differences(artifacts: CompiledArtifacts, data: Mapping[str, Any]) -> list[str]:
    """How the transforms and dependencies of ``data`` differ from those of ``artifacts``.

    Any dbt command rewrites ``target/manifest.json`` (a new ``generated_at`` and invocation
    id), so bytes alone would refuse a manifest that describes the same product; what must
    match is what the definitions are built from: the enabled models, seeds and snapshots and
    the transforms and sources each depends on.
    """
    nodes = as_dict(data.get("nodes"))
    known = {t.unique_id: t for t in artifacts.transforms}
    source_ids = {s.unique_id for s in artifacts.sources}
    differences: list[str] = []
    for uid, node in nodes.items():
        props = as_dict(node)
        enabled = as_dict(props.get("config")).get("enabled", True) is not False
        is_transform = props.get("resource_type") in {"model", "seed", "snapshot"}
        if is_transform and enabled and uid not in known:
            differences.append(f"'{uid}' is new")
    uid_of = {t.name: t.unique_id for t in artifacts.transforms}
    key_of = {s.key: s.unique_id for s in artifacts.sources}
    for uid, transform in known.items():
        node = as_dict(nodes.get(uid))
        if not node:
            differences.append(f"'{uid}' is gone")
            continue
        declared = {uid_of[name] for name in transform.depends_on}
        declared |= {key_of[key] for key in transform.source_dependencies if key in key_of}
        found = {
            dep
            for dep in as_dict(node.get("depends_on")).get("nodes") or ()
            if dep in known or dep in source_ids
        }
        if found != declared:
            differences.append(f"'{uid}' now depends on {sorted(found)}, not {sorted(declared)}")
    return differences


def _file_sha256(path: Path) -> str | None:
    """The sha256 of a file, read in chunks (a big manifest is never held whole)."""
    digest = hashlib.sha256()
    try:
        with path.open("rb") as handle:
            while chunk := handle.read(1 << 20):
                digest.update(chunk)
    except OSError:
        return None
    return digest.hexdigest()


def _slim_manifest(
    artifacts: CompiledArtifacts, full_path: Path | None, cwd: Path | None
) -> dict[str, Any] | None:
    """The decoded slim manifest of ``artifacts``, when there is one and it can stand in for
    the full manifest (see the module docstring); None otherwise."""
    given = artifacts.dbt.slim_manifest_path
    if given is None:
        return None
    path = resolve_manifest_path(artifacts, cwd, given_path=given)
    if path is None:
        return None
    expected = artifacts.dbt.manifest_checksum
    if full_path is not None and _file_sha256(full_path) != expected:
        _LOG.info(
            "%s was rewritten since the artifacts were compiled: reading it instead of the "
            "slim manifest %s",
            full_path,
            path,
        )
        return None
    try:
        data = _loads(path.read_bytes())
    except (OSError, ValueError) as exc:
        _LOG.warning("slim dbt manifest %s cannot be read (%s): reading the full one", path, exc)
        return None
    metadata = data.get("metadata") if isinstance(data, dict) else None
    if isinstance(metadata, dict) and metadata.get(_SLIM_CHECKSUM_KEY) == expected:
        return data  # type: ignore[no-any-return]
    _LOG.warning(
        "slim dbt manifest %s was not cut from the manifest these artifacts were compiled "
        "from (re-run 'floe compile'): reading the full one",
        path,
    )
    return None


def read_manifest(
    artifacts: CompiledArtifacts, cwd: Path | None = None
) -> tuple[dict[str, Any], Path | None] | None:
    """The decoded manifest of ``artifacts`` (the sections that are normalised) and the path
    of the full manifest, or None when there is none (the definitions are then built from the
    artifacts alone; logged). Raises :class:`DbtManifestError` for a manifest that cannot be
    read or no longer describes the compiled transforms."""
    path = resolve_manifest_path(artifacts, cwd)
    slim = _slim_manifest(artifacts, path, cwd)
    if slim is not None:
        return slim, path
    if path is None:
        _LOG.warning(
            "dbt manifest %r not found (from the current directory or the project dir "
            "%r): building the definitions from the compiled artifacts alone",
            artifacts.dbt.manifest_path,
            artifacts.dbt.project_dir,
        )
        return None
    data, unchanged = _read_json(path, artifacts.dbt.manifest_checksum)
    if not unchanged:
        differences = _graph_differences(artifacts, data)
        if differences:
            listing = "; ".join(differences[:5])
            more = f" (and {len(differences) - 5} more)" if len(differences) > 5 else ""
            raise DbtManifestError(
                f"{path}: the dbt project changed since the artifacts were compiled: "
                f"{listing}{more}; re-run 'floe compile' after 'dbt parse' so that the "
                "artifacts and the manifest match"
            )
        _LOG.info(
            "%s was rewritten since the artifacts were compiled (its sha256 differs) but "
            "describes the same transforms and dependencies; using it",
            path,
        )
    # Keep only the sections that are normalised: macros, docs, disabled nodes, child/parent
    # maps, ... (most of a big manifest) are freed now, before the nodes are normalised.
    return {key: data.pop(key) for key in _USED_SECTIONS if key in data}, path
