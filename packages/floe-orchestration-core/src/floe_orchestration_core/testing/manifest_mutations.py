"""Malformed variants of real dbt manifests, for property tests and benchmarks of the compiler.

:func:`manifest_cases` is a hypothesis strategy of :class:`ManifestCase`: one real manifest
(decoded, with its bytes) changed in one way a hand edit, another tool or an attacker would
change it. Each kind is one of :data:`KINDS`:

- ``type_swap``: a field the compiler reads (:data:`NODE_FIELDS`, :data:`SOURCE_FIELDS`,
  :data:`TOP_FIELDS`) given a value of another JSON type (:data:`JSON_VALUES`);
- ``deletion``: such a field, a node or a whole section removed;
- ``duplicate``: a unique_id written twice in ``nodes`` (a JSON object with one key twice), or
  a key written twice inside a node — only the bytes can hold that, so the case has ``text``;
- ``cycle``: a transform made to depend on one of its downstream transforms, or on itself;
- ``hostile_name``: a transform, test or source renamed to one of :data:`HOSTILE_NAMES`;
- ``deep_nesting``: a value nested :data:`DEEP_LEVELS` levels deep put in a node's ``meta``
  (or at the top level), as bytes: no Python structure (and no ``json.dumps``) could hold the
  deepest one.

A case changes only the containers on the way to what it changes (copy on write), so drawing
one from a 4 MB manifest costs microseconds, and the original is never modified.

>>> from hypothesis import given
>>> @given(manifest_cases(manifest, raw_bytes))
... def test_compile_is_faithful(case): ...
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Final

from hypothesis import strategies as st

__all__ = [
    "DEEP_LEVELS",
    "HOSTILE_NAMES",
    "JSON_VALUES",
    "KINDS",
    "NODE_FIELDS",
    "SOURCE_FIELDS",
    "TOP_FIELDS",
    "ManifestCase",
    "manifest_cases",
    "with_value",
    "without",
]

KINDS: Final = (
    "type_swap",
    "deletion",
    "duplicate",
    "cycle",
    "hostile_name",
    "deep_nesting",
)
#: Values of every JSON type a field can be swapped to.
JSON_VALUES: Final[tuple[Any, ...]] = (None, True, 0, 2.5, "", "x", [], ["x"], {}, {"x": 1})
#: Fields of a node (model, seed, snapshot or test) the compiler reads, as paths in the node.
NODE_FIELDS: Final[tuple[tuple[str | int, ...], ...]] = (
    ("unique_id",),
    ("resource_type",),
    ("name",),
    ("package_name",),
    ("original_file_path",),
    ("database",),
    ("schema",),
    ("alias",),
    ("language",),
    ("version",),
    ("description",),
    ("group",),
    ("tags",),
    ("meta",),
    ("columns",),
    ("config",),
    ("config", "enabled"),
    ("config", "materialized"),
    ("config", "tags"),
    ("config", "meta"),
    ("config", "severity"),
    ("depends_on",),
    ("depends_on", "nodes"),
    ("depends_on", "nodes", 0),
    ("test_metadata",),
    ("test_metadata", "name"),
    ("test_metadata", "namespace"),
    ("test_metadata", "kwargs"),
    ("column_name",),
    ("attached_node",),
    ("file_key_name",),
)
#: Fields of a source the compiler reads.
SOURCE_FIELDS: Final[tuple[tuple[str | int, ...], ...]] = (
    ("source_name",),
    ("name",),
    ("package_name",),
    ("schema",),
    ("database",),
    ("identifier",),
    ("loader",),
    ("tags",),
    ("meta",),
    ("columns",),
    ("config",),
    ("config", "enabled"),
)
#: Top-level fields.
TOP_FIELDS: Final[tuple[tuple[str | int, ...], ...]] = (
    ("nodes",),
    ("sources",),
    ("exposures",),
    ("metadata",),
    ("metadata", "project_name"),
    ("metadata", "adapter_type"),
    ("metadata", "dbt_version"),
    ("disabled",),
    ("groups",),
    ("metrics",),
)
#: Names nobody should be able to smuggle into an orchestrator unchecked.
HOSTILE_NAMES: Final = (
    "stg orders",
    "stg\norders",
    "stg\torders",
    "stg.orders",
    "stg-orders",
    "../etc/passwd",
    "o'brien",
    'say "hi"',
    "\U0001f600",
    "caf\u00e9",
    "a\u202eb",
    "a/b",
    "a\\b",
    "",
    "class",
    "x" * 300,
)
#: Nesting depths of the ``deep_nesting`` case: just past the limit, far past, absurd.
DEEP_LEVELS: Final = (129, 1_000, 50_000)


@dataclass(frozen=True)
class ManifestCase:
    """One variant of a manifest: ``data`` (decoded) or ``text`` (bytes, when only bytes can
    hold it); ``kind`` is one of :data:`KINDS`, ``detail`` says what changed."""

    kind: str
    detail: str
    data: dict[str, Any] | None = None
    text: bytes | None = None

    def __repr__(self) -> str:  # the manifest itself is megabytes: hypothesis prints this
        return f"ManifestCase({self.kind}: {self.detail})"

    def _repr_pretty_(self, printer: Any, cycle: bool) -> None:
        """What hypothesis's pretty printer shows (it ignores ``__repr__`` of dataclasses)."""
        printer.text(repr(self))


