"""The returns calendar and each agency's data quality.

A monthly return is owed by each agency the plan lists, from the month it lists. It
counts as arriving at the first sign of it: the first event of that month from the
agency becoming known, or the agency approving the month (a nil return). It is late
after the plan's deadline (end of month plus ``deadline_days``), missing after the
deadline with nothing yet, and not yet due before it.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Any

import duckdb

from domain.contract import record_role, types_in_role, types_sql
from domain.plan import Plan
from domain.timekeeping import end_of_day, from_naive_utc, iso_utc, to_naive_utc

# A retraction is not a return, nor is a note, which comments on one.
NOT_A_RETURN_SQL = types_sql([*types_in_role("retracts"), *types_in_role("comments")],
                             negate=True)
NOT_A_RETRACTION_SQL = types_sql(types_in_role("retracts"), negate=True)
ARRIVALS_SQL = f"""
SELECT agency, min(recorded_at), count(*) FROM facts
WHERE occurred_on BETWEEN $start AND $end AND recorded_at <= $known
  AND {NOT_A_RETURN_SQL}
  AND supersedes IS NULL  -- corrections are not the return
GROUP BY agency
"""
APPROVALS_SQL = """
SELECT agency, min(approved_at), max(approved_at), arg_max(approved_by, approved_at)
FROM approvals WHERE month = $month AND approved_at <= $known GROUP BY agency
"""


def month_span(month: str) -> tuple[date, date]:
    start = date.fromisoformat(f"{month}-01")
    following = (start.replace(day=28) + timedelta(days=4)).replace(day=1)
    return start, following - timedelta(days=1)


def deadline(plan: Plan, month: str) -> datetime:
    assert plan.returns is not None
    return end_of_day(month_span(month)[1] + timedelta(days=plan.returns.deadline_days),
                      plan.zone)


def returns_calendar(connection: duckdb.DuckDBPyConnection, plan: Plan, month: str,
                     known_at: datetime) -> list[dict[str, Any]]:
    """One row per agency owing a return for ``month``, as known at ``known_at``."""
    if plan.returns is None:
        return []
    start, end = month_span(month)
    due = deadline(plan, month)
    known = to_naive_utc(known_at)
    arrivals = {a: (at, n) for a, at, n in connection.execute(
        ARRIVALS_SQL, {"start": start, "end": end, "known": known}).fetchall()}
    approvals = {a: rest for a, *rest in connection.execute(
        APPROVALS_SQL, {"month": month, "known": known}).fetchall()}
    rows = []
    for agency, first_month in sorted(plan.returns.owed_from.items()):
        if month < first_month:
            continue
        first_event, events = arrivals.get(agency, (None, 0))
        first_approval, last_approval, approver = approvals.get(agency, (None, None, None))
        signs = [at for at in (first_event, first_approval) if at is not None]
        arrived = from_naive_utc(min(signs)) if signs else None
        if arrived is not None:
            status = "on time" if arrived <= due else "late"
        else:
            status = "missing" if known_at > due else "not yet due"
        rows.append({
            "agency": agency, "month": month, "deadline": iso_utc(due),
            "arrived": iso_utc(arrived) if arrived else None, "status": status,
            "days_late": max(0, (arrived - due).days + 1) if arrived and arrived > due else 0,
            "events": events,
            "approved": iso_utc(from_naive_utc(last_approval)) if last_approval else None,
            "approved_by": approver,
        })
    return rows


BY_TYPE_SQL = f"""
SELECT type, count(*), count(*) FILTER (WHERE recorded_at > $due)
FROM facts
WHERE agency = $agency AND occurred_on BETWEEN $start AND $end AND recorded_at <= $known
  AND {NOT_A_RETRACTION_SQL} AND supersedes IS NULL  -- as ARRIVALS_SQL
