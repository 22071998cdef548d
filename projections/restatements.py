"""``scorecard diff``: what changed in a scorecard between two knowledge times, and why.

For the same window, every measure value, RAG and action status that differs between
knowledge times A and B is listed with its causes: events that arrived late, events
corrected (superseded), events retracted, and rule changes, each with the events behind it.

Each event cause also carries its *effect* on the figure, so a reader is told "+24 from
returns by GROW and RISE sent after 16 Dec 2015", not "69 returns arrived": the figure is
recomputed with the changed facts of each cause applied in turn (late returns, then
corrections, then retractions), through the report's own measure code, so the effects of
a measure's causes add up to its difference exactly, whatever kind of measure it is (a
count, a share, a count of distinct schools, open cases at a day).
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from datetime import date, datetime
from typing import Any
from zoneinfo import ZoneInfo

import duckdb

from domain.contract import ACTION_STATUS_TYPE, types_sql
from domain.timekeeping import from_naive_utc, iso_utc, to_naive_utc
from projections.measures import Measure
from projections.report import (
    Report,
    ReportBuilder,
    period_window,
    plain_number,
    scorecard_measures,
)
from projections.standing import Standing, fact_condition, measure_split

MAX_EVENTS_LISTED = 50
# The order the causes' changes are applied in to measure their effects (for a count the
# order does not matter; for a share it decides how an interaction is attributed).
EFFECT_ORDER = ("late return", "correction", "retraction")
FAR_PAST, FAR_FUTURE = "TIMESTAMP '1900-01-01'", "TIMESTAMP '9999-12-31'"

# The facts a measure reads that stand at one knowledge time and not the other, with the
# cause that moved each: arrived in between (a late return, or a correction's new
# version), or ended in between (retracted, or superseded by a correction).
CHANGED_SQL = """
SELECT position, agency, stood_a,
       CASE WHEN recorded_at > $lo AND recorded_at <= $hi
                THEN (CASE WHEN supersedes IS NULL THEN 'late return' ELSE 'correction' END)
            WHEN end_kind = 'retracted' THEN 'retraction' ELSE 'correction' END AS cause
FROM (
    SELECT *, (recorded_at <= $a AND NOT coalesce(ended_at <= $a, false)) AS stood_a,
              (recorded_at <= $b AND NOT coalesce(ended_at <= $b, false)) AS stood_b
    FROM facts WHERE occurred_on BETWEEN $start AND $end AND {condition})
WHERE stood_a <> stood_b
ORDER BY position
"""


def uk_day(moment: datetime | date, zone: ZoneInfo | None = None) -> str:
    """A day as the partnership's papers write it: "16 Dec 2015" (local to the plan)."""
    day = moment.astimezone(zone).date() if isinstance(moment, datetime) and zone else (
        moment.date() if isinstance(moment, datetime) else moment)
    return f"{day.day} {day:%b %Y}"


def agency_names(connection: duckdb.DuckDBPyConnection) -> dict[str, str]:
    """Each registered agency's name by code (a reader is told names, not codes)."""
    return {code: name for code, name in
            connection.execute("SELECT code, name FROM agencies").fetchall()}


def listing(names: Iterable[str]) -> str:
    """"A", "A and B", "A, B and C"."""
    items = list(names)
    if len(items) <= 1:
        return "".join(items)
    return ", ".join(items[:-1]) + " and " + items[-1]


def cause_words(cause: str, agencies: list[str], then: datetime, against: datetime,
                zone: ZoneInfo) -> str:
    """A cause in plain words, without its effect: "returns by GROW sent after 16 Dec
    2015" (the renderer puts the effect in front: "+24 from ...")."""
    who = listing(agencies) or "an agency"
    later = against > then
    if cause == "late return":
        return (f"returns by {who} sent after {uk_day(then, zone)}" if later
                else f"returns by {who} not yet sent at {uk_day(against, zone)}")
    if cause == "correction":
        return f"corrections by {who}"
    if cause == "retraction":
        return f"entries withdrawn by {who}"
    return cause


def signed(effect: Any, unit: str = "count") -> str:
    """An effect with its sign: "+24", "−2", "+1.5 points" for a share; a symbol as it is."""
    if not isinstance(effect, int | float) or isinstance(effect, bool):
        return str(effect)
    sign = "+" if effect > 0 else "\u2212" if effect < 0 else "\u00b1"
    size = abs(effect)
    if unit == "share":
        return f"{sign}{size * 100:,.1f} points"
    return f"{sign}{size:,.1f}" if unit == "rate" else f"{sign}{size:,g}"


