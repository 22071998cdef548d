"""One measure: its values month by month against the target, by agency, with its
definition and the rules that judge it."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from domain.timekeeping import utc_now
from projections.disclosure import Disclosure
from projections.report import ReportBuilder, months_ending, rules_in_force, scorecard_measures
from scorecard_ui.figures import shown
from scorecard_ui.session import application, audience, current_user, home


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
    known_at = utc_now()
    months = (as_at.year - plan.starts.year) * 12 + as_at.month - plan.starts.month + 1
    with home().readmodel() as connection:
        builder = ReportBuilder(connection, as_at=as_at, known_at=known_at)
        rules = rules_in_force(connection, measure.id, None)
        series = []
        for start, end in months_ending(as_at, max(1, min(months, 36))):
            value = builder.value(measure, span=(start, end))
            target = rules.rules.target_on(end) if rules else None
            series.append({"month": start, "value": value, "target": target})
        current = builder.measure(measure).to_json()
        if shown_to != "board":
            current = Disclosure(connection, plan, known_at).measure_json(current, as_at)
    st.caption(f"Definition: {measure.definition()} · period: {measure.period} · "
               f"{'higher' if measure.polarity == 'higher' else 'lower'} is better")
    if rules:
        st.caption(f"Rules: {rules.rules.describe(measure.polarity)} (set by {rules.by}: "
                   f"{rules.reason})")
    frame = pd.DataFrame(series).set_index("month")
    if frame["target"].isna().all():
        frame = frame.drop(columns=["target"])
    if shown_to == "board":
        st.line_chart(frame)
    else:
        st.caption("Monthly values are not charted outside the board: small numbers could "
                   "identify a child.")
    unit = current.get("unit", "count")
    window = current.get("window") or {}
    st.metric(f"{current['title']} ({window.get('from', '')} to {as_at})",
              shown(current["value"], unit), help=current["trend"]["direction"])
    st.dataframe(pd.DataFrame([{"Agency": k, "Value": shown(v, unit)}
                               for k, v in (current["by_agency"] or {}).items()]),
                 hide_index=True)
