"""Secrets read from environment variables, never from files: one reader for every adapter.

Configuration names the variable (``headers_env: {Authorization: OPS_HOOK_TOKEN}``,
``api_key_env: OPENLINEAGE_API_KEY``); :class:`EnvironmentSecrets` reads it when the thing
that needs it is built, so a missing variable is reported before any run. It remembers

- every variable that is missing (:attr:`EnvironmentSecrets.missing`, each with what needs
  it), so a caller can report them all at once or stop at the first, and
- every value it read (:attr:`EnvironmentSecrets.values`), so a caller can redact them from
  anything it logs.

Whether an empty variable counts as set is the caller's choice (``empty_is_unset``).

:func:`literal_secrets` finds the opposite mistake in free-form settings (a compute target's
``properties``): a secret written as a value (a key such as ``password``, ``token`` or
``api_key``, or a URL carrying a password), so that the file's reader can refuse it naming
the key, never the value. Standard library only.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass

__all__ = ["EnvironmentSecrets", "MissingVariable", "literal_secrets", "refuse_literal_secrets"]

#: Keys whose value is a secret: the last word (``_``, ``-`` or ``.`` separate words) is one of
#: these. ``password_env`` (naming a variable) or ``token_path`` (naming a file) are not.
_SECRET_KEY = re.compile(
    r"(?:^|[_.-])(?:password|passwd|pwd|secret|token|api_?key|private_?key|access_?key|"
    r"credentials?)$",
    re.IGNORECASE,
)
#: A URL with a password in it: ``postgresql://user:password@host/db``.
_URL_WITH_PASSWORD = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*://[^/@:\s]*:[^/@\s]+@")


def literal_secrets(settings: object, path: str = "") -> Iterator[str]:
    """The JSON paths (below ``path``) of secrets written as values in ``settings``.

    A key naming a secret (``password``, ``db_password``, ``token``, ``api_key``, ...) holding
    anything but null, or a string that is a URL with a password, at any depth.

    >>> list(literal_secrets({"path": "a.duckdb", "password": "x", "nested": {"token": "y"}}))
    ['password', 'nested.token']
    >>> list(literal_secrets({"password_env": "PG_PASSWORD", "url": "postgresql://u@h/db"}))
    []
    """
    if isinstance(settings, Mapping):
        for key, value in settings.items():
            here = f"{path}.{key}" if path else str(key)
            if _SECRET_KEY.search(str(key)) and value is not None:
                yield here
            else:
                yield from literal_secrets(value, here)
    elif isinstance(settings, list | tuple):
        for index, item in enumerate(settings):
            yield from literal_secrets(item, f"{path}[{index}]")
    elif isinstance(settings, str) and _URL_WITH_PASSWORD.match(settings):
        yield path


@dataclass(frozen=True, slots=True)
class MissingVariable:
    """An environment variable that was needed and is not set; ``needed_by`` says by what."""

    variable: str
    needed_by: str


class EnvironmentSecrets:
    """Reads secrets from ``environ`` (default: ``os.environ``, read when a secret is read).

    >>> secrets = EnvironmentSecrets({"TOKEN": "s3cret"})
    >>> secrets.read("TOKEN", needed_by="webhook 'ops'")
    's3cret'
    >>> secrets.read("PASSWORD", needed_by="smtp 'oncall'") is None
    True
    >>> [m.variable for m in secrets.missing], sorted(secrets.values)
    (['PASSWORD'], ['s3cret'])
    """

    def __init__(
        self, environ: Mapping[str, str] | None = None, *, empty_is_unset: bool = False
    ) -> None:
        self._environ = os.environ if environ is None else environ
        self._empty_is_unset = empty_is_unset
        self._missing: list[MissingVariable] = []
        self._values: set[str] = set()

    def read(self, variable: str, *, needed_by: str) -> str | None:
        """The value of ``variable``, or None (and the variable noted as missing)."""
        value = self._environ.get(variable)
        if value is None or (self._empty_is_unset and not value):
            self._missing.append(MissingVariable(variable, needed_by))
            return None
        if value:
            self._values.add(value)
        return value

    @property
    def missing(self) -> tuple[MissingVariable, ...]:
        """Every variable read while unset, in the order they were read."""
        return tuple(self._missing)

    @property
    def values(self) -> frozenset[str]:
        """Every non-empty value read: the strings to redact from logs."""
        return frozenset(self._values)


def refuse_literal_secrets(settings: object, file: str) -> None:
    """Raise ValueError (one ``path: message`` line per secret found by
    :func:`literal_secrets`) when ``settings``, read from ``file``, hold a secret as a value;
    the message names the keys and the fix, never the values."""
    found = list(literal_secrets(settings))
    if found:
        raise ValueError(
            "\n".join(
                f"{path}: a secret must not be written in {file} (it is committed, shared, and "
                "copied into what floe writes); put it in an environment variable and give the "
                "variable's name instead, e.g. password_env: WAREHOUSE_PASSWORD"
                for path in found
            )
        )
