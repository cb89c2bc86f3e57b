"""Pausing Python's cyclic garbage collector while many small acyclic objects are built.

Compiling or loading artifacts of 10,000 transforms, or building Dagster definitions for them,
creates hundreds of thousands of small objects; every collection then rescans the growing
heap. Measured on 10,000 models: compile 1.2-2.0 s → 0.65 s, loading the artifacts JSON
1.0 s → 0.5 s. Reference counting still frees everything as usual; only the cycle detector
waits, and its previous state is always restored.
"""

from __future__ import annotations

import gc
from collections.abc import Iterator
from contextlib import contextmanager

__all__ = ["paused_gc"]


@contextmanager
def paused_gc() -> Iterator[None]:
    """No cyclic garbage collection inside the block; the collector's state is restored."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()
