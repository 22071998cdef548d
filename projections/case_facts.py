"""A small read model's case facts, read once per state and asked in Python.

The open-cases measures (``standing.OPEN_CASES_AND_FACTS_SQL``) cost the demo's report a
statement of about 4 ms, most of it DuckDB setting up its joins and groupings, for a
few hundred referrals and closures. A partnership's case facts are few (Rotherham's
CSE referrals ran to hundreds a year), and they change only when the projector folds.
So, while the read model holds at most ``IN_MEMORY`` of them, they are read once per
state of the read model (kept with its ``lookups``), and each report asks them in
Python: the same rows that statement returns, in the same shape, for ``StateFacts``.
Beyond that size the statement is cheaper, and is used.

What SQL decides stays in SQL: which referrals each open-cases measure follows (its
numerator's condition, from the plan) is worked out in the statement that reads the
facts. Python applies only the time rules: whether a fact stands as known
(``standing.stands``, the rule of ``STANDS_SQL``), and whether a case episode is open at
a day (referred by then, not closed by then). Tests compare both paths, row for row.
"""

from __future__ import annotations

from bisect import bisect_left, bisect_right
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any, NamedTuple

import duckdb

from projections.measures import Measure
from projections.periods import Segments
from projections.standing import Standing, case_type_sql, referrals_followed_sql, stands

# The most case facts kept in memory per state of the read model. At this size the
# report's Python pass costs about what the statement does (generated histories on the
# project's 2-core machine, the same minutes: 600 facts 1.0 ms against 7.0 ms, 2,000
# 6.3 against 9.9, 5,000 31 against 29); the demo has about 600.
IN_MEMORY = 5_000

# Rows in the shape of ``standing.OPEN_CASES_AND_FACTS_SQL``: (part, measure, k or
# segment, agency, number, latest).
Row = tuple[int, int | None, int | None, str | None, int | None, datetime | None]


class CaseFact(NamedTuple):
    """A referral or closure, with the times that say whether it stands."""

    agency: str
    case_ref: str | None
    episode: int | None
    occurred_on: date
    recorded_at: datetime
    position: int
    ended_at: datetime | None
    ended_position: int | None
    closes: bool  # a closure (the contract's ``closes`` role)
    is_case: bool  # a referral or closure (``opens`` or ``closes``)
    follows: tuple[str, ...]  # the open-cases measures whose referrals it is


@dataclass(frozen=True)
class CaseFacts:
    """Every case fact of one state of the read model, and which measures they serve."""

    measures: frozenset[str]  # the open-cases measures ``follows`` was worked out for
    facts: tuple[CaseFact, ...]

    def serves(self, measures: list[Measure]) -> bool:
        return {m.id for m in measures} <= self.measures


