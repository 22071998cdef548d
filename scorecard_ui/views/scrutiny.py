"""Scrutiny: what the board knew on the day of a meeting, what we know now about the same
period, and what changed in between, with each cause's effect on the figure.

The page is drawn from one board pack (``projections.pack``): the same data the CSV and
HTML downloads are rendered from, so what is on screen, in the papers and in a pack
regenerated later with ``scorecard pack`` agree. Outside the board every figure, effect
and download comes from ``projections.disclosure``: small numbers are suppressed there.
Tables are real HTML (a screen reader reads them; nothing scrolls inside a box), and the
meeting and the first day counted are in the address, so a view can be sent."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

import streamlit as st

from domain.plan import Plan
from domain.timekeeping import end_of_day, utc_now
from projections import symbols
from projections.disclosure import reader_note
from projections.pack import build_pack, latest_known, log_position
from projections.restatements import signed
from scorecard.packs import pack_csv, pack_html, pack_name, stated_hash
from scorecard_ui.exceptions_view import notes_html
from scorecard_ui.figures import shown
from scorecard_ui.formatting import DATE_INPUT_FORMAT, uk_date, uk_time
from scorecard_ui.html_table import Column, HtmlTable, Markup, escape
from scorecard_ui.session import (
    audience,
    current_plan,
    current_user,
    home,
    read_model,
    report_cache,
)
from scorecard_ui.style import status_tag, tag
from scorecard_ui.view_state import FROM, MEETING

SEEN = "_scrutiny_address"
MEETING_KEY, FROM_KEY = "scrutiny_meeting", "scrutiny_from"


def meetings_held(plan: Plan, today: date) -> dict[str, str]:
    """The plan's meetings held so far, latest first: ISO day → "16 Dec 2015: title"."""
    held = sorted((m for m in plan.meetings if m.date <= today), key=lambda m: m.date,
                  reverse=True)
    return {m.date.isoformat(): f"{uk_date(m.date)}: {m.title}" for m in held}


def _adopt_address(plan: Plan, options: dict[str, str]) -> None:
    """Take the meeting and first day from the address when it is new to the session (a
    link opened, a reload); anything that is not a held meeting or a date is ignored."""
    address = (st.query_params.get(MEETING, ""), st.query_params.get(FROM, ""))
    if st.session_state.get(SEEN) == address:
        return
    meeting, first = address
    st.session_state[MEETING_KEY] = meeting if meeting in options else next(iter(options))
    try:
        st.session_state[FROM_KEY] = date.fromisoformat(first)
    except ValueError:
        st.session_state[FROM_KEY] = plan.starts


def _publish_address(meeting: str, from_day: date) -> None:
    for key, value in ((MEETING, meeting), (FROM, from_day.isoformat())):
        if st.query_params.get(key) != value:
            st.query_params[key] = value
    st.session_state[SEEN] = (meeting, from_day.isoformat())


def _figure(side: dict[str, Any], unit: str) -> Markup:
    markers = [m for m in side["markers"] if m != side["value"]]
    extra = f" <span class='sc-small'>{escape(' '.join(markers))}</span>" if markers else ""
    return Markup(escape(shown(side["value"], unit)) + extra)


def _rag(side: dict[str, Any]) -> Markup:
    rag = side["rag"]
    if isinstance(rag, str) and rag.startswith("["):
        return Markup(status_tag("withheld", rag))
    if rag is None:
        return Markup(status_tag("none") if side["target"] is None else "–")
    return Markup(status_tag(rag))


def _causes(measure: dict[str, Any]) -> Markup:
    if measure["causes_hidden"]:
        return escape("[c]: one side of this change is suppressed, so its causes are too")
    if not measure["sentences"]:
        return escape("no change" if measure["difference"] in (0, None) else "")
    return Markup("<ul class='sc-causes'>" + "".join(
        f"<li>{escape(s)}</li>" for s in measure["sentences"]) + "</ul>")


def comparison_table(pack: dict[str, Any], meeting: date) -> HtmlTable:
    """Every measure: then, now, the difference, targets and RAG at each, and causes."""
    table = HtmlTable(f"Scorecard as at {uk_date(meeting)}: as known at the meeting (then) "
                      "and now, and what changed it", [
                          Column("Measure", "15%"), Column("Then", "7%", numeric=True),
                          Column("Now", "7%", numeric=True),
                          Column("Difference", "10%", numeric=True),
                          Column("Target then", "6.5%", numeric=True),
                          Column("Target now", "6.5%", numeric=True),
                          Column("RAG then", "8%"), Column("RAG now", "8%"),
                          Column("What changed it, and by how much", "32%")],
                      css_class="sc-table sc-scrutiny")
    for m in pack["measures"]:
        unit = m["unit"]
        difference = m["difference"]
        table.row([m["title"], _figure(m["then"], unit), _figure(m["now"], unit),
                   signed(difference, unit) if difference is not None else "–",
                   shown(m["then"]["target"], unit), shown(m["now"]["target"], unit),
                   _rag(m["then"]), _rag(m["now"]), _causes(m)])
    return table


