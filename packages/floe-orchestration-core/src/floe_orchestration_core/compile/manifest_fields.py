"""Checked reads of a dbt manifest's JSON objects: presence and type, by JSON path.

:class:`Fields` wraps one JSON object of the manifest with its path; each read names the
type dbt's manifest schema gives the field and raises :class:`FieldError` (the path, what was
expected, what was found) otherwise. :mod:`floe_orchestration_core.compile.manifest` turns a
:class:`FieldError` into an :class:`~floe_orchestration_core.errors.InvalidManifestError`
naming the file. The path is built only when a read fails, so reading a 10,000-model manifest
costs little more than reading it unchecked.

What "found" says never includes the value itself (a wrong field may hold a secret): only its
JSON type — ``missing``, ``null``, ``a boolean``, ``a number``, ``a string``, ``an array``,
``an object``.

How null is read: dbt-core writes ``null`` for unset optional fields and dbt Fusion writes
``null`` for some objects (``"config": null``, ``"meta": null``) and omits optional keys, and
writes ``""`` where dbt-core writes null. So the readers of optional fields (``text``,
``obj``, ``mapping``, ``strings``) accept a missing key, ``null`` and (for text) ``""`` as
"not set"; the ``required_*`` readers accept only the type itself, present.
"""

from __future__ import annotations

from typing import Any, Final

__all__ = ["MISSING", "FieldError", "Fields", "describe"]

#: What ``dict.get`` gives for a key that is not there (``describe`` says "missing").
MISSING: Final = object()


_JSON_TYPES: Final = {
    type(None): "null",
    bool: "a boolean",
    int: "a number",
    float: "a number",
    str: "a string",
    list: "an array",
    dict: "an object",
}


def describe(value: object) -> str:
    """The JSON type of ``value`` as a message says it (never the value itself)."""
    if value is MISSING:
        return "missing"
    return _JSON_TYPES.get(type(value), "an object")


class FieldError(Exception):
    """A field of the manifest is not what dbt writes: ``parts`` is its JSON path (keys and
    indexes), ``expected`` what dbt writes there, ``found`` what is there (its JSON type), and
    ``hint`` an optional sentence with the fix."""

    def __init__(
        self, parts: tuple[str | int, ...], expected: str, found: str, hint: str = ""
    ) -> None:
        super().__init__(expected)
        self.parts = parts
        self.expected = expected
        self.found = found
        self.hint = hint


class Fields:
    """One JSON object of the manifest (``data``) at the JSON path ``at``."""

    __slots__ = ("at", "data")

    def __init__(self, data: dict[str, Any], at: tuple[str | int, ...]) -> None:
        self.data = data
        self.at = at

    def error(self, key: str | int, expected: str, value: object, hint: str = "") -> FieldError:
        """The :class:`FieldError` for ``key`` of this object holding ``value``."""
        return FieldError((*self.at, key), expected, describe(value), hint)

    def child(self, key: str, value: object, expected: str = "an object") -> Fields:
        """``value`` (the entry ``key`` of this object) as Fields; it must be an object."""
        if type(value) is dict:
            return Fields(value, (*self.at, key))
        raise self.error(key, expected, value)

    # Text --------------------------------------------------------------------------------
    def text(self, key: str) -> str | None:
        """A string, or None when it is missing, null or ``""``."""
        value = self.data.get(key)
        if value is None:
            return None
        if type(value) is str:
            return value or None
        raise self.error(key, "a string or null", value)

    def required_text(self, key: str, *, allow_empty: bool = True) -> str:
        """A string that must be present (and non-empty unless ``allow_empty``)."""
        value = self.data.get(key, MISSING)
        if type(value) is str and (allow_empty or value):
            return value
        expected = "a string" if allow_empty else "a non-empty string"
        raise self.error(key, expected, value)

    def boolean(self, key: str) -> bool | None:
        """A boolean, or None when it is missing."""
        value = self.data.get(key, MISSING)
        if value is MISSING:
            return None
        if type(value) is bool:
            return value
        raise self.error(key, "a boolean", value)

    def version(self, key: str) -> str | None:
        """A model version: a string or a number, as text; None when missing, null or ``""``."""
        value = self.data.get(key)
        if value is None:
            return None
        if type(value) is str:
            return value or None
        if type(value) is int or type(value) is float:
            return str(value)
        raise self.error(key, "a string, a number or null", value)

    # Objects -----------------------------------------------------------------------------
    def obj(self, key: str, *, required: bool = False) -> Fields | None:
        """An object as Fields, or None when null (or missing, unless ``required``)."""
        value = self.data.get(key, MISSING)
        if type(value) is dict:
            return Fields(value, (*self.at, key))
        if value is None or (value is MISSING and not required):
            return None
        raise self.error(key, "an object or null", value)

    def required_obj(self, key: str) -> Fields:
        """An object that must be present."""
        value = self.data.get(key, MISSING)
        if type(value) is dict:
            return Fields(value, (*self.at, key))
        raise self.error(key, "an object", value)

    def mapping(self, key: str) -> dict[str, Any]:
        """A free-form object (``meta``) as it is; empty when missing or null."""
        value = self.data.get(key)
        if value is None:
            return {}
        if type(value) is dict:
            return value
        raise self.error(key, "an object or null", value)

    # Lists -------------------------------------------------------------------------------
    def strings(self, key: str) -> tuple[str, ...]:
        """Tags-like: a string or an array of strings; empty when missing or null. ``""``
        items are left out (dbt never writes them)."""
        value = self.data.get(key)
        if value is None:
            return ()
        if type(value) is str:
            return (value,) if value else ()
        if type(value) is list:
            for index, item in enumerate(value):
                if type(item) is not str:
                    raise FieldError(
                        (*self.at, key, index), "a string", describe(item), "tags are strings"
                    )
            return tuple(item for item in value if item)
        raise self.error(key, "a string, an array of strings or null", value)

    def string_list(self, key: str, *, required: bool) -> tuple[str, ...]:
        """An array of non-empty strings (``depends_on.nodes``); empty when missing and not
        ``required``."""
        value = self.data.get(key, MISSING)
        if type(value) is list:
            for index, item in enumerate(value):
                if type(item) is not str or not item:
                    raise FieldError(
                        (*self.at, key, index), "a non-empty string (a unique_id)", describe(item)
                    )
            return tuple(value)
        if value is MISSING and not required:
            return ()
        raise self.error(key, "an array of unique_ids", value)
