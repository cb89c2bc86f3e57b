"""One node of a dbt manifest into its record: :class:`NodeRecord` (model, seed, snapshot),
:class:`TestRecord`, :class:`SourceRecord`, :class:`ExposureRecord`.

The rules (which fields, of which type, and how they are normalised) are the table in
:mod:`floe_orchestration_core.compile.manifest`; each read is checked by
:mod:`floe_orchestration_core.compile.manifest_fields`.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from floe_orchestration_core.compile.manifest_fields import FieldError, Fields, describe
from floe_orchestration_core.compile.manifest_records import (
    ColumnRecord,
    ExposureRecord,
    NodeRecord,
    SourceRecord,
    TestRecord,
)
from floe_orchestration_core.errors import quoted

__all__ = [
    "exposure_record",
    "node_config",
    "node_record",
    "owner_of",
    "package_of",
    "source_record",
    "test_record",
]

_NAME_RULE = (
    "a name without whitespace, control characters, '/' or '\\' (dbt's selectors split on "
    "whitespace; dbt refuses spaces in resource names)"
)


def package_of(unique_id: str) -> str:
    """The package part of a dbt unique_id (``model.<package>.<name>``)."""
    parts = unique_id.split(".")
    return parts[1] if len(parts) > 2 else unique_id


def _dedupe(*groups: tuple[str, ...]) -> tuple[str, ...]:
    return tuple(dict.fromkeys(item for group in groups for item in group))


def _name(entry: Fields, key: str = "name") -> str:
    """A resource name: a non-empty string holding no whitespace, control character or slash."""
    name = entry.required_text(key, allow_empty=False)
    if not name.isprintable() or " " in name or "/" in name or "\\" in name:
        raise FieldError(
            (*entry.at, key),
            _NAME_RULE,
            f"{quoted(name)}",
            "rename the dbt file (or the YAML entry) it comes from",
        )
    return name


def _columns(entry: Fields) -> tuple[ColumnRecord, ...]:
    value = entry.data.get("columns")
    if value is None:
        return ()
    if type(value) is dict:
        items: list[tuple[str | int, Any]] = list(value.items())
    elif type(value) is list:
        items = list(enumerate(value))
    else:
        raise entry.error("columns", "an object of columns or null", value)
    columns: list[ColumnRecord] = []
    at = (*entry.at, "columns")
    for key, raw in items:
        if type(raw) is not dict:
            raise FieldError((*at, key), "an object (a column)", describe(raw))
        column = Fields(raw, (*at, key))
        name = column.text("name") or (key if isinstance(key, str) and key else None)
        if name is None:
            raise column.error("name", "a non-empty string (the column's name)", raw.get("name"))
        columns.append(
            ColumnRecord(
                name=name,
                data_type=column.text("data_type"),
                description=column.text("description") or "",
            )
        )
    return tuple(columns)


def _owner_values(meta: dict[str, Any]) -> tuple[str, ...]:
    """Owner strings of a ``meta`` mapping: ``owner``/``owners``, each a string or a list."""
    found: list[str] = []
    for key in ("owner", "owners"):
        value = meta.get(key)
        if type(value) is str:
            found.append(value)
        elif type(value) is list:
            found.extend(item for item in value if type(item) is str)
    return tuple(owner for owner in found if owner)


def owner_of(entry: Fields) -> tuple[str, ...]:
    """Owner strings of a dbt ``owner`` block ({email, name}; email may be a list)."""
    value = entry.data.get("owner")
    if value is None:
        return ()
    if type(value) is str:
        return (value,) if value else ()
    owner = entry.child("owner", value, "an object (email, name), a string or null")
    return owner.strings("email") or ((name,) if (name := owner.text("name")) else ())


def _depends_on(entry: Fields, *, required: bool) -> tuple[str, ...]:
    depends = entry.required_obj("depends_on") if required else entry.obj("depends_on")
    if depends is None:
        return ()
    return _dedupe(depends.string_list("nodes", required=required))


def node_config(entry: Fields) -> Fields | None:
    """``config``: an object, or null (dbt Fusion); dbt always writes the key."""
    return entry.obj("config", required=True)


# Records ---------------------------------------------------------------------------------------
def node_record(
    uid: str,
    resource_type: str,
    node: Fields,
    config: Fields | None,
    group_owners: Mapping[str, tuple[str, ...]],
) -> NodeRecord:
    name = _name(node)
    meta = dict(node.mapping("meta"))
    config_meta = config.mapping("meta") if config is not None else {}
    meta.update(config_meta)
    group = node.text("group") or (config.text("group") if config is not None else None)
    owners = _dedupe(
        _owner_values(node.mapping("meta")),
        _owner_values(config_meta),
        group_owners.get(group, ()) if group else (),
    )
    return NodeRecord(
        unique_id=uid,
        resource_type=resource_type,
        name=name,
        package_name=node.required_text("package_name", allow_empty=False),
        path=node.required_text("original_file_path"),
        database=node.text("database"),
        schema=node.required_text("schema") or None,
        alias=node.text("alias"),
        materialized=config.text("materialized") if config is not None else None,
        language=node.text("language"),
        version=node.version("version"),
        depends_on=_depends_on(node, required=resource_type != "seed"),
        tags=_dedupe(node.strings("tags"), config.strings("tags") if config else ()),
        meta=meta,
        description=node.text("description") or "",
        owners=owners,
        columns=_columns(node),
    )


def test_record(uid: str, node: Fields, config: Fields | None) -> TestRecord:
    test_metadata = node.obj("test_metadata")
    test_name = column = None
    if test_metadata is not None:
        test_name = test_metadata.required_text("name", allow_empty=False)
        namespace = test_metadata.text("namespace")
        if namespace is not None:
            test_name = f"{namespace}.{test_name}"
        kwargs = test_metadata.obj("kwargs")
        column = kwargs.text("column_name") if kwargs is not None else None
    return TestRecord(
        unique_id=uid,
        name=_name(node),
        test_name=test_name,
        column_name=column or node.text("column_name"),
        attached_node=node.text("attached_node"),
        file_key_name=node.text("file_key_name"),
        severity=config.text("severity") if config is not None else None,
        depends_on=_depends_on(node, required=True),
        description=node.text("description") or "",
        tags=_dedupe(node.strings("tags"), config.strings("tags") if config else ()),
    )


def source_record(uid: str, source: Fields, config: Fields | None) -> SourceRecord:
    meta = dict(source.mapping("meta"))
    meta.update(config.mapping("meta") if config is not None else {})
    return SourceRecord(
        unique_id=uid,
        source_name=_name(source, "source_name"),
        name=_name(source),
        package_name=source.required_text("package_name", allow_empty=False),
        database=source.text("database"),
        schema=source.required_text("schema") or None,
        identifier=source.text("identifier"),
        loader=source.text("loader") or "",
        description=source.text("description") or "",
        tags=_dedupe(source.strings("tags"), config.strings("tags") if config else ()),
        meta=meta,
        columns=_columns(source),
    )


def exposure_record(uid: str, exposure: Fields) -> ExposureRecord:
    owners = owner_of(exposure)
    return ExposureRecord(
        unique_id=uid,
        name=_name(exposure),
        type=exposure.required_text("type"),
        owner=owners[0] if owners else "",
        url=exposure.text("url"),
        description=exposure.text("description") or "",
        depends_on=_depends_on(exposure, required=True),
    )
