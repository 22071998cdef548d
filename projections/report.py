"""``scorecard report``: the scorecard for a window, as it was known at a chosen time."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

import duckdb

from domain.timekeeping import from_naive_utc, iso_utc, to_naive_utc
from projections.measures import ACTIONS_COMPLETE, FLOW_MEASURES, OPEN_CASES, Measure

STANDING = """
standing AS (
    SELECT * FROM facts
    WHERE recorded_at <= $known AND (ended_at IS NULL OR ended_at > $known)
),
windowed AS (SELECT * FROM standing WHERE occurred_on BETWEEN $from_day AND $as_at),
upto AS (SELECT * FROM standing WHERE occurred_on <= $as_at),
latest AS (
    SELECT upto.* FROM upto JOIN plan_actions ON plan_actions.code = upto.action
    WHERE upto.type = 'action.status_reported'
    QUALIFY row_number() OVER (
        PARTITION BY upto.action ORDER BY occurred_utc DESC, recorded_at DESC, position DESC
    ) = 1
)
"""


@dataclass(frozen=True)
class MeasureValue:
    id: str
    title: str
    value: int | float
    by_agency: dict[str, int | float]
    target: float | None = None
    rag: str | None = None


@dataclass(frozen=True)
class ActionStatus:
    code: str
    title: str
    lead: str
    due: date
    status: str
    reported_at: str | None
    known_since: datetime | None


@dataclass(frozen=True)
class Report:
    as_at: date
    known_at: datetime
    from_day: date
    plan: dict[str, Any]
    measures: list[MeasureValue] = field(default_factory=list)
    actions: list[ActionStatus] = field(default_factory=list)

    def measure(self, measure_id: str) -> MeasureValue:
        return next(m for m in self.measures if m.id == measure_id)

    def to_json(self) -> dict[str, Any]:
        return {
            "as_at": self.as_at.isoformat(),
            "known_at": iso_utc(self.known_at),
            "from": self.from_day.isoformat(),
            "plan": self.plan,
            "measures": [
                {"id": m.id, "title": m.title, "value": m.value, "by_agency": m.by_agency,
                 "target": m.target, "rag": m.rag}
                for m in self.measures
            ],
            "actions": [
                {"code": a.code, "title": a.title, "lead": a.lead, "due": a.due.isoformat(),
                 "status": a.status, "reported_at": a.reported_at,
                 "known_since": iso_utc(a.known_since) if a.known_since else None}
                for a in self.actions
            ],
        }


def _measure_query(measure: Measure, source: str) -> str:
    return (
        f"SELECT '{measure.id}' AS measure, agency, coalesce({measure.aggregate}, 0) AS value "
        f"FROM {source} WHERE {measure.where} GROUP BY GROUPING SETS ((agency), ())"
    )


MEASURES_SQL = "WITH " + STANDING + " UNION ALL ".join(
    [_measure_query(m, "windowed") for m in FLOW_MEASURES]
    + [_measure_query(OPEN_CASES, "upto"), _measure_query(ACTIONS_COMPLETE, "latest")]
)
ACTIONS_SQL = "WITH " + STANDING + """
SELECT plan_actions.code, plan_actions.title, plan_actions.lead, plan_actions.due,
       coalesce(latest.status, 'not_started'), latest.occurred_at, latest.recorded_at
FROM plan_actions LEFT JOIN latest ON latest.action = plan_actions.code
ORDER BY plan_actions.ord
"""


def build_report(
    connection: duckdb.DuckDBPyConnection,
    *,
    as_at: date,
    known_at: datetime,
    from_day: date | None = None,
) -> Report:
    """Compute every standard measure and the actions' status from the read model."""
    plan_row = connection.execute(
        "SELECT code, title, partnership, starts, ends, timezone FROM plan"
    ).fetchone()
    if plan_row is None:
        raise LookupError("the read model holds no plan yet")
    code, title, partnership, starts, ends, timezone = plan_row
    window_start = from_day or starts
    params = {"known": to_naive_utc(known_at), "from_day": window_start, "as_at": as_at}
    totals: dict[str, int | float] = {}
    by_agency: dict[str, dict[str, int | float]] = {}
    for measure_id, agency, value in connection.execute(MEASURES_SQL, params).fetchall():
        number = _number(value)
        if agency is None:
            totals[measure_id] = number
        else:
            by_agency.setdefault(measure_id, {})[agency] = number
    measures = [
        MeasureValue(m.id, m.title, totals.get(m.id, 0),
                     dict(sorted(by_agency.get(m.id, {}).items())))
        for m in (*FLOW_MEASURES, OPEN_CASES, ACTIONS_COMPLETE)
    ]
    actions = [
        ActionStatus(code, title, lead, due, status, reported_at,
                     from_naive_utc(known) if known else None)
        for code, title, lead, due, status, reported_at, known
        in connection.execute(ACTIONS_SQL, params).fetchall()
    ]
    return Report(
        as_at=as_at,
        known_at=known_at,
        from_day=window_start,
        plan={"code": code, "title": title, "partnership": partnership,
              "starts": starts.isoformat(), "ends": ends.isoformat(), "timezone": timezone},
        measures=measures,
        actions=actions,
    )


def _number(value: Any) -> int | float:
    number = float(value)
    return int(number) if number.is_integer() else number


def render_text(report: Report) -> str:
    lines = [
        report.plan["title"],
        f"Events from {report.from_day} to the end of {report.as_at}, "
        f"as known at {iso_utc(report.known_at)}",
        "",
        f"{'measure':<24} {'value':>8}  by agency",
    ]
    for m in report.measures:
        split = ", ".join(f"{code} {value}" for code, value in m.by_agency.items())
        lines.append(f"{m.id:<24} {m.value:>8}  {split}")
    lines += ["", f"{'action':<8} {'status':<12} {'lead':<22} {'due':<10}  title"]
    for a in report.actions:
        lines.append(f"{a.code:<8} {a.status:<12} {a.lead:<22} {a.due}  {a.title[:60]}")
    return "\n".join(lines)


def report_json(report: Report) -> str:
    return json.dumps(report.to_json(), indent=2, ensure_ascii=False)
