"""``scorecard audit``: who submitted, signed, approved, corrected, backfilled, changed a
rule or a key, and when (``at`` is the knowledge time; ``recorded`` is when the system
wrote it, which differs for an administrator's backfill)."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

import duckdb

from domain.timekeeping import from_naive_utc, iso_utc, to_naive_utc

AUDIT_SQL = """
SELECT known_at, recorded, actor, action, agency, subject, details FROM audit
WHERE ($agency IS NULL OR agency = $agency) AND ($since IS NULL OR recorded >= $since)
ORDER BY position
"""


def audit_trail(connection: duckdb.DuckDBPyConnection, agency: str | None = None,
                since: datetime | None = None) -> list[dict[str, Any]]:
    rows = connection.execute(AUDIT_SQL, {
        "agency": agency, "since": to_naive_utc(since) if since else None}).fetchall()
    return [{"at": iso_utc(from_naive_utc(at)), "recorded": iso_utc(from_naive_utc(recorded)),
             "actor": actor, "action": action, "agency": code, "subject": subject,
             "details": json.loads(details)}
            for at, recorded, actor, action, code, subject, details in rows]
