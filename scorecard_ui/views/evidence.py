"""The evidence behind a figure (board and administrators only): the events a measure's
figure counts as at a day, as known at a time, and each signature checked again.

Reached from the board's scorecard (the Evidence link of a measure's exception note, or
the URL ``/evidence?measure=ID&as_at=YYYY-MM-DD&known=YYYY-MM-DD``). Case references
are shown to the board only, never to an administrator or beyond.
"""

from __future__ import annotations

from datetime import date

import streamlit as st

from domain.timekeeping import end_of_day, utc_now
from projections.evidence import EARLIEST, check_signature, evidence
from projections.report import scorecard_measures
from scorecard_ui.formatting import uk_date, uk_time
from scorecard_ui.html_table import Column, HtmlTable
from scorecard_ui.session import current_plan, current_user, read_model, writer
from scorecard_ui.view_state import default_day

MAX_CHECKED = 2000  # signatures checked again in one click
PAGE_SIZE = 200  # events in the table at once: a real table, read by screen readers
ROLES = ("board", "administrator")  # who may see the events behind a figure


def page() -> st.Page:
    """The page, for the navigation and for links to it (a page is known by its path)."""
    return st.Page(render, title="Evidence behind a figure", url_path="evidence",
                   icon=":material/fact_check:")


def _day(name: str, default: date) -> date:
    try:
        return date.fromisoformat(st.query_params.get(name, ""))
    except ValueError:
        return default


def render() -> None:
    user = current_user()
    app = writer()  # None in a read page process: it holds no agency keys
    plan = current_plan()
    today = utc_now().astimezone(plan.zone).date()
    st.title("Evidence behind a figure")
    st.caption("The signed events a measure's figure counts, as they were known at a time: "
               "who sent each, when it happened and when it became known, and whether it "
               "was a backfill or a correction.")
    measures = {m.id: m for m in scorecard_measures(plan)}
    wanted = st.query_params.get("measure", "")
    ids = list(measures)
    measure_id = st.selectbox("Measure", ids, index=ids.index(wanted) if wanted in ids else 0,
                              format_func=lambda i: f"{measures[i].title} ({i})",
                              key="evidence_measure")
    left, right = st.columns(2)
    opening = default_day(plan, today)  # an ended plan's last meeting, not today
    as_at = left.date_input("Figure as at", value=_day("as_at", opening),
                            key="evidence_as_at", format="DD/MM/YYYY")
    known_day = right.date_input("As known at the end of", value=_day("known", opening),
                                 key="evidence_known", format="DD/MM/YYYY")
    known_at = utc_now() if known_day >= today else end_of_day(known_day, plan.zone)
    with read_model() as connection:
        found = evidence(connection, measure_id, as_at=as_at, known_at=known_at)
    with_cases = user is not None and user.role == "board"
    since = (f"from {uk_date(found.window[0])} " if found.window[0] != EARLIEST
             else "")
    st.subheader(f"{len(found.events)} events {since}to {uk_date(found.window[1])}")
    st.caption(f"Counted: {found.measure.counted()}. Known at {uk_time(known_at)} UTC.")
    shown_ids = {e.submission_id for e in found.events}
    checked = {i: c for i, c in st.session_state.get("evidence_checks", {}).items()
               if i in shown_ids}  # checks of another figure's events are not this one's
    if app is None:
        st.caption("Signatures are checked against the agencies' keys, which this page "
                   "process does not hold: `scorecard evidence --verify`, or the "
                   "administration pages' process.")
    elif st.button("Check the signatures again", key="evidence_verify"):
        checked = {e.submission_id: check_signature(app, e.submission_id)
                   for e in found.events[:MAX_CHECKED]}
        st.session_state["evidence_checks"] = checked
    if checked:
        failed = sum(c.status == "fails" for c in checked.values())
        (st.error if failed else st.success)(
            f"{len(checked) - failed} of {len(checked)} signatures verify against the key "
            "valid when each event arrived." + (f" {failed} fail." if failed else ""))
    pages = max(1, -(-len(found.events) // PAGE_SIZE))
    page = 1
    if pages > 1:
        page = int(st.number_input(f"Page (of {pages:,}; {PAGE_SIZE} events a page)",
                                   min_value=1, max_value=pages, value=1, step=1,
                                   key="evidence_page"))
    first = (page - 1) * PAGE_SIZE
    shown = found.events[first:first + PAGE_SIZE]
    # widths add up to 100% with every column (fewer columns share it out)
    columns = [Column("Event", "14%"), Column("Agency", "11%"), Column("Type", "14%"),
               Column("Occurred", "9%"), Column("Known", "13%"), Column("Arrival", "8%")]
    columns += [Column("Case", "8%")] if with_cases else []
    columns += [Column("Signature", "23%")] if checked else []
    table = HtmlTable(
        f"{found.measure.title}: events {first + 1:,} to {first + len(shown):,} of "
        f"{len(found.events):,} counted" if shown else f"{found.measure.title}: no events",
        columns)
    for e in shown:
        check = checked.get(e.submission_id)
        signature = ("" if check is None else check.detail if check.status == "verifies"
                     else f"{check.status.upper()}: {check.detail}")
        table.row([e.event_id, e.agency, e.type, uk_date(e.occurred_on), uk_time(e.known_at),
                   e.arrival, *([e.case or ""] if with_cases else []),
                   *([signature] if checked else [])])
    st.html(table.to_html())
