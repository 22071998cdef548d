"""One measure: its value so far against the target so far, month by month (as known
then and, on a replay, as known now), the meetings marked, with its interval band, then
the figure as the scorecard shows it, its metadata in plain English and a data table
under every chart. Reached from the overview with the same dates in the address.

Outside the board everything comes from ``projections.disclosure``: the cumulative line
is not drawn (nor sent), because a run of cumulative values could be differenced into
monthly counts; the disclosed monthly trend points are drawn instead, and breakdowns of
people are not shown."""

from __future__ import annotations

from datetime import date
from typing import Any

import streamlit as st

from domain.plan import Plan
from domain.timekeeping import end_of_day, utc_now
from projections import symbols
from projections.breakdowns import DIMENSIONS, breakdowns, can_break_down
from projections.disclosure import Disclosure
from projections.measure_series import SeriesPoint, value_so_far
from projections.measures import Measure as PlanMeasure
from projections.metadata import POLARITY_WORDS
from projections.report import ReportBuilder, rules_in_force, scorecard_measures
from scorecard_ui.disclosure_note import outside_board_note
from scorecard_ui.figures import shown
from scorecard_ui.formatting import uk_date, uk_month
from scorecard_ui.html_table import simple_table
from scorecard_ui.measure_text import (
    Measure,
    forecast_text,
    metadata_items,
    rate_text,
    returns_text,
    target_text,
    trend_text,
    value_text,
)
from scorecard_ui.overview import measure_status
from scorecard_ui.session import audience, current_plan, current_user, read_model
from scorecard_ui.style import STATUS_TAGS
from scorecard_ui.svg_chart import PALETTE, LineChart, Series, image_html
from scorecard_ui.view_state import replay_controls

MEASURE = "measure"


def choose_measure(plan: Plan) -> PlanMeasure:
    """The measure named in the address (``?measure=<id>``) or chosen here."""
    measures = {m.id: m for m in scorecard_measures(plan)}
    asked = st.query_params.get(MEASURE)
    if asked in measures and st.session_state.get("_measure_address") != asked:
        st.session_state[MEASURE] = asked
    chosen = st.selectbox("Measure", list(measures), key=MEASURE,
                          format_func=lambda code: measures[code].title)
    st.query_params[MEASURE] = chosen
    st.session_state["_measure_address"] = chosen
    return measures[chosen]


def as_number(points: list[SeriesPoint], share: bool) -> list[tuple[date, float | None]]:
    return [(p.day, p.value) for p in points]


def cumulative_chart(title: str, then: list[SeriesPoint], now: list[SeriesPoint] | None,
                     share: bool, meetings: list[tuple[date, str]]) -> LineChart:
    series = [Series("Value so far as known then" if now is not None else "Value so far",
                     as_number(then, share), colour=PALETTE[0])]
    if now is not None:
        series.append(Series("As known now", as_number(now, share), colour=PALETTE[1]))
    if any(p.target is not None for p in then):
        series.append(Series("Target so far", [(p.day, p.target) for p in then], dashed=True,
                             colour=PALETTE[2]))
    band = [(p.day, p.low, p.high) for p in then if p.low is not None and p.high is not None]
    return LineChart(title, series, share=share, band=band, band_label="95% interval",
                     markers=meetings)


def cumulative_table(title: str, then: list[SeriesPoint], now: list[SeriesPoint] | None,
                     unit: str) -> str:
    headers = ["Day", "Value so far" + (" (then)" if now is not None else "")]
    if now is not None:
        headers.append("Value so far (now)")
    headers += ["Target so far", "95% interval"]
    rows = []
    for index, p in enumerate(then):
        row: list[object] = [uk_date(p.day), shown(p.value, unit)]
        if now is not None:
            row.append(shown(now[index].value, unit))
        row += [shown(p.target, unit) if p.target is not None else "none",
                f"{shown(p.low, unit)} to {shown(p.high, unit)}" if p.low is not None else ""]
        rows.append(row)
    return simple_table(f"{title}: the chart's values", headers, rows,
                        numeric=[h for h in headers if h != "Day"])


def disclosed_monthly(current: Measure, title: str, flow: bool = True
                      ) -> tuple[LineChart, str]:
    """The disclosed trend points: a suppressed month is a gap and [c] in the table. A
    flow's point is what happened in the month; a level's (open cases, actions complete)
    is where it stood at the month's end, which months do not add up to."""
    unit = current.get("unit", "count")
    label = "Value in the month" if flow else "Value at the month's end"
    points = []
    for p in current["trend"]["values"]:
        day = date.fromisoformat(p["month"] + "-01")
        value = p["value"] if isinstance(p["value"], int | float) else None
        points.append((day, p["value"], value))
    chart = LineChart(title, [Series(label, [(d, v) for d, _, v in points])],
                      share=unit == "share", monthly=True)
    table = simple_table(f"{current['title']}: the chart's values", ["Month", label],
                         [[uk_month(d), shown(raw, unit)] for d, raw, _ in points],
                         numeric=[label])
    return chart, table


