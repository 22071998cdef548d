"""The view's state lives in the URL, so a view can be bookmarked, reloaded or sent:
``?meeting=2015-12-16&as_at=2015-12-16&from=2015-04-01&known=2015-12-16`` (and
``&measure=...`` on a measure's page). The widgets are bound to those query parameters
when the address is new to the session (a link opened, a reload) the widgets take their
values from it, and every rerun writes the view back into the address bar.

The default view: a plan still running opens live (today, everything known now); a plan
that has ended opens on its last meeting, as the board knew it that day, because "today"
on a finished plan would judge it against a period it no longer covers.

The meeting is a shortcut that sets the dates; once the dates say something else (typed
in, or a link's ``as_at`` and ``known``) it reads "Dates chosen below", so the sidebar
never names a meeting the page is not showing."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any
from urllib.parse import urlencode

import streamlit as st

from domain.plan import Plan
from domain.text import visible
from scorecard_ui.formatting import DATE_INPUT_FORMAT, uk_date
from scorecard_ui.text import as_text

LIVE = "live"
TODAY_CHOICE = "Today: everything known now (live)"
OWN_DATES = "dates"
UNKNOWN_MEETING = "_unknown_meeting"  # a link's meeting that is not one of the plan's
OWN_DATES_CHOICE = "Dates chosen below"
MEETING, AS_AT, FROM, KNOWN = "meeting", "as_at", "from", "known"


@dataclass(frozen=True)
class ViewDates:
    """The dates a view is drawn for: the scorecard day, the first day counted, the day
    whose end is the knowledge time, and whether that is now (a live view)."""

    as_at: date
    from_day: date
    known_day: date
    live: bool
    meeting: str

    def query(self) -> dict[str, str]:
        """The query parameters that reopen this view."""
        return {MEETING: self.meeting, AS_AT: self.as_at.isoformat(),
                FROM: self.from_day.isoformat(), KNOWN: self.known_day.isoformat()}


def live_day(plan: Plan, today: date) -> date:
    """The scorecard day of a live view: today, or the plan's last day once it has ended
    (a plan is not judged on days it does not cover)."""
    return min(today, plan.ends)


def meeting_options(plan: Plan, today: date) -> dict[str, str]:
    """Meetings held so far, latest first, then the live view: option → label."""
    held = sorted((m for m in plan.meetings if m.date <= today), key=lambda m: m.date,
                  reverse=True)
    options = {m.date.isoformat(): f"{uk_date(m.date)}: {m.title}" for m in held}
    options[LIVE] = TODAY_CHOICE
    options[OWN_DATES] = OWN_DATES_CHOICE
    return options


def default_meeting(plan: Plan, today: date) -> str:
    """Live while the plan runs; its last meeting once it has ended."""
    held = [m.date for m in plan.meetings if m.date <= today]
    return max(held).isoformat() if plan.ends < today and held else LIVE


def meeting_day(plan: Plan, today: date, meeting: str) -> date:
    return live_day(plan, today) if meeting == LIVE else date.fromisoformat(meeting)


def meeting_of(plan: Plan, today: date, meeting: str, as_at: date, known: date) -> str:
    """``meeting`` if the dates are that meeting's (its day, as known at its end; or the
    live view's), else the own-dates choice."""
    if meeting == OWN_DATES:
        return meeting
    day = meeting_day(plan, today, meeting)
    if meeting == LIVE:
        return meeting if as_at == day and known >= today else OWN_DATES
    return meeting if as_at == day and known == day else OWN_DATES


def default_day(plan: Plan, today: date) -> date:
    """The day a view opens on when its address names none: the default meeting's."""
    return meeting_day(plan, today, default_meeting(plan, today))


def _meeting_changed(plan: Plan, today: date) -> None:
    """A new meeting starts the scorecard and knowledge days afresh on its day."""
    meeting = st.session_state[MEETING]
    if meeting == OWN_DATES:
        return  # the dates stay as they are, to be chosen below
    day = meeting_day(plan, today, meeting)
    st.session_state[AS_AT] = day
    st.session_state[KNOWN] = today if meeting == LIVE else day


