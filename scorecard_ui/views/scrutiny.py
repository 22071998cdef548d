"""Scrutiny: what the board knew on the day of a meeting, what we know now about the same
period, and every figure that changed in between, with why. Every figure, cause count and
download comes from ``projections.disclosure``: small numbers are suppressed there."""

from __future__ import annotations

import html
from datetime import date, datetime
from typing import Any

import pandas as pd
import streamlit as st

from domain.timekeeping import end_of_day, utc_now
from projections import symbols
from projections.disclosure import disclosed_report, disclosed_restatements
from projections.restatements import restatements
from scorecard_ui.exceptions_view import notes_html
from scorecard_ui.figures import shown
from scorecard_ui.session import audience, current_plan, current_user, read_model, report_cache
from scorecard_ui.spreadsheet import safe_csv

CAUSE_WORDS = {"late return": "returns that arrived after the meeting",
               "correction": "figures corrected since", "retraction": "entries withdrawn since",
               "rule change": "targets or RAG rules changed since"}


def comparison(then: dict[str, Any], now: dict[str, Any]) -> pd.DataFrame:
    """Both scorecards side by side, from the reports as this reader may see them."""
    rows = []
    for old, new in zip(then["measures"], now["measures"], strict=True):
        old_total = shown(old["value"], old.get("unit", "count"))
        new_total = shown(new["value"], new.get("unit", "count"))
        rows.append({"Measure": old["title"], "Known at the meeting": old_total,
                     "RAG then": old["rag"] or "", "Known now": new_total,
                     "RAG now": new["rag"] or "", "Changed": changed(old, new)})
    return pd.DataFrame(rows)


def changed(old: dict[str, Any], new: dict[str, Any]) -> str:
    """Whether a figure changed; a hidden side hides that too (the other side and "no"
    would give the hidden one)."""
    hidden = [side["value"] for side in (old, new) if isinstance(side["value"], str)]
    if hidden:
        return hidden[0]
    return "yes" if (old["value"], old["rag"]) != (new["value"], new["rag"]) else ""


def cause_text(causes: list[dict[str, Any]]) -> str:
    parts = []
    for cause in causes:
        if "events" not in cause and "agencies" not in cause and "changes" not in cause:
            parts.append(f"{cause['count']}: one side of this change is suppressed, so "
                         "its causes are too")
            continue
        agencies = cause.get("agencies") or sorted({e["agency"] for e in cause.get("events", [])})
        who = f" ({', '.join(agencies)})" if agencies else ""
        parts.append(f"{CAUSE_WORDS.get(cause['cause'], cause['cause'])}: "
                     f"{cause['count']}{who}")
    return "; ".join(parts)


def printable(title: str, meeting: date, table: pd.DataFrame, changes: pd.DataFrame,
              notes: str = "") -> str:
    """A self-contained HTML page for a committee paper (print it from the browser)."""
    def as_html(frame: pd.DataFrame) -> str:
        return str(frame.to_html(index=False, escape=True, border=1))

    return (f"<!doctype html><html><head><meta charset='utf-8'><title>{html.escape(title)}"
            "</title><style>body{font-family:sans-serif}table{border-collapse:collapse}"
            "td,th{padding:4px 8px}</style></head><body>"
            f"<h1>{html.escape(title)}</h1><p>Scorecard as at {meeting:%d %B %Y}: as known "
            f"at that meeting, and as known on {utc_now():%d %B %Y}. [c]: suppressed, a count "
            "of 1–4 people or a figure that would reveal one.</p>" + as_html(table)
            + "<h2>What changed, and why</h2>"
            + as_html(changes) + notes + "<h2>Symbols</h2><ul>"
            + "".join(f"<li>{html.escape(code)} {html.escape(words)}</li>"
                      for code, words in symbols.LEGEND.items())
            + "</ul></body></html>")


def render() -> None:
    user = current_user()
    plan = current_plan()
    st.title("Scrutiny: replay a meeting")
    st.caption("What the board knew on the day of a meeting, what we now know happened by "
               "then, and what changed in between.")
    st.caption("Symbols: " + symbols.legend_text())
    today = utc_now().astimezone(plan.zone).date()
    meetings = {f"{m.date:%d %b %Y}: {m.title}": m.date for m in plan.meetings
                if m.date <= today}
    if not meetings:
        st.warning("The plan lists no meetings yet.")
        return
    label = st.selectbox("Meeting", list(meetings)[::-1], key="scrutiny_meeting")
    meeting = meetings[label]
    from_day = st.date_input("Count events from", value=plan.starts, key="scrutiny_from",
                             min_value=date(plan.starts.year - 5, 1, 1), max_value=today)
    then_at: datetime = end_of_day(meeting, plan.zone)
    shown_to = audience(user)
    now_at = utc_now()
    with read_model() as connection:
        cache = report_cache()
        then = disclosed_report(connection, cache.report(
            connection, as_at=meeting, known_at=then_at, from_day=from_day), shown_to)
        now = disclosed_report(connection, cache.report(
            connection, as_at=meeting, known_at=now_at, from_day=from_day), shown_to)
        # Exception notes are the board's: they name measures' RAG and agencies' figures.
        notes = notes_html(cache.report(connection, as_at=meeting, known_at=then_at,
                                        from_day=from_day)) if shown_to == "board" else ""
        diff = disclosed_restatements(connection, restatements(
            connection, as_at=meeting, known_at=then_at, against=now_at, from_day=from_day),
            shown_to)
    table = comparison(then, now)
    st.subheader(f"Scorecard as at {meeting:%d %B %Y}")
    st.dataframe(table, hide_index=True, width="stretch", height=38 + 35 * len(table))
    st.subheader("What changed, and why")
    changes = pd.DataFrame(
        [{"Measure or action": c["title"], "Cause": cause_text(c["causes"])}
         for c in diff["measures"]]
        + [{"Measure or action": f"Action {c['action']}: {c['then']} → {c['now']}",
            "Cause": cause_text(c["causes"])} for c in diff["actions"]])
    if changes.empty:
        st.success("Nothing has changed since the meeting.")
    else:
        st.dataframe(changes, hide_index=True, width="stretch")
    left, right = st.columns(2)
    legend = "\nsymbol,meaning\n" + "".join(f'{code},"{words}"\n'
                                            for code, words in symbols.LEGEND.items())
    left.download_button("Download both scorecards (CSV)", safe_csv(table) + legend.encode(),
                         file_name=f"scorecard-{meeting}.csv", mime="text/csv")
    right.download_button("Download a printable report (HTML)",
                          printable(plan.title, meeting, table, changes, notes),
                          file_name=f"scorecard-{meeting}.html", mime="text/html")
