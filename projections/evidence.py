"""Drill-through: from a figure to the signed events behind it, and their signatures.

A measure's figure as at a day, as known at a time, is a count of standing facts; this
lists exactly those facts (the same window and the same condition the report counts),
each with its agency, when it occurred and when it became known, whether it was a
backfill or a correction (and of which event), so a board member can go from a red
figure to the returns that made it. A correction links to the event it restated.

Each event's signature can be checked again on demand, against the agency's keys as
they stood when the event arrived (a key rotated or revoked since still proves what it
signed then): the signed bytes and the signature are kept with the accepted event.

Case references are for the board's own view only: they are left out unless asked for.
"""

from __future__ import annotations

import base64
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any
from uuid import UUID

import duckdb

from domain.application import Scorecard
from domain.errors import CommandError, Unauthenticated
from domain.model import Agency
from domain.timekeeping import from_naive_utc, iso_utc
from projections.measures import Measure
from projections.periods import period_window
from projections.report import load_plan, scorecard_measures
from projections.standing import STANDING_SQL, Standing, fact_condition

EARLIEST = date(1900, 1, 1)  # a position (open cases, actions) reads every fact before it

EVIDENCE_SQL = """
WITH {standing}
SELECT position, submission_id, agency, event_id, type, occurred_at, occurred_on,
       recorded_at, backfill, supersedes, case_ref
FROM standing WHERE occurred_on BETWEEN $start AND $end AND {condition}
ORDER BY occurred_on, position
"""


@dataclass(frozen=True)
class EvidenceEvent:
    """One standing fact behind a figure."""

    submission_id: str
    agency: str
    event_id: str
    type: str
    occurred_at: str
    occurred_on: date
    known_at: datetime
    backfill: bool
    corrects: str | None  # the event id this one superseded, for a correction
    case: str | None

    @property
    def arrival(self) -> str:
        """How it arrived: a correction, a backfill, or on the day it became known."""
        if self.corrects:
            return f"correction of {self.corrects}"
        return "backfill" if self.backfill else "as it happened"

    def to_json(self, with_cases: bool = False) -> dict[str, Any]:
        shown: dict[str, Any] = {
            "event_id": self.event_id, "agency": self.agency, "type": self.type,
            "occurred_at": self.occurred_at, "known_at": iso_utc(self.known_at),
            "backfill": self.backfill, "corrects": self.corrects, "arrival": self.arrival}
        if with_cases:
            shown["case"] = self.case
        return shown


@dataclass(frozen=True)
class Evidence:
    """The events behind one measure's figure."""

    measure: Measure
    as_at: date
    known_at: datetime
    window: tuple[date, date]
    events: list[EvidenceEvent]

    def to_json(self, with_cases: bool = False) -> dict[str, Any]:
        return {"measure": self.measure.id, "title": self.measure.title,
                "as_at": self.as_at.isoformat(), "known_at": iso_utc(self.known_at),
                "window": {"from": None if self.window[0] == EARLIEST
                           else self.window[0].isoformat(), "to": self.window[1].isoformat()},
                "counted": self.measure.counted(),
                "events": [e.to_json(with_cases) for e in self.events]}


def measure_by_id(connection: duckdb.DuckDBPyConnection, measure_id: str) -> Measure:
    measures = {m.id: m for m in scorecard_measures(load_plan(connection))}
    if measure_id not in measures:
        raise CommandError(f"no measure {measure_id}: the measures are "
                           + ", ".join(measures))
    return measures[measure_id]


def evidence(connection: duckdb.DuckDBPyConnection, measure_id: str, *, as_at: date,
             known_at: datetime, from_day: date | None = None) -> Evidence:
    """The standing facts a measure's figure counts, as the report counts them."""
    plan = load_plan(connection)
    measure = measure_by_id(connection, measure_id)
    window = period_window(measure, as_at, from_day or plan.starts, plan)
    if measure.kind != "flow":
        window = (EARLIEST, as_at)
    sql = EVIDENCE_SQL.format(standing=STANDING_SQL, condition=fact_condition(measure))
    rows = connection.execute(sql, {**Standing(known_at).params(), "start": window[0],
                                    "end": window[1]}).fetchall()
    events = [EvidenceEvent(str(submission_id), agency, event_id, kind, occurred_at,
                            occurred_on, from_naive_utc(recorded_at), bool(backfill),
                            supersedes, case_ref)
              for (_, submission_id, agency, event_id, kind, occurred_at, occurred_on,
                   recorded_at, backfill, supersedes, case_ref) in rows]
    return Evidence(measure, as_at, known_at, window, events)


@dataclass(frozen=True)
class SignatureCheck:
    """A signature checked again: ``verifies``, ``fails`` or ``not kept`` (an event
    accepted before signatures were kept with it)."""

    status: str
    key_id: str | None
    arrived: datetime | None
    detail: str

    def to_json(self) -> dict[str, Any]:
        return {"status": self.status, "key_id": self.key_id,
                "arrived": iso_utc(self.arrived) if self.arrived else None,
                "detail": self.detail}


def _agency_then(app: Scorecard, code: str, at: datetime) -> Agency | None:
    """The agency as it stood at ``at``: its keys then, before later rotations and
    revocations."""
    agency_id = Agency.create_id(code)
    history: list[Any] = list(app.repository.event_store.get(agency_id))
    versions = [e.originator_version for e in history if e.timestamp <= at]
    if not versions:
        return None
    found: Any = app.repository.get(agency_id, version=max(versions))
    return found if isinstance(found, Agency) else None


def check_signature(app: Scorecard, submission_id: str) -> SignatureCheck:
    """Verify an accepted event's signature again, against the key valid when it arrived."""
    accepted = next(iter(app.repository.event_store.get(UUID(submission_id), lte=1)), None)
    if accepted is None:
        raise CommandError(f"no accepted event {submission_id}")
    event: Any = accepted
    arrived: datetime = event.timestamp
    signature, signed = getattr(event, "signature", ""), getattr(event, "signed", "")
    if not signature or not signed:
        return SignatureCheck("not kept", event.key_id or None, arrived,
                              "accepted before signatures were kept with events")
    agency = _agency_then(app, event.agency, arrived)
    if agency is None:
        return SignatureCheck("fails", None, arrived,
                              f"{event.agency} was not registered when it arrived")
    try:
        key_id = agency.check_signature(base64.b64decode(signed), signature, arrived)
    except Unauthenticated:
        return SignatureCheck("fails", None, arrived,
                              f"the signature does not verify under any key {event.agency} "
                              "held when it arrived")
    if event.key_id and key_id != event.key_id:
        return SignatureCheck("fails", key_id, arrived,
                              f"verifies under key {key_id}, not {event.key_id} as recorded")
    return SignatureCheck("verifies", key_id, arrived,
                          f"verifies under key {key_id}, valid when it arrived")
