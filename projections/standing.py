"""Which facts stand: as known at a time, optionally as the log stood at a position.

Every query of the scorecard starts from the ``standing`` facts. As known at K, a fact
stands when it was recorded by K and not ended (retracted or superseded) by K. Pinned to
log position P (a board's acceptance), it stands when accepted at or before P and not
ended at or before P.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any, Protocol

import duckdb

from domain.contract import ACTION_STATUS_TYPE, CaseRole, types_sql, types_with_role
from domain.timekeeping import to_naive_utc
from projections.measures import Count, Measure
from projections.periods import Segments

NO_PIN = 2**62


def case_type_sql(*roles: CaseRole, column: str = "type") -> str:
    """SQL naming the facts whose type has one of these case roles in the contract's
    registry (``opens``, ``closes``): the one place the projections learn them."""
    return types_sql([t for role in roles for t in types_with_role(role)], column)


# The facts that report a plan action's status (the contract's ``action_status`` role).
ACTION_STATUS_SQL = types_sql([ACTION_STATUS_TYPE], "standing.type")


CLOSED_BY_SQL = case_type_sql("closes", column="c.type")

# A row (of ``facts``, or of a table that copies their times) that stands.
STANDS_SQL = """recorded_at <= $known AND position <= $upto
      AND NOT (ended_at IS NOT NULL AND ended_at <= $known AND ended_position <= $upto)"""

STANDING_SQL = f"""
standing AS (
    SELECT * FROM facts
    WHERE {STANDS_SQL}
)"""

OPEN_CASES_SQL = f"""
WITH {STANDING_SQL},
upto_day AS (SELECT * FROM standing WHERE occurred_on <= $end)
SELECT agency, count(DISTINCT agency || '/' || case_ref) FROM upto_day r
WHERE {{referrals}} AND NOT EXISTS (
    SELECT 1 FROM upto_day c WHERE {CLOSED_BY_SQL} AND c.agency = r.agency
    AND c.case_ref = r.case_ref AND c.episode = r.episode)
GROUP BY GROUPING SETS ((agency), ())
"""

LATEST_STATUS_SQL = f"""
WITH {STANDING_SQL}
SELECT standing.* FROM standing JOIN plan_actions ON plan_actions.code = standing.action
WHERE {ACTION_STATUS_SQL} AND occurred_on <= $end
QUALIFY row_number() OVER (
    PARTITION BY standing.action ORDER BY occurred_utc DESC, recorded_at DESC, position DESC
) = 1
"""


@dataclass(frozen=True)
class Standing:
    known: datetime
    position: int | None = None

    def params(self) -> dict[str, Any]:
        return {"known": to_naive_utc(self.known),
                "upto": self.position if self.position is not None else NO_PIN}


@dataclass(frozen=True)
class StatusFact:
    """A report of a plan action's status, with the times that say whether it stands."""

    agency: str
    action: str
    status: str
    occurred_at: Any
    occurred_on: date
    occurred_utc: datetime | None
    recorded_at: datetime
    position: int
    ended_at: datetime | None
    ended_position: int | None


Split = tuple[float, dict[str, float]]  # total, by agency


def _grouped(connection: duckdb.DuckDBPyConnection, sql: str, params: dict[str, Any]) -> Split:
    total = 0.0
    by_agency: dict[str, float] = {}
    for agency, value in connection.execute(sql, params).fetchall():
        if agency is None:
            total = float(value or 0)
        else:
            by_agency[agency] = float(value or 0)
    return total, dict(sorted(by_agency.items()))


def count(connection: duckdb.DuckDBPyConnection, what: Count, start: date, end: date,
          standing: Standing) -> Split:
    sql = (f"WITH {STANDING_SQL} SELECT agency, {what.expression()} FROM standing "
           f"WHERE occurred_on BETWEEN $start AND $end AND {what.condition()} "
           "GROUP BY GROUPING SETS ((agency), ())")
    return _grouped(connection, sql, {**standing.params(), "start": start, "end": end})


