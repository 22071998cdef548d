"""``scorecard diff``: what changed in a scorecard between two knowledge times, and why.

For the same window, every measure value, RAG and action status that differs between
knowledge times A and B is listed with its causes: events that arrived late, events
corrected (superseded), events retracted, and rule changes, each with the events behind it.
"""

from __future__ import annotations

import json
from datetime import date, datetime
from typing import Any

import duckdb

from domain.contract import ACTION_STATUS_TYPE, types_sql
from domain.timekeeping import from_naive_utc, iso_utc, to_naive_utc
from projections.report import ReportBuilder, period_window, scorecard_measures
from projections.standing import fact_condition

MAX_EVENTS_LISTED = 50

CAUSES_SQL = """
SELECT agency, event_id, type, occurred_on, recorded_at, supersedes, ended_at, ended_by,
       end_kind,
       CASE WHEN end_kind = 'retracted' AND ended_at > $lo AND ended_at <= $hi THEN 'retraction'
            WHEN end_kind = 'superseded' AND ended_at > $lo AND ended_at <= $hi THEN 'correction'
            WHEN recorded_at > $lo AND recorded_at <= $hi AND supersedes IS NOT NULL
                THEN 'correction'
            WHEN recorded_at > $lo AND recorded_at <= $hi THEN 'late return'
       END AS cause
FROM facts
WHERE occurred_on BETWEEN $start AND $end AND {condition}
  AND ((recorded_at > $lo AND recorded_at <= $hi) OR (ended_at > $lo AND ended_at <= $hi))
ORDER BY recorded_at, position
"""


def _causes(connection: duckdb.DuckDBPyConnection, condition: str, start: date, end: date,
            lo: datetime, hi: datetime) -> list[dict[str, Any]]:
    rows = connection.execute(CAUSES_SQL.format(condition=condition), {
        "start": start, "end": end, "lo": to_naive_utc(lo), "hi": to_naive_utc(hi)}).fetchall()
    grouped: dict[str, list[dict[str, Any]]] = {}
    for agency, event_id, event_type, occurred, recorded, supersedes, ended, by, _, cause \
            in rows:
        when = ended if cause in ("retraction",) or (cause == "correction" and by) else recorded
        grouped.setdefault(cause, []).append({
            "agency": agency, "event_id": event_id, "type": event_type,
            "occurred_on": occurred.isoformat(), "known_at": iso_utc(from_naive_utc(when)),
            **({"supersedes": supersedes} if supersedes else {}),
            **({"by": by} if by and cause != "late return" else {}),
        })
    return [{"cause": cause, "count": len(events), "events": events[:MAX_EVENTS_LISTED]}
            for cause, events in grouped.items()]


def _rule_changes(connection: duckdb.DuckDBPyConnection, measure_id: str, lo: datetime,
                  hi: datetime) -> list[dict[str, Any]]:
    rows = connection.execute(
        "SELECT recorded_at, changed_by, reason, rules FROM measure_rules WHERE measure_id = $id "
        "AND recorded_at > $lo AND recorded_at <= $hi ORDER BY recorded_at",
        {"id": measure_id, "lo": to_naive_utc(lo), "hi": to_naive_utc(hi)}).fetchall()
    if not rows:
        return []
    return [{"cause": "rule change", "count": len(rows), "changes": [
        {"known_at": iso_utc(from_naive_utc(at)), "by": by, "reason": reason,
         "rules": json.loads(rules)} for at, by, reason, rules in rows]}]


def restatements(connection: duckdb.DuckDBPyConnection, *, as_at: date, known_at: datetime,
                 against: datetime, from_day: date | None = None) -> dict[str, Any]:
    """Every difference between the scorecard as known at ``known_at`` and ``against``."""
    then = ReportBuilder(connection, as_at=as_at, known_at=known_at, from_day=from_day)
    now = ReportBuilder(connection, as_at=as_at, known_at=against, from_day=from_day)
    before, after = then.build(), now.build()
    lo, hi = sorted((known_at, against))
    measures = {m.id: m for m in scorecard_measures(then.plan)}
    changes = []
    for old, new in zip(before.measures, after.measures, strict=True):
        if (old.value, old.rag, old.target) == (new.value, new.rag, new.target):
            continue
        measure = measures[old.id]
        start, end = period_window(measure, as_at, then.from_day, then.plan)
        if measure.kind != "flow":
            start = date.min
        changes.append({
            "measure": old.id, "title": old.title,
            "then": {"value": old.value, "rag": old.rag, "target": old.target},
            "now": {"value": new.value, "rag": new.rag, "target": new.target},
            "causes": _causes(connection, fact_condition(measure), start, end, lo, hi)
            + _rule_changes(connection, old.id, lo, hi),
        })
    actions = []
    for old_action, new_action in zip(before.actions, after.actions, strict=True):
        if old_action.status != new_action.status:
            condition = (f"{types_sql([ACTION_STATUS_TYPE])} "
                         f"AND action = '{old_action.code}'")
            actions.append({
                "action": old_action.code, "title": old_action.title,
                "then": old_action.status, "now": new_action.status,
                "causes": _causes(connection, condition, date.min, as_at, lo, hi),
            })
    return {"as_at": as_at.isoformat(), "from": then.from_day.isoformat(),
            "known_at": iso_utc(known_at), "against": iso_utc(against),
            "measures": changes, "actions": actions}
