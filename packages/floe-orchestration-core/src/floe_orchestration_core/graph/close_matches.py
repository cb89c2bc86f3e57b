"""Did-you-mean hints: the names close to one a user wrote, said the same way everywhere.

``floe impact stg_ordrs``, ``floe run --select stg_ordrs``, an unknown ``depends_on`` and a
floe.yaml selector that matches nothing all suggest with :func:`did_you_mean` (difflib's close
matches, at most three, best first).
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable, Sequence

__all__ = ["close_matches", "did_you_mean", "suggestion"]


def close_matches(word: str, candidates: Iterable[str], *, limit: int = 3) -> list[str]:
    """Up to ``limit`` of ``candidates`` close to ``word``, best first."""
    return difflib.get_close_matches(word, list(candidates), n=limit)


def suggestion(names: Sequence[str]) -> str:
    """``"did you mean 'a' or 'b'?"``; ``""`` when ``names`` is empty."""
    return f"did you mean {' or '.join(repr(name) for name in names)}?" if names else ""


def did_you_mean(word: str, candidates: Iterable[str], *, limit: int = 3) -> str:
    """:func:`suggestion` of the candidates close to ``word``."""
    return suggestion(close_matches(word, candidates, limit=limit))
