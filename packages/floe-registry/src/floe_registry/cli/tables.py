"""Plain-text tables for the command line's human-readable output."""

from __future__ import annotations

from collections.abc import Sequence

__all__ = ["render_table"]


def render_table(header: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    """Left-aligned columns separated by two spaces, trailing spaces stripped.

    >>> print(render_table(["A", "BB"], [["x", "y"]]))
    A  BB
    x  y
    """
    widths = [len(title) for title in header]
    for row in rows:
        widths = [max(width, len(cell)) for width, cell in zip(widths, row, strict=True)]
    lines = [
        "  ".join(cell.ljust(width) for cell, width in zip(line, widths, strict=True)).rstrip()
        for line in [list(header), *rows]
    ]
    return "\n".join(lines)
