"""Exception notes: a red measure's explanation and recovery plan, and the board's review.

When a measure is red, or off course by its forecast, at a month's end, its lead agency
owes an exception note for that month (a report part-way through a month shows the notes
for the month before: ``note_month``): what happened, why, what is being done, by when,
and who owns it. A note is an agency event (``exception.noted``: signed, audited, kept
in the log), so a report as known at K shows the notes as known at K: a later note, a
revision (which supersedes the earlier note) or a retraction is not seen before it
arrived. The board accepts a note or asks for more (``ExceptionReview``); a decision
judges the note it names, so a revised note is ``submitted`` again until reviewed.

Each measure of a report carries an ``exception`` flag: ``missing`` (a note is owed and
none has arrived), ``submitted``, ``accepted`` or ``more_requested``; none when no note
is owed and none was written.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from domain.timekeeping import from_naive_utc, iso_utc, to_naive_utc

NOTE_FIELDS = ("what_happened", "why", "recovery", "recover_by", "owner")

NoteRow = tuple[str, str, str, datetime, datetime | None]  # agency, event, payload, times
ReviewRow = tuple[str, str, str, str, str, str, datetime, str]


@dataclass(frozen=True)
class ExceptionNote:
    """One standing note, as its agency wrote it."""

    measure: str
    month: str
    agency: str
    event_id: str
    what_happened: str
    why: str
    recovery: str
    recover_by: str
    owner: str
    known_since: datetime

    def to_json(self) -> dict[str, Any]:
        return {"agency": self.agency, "event_id": self.event_id,
                **{name: getattr(self, name) for name in NOTE_FIELDS},
                "known_since": iso_utc(self.known_since)}


@dataclass(frozen=True)
class Review:
    """The board's latest decision on a note."""

    note_event_id: str
    decision: str  # accepted | more_requested
    comment: str
    by: str
    at: datetime

    def to_json(self) -> dict[str, Any]:
        return {"note_event_id": self.note_event_id, "decision": self.decision,
                "comment": self.comment, "by": self.by, "at": iso_utc(self.at)}


@dataclass(frozen=True)
class ExceptionFlag:
    """Whether a note is owed for a measure's month, and where it stands."""

    month: str
    required: bool
    reasons: tuple[str, ...]  # "red", "off course"
    status: str  # missing, submitted, accepted or more_requested
    note: ExceptionNote | None = None
    review: Review | None = None

    def to_json(self) -> dict[str, Any]:
        return {"month": self.month, "required": self.required, "reasons": list(self.reasons),
                "status": self.status,
                "note": self.note.to_json() if self.note else None,
                "review": self.review.to_json() if self.review else None}


def note_month(as_at: date) -> str:
    """The month whose end a report's notes are for: the as-at month when as_at is its
    last day, else the month before (a meeting on 16 October reads September's notes).
    Whether a note is owed is judged on the report's own figure as at as_at."""
    following = as_at + timedelta(days=1)
    if following.month != as_at.month:
        return f"{as_at:%Y-%m}"
    return f"{as_at.replace(day=1) - timedelta(days=1):%Y-%m}"


def reasons_for_note(rag: str | None, outlook: str | None) -> tuple[str, ...]:
    """Why a measure owes a note: red, or off course by its forecast (or both)."""
    return tuple(reason for reason, holds in (("red", rag == "red"),
                                              ("off course", outlook == "off course"))
                 if holds)


class ExceptionBook:
    """The notes and reviews as known at one time, for a whole report."""

    def __init__(self, notes: list[NoteRow], reviews: list[ReviewRow],
                 known_at: datetime) -> None:
        """From every note fact (agency, event id, payload, recorded_at, ended_at) and
        every review, each in log order (``projections.lookups`` keeps them): a note
        stands when recorded by ``known_at`` and not ended by then; a review counts when
        made by then."""
        known = to_naive_utc(known_at)
        self.notes: dict[tuple[str, str], ExceptionNote] = {}
        for agency, event_id, payload, recorded_at, ended_at in notes:
            if recorded_at > known or (ended_at is not None and ended_at <= known):
                continue
            body = json.loads(payload)
            note = ExceptionNote(
                measure=body["measure"], month=body["month"], agency=agency,
                event_id=event_id, what_happened=body["what_happened"], why=body["why"],
                recovery=body["recovery"], recover_by=body["recover_by"],
                owner=body["owner"], known_since=from_naive_utc(recorded_at))
            self.notes[(note.measure, note.month)] = note  # the latest stands
        self.reviews: dict[tuple[str, str, str, str], Review] = {}
        for measure, month, agency, note_id, decision, comment, at, by in reviews:
            if at <= known:
                self.reviews[(measure, month, agency, note_id)] = Review(
                    note_id, decision, comment, by, from_naive_utc(at))

    def flag(self, measure_id: str, month: str, reasons: tuple[str, ...]
             ) -> ExceptionFlag | None:
        """The measure's flag for the month, or None when no note is owed or written."""
        note = self.notes.get((measure_id, month))
        if note is None:
            return ExceptionFlag(month, True, reasons, "missing") if reasons else None
        review = self.reviews.get((measure_id, month, note.agency, note.event_id))
        return ExceptionFlag(month, bool(reasons), reasons,
                             review.decision if review else "submitted", note, review)