def measure_split(connection: duckdb.DuckDBPyConnection, measure: Measure, start: date,
                  end: date, standing: Standing) -> tuple[float | None, dict[str, float | None]]:
    """A measure's value over [start, end] (or at ``end`` for a position), by agency."""
    params = {**standing.params(), "end": end}
    if measure.kind in ("open_cases", "actions_complete"):
        sql = OPEN_CASES_SQL.format(referrals=referrals_condition(measure)) if (
            measure.kind == "open_cases") else (
            f"SELECT agency, count(*) FROM ({LATEST_STATUS_SQL}) "
            "WHERE status = 'complete' GROUP BY GROUPING SETS ((agency), ())")
        position, at_position = _grouped(connection, sql, params)
        return position, dict(at_position)
    assert measure.numerator is not None
    total, by_agency = count(connection, measure.numerator, start, end, standing)
    if measure.denominator is None:
        return total, dict(by_agency)
    base, base_by_agency = count(connection, measure.denominator, start, end, standing)
    return (share(total, base),
            {agency: share(by_agency.get(agency, 0.0), base_by_agency[agency])
             for agency in base_by_agency})


def rate_parts(connection: duckdb.DuckDBPyConnection, measure: Measure, start: date,
               end: date, standing: Standing) -> tuple[float, float] | None:
    """A rate's numerator and denominator over [start, end]; None for a count."""
    if measure.numerator is None or measure.denominator is None:
        return None
    return (count(connection, measure.numerator, start, end, standing)[0],
            count(connection, measure.denominator, start, end, standing)[0])


def _monthly(connection: duckdb.DuckDBPyConnection, what: Count, start: date, end: date,
             standing: Standing) -> dict[str, float]:
    sql = (f"WITH {STANDING_SQL} SELECT strftime(occurred_on, '%Y-%m'), {what.expression()} "
           f"FROM standing WHERE occurred_on BETWEEN $start AND $end AND {what.condition()} "
           "GROUP BY 1")
    rows = connection.execute(sql, {**standing.params(), "start": start, "end": end})
    return {month: float(value or 0) for month, value in rows.fetchall()}


def monthly_values(connection: duckdb.DuckDBPyConnection, measure: Measure,
                   months: list[tuple[date, date]], standing: Standing) -> list[float | None]:
    """A flow measure's value in each of ``months`` (consecutive spans), in one query for
    the numerator and one for a denominator; state measures are evaluated at each end."""
    if measure.kind != "flow" or measure.numerator is None:
        return [measure_split(connection, measure, start, end, standing)[0]
                for start, end in months]
    first, last = months[0][0], months[-1][1]
    counted = _monthly(connection, measure.numerator, first, last, standing)
    keys = [f"{start:%Y-%m}" for start, _ in months]
    if measure.denominator is None:
        return [counted.get(key, 0.0) for key in keys]
    bases = _monthly(connection, measure.denominator, first, last, standing)
    return [share(counted.get(key, 0.0), bases.get(key, 0.0)) for key in keys]


def share(part: float, whole: float) -> float | None:
    return part / whole if whole else None


def fact_condition(measure: Measure) -> str:
    """SQL naming the facts a measure counts (for state measures, every fact it reads)."""
    if measure.kind == "open_cases":
        return case_type_sql("opens", "closes")
    if measure.numerator is not None:
        condition = measure.numerator.condition()
        if measure.denominator is not None:
            condition = f"(({condition}) OR ({measure.denominator.condition()}))"
        return condition
    return types_sql([ACTION_STATUS_TYPE])


def contributors(connection: duckdb.DuckDBPyConnection, measure: Measure, start: date,
                 end: date, standing: Standing) -> set[str]:
    """The agencies whose events count towards a measure over [start, end]."""
    sql = (f"WITH {STANDING_SQL} SELECT DISTINCT agency FROM standing "
           f"WHERE occurred_on BETWEEN $start AND $end AND {fact_condition(measure)}")
    rows = connection.execute(sql, {**standing.params(), "start": start, "end": end})
    return {row[0] for row in rows.fetchall()}


# Batched forms: many measures in one scan, for a whole report ------------------------
#
# Each aggregate costs about 2 ms per million facts (DuckDB evaluates its FILTER on every
# row), so an aggregate that several measures share is written once, and totals that are
# sums of the agencies' values are added up here rather than by a second grouping set.

class _Aggregates:
    """The aggregate columns of one query, each written once however many ask for it."""

    def __init__(self, first: int) -> None:
        self.first = first  # the result column of the first aggregate
        self.columns: dict[str, int] = {}

    def add(self, expression: str) -> int:
        return self.columns.setdefault(expression, self.first + len(self.columns))

    def sql(self) -> str:
        return ", ".join(self.columns)


