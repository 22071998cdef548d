"""The board's scorecard: first the answer (how many measures are red, amber, green),
then the plan's priorities → objectives → measures as one real HTML table with rolled-up
statuses (``overview.py``), each measure linking to its own page with the same dates,
then the plan's actions with overdue ones first. Live while showing today; a plan that
has ended opens on its last meeting (``view_state.py``). The exports are the board's.

Every cell is drawn from the report as its reader may see it: the board's own
``Report.to_json()``, or what ``projections.disclosure`` lets through for anyone else,
never from the counted report itself."""

from __future__ import annotations

import json
from datetime import date, datetime
from typing import Any

import streamlit as st

from domain.plan import Plan
from domain.timekeeping import utc_now
from projections import symbols
from scorecard.rendering import report_csv
from scorecard_ui.disclosure_note import outside_board_note
from scorecard_ui.errors import guarded
from scorecard_ui.exceptions_view import show_exceptions
from scorecard_ui.formatting import uk_date, uk_time
from scorecard_ui.html_table import Column, HtmlTable, Markup
from scorecard_ui.measure_text import metadata_text
from scorecard_ui.outliers_view import reviewer_section
from scorecard_ui.overview import legend_html, overview_table, summary_html
from scorecard_ui.session import (
    counted_report,
    current_plan,
    current_user,
    directory,
    load_report,
    per_request,
    still_signed_in,
    writer,
)
from scorecard_ui.style import status_tag, tag
from scorecard_ui.view_state import ViewDates, page_link, replay_controls

LIVE_REFRESH = 1.0  # seconds
ACTION_STATUS = {
    "complete": ("sc-tag-blue", "✔ Complete"), "on_track": ("sc-tag-green", "● On track"),
    "at_risk": ("sc-tag-amber", "▲ At risk"), "off_track": ("sc-tag-red", "✖ Off track"),
    "not_started": ("sc-tag-grey", "○ Not started"),
}


def actions_table(document: dict[str, Any], plan: Plan) -> HtmlTable:
    """The plan's actions, overdue ones first: a due date passed and not complete."""
    as_at = date.fromisoformat(document["as_at"])
    names = {a.code: a.name for a in plan.agencies}
    table = HtmlTable("Delivery-plan actions, overdue first", [
        Column("Action", "6%"), Column("Status", "9rem"), Column("Due", "8rem"),
        Column("Lead", "16%"), Column("Last reported", "8rem"), Column("What", "")])
    rows = []
    for a in document["actions"]:
        overdue = date.fromisoformat(a["due"]) < as_at and a["status"] != "complete"
        css, words = ACTION_STATUS.get(a["status"], ("sc-tag-grey", a["status"]))
        status = tag(css, words) + (" " + status_tag("red", "Overdue") if overdue else "")
        rows.append(((not overdue, a["code"]), [
            a["code"], Markup(status), uk_date(a["due"]), names.get(a["lead"], a["lead"]),
            uk_date(a["reported_at"]) if a["reported_at"] else "not yet",
            a["title"]]))
    for _, cells in sorted(rows, key=lambda r: r[0]):
        table.row(cells)
    return table


def measure_link(view: ViewDates) -> Any:
    return lambda m: page_link("measure", view, measure=m["id"])


