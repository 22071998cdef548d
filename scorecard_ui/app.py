"""The scorecard page: the plan's measures and actions for a chosen date, as known then.

Run with ``scorecard ui`` (or ``make demo``). It reads the home named by
``SCORECARD_HOME``, bringing the read model up to date before each view.
"""

from __future__ import annotations

from datetime import date, datetime

import pandas as pd
import streamlit as st

from domain.timekeeping import end_of_day, iso_utc, utc_now
from projections.report import Report, build_report
from scorecard.bootstrap import Home
from scorecard_ui.suppression import shown

STATUS_LABELS = {
    "complete": "✔ complete", "on_track": "● on track", "at_risk": "▲ at risk",
    "off_track": "✖ off track", "not_started": "○ not started",
}


def load_report(as_at: date, known_at: datetime, from_day: date) -> Report:
    home = Home.from_environment()
    with home.readmodel() as connection:
        return build_report(connection, as_at=as_at, known_at=known_at, from_day=from_day)


def default_as_at(meetings: list[date], today: date) -> date:
    """The latest scrutiny meeting in the plan, or today when the plan lists none."""
    past = [m for m in meetings if m <= today]
    return max(past) if past else today


def main() -> None:
    st.set_page_config(page_title="Partnership scorecard", layout="wide")
    app = Home.from_environment().open()
    plan = app.plan
    today = utc_now().astimezone(plan.zone).date()
    st.title(plan.title)
    st.caption(f"{plan.partnership} · plan runs {plan.starts:%d %b %Y} to {plan.ends:%d %b %Y}")

    with st.sidebar:
        st.header("Which scorecard?")
        as_at = st.date_input("Scorecard as at (end of day)",
                              value=default_as_at([m.date for m in plan.meetings], today),
                              key="as_at")
        from_day = st.date_input("Count events from", value=plan.starts, key="from_day")
        known_day = st.date_input("As known at the end of", value=today, key="known_day",
                                  help="Replay what the partnership knew on that day: returns "
                                       "and corrections that arrived later are left out.")
        suppress = st.toggle("Suppress small numbers (1–4 as <5)", value=False, key="suppress",
                             help="Use for any view shared beyond the board.")
    known_at = utc_now() if known_day >= today else end_of_day(known_day, plan.zone)
    report = load_report(as_at, known_at, from_day)
    st.subheader(f"Events from {from_day:%d %b %Y} to {as_at:%d %b %Y}")
    st.caption(f"As known at {iso_utc(known_at)}")

    rows = [
        {"Measure": m.title, "Value": shown(m.value, suppress=suppress),
         "By agency": ", ".join(f"{code}: {shown(v, suppress=suppress)}"
                                for code, v in m.by_agency.items())}
        for m in report.measures
    ]
    st.dataframe(pd.DataFrame(rows), hide_index=True, use_container_width=True)

    st.subheader("Delivery-plan actions")
    actions = [
        {"Action": a.code, "Status": STATUS_LABELS.get(a.status, a.status), "Lead": a.lead,
         "Due": a.due.isoformat(), "Reported": a.reported_at or "", "Title": a.title}
        for a in report.actions
    ]
    st.dataframe(pd.DataFrame(actions), hide_index=True, use_container_width=True)


main()
