"""The scorecard page: the plan's measures and actions for a chosen date, as known then.

Run with ``scorecard ui`` (or ``make demo``). It reads the home named by
``SCORECARD_HOME``, bringing the read model up to date before each view.
"""

from __future__ import annotations

from datetime import date, datetime
from zoneinfo import ZoneInfo

import pandas as pd
import streamlit as st

from domain.timekeeping import end_of_day, iso_utc, utc_now
from projections.report import Report, build_report
from scorecard.bootstrap import Home
from scorecard_ui.suppression import shown

LIVE_REFRESH = 1.0  # seconds
RAG_LABELS = {"green": "● Green", "amber": "▲ Amber", "red": "✖ Red"}
STATUS_LABELS = {
    "complete": "✔ complete", "on_track": "● on track", "at_risk": "▲ at risk",
    "off_track": "✖ off track", "not_started": "○ not started",
}


def load_report(as_at: date, known_at: datetime, from_day: date) -> Report:
    home = Home.from_environment()
    with home.readmodel() as connection:
        return build_report(connection, as_at=as_at, known_at=known_at, from_day=from_day)


TODAY_CHOICE = "Today (everything known now)"


def meeting_choices(meetings: list[tuple[date, str]], today: date) -> dict[str, date]:
    """Replay shortcuts: each scrutiny meeting of the plan (latest first), then today."""
    choices = {f"{day:%d %b %Y}: {title}": day for day, title in sorted(meetings, reverse=True)
               if day <= today}
    choices[TODAY_CHOICE] = today
    return choices


def main() -> None:
    st.set_page_config(page_title="Partnership scorecard", layout="wide")
    app = Home.from_environment().open()
    plan = app.plan
    today = utc_now().astimezone(plan.zone).date()
    st.title(plan.title)
    st.caption(f"{plan.partnership} · plan runs {plan.starts:%d %b %Y} to {plan.ends:%d %b %Y}")

    choices = meeting_choices([(m.date, m.title) for m in plan.meetings], today)
    with st.sidebar:
        st.header("Which scorecard?")
        meeting = st.selectbox("Replay a meeting", list(choices), key="meeting",
                               help="Shows the scorecard as the partnership knew it that day.")
        day = choices[meeting]
        # Without explicit bounds Streamlit allows only ten years either side of the value.
        earliest, latest = date(plan.starts.year - 5, 1, 1), max(today, plan.ends)
        # Keyed by meeting: choosing another meeting starts both dates afresh on its day.
        as_at = st.date_input("Scorecard as at (end of day)", value=day,
                              key=f"as_at:{meeting}",
                              min_value=earliest, max_value=latest)
        from_day = st.date_input("Count events from", value=plan.starts, key="from_day",
                                 min_value=earliest, max_value=latest)
        known_day = st.date_input("As known at the end of", value=day,
                                  key=f"known_day:{meeting}",
                                  min_value=earliest, max_value=latest,
                                  help="Replay what the partnership knew on that day: returns "
                                       "and corrections that arrived later are left out.")
        suppress = st.toggle("Suppress small numbers (1–4 as <5)", value=False, key="suppress",
                             help="Use for any view shared beyond the board.")
    live = known_day >= today
    # Live view: re-read every second while agencies push; a replay is fixed.
    scorecard = st.fragment(run_every=LIVE_REFRESH if live else None)(show_scorecard)
    scorecard(plan.zone, as_at, from_day, known_day, live, suppress)


def show_scorecard(zone: ZoneInfo, as_at: date, from_day: date, known_day: date, live: bool,
                   suppress: bool) -> None:
    known_at = utc_now() if live else end_of_day(known_day, zone)
    report = load_report(as_at, known_at, from_day)
    st.subheader(f"Events from {from_day:%d %b %Y} to {as_at:%d %b %Y}")
    if not live:
        st.info(f"Replayed as known at the end of {known_day:%d %B %Y}: returns and "
                "corrections that arrived later are not counted.")
    st.caption(f"As known at {iso_utc(known_at)} · rules in force then · "
               "p: provisional (a return not yet approved) · r: revised since the board "
               "accepted the month")

    rows = [
        {"Measure": m.title,
         "Value": shown(m.value, suppress=suppress, unit=m.unit)
         + (f" {m.marker}" if m.marker else ""),
         "Target": "" if m.target is None else shown(m.target, suppress=False, unit=m.unit),
         "RAG": RAG_LABELS.get(m.rag or "", ""),
         "Trend": m.trend,
         "By agency": ", ".join(f"{code}: {shown(v, suppress=suppress, unit=m.unit)}"
                                for code, v in m.by_agency.items())}
        for m in report.measures
    ]
    st.dataframe(pd.DataFrame(rows), hide_index=True, width="stretch",
                 height=_rows_height(len(rows)))

    st.subheader("Delivery-plan actions")
    actions = [
        {"Action": a.code, "Status": STATUS_LABELS.get(a.status, a.status), "Lead": a.lead,
         "Due": a.due.isoformat(), "Reported": a.reported_at or "", "Title": a.title}
        for a in report.actions
    ]
    st.dataframe(pd.DataFrame(actions), hide_index=True, width="stretch",
                 height=_rows_height(len(actions)))


def _rows_height(rows: int) -> int:
    """Tall enough to show every row without an inner scroll bar."""
    return 38 + 35 * rows


main()
