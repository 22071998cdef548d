"""The board's scorecard: priorities, objectives and measures with the target so far, RAG,
forecast, interval, trend and GSS markers, and the plan's actions with overdue ones
first. Live while showing today. The scorecard downloads as JSON and CSV (the board's).

Every cell is drawn from the report as its reader may see it: the board's own
``Report.to_json()``, or what ``projections.disclosure`` lets through for anyone else
(sparkline points included), never from the counted report itself."""

from __future__ import annotations

import json
from datetime import date, datetime
from typing import Any
from zoneinfo import ZoneInfo

import pandas as pd
import streamlit as st

from domain.plan import Plan
from domain.timekeeping import utc_now
from projections import symbols
from scorecard.rendering import report_csv
from scorecard_ui.errors import guarded
from scorecard_ui.exceptions_view import FLAG_TEXT, show_exceptions
from scorecard_ui.figures import shown, sparkline
from scorecard_ui.outliers_view import reviewer_section
from scorecard_ui.session import (
    application,
    counted_report,
    current_user,
    load_report,
    still_signed_in,
)

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


Measure = dict[str, Any]  # one measure of the (disclosed) report JSON


def _suppressed(value: Any) -> bool:
    """A GSS symbol ([c], [x]) put in place of a figure by the disclosure control."""
    return isinstance(value, str) and value.startswith("[")


def target_cell(m: Measure) -> str:
    """The target so far beside the whole period's ("1,279 so far of 1,800"), or why
    there is none."""
    unit = m.get("unit", "count")
    if m["target"] is None:
        return f"none: {m['no_target_reason']}" if m.get("no_target_reason") else ""
    whole = shown(m["target"], unit)
    to_date = m.get("target_to_date")
    if to_date is None or to_date == m["target"]:
        return whole
    return f"{shown(round(to_date))} so far of {whole}"


def forecast_cell(m: Measure) -> str:
    f = m.get("forecast")
    if not f:
        return ""
    if any(_suppressed(f.get(k)) for k in ("value", "low", "high", "p_meet")):
        return symbols.SUPPRESSED
    return (f"{f['outlook']}: {f['value']:,.0f} ({f['low']:,.0f} to {f['high']:,.0f}); "
            f"{f['p_meet']:.0%} chance of meeting the target")


def rate_cell(m: Measure) -> str:
    """A rate's numerator and denominator and its 95% Wilson interval."""
    numerator, denominator = m.get("numerator"), m.get("denominator")
    if numerator is None or denominator is None:
        return ""
    low, high = m.get("ci_low"), m.get("ci_high")
    if _suppressed(numerator) or _suppressed(denominator):
        return symbols.SUPPRESSED
    if m.get("unit") == "rate" and m.get("per"):
        interval = f" ({low:,.1f} to {high:,.1f})" if low is not None else ""
        return f"{shown(numerator)} in {shown(denominator)} people{interval}"
    parts = f"{shown(numerator)} of {shown(denominator)}"
    if low is None or high is None:
        return parts
    return f"{parts} ({low:.0%} to {high:.0%})"


def trend_cell(m: Measure) -> str:
    trend = m["trend"]
    if _suppressed(trend.get("direction")):
        return symbols.SUPPRESSED
    return f"{trend.get('arrow', '')} {trend['direction']}".strip()


def returns_cell(m: Measure) -> str:
    """Whose returns are in for the latest complete month."""
    c = m.get("completeness")
    if not c:
        return ""
    month = f"{datetime.strptime(c['month'], '%Y-%m'):%B %Y}"
    if not c["expected"]:
        return f"no returns owed for {month}"
    return (f"Returns in: {c['received']} of {c['expected']} "
            f"agenc{'y' if c['expected'] == 1 else 'ies'} for {month}")


def last_return_cell(m: Measure) -> str:
    last = m.get("last_return")
    if not last or _suppressed(last):
        return last or ""
    moment = datetime.fromisoformat(last)
    return f"{moment.day} {moment:%b %Y}"


def _markers(m: Measure) -> list[str]:
    """GSS markers of a measure ([p], [r], [c], [x]...); a symbol its value already is,
    once."""
    return [code for code in m.get("markers") or [] if code != m["value"]]


