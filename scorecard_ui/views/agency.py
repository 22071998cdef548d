"""An agency's own page: upload a return (checked before submitting), see its rejected
events with their reasons and resubmit corrected ones, and its returns calendar."""

from __future__ import annotations

import json
from datetime import date, datetime
from typing import Any, Literal
from uuid import UUID
from zoneinfo import ZoneInfo

import pandas as pd
import streamlit as st

from domain import contract
from domain.application import Delivery, Scorecard
from domain.contract import EVENT_TYPES, PAYLOADS
from domain.errors import CommandError, InvalidEvent
from domain.text import has_lone_surrogate, visible
from domain.timekeeping import utc_now
from ingest.crash_guard import submit_guarded
from ingest.file_push import BATCH_SIZE, PushSummary, file_line_delivery, submit_in_batches
from projections.directory import agency_codes
from projections.outliers import OutlierFlag
from projections.rejected import RejectedFilter, own_rejection_counts, own_rejections
from projections.report import load_plan
from projections.returns import (
    latest_month_sent,
    months_owed,
    returns_by_type,
    returns_calendar,
)
from scorecard_ui.exceptions_view import note_form
from scorecard_ui.formatting import uk_time
from scorecard_ui.html_table import Column, HtmlTable, simple_table
from scorecard_ui.outliers_view import keep_confirmations, question_return, return_flags
from scorecard_ui.return_submission import (
    Preview,
    outcome_summary,
    preview_upload,
    submit_upload,
)
from scorecard_ui.returns_upload import (
    MAX_ROWS,
    MAX_UPLOAD_BYTES,
    PREVIEW_CAPTION,
    UploadRefused,
    column_guide,
    takes,
    template_csv,
)
from scorecard_ui.session import SignedIn, application, counted_report, current_user, read_model
from scorecard_ui.spreadsheet import neutralised_frame, safe_csv
from scorecard_ui.text import as_text
from scorecard_ui.view_state import live_day

BATCH = BATCH_SIZE  # as scorecard push: one transaction per batch


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


def submit(app: Scorecard, batch: list[Delivery]) -> PushSummary:
    bar = st.progress(0.0, text="Submitting")
    return submit_in_batches(app, batch, batch_size=BATCH, progress=lambda done: bar.progress(
        min(1.0, done / len(batch)), text="Submitting"))


def upload_key(generation: int) -> str:
    """The uploader's widget key: a new one after each submission."""
    return "return_upload" if generation == 0 else f"return_upload:{generation}"


PREVIEW_SHOWN = 5_000  # rows of the preview's table (those with a problem first)
PREVIEW_AS_TABLE = 200  # up to this many shown rows, an HTML table; beyond, the data grid


