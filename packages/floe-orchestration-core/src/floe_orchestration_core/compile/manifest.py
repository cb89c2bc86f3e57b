"""Read a dbt ``manifest.json`` (schema v4-v12, and dbt Fusion output) into plain typed records.

This module reads JSON only; it never imports dbt. It normalises the differences between
manifest schema versions so that :mod:`floe_orchestration_core.compile` sees one shape, and it
checks the structure of every field it reads: a field of the wrong type, or missing where dbt
always writes it, is an :class:`~floe_orchestration_core.errors.InvalidManifestError` naming
the file, the JSON path of the first bad field and what dbt writes there (checked against dbt's
published manifest schemas v4-v12, the manifests of the shared corpus and dbt Fusion's
writer). Decoding (size, nesting depth, duplicate keys) is
:mod:`~floe_orchestration_core.compile.manifest_json`.

**Version**: ``metadata.dbt_schema_version`` (``https://schemas.getdbt.com/dbt/manifest/v12.json``)
gives ``v12``. v4-v12 are read. ``v20`` is read as v12: early dbt Fusion previews wrote it
("same metadata as v12", per dbt's docs); later Fusion releases write ``v12``. Anything else
(v1-v3, v13-v19, v21+, or a missing version) is refused naming the version and the range.

**What is read, and what dbt writes there** ("opt." = may be missing or null, which reads as
not set; Fusion writes ``""`` for unset ``database``/``alias``, read as not set too):

=========================  ===================================================================
``metadata``               object: ``dbt_schema_version`` string; opt. strings
                           ``dbt_version``, ``project_name``, ``project_id``, ``adapter_type``
``nodes``, ``sources``,    objects keyed by unique_id (a node's ``unique_id``, when written,
``exposures``              equals its key; one unique_id in two sections is refused)
every node                 ``resource_type`` one of model, seed, snapshot, test, analysis,
                           operation, sql_operation, sql, rpc, unit_test, function;
                           ``package_name`` string; ``config`` object or null (Fusion), with
                           opt. ``enabled`` boolean
model, seed, snapshot      ``name`` non-empty string; ``original_file_path`` string;
                           ``schema`` string; opt. strings ``database``, ``alias``,
                           ``language``, ``description``, ``group``, ``config.materialized``,
                           ``config.group``; opt. ``version`` string or number; opt. objects
                           ``meta``, ``config.meta``; opt. tags ``tags``, ``config.tags`` (a
                           string or an array of strings); ``columns`` (below);
                           ``depends_on`` object with ``nodes`` (an array of unique_ids) —
                           required for models and snapshots, optional for seeds (dbt < 1.5
                           writes seeds' ``depends_on`` with ``macros`` only)
test                       ``name`` non-empty string; ``depends_on.nodes`` required; opt.
                           ``test_metadata`` object (``name`` string, opt. ``namespace``,
                           opt. ``kwargs`` object with opt. ``column_name``); opt. strings
                           ``column_name``, ``attached_node``, ``file_key_name``,
                           ``description``, ``config.severity``; opt. tags
``columns`` (nodes and     opt. object of column objects (an array of them is read too), each
sources)                   with opt. strings ``name`` (default: its key), ``data_type``,
                           ``description``
source                     ``source_name``, ``name`` non-empty strings; ``package_name``,
                           ``schema`` strings; opt. strings ``database``, ``identifier``,
                           ``loader``, ``description``; opt. ``config`` (``enabled``, ``tags``,
                           ``meta``), ``meta``, ``tags``, ``columns``
exposure                   ``name``, ``type`` strings; ``depends_on.nodes`` required; opt.
                           ``owner`` (object with opt. ``email`` — string or array — and
                           ``name``, or a string), ``url``, ``description``, ``config.enabled``
``groups``                 opt. object; each group: ``name`` string, opt. ``owner`` as above
``disabled``               opt. object keyed by unique_id (or null); only the unique_ids
                           are read
``metrics``,               opt. objects keyed by unique_id; only the unique_ids are read
``semantic_models``,
``saved_queries``,
``unit_tests``,
``functions``, ``macros``
=========================  ===================================================================

**Names**: a transform's, test's, exposure's or source's name (and a source's
``source_name``) holds no whitespace, control character, ``/`` or ``\\``: dbt's selectors
split on whitespace (dbt itself refuses spaces in resource names, behind a flag newer
releases turn on) and names come from file names. Other characters (quotes, dots, emoji) are
the orchestrator's to judge (:meth:`OrchestratorPlugin.check_names`; decision 10).

**Root project**: ``metadata.project_name`` (v10+ and Fusion) when present; else the package
whose md5 equals ``metadata.project_id`` (dbt sets project_id to md5 of the project name);
else the package owning most nodes (ties: the alphabetically first).

**Nodes**: model/seed/snapshot become :class:`NodeRecord` (in manifest order), test becomes
:class:`TestRecord`; analyses, operations, unit tests and every entry of the id-only sections
above are remembered by id (:attr:`DbtManifest.other_ids`), so a dependency on one can be told
apart from a dependency on something that does not exist.

**Disabled**: the ``disabled`` section and any node, source or exposure whose
``config.enabled`` is false are excluded and listed in :attr:`DbtManifest.disabled_ids`.

**Owners**: ``meta.owner``/``meta.owners`` and ``config.meta.owner``/``config.meta.owners``
(string or list of strings; other types are not owners and stay in ``meta`` only), then the
owner of the node's group (``email``, else ``name``). Duplicates are removed, order kept.
**Tags**: ``tags`` then ``config.tags``, de-duplicated in order. **Meta**: ``meta`` merged with
``config.meta`` (config wins; both are the same in dbt-core, Fusion only fills ``config.meta``).

What is not read at all (and so not carried) is listed in ``docs/reference/compiled-artifacts.md``
("What the compiler does not carry"). The records are
:mod:`floe_orchestration_core.compile.manifest_records`.
"""

