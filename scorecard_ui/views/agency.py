"""An agency's own page: upload a return (checked before submitting), see its rejected
events with their reasons and resubmit corrected ones, and its returns calendar."""

from __future__ import annotations

import json
import zipfile
from datetime import timedelta
from typing import Any
from uuid import UUID

import pandas as pd
import streamlit as st

from domain.application import Delivery, Outcome, Scorecard
from domain.errors import CommandError, Unauthenticated
from domain.text import has_lone_surrogate, visible
from domain.timekeeping import utc_now
from ingest.crash_guard import submit_guarded
from ingest.file_push import file_line_delivery
from projections.rejected import list_rejected
from projections.report import load_plan
from projections.returns import returns_calendar
from scorecard_ui.exceptions_view import note_form
from scorecard_ui.outliers_view import keep_confirmations, question_return
from scorecard_ui.returns_upload import (
    MAX_ROWS,
    UploadRefused,
    as_line,
    check,
    read_upload,
    template_csv,
)
from scorecard_ui.session import SignedIn, application, current_user, home, load_report
from scorecard_ui.spreadsheet import neutralised_frame
from scorecard_ui.text import as_text

BATCH = 500


def deliveries(app: Scorecard, agency: str, lines: list[bytes], user: SignedIn,
               source: str) -> list[Delivery]:
    """Lines to submit as the agency: the page signs with the agency's current key, its
    user having signed in as that agency's staff."""
    found = app.agency(agency)
    key = found.current_key() if found else None
    now = utc_now()
    return [file_line_delivery(line, producer=agency, key=key or "", received_at=now,
                               producer_verified=key is not None, backfill=False,
                               source=f"{source}:{n}", arrived_at=now, operator=user.username)
            for n, line in enumerate(lines, start=1)]


def submit(app: Scorecard, batch: list[Delivery]) -> list[Outcome]:
    outcomes: list[Outcome] = []
    progress = st.progress(0.0, text="Submitting")
    for start in range(0, len(batch), BATCH):
        outcomes += submit_guarded(app, batch[start:start + BATCH])
        progress.progress(min(1.0, (start + BATCH) / len(batch)), text="Submitting")
    return outcomes


def outcome_summary(outcomes: list[Outcome]) -> str:
    counts = {s: sum(o.status == s for o in outcomes) for s in ("accepted", "duplicate",
                                                               "rejected")}
    return ", ".join(f"{n} {status}" for status, n in counts.items())


def upload_key(generation: int) -> str:
    """The uploader's widget key: a new one after each submission."""
    return "return_upload" if generation == 0 else f"return_upload:{generation}"


def upload(app: Scorecard, agency: str, user: SignedIn) -> None:
    st.download_button("Download the CSV template", template_csv(),
                       file_name="return-template.csv", mime="text/csv",
                       help="One column per field; a row per event.")
    generation = st.session_state.setdefault("upload_generation", 0)
    uploaded = st.file_uploader(f"A return: JSON Lines, CSV or Excel (at most {MAX_ROWS:,} "
                                "rows and 10 MB)",
                                type=["jsonl", "json", "ndjson", "csv", "xlsx"],
                                key=upload_key(generation))
    if uploaded is None:
        return
    try:
        rows = list(read_upload(uploaded.name, uploaded.getvalue(), agency))
    except (UploadRefused, ValueError, LookupError, OSError, zipfile.BadZipFile) as error:
        # Too many rows, not UTF-8, empty, not a spreadsheet: the file's fault, said
        # plainly (UploadRefused names the limit), not a trace.
        st.error(f"{as_text(visible(uploaded.name, 100))} cannot be read as JSON Lines, CSV "
                 f"or Excel: {as_text(visible(str(error), 300))}")
        return
    checking = st.progress(0.0, text="Checking")
    preview, lines = [], []
    for index, (number, raw, message, problem) in enumerate(rows):
        verdict = problem or (check(message, app.plan.zone) if message else None)
        if message is not None and message.get("agency") != agency:
            verdict = verdict or Unauthenticated(f"must be {agency}", field="agency")
        preview.append({"Row": number, "Event": _shown(message, "event_id"),
                        "Type": _shown(message, "type"),
                        "Problem": str(verdict) if verdict else "ok"})
        if raw is not None or message is not None:
            lines.append(raw if raw is not None else as_line(message or {}))
        checking.progress((index + 1) / max(1, len(rows)), text="Checking")
    problems = [row for row in preview if row["Problem"] != "ok"]
    st.dataframe(neutralised_frame(pd.DataFrame(preview)), hide_index=True, width="stretch")
    if problems:
        st.warning(f"{len(problems)} of {len(preview)} rows have a problem, named above. "
                   "Submitted as they are, they will be rejected and kept for you to correct.")
    else:
        st.success(f"All {len(preview)} rows pass the contract's checks.")
    flags, may_submit = question_return(
        app, agency, [message for _, _, message, _ in rows if message is not None],
        key=f"confirm_outliers_{generation}")
    if st.button("Submit this return", key="submit_return", type="primary",
                 disabled=not may_submit):
        outcomes = submit(app, deliveries(app, agency, lines, user, uploaded.name))
        keep_confirmations(app, flags, user)
        st.success(f"Submitted: {outcome_summary(outcomes)}")
        # the next run has a new uploader: Streamlit lets go of this file instead of
        # keeping it in memory for as long as the browser session lasts
        st.session_state["upload_generation"] = generation + 1


