"""The Streamlit page, driven through Streamlit's AppTest over a real home."""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Any

import pytest
from streamlit.testing.v1 import AppTest

from ingest.file_push import push_file
from scorecard.bootstrap import Home
from tests.support import NOW_UTC, event, register, write_jsonl

APP = str(Path(__file__).parents[2] / "scorecard_ui" / "app.py")


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Home:
    home = Home(tmp_path / "home")
    app = home.open()
    key = register(app, "nspcc-helpline")
    contacts = [event("helpline.contact", f"h-{n}", f"2015-10-{n:02d}", agency="nspcc-helpline")
                for n in range(1, 8)]
    push_file(app, write_jsonl(tmp_path / "h.jsonl", contacts), agency="nspcc-helpline",
              key=key, now=NOW_UTC)
    monkeypatch.setenv("SCORECARD_HOME", str(home.path))
    return home


def date_input(at: AppTest, label: str) -> Any:
    return next(d for d in at.date_input if d.label.startswith(label))


def table_cell(at: AppTest, measure: str, column: str) -> str:
    frame = at.dataframe[0].value
    return str(frame.loc[frame["Measure"] == measure, column].iloc[0])


def test_the_page_shows_the_scorecard_and_follows_the_chosen_date(home: Home) -> None:
    at = AppTest.from_file(APP, default_timeout=60).run()
    assert not at.exception
    assert "Delivery Plan" in at.title[0].value
    # It opens on the latest meeting, as known then: these contacts arrived in 2026.
    assert at.selectbox(key="meeting").value.startswith("16 Dec 2015")
    assert date_input(at, "As known").value == date(2015, 12, 16)
    assert table_cell(at, "Helpline contacts", "Value") == "0"
    assert "Replayed as known" in at.info[0].value
    at.selectbox(key="meeting").set_value("Today (everything known now)").run()
    date_input(at, "Scorecard as at").set_value(date(2015, 12, 16)).run()
    assert table_cell(at, "Helpline contacts", "Value") == "7"  # none of it in December
    date_input(at, "Scorecard as at").set_value(date(2015, 10, 3)).run()
    assert table_cell(at, "Helpline contacts", "Value") == "3 p"
    at.toggle(key="suppress").set_value(True).run()
    assert table_cell(at, "Helpline contacts", "Value") == "<5 p"
    assert "nspcc-helpline: <5" in table_cell(at, "Helpline contacts", "By agency")
    actions = at.dataframe[1].value
    assert len(actions) > 0 and set(actions["Status"]) == {"○ not started"}