from __future__ import annotations

import hashlib
import re
from collections import Counter
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from floe_orchestration_core.compile.manifest_fields import MISSING, FieldError, Fields, describe
from floe_orchestration_core.compile.manifest_json import (
    check_nesting,
    json_path,
    read_manifest_file,
)
from floe_orchestration_core.compile.manifest_nodes import (
    exposure_record,
    node_config,
    node_record,
    owner_of,
    source_record,
    test_record,
)
from floe_orchestration_core.compile.manifest_records import (
    DbtManifest,
    ExposureRecord,
    NodeRecord,
    SourceRecord,
    TestRecord,
)
from floe_orchestration_core.errors import (
    DuplicateUniqueIdError,
    InvalidManifestError,
    quoted,
)

__all__ = [
    "SUPPORTED_SCHEMA_VERSIONS",
    "TRANSFORM_RESOURCE_TYPES",
    "load_manifest",
    "parse_manifest",
    "read_manifest_file",
]

#: Manifest schema versions this reader understands (``v20`` is early dbt Fusion's name for v12).
SUPPORTED_SCHEMA_VERSIONS: tuple[str, ...] = (*(f"v{n}" for n in range(4, 13)), "v20")
_SUPPORTED_RANGE = "v4-v12 (and dbt Fusion's v20)"
TRANSFORM_RESOURCE_TYPES = frozenset({"model", "seed", "snapshot"})
_OTHER_NODE_TYPES = frozenset(
    {"analysis", "operation", "sql_operation", "sql", "rpc", "unit_test", "function"}
)
_NODE_TYPE_SET = frozenset({*TRANSFORM_RESOURCE_TYPES, "test", *_OTHER_NODE_TYPES})
_NODE_TYPES = ", ".join(sorted(_NODE_TYPE_SET))
_VERSION_PATTERN = re.compile(r"/v(\d+)(?:\.json)?/?$|^v(\d+)$")
_ID_ONLY_SECTIONS = (
    "metrics",
    "semantic_models",
    "saved_queries",
    "unit_tests",
    "groups",
    "functions",
    "macros",
)


# Sections --------------------------------------------------------------------------------------
def _section(root: Fields, key: str, *, required: bool) -> dict[str, Any]:
    """A top-level section keyed by unique_id: an object (required ones must be present)."""
    value = root.data.get(key, MISSING)
    if type(value) is dict:
        return value
    if not required and (value is None or value is MISSING):
        return {}
    raise root.error(key, "an object keyed by unique_id" + ("" if required else " or null"), value)


