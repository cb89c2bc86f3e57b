"""dbt nodes as :class:`~floe_orchestrator_dagster.dbt.manifest.ProjectManifest` holds them.

One function per resource type turns a decoded ``manifest.json`` node (or nothing, when the
manifest is absent) and floe's record of it into the dict dagster-dbt reads; the rules are in
the module docstring of :mod:`~floe_orchestrator_dagster.dbt.manifest`. Keys neither
dagster-dbt nor floe reads are dropped (:data:`UNREAD_KEYS`), and :func:`stub_node` keeps what a
node read by another decorator needs.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterable, Mapping
from pathlib import PurePosixPath
from typing import Any

from floe_orchestration_core.artifacts import QualityCheck, SourceConfig, TransformConfig
from floe_orchestration_core.compile.slim_manifest import DROPPED_NODE_KEYS

__all__ = [
    "UNREAD_KEYS",
    "as_dict",
    "base_node",
    "dbt_name",
    "distinct_version_aliases",
    "source_node",
    "stub_node",
    "test_node",
    "transform_node",
]

#: Dagster check names are ``[A-Za-z0-9_]+``; a test's name becomes its check's name.
_NOT_NAME = re.compile(r"[^A-Za-z0-9_]")


def as_dict(value: object) -> dict[str, Any]:
    return dict(value) if isinstance(value, Mapping) else {}


def dbt_name(transform: TransformConfig) -> str:
    """The dbt node name of ``transform``: its name, without the ``_v<N>`` of a versioned
    model (taken from the unique_id ``model.<package>.<name>.v<N>``; a name may hold dots)."""
    if transform.version is None:
        return transform.name
    parts = transform.unique_id.split(".")
    return ".".join(parts[2:-1]) if len(parts) > 3 else parts[-1]


def _list(value: object) -> list[Any]:
    return list(value) if isinstance(value, list | tuple) else []


def _fqn_from_path(package: str, path: str, name: str, version: str | None) -> list[str]:
    # dbt's fqn: package, the folders below the resource folder (models/, seeds/...), name.
    folders = list(PurePosixPath(path.replace(os.sep, "/")).parts[1:-1])
    return [package, *folders, name, *([f"v{version}"] if version is not None else [])]


def _columns(columns: Iterable[Any]) -> dict[str, Any]:
    return {
        c.name: {"name": c.name, "data_type": c.data_type, "description": c.description}
        for c in columns
    }


def distinct_version_aliases(
    nodes: dict[str, dict[str, Any]], transforms: Iterable[TransformConfig]
) -> None:
    """Give versions of one model sharing an alias dbt's default alias ``name_v<N>``.

    dagster-dbt keys a versioned model by its alias; two versions with one alias (which dbt
    refuses at parse time, but a hand-edited manifest may hold) would share an asset key.
    """
    versioned = [t for t in transforms if t.version is not None]
    seen: dict[str, int] = {}
    for transform in versioned:
        alias = nodes[transform.unique_id]["alias"]
        seen[alias] = seen.get(alias, 0) + 1
    for transform in versioned:
        node = nodes[transform.unique_id]
        if seen[node["alias"]] > 1:
            node["alias"] = transform.name


#: Node keys neither dagster-dbt nor floe reads (at definition or run time): dropped, so the
#: manifests kept in the assets' metadata for the process's lifetime hold less. The slim
#: manifest ``floe compile`` writes drops the same keys (one list, in the core).
UNREAD_KEYS: tuple[str, ...] = DROPPED_NODE_KEYS
#: What a stub (a node another decorator builds, or a source, read by this one) keeps: what
#: its asset key, and dagster-dbt's lookups of it at run time, need.
_STUB_KEYS: tuple[str, ...] = (
    "unique_id",
    "resource_type",
    "name",
    "package_name",
    "source_name",
    "fqn",
    "alias",
    "version",
    "identifier",
    "database",
    "schema",
    "meta",
    "config",
    "tags",
    "description",
    "original_file_path",
    "path",
)


def stub_node(node: Mapping[str, Any]) -> dict[str, Any]:
    stub = {key: node[key] for key in _STUB_KEYS if key in node}
    stub["depends_on"] = {"nodes": [], "macros": []}
    return stub


def base_node(raw: object) -> dict[str, Any]:
    node = as_dict(raw)
    for key in UNREAD_KEYS:
        node.pop(key, None)
    for key in ("tags", "fqn"):
        node[key] = [str(v) for v in _list(node.get(key))]
    for key in ("meta", "columns", "checksum"):
        node[key] = as_dict(node.get(key))
    node["description"] = node.get("description") or ""
    return node


def transform_node(
    transform: TransformConfig,
    raw: object,
    uid_of: Mapping[str, str],
    source_uid: Mapping[str, str],
) -> dict[str, Any]:
    node = base_node(raw)
    config = as_dict(node.get("config"))
    config["materialized"] = transform.materialization
    config["enabled"] = True
    config["meta"] = as_dict(config.get("meta"))
    config["tags"] = [str(v) for v in _list(config.get("tags"))] or list(transform.tags)
    node.update(
        unique_id=transform.unique_id,
        resource_type=transform.resource_type.value,
        name=node.get("name") or dbt_name(transform),
        package_name=transform.package_name,
        original_file_path=node.get("original_file_path") or transform.path,
        path=node.get("path") or transform.path,
        database=transform.database,
        schema=transform.schema_name,
        alias=transform.alias or node.get("name") or transform.name,
        config=config,
        depends_on={
            "nodes": [
                *(uid_of[name] for name in transform.depends_on),
                *(source_uid[key] for key in transform.source_dependencies),
            ],
            "macros": [str(m) for m in _list(as_dict(node.get("depends_on")).get("macros"))],
        },
    )
    if transform.version is not None:
        node["version"] = transform.version
    if not node["fqn"]:
        node["fqn"] = _fqn_from_path(
            transform.package_name, transform.path, node["name"], transform.version
        )
    if raw is None:
        node.update(
            tags=list(transform.tags),
            meta=dict(transform.meta),
            description=transform.description,
            columns=_columns(transform.columns),
            language=transform.language,
        )
    return node


def source_node(source: SourceConfig, raw: object) -> dict[str, Any]:
    node = base_node(raw)
    config = as_dict(node.get("config"))
    config["enabled"] = True
    config["meta"] = as_dict(config.get("meta"))
    config["tags"] = [str(v) for v in _list(config.get("tags"))]
    node.update(
        unique_id=source.unique_id,
        resource_type="source",
        source_name=source.source_name,
        name=source.name,
        package_name=source.package_name,
        database=source.database,
        schema=source.schema_name,
        identifier=source.identifier or source.name,
        original_file_path=node.get("original_file_path") or "",
        config=config,
    )
    if not node["fqn"]:
        node["fqn"] = [source.package_name, source.source_name, source.name]
    if raw is None:
        node.update(
            tags=list(source.tags),
            meta=dict(source.meta),
            description=source.description,
            columns=_columns(source.columns),
            loader=source.loader,
        )
    return node


def test_node(
    check: QualityCheck,
    raw: object,
    attached_uid: str,
    uid_of: Mapping[str, str],
    source_uid: Mapping[str, str],
) -> dict[str, Any]:
    node = base_node(raw)
    config = as_dict(node.get("config"))
    config["enabled"] = True
    config["severity"] = check.severity.value.upper()
    config["meta"] = as_dict(config.get("meta"))
    package = check.unique_id.split(".")[1] if check.unique_id.count(".") >= 2 else "floe"
    known = (uid_of.get(ref) or source_uid.get(ref) for ref in check.references)
    parents = [uid for uid in known if uid is not None]
    if attached_uid not in parents:
        parents.append(attached_uid)
    node.update(
        unique_id=check.unique_id,
        resource_type="test",
        name=_NOT_NAME.sub("_", check.name),
        package_name=node.get("package_name") or package,
        original_file_path=node.get("original_file_path") or "",
        config=config,
        attached_node=attached_uid,
        depends_on={
            "nodes": parents,
            "macros": [str(m) for m in _list(as_dict(node.get("depends_on")).get("macros"))],
        },
    )
    if not node["fqn"]:
        node["fqn"] = [package, check.name]
    if raw is None:
        node.update(tags=list(check.tags), description=check.description)
        node["column_name"] = check.column
        if check.kind == "generic":
            node["test_metadata"] = {
                "name": check.test_name,
                "kwargs": {"column_name": check.column} if check.column else {},
            }
    return node
