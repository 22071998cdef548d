"""Exception notes on the page: the board's flag and review, the agency's note form, and
the notes in the printable pack.

Kept in one module the board page, the agency page and the scrutiny pack call, so a
rewritten board overview renders the same flag (``flag_text``) from the report's
``exception`` field without copying the rules.
"""

from __future__ import annotations

import html
from datetime import date

import streamlit as st

from domain.application import Scorecard
from domain.errors import CommandError
from domain.exception_notes import note_message
from domain.timekeeping import utc_now
from ingest.file_push import push_message
from projections.exceptions import ExceptionFlag
from projections.report import MeasureValue, Report
from scorecard_ui.formatting import uk_date
from scorecard_ui.session import READ_ONLY_NOTE, SignedIn
from scorecard_ui.views import evidence

FLAG_TEXT = {
    "missing": "⚠ red, no note",
    "submitted": "note to review",
    "accepted": "note accepted",
    "more_requested": "more asked",
}


def flag_text(flag: ExceptionFlag | None) -> str:
    """The flag in a table cell: red-without-note is a flag of its own."""
    return FLAG_TEXT[flag.status] if flag is not None else ""


def _flagged(report: Report) -> list[MeasureValue]:
    return [m for m in report.measures if m.exception is not None]


def _note_markdown(m: MeasureValue) -> str:
    flag = m.exception
    assert flag is not None
    why = " and ".join(flag.reasons) or "no longer red"
    lines = [f"**{m.title}** · {date.fromisoformat(flag.month + '-01'):%B %Y} · "
             f"{why} · **{flag_text(flag)}**"]
    if flag.note is not None:
        n = flag.note
        lines += [f"- *What happened:* {n.what_happened}", f"- *Why:* {n.why}",
                  f"- *What is being done:* {n.recovery}",
                  f"- *By:* {uk_date(n.recover_by)} · *Owner:* {n.owner}"
                  f" · from {n.agency} ({n.event_id})"]
    if flag.review is not None:
        r = flag.review
        lines.append(f"- *Board:* {r.decision.replace('_', ' ')} by {r.by} on "
                     f"{uk_date(r.at)}" + (f": {r.comment}" if r.comment else ""))
    return "\n".join(lines)


def show_exceptions(app: Scorecard | None, report: Report, user: SignedIn | None,
                    live: bool) -> None:
    """The board's section: every measure owing or carrying a note for the as-at month;
    on the live view, the board accepts a note or asks for more."""
    flagged = _flagged(report)
    st.subheader("Exception notes")
    if not flagged:
        st.caption("No measure is red or off course at the as-at day, and no note was "
                   "written for its month.")
        return
    missing = sum(m.exception is not None and m.exception.status == "missing"
                  for m in flagged)
    st.caption(f"A measure red or off course at the month's end owes a note from its lead "
               f"agency. {missing} red without a note.")
    for m in flagged:
        flag = m.exception
        assert flag is not None
        with st.container(border=True):
            st.markdown(_note_markdown(m))
            if user is not None and user.role in evidence.ROLES:
                st.page_link(evidence.page(), label="The events behind this figure",
                             query_params={"measure": m.id,
                                           "as_at": report.as_at.isoformat(),
                                           "known": f"{report.known_at:%Y-%m-%d}"})
            can_review = (live and user is not None and user.role == "board"
                          and flag.note is not None and flag.review is None)
            if can_review and app is None:
                st.caption(READ_ONLY_NOTE)
            elif can_review and app is not None:
                _review_form(app, m, flag, user)


def _review_form(app: Scorecard, m: MeasureValue, flag: ExceptionFlag,
                 user: SignedIn | None) -> None:
    assert flag.note is not None and user is not None
    with st.form(f"review_{m.id}"):
        comment = st.text_input("What more is needed (to ask for more)",
                                key=f"review_comment_{m.id}")
        accept, more = st.columns(2)
        accepted = accept.form_submit_button("Accept the note")
        asked = more.form_submit_button("Ask for more")
    if accepted or asked:
        try:
            app.review_exception(m.id, flag.month, flag.note.agency, flag.note.event_id,
                                 "accepted" if accepted else "more_requested", comment,
                                 by=user.username, at=utc_now())
        except CommandError as error:
            st.error(str(error))
        else:
            st.rerun()


def note_form(app: Scorecard, agency: str, report: Report, user: SignedIn) -> None:
    """The agency's side: each measure it leads (or counts towards, when the plan names
    no lead) that owes a note, or whose note the board asked more of, with a form."""
    leads = {spec["id"]: spec.get("lead") for spec in app.plan.measures}
    owed = [m for m in _flagged(report)
            if m.exception is not None and m.exception.required
            and leads.get(m.id) in (agency, None)
            and m.exception.status in ("missing", "more_requested")]
    if not owed:
        st.info("No measure you lead owes an exception note for this month.")
        return
    registered = app.agency(agency)
    key = registered.current_key() if registered else None
    for m in owed:
        flag = m.exception
        assert flag is not None
        with st.container(border=True):
            st.markdown(_note_markdown(m))
            with st.form(f"note_{m.id}"):
                what = st.text_area("What happened", key=f"note_what_{m.id}")
                why = st.text_area("Why", key=f"note_why_{m.id}")
                recovery = st.text_area("What is being done", key=f"note_recovery_{m.id}")
                recover_by = st.date_input("Recovered by", key=f"note_by_{m.id}",
                                           format="DD/MM/YYYY")
                owner = st.text_input("Owner (a role)", key=f"note_owner_{m.id}")
                sent = st.form_submit_button("Send the note")
            if not sent:
                continue
            if key is None:
                st.error(f"{agency} has no current key: ask an administrator.")
                continue
            message = note_message(
                agency=agency, measure=m.id, month=flag.month, what_happened=what, why=why,
                recovery=recovery, recover_by=recover_by.isoformat(), owner=owner,
                written_on=utc_now().astimezone(app.plan.zone).date(),
                supersedes=flag.note.event_id if flag.note and flag.note.agency == agency
                else None)
            outcome = push_message(app, message, agency=agency, key=key, now=utc_now(),
                                   source="returns page: exception note",
                                   operator=user.username)
            if outcome.rejection is not None:
                st.error(f"Not accepted: {outcome.rejection}")  # the form keeps its text
            else:
                st.success(f"Note {outcome.event_id} sent: the board sees it now.")


def notes_html(report: Report) -> str:
    """The notes as a section of the printable pack."""
    flagged = _flagged(report)
    if not flagged:
        return ""
    parts = ["<h2>Exception notes</h2>"]
    for m in flagged:
        flag = m.exception
        assert flag is not None
        parts.append(f"<h3>{html.escape(m.title)} &middot; "
                     f"{date.fromisoformat(flag.month + '-01'):%B %Y} &middot; "
                     f"{html.escape(flag_text(flag))}</h3>")
        if flag.note is not None:
            n = flag.note
            fields = (("What happened", n.what_happened), ("Why", n.why),
                      ("What is being done", n.recovery),
                      ("By", f"{uk_date(n.recover_by)}"),
                      ("Owner", n.owner), ("From", n.agency))
            parts.append("<dl>" + "".join(f"<dt>{label}</dt><dd>{html.escape(text)}</dd>"
                                          for label, text in fields) + "</dl>")
        if flag.review is not None:
            parts.append(f"<p>Board: {html.escape(flag.review.decision.replace('_', ' '))}"
                         f"{': ' + html.escape(flag.review.comment) if flag.review.comment else ''}"
                         "</p>")
    return "\n".join(parts)