def _entries(root: Fields, key: str, *, required: bool) -> list[tuple[str, Fields]]:
    """(unique_id, entry) of a section; an entry's ``unique_id``, when written, is its key."""
    at = (key,)
    entries: list[tuple[str, Fields]] = []
    for uid, raw in _section(root, key, required=required).items():
        if type(raw) is not dict:
            raise FieldError((*at, uid), "an object (a dbt node)", describe(raw))
        entry = Fields(raw, (*at, uid))
        written = raw.get("unique_id", uid)
        if written != uid:
            found = quoted(written) if isinstance(written, str) else describe(written)
            raise FieldError(
                (*at, uid, "unique_id"),
                f"the key {quoted(uid)}",
                found,
                "dbt keys a node by its unique_id",
            )
        entries.append((uid, entry))
    return entries


def _resource_type(node: Fields) -> str:
    resource_type = node.required_text("resource_type")
    if resource_type in _NODE_TYPE_SET:
        return resource_type
    raise FieldError(
        (*node.at, "resource_type"),
        f"one of {_NODE_TYPES}",
        quoted(resource_type),
        "a node type this floe does not know: was the manifest written by a newer dbt?",
    )


def _enabled(config: Fields | None) -> bool:
    return config is None or config.boolean("enabled") is not False


def _disabled_ids(root: Fields) -> set[str]:
    """The unique_ids of the ``disabled`` section (dbt v4-v12: an object or null)."""
    return set(_section(root, "disabled", required=False))


def _group_owners(root: Fields) -> dict[str, tuple[str, ...]]:
    owners: dict[str, tuple[str, ...]] = {}
    for _, group in _entries(root, "groups", required=False):
        owners.setdefault(group.required_text("name", allow_empty=False), owner_of(group))
    return owners


def _refused(origin: str, path: str, expected: str, message: str) -> InvalidManifestError:
    return InvalidManifestError(
        f"{origin}: {path}: {message}", file=origin, path=path, expected=expected
    )


def _schema_version(metadata: Fields, origin: str) -> str:
    path = "metadata.dbt_schema_version"
    expected = f"a dbt manifest schema URL of {_SUPPORTED_RANGE}"
    raw = metadata.data.get("dbt_schema_version")
    if not isinstance(raw, str) or not raw:
        raise _refused(
            origin,
            path,
            expected,
            f"missing; floe reads dbt manifests {_SUPPORTED_RANGE}. Is this a dbt "
            "manifest.json (target/manifest.json)?",
        )
    match = _VERSION_PATTERN.search(raw.strip())
    if match is None:
        raise _refused(
            origin,
            path,
            expected,
            f"{quoted(raw)} is not a dbt manifest schema (expected e.g. "
            "'https://schemas.getdbt.com/dbt/manifest/v12.json')",
        )
    version = f"v{int(match.group(1) or match.group(2))}"
    if version not in SUPPORTED_SCHEMA_VERSIONS:
        advice = (
            "re-generate it with dbt >= 1.0 ('dbt parse')"
            if int(version[1:]) < 4
            else "upgrade floe-orchestration-core, or generate it with dbt <= 1.10"
        )
        raise _refused(
            origin,
            path,
            expected,
            f"manifest schema {version} is not supported; floe reads {_SUPPORTED_RANGE}: {advice}",
        )
    return version


def _root_project(metadata: Fields, package_counts: Counter[str], origin: str) -> str:
    name = metadata.text("project_name")
    if name is not None:
        return name
    project_id = metadata.text("project_id")
    if project_id is not None:
        for package in package_counts:
            if hashlib.md5(package.encode(), usedforsecurity=False).hexdigest() == project_id:
                return package
    if package_counts:
        top = max(package_counts.values())
        return min(package for package, count in package_counts.items() if count == top)
    raise _refused(
        origin,
        "metadata.project_name",
        "the dbt project's name",
        "cannot tell the dbt project's name: metadata.project_name is missing and the "
        "manifest has no nodes; generate the manifest with 'dbt parse' in the project",
    )


