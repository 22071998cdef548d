"""Trend over recent periods: improving, no significant change, or worsening.

The test is Mann-Kendall's, non-parametric and fit for short series of counts: S sums
the signs of every later-minus-earlier pair, its variance is n(n-1)(2n+5)/18 less a
correction for ties, and the change is significant when the two-sided p-value of the
continuity-corrected Z is below 0.05. The measure's polarity turns "increasing" into
"improving" or "worsening". Fewer than four values: "not enough data".
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Sequence

SIGNIFICANCE = 0.05
MIN_POINTS = 4
TEST_NAME = "Mann-Kendall, two-sided, 5% significance"


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


def direction(values: Sequence[float | None], polarity: str) -> str:
    points = [v for v in values if v is not None]
    if len(points) < MIN_POINTS:
        return "not enough data"
    s, p = mann_kendall(points)
    if p >= SIGNIFICANCE:
        return "no significant change"
    rising = s > 0
    return "improving" if rising == (polarity == "higher") else "worsening"
