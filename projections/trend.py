"""Trend over recent complete months: improving, worsening, no change, or cannot be
calculated.

The test is Mann-Kendall's, non-parametric and fit for short series of counts: S sums
the signs of every later-minus-earlier pair, its variance is n(n-1)(2n+5)/18 less a
correction for ties, and the change is significant when the two-sided p-value of the
continuity-corrected Z is below 0.05. It needs five points: with four, even a strictly
rising series has p = 0.09, so the test could never find a change. Only complete months
count (the month in progress would end every series on a dip). The measure's polarity
turns "increasing" into "improving" or "worsening"; without one (polarity none, a measure
of demand) it stays "increasing" or "decreasing".
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass

from domain.plan import NO_JUDGEMENT

SIGNIFICANCE = 0.05
MIN_POINTS = 5
TEST_NAME = "Mann-Kendall, two-sided, 5% significance"

# The polarity-aware marker: code, then the words shown (and read by screen readers). A
# measure of no judgement (polarity none) says which way it moved, not whether that is
# good (Fingertips' "increasing" and "decreasing").
MARKERS = {"improving": "improving", "worsening": "worsening",
           "increasing": "increasing", "decreasing": "decreasing",
           "no_change": "no significant change", "cannot_calculate": "not enough data"}


def mann_kendall(values: Sequence[float]) -> tuple[int, float]:
    """S and the two-sided p-value."""
    n = len(values)
    s = sum(
        (values[j] > values[i]) - (values[j] < values[i])
        for i in range(n) for j in range(i + 1, n)
    )
    ties = sum(t * (t - 1) * (2 * t + 5) for t in Counter(values).values() if t > 1)
    variance = (n * (n - 1) * (2 * n + 5) - ties) / 18
    if variance <= 0 or s == 0:
        return s, 1.0
    z = (s - 1) / math.sqrt(variance) if s > 0 else (s + 1) / math.sqrt(variance)
    p = math.erfc(abs(z) / math.sqrt(2))
    return s, p


@dataclass(frozen=True)
class Trend:
    marker: str  # improving, worsening, increasing, decreasing, no_change, cannot_calculate
    rising: bool | None  # the direction of a significant change, None without one
    points: int

    @property
    def words(self) -> str:
        return MARKERS[self.marker]

    @property
    def arrow(self) -> str:
        """An arrow for the direction of change (the words say whether that is good)."""
        if self.marker == "cannot_calculate":
            return "–"
        if self.rising is None:
            return "→"
        return "↑" if self.rising else "↓"

    @property
    def shown(self) -> str:
        return f"{self.arrow} {self.words}"


def trend(values: Sequence[float | None], polarity: str) -> Trend:
    points = [v for v in values if v is not None]
    if len(points) < MIN_POINTS:
        return Trend("cannot_calculate", None, len(points))
    s, p = mann_kendall(points)
    if p >= SIGNIFICANCE:
        return Trend("no_change", None, len(points))
    rising = s > 0
    if polarity == NO_JUDGEMENT:
        return Trend("increasing" if rising else "decreasing", rising, len(points))
    return Trend("improving" if rising == (polarity == "higher") else "worsening", rising,
                 len(points))


def direction(values: Sequence[float | None], polarity: str) -> str:
    """The trend in words, as the report's ``trend.direction`` has always given it."""
    return trend(values, polarity).words