def upload(app: Scorecard, agency: str, user: SignedIn) -> None:
    st.download_button("Download the CSV template", template_csv(),
                       file_name="return-template.csv", mime="text/csv",
                       help="One column per field; a row per event.")
    registered = app.agency(agency)
    types = [t for t in EVENT_TYPES if t != contract.EXCEPTION_NOTE_TYPE  # its own tab
             and (registered is None or registered.types is None or t in registered.types)]
    with st.expander("What each column takes"):
        st.caption("A row per event: fill the columns of its type and leave the others "
                   "empty. Every row is checked before anything is submitted.")
        st.html(simple_table("The columns of a return", ["Type", "Column", "Required",
                                                         "What it takes"],
                             column_guide(types)))
    generation = st.session_state.setdefault("upload_generation", 0)
    said_above = st.empty()  # the last submission's outcome, until the next file comes
    uploaded = st.file_uploader(f"A return: JSON Lines, CSV or Excel (at most {MAX_ROWS:,} "
                                f"rows and {MAX_UPLOAD_BYTES // 2**20} MB)",
                                type=["jsonl", "json", "ndjson", "csv", "txt", "xlsx"],
                                key=upload_key(generation))
    if uploaded is None:
        if "upload_notice" in st.session_state:
            notice, rejected_rows = st.session_state["upload_notice"]
            if rejected_rows:  # not a success: say where the kept rows are corrected
                said_above.warning(f"{notice}. The rejected rows are kept: fix them and "
                                   "send them again from the 'Rejected events' tab.")
            else:
                said_above.success(notice)
        return
    st.session_state.pop("upload_notice", None)
    # The preview of this file, decided once: the rerun that "Submit" causes does not
    # decide the whole file again before submitting it.
    cached = st.session_state.get("upload_preview")
    if cached is not None and cached[0] == (uploaded.file_id, agency):
        preview: Preview = cached[1]
        flags: list[OutlierFlag] = cached[2]
    else:
        try:
            with st.spinner("Checking each row as a submission would, without recording it"):
                # the domain's own decision (permissions, duplicates, references, case
                # rules): the preview names every rejection that submitting would give
                preview = preview_upload(app, agency, user.username, uploaded.name,
                                         uploaded.getvalue(), app.plan.zone)
        except UploadRefused as error:
            # Too many rows or bytes, no known encoding, empty, not a spreadsheet: the
            # file's fault, said plainly (the reader raises nothing else), not a trace.
            st.error(f"{as_text(visible(uploaded.name, 100))} cannot be read as JSON Lines, "
                     f"CSV or Excel: {as_text(visible(str(error), 300))}")
            return
        flags = return_flags(app, agency, preview.messages)
        preview.messages.clear()  # kept: the rows' verdicts and the flags, not the envelopes
        st.session_state["upload_preview"] = ((uploaded.file_id, agency), preview, flags)
    for note in preview.notes:
        st.info(as_text(note))
    shown = sorted(preview.rows, key=lambda r: r.problem.startswith("ok"))[:PREVIEW_SHOWN]
    shown.sort(key=lambda r: r.number)
    if len(shown) <= PREVIEW_AS_TABLE:
        # Real table markup, whose cells wrap: a problem is a sentence naming the field
        # and the rule, and the data grid cut it at the column's edge.
        table = HtmlTable(PREVIEW_CAPTION, [
            Column("Row", "7%", numeric=True), Column("Event", "18%"),
            Column("Type", "20%"), Column("Problem", "55%")])
        table.rows([r.number, r.event_id, r.type, r.problem] for r in shown)
        st.html(table.to_html())
    else:  # thousands of rows: the grid scrolls and searches them without a huge page
        st.dataframe(neutralised_frame(pd.DataFrame(
            [{"Row": r.number, "Event": r.event_id, "Type": r.type, "Problem": r.problem}
             for r in shown], columns=["Row", "Event", "Type", "Problem"])),
            hide_index=True, width="stretch")
    if len(shown) < len(preview.rows):
        st.caption(f"Showing {len(shown):,} of {len(preview.rows):,} rows: every row with a "
                   "problem first.")
    problems = preview.problems
    if problems:
        st.warning(f"{problems} of {len(preview.rows)} rows have a problem, named above. "
                   "Submitted as they are, they will be rejected and kept for you to correct.")
    else:
        st.success("The row would be accepted." if len(preview.rows) == 1
                   else f"All {len(preview.rows)} rows would be accepted.")
    flags, may_submit = question_return(flags, key=f"confirm_outliers_{generation}")
    if st.button("Submit this return", key="submit_return", type="primary",
                 disabled=not may_submit):
        bar = st.progress(0.0, text="Submitting")
        total = max(1, len(preview.rows))
        summary = submit_upload(
            app, agency, user.username, uploaded.name, uploaded.getvalue(), app.plan.zone,
            progress=lambda done: bar.progress(min(1.0, done / total), text="Submitting"))
        keep_confirmations(app, flags, user)
        # A new uploader at once, the outcome said above it: Streamlit lets go of this
        # file instead of keeping it for as long as the browser session lasts, and the
        # next file dropped goes to the new uploader (dropped on the old one, which the
        # next run no longer draws, it was lost).
        st.session_state["upload_generation"] = generation + 1
        st.session_state.pop("upload_preview", None)
        st.session_state["upload_notice"] = (f"Submitted: {outcome_summary(summary)}",
                                             summary.rejected)
        st.rerun()


PAGE_SIZE = 100
STATUS_NAMES: dict[Literal["open", "resubmitted", "withdrawn"] | None, str] = {
    "open": "Open", "resubmitted": "Since resubmitted", "withdrawn": "Withdrawn",
    None: "Any"}