def actions_table(pack: dict[str, Any]) -> HtmlTable:
    table = HtmlTable("Actions whose status changed since the meeting", [
        Column("Action", "6.5rem"), Column("Title", "30%"), Column("Lead", "16%"),
        Column("Then", "11%"), Column("Now", "11%"), Column("Why", "24%")])
    for a in pack["actions"]:
        if a["then"] != a["now"]:
            table.row([a["code"], a["title"], a["lead"],
                       Markup(tag("sc-tag-grey", a["then"].replace("_", " "))),
                       Markup(tag("sc-tag-blue", a["now"].replace("_", " "))),
                       "; ".join(a["causes"])])
    return table


CSS = """
<style>
ul.sc-causes { margin: 0; padding-left: 1.1rem; }
ul.sc-causes, ul.sc-causes li { font-size: inherit; line-height: inherit; }
ul.sc-causes li { margin: 0 0 0.2rem 0; }
table.sc-scrutiny .sc-tag { white-space: normal; }
</style>
"""


@st.cache_data(max_entries=24, show_spinner="Comparing the meeting with now…")
def cached_pack(_connection: Any, home_path: str, meeting: date, known_at: datetime,
                shown_to: str, from_day: date, position: int) -> dict[str, Any]:
    """The pack for a view, kept while nothing new is known: the key holds the home, the
    view, the audience (a board pack is never served to scrutiny), the knowledge time and
    the log position it stands at."""
    del home_path, position  # part of the key only
    return build_pack(_connection, meeting=meeting, known_at=known_at, audience=shown_to,
                      from_day=from_day)


def render() -> None:
    user = current_user()
    plan = current_plan()
    st.title("Scrutiny: replay a meeting")
    st.caption("What the board knew on the day of a meeting, what we now know happened by "
               "then, and what changed in between, with each cause's effect on the figure.")
    today = utc_now().astimezone(plan.zone).date()
    options = meetings_held(plan, today)
    if not options:
        st.warning("The plan lists no meetings held yet, so there is nothing to replay.")
        return
    _adopt_address(plan, options)
    left, right = st.columns([3, 1])
    meeting_iso = left.selectbox("Meeting", list(options), format_func=options.__getitem__,
                                 key=MEETING_KEY)
    from_day = right.date_input("Count events from", key=FROM_KEY, format=DATE_INPUT_FORMAT,
                                min_value=date(plan.starts.year - 5, 1, 1),
                                max_value=max(today, plan.ends),
                                help="Type a date as dd/mm/yyyy. The plan's first day by "
                                     "default.")
    _publish_address(meeting_iso, from_day)
    meeting = date.fromisoformat(meeting_iso)
    if from_day > meeting:
        st.warning(f"Nothing to show: events are counted from {uk_date(from_day)}, after "
                   f"the meeting of {uk_date(meeting)}, so every figure would be an empty "
                   "window. Choose a day on or before the meeting in “Count events from”.")
        return
    shown_to = audience(user)
    then_at = end_of_day(meeting, plan.zone)
    with read_model() as connection:
        # "Now" is the newest event's time: the same figures as the clock's now, and a
        # knowledge time the pack can be rebuilt by (and cached by, until more arrive).
        latest = latest_known(connection)
        now_at = max(latest, then_at) if latest is not None else utc_now()
        pack = cached_pack(connection, str(home().path), meeting, now_at, shown_to,
                           from_day, log_position(connection, now_at))
        # Exception notes are the board's: they name measures' RAG and agencies' figures.
        notes = notes_html(report_cache().report(
            connection, as_at=meeting, known_at=then_at, from_day=from_day)) if (
            shown_to == "board") else ""
    st.html(CSS)
    st.markdown(
        f"**Then:** as known at the end of {uk_date(meeting)} (event log to position "
        f"{pack['log_position_at_meeting']}). **Now:** everything known, the newest event "
        f"at {uk_time(pack['known_at'], plan.zone)} (position {pack['log_position']}). "
        f"Events counted from {uk_date(from_day)}. "
        + ("Figures as counted (the board's view)." if shown_to == "board" else
           reader_note(plan, meeting, from_day)))
    st.html(comparison_table(pack, meeting).to_html())
    changed = actions_table(pack)
    if changed.empty:
        st.markdown("No action's status has changed since the meeting.")
    else:
        st.html(changed.to_html())
    if notes:
        st.html(notes)
    csv_data = pack_csv(pack).encode("utf-8")
    html_data = pack_html(pack).encode("utf-8")
    name = pack_name(pack)
    st.subheader("Download the pack")
    st.caption(f"Reproducible: `scorecard pack --meeting {meeting_iso} --from "
               f"{from_day.isoformat()} --known {pack['known_at']}"
               + (f" --for {shown_to}" if shown_to != "board" else "")
               + f"` rebuilds the same bytes. CSV SHA-256 {stated_hash(csv_data)}; HTML "
               f"SHA-256 {stated_hash(html_data)}.")
    down_left, down_right = st.columns(2)
    down_left.download_button("Download the pack as CSV", csv_data, file_name=f"{name}.csv",
                              mime="text/csv", key="pack_csv")
    down_right.download_button("Download the printable pack (HTML)", html_data,
                               file_name=f"{name}.html", mime="text/html", key="pack_html")
    st.caption("Symbols: " + symbols.legend_text() + ". RAG is shown by a shape and a word "
               "as well as colour.")