def _copy_path(root: dict[str, Any], path: Sequence[str | int]) -> tuple[dict[str, Any], Any]:
    """A shallow copy of ``root`` with every container on ``path[:-1]`` copied too; returns
    (the new root, the copied parent of ``path[-1]``), or the parent None when the path
    does not lead through containers."""
    new_root = dict(root)
    parent: Any = new_root
    for key in path[:-1]:
        child = parent[key] if _has(parent, key) else None
        if isinstance(child, dict):
            child = dict(child)
        elif isinstance(child, list):
            child = list(child)
        else:
            return new_root, None
        parent[key] = child
        parent = child
    return new_root, parent


def _has(container: Any, key: str | int) -> bool:
    if isinstance(container, dict):
        return key in container
    return (
        isinstance(container, list)
        and isinstance(key, int)
        and -len(container) <= key < len(container)
    )


def with_value(root: dict[str, Any], path: Sequence[str | int], value: Any) -> dict[str, Any]:
    """``root`` with ``value`` at ``path`` (copy on write); unchanged when the path does not
    lead through containers."""
    new_root, parent = _copy_path(root, path)
    if isinstance(parent, dict):
        parent[path[-1]] = value
    elif isinstance(parent, list) and _has(parent, path[-1]):
        parent[path[-1]] = value  # type: ignore[index]
    return new_root


def without(root: dict[str, Any], path: Sequence[str | int]) -> dict[str, Any]:
    """``root`` without the entry at ``path`` (copy on write)."""
    new_root, parent = _copy_path(root, path)
    if _has(parent, path[-1]):
        del parent[path[-1]]
    return new_root


def _show(path: Sequence[str | int]) -> str:
    return "".join(f"[{json.dumps(part)}]" for part in path)


def _transforms(manifest: dict[str, Any]) -> list[str]:
    """The enabled models, seeds and snapshots (a cycle through a disabled one is none)."""
    return [
        uid
        for uid, node in manifest["nodes"].items()
        if node.get("resource_type") in ("model", "seed", "snapshot")
        and (node.get("config") or {}).get("enabled", True) is not False
    ]


@st.composite
def _type_swap(draw: st.DrawFn, manifest: dict[str, Any]) -> ManifestCase:
    where = draw(st.sampled_from(("nodes", "sources", "top")))
    if where == "top" or not manifest.get(where):
        path: tuple[str | int, ...] = draw(st.sampled_from(TOP_FIELDS))
    else:
        uid = draw(st.sampled_from(sorted(manifest[where])))
        fields = NODE_FIELDS if where == "nodes" else SOURCE_FIELDS
        path = (where, uid, *draw(st.sampled_from(fields)))
    value = draw(st.sampled_from(JSON_VALUES))
    detail = f"{_show(path)} := {json.dumps(value)}"
    return ManifestCase("type_swap", detail, data=with_value(manifest, path, value))


@st.composite
def _deletion(draw: st.DrawFn, manifest: dict[str, Any]) -> ManifestCase:
    where = draw(st.sampled_from(("nodes", "sources", "top", "node")))
    if where == "node" and manifest.get("nodes"):
        path: tuple[str | int, ...] = ("nodes", draw(st.sampled_from(sorted(manifest["nodes"]))))
    elif where in ("nodes", "sources") and manifest.get(where):
        uid = draw(st.sampled_from(sorted(manifest[where])))
        fields = NODE_FIELDS if where == "nodes" else SOURCE_FIELDS
        path = (where, uid, *draw(st.sampled_from(fields)))
    else:
        path = draw(st.sampled_from(TOP_FIELDS))
    return ManifestCase("deletion", f"del {_show(path)}", data=without(manifest, path))


_PLACEHOLDER: Final = "__floe_mutation_placeholder__"


def _bytes_with(manifest: dict[str, Any], path: Sequence[str | int], fragment: bytes) -> bytes:
    """The JSON bytes of ``manifest`` with the raw ``fragment`` as the value at ``path``."""
    text = json.dumps(with_value(manifest, path, _PLACEHOLDER)).encode()
    return text.replace(json.dumps(_PLACEHOLDER).encode(), fragment, 1)


