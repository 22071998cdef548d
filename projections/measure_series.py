"""A measure's value so far at each month's end, against its target so far: the line on
a measure's page. Drawn twice on a replay (as known then and as known now) so the board
sees what arrived late; for the board only, because a run of cumulative values can be
differenced into monthly counts that ``projections.disclosure`` would suppress.

A point is what the scorecard would have shown on that day: the value over the measure's
period (or the window) up to the day, and the target profiled to the day."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta

import duckdb

from domain.plan import Plan
from projections.measures import Measure
from projections.periods import period_span, period_window
from projections.report import ReportBuilder, rules_in_force
from projections.statistics import wilson_interval

MAX_POINTS = 48  # four years of month ends: the longest plan we chart in full


@dataclass(frozen=True)
class SeriesPoint:
    day: date
    value: float | None
    target: float | None  # the target so far on ``day`` (None: no target)
    low: float | None = None  # a share's 95% Wilson interval
    high: float | None = None


def month_ends(first: date, last: date) -> list[date]:
    """Each month's last day from ``first``'s month up to ``last``, then ``last``."""
    days = []
    cursor = date(first.year, first.month, 1)
    while True:
        following = date(cursor.year + cursor.month // 12, cursor.month % 12 + 1, 1)
        end = following - timedelta(days=1)
        if end >= last:
            break
        days.append(end)
        cursor = following
    return [*days[-(MAX_POINTS - 1):], last]


def value_so_far(connection: duckdb.DuckDBPyConnection, plan: Plan, measure: Measure, *,
                 as_at: date, from_day: date, known_at: datetime) -> list[SeriesPoint]:
    """The measure's value so far at every month end of its current window up to
    ``as_at``, as known at ``known_at``, with the target so far (rules then in force)."""
    start = period_window(measure, as_at, from_day, plan)[0]
    if start > as_at:
        return []
    found = rules_in_force(connection, measure.id, known_at)
    points = []
    for day in month_ends(start, as_at):
        builder = ReportBuilder(connection, as_at=day, known_at=known_at, from_day=from_day)
        # A rate per population is scaled by the population of its year: the full build.
        value = (builder.measure(measure).value if measure.population is not None
                 else builder.value(measure))
        low = high = None
        if measure.is_rate:
            parts = builder.rate_parts(measure, period_window(measure, day, from_day, plan))
            interval = wilson_interval(*parts) if parts is not None else None
            if interval is not None:
                low, high = interval
        target = None
        if found is not None:
            span = period_span(measure, day, plan) if measure.is_profiled else None
            target = (found.rules.target_to_date(span, day) if span is not None
                      else found.rules.target_on(day))
        points.append(SeriesPoint(day, None if value is None else float(value), target, low,
                                  high))
    return points