def _filtered(count: Count) -> tuple[str, str]:
    """The count's aggregate and its presence test, each over only its own facts."""
    condition = count.condition()
    return (f"{count.expression()} FILTER (WHERE {condition})",
            f"count(*) FILTER (WHERE {condition})")


@dataclass(frozen=True)
class _FlowColumns:
    numerator: int
    numerator_seen: int
    denominator: tuple[int, int] | None  # its aggregate and its presence test


def _flow_columns(measure: Measure, aggregates: _Aggregates) -> _FlowColumns:
    assert measure.numerator is not None
    numerator, seen = (aggregates.add(e) for e in _filtered(measure.numerator))
    if measure.denominator is None:
        return _FlowColumns(numerator, seen, None)
    denominator, base_seen = (aggregates.add(e) for e in _filtered(measure.denominator))
    return _FlowColumns(numerator, seen, (denominator, base_seen))


def _distinct_totals(connection: duckdb.DuckDBPyConnection, measures: list[Measure],
                     params: dict[str, Any]) -> dict[str, float]:
    """Distinct counts over all agencies (a school two agencies visited counts once),
    which the agencies' own distinct counts cannot be added up to."""
    counts = {c.expression() + c.condition(): c for m in measures
              for c in (m.numerator, m.denominator) if c is not None and c.aggregate == "distinct"}
    if not counts:
        return {}
    sql = (f"WITH {STANDING_SQL} SELECT "
           + ", ".join(_filtered(c)[0] for c in counts.values())
           + " FROM standing WHERE occurred_on BETWEEN $start AND $end")
    row = connection.execute(sql, params).fetchone() or ()
    return {key: float(value or 0) for key, value in zip(counts, row, strict=True)}


FlowSplit = tuple[float | None, dict[str, float | None], Any, tuple[float, float] | None]


def flow_splits(connection: duckdb.DuckDBPyConnection, measures: list[Measure], start: date,
                end: date, standing: Standing) -> dict[str, FlowSplit]:
    """``measure_split`` of many flow measures over one window in one query, with the
    latest knowledge time of each measure's facts (its last return) and, for a rate, its
    numerator and denominator (``rate_parts``)."""
    aggregates = _Aggregates(first=1)
    columns = {m.id: _flow_columns(m, aggregates) for m in measures}
    last = {m.id: aggregates.add(f"max(recorded_at) FILTER (WHERE {fact_condition(m)})")
            for m in measures}
    params = {**standing.params(), "start": start, "end": end}
    rows = connection.execute(
        f"WITH {STANDING_SQL} SELECT agency, {aggregates.sql()} FROM standing "
        "WHERE occurred_on BETWEEN $start AND $end GROUP BY agency ORDER BY agency",
        params).fetchall()
    distinct = _distinct_totals(connection, measures, params)

    def total(count: Count, at: int) -> float:
        key = count.expression() + count.condition()
        return distinct[key] if key in distinct else float(sum(r[at] or 0 for r in rows))

    results: dict[str, FlowSplit] = {}
    for measure in measures:
        assert measure.numerator is not None
        at = columns[measure.id]
        numerator = total(measure.numerator, at.numerator)
        latest = max((r[last[measure.id]] for r in rows if r[last[measure.id]] is not None),
                     default=None)
        if measure.denominator is None or at.denominator is None:
            by_agency: dict[str, float | None] = {
                r[0]: float(r[at.numerator] or 0) for r in rows if r[at.numerator_seen]}
            results[measure.id] = (numerator, by_agency, latest, None)
            continue
        denominator, base_seen = at.denominator
        base = total(measure.denominator, denominator)
        shares = {r[0]: share(float(r[at.numerator] or 0), float(r[denominator] or 0))
                  for r in rows if r[base_seen]}
        results[measure.id] = (share(numerator, base), shares, latest, (numerator, base))
    return results


MonthParts = list[tuple[float, float | None]]  # each month's numerator, denominator


