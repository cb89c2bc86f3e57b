"""Decoding a dbt ``manifest.json`` into JSON values, with bounds, and naming places in it.

Checklist of what :func:`read_manifest_file` and :func:`decode_manifest` guarantee (each
refusal an :class:`~floe_orchestration_core.errors.InvalidManifestError` naming the file, the
JSON path and what was expected):

- **Size**: at most :data:`MAX_MANIFEST_BYTES` (512 MiB). The size is checked with ``stat``
  before anything is read, and the read itself is bounded, so a growing file cannot slip
  through. dbt writes about 25-70 MB for 10,000 models; the largest manifest of the shared
  corpus is 4 MB.
- **Nesting**: at most :data:`MAX_NESTING_DEPTH` (128) levels of objects and arrays. dbt's
  manifests nest 5-7 levels (every corpus manifest, and the 10,000-model synthetic one); a
  node's ``meta`` holds what users write, and floe carries it into the artifacts, whose
  readers (pydantic's JSON parser stops at 200 levels) must read it back. A document too
  deep for Python's JSON decoder itself (50,000 levels) is refused the same way, never a
  ``RecursionError``.
- **Duplicate keys**: JSON objects with one key twice are refused (Python's decoder would keep
  the last one silently). In ``nodes``, ``sources``, ``exposures`` and the other sections
  keyed by unique_id, the error is a :class:`DuplicateUniqueIdError` naming the unique_id.
- **Only JSON**: UTF-8 text; ``NaN`` and ``Infinity`` (which Python's decoder accepts) are
  refused.

:func:`json_path` writes the paths of every manifest error: ``nodes["model.shop.orders"]
.config.materialized`` (keys that are identifiers after a dot, others quoted, indexes in
brackets, ``$`` for the whole document).
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from pathlib import Path
from typing import Any, NoReturn

from floe_orchestration_core.errors import DuplicateUniqueIdError, InvalidManifestError

__all__ = [
    "MAX_MANIFEST_BYTES",
    "MAX_NESTING_DEPTH",
    "UNIQUE_ID_SECTIONS",
    "check_nesting",
    "decode_manifest",
    "json_path",
    "read_manifest_file",
]

#: Largest manifest.json accepted, in bytes.
MAX_MANIFEST_BYTES = 512 * 1024 * 1024
#: Deepest nesting of objects and arrays accepted (the top-level object is level 1).
MAX_NESTING_DEPTH = 128
#: Top-level sections whose keys are dbt unique_ids.
UNIQUE_ID_SECTIONS = frozenset(
    {
        "nodes",
        "sources",
        "exposures",
        "metrics",
        "groups",
        "semantic_models",
        "saved_queries",
        "unit_tests",
        "functions",
        "macros",
        "docs",
        "disabled",
    }
)

_IDENTIFIER = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
_REGENERATE = "re-generate it with 'dbt parse'"


def json_path(parts: Iterable[str | int]) -> str:
    """``nodes["model.shop.orders"].depends_on.nodes[0]`` for those parts; ``$`` for none."""
    path = ""
    for part in parts:
        if isinstance(part, int):
            path += f"[{part}]"
        elif _IDENTIFIER.match(part):
            path += f".{part}" if path else part
        else:
            path += f"[{json.dumps(part)}]"
    return path or "$"


def _refuse(file: str, parts: Iterable[str | int], expected: str, detail: str) -> NoReturn:
    path = json_path(parts)
    where = "" if path == "$" else f"{path}: "
    raise InvalidManifestError(f"{file}: {where}{detail}", file=file, path=path, expected=expected)


def read_manifest_file(
    path: str | Path, *, max_bytes: int = MAX_MANIFEST_BYTES
) -> tuple[bytes, Any]:
    """The bytes of a manifest file and its decoded JSON (see the module checklist)."""
    path = Path(path)
    file = str(path)
    try:
        size = path.stat().st_size
        if size > max_bytes:
            _too_large(file, max_bytes)
        with path.open("rb") as handle:
            raw = handle.read(max_bytes + 1)
    except FileNotFoundError:
        raise InvalidManifestError(
            f"{path}: no such file; run 'dbt parse' (or 'dbt compile') in the dbt project to "
            "write target/manifest.json",
            file=file,
            path="$",
            expected="a dbt manifest.json file",
        ) from None
    except IsADirectoryError:
        raise InvalidManifestError(
            f"{path}: is a directory; give the manifest file (target/manifest.json)",
            file=file,
            path="$",
            expected="a dbt manifest.json file",
        ) from None
    except OSError as exc:
        raise InvalidManifestError(
            f"{path}: cannot be read ({exc.strerror or type(exc).__name__})",
            file=file,
            path="$",
            expected="a readable file",
        ) from None
    if len(raw) > max_bytes:
        _too_large(file, max_bytes)
    return raw, decode_manifest(raw, file)


def _too_large(file: str, max_bytes: int) -> NoReturn:
    _refuse(
        file,
        (),
        f"at most {max_bytes:,} bytes",
        f"the file is larger than the {max_bytes:,}-byte limit; dbt writes about 25-70 MB for "
        "10,000 models: is this a dbt manifest.json?",
    )


def _not_a_constant(name: str) -> float:
    raise ValueError(name)


def decode_manifest(raw: bytes, file: str = "manifest.json") -> Any:
    """The JSON value of ``raw`` (the bytes of ``file``), checked (see the module checklist)."""
    duplicates: list[tuple[dict[str, Any], str]] = []

    def pairs_to_dict(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
        obj = dict(pairs)
        if len(obj) != len(pairs):
            seen: set[str] = set()
            for key, _ in pairs:
                if key in seen:
                    duplicates.append((obj, key))
                    break
                seen.add(key)
        return obj

    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        _refuse(file, (), "UTF-8 text", f"not UTF-8 text (byte {exc.start}); expected dbt's JSON")
    try:
        data = json.loads(text, object_pairs_hook=pairs_to_dict, parse_constant=_not_a_constant)
    except RecursionError:
        _refuse(
            file,
            (),
            f"at most {MAX_NESTING_DEPTH} levels of nesting",
            f"nested deeper than the {MAX_NESTING_DEPTH}-level limit (objects and arrays); "
            "dbt's manifests nest fewer than 10 levels",
        )
    except json.JSONDecodeError as exc:
        _refuse(
            file,
            (),
            "JSON",
            f"not valid JSON (line {exc.lineno}, column {exc.colno}: {exc.msg}); {_REGENERATE}",
        )
    except ValueError as exc:  # parse_constant: NaN, Infinity, -Infinity
        _refuse(file, (), "JSON numbers", f"{exc} is not a JSON number; {_REGENERATE}")
    if duplicates:
        _refuse_duplicate(data, duplicates[0], file)
    check_nesting(data, file)
    return data


def check_nesting(data: Any, file: str = "manifest.json") -> None:
    """Refuse ``data`` (decoded JSON) nested deeper than :data:`MAX_NESTING_DEPTH` levels,
    naming the JSON path where the limit is passed. :func:`decode_manifest` calls it; a
    caller giving an already-decoded manifest calls it before reading the manifest."""
    too_deep = _first_too_deep(data)
    if too_deep is not None:
        _refuse(
            file,
            too_deep,
            f"at most {MAX_NESTING_DEPTH} levels of nesting",
            f"nested deeper than the {MAX_NESTING_DEPTH}-level limit (objects and arrays); "
            "dbt's manifests nest fewer than 10 levels",
        )


def _refuse_duplicate(data: Any, duplicate: tuple[dict[str, Any], str], file: str) -> NoReturn:
    owner, key = duplicate
    parts = _path_of(data, owner) or ()
    if len(parts) == 1 and parts[0] in UNIQUE_ID_SECTIONS:
        path = json_path((*parts, key))
        raise DuplicateUniqueIdError(
            f"{file}: {path}: unique_id {key!r} appears twice in {parts[0]}; dbt writes each "
            f"node once, so one of them would be lost: {_REGENERATE}",
            file=file,
            path=path,
            unique_id=key,
        )
    _refuse(
        file,
        (*parts, key),
        f"the key {key!r} once",
        f"the key {key!r} appears twice in one object; dbt writes each key once: {_REGENERATE}",
    )


def _path_of(data: Any, target: object) -> tuple[str | int, ...] | None:
    """The JSON path of the container ``target`` (by identity) in ``data``."""
    stack: list[tuple[Any, tuple[str | int, ...]]] = [(data, ())]
    while stack:
        value, parts = stack.pop()
        if value is target:
            return parts
        if type(value) is dict:
            stack.extend((v, (*parts, k)) for k, v in value.items() if type(v) in (dict, list))
        elif type(value) is list:
            stack.extend((v, (*parts, i)) for i, v in enumerate(value) if type(v) in (dict, list))
    return None


def _first_too_deep(data: Any) -> tuple[str | int, ...] | None:
    """The JSON path of a container deeper than :data:`MAX_NESTING_DEPTH`, else None.

    One pass over the containers without paths (the common case: about 60 ms for a 24 MB
    manifest); the path is looked for only when the limit is passed.
    """
    if type(data) is not dict and type(data) is not list:
        return None
    stack: list[tuple[Any, int]] = [(data, 1)]
    pop, push = stack.pop, stack.append
    while stack:
        value, depth = pop()
        if depth > MAX_NESTING_DEPTH:
            return _path_of(data, value)
        children = value.values() if type(value) is dict else value
        for child in children:
            kind = type(child)
            if kind is dict or kind is list:
                push((child, depth + 1))
    return None
