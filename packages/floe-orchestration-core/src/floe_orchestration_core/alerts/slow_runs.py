"""Whether a run is slow: its duration against the rolling median of the runs before it."""

from __future__ import annotations

import statistics
from collections.abc import Sequence

import attrs

from floe_orchestration_core.errors import AlertError

__all__ = ["SlowRunVerdict", "slow_run_verdict"]


@attrs.frozen
class SlowRunVerdict:
    """Whether a run is slow: its duration against the median of the runs before it."""

    slow: bool
    duration_seconds: float
    median_seconds: float | None
    history: int
    factor: float

    @property
    def ratio(self) -> float | None:
        if not self.median_seconds:
            return None
        return self.duration_seconds / self.median_seconds


def slow_run_verdict(
    duration_seconds: float,
    previous_durations: Sequence[float],
    *,
    factor: float,
    window: int,
    min_history: int,
) -> SlowRunVerdict:
    """Judge a run against the median of the last ``window`` of ``previous_durations``
    (newest first). Slow means ``duration > factor x median`` with at least ``min_history``
    previous runs; a zero median never makes a run slow.

    >>> slow_run_verdict(30.0, [10.0, 11.0, 9.0], factor=2.0, window=20, min_history=3).slow
    True
    >>> slow_run_verdict(30.0, [10.0, 11.0], factor=2.0, window=20, min_history=3).slow
    False
    """
    if factor <= 1 or window < 1 or min_history < 1:
        raise AlertError(
            f"slow-run monitoring needs factor > 1, window >= 1 and min_history >= 1; got "
            f"factor={factor}, window={window}, min_history={min_history}"
        )
    history = [float(d) for d in previous_durations[:window] if d >= 0]
    if len(history) < min_history:
        return SlowRunVerdict(False, duration_seconds, None, len(history), factor)
    median = statistics.median(history)
    slow = median > 0 and duration_seconds > factor * median
    return SlowRunVerdict(slow, duration_seconds, median, len(history), factor)
