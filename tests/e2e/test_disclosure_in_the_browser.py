"""What a scrutiny browser receives: no small count of people, in any frame.

Signed in as scrutiny on the demo in Chromium, every websocket frame the page sends is
decoded (Streamlit's protobuf messages, and the Arrow tables inside them that data grids
and sparklines are drawn from) and every figure in a row about a people measure is
checked: none is a count from 1 to 4. The same check over the board's own session does
find such counts, so the check can fail.
"""

from __future__ import annotations

import io
import re
from collections.abc import Iterator
from typing import Any

import pyarrow as pa
import pytest
from streamlit.proto.ForwardMsg_pb2 import ForwardMsg

from domain.plan import Plan, load_plan_document
from projections.disclosure import Policy
from projections.report import scorecard_measures
from scorecard.demo.build import demo_password
from tests.e2e.browser import browser_page, choose, sign_in, table_row
from tests.html_tables import html_tables

PLAN = Plan.from_document(load_plan_document())
PEOPLE_TITLES = {m.title for m in scorecard_measures(PLAN)
                 if m.id in Policy.from_plan(PLAN).people}
FIGURE_COLUMNS = ("Value", "Known at the meeting", "Known now", "By agency",
                  "Last 6 months", "Cause", "Of (95% CI)", "Forecast",
                  # the HTML tables' columns (overview, measure page, scrutiny)
                  "Value so far", "Forecast for the period", "As shown", "Value in the month",
                  "Value so far (then)", "Value so far (now)", "Then", "Now", "Difference",
                  "Causes")
NOT_PEOPLE_FACTS = ("Returns", "Target so far", "Trend")  # agencies, targets, words
NUMBER = re.compile(r"(?<![\w.\-])(\d[\d,]*)(?![\w.%\-])")


def _walk(message: Any) -> Iterator[Any]:
    """Every scalar in a protobuf message, depth first."""
    for descriptor, value in message.ListFields():
        values = value if descriptor.is_repeated else [value]
        for item in values:
            if hasattr(item, "ListFields"):
                yield from _walk(item)
            else:
                yield item


def html_rows(markup: str) -> list[dict[str, Any]]:
    """The rows of the HTML tables in a string the page sent; a table whose caption names a
    measure (the measure page's) has that measure as each row's "Measure"."""
    rows = []
    for table in html_tables(markup):
        about = next((t for t in PEOPLE_TITLES if table["caption"].startswith(t)), None)
        for row in table["rows"]:
            if row.get("Fact") in NOT_PEOPLE_FACTS:
                continue
            rows.append({"Measure": about, **row} if about and "Measure" not in row else row)
    return rows


def tables(frames: list[bytes]) -> list[list[dict[str, Any]]]:
    """Every Arrow table and every HTML table in the frames, as rows."""
    found = []
    for frame in frames:
        message = ForwardMsg.FromString(frame)
        for value in _walk(message):
            if isinstance(value, str) and "<table" in value:
                found.append(html_rows(value))
                continue
            if isinstance(value, bytes) and len(value) > 8:
                try:
                    table = pa.ipc.open_stream(io.BytesIO(value)).read_all()
                except (pa.ArrowInvalid, OSError):
                    continue
                found.append(table.to_pylist())
    return found


def people_rows(frames: list[bytes]) -> int:
    return sum(row.get("Measure", row.get("Measure or action")) in PEOPLE_TITLES
               for rows in tables(frames) for row in rows)


def small_counts(frames: list[bytes]) -> list[tuple[str, str, Any]]:
    """(measure, column, figure) for every count from 1 to 4 in a people measure's row."""
    found: list[tuple[str, str, Any]] = []
    for rows in tables(frames):
        for row in rows:
            title = row.get("Measure", row.get("Measure or action"))
            if title not in PEOPLE_TITLES:
                continue
            for column in FIGURE_COLUMNS:
                cell = row.get(column)
                figures = cell if isinstance(cell, list) else [cell]
                for figure in figures:
                    numbers: list[float] = [float(n.replace(",", "")) for n in NUMBER.findall(
                        figure)] if isinstance(figure, str) else (
                        [figure] if isinstance(figure, int | float) else [])
                    found += [(title, column, n) for n in numbers
                              if n is not None and 1 <= n <= 4 and float(n).is_integer()]
    return found


def browse(site: str, username: str) -> list[bytes]:
    """Sign in, open each page a scrutiny user can, and return every frame received."""
    frames: list[bytes] = []
    with browser_page() as page:
        page.on("websocket", lambda ws: ws.on(
            "framereceived", lambda payload: frames.append(
                payload if isinstance(payload, bytes) else payload.encode())))
        sign_in(page, site, username, demo_password(username))
        if username == "scrutiny":
            page.get_by_role("heading", name="Scrutiny: replay a meeting").wait_for(
                timeout=30_000)
            choose(page, "Meeting", "4 Nov 2015")
            page.locator("table.sc-table tr", has_text="Helpline contacts").first.wait_for(
                state="attached", timeout=30_000)
            page.wait_for_timeout(1500)
        page.get_by_role("link", name="Board scorecard").click()
        table_row(page, "Helpline contacts").wait_for(state="attached", timeout=60_000)
        page.wait_for_timeout(1500)
        page.get_by_role("link", name="A measure over time").click()
        page.get_by_text("Definition (machine)").first.wait_for(timeout=30_000)
        choose(page, "Measure", "Helpline contacts referred into services")
        page.wait_for_timeout(2500)
    return frames


@pytest.mark.slow
def test_a_scrutiny_browser_receives_no_small_count_of_people(
    demo_url: str,
) -> None:
    scrutiny = browse(demo_url, "scrutiny")
    board = browse(demo_url, "board")
    assert people_rows(scrutiny) > 20, "too few rows about people decoded from the frames"
    assert small_counts(scrutiny) == []
    # The board sees figures as counted: the same check finds small counts there.
    assert small_counts(board)
