"""The board's overview, the UK date style and the charts' text alternatives, as pure
functions of the report JSON."""

from __future__ import annotations

import itertools
from datetime import date
from typing import Any

import pytest

from domain.plan import Plan, load_plan_document
from scorecard_ui.formatting import parse_uk_date, uk_date, uk_time
from scorecard_ui.overview import (
    grouped,
    legend_html,
    measure_status,
    overview_table,
    rolled_up,
    summary_html,
)
from scorecard_ui.svg_chart import LineChart, Series, image_html, nice_ticks, summary, svg
from tests.html_tables import html_tables


def measure(title: str, rag: str | None, objective: str | None = "1.1",
            **extra: Any) -> dict[str, Any]:
    return {"id": title.lower(), "title": title, "value": 5, "unit": "count", "target": None,
            "rag": rag, "objective": objective, "trend": {"direction": "no significant "
            "change", "arrow": "→"}, "no_target_reason": "for information", **extra}


@pytest.mark.parametrize(("statuses", "expected"), [
    (["green", "amber", "red"], "red"), (["green", "amber", "none"], "amber"),
    (["green", "none"], "green"), (["none", "none"], "none"), ([], "none")])
def test_a_group_takes_the_worst_status_under_it(statuses: list[str], expected: str) -> None:
    assert rolled_up(statuses) == expected


def test_a_withheld_status_is_counted_as_withheld_never_as_no_target() -> None:
    assert measure_status(measure("A", "[c]")) == "withheld"
    assert measure_status(measure("A", "[x]")) == "withheld"
    assert measure_status(measure("A", None)) == "none"
    # A group shows the worst status shown: the hidden one is not rolled in.
    assert rolled_up(["green", "withheld", "none"]) == "green"
    assert rolled_up(["withheld", "none"]) == "withheld"
    document = {"as_at": "2015-12-16", "measures": [
        measure("Training", "red"), measure("Helpline emails", "[c]"),
        measure("Contacts", None)]}
    summary = summary_html(document)
    assert "2 of 3 measures judged" in summary
    assert "1 withheld" in summary and "1 no target" in summary
    assert "Withheld" in legend_html(document) and "Withheld" not in legend_html(
        {"measures": [measure("Training", "red")]})
    plan = Plan.from_document(load_plan_document())
    table = html_tables(overview_table(document, plan).to_html())[0]
    assert [r["Status"] for r in table["rows"]] == ["✖ Red", "[c]", "○ No target"]
    assert any("1 withheld" in group for group in table["groups"])  # the priority's counts


def test_measures_sit_under_their_objective_and_unfiled_ones_last() -> None:
    plan = Plan.from_document(load_plan_document())
    document = {"as_at": "2015-12-16", "measures": [
        measure("Filed", "red", "1.1"), measure("Unfiled", "green", None),
        measure("Also filed", "green", "1.1")]}
    groups = grouped(document, plan)
    assert [m["title"] for m in groups[0].objectives[0].measures] == ["Filed", "Also filed"]
    assert groups[0].status == "red"
    assert groups[-1].title == "Other measures the board watches"
    table = html_tables(overview_table(document, plan, link=lambda m: f"measure?measure="
                                       f"{m['id']}").to_html())[0]
    assert table["caption"] == ("Scorecard as at 16 Dec 2015: priorities, objectives and "
                                "measures")
    assert [r["Measure"] for r in table["rows"]] == ["Filed", "Also filed", "Unfiled"]
    assert "Exception" not in table["headers"]  # the flag tells RAG: the board's column
    board = overview_table(document, plan, board=True,
                           evidence=lambda m: f"evidence?measure={m['id']}").to_html()
    assert "Exception" in html_tables(board)[0]["headers"]
    assert "href='evidence?measure=filed'" in board  # every figure to its signed events


def test_agency_text_is_escaped_in_the_table() -> None:
    plan = Plan.from_document(load_plan_document())
    hostile = measure("<script>alert(1)</script>", "red")
    markup = overview_table({"as_at": "2015-12-16", "measures": [hostile]}, plan).to_html()
    assert "<script>" not in markup and "&lt;script&gt;" in markup


def test_dates_read_the_uk_way_and_are_typed_day_first() -> None:
    assert uk_date(date(2015, 12, 16)) == "16 Dec 2015"
    assert uk_date("2015-11-04") == "4 Nov 2015"
    assert uk_time("2015-12-16T23:59:59.999999Z") == "16 Dec 2015 at 23:59"
    assert parse_uk_date("01/10/2015") == date(2015, 10, 1)  # 1 October, never 10 January
    assert parse_uk_date("1.10.2015") == date(2015, 10, 1)
    assert parse_uk_date("2015-10-01") == date(2015, 10, 1)
    assert parse_uk_date("31/02/2015") is None and parse_uk_date("soon") is None


