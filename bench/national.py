"""A deterministic national-scale history: every partnership's agencies, ten years.

Every safeguarding partnership in England, each with its agencies (police, council,
health, schools, a helpline, charities), sending every event type month by month from
April 2016 to March 2026, with late returns (a backfill, known months after the month),
corrections (``supersedes``) and retractions, and the bundled plan's leads reporting
action status. One home holds them all (one plan; the standard measures need only
registered agencies), each partnership's agencies with their own codes.

Two ways to use it:

- ``messages(count)``: contract messages (dicts), for pushing through the domain;
- ``build_store(app, count)``: the same kind of history saved as pre-built aggregates in
  batches of 2,000 (``eventsourcing``'s fastest path, no deciding), to make a store of a
  million or ten million events in minutes for the read-side benchmarks. It saves
  ``Agency`` and ``Submission`` aggregates (with their supersessions and retractions);
  it does not build ``Case`` aggregates, which the read model never reads.
"""

from __future__ import annotations

import hashlib
import random
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

from domain.application import Scorecard
from domain.model import Agency, Submission

PARTNERSHIPS = 150
ROLES = {  # role -> (sector, event types it sends, weights)
    "police": ("police", ("referral.received", "case.closed", "training.delivered"), (4, 3, 1)),
    "council": ("council", ("training.delivered", "referral.received", "case.closed"),
                (3, 2, 2)),
    "health": ("health", ("training.delivered", "referral.received", "case.closed"), (2, 2, 2)),
    "schools": ("education", ("school.session_delivered", "training.delivered"), (5, 1)),
    "helpline": ("voluntary", ("helpline.contact",), (1,)),
    "charity": ("voluntary", ("helpline.contact", "referral.received", "case.closed",
                              "training.delivered"), (3, 2, 2, 1)),
    "ccg": ("health", ("training.delivered",), (1,)),
    "youth": ("council", ("school.session_delivered", "training.delivered"), (2, 1)),
}
FIRST_MONTH = date(2016, 4, 1)
MONTHS = 120
CORRECTION_SHARE = 0.03
RETRACTION_SHARE = 0.01
LATE_SHARE = 0.05
BATCH = 2000


def agency_codes(partnerships: int = PARTNERSHIPS) -> list[tuple[str, str]]:
    """(code, role) of every agency: ``p042-police`` and so on."""
    return [(f"p{p:03d}-{role}", role) for p in range(partnerships) for role in ROLES]


def month_start(index: int) -> date:
    year, month = divmod(FIRST_MONTH.month - 1 + index, 12)
    return date(FIRST_MONTH.year + year, month + 1, 1)


def _payload(rng: random.Random, event_type: str, case: str | None) -> dict[str, Any]:
    if event_type == "training.delivered":
        attendees = rng.randint(5, 60)
        return {"course": "cse-awareness", "audience": rng.choice(("workforce", "community")),
                "attendees": attendees}
    if event_type == "school.session_delivered":
        return {"school": f"{rng.randint(100000, 149999)}", "programme": "chelseas-choice",
                "year_groups": ["Y8", "Y9"], "pupils": rng.randint(20, 240),
                "format": rng.choice(("lesson", "performance", "workshop"))}
    if event_type == "helpline.contact":
        return {"channel": rng.choice(("phone", "email", "web", "text")),
                "cse_related": rng.random() < 0.4, "in_area": rng.random() < 0.8,
                "outcome": rng.choice(("advice", "referral", "signpost", "none")),
                "response_minutes": rng.randint(0, 600)}
    if event_type == "referral.received":
        return {"case": case, "source": rng.choice(("education", "police", "health")),
                "client": "child", "age_band": rng.choice(("11-15", "16-17")),
                "gender": rng.choice(("female", "male")), "historic": False}
    assert event_type == "case.closed"
    return {"case": case, "reason": "support_completed"}


@dataclass
class Event:
    """One generated event, with its knowledge time."""

    message: dict[str, Any]
    recorded_at: datetime
    backfill: bool


