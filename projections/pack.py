"""A meeting's board pack as data: the scorecard as known at the meeting and as known at a
chosen time, the difference and what caused it, for one audience.

Everything in it is a function of (meeting, events from, knowledge time, audience) and the
facts recorded by that knowledge time, so a pack for a past meeting rebuilt later, as
known at the same time, is the same pack: no wall-clock time, no log head, no query
order leaks in. The knowledge times and the event-log positions they correspond to are
part of it, so a reader can tell what it was built from. Outside the board every figure
comes from ``projections.disclosure``. ``scorecard/packs.py`` renders it (CSV, HTML).
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

import duckdb

from domain.timekeeping import end_of_day, from_naive_utc, iso_utc, to_naive_utc
from projections import symbols
from projections.audiences import AUDIENCES
from projections.disclosure import disclosed_report, disclosed_restatements
from projections.report import build_report, load_plan
from projections.restatements import agency_names, effect_sentences, restatements

# The tables whose rows are events of the log, with the time each became known.
LOG_TABLES = (("facts", "recorded_at"), ("measure_rules", "recorded_at"),
              ("approvals", "approved_at"), ("acceptances", "accepted_at"))


def log_position(connection: duckdb.DuckDBPyConnection, known: datetime) -> int:
    """The highest event-log position of any event known by ``known``: the log the pack was
    built from (a later event has a higher position; a backfill says so itself)."""
    parts = " UNION ALL ".join(f"SELECT max(position) AS p FROM {table} WHERE {column} <= $k"
                               for table, column in LOG_TABLES)
    row = connection.execute(f"SELECT coalesce(max(p), 0) FROM ({parts})",
                             {"k": to_naive_utc(known)}).fetchone()
    return int(row[0]) if row else 0


def latest_known(connection: duckdb.DuckDBPyConnection) -> datetime | None:
    """When the newest event the read model holds became known: "as known now" shows the
    same as "as known at this time" until another event arrives, so a view of now can
    name this time, and be rebuilt (and cached) by it."""
    parts = " UNION ALL ".join(f"SELECT max({column}) AS k FROM {table}"
                               for table, column in LOG_TABLES)
    row = connection.execute(f"SELECT max(k) FROM ({parts})").fetchone()
    return from_naive_utc(row[0]) if row and row[0] is not None else None


def _side(measure: dict[str, Any]) -> dict[str, Any]:
    return {"value": measure.get("value"), "markers": list(measure.get("markers") or []),
            "target": measure.get("target"), "rag": measure.get("rag")}


def build_pack(connection: duckdb.DuckDBPyConnection, *, meeting: date,
               known_at: datetime | None = None, audience: str = "board",
               from_day: date | None = None) -> dict[str, Any]:
    """The pack for ``meeting``: its scorecard as known at the end of the meeting's day
    ("then") and as known at ``known_at`` (default the same: the pack as the meeting had
    it), every measure's difference, each cause's effect, and the actions' statuses."""
    if audience not in AUDIENCES:
        raise ValueError(f"audience must be one of {', '.join(AUDIENCES)}")
    plan = load_plan(connection)
    then_at = end_of_day(meeting, plan.zone)
    now_at = known_at or then_at
    then_report = build_report(connection, as_at=meeting, known_at=then_at, from_day=from_day)
    now_report = build_report(connection, as_at=meeting, known_at=now_at, from_day=from_day)
    then = disclosed_report(connection, then_report, audience)
    now = disclosed_report(connection, now_report, audience)
    built = (then_report, now_report)
    diff = disclosed_restatements(connection, restatements(
        connection, as_at=meeting, known_at=then_at, against=now_at, from_day=from_day,
        reports=built), audience, built)
    changes = {c["measure"]: c for c in diff["measures"]}
    names = agency_names(connection)
    measures = []
    for old, new in zip(then["measures"], now["measures"], strict=True):
        change = changes.get(old["id"], {})
        difference = change.get("difference")
        if not change and all(isinstance(v, int | float) and not isinstance(v, bool)
                              for v in (old["value"], new["value"])):
            difference = 0
        causes = [c for c in change.get("causes", []) if c.get("cause") != symbols.SUPPRESSED]
        measures.append({
            "id": old["id"], "title": old["title"], "objective": old.get("objective"),
            "unit": old.get("unit", "count"), "per": old.get("per"),
            "then": _side(old), "now": _side(new), "difference": difference,
            "causes_hidden": len(causes) != len(change.get("causes", [])),
            "causes": [{"cause": c["cause"], "effect": c.get("effect"),
                        "count": c.get("count"),
                        "agencies": c.get("agency_names") or [
                            names.get(a, a) for a in c.get("agencies", [])],
                        "words": c.get("words", c["cause"])} for c in causes],
            "sentences": effect_sentences(change) if change else [],
            "trend": [{"month": p_then["month"], "then": p_then["value"],
                       "now": p_now["value"]}
                      for p_then, p_now in zip(old["trend"]["values"],
                                               new["trend"]["values"], strict=True)],
        })
    moved = {c["action"]: c for c in diff["actions"]}
    actions = [{
        "code": a["code"], "title": a["title"], "lead": names.get(a["lead"], a["lead"]),
        "due": a["due"], "then": a["status"], "now": b["status"],
        "causes": [c.get("words", c["cause"]) for c in moved.get(a["code"], {}).get(
            "causes", [])],
    } for a, b in zip(then["actions"], now["actions"], strict=True)]
    titles = {m.date: m.title for m in plan.meetings}
    return {
        "plan": then["plan"], "meeting": meeting.isoformat(),
        "meeting_title": titles.get(meeting), "from": then["from"], "audience": audience,
        "known_at_meeting": iso_utc(then_at), "known_at": iso_utc(now_at),
        "log_position_at_meeting": log_position(connection, then_at),
        "log_position": log_position(connection, now_at),
        "timezone": plan.timezone,
        "measures": measures, "actions": actions, "legend": dict(symbols.LEGEND),
    }
