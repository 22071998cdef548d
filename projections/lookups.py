"""The read model's small tables, read once per state of the read model.

A report asks a dozen small questions besides its figures (the plan, the RAG rules in
force, the approvals, the month's acceptance, the exception notes and reviews, the plan
actions and their reported statuses, which returns had arrived, which counts the
projector recorded). Each costs DuckDB 0.2-0.6 ms of fixed cost to set up however small
its table, so together they were a fifth of the demo's report. They change only when the
projector folds something, which moves a tracking position; between folds (and for ever
in a published snapshot, which is never written) the same rows answer every report. So
they are read here once per (database file, tracking positions) and the report's
knowledge time is applied in Python, by the same rules the SQL applied: a row is known
when recorded by the knowledge time, and a fact stands as ``standing.STANDS_SQL`` says.

An in-memory database (no file) is read afresh for every report: two of them may hold
different rows at the same positions.
"""

from __future__ import annotations

import os
import threading
import weakref
from collections import OrderedDict
from collections.abc import Callable, Hashable
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any, TypeVar

import duckdb

from domain.contract import ACTION_STATUS_TYPE, EXCEPTION_NOTE_TYPE, types_sql
from projections import fact_counts
from projections.exceptions import NoteRow, ReviewRow
from projections.periods import month_end
from projections.returns import NOT_A_RETURN_SQL
from projections.standing import StatusFact

# The database's file, asked once per connection (a table function: DuckDB took three
# times as long to set it up as the trackers' plain read below).
PATH_SQL = "SELECT path FROM duckdb_databases() WHERE database_name = current_database()"
# The trackers' positions: with the file, the state of the read model (sorted in
# Python: an ORDER BY doubled the statement's cost).
POSITIONS_SQL = "SELECT name, position FROM tracking"

# A fact's standing times, as the standing SQL reads them (``standing.STANDS_SQL``).
TIMES = "recorded_at, position, ended_at, ended_position"

# Every report of a plan action's status (whether its action is in the plan is the
# reader's to ask: ``standing.latest_statuses_of``).
STATUSES_SQL = f"""
SELECT agency, action, status, occurred_at, occurred_on, occurred_utc, {TIMES} FROM facts
WHERE {types_sql([ACTION_STATUS_TYPE])} ORDER BY position
"""
NOTES_SQL = f"""
SELECT agency, event_id, payload, recorded_at, ended_at FROM facts
WHERE {types_sql([EXCEPTION_NOTE_TYPE])} ORDER BY position
"""
# The events an administrator backfilled, by agency, day and knowledge time: kept when
# there are at most BACKFILL_GROUPS such groups (the demo, whose history is a backfill,
# has about 1,400). A national store's late returns are backfills too (50,000 groups at
# 1M events: 40 ms to read per state, and a Python pass over them per report), so there
# the report asks its own statement instead (``report.ReportBuilder.backfilled``).
BACKFILL_GROUPS = 5_000
BACKFILLS_SQL = """
SELECT agency, occurred_on, recorded_at, count(*) FROM facts WHERE backfill GROUP BY ALL
"""
# Each agency's first return event of a month (``returns.ARRIVALS_SQL`` as known at any
# time: the first event known by K is this one if it was known by K), read per month
# asked (``arrivals``): every month at once was 146,000 rows at 1M events, 240 ms a state.
ARRIVALS_SQL = f"""
SELECT agency, min(recorded_at) FROM facts
WHERE occurred_on BETWEEN $start AND $end AND {NOT_A_RETURN_SQL} AND supersedes IS NULL
GROUP BY agency
"""
AGENCIES_SQL = f"""
SELECT DISTINCT agency FROM facts WHERE {NOT_A_RETURN_SQL} AND supersedes IS NULL
"""


@dataclass(frozen=True)
class Lookups:
    """The small tables of one state of the read model (rows in their stored order)."""

    plan_document: str | None
    rules: list[tuple[str, str, datetime, str, str, int]]  # measure, rules, at, by, why, pos
    acceptances: list[tuple[str, datetime, int, int]]  # month, accepted_at, position, pinned
    approvals: list[tuple[str, str, datetime]]  # agency, month, approved_at
    counts: dict[str, int]  # the recorded counts' ids by key (``fact_counts``)
    notes: list[NoteRow]  # every exception note fact, in log order
    reviews: list[ReviewRow]  # every review, in log order
    actions: list[tuple[str, str, str, date]]  # code, title, lead, due, in plan order
    statuses: list[StatusFact]
    agencies: frozenset[str]  # every agency with a return event
    # agency, day, recorded_at, events; None when there are more than BACKFILL_GROUPS
    backfills: list[tuple[str, date, datetime, int]] | None
    # What readers work out from this state and keep with it (``derived``).
    kept: dict[Hashable, Any] = field(default_factory=dict, compare=False, repr=False)