def flow_month_parts(connection: duckdb.DuckDBPyConnection, measures: list[Measure],
                     months: list[tuple[date, date]], standing: Standing
                     ) -> dict[str, MonthParts]:
    """``monthly_parts`` of many flow measures in one query."""
    aggregates = _Aggregates(first=1)
    columns = {m.id: _flow_columns(m, aggregates) for m in measures}
    sql = (f"WITH {STANDING_SQL} SELECT CAST(date_trunc('month', occurred_on) AS DATE), "
           f"{aggregates.sql()} FROM standing WHERE occurred_on BETWEEN $start AND $end "
           "GROUP BY 1")
    rows = {r[0]: r for r in connection.execute(sql, {
        **standing.params(), "start": months[0][0], "end": months[-1][1]}).fetchall()}
    firsts = [first for first, _ in months]

    def monthly(at: int) -> list[float]:
        return [float((rows[first][at] if first in rows else 0) or 0) for first in firsts]

    results: dict[str, MonthParts] = {}
    for measure in measures:
        at = columns[measure.id]
        counted = monthly(at.numerator)
        bases: list[float | None] = ([*monthly(at.denominator[0])] if at.denominator
                                     else [None] * len(firsts))
        results[measure.id] = list(zip(counted, bases, strict=True))
    return results


def first_seen(connection: duckdb.DuckDBPyConnection, count: Count,
               months: list[tuple[date, date]], standing: Standing) -> list[float]:
    """A distinct count's new items in each of ``months`` (consecutive): those first
    seen that month since the first month began, so the months add up to the count."""
    sql = (f"WITH {STANDING_SQL}, firsts AS (SELECT {count.column()} AS item, "
           f"min(occurred_on) AS first FROM standing WHERE occurred_on BETWEEN $start "
           f"AND $end AND {count.condition()} GROUP BY 1) "
           "SELECT strftime(first, '%Y-%m'), count(*) FROM firsts GROUP BY 1")
    rows = dict(connection.execute(sql, {**standing.params(), "start": months[0][0],
                                         "end": months[-1][1]}).fetchall())
    return [float(rows.get(f"{start:%Y-%m}", 0)) for start, _ in months]


def as_values(parts: MonthParts) -> list[float | None]:
    """Each month's value: its count, or its numerator's share of its denominator."""
    return [count if base is None else share(count, base) for count, base in parts]


def monthly_parts(connection: duckdb.DuckDBPyConnection, measure: Measure,
                  months: list[tuple[date, date]], standing: Standing) -> MonthParts:
    """A flow measure's numerator (and a rate's denominator) in each of ``months``."""
    assert measure.numerator is not None
    first, last = months[0][0], months[-1][1]
    keys = [f"{start:%Y-%m}" for start, _ in months]
    counted = _monthly(connection, measure.numerator, first, last, standing)
    if measure.denominator is None:
        return [(counted.get(key, 0.0), None) for key in keys]
    bases = _monthly(connection, measure.denominator, first, last, standing)
    return [(counted.get(key, 0.0), bases.get(key, 0.0)) for key in keys]


@dataclass(frozen=True)
class Contribution:
    """An agency's facts in a measure: whether it has any in the measure's window (not
    only in the weeks before it), and the months it has any in, when asked for."""

    in_window: bool
    months: frozenset[str] = frozenset()  # YYYY-MM


def contributions(connection: duckdb.DuckDBPyConnection, measures: list[Measure],
                  start: date, window_start: date, end: date, standing: Standing, *,
                  by_month: bool = False) -> dict[str, dict[str, Contribution]]:
    """For each measure, the agencies whose facts it reads over [start, end], whether
    they have any from ``window_start``, and (``by_month``) the months they have any in,
    in one query with a row per agency."""
    aggregates = _Aggregates(first=1)
    columns = {}
    for m in measures:
        condition = fact_condition(m)
        columns[m.id] = (
            aggregates.add(f"count(*) FILTER (WHERE {condition})"),
            aggregates.add(f"count(*) FILTER (WHERE occurred_on >= $window AND {condition})"),
            aggregates.add(f"list(DISTINCT strftime(occurred_on, '%Y-%m')) "
                           f"FILTER (WHERE {condition})") if by_month else None)
    sql = (f"WITH {STANDING_SQL} SELECT agency, {aggregates.sql()} FROM standing "
           "WHERE occurred_on BETWEEN $start AND $end GROUP BY agency")
    rows = connection.execute(sql, {**standing.params(), "start": start, "end": end,
                                    "window": window_start}).fetchall()
    found: dict[str, dict[str, Contribution]] = {}
    for m in measures:
        any_at, window_at, months_at = columns[m.id]
        found[m.id] = {row[0]: Contribution(bool(row[window_at]), frozenset(
            row[months_at] or ()) if months_at is not None else frozenset())
            for row in rows if row[any_at]}
    return found