def measure_rows(document: dict[str, Any], plan: Plan) -> pd.DataFrame:
    objectives = {o.code: (p.title, o.title) for p in plan.priorities for o in p.objectives}
    rows = []
    for m in document["measures"]:
        priority, objective = objectives.get(m["objective"] or "", ("Standard measures", ""))
        unit = m.get("unit", "count")
        rows.append({
            "Priority": priority,
            "Objective": f"{m['objective']} {objective}".strip() if m["objective"] else "",
            "Measure": m["title"],
            "Value": " ".join([shown(m["value"], unit), *_markers(m)]),
            # Red without a note is its own flag (the board's view only: it tells RAG).
            "Exception": FLAG_TEXT.get((m.get("exception") or {}).get("status", ""), ""),
            "Of (95% CI)": rate_cell(m),
            "Target": target_cell(m),
            "RAG": RAG_LABELS.get(m["rag"] or "", m["rag"] or ""),
            "Forecast": forecast_cell(m),
            "Trend": trend_cell(m),
            "Returns": returns_cell(m),
            "Last return": last_return_cell(m),
            "Last 6 months": sparkline(m["trend"]["values"]),
            "By agency": ", ".join(f"{code}: {shown(cell, unit)}"
                                   for code, cell in (m["by_agency"] or {}).items()),
        })
    return pd.DataFrame(rows)


def metadata_text(m: Measure) -> str:
    """A measure's metadata as plain-English lines, then its machine definition."""
    labels = {"counted": "What is counted", "numerator": "Numerator",
              "denominator": "Denominator", "agencies": "Contributing agencies",
              "period": "Period", "polarity": "Polarity", "target": "Target",
              "target_set_by": "Target set by", "trend_method": "Trend",
              "interval_method": "Interval", "forecast_method": "Forecast",
              "caveats": "Caveats", "disclosure": "Disclosure", "last_return": "Last return",
              "next_return": "Next return due"}
    lines = []
    for key, label in labels.items():
        value = (m.get("metadata") or {}).get(key)
        if value:
            text = ", ".join(value) if isinstance(value, list) else str(value)
            lines.append(f"- **{label}:** {text}")
    lines.append(f"- **Definition (machine):** `{m['definition']}`")
    return "\n".join(lines)


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
    if not still_signed_in(application(), utc_now()):
        st.session_state.pop("user", None)
        st.rerun(scope="app")  # the whole page again: it shows the sign-in
    report = load_report(as_at, known_day, from_day, zone, live=live,
                         shown_to="scrutiny" if suppress else "board")
    st.subheader(f"Events from {from_day:%d %b %Y} to {as_at:%d %b %Y}")
    if not live:
        st.info(f"Replayed as known at the end of {known_day:%d %B %Y}: returns and "
                "corrections that arrived later are not counted.")
    st.caption(f"As known at {report['known_at']} · rules in force then · "
               "targets profiled to the as-at day · trend over complete months only")
    st.caption("Symbols: " + symbols.legend_text())
    if report.get("backfilled"):
        st.warning("Includes events an administrator backfilled (recorded after the time "
                   "shown, with an earlier knowledge time): " + ", ".join(
                       f"{code} {n}" for code, n in report["backfilled"].items())
                   + ". `scorecard audit` says who and when.", icon="🕓")
    measures = measure_rows(report, plan)
    st.dataframe(measures, hide_index=True, width="stretch", height=rows_height(len(measures)),
                 column_config={
                     "Priority": st.column_config.TextColumn(width="small"),
                     "Objective": st.column_config.TextColumn(width="small"),
                     "Target": st.column_config.TextColumn(
                         width="medium", help="The target due so far, of the whole "
                         "period's; or why the measure has none"),
                     "Of (95% CI)": st.column_config.TextColumn(
                         help="A rate's numerator of its denominator, and its 95% Wilson "
                              "score interval"),
                     "Forecast": st.column_config.TextColumn(
                         help="The period's expected outturn with an 80% interval"),
                     "Last 6 months": st.column_config.LineChartColumn(
                         "Last 6 months", help="Complete months, oldest first")})
    with st.expander("About each measure: what is counted, targets and methods"):
        for m in report["measures"]:
            st.markdown(f"**{m['title']}**\n\n{metadata_text(m)}")
    if not suppress:  # the exports carry every figure as counted: the board's alone
        name = f"scorecard-{as_at.isoformat()}-known-{known_day.isoformat()}"
        left, right = st.columns(2)
        counted = counted_report(as_at, datetime.fromisoformat(report["known_at"]), from_day)
        left.download_button("Download the scorecard (CSV)", report_csv(counted),
                             file_name=f"{name}.csv", mime="text/csv", key="board_csv")
        right.download_button("Download the scorecard (JSON)",
                              json.dumps(report, indent=2, ensure_ascii=False),
                              file_name=f"{name}.json", mime="application/json",
                              key="board_json")
    if not suppress:  # notes and outliers name agencies' figures: the board's view only
        counted = counted_report(as_at, datetime.fromisoformat(report["known_at"]), from_day)
        show_exceptions(application(), counted, current_user(), live)
        reviewer_section(application(), current_user(), live)
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
    fragment = st.fragment(run_every=LIVE_REFRESH if live else None)(guarded(show))
    fragment(plan.zone, plan, as_at, from_day, known_day, live, suppress)
