"""Governance: sign-offs on what intake recorded. An agency approves its month's return
and confirms a figure questioned at entry; the board accepts a month's scorecard, reviews
exception notes and marks outliers for follow-up."""

from __future__ import annotations

from datetime import datetime

from domain.base import ScorecardBase, check_month
from domain.contract import EXCEPTION_NOTE_TYPE
from domain.errors import CommandError
from domain.model import ExceptionReview, FigureCheck, MonthAcceptance, ReturnApproval, Submission
from domain.text import visible

REVIEW_DECISIONS = ("accepted", "more_requested")


class Governance(ScorecardBase):
    """The agencies' and the board's sign-offs, each kept as its own aggregate."""

    def approve_return(self, agency_code: str, month: str, key: str, by: str,
                       at: datetime) -> None:
        """An agency, proving itself with its key, approves its return for a month."""
        agency = self._registered(agency_code)
        if not agency.holds_key(key, at):
            raise CommandError(f"the key presented does not belong to {agency_code}")
        check_month(month)
        approval = self._find(ReturnApproval, ReturnApproval.create_id(agency_code, month)) \
            or ReturnApproval(agency=agency_code, month=month)
        approval.approve(agency=agency_code, month=month, by=by, at=at)
        self.save(approval)

    def accept_month(self, month: str, by: str, at: datetime) -> int:
        """The board accepts a month's scorecard as it stands now; returns the pinned
        log position."""
        check_month(month)
        position = self.recorder.max_notification_id() or 0
        acceptance = self._find(MonthAcceptance,
                                MonthAcceptance.create_id(self.plan.code, month)) \
            or MonthAcceptance(plan=self.plan.code, month=month)
        acceptance.accept(month=month, by=by, at=at, position=position)
        self.save(acceptance)
        return position

    def review_exception(self, measure_id: str, month: str, agency: str, note_event_id: str,
                         decision: str, comment: str, by: str, at: datetime) -> None:
        """The board accepts an exception note, or asks its agency for more (saying what).
        The note must be one accepted from that agency about that measure and month."""
        if decision not in REVIEW_DECISIONS:
            raise CommandError(f"decision must be one of {', '.join(REVIEW_DECISIONS)}")
        check_month(month)
        note = self._find(Submission, Submission.create_id(agency, note_event_id))
        if note is None or note.type != EXCEPTION_NOTE_TYPE \
                or note.payload.get("measure") != measure_id \
                or note.payload.get("month") != month:
            raise CommandError(f"{agency} has no exception note {note_event_id} for "
                               f"{measure_id} in {month}")
        if decision == "more_requested" and not comment.strip():
            raise CommandError("asking for more needs a comment saying what is missing")
        review = self._find(ExceptionReview, ExceptionReview.create_id(measure_id, month)) \
            or ExceptionReview(measure_id=measure_id, month=month)
        review.review(measure_id=measure_id, month=month, agency=agency,
                      note_event_id=note_event_id, decision=decision,
                      comment=visible(comment, 2000), by=by, at=at)
        self.save(review)

    def confirm_figure(self, agency: str, measure_id: str, month: str, value: float,
                       rule: str, detail: str, by: str, at: datetime) -> None:
        """Keep an agency's confirmation of a figure questioned at entry."""
        self._registered(agency)
        check_month(month)
        check = self._find(FigureCheck, FigureCheck.create_id(agency, measure_id, month)) \
            or FigureCheck(agency=agency, measure_id=measure_id, month=month)
        check.confirm(agency=agency, measure_id=measure_id, month=month, value=value,
                      rule=rule, detail=visible(detail, 500), by=by, at=at)
        self.save(check)

    def mark_figure_for_follow_up(self, agency: str, measure_id: str, month: str, note: str,
                                  by: str, at: datetime) -> None:
        """The board's reviewer marks a confirmed outlier for follow-up."""
        check = self._find(FigureCheck, FigureCheck.create_id(agency, measure_id, month))
        if check is None:
            raise CommandError(f"no confirmed outlier of {agency} for {measure_id} in {month}")
        check.mark_follow_up(agency=agency, measure_id=measure_id, month=month,
                             note=visible(note, 500), by=by, at=at)
        self.save(check)