def last_known(connection: duckdb.DuckDBPyConnection, measures: list[Measure], end: date,
               standing: Standing) -> dict[str, Any]:
    """The latest knowledge time of the facts each (state) measure reads, up to ``end``."""
    aggregates = _Aggregates(first=0)
    at = {m.id: aggregates.add(f"max(recorded_at) FILTER (WHERE {fact_condition(m)})")
          for m in measures}
    sql = (f"WITH {STANDING_SQL} SELECT {aggregates.sql()} FROM standing "
           "WHERE occurred_on <= $end")
    row = connection.execute(sql, {**standing.params(), "end": end}).fetchone()
    return {m.id: row[at[m.id]] if row else None for m in measures}


def referrals_condition(measure: Measure) -> str:
    """The referrals an open-cases measure follows."""
    return measure.numerator.condition() if measure.numerator else case_type_sql("opens")


# Each (measure, end, agency)'s open cases: each case episode is joined to its closure
# once, whichever measures follow its referral, and to each end; a case counts once
# however many of its episodes are open. Measures and ends are rows here, not columns:
# DuckDB's cost is per aggregate written (≈0.2 ms each to set up), so a column per
# (measure, end) cost more than the work, even at a million facts.
OPEN_CASES_AT_ENDS_SQL = f"""
WITH {STANDING_SQL},
referred AS (SELECT agency, case_ref, episode, occurred_on AS referred_on,
                    unnest(list_filter([{{follows}}], x -> x IS NOT NULL)) AS measure
             FROM standing WHERE occurred_on <= $last AND ({{any_referral}})),
closed AS (SELECT agency, case_ref, episode, min(occurred_on) AS closed_on FROM standing
           WHERE occurred_on <= $last AND {case_type_sql("closes")} GROUP BY ALL),
ends AS (SELECT unnest($ends::DATE[]) AS month_end,
                unnest(range(len($ends::DATE[]))) AS k),
open AS (SELECT DISTINCT measure, k, agency, case_ref
         FROM referred LEFT JOIN closed USING (agency, case_ref, episode)
         JOIN ends ON referred_on <= month_end
         WHERE closed_on IS NULL OR closed_on > month_end)
SELECT measure, k, agency, count(*) FROM open GROUP BY ALL
"""
# The same, and in the same statement the case facts (referrals and closures: what an
# open-cases measure reads) by agency and segment of days, and when the latest up to
# ``$end`` became known: ``StateFacts``'s questions, without a statement each.
OPEN_CASES_AND_FACTS_SQL = OPEN_CASES_AT_ENDS_SQL.replace(
    "SELECT measure, k, agency, count(*) FROM open GROUP BY ALL", f"""
, segments AS (SELECT unnest($starts::DATE[]) AS lo, unnest($seg_ends::DATE[]) AS hi,
                      unnest(range(len($starts::DATE[]))) AS seg),
cases AS (SELECT agency, seg, recorded_at FROM standing
          JOIN segments ON occurred_on BETWEEN lo AND hi WHERE {case_type_sql("opens", "closes")})
SELECT 0 AS part, measure, k, agency, count(*) AS n, NULL::TIMESTAMP AS latest FROM open
GROUP BY ALL
UNION ALL SELECT 1, NULL, seg, agency, count(*), max(recorded_at) FROM cases GROUP BY ALL
UNION ALL SELECT 2, NULL, NULL, NULL, NULL, max(recorded_at) FROM standing
          WHERE occurred_on <= $end AND {case_type_sql("opens", "closes")}""")


def referrals_followed_sql(measures: list[Measure], label: Callable[[int, Measure], str]
                          ) -> tuple[str, str]:
    """Which referrals the open-cases ``measures`` follow, as SQL: the items of a list of
    each measure's ``label`` where its referral condition holds (NULL where not), and
    the condition that any holds. Used by the statements below and by
    ``projections.case_facts``, which reads the referrals into memory."""
    follows = ", ".join(f"CASE WHEN {referrals_condition(m)} THEN {label(i, m)} END"
                        for i, m in enumerate(measures))
    return follows, " OR ".join(f"({referrals_condition(m)})" for m in measures)


def _open_cases_sql(measures: list[Measure], template: str) -> str:
    follows, any_referral = referrals_followed_sql(measures, lambda i, _: str(i))
    return template.format(follows=follows, any_referral=any_referral)


