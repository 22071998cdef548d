"""``scorecard rejected``: the kept rejections, each with its reason and whether it was
since resubmitted (an event with the same agency and ``event_id`` accepted after it).

An agency's own rejections are those its authenticated pushes sent. The others, kept
under the name of the agency they claimed (or ``(unknown)``), are in quarantine: anyone
able to produce to the topic could have planted them, so only administrators see them.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

import duckdb

from domain.timekeeping import from_naive_utc, iso_utc

REJECTED_SQL = """
SELECT r.agency, r.event_id, r.type, r.reason, r.field, r.message, r.received_at,
       r.backfill, r.source, r.raw, r.raw_encoding, r.rejection_id,
       EXISTS (SELECT 1 FROM facts f WHERE f.agency = r.agency AND f.event_id = r.event_id
               AND f.position > r.position) AS resubmitted,
       r.quarantined, r.withdrawn_at IS NOT NULL AS withdrawn
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
            "status": "withdrawn" if row[14] else "resubmitted" if row[12] else "open",
            "quarantined": row[13],
        }
        for row in rows
    ]


# An agency's own rejections, each with whether it was since resubmitted, for the page:
# filtered and paged in SQL so that 200,000 of them cost one page of rows to show. The
# latest accepted position per event id is joined once instead of probing facts per row.
OWN_SQL = """
WITH latest AS (
    SELECT event_id, max(position) AS position FROM facts WHERE agency = $agency GROUP BY 1
), own AS (
    SELECT r.*, coalesce(l.position > r.position, false) AS resubmitted,
           r.withdrawn_at IS NOT NULL AS withdrawn, strftime(r.received_at, '%Y-%m') AS month
    FROM rejections r LEFT JOIN latest l ON l.event_id = r.event_id
    WHERE r.agency = $agency AND NOT r.quarantined
)
"""
FILTER_SQL = """
WHERE ($reason IS NULL OR reason = $reason) AND ($type IS NULL OR type = $type)
  AND ($month IS NULL OR month = $month)
  AND ($status IS NULL OR $status = CASE WHEN withdrawn THEN 'withdrawn'
                                         WHEN resubmitted THEN 'resubmitted' ELSE 'open' END)
"""


@dataclass(frozen=True)
class RejectedFilter:
    """Which of an agency's own rejections to show: ``None`` is any."""

    reason: str | None = None
    type: str | None = None
    month: str | None = None  # YYYY-MM of receipt
    status: Literal["open", "resubmitted", "withdrawn"] | None = "open"

    def params(self, agency: str) -> dict[str, Any]:
        return {"agency": agency, "reason": self.reason, "type": self.type,
                "month": self.month, "status": self.status}


def own_rejection_counts(connection: duckdb.DuckDBPyConnection, agency: str
                         ) -> dict[str, dict[str, int]]:
    """Open rejections by reason, type and month of receipt, and the totals by status:
    the filters' choices, with how many each holds."""
    counts: dict[str, dict[str, int]] = {}
    for facet in ("reason", "type", "month"):
        counts[facet] = {str(value or "(none)"): n for value, n in connection.execute(
            OWN_SQL + f"SELECT {facet}, count(*) FROM own WHERE NOT resubmitted "
            "AND NOT withdrawn GROUP BY 1 ORDER BY 2 DESC, 1", {"agency": agency}).fetchall()}
    counts["status"] = dict(connection.execute(
        OWN_SQL + "SELECT CASE WHEN withdrawn THEN 'withdrawn' WHEN resubmitted THEN "
        "'resubmitted' ELSE 'open' END, count(*) FROM own GROUP BY 1",
        {"agency": agency}).fetchall())
    return counts


def own_rejections(connection: duckdb.DuckDBPyConnection, agency: str,
                   chosen: RejectedFilter, *, limit: int | None = None, offset: int = 0
                   ) -> tuple[int, list[dict[str, Any]]]:
    """How many of the agency's own rejections the filter holds, and one page of them
    (oldest first; every one when ``limit`` is None)."""
    params = chosen.params(agency)
    total = connection.execute(OWN_SQL + "SELECT count(*) FROM own" + FILTER_SQL,
                               params).fetchone()
    rows = connection.execute(
        OWN_SQL + "SELECT event_id, type, reason, field, message, received_at, source, raw, "
        "raw_encoding, rejection_id, resubmitted, withdrawn FROM own" + FILTER_SQL
        + " ORDER BY position LIMIT $limit OFFSET $offset",
        {**params, "limit": limit if limit is not None else 2**62, "offset": offset},
    ).fetchall()
    return (total[0] if total else 0), [
        {"event_id": r[0], "type": r[1], "reason": r[2], "field": r[3], "message": r[4],
         "received_at": iso_utc(from_naive_utc(r[5])), "source": r[6], "line": r[7],
         "line_encoding": r[8], "id": r[9],
         "status": "withdrawn" if r[11] else "resubmitted" if r[10] else "open"}
        for r in rows]
