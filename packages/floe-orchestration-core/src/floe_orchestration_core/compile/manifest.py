"""Read a dbt ``manifest.json`` (schema v4-v12, and dbt Fusion output) into plain typed records.

This module reads JSON only; it never imports dbt. It normalises the differences between
manifest schema versions so that :mod:`floe_orchestration_core.compile` sees one shape.

Checklist of what is read, and how (verified against real manifests v5-v12 and dbt Fusion's
manifest writer):

- **Version**: ``metadata.dbt_schema_version`` (``https://schemas.getdbt.com/dbt/manifest/v12.json``)
  gives ``v12``. v4-v12 are read. ``v20`` is read as v12: early dbt Fusion previews wrote it
  ("same metadata as v12", per dbt's docs); later Fusion releases write ``v12``. Anything else
  (v1-v3, v13-v19, v21+, or a missing version) is a :class:`CompileError` naming the version and
  the supported range.
- **Fusion quirks** (``metadata.dbt_version`` ``2.x``): nodes may carry ``"config": null``,
  ``"meta": null`` and ``config.tags: null``; optional keys are omitted rather than null
  (``description``, ``language``, ``relation_name``…); ``database`` and ``alias`` may be ``""``.
  So every nested object is treated as possibly null or missing, and empty strings of
  ``database``/``schema``/``alias`` read as "not set".
- **Root project**: ``metadata.project_name`` (v10+ and Fusion) when present; else the package whose
  md5 equals ``metadata.project_id`` (dbt sets project_id to md5 of the project name); else the
  package owning most nodes (ties: the alphabetically first).
- **Nodes**: ``resource_type`` model/seed/snapshot become :class:`NodeRecord` (in manifest order),
  ``test`` becomes :class:`TestRecord`; every other kind (analysis, operation, sql_operation,
  unit_test…) and every entry of ``metrics``, ``semantic_models``, ``saved_queries``,
  ``unit_tests``, ``groups`` and ``functions`` is only remembered by id
  (:attr:`DbtManifest.other_ids`), so a dependency on it can be told apart from a dependency
  on something that does not exist.
- **Disabled**: the ``disabled`` section (a mapping of unique_id to a list of node versions; a
  plain list is accepted too) and any node, source or exposure whose ``config.enabled`` is false are
  excluded and listed in :attr:`DbtManifest.disabled_ids`.
- **Owners**: ``meta.owner``/``meta.owners`` and ``config.meta.owner``/``config.meta.owners``
  (string or list), then the owner of the node's group (v10+: ``group`` names an entry of
  ``groups`` whose ``owner`` has ``email`` or ``name``). Duplicates are removed, order kept.
- **Tags**: ``tags`` then ``config.tags`` (string or list), de-duplicated in order. **Meta**:
  ``meta`` merged with ``config.meta`` (config wins; both are the same in dbt-core, Fusion only
  fills ``config.meta``).
- **Columns**: ``columns`` (a mapping of name to column; a list is accepted too) →
  :class:`ColumnRecord` with ``data_type`` and ``description``.

The records are :mod:`floe_orchestration_core.compile.manifest_records`.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections import Counter
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from floe_orchestration_core.compile.manifest_records import (
    ColumnRecord,
    DbtManifest,
    ExposureRecord,
    NodeRecord,
    SourceRecord,
    TestRecord,
)
from floe_orchestration_core.errors import CompileError

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
_VERSION_PATTERN = re.compile(r"/v(\d+)(?:\.json)?/?$|^v(\d+)$")
_OTHER_SECTIONS = (
    "metrics",
    "semantic_models",
    "saved_queries",
    "unit_tests",
    "groups",
    "functions",
    "macros",
)

_EMPTY: Mapping[str, Any] = {}


# Tolerant readers -----------------------------------------------------------------------------
def _obj(value: Any) -> Mapping[str, Any]:
    """``value`` when it is a JSON object, else an empty mapping (null, missing, wrong type)."""
    if type(value) is dict:  # the fast path: json.loads only makes dicts
        return value
    return value if isinstance(value, Mapping) else _EMPTY


def _text(value: Any) -> str | None:
    """A non-empty string, or None (Fusion writes "" where dbt-core writes null)."""
    if isinstance(value, str):
        return value or None
    return None


def _strings(*values: Any) -> tuple[str, ...]:
    """Strings from each value (a string or a list of strings), de-duplicated in order."""
    seen: dict[str, None] = {}
    for value in values:
        if type(value) is str:
            if value:
                seen[value] = None
        elif type(value) is list or type(value) is tuple:
            for item in value:
                if type(item) is str and item:
                    seen[item] = None
    return tuple(seen)


def _package_of(unique_id: str) -> str:
    """The package part of a dbt unique_id (``model.<package>.<name>``)."""
    parts = unique_id.split(".")
    return parts[1] if len(parts) > 2 else unique_id


def _enabled(node: Mapping[str, Any]) -> bool:
    return _obj(node.get("config")).get("enabled") is not False


def _columns(value: Any) -> tuple[ColumnRecord, ...]:
    items: Iterable[tuple[Any, Any]]
    if isinstance(value, Mapping):
        items = value.items()
    elif isinstance(value, list):
        items = ((None, column) for column in value)
    else:
        return ()
    columns: list[ColumnRecord] = []
    for key, raw in items:
        column = _obj(raw)
        name = _text(column.get("name")) or _text(key)
        if name is None:
            continue
        columns.append(
            ColumnRecord(
                name=name,
                data_type=_text(column.get("data_type")),
                description=_text(column.get("description")) or "",
            )
        )
    return tuple(columns)


def _meta(node: Mapping[str, Any], config: Mapping[str, Any]) -> dict[str, Any]:
    meta = dict(_obj(node.get("meta")))
    meta.update(_obj(config.get("meta")))
    return meta


def _version_number(value: Any) -> str | None:
    if value is None or isinstance(value, bool):
        return None
    if isinstance(value, int | float | str):
        return str(value) or None
    return None


def _depends_on(node: Mapping[str, Any]) -> tuple[str, ...]:
    return _strings(_obj(node.get("depends_on")).get("nodes"))


def _owner_of(owner: Any) -> tuple[str, ...]:
    """Owner strings of a dbt ``owner`` block ({email, name}; email may be a list)."""
    if isinstance(owner, str):
        return _strings(owner)
    block = _obj(owner)
    return _strings(block.get("email")) or _strings(block.get("name"))


# Versions and the root project ----------------------------------------------------------------
def _schema_version(metadata: Mapping[str, Any], origin: str) -> str:
    raw = metadata.get("dbt_schema_version")
    if not isinstance(raw, str) or not raw:
        raise CompileError(
            f"{origin}: metadata.dbt_schema_version is missing; floe reads dbt manifests "
            f"{_SUPPORTED_RANGE}. Is this a dbt manifest.json (target/manifest.json)?"
        )
    match = _VERSION_PATTERN.search(raw.strip())
    if match is None:
        raise CompileError(
            f"{origin}: metadata.dbt_schema_version '{raw}' is not a dbt manifest schema "
            f"(expected e.g. 'https://schemas.getdbt.com/dbt/manifest/v12.json')"
        )
    version = f"v{int(match.group(1) or match.group(2))}"
    if version not in SUPPORTED_SCHEMA_VERSIONS:
        advice = (
            "re-generate it with dbt >= 1.0 ('dbt parse')"
            if int(version[1:]) < 4
            else "upgrade floe-orchestration-core, or generate it with dbt <= 1.10"
        )
        raise CompileError(
            f"{origin}: manifest schema {version} is not supported; floe reads "
            f"{_SUPPORTED_RANGE}: {advice}"
        )
    return version


def _root_project(metadata: Mapping[str, Any], package_counts: Counter[str], origin: str) -> str:
    name = _text(metadata.get("project_name"))
    if name is not None:
        return name
    project_id = _text(metadata.get("project_id"))
    if project_id is not None:
        for package in package_counts:
            if hashlib.md5(package.encode(), usedforsecurity=False).hexdigest() == project_id:
                return package
    if package_counts:
        top = max(package_counts.values())
        return min(package for package, count in package_counts.items() if count == top)
    raise CompileError(
        f"{origin}: cannot tell the dbt project's name: metadata.project_name is missing and "
        "the manifest has no nodes; generate the manifest with 'dbt parse' in the project"
    )


# Records ---------------------------------------------------------------------------------------
def _node_record(
    unique_id: str,
    resource_type: str,
    node: Mapping[str, Any],
    group_owners: Mapping[str, tuple[str, ...]],
    origin: str,
) -> NodeRecord:
    config = _obj(node.get("config"))
    name = _text(node.get("name"))
    if name is None:
        raise CompileError(
            f"{origin}: node '{unique_id}' has no name; every dbt {resource_type} needs one "
            "(re-generate the manifest with 'dbt parse')"
        )
    meta = _meta(node, config)
    group = _text(node.get("group")) or _text(config.get("group"))
    owners = _strings(
        _obj(node.get("meta")).get("owner"),
        _obj(node.get("meta")).get("owners"),
        _obj(config.get("meta")).get("owner"),
        _obj(config.get("meta")).get("owners"),
        group_owners.get(group, ()) if group else (),
    )
    return NodeRecord(
        unique_id=unique_id,
        resource_type=resource_type,
        name=name,
        package_name=_text(node.get("package_name")) or _package_of(unique_id),
        path=_text(node.get("original_file_path")) or _text(node.get("path")) or "",
        database=_text(node.get("database")),
        schema=_text(node.get("schema")),
        alias=_text(node.get("alias")),
        materialized=_text(config.get("materialized")),
        language=_text(node.get("language")),
        version=_version_number(node.get("version")),
        depends_on=_depends_on(node),
        tags=_strings(node.get("tags"), config.get("tags")),
        meta=meta,
        description=_text(node.get("description")) or "",
        owners=owners,
        columns=_columns(node.get("columns")),
    )


def _test_record(unique_id: str, node: Mapping[str, Any]) -> TestRecord:
    config = _obj(node.get("config"))
    test_metadata = _obj(node.get("test_metadata"))
    test_name = _text(test_metadata.get("name"))
    namespace = _text(test_metadata.get("namespace"))
    if test_name is not None and namespace is not None:
        test_name = f"{namespace}.{test_name}"
    column = _text(_obj(test_metadata.get("kwargs")).get("column_name")) or _text(
        node.get("column_name")
    )
    return TestRecord(
        unique_id=unique_id,
        name=_text(node.get("name")) or unique_id.rsplit(".", maxsplit=1)[-1],
        test_name=test_name,
        column_name=column,
        attached_node=_text(node.get("attached_node")),
        file_key_name=_text(node.get("file_key_name")),
        severity=_text(config.get("severity")),
        depends_on=_depends_on(node),
        description=_text(node.get("description")) or "",
        tags=_strings(node.get("tags"), config.get("tags")),
    )


def _source_record(unique_id: str, source: Mapping[str, Any]) -> SourceRecord:
    config = _obj(source.get("config"))
    parts = unique_id.split(".")
    return SourceRecord(
        unique_id=unique_id,
        source_name=_text(source.get("source_name")) or (parts[2] if len(parts) > 3 else ""),
        name=_text(source.get("name")) or parts[-1],
        package_name=_text(source.get("package_name")) or _package_of(unique_id),
        database=_text(source.get("database")),
        schema=_text(source.get("schema")),
        identifier=_text(source.get("identifier")),
        loader=_text(source.get("loader")) or "",
        description=_text(source.get("description")) or "",
        tags=_strings(source.get("tags"), config.get("tags")),
        meta=_meta(source, config),
        columns=_columns(source.get("columns")),
    )


def _exposure_record(unique_id: str, exposure: Mapping[str, Any]) -> ExposureRecord:
    owners = _owner_of(exposure.get("owner"))
    return ExposureRecord(
        unique_id=unique_id,
        name=_text(exposure.get("name")) or unique_id.rsplit(".", maxsplit=1)[-1],
        type=_text(exposure.get("type")) or "",
        owner=owners[0] if owners else "",
        url=_text(exposure.get("url")),
        description=_text(exposure.get("description")) or "",
        depends_on=_depends_on(exposure),
    )


def _disabled_ids(disabled: Any) -> set[str]:
    if isinstance(disabled, Mapping):
        return {str(key) for key in disabled}
    if isinstance(disabled, list):
        return {uid for item in disabled if (uid := _text(_obj(item).get("unique_id")))}
    return set()


def _group_owners(groups: Any) -> dict[str, tuple[str, ...]]:
    owners: dict[str, tuple[str, ...]] = {}
    for group in _obj(groups).values():
        name = _text(_obj(group).get("name"))
        if name is not None:
            owners.setdefault(name, _owner_of(_obj(group).get("owner")))
    return owners


def _enabled_entries(section: Any, disabled: set[str]) -> list[tuple[str, Mapping[str, Any]]]:
    """(unique_id, entry) of a section's enabled entries; disabled ids go to ``disabled``."""
    entries: list[tuple[str, Mapping[str, Any]]] = []
    for key, raw in _obj(section).items():
        entry = _obj(raw)
        unique_id = _text(entry.get("unique_id")) or str(key)
        if _enabled(entry):
            entries.append((unique_id, entry))
        else:
            disabled.add(unique_id)
    return entries