def effects(connection: duckdb.DuckDBPyConnection, measure: Measure, start: date, end: date,
            a: datetime, b: datetime, values: tuple[float | None, float | None],
            scale: float = 1.0) -> dict[str, tuple[int | float | None, list[str]]]:
    """Each cause's effect on the measure's value between knowledge times ``a`` and ``b``
    (``values`` are the reported values at each), and the agencies whose facts moved.

    The changed facts of each cause are applied in ``EFFECT_ORDER`` to the facts standing
    at ``a``, and the value recomputed by the report's own ``measure_split`` over a
    temporary view of the facts (on a cursor of its own, so nothing else sees it); each
    effect is the step it makes, so the effects sum to ``values[1] - values[0]``."""
    lo, hi = sorted((a, b))
    rows = connection.execute(CHANGED_SQL.format(condition=fact_condition(measure)), {
        "a": to_naive_utc(a), "b": to_naive_utc(b), "lo": to_naive_utc(lo),
        "hi": to_naive_utc(hi), "start": start, "end": end}).fetchall()
    kinds = [k for k in EFFECT_ORDER if any(row[3] == k for row in rows)]
    if not kinds:
        return {}
    agencies = {k: sorted({row[1] for row in rows if row[3] == k}) for k in kinds}
    steps: list[float | None] = [values[0]]
    if len(kinds) > 1:
        steps += _intermediate(connection, measure, start, end, b, rows, kinds, scale)
    steps.append(values[1])
    found: dict[str, tuple[int | float | None, list[str]]] = {}
    for at, kind in enumerate(kinds):
        before, after = steps[at], steps[at + 1]
        effect = None if before is None or after is None else plain_number(
            round(float(after) - float(before), 6))
        found[kind] = (effect, agencies[kind])
    return found


def _intermediate(connection: duckdb.DuckDBPyConnection, measure: Measure, start: date,
                  end: date, b: datetime, rows: list[tuple[Any, ...]], kinds: list[str],
                  scale: float) -> list[float | None]:
    """The value after the first 1 .. len(kinds)-1 causes' changes are applied."""
    database = connection.execute("SELECT current_database()").fetchone()
    assert database is not None
    cursor = connection.cursor()
    try:
        # a new cursor starts in DuckDB's default database, not the one ``connection``
        # uses (the read model is attached: projections/engine.py)
        cursor.execute(f'USE "{database[0]}"')
        cursor.execute("CREATE TEMP TABLE cause_steps (position BIGINT, step INTEGER, "
                       "stood_a BOOLEAN)")
        cursor.executemany("INSERT INTO cause_steps VALUES (?, ?, ?)", [
            (position, kinds.index(kind) + 1, stood_a)
            for position, _, stood_a, kind in rows])
        values: list[float | None] = []
        for applied in range(1, len(kinds)):
            # Changes not yet applied stand as they did at ``a``; seen at ``b``.
            cursor.execute(
                "CREATE OR REPLACE TEMP VIEW facts AS SELECT f.* REPLACE ("
                f"CASE WHEN s.step > {applied} THEN (CASE WHEN s.stood_a THEN {FAR_PAST} "
                f"ELSE {FAR_FUTURE} END) ELSE f.recorded_at END AS recorded_at, "
                f"CASE WHEN s.step > {applied} AND s.stood_a THEN NULL ELSE f.ended_at END "
                f'AS ended_at) FROM "{database[0]}".main.facts f '
                "LEFT JOIN cause_steps s ON s.position = f.position")
            total = measure_split(cursor, measure, start, end, Standing(b))[0]
            values.append(None if total is None else plain_number(round(total * scale, 6)))
        return values
    finally:
        cursor.close()

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
    involved: dict[str, set[str]] = {}
    for agency, event_id, event_type, occurred, recorded, supersedes, ended, by, _, cause \
            in rows:
        when = ended if cause in ("retraction",) or (cause == "correction" and by) else recorded
        involved.setdefault(cause, set()).add(agency)
        grouped.setdefault(cause, []).append({
            "agency": agency, "event_id": event_id, "type": event_type,
            "occurred_on": occurred.isoformat(), "known_at": iso_utc(from_naive_utc(when)),
            **({"supersedes": supersedes} if supersedes else {}),
            **({"by": by} if by and cause != "late return" else {}),
        })
    return [{"cause": cause, "count": len(events), "events": events[:MAX_EVENTS_LISTED],
             "agencies": sorted(involved[cause])} for cause, events in grouped.items()]


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


def _difference(then: Any, now: Any) -> int | float | None:
    numbers = [v for v in (then, now) if isinstance(v, int | float) and not isinstance(v, bool)]
    return plain_number(round(float(now) - float(then), 6)) if len(numbers) == 2 else None


def _rule_words(cause: dict[str, Any], old: Any, new: Any, zone: ZoneInfo) -> str:
    """The last rule change in words: "target raised by LSCB board on 16 Dec 2015 (from 1,500
    to 1,800): the reason"."""
    change = cause["changes"][-1]
    when = uk_day(datetime.fromisoformat(change["known_at"]), zone)
    if old.target != new.target and old.target is not None and new.target is not None:
        way = "raised" if new.target > old.target else "lowered"
        what = (f"target {way} by {change['by']} on {when} "
                f"(from {_plain(old.target, old.unit)} to {_plain(new.target, new.unit)})")
    elif old.target != new.target:
        what = f"target {'set' if new.target is not None else 'removed'} by {change['by']} " \
            f"on {when}"
    else:
        what = f"RAG rules changed by {change['by']} on {when}"
    return f"{what}: {change['reason']}" if change.get("reason") else what


