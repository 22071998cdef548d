"""The spans a measure is counted, judged and trended over.

A measure is counted over its *window* (from its period's start, or the report's
``--from``, to the as-at day). A measure with a fixed *period* (a month, a quarter, a
financial year, the plan) has a target for the whole of it, so the period's end matters
too: the target is profiled to the as-at day through the period, and the outturn is
forecast at its end. Trends read *complete* months only: the month in progress is never
counted as a month.
"""

from __future__ import annotations

from datetime import date, timedelta
from functools import lru_cache

from domain.plan import Plan
from projections.measures import Measure

Span = tuple[date, date]


@lru_cache(maxsize=4096)
def month_end(day: date) -> date:
    """The month's last day (kept per day: a report asks for thousands)."""
    following = (day.replace(day=28) + timedelta(days=4)).replace(day=1)
    return following - timedelta(days=1)


def period_window(measure: Measure, as_at: date, from_day: date, plan: Plan) -> Span:
    """What the measure counts on as_at: its period (or the report window) up to as_at."""
    if measure.period == "window":
        return from_day, as_at
    span = period_span(measure, as_at, plan)
    assert span is not None
    return span[0], as_at


def period_span(measure: Measure, as_at: date, plan: Plan) -> Span | None:
    """The whole period that contains as_at; None for a measure counted over the report's
    window, which has no fixed end."""
    if measure.period == "window":
        return None
    if measure.period == "cumulative":
        return plan.starts, max(plan.ends, as_at)
    if measure.period == "monthly":
        return as_at.replace(day=1), month_end(as_at)
    if measure.period == "quarterly":
        first = as_at.replace(month=(as_at.month - 1) // 3 * 3 + 1, day=1)
        return first, month_end(first.replace(month=first.month + 2))
    year = as_at.year if as_at.month >= 4 else as_at.year - 1
    return date(year, 4, 1), date(year + 1, 3, 31)  # financial year


def months_ending(as_at: date, count: int) -> list[Span]:
    """The last ``count`` calendar months up to as_at's (that one cut at as_at)."""
    spans = []
    first = as_at.replace(day=1)
    for _ in range(count):
        spans.append((first, min(month_end(first), as_at)))
        first = (first - timedelta(days=1)).replace(day=1)
    return list(reversed(spans))


def last_complete_month(as_at: date) -> date:
    """The first day of the latest month that has ended by the end of as_at."""
    if as_at == month_end(as_at):
        return as_at.replace(day=1)
    return (as_at.replace(day=1) - timedelta(days=1)).replace(day=1)


def complete_months(as_at: date, count: int) -> list[Span]:
    """The last ``count`` whole calendar months ended by the end of as_at."""
    return months_ending(month_end(last_complete_month(as_at)), count)


def months_between(first: date, last: date) -> list[Span]:
    """Every whole calendar month from first's to last's, oldest first."""
    return list(_months_between(first.replace(day=1), last))


@lru_cache(maxsize=1024)
def _months_between(start: date, last: date) -> tuple[Span, ...]:
    """``months_between``, kept: a report asks for the same few spans per measure."""
    spans = []
    while start <= last:
        spans.append((start, month_end(start)))
        start = month_end(start) + timedelta(days=1)
    return tuple(spans)


class Segments:
    """Days cut into runs so that each of a report's questions is a run of whole
    segments: cut at every question's first day and the day after its last, and at the
    first day of every month of the ``monthly`` spans (the questions asked month by
    month: there each segment lies in one calendar month). Facts grouped by segment
    then answer every question by adding segments up. Months are cut only where asked
    (a plan's whole span, cut by month, would multiply the groups)."""

    def __init__(self, spans: list[Span], monthly: list[Span]) -> None:
        cuts = sorted({day for start, end in [*spans, *monthly] if start <= end
                       for day in (start, end + timedelta(days=1))}
                      | {first for start, end in monthly if start <= end
                         for first, _ in months_between(start, end)})
        self.starts = cuts[:-1]
        self.ends = [cut - timedelta(days=1) for cut in cuts[1:]]
        self.months = [f"{start:%Y-%m}" for start in self.starts]  # each segment's
        self._first = {start: k for k, start in enumerate(self.starts)}
        self._last = {end: k for k, end in enumerate(self.ends)}

    def run(self, start: date, end: date) -> range | None:
        """The segments [start, end] is made of (None: it is not whole segments)."""
        first, last = self._first.get(start), self._last.get(end)
        if first is None or last is None or last < first:
            return None
        return range(first, last + 1)

    def index(self, start: date) -> int | None:
        """The segment that begins on ``start``, if one does."""
        return self._first.get(start)

    def monthly(self, start: date, end: date) -> range | None:
        """``run`` of [start, end] when each of its segments lies in one month."""
        run = self.run(start, end)
        if run is None or any(first not in self._first for first, _ in
                              months_between(start, end) if first > start):
            return None
        return run