def events(count: int, seed: int = 7, partnerships: int = PARTNERSHIPS,
           lead_codes: list[tuple[str, str]] | None = None) -> Iterator[Event]:
    """``count`` events in occurrence order (month by month), deterministic for a seed.

    ``lead_codes``: (action code, lead agency) pairs to report status on each month.
    Memory stays bounded: per agency, its last plain event and its open cases.
    """
    rng = random.Random(seed)
    agencies = agency_codes(partnerships)
    last: dict[str, tuple[str, str, datetime]] = {}  # agency -> (event_id, type, recorded)
    open_cases: dict[str, list[str]] = {}
    serial = 0
    status_due = 0
    per_month = max(1, count // MONTHS)
    for n in range(count):
        month = min(n // per_month, MONTHS - 1)
        first = month_start(month)
        if lead_codes and month >= status_due and n % per_month == 0:
            status_due = month + 1
            for action, lead in lead_codes:
                serial += 1
                on = first + timedelta(days=14)
                status = "complete" if month > 60 else ("on_track" if month > 3 else
                                                         "not_started")
                yield Event({"event_id": f"s-{serial}", "agency": lead,
                             "type": "action.status_reported", "schema_version": 1,
                             "occurred_at": on.isoformat(),
                             "payload": {"action": action, "status": status}},
                            datetime(on.year, on.month, on.day, 12, tzinfo=UTC)
                            + timedelta(days=20), False)
        code, role = agencies[rng.randrange(len(agencies))]
        serial += 1
        event_id = f"n-{serial}"
        day = first + timedelta(days=rng.randrange(28))
        month_end = month_start(month + 1)
        late = rng.random() < LATE_SHARE
        recorded = datetime(month_end.year, month_end.month, month_end.day, 9, tzinfo=UTC) \
            + timedelta(days=rng.randint(30, 120) if late else rng.randint(2, 9),
                        seconds=rng.randrange(3600))
        message: dict[str, Any] = {"event_id": event_id, "agency": code, "schema_version": 1,
                                   "occurred_at": day.isoformat()}
        draw = rng.random()
        previous = last.get(code)
        if previous is not None and draw < RETRACTION_SHARE:
            message.update(type="event.retracted",
                           payload={"target": previous[0], "reason": "entered in error"})
            recorded = max(recorded, previous[2] + timedelta(hours=1))
            del last[code]
        elif previous is not None and draw < RETRACTION_SHARE + CORRECTION_SHARE:
            message.update(type=previous[1], supersedes=previous[0],
                           payload=_payload(rng, previous[1], None))
            recorded = max(recorded, previous[2] + timedelta(hours=1))
            last[code] = (event_id, previous[1], recorded)
        else:
            _sector, types, weights = ROLES[role]
            event_type = rng.choices(types, weights)[0]
            cases = open_cases.setdefault(code, [])
            case = None
            if event_type == "case.closed" and not cases:
                event_type = "referral.received"
            if event_type == "referral.received":
                case = f"C{serial}"
                cases.append(case)
                if len(cases) > 20:
                    cases.pop(0)
            elif event_type == "case.closed":
                case = cases.pop(0)
            message.update(type=event_type, payload=_payload(rng, event_type, case))
            if case is None:
                last[code] = (event_id, event_type, recorded)
        yield Event(message, recorded, late)


def plan_leads(app: Scorecard) -> list[tuple[str, str]]:
    return [(action.code, action.lead) for action in app.plan.actions]


def register_agencies(app: Scorecard, partnerships: int = PARTNERSHIPS,
                      key: str = "0" * 64) -> list[str]:
    """Every generated agency and every plan lead, saved as pre-built aggregates."""
    codes = [(code, ROLES[role][0]) for code, role in agency_codes(partnerships)]
    codes += [(lead, "other") for lead in sorted({lead for _a, lead in plan_leads(app)})]
    built = [Agency(code=code, name=code, sector=sector, types=None, key=key, by="bench")
             for code, sector in codes if app.agency(code) is None]
    for first in range(0, len(built), BATCH):
        app.save(*built[first:first + BATCH])
    return [code for code, _ in codes]


def _submission(event: Event, zone_day: str, occurred_utc: datetime) -> Submission:
    message = event.message
    return Submission(
        agency=message["agency"], event_id=message["event_id"], type=message["type"],
        occurred_at=message["occurred_at"], occurred_utc=occurred_utc, occurred_on=zone_day,
        payload=message["payload"], supersedes=message.get("supersedes"),
        fingerprint=hashlib.sha256(message["event_id"].encode()).hexdigest(),
        recorded_at=event.recorded_at, backfill=event.backfill, episode=None,
        source="national", key_id="bench")


def build_store(app: Scorecard, count: int, seed: int = 7,
                partnerships: int = PARTNERSHIPS) -> int:
    """Save ``count`` generated events as pre-built aggregates; return events saved.

    The generator replaces only an agency's last plain event, so that one is kept in
    memory per agency (bounded by the number of agencies, not the history).
    """
    register_agencies(app, partnerships)
    recent: dict[str, Submission] = {}  # agency -> its last plain event (what is replaced)
    pending: dict[Any, Submission] = {}
    saved = 0
    for event in events(count, seed, partnerships, plan_leads(app)):
        message = event.message
        on = date.fromisoformat(message["occurred_at"])
        utc = datetime(on.year, on.month, on.day, tzinfo=UTC)
        submission = _submission(event, message["occurred_at"], utc)
        agency = message["agency"]
        kind = message["type"]
        if kind == "event.retracted" or "supersedes" in message:
            replaced = recent.pop(agency)
            if kind == "event.retracted":
                replaced.retract(by_event_id=message["event_id"], reason="entered in error",
                                 at=event.recorded_at)
            else:
                replaced.supersede(by_event_id=message["event_id"], at=event.recorded_at)
            pending[replaced.id] = replaced
        if kind in ("training.delivered", "school.session_delivered", "helpline.contact"):
            recent[agency] = submission
        pending[submission.id] = submission
        if len(pending) >= BATCH:
            saved += _flush(app, pending)
    return saved + _flush(app, pending)


def _flush(app: Scorecard, pending: dict[Any, Submission]) -> int:
    events_saved = sum(len(s.pending_events) for s in pending.values())
    if pending:
        app.save(*pending.values())
        pending.clear()
    return events_saved