# Entry points ---------------------------------------------------------------------------------
def parse_manifest(data: Mapping[str, Any], *, origin: str = "manifest.json") -> DbtManifest:
    """Normalise an already-decoded manifest; ``origin`` names it in error messages."""
    if not isinstance(data, Mapping):
        raise CompileError(
            f"{origin}: expected a JSON object at the top level, got {type(data).__name__}"
        )
    metadata = _obj(data.get("metadata"))
    schema_version = _schema_version(metadata, origin)
    group_owners = _group_owners(data.get("groups"))
    disabled = _disabled_ids(data.get("disabled"))
    other: set[str] = set()
    for section in _OTHER_SECTIONS:
        other.update(str(key) for key in _obj(data.get(section)))

    nodes: list[NodeRecord] = []
    tests: list[TestRecord] = []
    package_counts: Counter[str] = Counter()
    for key, raw in _obj(data.get("nodes")).items():
        node = _obj(raw)
        unique_id = _text(node.get("unique_id")) or str(key)
        resource_type = _text(node.get("resource_type")) or unique_id.split(".")[0]
        package_counts[_text(node.get("package_name")) or _package_of(unique_id)] += 1
        if not _enabled(node):
            disabled.add(unique_id)
        elif resource_type in TRANSFORM_RESOURCE_TYPES:
            nodes.append(_node_record(unique_id, resource_type, node, group_owners, origin))
        elif resource_type == "test":
            tests.append(_test_record(unique_id, node))
        else:
            other.add(unique_id)

    sources = [
        _source_record(uid, source)
        for uid, source in _enabled_entries(data.get("sources"), disabled)
    ]
    exposures = [
        _exposure_record(uid, exposure)
        for uid, exposure in _enabled_entries(data.get("exposures"), disabled)
    ]
    return DbtManifest(
        origin=origin,
        schema_version=schema_version,
        dbt_version=_text(metadata.get("dbt_version")),
        project_name=_root_project(metadata, package_counts, origin),
        adapter_type=_text(metadata.get("adapter_type")),
        nodes=tuple(nodes),
        tests=tuple(tests),
        sources=tuple(sources),
        exposures=tuple(exposures),
        disabled_ids=frozenset(disabled),
        other_ids=frozenset(other),
    )


def read_manifest_file(path: str | Path) -> tuple[bytes, Any]:
    """The bytes of a manifest file and its decoded JSON; CompileError naming the file."""
    path = Path(path)
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        raise CompileError(
            f"{path}: no such file; run 'dbt parse' (or 'dbt compile') in the dbt project to "
            "write target/manifest.json"
        ) from None
    except OSError as exc:
        raise CompileError(f"{path}: cannot be read ({exc.strerror or exc})") from exc
    try:
        return raw, json.loads(raw)
    except UnicodeDecodeError as exc:
        raise CompileError(f"{path}: not UTF-8 text ({exc.reason}); expected dbt's JSON") from exc
    except json.JSONDecodeError as exc:
        raise CompileError(
            f"{path}: not valid JSON (line {exc.lineno}, column {exc.colno}: {exc.msg}); "
            "re-generate it with 'dbt parse'"
        ) from exc


def load_manifest(source: str | Path | Mapping[str, Any]) -> DbtManifest:
    """Read a manifest from a file path (str or Path) or an already-decoded mapping."""
    if isinstance(source, str | Path):
        _, data = read_manifest_file(source)
        return parse_manifest(data, origin=str(source))
    return parse_manifest(source)