def status_text(m: Measure) -> str:
    """The measure's status in words, as the scorecard's tag says it."""
    status = measure_status(m)
    return str(m["rag"]) if status == "withheld" else STATUS_TAGS[status][2]


def facts_html(current: Measure, as_at: date) -> str:
    rows = [("Status", status_text(current)),
            ("Value so far", value_text(current)), ("Target so far", target_text(current)),
            ("Forecast for the period", forecast_text(current)),
            ("Interval", rate_text(current)), ("Trend", trend_text(current)),
            ("Returns", returns_text(current))]
    return simple_table(f"{current['title']} as at {uk_date(as_at)}", ["Fact", "As shown"],
                        [r for r in rows if r[1]])


def render() -> None:
    user = current_user()
    plan = current_plan()
    today = utc_now().astimezone(plan.zone).date()
    st.title("A measure over time")
    measure = choose_measure(plan)
    view = replay_controls(plan, today)
    shown_to = audience(user)
    board = shown_to == "board"
    known_at = utc_now() if view.live else end_of_day(view.known_day, plan.zone)
    meetings = [(m.date, m.title) for m in plan.meetings if m.date <= view.as_at]
    with read_model() as connection:
        builder = ReportBuilder(connection, as_at=view.as_at, known_at=known_at,
                                from_day=view.from_day)
        rules = rules_in_force(connection, measure.id, known_at)
        counted = builder.measure(measure)
        current: dict[str, Any] = counted.to_json()
        then = now = None
        split_by: dict[str, Any] = {}
        if board:
            then = value_so_far(connection, plan, measure, as_at=view.as_at,
                                from_day=view.from_day, known_at=known_at)
            if not view.live:
                now = value_so_far(connection, plan, measure, as_at=view.as_at,
                                   from_day=view.from_day, known_at=utc_now())
            if counted.window and can_break_down(measure):
                split_by = breakdowns(connection, measure, counted.window, builder.standing)
        else:
            current = Disclosure(connection, plan, known_at).measure_json(current, view.as_at)
    unit = current.get("unit", "count")
    st.subheader(current["title"])
    when = "live" if view.live else f"as known at the end of {uk_date(view.known_day)}"
    st.caption(f"As at {uk_date(view.as_at)}, counting from {uk_date(view.from_day)}, {when} "
               f"· {POLARITY_WORDS[measure.polarity][0]}")
    if not board:
        outside_board_note(plan, view.as_at, view.from_day)
    st.html(facts_html(current, view.as_at))
    if rules:
        st.caption(f"Rules: {rules.rules.describe(measure.polarity)} (set by {rules.by}: "
                   f"{rules.reason})")
    if board and then:
        title = f"{current['title']}: value so far against the target so far"
        st.html(image_html(cumulative_chart(title, then, now, unit == "share", meetings)))
        if now is not None:
            st.caption("Blue: as the board knew it then. Orange: as known now, with "
                       "returns and corrections that arrived later.")
        st.html(cumulative_table(current["title"], then, now, unit))
    elif not board:
        chart, table = disclosed_monthly(current, f"{current['title']}: complete months",
                                         flow=measure.kind == "flow")
        st.html(image_html(chart))
        st.caption("Month by month as shown outside the board: a suppressed month is a gap "
                   "in the line and [c] in the table.")
        st.html(table)
    st.caption("Symbols: " + symbols.legend_text())
    names = {a.code: a.name for a in plan.agencies}
    by_agency = current.get("by_agency") or {}
    if by_agency:
        st.html(simple_table(f"{current['title']} by agency", ["Agency", "Value"],
                             [[names.get(k, k), shown(v, unit)] for k, v in by_agency.items()],
                             numeric=["Value"]))
    st.html(simple_table(f"About this measure: {current['title']}", ["", "In plain English"],
                         metadata_items(current)))
    if can_break_down(measure):
        st.subheader("Breakdowns")
        if not board:
            st.caption("Breakdowns of people are shown to the board only: the disclosure "
                       "control does not yet protect them.")
        for dimension, counts in split_by.items():
            st.html(simple_table(DIMENSIONS[dimension], [DIMENSIONS[dimension], "Count"],
                                 [[k, shown(v)] for k, v in counts.items()],
                                 numeric=["Count"]))