def rejected(app: Scorecard, agency: str, user: SignedIn) -> None:
    """The agency's own rejections, filtered and paged in SQL (200,000 of them cost one
    page), downloadable as CSV, resubmitted many at once or corrected one at a time in a
    form made from the contract; the counts are read again after every action."""
    notice = st.session_state.pop("rejected_notice", None)
    if notice:
        st.success(notice)
    with read_model(app) as connection:
        counts = own_rejection_counts(connection, agency)
    open_count = counts["status"].get("open", 0)
    done_count = counts["status"].get("resubmitted", 0)
    withdrawn_count = counts["status"].get("withdrawn", 0)
    st.caption(f"{open_count:,} open, {done_count:,} since resubmitted"
               + (f", {withdrawn_count:,} withdrawn" if withdrawn_count else "")
               + (". Open by reason: " + ", ".join(f"{reason} {n:,}" for reason, n
                                                   in counts["reason"].items())
                  if counts["reason"] else ""))
    if not open_count and not done_count and not withdrawn_count:
        st.success("Nothing of yours has been rejected.")
        return
    reason_col, type_col, month_col, status_col = st.columns(4)
    def choices(facet: str, values: list[str]) -> list[str | None]:
        """The facet's values with open rejections, and the one chosen even when an
        action has left it none (so the choice stays, showing 0)."""
        chosen = st.session_state.get(f"rejected_{facet}")
        return [None, *values, *([chosen] if chosen is not None and chosen not in values
                                 else [])]

    # The options' labels stay the same from run to run (Streamlit keeps a choice by its
    # label): the counts behind each are said beside the filters instead.
    reason = reason_col.selectbox(
        "Reason", choices("reason", list(counts["reason"])), key="rejected_reason",
        format_func=lambda v: "Any reason" if v is None else v)
    event_type = type_col.selectbox(
        "Type", choices("type", list(counts["type"])), key="rejected_type",
        format_func=lambda v: "Any type" if v is None else v)
    month = month_col.selectbox(
        "Month received", choices("month", sorted(counts["month"], reverse=True)),
        key="rejected_month", format_func=lambda v: "Any month" if v is None
        else month_name(v))
    status = status_col.selectbox("Status", list(STATUS_NAMES), key="rejected_status",
                                  format_func=lambda v: STATUS_NAMES[v])
    chosen = RejectedFilter(reason=None if reason == "(none)" else reason,
                            type=None if event_type == "(none)" else event_type,
                            month=month, status=status)
    with read_model(app) as connection:
        total, _ = own_rejections(connection, agency, chosen, limit=0)
    pages = max(1, -(-total // PAGE_SIZE))
    page = int(st.number_input(f"Page (of {pages:,}; {PAGE_SIZE} rows a page)", min_value=1,
                               max_value=pages, value=1, step=1, key="rejected_page"))
    with read_model(app) as connection:
        total, rows = own_rejections(connection, agency, chosen, limit=PAGE_SIZE,
                                     offset=(page - 1) * PAGE_SIZE)
    if not rows:
        st.info("No rejection of yours matches these choices.")
        return
    st.dataframe(neutralised_frame(pd.DataFrame([
        {"Received": uk_time(r["received_at"]),
         **{k: r[k] for k in ("event_id", "type", "reason", "field", "message", "status")}}
        for r in rows])), hide_index=True, width="stretch")
    first = (page - 1) * PAGE_SIZE + 1
    st.caption(f"Rows {first:,} to {first + len(rows) - 1:,} of {total:,}")
    _download(app, agency, chosen, total)
    if chosen.status == "open":
        _resubmit_all(app, agency, user, chosen, total)
        _withdraw_all(app, agency, user, chosen, total)
    open_rows = [r for r in rows if r["status"] == "open"]
    if open_rows:
        _correct_one(app, agency, user, open_rows)


def _download(app: Scorecard, agency: str, chosen: RejectedFilter, total: int) -> None:
    key = f"rejected_csv:{chosen}"
    if st.button(f"Prepare a CSV of these {total:,}", key="rejected_prepare_csv"):
        with read_model(app) as connection:
            _, every = own_rejections(connection, agency, chosen)
        st.session_state[key] = safe_csv(pd.DataFrame([
            {k: r[k] for k in ("received_at", "event_id", "type", "reason", "field",
                               "message", "status", "source", "line")} for r in every]))
    if key in st.session_state:
        st.download_button("Download the CSV", st.session_state[key],
                           file_name=f"{agency}-rejected.csv", mime="text/csv",
                           key="rejected_download")


def _resubmit_all(app: Scorecard, agency: str, user: SignedIn, chosen: RejectedFilter,
                  total: int) -> None:
    """Every filtered open rejection sent again as it was (the cause fixed elsewhere: a
    permission granted, a referral sent first), each checked as the agency's own."""
    if not st.button(f"Resubmit all {total:,} as they are", key="resubmit_all",
                     help="For rejections whose cause is now fixed, such as a type now "
                          "permitted or a case now referred. Each is decided again."):
        return
    with read_model(app) as connection:
        _, every = own_rejections(connection, agency, chosen)
    lines, skipped = [], 0
    for row in every:
        line = _unsigned_line(row)
        try:
            app.own_rejection(UUID(row["id"]), agency)
        except CommandError:
            line = None
        if line is None:
            skipped += 1
        else:
            lines.append(line)
    outcomes = submit(app, deliveries(app, agency, lines, user, "resubmitted"))
    st.session_state["rejected_notice"] = (
        f"Resubmitted {len(lines):,}: {outcome_summary(outcomes)}"
        + (f"; {skipped:,} could not be sent as they are (not readable JSON)" if skipped
           else ""))
    st.rerun()


def _withdraw_all(app: Scorecard, agency: str, user: SignedIn, chosen: RejectedFilter,
                  total: int) -> None:
    """Every filtered open rejection withdrawn (it will not be sent again), audited."""
    sure = st.checkbox(f"These {total:,} will not be sent again (test rows, mistakes)",
                       key="withdraw_confirm")
    if not st.button(f"Withdraw all {total:,}", key="withdraw_all", disabled=not sure):
        return
    with read_model(app) as connection:
        _, every = own_rejections(connection, agency, chosen)
    withdrawn = 0
    ids = [UUID(row["id"]) for row in every]
    for start in range(0, len(ids), BATCH):
        withdrawn += app.withdraw_rejections(ids[start:start + BATCH], agency,
                                             by=user.username, at=utc_now())
    st.session_state["rejected_notice"] = f"Withdrew {withdrawn:,}."
    st.rerun()


def _unsigned_line(row: dict[str, Any]) -> bytes | None:
    if row["line_encoding"] != "utf-8":
        return None
    try:
        message = json.loads(row["line"])
    except ValueError:
        return None
    if not isinstance(message, dict):
        return None
    message.pop("signature", None)  # the page signs what it resubmits
    try:
        return json.dumps(message, ensure_ascii=False).encode("utf-8")
    except UnicodeEncodeError:
        return None  # a lone surrogate from a JSON escape


def _correct_one(app: Scorecard, agency: str, user: SignedIn,
                 open_rows: list[dict[str, Any]]) -> None:
    labels = {f"{r['event_id'] or '(no id)'}: [{r['reason']}] {r['message']}": r
              for r in open_rows}
    chosen = labels[st.selectbox("Correct and resubmit (a rejection on this page)",
                                 list(labels), key="resubmit_pick")]
    original = _message(chosen)
    if original is not None and original.get("type") in PAYLOADS:
        corrected = correction_form(original, chosen["id"])
        if st.button("Resubmit the corrected event", key="resubmit_form", type="primary"):
            _resubmit(app, agency, user, chosen, json.dumps(corrected, ensure_ascii=False))
    with st.expander("Or edit the event as JSON"):
        text = st.text_area("The event (edit it, then resubmit)", value=_editable(chosen),
                            height=220, key=f"resubmit_text:{chosen['id']}")
        if st.button("Resubmit", key="resubmit"):
            _resubmit(app, agency, user, chosen, text)


def _resubmit(app: Scorecard, agency: str, user: SignedIn, chosen: dict[str, Any],
              text: str) -> None:
    try:  # only what the agency's own authenticated push sent (never a planted one)
        app.own_rejection(UUID(chosen["id"]), agency)
    except CommandError as error:
        st.error(as_text(str(error)))
        return
    try:
        line = text.encode("utf-8")
    except UnicodeEncodeError:
        st.error("The event holds a character that cannot be sent (a lone surrogate).")
        return
    outcome = submit_guarded(app, deliveries(app, agency, [line], user, "resubmitted"))[0]
    if outcome.rejection is not None:
        st.error(f"Still rejected: {as_text(str(outcome.rejection))}")
    else:  # said after the rerun, whose counts and list no longer hold it
        st.session_state["rejected_notice"] = (f"{outcome.status}: "
                                               f"{as_text(outcome.event_id or '')}")
        st.rerun()


def _message(rejection: dict[str, Any]) -> dict[str, Any] | None:
    if rejection["line_encoding"] != "utf-8":
        return None
    try:
        message = json.loads(rejection["line"])
    except ValueError:
        return None
    return message if isinstance(message, dict) else None


def correction_form(message: dict[str, Any], rejection_id: str) -> dict[str, Any]:
    """Inputs for the rejected event's fields, made from the contract's kinds (a choice
    is picked from its list, a number is a number within its bounds, a yes/no is a yes/
    no), each labelled with its rule and filled with what was sent where it fits; the
    corrected envelope as the inputs stand."""
    event_type = str(message["type"])
    payload = message.get("payload") if isinstance(message.get("payload"), dict) else {}
    assert isinstance(payload, dict)
    key = f"fix:{rejection_id}"
    result: dict[str, Any] = {k: v for k, v in message.items()
                              if k not in ("payload", "signature")}
    for name in ("event_id", "occurred_at", "supersedes"):
        current = message.get(name)
        entered = st.text_input(
            name + (" (optional)" if name == "supersedes" else ""),
            value=current if isinstance(current, str) else "", key=f"{key}:{name}",
            help=("YYYY-MM-DD, or a date-time with an offset" if name == "occurred_at"
                  else contract.EVENT_ID_RULE))
        if entered:
            result[name] = entered
        else:
            result.pop(name, None)
    fields: dict[str, Any] = {}
    for name, (kind, required) in PAYLOADS[event_type].items():
        value = _field_input(kind, name, required, payload.get(name), f"{key}:{name}")
        if value is not None:
            fields[name] = value
    result["payload"] = fields
    return result


def _sent(kind: contract.Kind, current: Any) -> str:
    """What was sent, when it is not a value the field takes (a choice list cannot show
    "GP"), so the volunteer sees what to correct; escaped, as agency text always is."""
    if current is None or isinstance(kind, contract.Record):
        return ""
    try:
        kind(current, "value")
    except InvalidEvent:
        sent = json.dumps(current, ensure_ascii=False)
        return f" (you sent {as_text(sent[:60] + ('…' if len(sent) > 60 else ''))})"
    return ""


def _field_input(kind: contract.Kind, name: str, required: bool, current: Any,
                 key: str) -> Any:
    """An input for one field, labelled with its name, what it takes (the column guide's
    words) and, where it does not fit, what was sent."""
    label = (f"payload.{name}" + ("" if required else " (optional)") + ": "
             + takes(kind) + _sent(kind, current))  # the registry's words, then escaped
    if isinstance(kind, contract.Integer):
        return st.number_input(label, min_value=kind.lo, max_value=kind.hi, step=1, key=key,
                               value=current if isinstance(current, int)
                               and not isinstance(current, bool)
                               and kind.lo <= current <= kind.hi else None)
    if isinstance(kind, contract.Boolean):
        options = ["true", "false"]
        picked = st.selectbox(label, options, key=key,
                              index=None if not isinstance(current, bool)
                              else options.index("true" if current else "false"))
        return None if picked is None else picked == "true"
    if isinstance(kind, contract.OneOf):
        choices = list(kind.choices)
        return st.selectbox(label, choices, key=key,
                            index=choices.index(current) if current in choices else None)
    if isinstance(kind, contract.YearGroups):
        picked_groups = st.multiselect(label, list(kind.choices),
                                       default=[g for g in current if g in kind.choices]
                                       if isinstance(current, list) else [], key=key)
        return picked_groups or None
    if isinstance(kind, contract.Record):
        inner = current if isinstance(current, dict) else {}
        values = {part: _field_input(k, f"{name}.{part}", True, inner.get(part),
                                     f"{key}.{part}") for part, (k, _) in kind.fields.items()}
        return values if any(v is not None for v in values.values()) else None
    text = st.text_input(label, key=key, value=current if isinstance(current, str) else "")
    return text if text or (required and isinstance(kind, contract.Text)) else None


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


def day(moment: datetime | date | None, zone: ZoneInfo | None = None) -> str:
    """A UK date ("16 Dec 2015"), in the plan's zone for an instant; "—" for none."""
    if moment is None:
        return "—"
    if isinstance(moment, datetime) and zone is not None:
        moment = moment.astimezone(zone)
    return f"{moment.day} {moment:%b %Y}"


def month_name(month: str) -> str:
    return f"{date.fromisoformat(month + '-01'):%B %Y}"


def calendar(app: Scorecard, agency: str, name: str, user: SignedIn) -> None:
    zone = app.plan.zone
    now = utc_now()
    with read_model(app) as connection:
        plan = load_plan(connection)
        months = months_owed(plan, agency, now.astimezone(zone).date())
        if plan.returns is None or not months:
            st.info(f"The plan does not list monthly returns for {name}.")
            return
        sent = latest_month_sent(connection, agency)
        latest = sent if sent in months else months[min(1, len(months) - 1)]
        month = st.selectbox("Month", months, index=months.index(latest),
                             format_func=month_name, key=f"calendar_month:{agency}",
                             help="Any month from the first the plan lists for the "
                                  "agency to this one.")
        shown = months[months.index(month):months.index(month) + 12]
        overview = [r for m in shown for r in returns_calendar(connection, plan, m, now)
                    if r["agency"] == agency]
        by_type = returns_by_type(connection, plan, agency, month, now)
    this = next((r for r in overview if r["month"] == month), None)
    if this is None:
        st.info(f"{name} owes no return for {month_name(month)}.")
        return
    arrived = f", first arrived {day(_instant(this['arrived']), zone)}" \
        if this["arrived"] else ""
    st.markdown(f"**{month_name(month)}:** {this['status']}{arrived}. "
                f"Deadline {day(_instant(this['deadline']), zone)}.")
    st.html(simple_table(
        f"{name}: events for {month_name(month)} by type",
        ["Type", "Expected", "Events received", "Of which after the deadline", "Status"],
        [[r["type"], "yes" if r["expected"] else "no", f"{r['events']:,}", f"{r['late']:,}",
          "none sent (the month is approved)" if this["approved"] and not r["events"]
          else r["status"]] for r in by_type],
        numeric=["Events received", "Of which after the deadline"]))
    if this["approved"]:
        st.success(f"Approved by {as_text(this['approved_by'] or '')} on "
                   f"{day(_instant(this['approved']), zone)}: {name} confirmed the return "
                   f"for {month_name(month)} is complete.")
    else:
        st.markdown(f"The return for {month_name(month)} is **not approved**.")
    if user.role == "agency" and user.agency == agency and not this["approved"]:
        confirm = st.checkbox(f"I confirm {name}'s return for {month_name(month)} is "
                              "complete (nothing further to send; none is a nil return)",
                              key=f"approve_confirm:{month}")
        if st.button(f"Approve the return for {month_name(month)}", key="approve_return",
                     disabled=not confirm):
            found = app.agency(agency)
            key = found.current_key() if found else None
            try:
                app.approve_return(agency, month, key or "", by=user.username, at=utc_now())
            except CommandError as error:
                st.error(as_text(str(error)))
            else:
                st.rerun()
    st.html(simple_table(
        f"{name}: returns for the 12 months to {month_name(month)}",
        ["Month", "Deadline", "Status", "First arrived", "Events", "Approved"],
        [[month_name(r["month"]), day(_instant(r["deadline"]), zone), r["status"],
          day(_instant(r["arrived"]), zone), f"{r['events']:,}",
          (f"{day(_instant(r['approved']), zone)} by {r['approved_by']}"
           if r["approved"] else "not approved")] for r in overview], numeric=["Events"]))


def _instant(text: str | None) -> datetime | None:
    return datetime.fromisoformat(text.replace("Z", "+00:00")) if text else None


def exception_notes(app: Scorecard, agency: str, user: SignedIn) -> None:
    """Notes owed for the latest month: the scorecard live, on the day the board's live
    view shows (today, or the plan's last day once it has ended)."""
    today = live_day(app.plan, utc_now().astimezone(app.plan.zone).date())
    # The lead agency sees which of its own measures owe a note (their RAG as counted).
    report = counted_report(today, utc_now(), app.plan.starts)
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
        with read_model(app) as connection:
            codes = agency_codes(connection)
        if not codes:
            st.info("No agency is registered yet.")
            return
        agency = st.selectbox("Agency", codes, key="agency_choice")
    found = app.agency(agency)
    name = found.name if found is not None else agency
    st.title(f"Returns for {name}")
    st.caption("Upload your agency's events, check them before they count, and correct "
               "anything rejected.")
    tab_upload, tab_rejected, tab_calendar, tab_notes = st.tabs(
        ["Upload a return", "Rejected events", "Returns calendar", "Exception notes"])
    with tab_upload:
        upload(app, agency, user)
    with tab_rejected:
        rejected(app, agency, user)
    with tab_calendar:
        calendar(app, agency, name, user)
    with tab_notes:
        exception_notes(app, agency, user)
