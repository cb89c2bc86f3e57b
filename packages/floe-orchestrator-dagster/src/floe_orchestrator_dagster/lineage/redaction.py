"""Secrets out of lineage events: :func:`redact` and :func:`safe_error`.

Error texts of lineage events (and the adapter's lineage log lines) go through :func:`redact`:
URL credentials, ``password=…``-style pairs, ``Authorization`` headers, bearer tokens and the
values of environment variables whose names say they are secret become ``***``.
"""

from __future__ import annotations

import os
import re
import traceback

from floe_orchestration_core.lineage import ErrorInfo

__all__ = ["redact", "safe_error"]

_URL_CREDENTIALS = re.compile(r"(?i)\b([a-z][a-z0-9+.\-]*://)[^\s/@]+@")
_KEY_VALUE = re.compile(
    r"(?i)\b(password|passwd|pwd|secret|token|api[_-]?key|access[_-]?key|private[_-]?key"
    r"|client[_-]?secret)(\s*[=:]\s*)(\"[^\"]*\"|'[^']*'|[^\s,;&)]+)"
)
_AUTHORIZATION = re.compile(r"(?i)\b(authorization\s*[:=]\s*)(?:(bearer|basic|token)\s+)?\S+")
_BEARER = re.compile(r"(?i)\b(bearer)\s+[A-Za-z0-9._~+/=\-]{8,}")
_SECRET_NAME = re.compile(r"(?i)(PASSWORD|PASSWD|SECRET|TOKEN|API_?KEY|ACCESS_?KEY|CREDENTIAL)")


def _secret_values() -> list[str]:
    """Values of environment variables whose names say they are secret (longest first)."""
    values = {
        value for name, value in os.environ.items() if _SECRET_NAME.search(name) and len(value) >= 4
    }
    return sorted(values, key=len, reverse=True)


def redact(text: str) -> str:
    """``text`` without credentials: URL user info, ``password=…``-style pairs, authorization
    headers, bearer tokens and values of secret-looking environment variables become ``***``.

    >>> redact("could not connect to postgresql://etl:hunter2@db:5432/shop")
    'could not connect to postgresql://***@db:5432/shop'
    >>> redact("dsn host=db password=hunter2 user=etl")
    'dsn host=db password=*** user=etl'
    """
    for value in _secret_values():
        text = text.replace(value, "***")
    text = _URL_CREDENTIALS.sub(r"\1***@", text)
    text = _KEY_VALUE.sub(r"\1\2***", text)
    text = _AUTHORIZATION.sub(
        lambda m: f"{m.group(1)}{m.group(2) + ' ' if m.group(2) else ''}***", text
    )
    return _BEARER.sub(r"\1 ***", text)


def safe_error(error: BaseException | ErrorInfo | str, *, language: str = "python") -> ErrorInfo:
    """An :class:`ErrorInfo` for ``error`` with message and stack trace redacted."""
    if isinstance(error, ErrorInfo):
        message, stack, language = error.message, error.stack_trace, error.language
    elif isinstance(error, BaseException):
        text = str(error)
        message = f"{type(error).__name__}: {text}" if text else type(error).__name__
        stack = "".join(traceback.format_exception(error))
    else:
        message, stack = str(error), None
    message = redact(message).strip() or "the run failed (no message)"
    return ErrorInfo(
        message=message,
        stack_trace=redact(stack) if stack else None,
        language=language,
    )
