"""The Jinja that dbt profiles use, rendered the way dbt renders it, without dbt or Jinja.

dbt renders each string value of ``profiles.yml`` with a native-typed Jinja environment (dbt's
``ProfileRenderer``: ``get_rendered(value, context, native=True)``). Profiles use a small part
of it, which this module implements with the same results:

- ``{{ env_var('NAME') }}``: the variable's value; unset and no default is
  :class:`~floe_orchestration_core.errors.ProfileVariableMissingError` naming the variable and
  the file. ``{{ env_var('NAME', 'default') }}``: the default (of any literal type) when unset.
- ``{{ var('name', default) }}``: the default (floe reads profiles without ``--vars``).
- Literals: ``'text'``, ``"text"``, numbers, ``true``/``false``/``none`` (any case).
- ``~`` (string concatenation) and filters: dbt's ``as_text``, ``as_number``, ``as_bool``,
  ``as_native``, and Jinja's ``int``, ``float``, ``string``, ``lower``, ``upper``, ``trim``,
  ``default``.
- ``{# comments #}``.

As in Jinja, an expression without a call is a constant folded into text (``{{ 5 }}`` is
``"5"``).

Typing follows dbt's ``quoted_native_concat``: a value that is one ``{{ … }}`` and nothing else
keeps the expression's type (``env_var`` gives text, so ``port: "{{ env_var('P') }}"`` is the
text ``"5432"``); ``as_number``/``as_bool``/``as_native`` turn the text into a Python literal
(``as_number`` of ``"abc"`` and ``as_bool`` of ``"true"`` are errors, as in dbt: write
``True``); text around an expression makes the whole value text. A value without ``{{`` is
returned unchanged.

Anything else (``{% if %}``, other functions) is a :class:`~floe_orchestration_core.errors.
DbtProfileError` that names the construct and the field, never a silently wrong value.
"""

from __future__ import annotations

import ast
import re
from collections.abc import Callable, Mapping
from typing import Any

from floe_orchestration_core.errors import DbtProfileError, ProfileVariableMissingError

__all__ = ["SUPPORTED_FILTERS", "render_value"]


class _Text(str):
    """``as_text``: stays text."""


class _Native(str):
    """``as_native``: passed to ``ast.literal_eval`` when it is the whole value."""


class _Bool(_Native):
    """``as_bool``: must evaluate to a bool."""


class _Number(_Native):
    """``as_number``: must evaluate to an int or a float."""


def _jinja_int(value: Any) -> int:
    """Jinja's ``int`` filter: ``int()``, else ``int(float())``, else 0."""
    try:
        return int(value)
    except (TypeError, ValueError):
        try:
            return int(float(value))
        except (TypeError, ValueError):
            return 0


def _jinja_float(value: Any) -> float:
    try:
        return float(value)
    except (TypeError, ValueError):
        return 0.0


_FILTERS: dict[str, Callable[..., Any]] = {
    "as_text": _Text,
    "as_number": _Number,
    "as_bool": _Bool,
    "as_native": _Native,
    "int": lambda value, *_: _jinja_int(value),
    "float": lambda value, *_: _jinja_float(value),
    "string": str,
    "lower": lambda value: str(value).lower(),
    "upper": lambda value: str(value).upper(),
    "trim": lambda value: str(value).strip(),
    # Jinja's default() replaces undefined values only; nothing here is undefined (env_var
    # without a default raises before the filter runs, as in dbt).
    "default": lambda value, *_: value,
}
SUPPORTED_FILTERS = tuple(_FILTERS)

_TOKEN = re.compile(
    r"""\s*(?:
        (?P<string>'(?:[^'\\]|\\.)*'|"(?:[^"\\]|\\.)*")
      | (?P<number>\d+\.\d*|\d+)
      | (?P<name>[A-Za-z_][A-Za-z_0-9]*)
      | (?P<punct>[(),|~])
    )""",
    re.VERBOSE,
)
_BLOCK = re.compile(r"\{\{(-?)(.*?)(-?)\}\}|\{#.*?#\}|\{%", re.DOTALL)
_CONSTANTS = {"true": True, "false": False, "none": None}


class _Context:
    """Where a value comes from, for messages; the environment ``env_var`` reads."""

    def __init__(self, environment: Mapping[str, str], where: str, file: str) -> None:
        self.environment = environment
        self.where = where
        self.file = file

    def error(self, problem: str) -> DbtProfileError:
        return DbtProfileError(f"{self.file}: {self.where}: {problem}")


