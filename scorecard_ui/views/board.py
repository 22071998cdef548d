"""The board's scorecard: priorities, objectives and measures with target, RAG, trend and
markers, and the plan's actions with overdue ones first. Live while showing today."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any
from zoneinfo import ZoneInfo

import pandas as pd
import streamlit as st

from domain.plan import Plan
from domain.timekeeping import utc_now
from scorecard_ui.figures import shown, sparkline
from scorecard_ui.session import application, current_user, load_report

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


def _markers(measure: dict[str, Any]) -> list[str]:
    """GSS markers of a measure (p, r, [c], [x]); a symbol its value already is, once."""
    listed = measure.get("markers")
    markers = list(listed) if isinstance(listed, list) else (
        [measure["marker"]] if measure.get("marker") else [])
    return [m for m in markers if m != measure["value"]]


def measure_rows(document: dict[str, Any], plan: Plan) -> pd.DataFrame:
    """One row per measure, from the report as its reader may see it (the board's own
    ``Report.to_json()``, or what ``projections.disclosure`` lets through): every cell,
    the sparkline's points too, comes from that document and nothing else."""
    objectives = {o.code: (p.title, o.title) for p in plan.priorities for o in p.objectives}
    rows = []
    for m in document["measures"]:
        priority, objective = objectives.get(m["objective"] or "", ("Standard measures", ""))
        unit = m.get("unit", "count")
        last = m.get("last_return")
        rows.append({
            "Priority": priority,
            "Objective": f"{m['objective']} {objective}".strip() if m["objective"] else "",
            "Measure": m["title"],
            "Value": " ".join([shown(m["value"], unit), *_markers(m)]),
            "Target": "" if m["target"] is None else shown(m["target"], unit),
            "RAG": RAG_LABELS.get(m["rag"] or "", m["rag"] or ""),
            "Trend": m["trend"]["direction"],
            "Last return": f"{datetime.fromisoformat(last):%d %b %Y}" if last and
            last[:1].isdigit() else (last or ""),
            "Last 6 months": sparkline(m["trend"]["values"]),
            "By agency": ", ".join(f"{code}: {shown(cell, unit)}"
                                   for code, cell in (m["by_agency"] or {}).items()),
        })
    return pd.DataFrame(rows)


def action_rows(document: dict[str, Any]) -> pd.DataFrame:
    as_at = date.fromisoformat(document["as_at"])
    rows = []
    for a in document["actions"]:
        overdue = date.fromisoformat(a["due"]) < as_at and a["status"] != "complete"
        rows.append({"": "⚠ overdue" if overdue else "", "Action": a["code"],
                     "Status": STATUS_LABELS.get(a["status"], a["status"]), "Lead": a["lead"],
                     "Due": a["due"], "Reported": a["reported_at"] or "",
                     "Title": a["title"], "_order": (not overdue, a["code"])})
    rows.sort(key=lambda r: r["_order"])
    return pd.DataFrame([{k: v for k, v in r.items() if k != "_order"} for r in rows])


def rows_height(rows: int) -> int:
    """Tall enough to show every row without an inner scroll bar."""
    return 38 + 35 * rows


def show(zone: ZoneInfo, plan: Plan, as_at: date, from_day: date, known_day: date,
         live: bool, suppress: bool) -> None:
    report = load_report(as_at, known_day, from_day, zone, live=live,
                         shown_to="scrutiny" if suppress else "board")
    st.subheader(f"Events from {from_day:%d %b %Y} to {as_at:%d %b %Y}")
    if not live:
        st.info(f"Replayed as known at the end of {known_day:%d %B %Y}: returns and "
                "corrections that arrived later are not counted.")
    st.caption(f"As known at {report['known_at']} · rules in force then · "
               "p: provisional (a return not yet approved) · r: revised since the board "
               "accepted the month · [c]: suppressed, a count of 1–4 people or a figure "
               "that would reveal one (see the disclosure policy)")
    measures = measure_rows(report, plan)
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
        suppress = st.sidebar.toggle("Suppress small numbers (as scrutiny sees them)",
                                     value=False,
                                     key="suppress", help="For any view shared beyond the board.")
    live = known_day >= today
    # Live view: re-read every second while agencies push; a replay is fixed.
    fragment = st.fragment(run_every=LIVE_REFRESH if live else None)(show)
    fragment(plan.zone, plan, as_at, from_day, known_day, live, suppress)