def test_a_chart_says_in_words_what_it_draws() -> None:
    chart = LineChart("Referrals so far", [Series("Value so far", [
        (date(2015, 4, 30), 3.0), (date(2015, 5, 31), None), (date(2015, 6, 30), 9.0)])],
        markers=[(date(2015, 6, 1), "Commission")])
    words = summary(chart)
    assert "3 on 30 Apr 2015, 9 on 30 Jun 2015" in words and "Commission (1 Jun 2015)" in words
    drawn = svg(chart)
    assert "role='img'" in drawn and "<title" in drawn and "<desc" in drawn
    assert drawn.count("<circle") == 2  # a gap, never a number: two lone points
    assert "alt='Referrals so far." in image_html(chart)


def test_shares_are_drawn_on_a_percentage_axis() -> None:
    chart = LineChart("Share", [Series("Share", [(date(2015, 4, 30), 0.4),
                                                 (date(2015, 5, 31), 0.5)])], share=True)
    assert ">100%<" in svg(chart) and ">0.4<" not in svg(chart)
    assert nice_ticks(1234)[-1] >= 1234
    # a count's axis in whole steps (it read 0, 0.2, 0.5, 0.8, 1 for quarters)
    assert nice_ticks(1.05, whole=True) == [0, 1, 2]
    assert nice_ticks(12.6, whole=True) == [0, 5, 10, 15]
    assert all(float(t).is_integer() for t in nice_ticks(7.3, whole=True))
    assert nice_ticks(1.05) == [0.0, 0.25, 0.5, 0.75, 1.0, 1.25]  # a share's, unchanged
    # a monthly chart names months, its last point too (it read "1 Nov 2015")
    monthly = svg(LineChart("M", [Series("Value", [(date(2015, 6, 1), 1.0),
                                                   (date(2015, 11, 1), 1.0)])], monthly=True))
    assert ">Nov 2015<" in monthly and "1 Nov 2015<" not in monthly


def test_the_summary_names_what_is_off_course() -> None:
    document = {"measures": [measure("Training", "red"), measure("Helpline", "amber"),
                             measure("Schools", "green")]}
    text = summary_html(document)
    assert "3 of 3 measures judged" in text
    assert "Red</span> Training</p>" in text and "Amber</span> Helpline</p>" in text
    assert "Schools</p>" not in text  # green needs no name in the answer


def _axis_texts(drawn: str) -> list[tuple[float, str, str]]:
    import re

    return [(float(x), anchor, text) for x, anchor, text in re.findall(
        r"<text x='([\d.]+)' y='\d+' text-anchor='(\w+)' font-size='12' "
        r"fill='#0b0c0c'>([A-Z][a-z]{2} \d{4}|\d+ [A-Z][a-z]{2} \d{4})</text>", drawn)]


def test_axis_labels_neither_overlap_nor_leave_the_chart() -> None:
    # Month ends then the as-at day two weeks after the last: the 30 Nov and 16 Dec
    # labels once overlapped and "Dec 2015" was cut at the right edge.
    days = [date(2015, m, 28) for m in range(4, 12)] + [date(2015, 11, 30), date(2015, 12, 16)]
    drawn = svg(LineChart("Trained", [Series("Value", [(d, float(i)) for i, d in
                                                       enumerate(days)])],
                          markers=[(date(2015, 9, 1), "Board")]))
    labels = _axis_texts(drawn)
    assert labels[-1][1:] == ("end", "16 Dec 2015")  # the as-at day, in full, inside
    assert float(labels[-1][0]) <= 760
    centres = [x for x, anchor, _ in labels if anchor == "middle"]
    assert all(b - a >= 84 for a, b in itertools.pairwise(centres))
    assert labels[-1][0] - 70 >= centres[-1] + 28  # the end label clears the one before
    assert ">Meetings<" in drawn  # the dotted lines have a key


@pytest.mark.parametrize(("p_meet", "words"), [
    (0.895, "just under 90%"), (0.9, "90%"), (0.87, "87%"), (0.104, "just over 10%"),
    (0.1, "10%"), (0.5, "50%")])
def test_a_chance_never_reads_across_its_outlook(p_meet: float, words: str) -> None:
    from scorecard_ui.measure_text import chance_text

    assert chance_text(p_meet) == words


def test_the_backfill_note_names_agencies_and_shows_counts_only_as_disclosed() -> None:
    """It named agencies by code, pointed a board member to a command-line tool, and for
    scrutiny listed eighteen codes each followed by [c]."""
    from scorecard_ui.views.board import backfill_note

    plan = Plan.from_document(load_plan_document())
    code, name = plan.agencies[0].code, plan.agencies[0].name
    board = backfill_note({code: 1200}, plan, board=True)
    assert f"{name} (1,200)" in board and "scorecard audit" not in board
    assert "evidence behind each figure" in board
    scrutiny = backfill_note({code: "[c]"}, plan, board=False)
    assert name in scrutiny and "[c]" not in scrutiny and "evidence" not in scrutiny
