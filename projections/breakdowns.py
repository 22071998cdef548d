"""Breakdowns of referrals and open cases by what the contract already collects: the
client's age band, gender and type, and the referral's source.

A breakdown is a table of small numbers about people, so it is shown only through the
disclosure control: as counted to the board, and to nobody else until the disclosure
control (projections/disclosure.py, issue 13) suppresses it.
"""

from __future__ import annotations

from datetime import date

import duckdb

from domain.contract import case_role
from projections.measures import Measure
from projections.standing import CLOSED_BY_SQL, STANDING_SQL, Standing, referrals_condition

DIMENSIONS = {"age_band": "Age band", "gender": "Gender", "client": "Client",
              "source": "Referred by"}

OPEN_BY_SQL = f"""
WITH {STANDING_SQL},
upto_day AS (SELECT * FROM standing WHERE occurred_on <= $end)
SELECT r.{{dimension}}, count(DISTINCT r.agency || '/' || r.case_ref) FROM upto_day r
WHERE {{referrals}} AND NOT EXISTS (
    SELECT 1 FROM upto_day c WHERE {CLOSED_BY_SQL} AND c.agency = r.agency
    AND c.case_ref = r.case_ref AND c.episode = r.episode)
GROUP BY 1 ORDER BY 1
"""


def can_break_down(measure: Measure) -> bool:
    """Open cases, and counts of referrals (not rates, not per population)."""
    if measure.kind == "open_cases":
        return True
    return (measure.kind == "flow" and measure.numerator is not None
            and case_role(measure.numerator.event_type) == "opens"
            and measure.numerator.aggregate == "count" and measure.denominator is None
            and measure.population is None)


def breakdowns(connection: duckdb.DuckDBPyConnection, measure: Measure,
               window: tuple[date, date], standing: Standing) -> dict[str, dict[str, int]]:
    """Each dimension's counts (category -> count) over the measure's window (open
    cases: at its end); every dimension adds up to the measure's value."""
    if not can_break_down(measure):
        return {}
    found: dict[str, dict[str, int]] = {}
    for dimension in DIMENSIONS:
        if measure.kind == "open_cases":
            sql = OPEN_BY_SQL.format(dimension=dimension,
                                     referrals=referrals_condition(measure))
            params = {**standing.params(), "end": window[1]}
        else:
            assert measure.numerator is not None
            sql = (f"WITH {STANDING_SQL} SELECT {dimension}, count(*) FROM standing "
                   f"WHERE occurred_on BETWEEN $start AND $end "
                   f"AND {measure.numerator.condition()} GROUP BY 1 ORDER BY 1")
            params = {**standing.params(), "start": window[0], "end": window[1]}
        found[dimension] = {str(category): int(count) for category, count in
                            connection.execute(sql, params).fetchall()}
    return found