def open_cases_at(connection: duckdb.DuckDBPyConnection, measures: list[Measure],
                  ends: list[date], standing: Standing,
                  answered: list[tuple[Any, ...]] | None = None) -> dict[str, list[Split]]:
    """Every open-cases measure at each of ``ends``, by agency, in one query (or from
    its rows of (measure, k, agency, cases), ``answered`` in Python)."""
    return _open_splits(measures, len(ends), answered if answered is not None else
                        connection.execute(_open_cases_sql(measures, OPEN_CASES_AT_ENDS_SQL),
                                           {**standing.params(), "last": max(ends),
                                            "ends": ends}).fetchall())


def _open_splits(measures: list[Measure], ends: int, rows: list[tuple[Any, ...]]
                 ) -> dict[str, list[Split]]:
    """Each open-cases measure's split at each end from rows of (measure, k, agency,
    cases)."""
    found: dict[tuple[int, int], dict[str, float]] = {}
    for measure, k, agency, cases in rows:
        found.setdefault((measure, k), {})[agency] = float(cases)
    results: dict[str, list[Split]] = {}
    for i, m in enumerate(measures):
        splits: list[Split] = []
        for k in range(ends):
            by_agency = dict(sorted(found.get((i, k), {}).items()))
            splits.append((float(sum(by_agency.values())), by_agency))
        results[m.id] = splits
    return results


StatusRow = tuple[date, str, str, str, str, datetime]  # end, agency, action, status, ...


def _splits_at(ends: list[date], rows: list[tuple[Any, ...]], first: int) -> list[Split]:
    """(total, by agency) at each end from rows of (agency, values...), the value at the
    k-th end being in column ``first + k``; agencies with nothing to count are left out,
    as a grouped count leaves them out."""
    splits = []
    for column in range(first, first + len(ends)):
        by_agency = {r[0]: float(r[column]) for r in rows if r[column]}
        splits.append((float(sum(by_agency.values())), by_agency))
    return splits


class Timed(Protocol):
    """A fact read into Python with the times that say whether it stands."""

    @property
    def recorded_at(self) -> datetime: ...
    @property
    def position(self) -> int: ...
    @property
    def ended_at(self) -> datetime | None: ...
    @property
    def ended_position(self) -> int | None: ...


def stands(standing: Standing) -> Callable[[Timed], bool]:
    """``STANDS_SQL`` in Python, for facts read once per read-model state
    (``projections.lookups``, ``projections.case_facts``): recorded by the knowledge time
    and, when pinned, at or before the position; not ended by both (an end without a
    position counts as ended, as SQL's NULL makes it). Held to the SQL by
    ``tests/unit/test_case_facts.py`` (generated facts, ended and pinned)."""
    known = to_naive_utc(standing.known)
    upto = standing.position if standing.position is not None else NO_PIN

    def test(fact: Timed) -> bool:
        ended = fact.ended_at is not None and fact.ended_at <= known and (
            fact.ended_position is None or fact.ended_position <= upto)
        return fact.recorded_at <= known and fact.position <= upto and not ended
    return test


def latest_statuses_of(facts: Iterable[StatusFact], actions: Iterable[str],
                       ends: list[date], standing: Standing) -> list[StatusRow]:
    """Each plan action's latest reported status at each of ``ends`` (a row per action
    with any by then), from the status facts and the plan's action codes: the standing
    report with the latest (occurred, recorded, position)."""
    codes = set(actions)
    test = stands(standing)
    standing_facts = [f for f in facts if f.action in codes and test(f)]
    rows: list[StatusRow] = []
    for end in ends:
        latest: dict[str, StatusFact] = {}
        for fact in standing_facts:
            if fact.occurred_on > end:
                continue
            found = latest.get(fact.action)
            if found is None or (fact.occurred_utc, fact.recorded_at, fact.position) > (
                    found.occurred_utc, found.recorded_at, found.position):
                latest[fact.action] = fact
        rows.extend((end, f.agency, f.action, f.status, f.occurred_at, f.recorded_at)
                    for f in latest.values())
    return rows


def complete_at(statuses: list[StatusRow], ends: list[date]) -> list[Split]:
    """The actions-complete measure at each end, by the agency that reported completion."""
    counted: dict[str, list[int]] = {}
    for end, agency, _, status, _, _ in statuses:
        if status == "complete":
            counted.setdefault(agency, [0] * len(ends))[ends.index(end)] += 1
    rows = [(agency, *counts) for agency, counts in sorted(counted.items())]
    return _splits_at(ends, rows, 1)


