"""One measure: its values month by month against the target, by agency, with its
target so far, forecast, interval, markers, metadata and the rules that judge it."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from domain.timekeeping import utc_now
from projections import symbols
from projections.breakdowns import DIMENSIONS, breakdowns, can_break_down
from projections.report import ReportBuilder, months_ending, rules_in_force, scorecard_measures
from scorecard_ui.session import application, current_user, home
from scorecard_ui.suppression import shown_split
from scorecard_ui.views.board import forecast_cell, metadata_text, rate_cell, target_cell


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
    suppress = user.suppress if user else True
    months = (as_at.year - plan.starts.year) * 12 + as_at.month - plan.starts.month + 1
    with home().readmodel() as connection:
        builder = ReportBuilder(connection, as_at=as_at, known_at=utc_now())
        rules = rules_in_force(connection, measure.id, None)
        series = []
        for start, end in months_ending(as_at, max(1, min(months, 36))):
            value = builder.value(measure, span=(start, end))
            target = rules.rules.target_on(end) if rules else None
            series.append({"month": start, "value": value, "target": target})
        current = builder.measure(measure)
        # People's details are broken down for the board only (as counted), until the
        # disclosure control can suppress them for everyone else.
        split_by = breakdowns(connection, measure, current.window, builder.standing) if (
            current.window and not suppress and can_break_down(measure)) else {}
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
    total, parts = shown_split(current.value, current.by_agency, suppress=suppress,
                               unit=current.unit)
    window = f"{current.window[0]:%d %b %Y} to " if current.window else ""
    st.metric(f"{current.title} ({window}{as_at:%d %b %Y})",
              " ".join([total, *current.markers]), help=current.trend_detail.shown)
    facts = {"Target": target_cell(current), "Forecast": forecast_cell(current),
             "Of (95% CI)": rate_cell(current, suppress),
             "Trend": current.trend_detail.shown,
             "Returns": current.completeness.shown() if current.completeness else ""}
    st.markdown("\n".join(f"- **{k}:** {v}" for k, v in facts.items() if v))
    st.caption("Symbols: " + symbols.legend_text())
    with st.expander("About this measure"):
        st.markdown(metadata_text(current))
    st.dataframe(pd.DataFrame([{"Agency": k, "Value": v} for k, v in parts.items()]),
                 hide_index=True)
    if can_break_down(measure):
        st.subheader("Breakdowns")
        if suppress:
            st.caption("Breakdowns of people are shown outside the board only through the "
                       "disclosure control.")
        for dimension, counts in split_by.items():
            st.markdown(f"**{DIMENSIONS[dimension]}**")
            st.dataframe(pd.DataFrame([{DIMENSIONS[dimension]: k, "Count": v}
                                       for k, v in counts.items()]), hide_index=True)