def _quoted(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def read(connection: duckdb.DuckDBPyConnection, open_cases: list[Measure]
         ) -> CaseFacts | None:
    """The case facts of the read model, or None when there are more than ``IN_MEMORY``
    (the statement then answers). ``open_cases``: the plan's open-cases measures."""
    follows, any_referral = referrals_followed_sql(open_cases, lambda _, m: _quoted(m.id))
    where = f"({case_type_sql('opens', 'closes')})" + (
        f" OR {any_referral}" if any_referral else "")
    found = connection.execute(f"SELECT count(*) FROM facts WHERE {where}").fetchone()
    if found is None or found[0] > IN_MEMORY:
        return None
    rows = connection.execute(
        "SELECT agency, case_ref, episode, occurred_on, recorded_at, position, ended_at, "
        f"ended_position, coalesce({case_type_sql('closes')}, false), "
        f"coalesce({case_type_sql('opens', 'closes')}, false), "
        f"list_filter([{follows}]::VARCHAR[], x -> x IS NOT NULL) "
        f"FROM facts WHERE {where} ORDER BY position").fetchall()
    return CaseFacts(frozenset(m.id for m in open_cases),
                     tuple(CaseFact._make((*row[:10], tuple(row[10]))) for row in rows))


def answer(cases: CaseFacts, open_cases: list[Measure], ends: list[date],
           standing: Standing, segments: Segments, last_day: date) -> list[Row]:
    """``OPEN_CASES_AND_FACTS_SQL``'s rows, from the facts in memory: each open-cases
    measure's open cases at each end by agency (a case counted once however many of its
    episodes are open); the case facts by agency and segment (how many, and when the
    latest became known); and when the latest case fact up to ``last_day`` became
    known."""
    test = stands(standing)
    last = max(ends)
    index = {m.id: i for i, m in enumerate(open_cases)}
    indices: dict[tuple[str, ...], tuple[int, ...]] = {}  # by a fact's ``follows``
    # One pass over the standing facts: each episode's closure (its first standing
    # closure; SQL's join never matches a missing case reference or episode, so neither
    # does this), the referrals to place against the ends, and the case facts by
    # segment and agency (how many, the latest known) and the latest up to last_day.
    closed: dict[tuple[str, str, int], date] = {}
    referrals: list[tuple[CaseFact, tuple[int, ...]]] = []
    by_segment: dict[tuple[int, str], list[Any]] = {}
    latest: datetime | None = None
    starts, segment_ends = segments.starts, segments.ends
    for fact in cases.facts:
        if not test(fact):
            continue
        on = fact.occurred_on
        if fact.follows and on <= last:
            found = indices.get(fact.follows)
            if found is None:
                found = indices[fact.follows] = tuple(
                    index[m] for m in fact.follows if m in index)
            if found:
                referrals.append((fact, found))
        if fact.closes and on <= last and fact.case_ref is not None \
                and fact.episode is not None:
            episode = (fact.agency, fact.case_ref, fact.episode)
            if episode not in closed or on < closed[episode]:
                closed[episode] = on
        if fact.is_case:
            if on <= last_day and (latest is None or fact.recorded_at > latest):
                latest = fact.recorded_at
            k = bisect_right(starts, on) - 1
            if k >= 0 and on <= segment_ends[k]:
                cell = by_segment.get((k, fact.agency))
                if cell is None:
                    by_segment[(k, fact.agency)] = [1, fact.recorded_at]
                else:
                    cell[0] += 1
                    if fact.recorded_at > cell[1]:
                        cell[1] = fact.recorded_at
    # Each (measure, agency, case)'s ends at which any of its episodes is open, as bits
    # over the ends in ascending order (an episode referred on r and closed on c is open
    # at the ends e with r <= e < c, a run of them); ``order`` maps them back.
    order = sorted(range(len(ends)), key=ends.__getitem__)
    ascending = [ends[k] for k in order]
    open_at: dict[tuple[int, str, str | None], int] = {}
    for fact, measures in referrals:
        closed_on = closed.get((fact.agency, fact.case_ref, fact.episode)) if (
            fact.case_ref is not None and fact.episode is not None) else None
        first = bisect_left(ascending, fact.occurred_on)
        after = len(ends) if closed_on is None else bisect_left(ascending, closed_on)
        if first >= after:
            continue
        bits = (1 << after) - (1 << first)
        for i in measures:
            case = (i, fact.agency, fact.case_ref)
            open_at[case] = open_at.get(case, 0) | bits
    opened: dict[tuple[int, str], list[int]] = {}  # (measure, agency): cases at each end
    for (i, agency, _), bits in open_at.items():
        tally = opened.setdefault((i, agency), [0] * len(ends))
        while bits:
            low = bits & -bits
            tally[low.bit_length() - 1] += 1
            bits ^= low
    rows: list[Row] = [(0, i, order[at], agency, n, None)
                       for (i, agency), tally in opened.items()
                       for at, n in enumerate(tally) if n]
    rows.extend((1, None, k, agency, n, at) for (k, agency), (n, at) in by_segment.items())
    rows.append((2, None, None, None, None, latest))
    return rows