def read(connection: duckdb.DuckDBPyConnection) -> Lookups:
    """Every small table, read now."""
    plan = connection.execute("SELECT document FROM plan").fetchone()
    return Lookups(
        plan_document=plan[0] if plan else None,
        rules=connection.execute(
            "SELECT measure_id, rules, recorded_at, changed_by, reason, position "
            "FROM measure_rules ORDER BY recorded_at, position").fetchall(),
        acceptances=connection.execute(
            "SELECT month, accepted_at, position, pinned_position FROM acceptances "
            "ORDER BY position").fetchall(),
        approvals=connection.execute(
            "SELECT agency, month, approved_at FROM approvals").fetchall(),
        counts=fact_counts.recorded(connection),
        notes=connection.execute(NOTES_SQL).fetchall(),
        reviews=connection.execute(
            "SELECT measure_id, month, agency, note_event_id, decision, comment, "
            "reviewed_at, reviewed_by FROM exception_reviews ORDER BY position").fetchall(),
        actions=connection.execute(
            "SELECT code, title, lead, due FROM plan_actions ORDER BY ord").fetchall(),
        statuses=[StatusFact(*row) for row in connection.execute(STATUSES_SQL).fetchall()],
        agencies=frozenset(a for a, in connection.execute(AGENCIES_SQL).fetchall()),
        backfills=_backfills(connection),
    )


def _backfills(connection: duckdb.DuckDBPyConnection
               ) -> list[tuple[str, date, datetime, int]] | None:
    rows = connection.execute(f"{BACKFILLS_SQL} LIMIT {BACKFILL_GROUPS + 1}").fetchall()
    return None if len(rows) > BACKFILL_GROUPS else rows


class _Memo:
    """The lookups of the most recent read-model states, by (file, inode, positions)."""

    def __init__(self, size: int = 8) -> None:
        self.size = size
        self.reads = 0  # states actually read, for tests and monitoring
        self._kept: OrderedDict[tuple[Any, ...], Lookups] = OrderedDict()
        # Each open connection's database file (a connection reads one file all its
        # life: ``readmodel.connect`` attaches it and never changes database).
        self._paths: weakref.WeakKeyDictionary[duckdb.DuckDBPyConnection, str] = (
            weakref.WeakKeyDictionary())
        self._lock = threading.Lock()

    def lookups(self, connection: duckdb.DuckDBPyConnection) -> Lookups:
        with self._lock:  # the pages' session threads share the memo
            path = self._paths.get(connection)
        if path is None:
            row = connection.execute(PATH_SQL).fetchone()
            path = row[0] if row and row[0] else ":memory:"
            with self._lock:
                self._paths[connection] = path
        key: tuple[Any, ...] | None = None
        if path != ":memory:":
            try:
                # A file deleted and made again (a rebuilt demo) is a new inode.
                key = (path, os.stat(path).st_ino,
                       *sorted(connection.execute(POSITIONS_SQL).fetchall()))
            except OSError:
                key = None
        if key is not None:
            with self._lock:
                found = self._kept.get(key)
                if found is not None:
                    self._kept.move_to_end(key)
                    return found
        fresh = read(connection)
        if key is not None:
            with self._lock:
                self.reads += 1
                self._kept[key] = fresh
                while len(self._kept) > self.size:
                    self._kept.popitem(last=False)
        return fresh


_memo = _Memo()


def lookups(connection: duckdb.DuckDBPyConnection) -> Lookups:
    """The small tables of the read model ``connection`` reads, read once per state."""
    return _memo.lookups(connection)


T = TypeVar("T")


def arrivals(found: Lookups, connection: duckdb.DuckDBPyConnection, month: date
             ) -> dict[str, datetime]:
    """Each agency's first return event of ``month`` (its first day) and when it became
    known, read once per state of the read model and month."""
    return derived(found, ("arrivals", month), lambda: dict(connection.execute(
        ARRIVALS_SQL, {"start": month, "end": month_end(month)}).fetchall()))


def derived(found: Lookups, key: Hashable, compute: Callable[[], T]) -> T:
    """A value a reader works out from the read model, once per state: kept with that
    state's lookups under ``key`` (which names what it depends on besides the state), so
    it lives exactly as long as they do. Two threads may both compute it once; each gets
    the same value, worked out from the same state."""
    if key not in found.kept:
        found.kept[key] = compute()
    return found.kept[key]  # type: ignore[no-any-return]


def memo() -> _Memo:
    """The process's kept lookups (for tests and monitoring)."""
    return _memo