@st.composite
def _duplicate(draw: st.DrawFn, manifest: dict[str, Any]) -> ManifestCase:
    uid = draw(st.sampled_from(sorted(manifest["nodes"])))
    node = manifest["nodes"][uid]
    if draw(st.booleans()):
        # The node's key twice in `nodes`: a placeholder entry first, replaced by the node.
        nodes = {_PLACEHOLDER: None, **manifest["nodes"]}
        text = json.dumps({**manifest, "nodes": nodes}).encode()
        entry = json.dumps(uid).encode() + b": " + json.dumps(node).encode()
        text = text.replace(json.dumps(_PLACEHOLDER).encode() + b": null", entry, 1)
        return ManifestCase("duplicate", f"nodes[{json.dumps(uid)}] written twice", text=text)
    key = draw(st.sampled_from(sorted(node)))
    twice = json.dumps(key).encode() + b": " + json.dumps(node[key]).encode() + b", "
    doubled = b"{" + twice + json.dumps(node).encode()[1:]
    text = _bytes_with(manifest, ("nodes", uid), doubled)
    return ManifestCase("duplicate", f"nodes[{json.dumps(uid)}].{key} written twice", text=text)


@st.composite
def _cycle(draw: st.DrawFn, manifest: dict[str, Any]) -> ManifestCase:
    nodes = manifest["nodes"]
    transforms = set(_transforms(manifest))
    edges = [
        (parent, uid)
        for uid in sorted(transforms)
        for parent in ((nodes[uid].get("depends_on") or {}).get("nodes") or [])
        if parent in transforms
    ]
    if not edges or draw(st.booleans()):
        uid = draw(st.sampled_from(sorted(transforms)))
        parent, child = uid, uid  # a self-dependency
    else:
        parent, child = draw(st.sampled_from(edges))
    depends = dict(nodes[parent].get("depends_on") or {})
    depends["nodes"] = [*(depends.get("nodes") or []), child]
    detail = f"{parent} made to depend on {child}"
    return ManifestCase(
        "cycle", detail, data=with_value(manifest, ("nodes", parent, "depends_on"), depends)
    )


@st.composite
def _hostile_name(draw: st.DrawFn, manifest: dict[str, Any]) -> ManifestCase:
    name = draw(st.sampled_from(HOSTILE_NAMES))
    if manifest.get("sources") and draw(st.integers(0, 3)) == 0:
        uid = draw(st.sampled_from(sorted(manifest["sources"])))
        field = draw(st.sampled_from(("name", "source_name")))
        path: tuple[str, ...] = ("sources", uid, field)
    else:
        uid = draw(st.sampled_from(sorted(manifest["nodes"])))
        path = ("nodes", uid, "name")
    detail = f"{_show(path)} := {json.dumps(name)}"
    return ManifestCase("hostile_name", detail, data=with_value(manifest, path, name))


@st.composite
def _deep_nesting(draw: st.DrawFn, manifest: dict[str, Any], raw: bytes) -> ManifestCase:
    levels = draw(st.sampled_from(DEEP_LEVELS))
    opener, closer = draw(st.sampled_from(((b"[", b"]"), (b'{"a": ', b"}"))))
    deep = opener * levels + b"1" + closer * levels
    if draw(st.booleans()):
        text = b'{"floe_deep": ' + deep + b", " + raw.lstrip()[1:]
        return ManifestCase("deep_nesting", f"top-level value {levels} levels deep", text=text)
    uid = draw(st.sampled_from(sorted(manifest["nodes"])))
    text = _bytes_with(manifest, ("nodes", uid, "meta"), b'{"deep": ' + deep + b"}")
    return ManifestCase(
        "deep_nesting", f"nodes[{json.dumps(uid)}].meta {levels} levels deep", text=text
    )


def manifest_cases(
    manifest: dict[str, Any], raw: bytes, kinds: Sequence[str] = KINDS
) -> st.SearchStrategy[ManifestCase]:
    """Variants of ``manifest`` (decoded) whose bytes are ``raw``, of the given ``kinds``."""
    builders = {
        "type_swap": lambda: _type_swap(manifest),
        "deletion": lambda: _deletion(manifest),
        "duplicate": lambda: _duplicate(manifest),
        "cycle": lambda: _cycle(manifest),
        "hostile_name": lambda: _hostile_name(manifest),
        "deep_nesting": lambda: _deep_nesting(manifest, raw),
    }
    return st.one_of(*(builders[kind]() for kind in kinds))