def rejected(app: Scorecard, agency: str, user: SignedIn) -> None:
    with home().readmodel(app) as connection:
        rows = list_rejected(connection, agency)
    open_rows = [r for r in rows if r["status"] == "open"]
    st.caption(f"{len(open_rows)} open, {len(rows) - len(open_rows)} since resubmitted")
    if not rows:
        st.success("Nothing of yours has been rejected.")
        return
    st.dataframe(neutralised_frame(pd.DataFrame([
        {k: r[k] for k in ("received_at", "event_id", "type", "reason", "field", "message",
                           "status")} for r in rows])), hide_index=True, width="stretch")
    if not open_rows:
        return
    labels = {f"{r['event_id'] or '(no id)'}: [{r['reason']}] {r['message']}": r
              for r in open_rows}
    chosen = labels[st.selectbox("Correct and resubmit", list(labels), key="resubmit_pick")]
    text = st.text_area("The event (edit it, then resubmit)", value=_editable(chosen),
                        height=220, key=f"resubmit_text:{chosen['id']}")
    if st.button("Resubmit", key="resubmit"):
        try:  # only what the agency's own authenticated push sent (never a planted one)
            app.own_rejection(UUID(chosen["id"]), agency)
        except CommandError as error:
            st.error(as_text(str(error)))
            return
        outcome = submit_guarded(app, deliveries(app, agency, [text.encode("utf-8")], user,
                                                 "resubmitted"))[0]
        if outcome.rejection is not None:
            st.error(f"Still rejected: {as_text(str(outcome.rejection))}")
        else:
            st.success(f"{outcome.status}: {as_text(outcome.event_id or '')}")


def _shown(message: dict[str, Any] | None, name: str) -> str:
    """A field of an uploaded row for the preview table: text, whatever the row held."""
    value = (message or {}).get(name, "")
    return visible(value if isinstance(value, str) else json.dumps(value), 100)


def _editable(rejection: dict[str, Any]) -> str:
    if rejection["line_encoding"] != "utf-8":
        return ""
    try:
        message = json.loads(rejection["line"])
    except ValueError:
        return str(rejection["line"])
    if isinstance(message, dict):
        message.pop("signature", None)  # the page signs what it resubmits
    shown = json.dumps(message, indent=2, ensure_ascii=False)
    # JSON escapes may name lone surrogates, which the page cannot send: show the line.
    return str(rejection["line"]) if has_lone_surrogate(shown) else shown


def calendar(app: Scorecard, agency: str) -> None:
    today = utc_now().astimezone(app.plan.zone).date()
    months, first = [], today.replace(day=1)
    for _ in range(12):
        first = (first - timedelta(days=1)).replace(day=1)
        months.append(f"{first:%Y-%m}")
    with home().readmodel(app) as connection:
        plan = load_plan(connection)
        rows = [r for month in months for r in returns_calendar(connection, plan, month,
                                                                utc_now())
                if r["agency"] == agency]
    if not rows:
        st.info("The plan does not list monthly returns for this agency.")
        return
    st.dataframe(pd.DataFrame([{k: r[k] for k in ("month", "status", "deadline", "arrived",
                                                  "events", "approved")} for r in rows]),
                 hide_index=True, width="stretch")


def exception_notes(app: Scorecard, agency: str, user: SignedIn) -> None:
    """Notes owed for the latest month: the scorecard as at today, live."""
    today = utc_now().astimezone(app.plan.zone).date()
    report = load_report(today, today, app.plan.starts, app.plan.zone, live=True)
    st.caption(f"A measure you lead that is red or off course at the end of "
               f"{today:%B %Y} needs a note: what happened, why, what is being done, by "
               "when, and who owns it. The board reads it beside the figure.")
    note_form(app, agency, report, user)


def render() -> None:
    user = current_user()
    assert user is not None
    app = application()
    if user.role == "agency":
        agency = user.agency or ""
    else:
        with home().readmodel(app) as connection:
            codes = [row[0] for row in connection.execute(
                "SELECT code FROM agencies ORDER BY code").fetchall()]
        if not codes:
            st.info("No agency is registered yet.")
            return
        agency = st.selectbox("Agency", codes, key="agency_choice")
    st.title(f"Returns for {agency}")
    st.caption("Upload your agency's events, check them before they count, and correct "
               "anything rejected.")
    tab_upload, tab_rejected, tab_calendar, tab_notes = st.tabs(
        ["Upload a return", "Rejected events", "Returns calendar", "Exception notes"])
    with tab_upload:
        upload(app, agency, user)
    with tab_rejected:
        rejected(app, agency, user)
    with tab_calendar:
        calendar(app, agency)
    with tab_notes:
        exception_notes(app, agency, user)
