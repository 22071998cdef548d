"""One measure: its values month by month against the target, by agency, with its
target so far, forecast, interval, markers, metadata and the rules that judge it.
Outside the board the figures come from ``projections.disclosure`` only, the monthly
chart is not drawn (nor sent) and breakdowns of people are not shown."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from domain.timekeeping import utc_now
from projections import symbols
from projections.breakdowns import DIMENSIONS, breakdowns, can_break_down
from projections.disclosure import Disclosure
from projections.report import ReportBuilder, months_ending, rules_in_force, scorecard_measures
from scorecard_ui.figures import shown
from scorecard_ui.session import application, audience, current_user, read_model
from scorecard_ui.views.board import (
    forecast_cell,
    metadata_text,
    rate_cell,
    returns_cell,
    target_cell,
    trend_cell,
)


def render() -> None:
    user = current_user()
    plan = application().plan
    measures = {m.title: m for m in scorecard_measures(plan)}
    st.title("A measure over time")
    title = st.selectbox("Measure", list(measures), key="measure_choice")
    measure = measures[title]
    today = utc_now().astimezone(plan.zone).date()
    as_at = st.date_input("Up to", value=min(today, plan.ends), key="measure_as_at",
                          min_value=plan.starts, max_value=max(today, plan.ends))
    shown_to = audience(user)
    suppress = shown_to != "board"
    known_at = utc_now()
    months = (as_at.year - plan.starts.year) * 12 + as_at.month - plan.starts.month + 1
    with read_model() as connection:
        builder = ReportBuilder(connection, as_at=as_at, known_at=known_at)
        rules = rules_in_force(connection, measure.id, None)
        series = []
        for start, end in months_ending(as_at, max(1, min(months, 36))):
            value = builder.value(measure, span=(start, end))
            target = rules.rules.target_on(end) if rules else None
            series.append({"month": start, "value": value, "target": target})
        counted = builder.measure(measure)
        # Breakdowns of people by age band, gender... are for the board only (as counted):
        # the disclosure control does not yet protect them (docs/disclosure.md).
        split_by = breakdowns(connection, measure, counted.window, builder.standing) if (
            counted.window and not suppress and can_break_down(measure)) else {}
        current = counted.to_json()
        if suppress:
            current = Disclosure(connection, plan, known_at).measure_json(current, as_at)
    st.caption(f"Definition: {measure.definition()} · period: {measure.period} · "
               f"{'higher' if measure.polarity == 'higher' else 'lower'} is better")
    if rules:
        st.caption(f"Rules: {rules.rules.describe(measure.polarity)} (set by {rules.by}: "
                   f"{rules.reason})")
    frame = pd.DataFrame(series).set_index("month")
    if frame["target"].isna().all():
        frame = frame.drop(columns=["target"])
    if not suppress:
        st.line_chart(frame)
    else:
        st.caption("Monthly values are not charted outside the board: small numbers could "
                   "identify a child.")
    unit = current.get("unit", "count")
    window = f"{counted.window[0]:%d %b %Y} to " if counted.window else ""
    markers = [code for code in current.get("markers") or [] if code != current["value"]]
    st.metric(f"{current['title']} ({window}{as_at:%d %b %Y})",
              " ".join([shown(current["value"], unit), *markers]), help=trend_cell(current))
    facts = {"Target": target_cell(current), "Forecast": forecast_cell(current),
             "Of (95% CI)": rate_cell(current), "Trend": trend_cell(current),
             "Returns": returns_cell(current)}
    st.markdown("\n".join(f"- **{k}:** {v}" for k, v in facts.items() if v))
    st.caption("Symbols: " + symbols.legend_text())
    with st.expander("About this measure"):
        st.markdown(metadata_text(current))
    st.dataframe(pd.DataFrame([{"Agency": k, "Value": shown(v, unit)}
                               for k, v in (current["by_agency"] or {}).items()]),
                 hide_index=True)
    if can_break_down(measure):
        st.subheader("Breakdowns")
        if suppress:
            st.caption("Breakdowns of people are shown to the board only: the disclosure "
                       "control does not yet protect them.")
        for dimension, counts in split_by.items():
            st.markdown(f"**{DIMENSIONS[dimension]}**")
            st.dataframe(pd.DataFrame([{DIMENSIONS[dimension]: k, "Count": v}
                                       for k, v in counts.items()]), hide_index=True)
