"""Rates with 95% Wilson intervals. Pure: no ORM, no I/O.

Every rate Candor shows comes with its sample size and an interval, because 3 of 4
and 300 of 400 are both 75% and mean very different things to a founder.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

Z_95 = 1.96


def wilson_interval(
    successes: int, n: int, z: float = Z_95
) -> tuple[float, float] | None:
    """Return the Wilson score interval of successes/n, or None when n is 0."""
    if n < 0 or successes < 0 or successes > n:
        raise ValueError(f"need 0 <= successes <= n, got {successes} of {n}")
    if n == 0:
        return None

    p = successes / n
    z2 = z * z
    denominator = 1 + z2 / n
    centre = (p + z2 / (2 * n)) / denominator
    half_width = z * math.sqrt(p * (1 - p) / n + z2 / (4 * n * n)) / denominator

    # The bounds are exactly 0 and 1 at the extremes; rounding must not nudge them.
    low = 0.0 if successes == 0 else max(0.0, centre - half_width)
    high = 1.0 if successes == n else min(1.0, centre + half_width)
    return low, high


@dataclass(frozen=True)
class Rate:
    """successes out of n, with the rate and its Wilson interval (None when n is 0)."""

    successes: int
    n: int
    rate: float | None
    low: float | None
    high: float | None

    @classmethod
    def of(cls, successes: int, n: int, z: float = Z_95) -> Rate:
        interval = wilson_interval(successes, n, z)
        if interval is None:
            return cls(successes, n, None, None, None)
        return cls(successes, n, successes / n, interval[0], interval[1])

    @property
    def measured(self) -> bool:
        return self.n > 0


def intervals_overlap(a: Rate, b: Rate) -> bool:
    """Tell whether two rates' intervals overlap (touching counts as overlapping).

    An unmeasured rate overlaps everything: nothing can be told apart from it.
    """
    if a.low is None or a.high is None or b.low is None or b.high is None:
        return True
    return a.low <= b.high and b.low <= a.high
