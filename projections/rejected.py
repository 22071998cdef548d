"""``scorecard rejected``: the kept rejections, each with its reason and whether it was
since resubmitted (an event with the same agency and ``event_id`` accepted after it).

An agency's own rejections are those its authenticated pushes sent. The others, kept
under the name of the agency they claimed (or ``(unknown)``), are in quarantine: anyone
able to produce to the topic could have planted them, so only administrators see them.
"""

from __future__ import annotations

import json
from typing import Any, Literal

import duckdb

from domain.timekeeping import from_naive_utc, iso_utc

REJECTED_SQL = """
SELECT r.agency, r.event_id, r.type, r.reason, r.field, r.message, r.received_at,
       r.backfill, r.source, r.raw, r.raw_encoding, r.rejection_id,
       EXISTS (SELECT 1 FROM facts f WHERE f.agency = r.agency AND f.event_id = r.event_id
               AND f.position > r.position) AS resubmitted,
       r.quarantined
FROM rejections r
WHERE ($agency IS NULL OR r.agency = $agency)
  AND ($quarantined IS NULL OR r.quarantined = $quarantined)
ORDER BY r.position
"""

# "own": an agency's own, never quarantine; "quarantine": only quarantine; "all": both
# (an administrator's whole view).
View = Literal["own", "quarantine", "all"]


def list_rejected(
    connection: duckdb.DuckDBPyConnection, agency: str | None = None, view: View = "own"
) -> list[dict[str, Any]]:
    quarantined = {"own": False, "quarantine": True, "all": None}[view]
    rows = connection.execute(REJECTED_SQL, {"agency": agency,
                                             "quarantined": quarantined}).fetchall()
    return [
        {
            "agency": row[0],
            "event_id": row[1],
            "type": row[2],
            "reason": row[3],
            "field": row[4],
            "message": row[5],
            "received_at": iso_utc(from_naive_utc(row[6])),
            "backfill": row[7],
            "source": row[8],
            "line": row[9],
            "line_encoding": row[10],
            "id": row[11],
            "status": "resubmitted" if row[12] else "open",
            "quarantined": row[13],
        }
        for row in rows
    ]


def render_rejected(rejections: list[dict[str, Any]]) -> str:
    if not rejections:
        return "no rejected events"
    lines = [f"{len(rejections)} rejected event(s)"]
    for r in rejections:
        field = f" {r['field']}:" if r["field"] else ""
        where = f"{r['source']}, {r['status']}" + (", quarantine" if r["quarantined"] else "")
        lines.append(
            f"{r['received_at']}  {r['agency']}  {r['event_id'] or '-'}  [{r['reason']}]{field} "
            f"{r['message']}  ({where})"
        )
    return "\n".join(lines)


def rejected_json(rejections: list[dict[str, Any]]) -> str:
    return json.dumps(rejections, indent=2, ensure_ascii=False)