class _Expression:
    """A recursive-descent reader of one ``{{ … }}`` expression (grammar in the module doc)."""

    def __init__(self, text: str, context: _Context) -> None:
        self.context = context
        self.text = text
        self.tokens: list[tuple[str, str]] = []
        position = 0
        while position < len(text):
            if not text[position:].strip():
                break
            match = _TOKEN.match(text, position)
            if match is None or match.end() == position:
                raise context.error(
                    f"cannot read '{{{{{text}}}}}' near '{text[position:].strip()[:20]}'; "
                    "floe renders env_var(), var(), literals, '~' and filters in profiles"
                )
            kind = match.lastgroup or ""
            self.tokens.append((kind, match.group(kind)))
            position = match.end()
        self.position = 0
        #: Calls made: an expression without one is a constant, which Jinja folds into text.
        self.calls = 0

    def _peek(self) -> tuple[str, str] | None:
        return self.tokens[self.position] if self.position < len(self.tokens) else None

    def _take(self, expected: str | None = None) -> tuple[str, str]:
        token = self._peek()
        if token is None or (expected is not None and token[1] != expected):
            wanted = f"'{expected}'" if expected else "more"
            raise self.context.error(f"'{{{{{self.text}}}}}' is incomplete: expected {wanted}")
        self.position += 1
        return token

    def evaluate(self) -> Any:
        value = self._concatenation()
        if self._peek() is not None:
            raise self.context.error(
                f"'{{{{{self.text}}}}}': unexpected '{self._peek()[1]}'"  # type: ignore[index]
            )
        return value

    def _concatenation(self) -> Any:
        value = self._filtered()
        while (token := self._peek()) is not None and token[1] == "~":
            self._take()
            value = f"{value}{self._filtered()}"
        return value

    def _filtered(self) -> Any:
        value = self._primary()
        while (token := self._peek()) is not None and token[1] == "|":
            self._take()
            kind, name = self._take()
            if kind != "name" or name not in _FILTERS:
                raise self.context.error(
                    f"filter '{name}' is not one floe renders in profiles; supported: "
                    f"{', '.join(SUPPORTED_FILTERS)}"
                )
            arguments = self._arguments() if self._peek() == ("punct", "(") else []
            value = _FILTERS[name](value, *arguments)
        return value

    def _arguments(self) -> list[Any]:
        self._take("(")
        arguments: list[Any] = []
        if self._peek() == ("punct", ")"):
            self._take()
            return arguments
        while True:
            arguments.append(self._concatenation())
            separator = self._take()[1]
            if separator == ")":
                return arguments
            if separator != ",":
                raise self.context.error(f"'{{{{{self.text}}}}}': expected ',' or ')'")

    def _primary(self) -> Any:
        kind, text = self._take()
        if kind == "string":
            return ast.literal_eval(text)
        if kind == "number":
            return float(text) if "." in text else int(text)
        if kind == "punct" and text == "(":
            value = self._concatenation()
            self._take(")")
            return value
        if kind == "name" and self._peek() == ("punct", "("):
            return self._call(text, self._arguments())
        if kind == "name" and text.lower() in _CONSTANTS:
            return _CONSTANTS[text.lower()]
        raise self.context.error(
            f"'{text}' in '{{{{{self.text}}}}}' is not something floe renders in profiles: "
            "use env_var('NAME', 'default'), var('name', default), literals and filters"
        )

    def _call(self, name: str, arguments: list[Any]) -> Any:
        self.calls += 1
        if name == "env_var":
            if not 1 <= len(arguments) <= 2 or not isinstance(arguments[0], str):
                raise self.context.error("env_var() takes a variable name and an optional default")
            variable = arguments[0]
            if variable in self.context.environment:
                return self.context.environment[variable]
            if len(arguments) == 2 and arguments[1] is not None:
                return arguments[1]
            raise ProfileVariableMissingError(
                f"{self.context.file}: {self.context.where}: environment variable "
                f"'{variable}' is not set and env_var('{variable}') has no default; set it "
                f"(export {variable}=...) or give a default: env_var('{variable}', '...')",
                variable=variable,
                profiles_file=self.context.file,
            )
        if name == "var":
            if len(arguments) == 2:
                return arguments[1]
            raise self.context.error(
                f"var({', '.join(map(repr, arguments))}) has no default; floe reads profiles "
                "without --vars: give var() a default or use env_var()"
            )
        raise self.context.error(
            f"{name}() is not something floe renders in profiles; use env_var() or var()"
        )


def _native_concat(nodes: list[Any], context: _Context) -> Any:
    """dbt's ``quoted_native_concat``: one node keeps its type, several become text."""
    if not nodes:
        return ""
    if len(nodes) > 1:
        return "".join(str(node) for node in nodes)
    (raw,) = nodes
    if isinstance(raw, _Text):
        return str(raw)
    if not isinstance(raw, _Native):
        return raw
    try:
        result = ast.literal_eval(raw)
    except (ValueError, SyntaxError, MemoryError):
        result = str(raw)
    if isinstance(raw, _Bool) and not isinstance(result, bool):
        raise context.error(f"could not convert value '{raw!s}' into type 'bool' (write True)")
    if isinstance(raw, _Number) and (
        not isinstance(result, int | float) or isinstance(result, bool)
    ):
        raise context.error(f"could not convert value '{raw!s}' into type 'number'")
    return result


def render_value(value: Any, *, environment: Mapping[str, str], where: str, file: str) -> Any:
    """``value`` rendered as dbt renders a profile value (see the module docstring).

    ``where`` (``"profile 'shop', target 'dev', field 'host'"``) and ``file`` (the
    ``profiles.yml`` path) name the value in errors.
    """
    if not isinstance(value, str) or not any(mark in value for mark in ("{{", "{#", "{%")):
        return value
    context = _Context(environment, where, file)
    nodes: list[Any] = []
    position = 0
    for match in _BLOCK.finditer(value):
        if match.group(0) == "{%":
            raise context.error(
                f"'{value}' uses a Jinja statement ({{% … %}}), which floe does not render in "
                "profiles; compute the value with env_var() defaults instead"
            )
        text = value[position : match.start()]
        if match.group(1):  # {{- trims the whitespace before it
            text = text.rstrip()
        if text:
            nodes.append(text)
        position = match.end()
        if match.group(2) is not None:
            expression = _Expression(match.group(2), context)
            result = expression.evaluate()
            constant = not expression.calls and not isinstance(result, _Native)
            nodes.append(str(result) if constant else result)
            if match.group(3):  # -}} trims the whitespace after it
                rest = value[position:]
                position += len(rest) - len(rest.lstrip())
    if position < len(value):
        nodes.append(value[position:])
    return _native_concat(nodes, context)