def _dates_changed(plan: Plan, today: date) -> None:
    """Dates typed that are no longer the chosen meeting's make it "Dates chosen below"."""
    st.session_state[MEETING] = meeting_of(plan, today, st.session_state[MEETING],
                                           st.session_state[AS_AT], st.session_state[KNOWN])


def _day(text: str | None, earliest: date, latest: date) -> date | None:
    try:
        day = date.fromisoformat(text or "")
    except ValueError:
        return None
    return day if earliest <= day <= latest else None


def _adopt_address(plan: Plan, today: date, options: dict[str, str], earliest: date,
                   latest: date) -> None:
    """Set the widgets from the address when it is new to this session (a link opened,
    a reload, back or forward), before they are drawn; a parameter that is not a
    meeting or a date in range is ignored and the default used."""
    address = tuple(sorted((k, st.query_params.get(k, "")) for k in (MEETING, AS_AT, FROM,
                                                                      KNOWN)))
    if st.session_state.get("_view_address") == address:
        return
    given = dict(address)
    if given[MEETING] and given[MEETING] not in options:  # a link to no meeting of the plan
        st.session_state[UNKNOWN_MEETING] = given[MEETING]
    meeting = given[MEETING] if given[MEETING] in options else default_meeting(plan, today)
    day = default_day(plan, today) if meeting == OWN_DATES else meeting_day(plan, today,
                                                                             meeting)
    as_at = _day(given[AS_AT], earliest, latest) or day
    known = _day(given[KNOWN], earliest, latest) or (today if meeting == LIVE else day)
    st.session_state[MEETING] = meeting_of(plan, today, meeting, as_at, known)
    st.session_state[AS_AT] = as_at
    st.session_state[FROM] = _day(given[FROM], earliest, latest) or plan.starts
    st.session_state[KNOWN] = known


def _publish_address(view: ViewDates) -> None:
    """Write the view into the address bar (no reload), and remember it as adopted."""
    query = view.query()
    for key, value in query.items():
        if st.query_params.get(key) != value:
            st.query_params[key] = value
    st.session_state["_view_address"] = tuple(sorted(query.items()))


def replay_controls(plan: Plan, today: date, container: Any = None) -> ViewDates:
    """The sidebar's meeting shortcut and three dates, kept in the address."""
    where = container if container is not None else st.sidebar
    options = meeting_options(plan, today)
    earliest, latest = date(plan.starts.year - 5, 1, 1), max(today, plan.ends)
    _adopt_address(plan, today, options, earliest, latest)
    unknown = st.session_state.pop(UNKNOWN_MEETING, None)
    if unknown is not None:  # said once, where the view is drawn, never silently replaced
        st.warning(f"The link named a meeting this plan does not have "
                   f"({as_text(visible(str(unknown), 40))}): showing "
                   f"{options[default_meeting(plan, today)]} instead.",
                   icon=":material/link_off:")
    meeting = where.selectbox(
        "Replay a meeting", list(options), format_func=options.__getitem__, key=MEETING,
        on_change=_meeting_changed, args=(plan, today),
        help="Shows the scorecard as the partnership knew it at the end of that day.")
    bounds: dict[str, Any] = {"min_value": earliest, "max_value": latest,
                              "format": DATE_INPUT_FORMAT}
    changed: dict[str, Any] = {"on_change": _dates_changed, "args": (plan, today)}
    as_at = where.date_input("Scorecard as at (end of day)", key=AS_AT,
                             help="Type a date as dd/mm/yyyy.", **bounds, **changed)
    from_day = where.date_input("Count events from", key=FROM,
                                help="The first day counted (the plan's first by "
                                     "default).", **bounds)
    known_day = where.date_input(
        "As known at the end of", key=KNOWN,
        help="Replay what the partnership knew that day: later returns and corrections "
             "are left out.", **bounds, **changed)
    view = ViewDates(as_at=as_at, from_day=from_day, known_day=known_day,
                     live=known_day >= today, meeting=meeting)
    _publish_address(view)
    return view


def page_link(path: str, view: ViewDates, **extra: str) -> str:
    """A relative link to another page of this server with the same dates."""
    return f"{path}?{urlencode({**view.query(), **extra})}"
