"""Which facts stand: as known at a time, optionally as the log stood at a position.

Every query of the scorecard starts from the ``standing`` facts. As known at K, a fact
stands when it was recorded by K and not ended (retracted or superseded) by K. Pinned to
log position P (a board's acceptance), it stands when accepted at or before P and not
ended at or before P.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

import duckdb

from domain.timekeeping import to_naive_utc
from projections.measures import Count, Measure

NO_PIN = 2**62

STANDING_SQL = """
standing AS (
    SELECT * FROM facts
    WHERE recorded_at <= $known AND position <= $upto
      AND NOT (ended_at IS NOT NULL AND ended_at <= $known AND ended_position <= $upto)
)"""

OPEN_CASES_SQL = f"""
WITH {STANDING_SQL},
upto_day AS (SELECT * FROM standing WHERE occurred_on <= $end)
SELECT agency, count(DISTINCT agency || '/' || case_ref) FROM upto_day r
WHERE {{referrals}} AND NOT EXISTS (
    SELECT 1 FROM upto_day c WHERE c.type = 'case.closed' AND c.agency = r.agency
    AND c.case_ref = r.case_ref AND c.episode = r.episode)
GROUP BY GROUPING SETS ((agency), ())
"""

LATEST_STATUS_SQL = f"""
WITH {STANDING_SQL}
SELECT standing.* FROM standing JOIN plan_actions ON plan_actions.code = standing.action
WHERE standing.type = 'action.status_reported' AND occurred_on <= $end
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
        referrals = (measure.numerator.condition() if measure.numerator
                     else "type = 'referral.received'")
        sql = OPEN_CASES_SQL.format(referrals=referrals) if measure.kind == "open_cases" else (
            f"SELECT agency, count(*) FROM ({LATEST_STATUS_SQL}) "
            "WHERE status = 'complete' GROUP BY GROUPING SETS ((agency), ())")
        position, at_position = _grouped(connection, sql, params)
        return position, dict(at_position)
    assert measure.numerator is not None
    total, by_agency = count(connection, measure.numerator, start, end, standing)
    if measure.denominator is None:
        return total, dict(by_agency)
    base, base_by_agency = count(connection, measure.denominator, start, end, standing)
    return (_share(total, base),
            {agency: _share(by_agency.get(agency, 0.0), base_by_agency[agency])
             for agency in base_by_agency})


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
    return [_share(counted.get(key, 0.0), bases.get(key, 0.0)) for key in keys]


def _share(part: float, whole: float) -> float | None:
    return part / whole if whole else None


def fact_condition(measure: Measure) -> str:
    """SQL naming the facts a measure counts (for state measures, every fact it reads)."""
    if measure.kind == "open_cases":
        return "type IN ('referral.received', 'case.closed')"
    if measure.numerator is not None:
        condition = measure.numerator.condition()
        if measure.denominator is not None:
            condition = f"(({condition}) OR ({measure.denominator.condition()}))"
        return condition
    if measure.kind == "open_cases":
        return "type IN ('referral.received', 'case.closed')"
    return "type = 'action.status_reported'"


def contributors(connection: duckdb.DuckDBPyConnection, measure: Measure, start: date,
                 end: date, standing: Standing) -> set[str]:
    """The agencies whose events count towards a measure over [start, end]."""
    sql = (f"WITH {STANDING_SQL} SELECT DISTINCT agency FROM standing "
           f"WHERE occurred_on BETWEEN $start AND $end AND {fact_condition(measure)}")
    rows = connection.execute(sql, {**standing.params(), "start": start, "end": end})
    return {row[0] for row in rows.fetchall()}


# Batched forms: many measures in one scan, for a whole report ------------------------

def _filtered(count: Count) -> tuple[str, str]:
    """The count's aggregate and its presence test, each over only its own facts."""
    condition = count.condition()
    return (f"{count.expression()} FILTER (WHERE {condition})",
            f"count(*) FILTER (WHERE {condition})")


def _flow_columns(measure: Measure) -> list[str]:
    assert measure.numerator is not None
    columns = list(_filtered(measure.numerator))
    columns += list(_filtered(measure.denominator)) if measure.denominator else ["0", "0"]
    return columns


def flow_splits(connection: duckdb.DuckDBPyConnection, measures: list[Measure], start: date,
                end: date, standing: Standing
                ) -> dict[str, tuple[float | None, dict[str, float | None], Any]]:
    """``measure_split`` of many flow measures over one window in one query, with the
    latest knowledge time of each measure's facts (its last return)."""
    columns: list[str] = []
    for measure in measures:
        columns += _flow_columns(measure)
        columns.append(f"max(recorded_at) FILTER (WHERE {fact_condition(measure)})")
    sql = (f"WITH {STANDING_SQL} SELECT agency, {', '.join(columns)} FROM standing "
           "WHERE occurred_on BETWEEN $start AND $end GROUP BY GROUPING SETS ((agency), ())")
    rows = connection.execute(sql, {**standing.params(), "start": start, "end": end}).fetchall()
    results: dict[str, tuple[float | None, dict[str, float | None], Any]] = {}
    for index, measure in enumerate(measures):
        at = 1 + index * 5
        total_row = next((r for r in rows if r[0] is None), None)
        agency_rows = sorted((r for r in rows if r[0] is not None), key=lambda r: r[0])
        numerator = float((total_row[at] if total_row else 0) or 0)
        last = total_row[at + 4] if total_row else None
        if measure.denominator is None:
            by_agency: dict[str, float | None] = {
                r[0]: float(r[at] or 0) for r in agency_rows if r[at + 1]}
            results[measure.id] = (numerator, by_agency, last)
            continue
        base = float((total_row[at + 2] if total_row else 0) or 0)
        shares = {r[0]: _share(float(r[at] or 0), float(r[at + 2] or 0))
                  for r in agency_rows if r[at + 3]}
        results[measure.id] = (_share(numerator, base), shares, last)
    return results