def show(plan: Plan, view: ViewDates, suppress: bool) -> None:
    if not still_signed_in(directory(), utc_now()):
        st.session_state.pop("user", None)
        st.rerun(scope="app")  # the whole page again: it shows the sign-in
    report = load_report(view.as_at, view.known_day, view.from_day, plan.zone,
                         live=view.live, shown_to="scrutiny" if suppress else "board")
    when = (f"live: everything known at {uk_time(report['known_at'], plan.zone)}"
            if view.live else f"as known at the end of {uk_date(view.known_day)}")
    st.subheader(f"Scorecard as at {uk_date(view.as_at)}")
    st.html(summary_html(report))
    st.caption(f"Counting events from {uk_date(view.from_day)} · {when} · targets profiled "
               "to the as-at day · trend over complete months only")
    if suppress:
        outside_board_note(plan, view.as_at, view.from_day)
    if not view.live:
        st.info(f"Replay: the scorecard as the partnership knew it at the end of "
                f"{uk_date(view.known_day)}. Returns and corrections that arrived later "
                "are not counted.", icon=":material/history:")
    if view.from_day > view.as_at:
        st.warning(f"Nothing is counted: the window starts on {uk_date(view.from_day)}, "
                   f"after the scorecard day {uk_date(view.as_at)}. Move 'Count events "
                   "from' earlier.", icon=":material/warning:")
    st.html(legend_html(report))
    table = overview_table(
        report, plan, link=measure_link(view), board=not suppress,
        evidence=None if suppress else lambda m: page_link("evidence", view, measure=m["id"]))
    st.html(table.to_html())
    st.caption("Symbols: " + symbols.legend_text())
    if report.get("backfilled"):
        st.caption(backfill_note(report["backfilled"], plan, board=not suppress))
    with st.expander("About each measure: what is counted, targets and methods"):
        for m in report["measures"]:
            st.markdown(f"**{m['title']}**\n\n{metadata_text(m)}")
    if not suppress:  # the exports and notes carry figures as counted: the board's alone
        counted = counted_report(view.as_at, datetime.fromisoformat(report["known_at"]),
                                 view.from_day)
        name = f"scorecard-{view.as_at.isoformat()}-known-{view.known_day.isoformat()}"
        left, right = st.columns(2)
        left.download_button("Download the scorecard (CSV)", report_csv(counted),
                             file_name=f"{name}.csv", mime="text/csv", key="board_csv")
        right.download_button("Download the scorecard (JSON)",
                              json.dumps(report, indent=2, ensure_ascii=False),
                              file_name=f"{name}.json", mime="application/json",
                              key="board_json")
        show_exceptions(writer(), counted, current_user(), view.live)
        reviewer_section(writer(), current_user(), view.live)
    st.html(actions_table(report, plan).to_html())


def backfill_note(backfilled: dict[str, Any], plan: Plan, *, board: bool) -> str:
    """Which agencies' returns an administrator entered later, dated to when the
    partnership first knew them (the demo's history is such a backfill): they count in a
    replay, which the reader should know. Agencies by name; a count outside the board
    only where the disclosure control shows it."""
    names = {a.code: a.name for a in plan.agencies}
    parts = [names.get(code, code) + ("" if isinstance(n, str) else f" ({n:,})")
             for code, n in backfilled.items()]
    return ("Counted here too: returns an administrator entered later and dated to when "
            "the partnership first knew them (a backfill), events from "
            + ", ".join(parts) + "."
            + (" The evidence behind each figure marks them." if board else ""))


def render() -> None:
    user = current_user()
    plan = current_plan()
    today = utc_now().astimezone(plan.zone).date()
    st.title(plan.title)
    st.caption(f"{plan.partnership} · the plan runs {uk_date(plan.starts)} to "
               f"{uk_date(plan.ends)}")
    view = replay_controls(plan, today)
    suppress = user.suppress if user else True
    if user and not user.suppress:
        # Kept in the address like the dates (``&suppress=1``), so a reload or a sent link
        # keeps the version being looked at.
        if "suppress" not in st.session_state:
            st.session_state["suppress"] = st.query_params.get("suppress") == "1"
        suppress = st.sidebar.toggle("Suppress small numbers (as scrutiny sees them)",
                                     key="suppress",
                                     help="For any view shared beyond the board.")
        if suppress:
            st.query_params["suppress"] = "1"
        elif "suppress" in st.query_params:
            del st.query_params["suppress"]
    # Live view: re-read every second while agencies push; a replay is fixed.
    fragment = st.fragment(run_every=LIVE_REFRESH if view.live else None)(
        guarded(per_request(show)))
    fragment(plan, view, suppress)
