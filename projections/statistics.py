"""The statistics a board reads beside a figure: intervals for rates, and a forecast of a
period's outturn with the chance of meeting its target.

Everything here is plain arithmetic on numbers the report has already counted, so each
method can be tested on its own against a known answer (docs/design.md, "Honest
figures", says why each method was chosen).

- **Wilson score interval** for a proportion k/n (Wilson 1927; Newcombe 1998, method 3):
  unlike the "Wald" p ± z·√(p(1−p)/n) it never leaves [0, 1] and keeps close to its
  nominal coverage for small n and for p near 0 or 1. This is the interval Fingertips
  and the ONS use for proportions.
- **Forecast of the outturn** from the run rate of the period's complete months. Month i
  has a weight w_i (its days, or its share of the target's monthly profile) and value
  x_i, modelled as x_i = w_i·ρ + ε_i with Var(ε_i) = w_i·σ² (variance in proportion to
  exposure, as for counts). The best linear estimate of ρ is Σx/Σw; σ² is estimated on
  k − 1 degrees of freedom as Σ(x_i − w_i·ρ̂)²/w_i / (k − 1). The months still to come
  (the month in progress among them: its returns are not in yet) have weight W; the
  outturn is F = (complete months' total) + W·ρ̂, and its prediction error has variance
  σ²·(W + W²/Σw) (future noise plus the error in ρ̂). The 80% interval and the
  probability of meeting the target use Student's t on k − 1 degrees of freedom.
- **Forecast of a rate's outturn** (n of d over the period): the denominator runs on at
  its rate per unit of weight, D' = W·Σd/Σw more to come; each of those succeeds with
  the complete months' proportion p̂ = Σn/Σd, so the outturn is p̂ and, by the normal
  approximation to the binomial with p̂'s own error, its variance is
  p̂(1−p̂)·(D' + D'²/Σd) / (Σd + D')².
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache
from statistics import NormalDist
from typing import Any

CONFIDENCE = 0.95  # of a rate's interval
FORECAST_COVERAGE = 0.80  # of a forecast's interval
MIN_FORECAST_MONTHS = 3  # complete months with weight: two degrees of freedom for σ²
ON_COURSE = 0.9  # p_meet at or above: on course (the target is below the 80% interval)
OFF_COURSE = 0.1  # p_meet at or below: off course (the target is beyond the interval)


def wilson_interval(k: float, n: float, confidence: float = CONFIDENCE
                    ) -> tuple[float, float] | None:
    """The Wilson score interval for the proportion k/n; None when n is 0."""
    if n <= 0:
        return None
    if not 0 <= k <= n:
        raise ValueError(f"a proportion needs 0 <= k <= n (got k={k}, n={n})")
    z = NormalDist().inv_cdf(0.5 + confidence / 2)
    p = k / n
    denominator = 1 + z * z / n
    centre = (p + z * z / (2 * n)) / denominator
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / denominator
    low = 0.0 if k == 0 else max(0.0, centre - half)
    high = 1.0 if k == n else min(1.0, centre + half)
    return low, high


def t_cdf(x: float, df: int) -> float:
    """Student's t distribution function for whole degrees of freedom, in closed form
    (Abramowitz and Stegun 26.7.3 and 26.7.4)."""
    if df < 1:
        raise ValueError("degrees of freedom must be at least 1")
    theta = math.atan(x / math.sqrt(df))
    c2, s = math.cos(theta) ** 2, math.sin(theta)
    if df % 2 == 1:
        total, term, power = 0.0, math.cos(theta), 1
        while df > 1 and power <= df - 2:
            total += term
            term *= c2 * (power + 1) / (power + 2)
            power += 2
        share = 2 / math.pi * (theta + s * total)
    else:
        total, term, power = 0.0, 1.0, 0
        while power <= df - 2:
            total += term
            term *= c2 * (power + 1) / (power + 2)
            power += 2
        share = s * total
    return 0.5 + 0.5 * share


@lru_cache(maxsize=1024)
def t_quantile(probability: float, df: int) -> float:
    """The inverse of ``t_cdf``, by bisection (the distribution function is monotone);
    kept per (probability, degrees of freedom): a report asks the same few, each costing
    about fifty evaluations of ``t_cdf``."""
    if not 0 < probability < 1:
        raise ValueError("probability must be strictly between 0 and 1")
    low, high = -1e6, 1e6
    for _ in range(200):
        middle = (low + high) / 2
        if t_cdf(middle, df) < probability:
            low = middle
        else:
            high = middle
        if high - low < 1e-10:
            break
    return (low + high) / 2


@dataclass(frozen=True)
class Forecast:
    """The expected value at the period's end, its 80% interval and the probability of
    meeting the target (by the measure's polarity)."""

    value: float
    low: float
    high: float
    p_meet: float
    months: int  # complete months the run rate is estimated from

    @property
    def outlook(self) -> str:
        if self.p_meet >= ON_COURSE:
            return "on course"
        if self.p_meet <= OFF_COURSE:
            return "off course"
        return "at risk"

    def to_json(self) -> dict[str, object]:
        return {"value": _rounded(self.value), "low": _rounded(self.low),
                "high": _rounded(self.high), "p_meet": round(self.p_meet, 4),
                "outlook": self.outlook, "months": self.months,
                "interval": f"{FORECAST_COVERAGE:.0%}"}


def _rounded(value: float) -> float:
    return round(value, 6)


def forecast_outturn(done: Sequence[tuple[float, float]], remaining: Sequence[float],
                     target: float, polarity: str) -> Forecast | None:
    """The outturn of a period whose complete months were ``done`` (value, weight) and
    whose months still to come have the weights ``remaining``; None with fewer than
    ``MIN_FORECAST_MONTHS`` complete months of positive weight."""
    counted = [(x, w) for x, w in done if w > 0]
    k = len(counted)
    if k < MIN_FORECAST_MONTHS:
        return None
    so_far = sum(x for x, _ in done)
    weight_done = sum(w for _, w in counted)
    rate = sum(x for x, _ in counted) / weight_done
    to_come = sum(remaining)
    value = so_far + to_come * rate
    variance = sum((x - w * rate) ** 2 / w for x, w in counted) / (k - 1)
    spread = math.sqrt(variance * (to_come + to_come * to_come / weight_done))
    df = k - 1
    t = t_quantile(0.5 + FORECAST_COVERAGE / 2, df)
    if spread == 0:
        meets = value >= target if polarity == "higher" else value <= target
        p_meet = 1.0 if meets else 0.0
    else:
        below = t_cdf((target - value) / spread, df)  # P(outturn < target)
        p_meet = 1 - below if polarity == "higher" else below
    return Forecast(value, value - t * spread, value + t * spread, p_meet, k)


def forecast_rate(done: Sequence[tuple[float, float, float]], remaining: Sequence[float],
                  target: float, polarity: str) -> Forecast | None:
    """The outturn of a rate whose complete months were ``done`` (numerator, denominator,
    weight) and whose months still to come have the weights ``remaining``; None with
    fewer than ``MIN_FORECAST_MONTHS`` complete months or nothing to divide by."""
    counted = [(n, d, w) for n, d, w in done if w > 0]
    successes = sum(n for n, _, _ in done)
    trials = sum(d for _, d, _ in done)
    if len(counted) < MIN_FORECAST_MONTHS or trials <= 0:
        return None
    p = successes / trials
    to_come = sum(remaining) * sum(d for _, d, _ in counted) / sum(w for _, _, w in counted)
    spread = math.sqrt(p * (1 - p) * (to_come + to_come * to_come / trials)) / (
        trials + to_come)
    z = NormalDist().inv_cdf(0.5 + FORECAST_COVERAGE / 2)
    if spread == 0:
        meets = p >= target if polarity == "higher" else p <= target
        p_meet = 1.0 if meets else 0.0
    else:
        below = NormalDist(p, spread).cdf(target)
        p_meet = 1 - below if polarity == "higher" else below
    return Forecast(p, max(0.0, p - z * spread), min(1.0, p + z * spread), p_meet,
                    len(counted))


EXACT_POISSON_UP_TO = 1000  # beyond it Byar's approximation agrees to 1 part in 10^6


def _poisson_cdf(count: int, mean: float) -> float:
    """P(X <= count) for X ~ Poisson(mean), summed in log space."""
    if mean <= 0:
        return 1.0
    log_mean = math.log(mean)
    return min(1.0, sum(math.exp(k * log_mean - mean - math.lgamma(k + 1))
                        for k in range(count + 1)))


def _solve(f: Any, low: float, high: float) -> float:
    """The root of an increasing function on [low, high], by bisection."""
    for _ in range(200):
        middle = (low + high) / 2
        if f(middle) < 0:
            low = middle
        else:
            high = middle
        if high - low <= 1e-12 * max(1.0, high):
            break
    return (low + high) / 2


def byar_interval(count: int) -> tuple[float, float]:
    """Byar's approximation to the exact Poisson interval (Breslow and Day 1987)."""
    z = NormalDist().inv_cdf(0.5 + CONFIDENCE / 2)
    low = 0.0 if count == 0 else count * (
        1 - 1 / (9 * count) - z / (3 * math.sqrt(count))) ** 3
    above = count + 1
    return low, above * (1 - 1 / (9 * above) + z / (3 * math.sqrt(above))) ** 3


@lru_cache(maxsize=4096)
def poisson_interval(count: int) -> tuple[float, float]:
    """The 95% interval for the mean of an observed count, for a count or a rate per
    population: the exact (Garwood) interval, as Fingertips uses for small counts,
    and Byar's approximation above ``EXACT_POISSON_UP_TO``. Kept per count: the exact
    interval is two bisections over a summed Poisson CDF (about a quarter of a demo
    report's Python time), and a page asks for the same few counts again and again."""
    if count < 0:
        raise ValueError(f"a count cannot be negative (got {count})")
    if count > EXACT_POISSON_UP_TO:
        return byar_interval(count)
    tail = (1 - CONFIDENCE) / 2
    ceiling = count + 20 * math.sqrt(count + 1) + 20
    low = 0.0 if count == 0 else _solve(
        lambda mean: (1 - _poisson_cdf(count - 1, mean)) - tail, 0.0, ceiling)
    high = _solve(lambda mean: tail - _poisson_cdf(count, mean), 0.0, ceiling)
    return low, high