def flow_months(connection: duckdb.DuckDBPyConnection, measures: list[Measure],
                months: list[tuple[date, date]], standing: Standing
                ) -> dict[str, list[float | None]]:
    """``monthly_values`` of many flow measures in one query."""
    columns = [column for measure in measures for column in _flow_columns(measure)]
    sql = (f"WITH {STANDING_SQL} SELECT strftime(occurred_on, '%Y-%m'), {', '.join(columns)} "
           "FROM standing WHERE occurred_on BETWEEN $start AND $end GROUP BY 1")
    rows = {r[0]: r for r in connection.execute(sql, {
        **standing.params(), "start": months[0][0], "end": months[-1][1]}).fetchall()}
    keys = [f"{start:%Y-%m}" for start, _ in months]
    results: dict[str, list[float | None]] = {}
    for index, measure in enumerate(measures):
        at = 1 + index * 4
        counted = [float((rows[k][at] if k in rows else 0) or 0) for k in keys]
        if measure.denominator is None:
            results[measure.id] = [*counted]
        else:
            bases = [float((rows[k][at + 2] if k in rows else 0) or 0) for k in keys]
            results[measure.id] = [_share(c, b) for c, b in zip(counted, bases, strict=True)]
    return results


def contributors_of(connection: duckdb.DuckDBPyConnection, measures: list[Measure],
                    start: date, end: date, standing: Standing) -> dict[str, set[str]]:
    """``contributors`` of many measures in one query."""
    columns = [f"count(*) FILTER (WHERE {fact_condition(m)})" for m in measures]
    sql = (f"WITH {STANDING_SQL} SELECT agency, {', '.join(columns)} FROM standing "
           "WHERE occurred_on BETWEEN $start AND $end GROUP BY agency")
    rows = connection.execute(sql, {**standing.params(), "start": start, "end": end}).fetchall()
    return {m.id: {r[0] for r in rows if r[1 + i]} for i, m in enumerate(measures)}


def last_known(connection: duckdb.DuckDBPyConnection, measures: list[Measure], end: date,
               standing: Standing) -> dict[str, Any]:
    """The latest knowledge time of the facts each (state) measure reads, up to ``end``."""
    columns = [f"max(recorded_at) FILTER (WHERE {fact_condition(m)})" for m in measures]
    sql = (f"WITH {STANDING_SQL} SELECT {', '.join(columns)} FROM standing "
           "WHERE occurred_on <= $end")
    row = connection.execute(sql, {**standing.params(), "end": end}).fetchone()
    return {m.id: row[i] if row else None for i, m in enumerate(measures)}


OPEN_CASES_AT_ENDS_SQL = f"""
WITH {STANDING_SQL},
upto AS (SELECT * FROM standing WHERE occurred_on <= $last),
referred AS (SELECT agency, case_ref, episode, occurred_on AS referred_on FROM upto r
             WHERE {{referrals}}),
closed AS (SELECT agency, case_ref, episode, min(occurred_on) AS closed_on FROM upto
           WHERE type = 'case.closed' GROUP BY ALL),
ends AS (SELECT unnest($ends::DATE[]) AS month_end)
SELECT month_end, count(DISTINCT r.agency || '/' || r.case_ref)
FROM referred r LEFT JOIN closed c USING (agency, case_ref, episode), ends
WHERE r.referred_on <= month_end AND (c.closed_on IS NULL OR c.closed_on > month_end)
GROUP BY month_end
"""

COMPLETE_AT_ENDS_SQL = f"""
WITH {STANDING_SQL},
ends AS (SELECT unnest($ends::DATE[]) AS month_end),
latest AS (
    SELECT month_end, standing.status FROM standing
    JOIN plan_actions ON plan_actions.code = standing.action, ends
    WHERE standing.type = 'action.status_reported' AND occurred_on <= month_end
    QUALIFY row_number() OVER (PARTITION BY month_end, standing.action
                               ORDER BY occurred_utc DESC, recorded_at DESC, position DESC) = 1
)
SELECT month_end, count(*) FILTER (WHERE status = 'complete') FROM latest GROUP BY month_end
"""


def state_months(connection: duckdb.DuckDBPyConnection, measure: Measure,
                 months: list[tuple[date, date]], standing: Standing) -> list[float | None]:
    """``monthly_values`` of a state measure: its position at each month's end, in one
    query (instead of one per month)."""
    ends = [end for _, end in months]
    if measure.kind == "open_cases":
        referrals = (measure.numerator.condition() if measure.numerator
                     else "type = 'referral.received'")
        sql = OPEN_CASES_AT_ENDS_SQL.format(referrals=referrals)
    else:
        sql = COMPLETE_AT_ENDS_SQL
    rows = dict(connection.execute(sql, {**standing.params(), "ends": ends,
                                         **({"last": max(ends)} if "$last" in sql else {})}
                                   ).fetchall())
    return [float(rows.get(end, 0) or 0) for end in ends]
