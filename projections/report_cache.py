"""Reports kept while they stay true, for pages that ask for the same scorecard again.

The board's live page rebuilds its scorecard every second; over a national read model a
report costs a few hundred milliseconds of DuckDB work, and almost every poll finds
nothing new. A report as known at K is the one built earlier as known at K0 when the
read model has folded nothing since (the same tracking position) and nothing in it
became known between K0 and K (no fact recorded or ended, no rule changed, no return
approved, no month accepted and no exception note reviewed in that span). Both are
checked on every request, so a cached report is never stale, however its knowledge time
was chosen.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from dataclasses import replace
from datetime import date, datetime

import duckdb

from domain.timekeeping import to_naive_utc
from projections.projector import TRACKING_NAME
from projections.readmodel import tracked_position
from projections.report import Report, build_report

KNOWN_BETWEEN_SQL = """
SELECT EXISTS (SELECT 1 FROM facts WHERE (recorded_at > $low AND recorded_at <= $high)
                                      OR (ended_at > $low AND ended_at <= $high))
    OR EXISTS (SELECT 1 FROM measure_rules WHERE recorded_at > $low AND recorded_at <= $high)
    OR EXISTS (SELECT 1 FROM approvals WHERE approved_at > $low AND approved_at <= $high)
    OR EXISTS (SELECT 1 FROM acceptances WHERE accepted_at > $low AND accepted_at <= $high)
    OR EXISTS (SELECT 1 FROM exception_reviews WHERE reviewed_at > $low AND reviewed_at <= $high)
"""

_Key = tuple[date, date | None, str, int]  # as_at, from, rules, tracking position


def known_between(connection: duckdb.DuckDBPyConnection, one: datetime,
                  other: datetime) -> bool:
    """Whether anything the report reads became known after the earlier of two times
    and by the later."""
    low, high = sorted((to_naive_utc(one), to_naive_utc(other)))
    row = connection.execute(KNOWN_BETWEEN_SQL, {"low": low, "high": high}).fetchone()
    return bool(row and row[0])


class ReportCache:
    """The most recently built reports (one per window, rules and read-model position)."""

    def __init__(self, size: int = 32) -> None:
        self.size = size
        self.built = 0  # reports actually computed, for tests and monitoring
        self._reports: OrderedDict[_Key, Report] = OrderedDict()
        self._lock = threading.Lock()

    def report(self, connection: duckdb.DuckDBPyConnection, *, as_at: date,
               known_at: datetime, from_day: date | None = None,
               rules: str = "then") -> Report:
        key: _Key = (as_at, from_day, rules, tracked_position(connection, TRACKING_NAME))
        with self._lock:
            cached = self._reports.get(key)
        if cached is not None and (cached.known_at == known_at or not known_between(
                connection, cached.known_at, known_at)):
            return replace(cached, known_at=known_at)
        report = build_report(connection, as_at=as_at, known_at=known_at, from_day=from_day,
                              rules=rules)
        with self._lock:
            self.built += 1
            self._reports[key] = report
            self._reports.move_to_end(key)
            while len(self._reports) > self.size:
                self._reports.popitem(last=False)
        return report