class StateFacts:
    """The state measures' questions besides their values at ``ends``: which agencies'
    facts each reads over a span (``contributions``) and when the latest it reads up to
    ``last_day`` became known (``last_known``), as known by ``standing``. The open-cases
    measures' values at ``ends`` and their case facts by agency and segment of days
    (``periods.Segments`` of ``spans``) come from one statement, or, ``answered``, from
    its rows worked out in Python (``projections.case_facts``, for a small read model);
    the action statuses from the status facts kept per read-model state
    (``projections.lookups``). A span that is not whole segments is asked by
    ``contributions``' own statement."""

    def __init__(self, connection: duckdb.DuckDBPyConnection, measures: list[Measure],
                 ends: list[date], standing: Standing, segments: Segments,
                 statuses: list[StatusFact], last_day: date,
                 answered: list[tuple[Any, ...]] | None = None) -> None:
        self.connection, self.standing, self.last_day = connection, standing, last_day
        self.segments = segments
        test = stands(standing)
        self.statuses = [f for f in statuses if test(f)]
        self.open_cases = [m for m in measures if m.kind == "open_cases"]
        self.at_ends: dict[str, list[Split]] = {}
        self.cases: dict[tuple[str, int], tuple[int, Any]] = {}  # agency, segment
        self.cases_latest: Any = None
        if not self.open_cases:
            return
        rows = answered if answered is not None else connection.execute(
            _open_cases_sql(self.open_cases, OPEN_CASES_AND_FACTS_SQL), {
                **standing.params(), "last": max(ends), "ends": ends, "end": last_day,
                "starts": self.segments.starts or [last_day],
                "seg_ends": self.segments.ends or [last_day - timedelta(days=1)]}).fetchall()
        self.at_ends = _open_splits(self.open_cases, len(ends),
                                    [r[1:5] for r in rows if r[0] == 0])
        for _, _, seg, agency, facts, latest in (r for r in rows if r[0] == 1):
            self.cases[(agency, seg)] = (int(facts), latest)
        self.cases_latest = next((r[5] for r in rows if r[0] == 2), None)

    def _reads_statuses(self, measure: Measure) -> bool:
        """An actions measure reads the status facts; an open-cases one the case facts."""
        return measure.kind == "actions_complete"

    def contributions(self, measures: list[Measure], start: date, window_start: date,
                      end: date, *, by_month: bool = False
                      ) -> dict[str, dict[str, Contribution]]:
        """``contributions`` of state measures."""
        run = self.segments.monthly(start, end) if by_month else self.segments.run(start, end)
        window = self.segments.index(window_start)
        found: dict[str, dict[str, Contribution]] = {}
        asked = [m for m in measures if not self._reads_statuses(m)]
        if asked and (run is None or window is None):
            found.update(contributions(self.connection, asked, start, window_start, end,
                                       self.standing, by_month=by_month))
        elif asked and run is not None and window is not None:
            cases: dict[str, list[int]] = {}
            for (agency, seg), _ in self.cases.items():
                if seg in run:
                    cases.setdefault(agency, []).append(seg)
            made = {agency: Contribution(
                any(seg >= window for seg in segs), frozenset(
                    self.segments.months[seg] for seg in segs) if by_month else frozenset())
                for agency, segs in sorted(cases.items())}
            found.update({m.id: dict(made) for m in asked})
        reports: dict[str, list[date]] = {}
        for fact in self.statuses:
            if start <= fact.occurred_on <= end:
                reports.setdefault(fact.agency, []).append(fact.occurred_on)
        made = {agency: Contribution(
            any(day >= window_start for day in days),
            frozenset(f"{day:%Y-%m}" for day in days) if by_month else frozenset())
            for agency, days in sorted(reports.items())}
        found.update({m.id: dict(made) for m in measures if self._reads_statuses(m)})
        return found

    def last_known(self, measures: list[Measure]) -> dict[str, Any]:
        """``last_known`` of state measures, up to ``last_day``."""
        statuses = max((f.recorded_at for f in self.statuses
                        if f.occurred_on <= self.last_day), default=None)
        return {m.id: statuses if self._reads_statuses(m) else self.cases_latest
                for m in measures}