GROUP BY type
"""
SENT_TYPES_SQL = f"""
SELECT DISTINCT type FROM facts
WHERE agency = $agency AND recorded_at <= $known AND {NOT_A_RETRACTION_SQL}
"""


def months_owed(plan: Plan, agency: str, today: date) -> list[str]:
    """Every month ``agency`` owes a return for, from the first the plan lists (or the
    plan's start) to the month of ``today``: the plan period and since, newest first."""
    first = (plan.returns.owed_from.get(agency) if plan.returns else None) \
        or f"{plan.starts:%Y-%m}"
    months, month = [], f"{today:%Y-%m}"
    while month >= first:
        months.append(month)
        start = month_span(month)[0]
        month = f"{(start - timedelta(days=1)):%Y-%m}"
    return months


def latest_month_sent(connection: duckdb.DuckDBPyConnection, agency: str) -> str | None:
    """The latest month (``YYYY-MM``) in which any event ``agency`` sent happened."""
    row = connection.execute(
        "SELECT max(strftime(occurred_on, '%Y-%m')) FROM facts WHERE agency = $agency",
        {"agency": agency}).fetchone()
    return str(row[0]) if row and row[0] is not None else None


def returns_by_type(connection: duckdb.DuckDBPyConnection, plan: Plan, agency: str,
                    month: str, known_at: datetime) -> list[dict[str, Any]]:
    """One row per event type ``agency`` is expected to send for ``month``: its permitted
    types, or, where it may send any, the types it has ever sent. Each with the events
    received, how many arrived after the deadline, and a status in words: "received",
    "received late" (every event after the deadline), "missing" (none, after the
    deadline), "not yet due" (none, before it). A type received but not expected is
    listed too, as not expected."""
    if plan.returns is None or month < plan.returns.owed_from.get(agency, "9999-99"):
        return []
    start, end = month_span(month)
    due = deadline(plan, month)
    known = to_naive_utc(known_at)
    received = {t: (n, late) for t, n, late in connection.execute(
        BY_TYPE_SQL, {"agency": agency, "start": start, "end": end, "known": known,
                      "due": to_naive_utc(due)}).fetchall()}
    permitted = connection.execute("SELECT types FROM agencies WHERE code = $agency",
                                   {"agency": agency}).fetchone()
    if permitted is not None and permitted[0]:
        expected = [t for t in str(permitted[0]).split(",") if record_role(t) != "retracts"]
    else:
        expected = sorted(t for (t,) in connection.execute(
            SENT_TYPES_SQL, {"agency": agency, "known": known}).fetchall())
    rows = []
    for event_type in [*expected, *sorted(set(received) - set(expected))]:
        events, late = received.get(event_type, (0, 0))
        if events:
            status = "received late" if late == events else "received"
        else:
            status = "missing" if known_at > due else "not yet due"
        rows.append({"type": event_type, "expected": event_type in expected,
                     "events": events, "late": late, "status": status})
    return rows


QUALITY_SQL = """
WITH accepted AS (
    SELECT agency, strftime(occurred_on, '%Y-%m') AS month, count(*) AS events,
           count(*) FILTER (WHERE ended_at IS NOT NULL AND ended_at <= $known) AS revised,
           count(*) FILTER (WHERE backfill) AS backfilled
    FROM facts WHERE recorded_at <= $known GROUP BY ALL
), received AS (
    SELECT agency, strftime(recorded_at, '%Y-%m') AS month, count(*) AS accepted
    FROM facts WHERE recorded_at <= $known GROUP BY ALL
), rejected AS (
    SELECT agency, strftime(received_at, '%Y-%m') AS month, count(*) AS rejected
    FROM rejections WHERE received_at <= $known AND NOT quarantined GROUP BY ALL
)
SELECT coalesce(a.agency, r.agency, j.agency) AS agency,
       coalesce(a.month, r.month, j.month) AS month,
       coalesce(a.events, 0), coalesce(a.revised, 0),
       coalesce(r.accepted, 0), coalesce(j.rejected, 0), coalesce(a.backfilled, 0)
FROM accepted a
FULL JOIN received r ON r.agency = a.agency AND r.month = a.month
FULL JOIN rejected j ON j.agency = coalesce(a.agency, r.agency)
    AND j.month = coalesce(a.month, r.month)
WHERE ($agency IS NULL OR coalesce(a.agency, r.agency, j.agency) = $agency)
ORDER BY 1, 2
"""


def data_quality(connection: duckdb.DuckDBPyConnection, plan: Plan, known_at: datetime,
                 agency: str | None = None) -> list[dict[str, Any]]:
    """Per agency and month: how late its return was, how much of the month's data was
    later revised (superseded or retracted), how much of what it sent was rejected
    (quarantined messages are not counted: nothing shows the agency sent them), and how
    many of its events an administrator backfilled (recorded with an earlier knowledge
    time than their arrival: the scorecard of a past day changed after it)."""
    rows = []
    for code, month, events, revised, accepted, rejected, backfilled in connection.execute(
            QUALITY_SQL, {"known": to_naive_utc(known_at), "agency": agency}).fetchall():
        lateness = None
        owed = plan.returns.owed_from if plan.returns else {}
        if code in owed and month >= owed[code] and deadline(plan, month) < known_at:
            calendar = returns_calendar(connection, plan, month, known_at)
            lateness = next((r["days_late"] for r in calendar if r["agency"] == code), None)
        sent = accepted + rejected
        rows.append({
            "agency": code, "month": month, "events": events,
            "revision_rate": round(revised / events, 4) if events else None,
            "rejection_rate": round(rejected / sent, 4) if sent else None,
            "days_late": lateness,
            "backfilled": backfilled,
        })
    return rows