def _plain(value: float, unit: str) -> str:
    return f"{value:.0%}" if unit == "share" else f"{value:,g}"


def restatements(connection: duckdb.DuckDBPyConnection, *, as_at: date, known_at: datetime,
                 against: datetime, from_day: date | None = None,
                 reports: tuple[Report, Report] | None = None) -> dict[str, Any]:
    """Every difference between the scorecard as known at ``known_at`` and ``against``,
    with each cause's effect on the figure (the effects add up to ``difference``).
    ``reports`` are the two reports (then, now) when the caller has built them already."""
    then = ReportBuilder(connection, as_at=as_at, known_at=known_at, from_day=from_day)
    now = ReportBuilder(connection, as_at=as_at, known_at=against, from_day=from_day)
    before, after = reports if reports is not None else (then.build(), now.build())
    lo, hi = sorted((known_at, against))
    zone = then.plan.zone
    names = agency_names(connection)
    measures = {m.id: m for m in scorecard_measures(then.plan)}
    changes = []
    for old, new in zip(before.measures, after.measures, strict=True):
        if (old.value, old.rag, old.target) == (new.value, new.rag, new.target):
            continue
        measure = measures[old.id]
        start, end = period_window(measure, as_at, then.from_day, then.plan)
        if measure.kind != "flow":
            start = date.min
        causes = _causes(connection, fact_condition(measure), start, end, lo, hi)
        population = now.population(measure)
        scale = (measure.per or 1) / population[2] if population else 1.0
        moved = effects(connection, measure, start, end, known_at, against,
                        (old.value, new.value), scale) if old.value != new.value else {}
        for kind, (_, agencies) in moved.items():
            if not any(c["cause"] == kind for c in causes):  # defensive: always listed
                causes.append({"cause": kind, "count": 0, "events": [],
                               "agencies": agencies})
        for cause in causes:
            effect, agencies = moved.get(cause["cause"], (0, cause["agencies"]))
            cause["effect"] = effect
            cause["agency_names"] = [names.get(code, code) for code in agencies or
                                     cause["agencies"]]
            cause["words"] = cause_words(cause["cause"], cause["agency_names"], known_at,
                                         against, zone)
        rules = _rule_changes(connection, old.id, lo, hi)
        for cause in rules:
            cause["words"] = _rule_words(cause, old, new, zone)
        changes.append({
            "measure": old.id, "title": old.title,
            "then": {"value": old.value, "rag": old.rag, "target": old.target},
            "now": {"value": new.value, "rag": new.rag, "target": new.target},
            "causes": causes + rules,
            "unit": old.unit, "difference": _difference(old.value, new.value),
        })
    actions = []
    for old_action, new_action in zip(before.actions, after.actions, strict=True):
        if old_action.status != new_action.status:
            condition = (f"{types_sql([ACTION_STATUS_TYPE])} "
                         f"AND action = '{old_action.code}'")
            causes = _causes(connection, condition, date.min, as_at, lo, hi)
            for cause in causes:
                cause["agency_names"] = [names.get(c, c) for c in cause["agencies"]]
                cause["words"] = _status_words(cause, known_at, against, zone)
            actions.append({
                "action": old_action.code, "title": old_action.title,
                "then": old_action.status, "now": new_action.status,
                "causes": causes, "lead": names.get(old_action.lead, old_action.lead),
            })
    return {"as_at": as_at.isoformat(), "from": then.from_day.isoformat(),
            "known_at": iso_utc(known_at), "against": iso_utc(against),
            "measures": changes, "actions": actions}

def _status_words(cause: dict[str, Any], a: datetime, b: datetime, zone: ZoneInfo) -> str:
    """An action's status change in words: "status reported late by GROW (known 3 Dec
    2015)"."""
    who = listing(cause["agency_names"]) or "an agency"
    when = [datetime.fromisoformat(e["known_at"]) for e in cause.get("events", [])]
    known = f" (known {uk_day(max(when), zone)})" if when else ""
    if cause["cause"] == "late return":
        return f"status reported by {who} after {uk_day(min(a, b), zone)}{known}"
    if cause["cause"] == "correction":
        return f"status corrected by {who}{known}"
    return f"status report withdrawn by {who}{known}"


def effect_sentences(change: Mapping[str, Any]) -> list[str]:
    """Each cause with its effect on the figure, in plain words ("+24 from returns by GROW
    sent after 16 Dec 2015"); a rule change with what it changed."""
    unit = str(change.get("unit") or "count")
    sentences = []
    for cause in change.get("causes", []):
        if "words" not in cause:
            continue
        if cause["cause"] == "rule change":
            sentences.append(str(cause["words"]))
        elif cause.get("effect") != 0:
            sentences.append(f"{signed(cause.get('effect'), unit)} from {cause['words']}")
    return sentences
