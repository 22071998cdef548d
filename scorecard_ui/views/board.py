"""The board's scorecard: priorities, objectives and measures with target, RAG, trend and
markers, and the plan's actions with overdue ones first. Live while showing today."""

from __future__ import annotations

from datetime import date
from zoneinfo import ZoneInfo

import pandas as pd
import streamlit as st

from domain.plan import Plan
from domain.timekeeping import iso_utc, utc_now
from projections.report import Report
from scorecard_ui.errors import guarded
from scorecard_ui.session import application, current_user, load_report, still_signed_in
from scorecard_ui.suppression import shown, shown_split

LIVE_REFRESH = 1.0  # seconds
RAG_LABELS = {"green": "● Green", "amber": "▲ Amber", "red": "✖ Red"}
STATUS_LABELS = {
    "complete": "✔ complete", "on_track": "● on track", "at_risk": "▲ at risk",
    "off_track": "✖ off track", "not_started": "○ not started",
}
TODAY_CHOICE = "Today (everything known now)"


def meeting_choices(meetings: list[tuple[date, str]], today: date) -> dict[str, date]:
    """Replay shortcuts: each scrutiny meeting of the plan (latest first), then today."""
    choices = {f"{day:%d %b %Y}: {title}": day for day, title in sorted(meetings, reverse=True)
               if day <= today}
    choices[TODAY_CHOICE] = today
    return choices


def date_controls(plan: Plan, today: date, prefix: str = "") -> tuple[date, date, date]:
    """Sidebar: a meeting shortcut, then the scorecard date, window start and knowledge day."""
    choices = meeting_choices([(m.date, m.title) for m in plan.meetings], today)
    meeting = st.sidebar.selectbox("Replay a meeting", list(choices), key=f"{prefix}meeting",
                                   help="Shows the scorecard as the partnership knew it then.")
    day = choices[meeting]
    earliest, latest = date(plan.starts.year - 5, 1, 1), max(today, plan.ends)
    # Keyed by meeting: choosing another meeting starts both dates afresh on its day.
    as_at = st.sidebar.date_input("Scorecard as at (end of day)", value=day,
                                  key=f"{prefix}as_at:{meeting}", min_value=earliest,
                                  max_value=latest)
    from_day = st.sidebar.date_input("Count events from", value=plan.starts,
                                     key=f"{prefix}from_day", min_value=earliest,
                                     max_value=latest)
    known_day = st.sidebar.date_input(
        "As known at the end of", value=day, key=f"{prefix}known_day:{meeting}",
        min_value=earliest, max_value=latest,
        help="Replay what the partnership knew that day: later returns and corrections "
             "are left out.")
    return as_at, from_day, known_day


def measure_rows(report: Report, plan: Plan, suppress: bool) -> pd.DataFrame:
    objectives = {o.code: (p.title, o.title) for p in plan.priorities for o in p.objectives}
    rows = []
    for m in report.measures:
        priority, objective = objectives.get(m.objective or "", ("Standard measures", ""))
        total, parts = shown_split(m.value, m.by_agency, suppress=suppress, unit=m.unit)
        rows.append({
            "Priority": priority,
            "Objective": f"{m.objective} {objective}".strip() if m.objective else "",
            "Measure": m.title, "Value": total + (f" {m.marker}" if m.marker else ""),
            "Target": "" if m.target is None else shown(m.target, suppress=False, unit=m.unit),
            "RAG": RAG_LABELS.get(m.rag or "", ""), "Trend": m.trend,
            "Last return": f"{m.last_return:%d %b %Y}" if m.last_return else "",
            "Last 6 months": [v or 0 for _, v in m.trend_values],
            "By agency": ", ".join(f"{code}: {cell}" for code, cell in parts.items()),
        })
    return pd.DataFrame(rows)


def action_rows(report: Report) -> pd.DataFrame:
    rows = []
    for a in report.actions:
        overdue = a.due < report.as_at and a.status != "complete"
        rows.append({"": "⚠ overdue" if overdue else "", "Action": a.code,
                     "Status": STATUS_LABELS.get(a.status, a.status), "Lead": a.lead,
                     "Due": a.due.isoformat(), "Reported": a.reported_at or "",
                     "Title": a.title, "_order": (not overdue, a.code)})
    rows.sort(key=lambda r: r["_order"])
    return pd.DataFrame([{k: v for k, v in r.items() if k != "_order"} for r in rows])


def rows_height(rows: int) -> int:
    """Tall enough to show every row without an inner scroll bar."""
    return 38 + 35 * rows


def show(zone: ZoneInfo, plan: Plan, as_at: date, from_day: date, known_day: date,
         live: bool, suppress: bool) -> None:
    if not still_signed_in(application(), utc_now()):
        st.session_state.pop("user", None)
        st.rerun(scope="app")  # the whole page again: it shows the sign-in
    report = load_report(as_at, known_day, from_day, zone, live=live)
    st.subheader(f"Events from {from_day:%d %b %Y} to {as_at:%d %b %Y}")
    if not live:
        st.info(f"Replayed as known at the end of {known_day:%d %B %Y}: returns and "
                "corrections that arrived later are not counted.")
    st.caption(f"As known at {iso_utc(report.known_at)} · rules in force then · "
               "p: provisional (a return not yet approved) · r: revised since the board "
               "accepted the month · <5 and *: suppressed small numbers")
    if report.backfilled:
        st.warning("Includes events an administrator backfilled (recorded after the time "
                   "shown, with an earlier knowledge time): " + ", ".join(
                       f"{code} {n}" for code, n in report.backfilled.items())
                   + ". `scorecard audit` says who and when.", icon="🕓")
    measures = measure_rows(report, plan, suppress)
    st.dataframe(measures, hide_index=True, width="stretch", height=rows_height(len(measures)),
                 column_config={"Last 6 months": st.column_config.LineChartColumn(
                     "Last 6 months", help="Monthly values, oldest first")})
    st.subheader("Delivery-plan actions")
    actions = action_rows(report)
    st.dataframe(actions, hide_index=True, width="stretch", height=rows_height(len(actions)))


def render() -> None:
    user = current_user()
    app = application()
    plan = app.plan
    today = utc_now().astimezone(plan.zone).date()
    st.title(plan.title)
    st.caption(f"{plan.partnership} · plan runs {plan.starts:%d %b %Y} to {plan.ends:%d %b %Y}"
               " · the board's scorecard: what the plan's measures and actions show")
    as_at, from_day, known_day = date_controls(plan, today)
    suppress = user.suppress if user else True
    if user and not user.suppress:
        suppress = st.sidebar.toggle("Suppress small numbers (1–4 as <5)", value=False,
                                     key="suppress", help="For any view shared beyond the board.")
    live = known_day >= today
    # Live view: re-read every second while agencies push; a replay is fixed.
    fragment = st.fragment(run_every=LIVE_REFRESH if live else None)(guarded(show))
    fragment(plan.zone, plan, as_at, from_day, known_day, live, suppress)