def _refuse_shared_ids(sections: Mapping[str, list[tuple[str, Fields]]], origin: str) -> None:
    seen: dict[str, str] = {}
    for section, entries in sections.items():
        for uid, _ in entries:
            first = seen.setdefault(uid, section)
            if first != section:
                path = json_path((section, uid))
                raise DuplicateUniqueIdError(
                    f"{origin}: {path}: unique_id {quoted(uid)} is both in {first} and in "
                    f"{section}; dbt writes each node once: re-generate it with 'dbt parse'",
                    file=origin,
                    path=path,
                    unique_id=uid,
                )


# Entry points ---------------------------------------------------------------------------------
def parse_manifest(
    data: Mapping[str, Any], *, origin: str = "manifest.json", decoded: bool = False
) -> DbtManifest:
    """Normalise an already-decoded manifest; ``origin`` names it in error messages.

    Raises :class:`InvalidManifestError` at the first field that is not what dbt writes, or
    when ``data`` nests deeper than the limit (checked unless ``decoded`` says
    :func:`~floe_orchestration_core.compile.manifest_json.decode_manifest` did already).
    """
    if type(data) is not dict:
        if not isinstance(data, Mapping):
            raise InvalidManifestError(
                f"{origin}: expected a JSON object at the top level, got {describe(data)}",
                file=origin,
                path="$",
                expected="a JSON object",
            )
        data = dict(data)
    if not decoded:
        check_nesting(data, origin)
    try:
        return _parse(Fields(data, ()), origin)
    except FieldError as exc:
        path = json_path(exc.parts)
        hint = exc.hint or (
            "dbt writes it so: re-generate the manifest with 'dbt parse' (was the file edited, "
            "or written by another tool?)"
        )
        raise InvalidManifestError(
            f"{origin}: {path}: expected {exc.expected}, got {exc.found}; {hint}",
            file=origin,
            path=path,
            expected=exc.expected,
        ) from None


def _parse(root: Fields, origin: str) -> DbtManifest:
    metadata = root.required_obj("metadata")
    schema_version = _schema_version(metadata, origin)
    dbt_version = metadata.text("dbt_version")
    adapter_type = metadata.text("adapter_type")
    group_owners = _group_owners(root)
    disabled = _disabled_ids(root)
    other: set[str] = set()
    for section in _ID_ONLY_SECTIONS:
        other.update(_section(root, section, required=False))

    sections = {
        key: _entries(root, key, required=True) for key in ("nodes", "sources", "exposures")
    }
    _refuse_shared_ids(sections, origin)
    nodes: list[NodeRecord] = []
    tests: list[TestRecord] = []
    package_counts: Counter[str] = Counter()
    for uid, node in sections["nodes"]:
        resource_type = _resource_type(node)
        package_counts[node.required_text("package_name", allow_empty=False)] += 1
        config = node_config(node)
        if not _enabled(config):
            disabled.add(uid)
        elif resource_type in TRANSFORM_RESOURCE_TYPES:
            nodes.append(node_record(uid, resource_type, node, config, group_owners))
        elif resource_type == "test":
            tests.append(test_record(uid, node, config))
        else:
            other.add(uid)

    sources: list[SourceRecord] = []
    for uid, source in sections["sources"]:
        config = source.obj("config")
        if _enabled(config):
            sources.append(source_record(uid, source, config))
        else:
            disabled.add(uid)
    exposures: list[ExposureRecord] = []
    for uid, exposure in sections["exposures"]:
        if _enabled(exposure.obj("config")):
            exposures.append(exposure_record(uid, exposure))
        else:
            disabled.add(uid)
    return DbtManifest(
        origin=origin,
        schema_version=schema_version,
        dbt_version=dbt_version,
        project_name=_root_project(metadata, package_counts, origin),
        adapter_type=adapter_type,
        nodes=tuple(nodes),
        tests=tuple(tests),
        sources=tuple(sources),
        exposures=tuple(exposures),
        disabled_ids=frozenset(disabled),
        other_ids=frozenset(other),
    )


def load_manifest(source: str | Path | Mapping[str, Any]) -> DbtManifest:
    """Read a manifest from a file path (str or Path) or an already-decoded mapping."""
    if isinstance(source, str | Path):
        _, data = read_manifest_file(source)
        return parse_manifest(data, origin=str(source), decoded=True)
    return parse_manifest(source)
