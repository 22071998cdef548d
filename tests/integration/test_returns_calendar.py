"""The returns calendar on the agency page (issue 16 item 5): any month of the plan
period and since, deadlines as dates, each expected type's events, approving a month."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from streamlit.testing.v1 import AppTest

from ingest.file_push import push_file
from projections.returns import months_owed, returns_by_type
from scorecard.bootstrap import Home
from tests.html_tables import html_tables
from tests.support import event, register, seen_by_the_pages, write_jsonl

NOW = datetime.now(UTC)


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Home]:
    home = Home(tmp_path / "home")
    app = home.open()
    key = register(app, "racs", ["referral.received", "case.closed", "helpline.contact"])
    events = [event("referral.received", "r-1", "2015-10-05", case="RACS-0001"),
              event("referral.received", "r-2", "2015-10-06", case="RACS-0002")]
    push_file(app, write_jsonl(tmp_path / "r.jsonl", events), agency="racs", key=key,
              now=NOW)
    with seen_by_the_pages(home, monkeypatch):
        yield home


def page(agency: str | None = "racs", role: str = "agency") -> AppTest:
    at = AppTest.from_string("from scorecard_ui.views import agency\nagency.render()\n",
                             default_timeout=60)
    at.session_state["user"] = {"username": "racs-officer", "role": role, "agency": agency}
    return at.run()


def html(at: AppTest) -> str:
    return "\n".join(str(element.proto.body) for element in at.get("html"))


def test_the_months_run_from_the_plans_first_to_this_one(home: Home) -> None:
    app = home.open()
    months = months_owed(app.plan, "racs", datetime(2026, 11, 30).date())
    assert months[0] == "2026-11" and months[-1] == "2014-06"  # the plan: racs from 2014-06
    assert len(months) == len(set(months)) == 12 * 12 + 6


def test_each_expected_type_is_received_or_missing(home: Home) -> None:
    app = home.open()
    with home.projected(app) as connection:
        rows = returns_by_type(connection, app.plan, "racs", "2015-10", NOW)
    assert [(r["type"], r["events"], r["late"], r["status"]) for r in rows] == [
        ("referral.received", 2, 2, "received late"),  # pushed today, years after
        ("case.closed", 0, 0, "missing"), ("helpline.contact", 0, 0, "missing")]


def test_the_calendar_shows_the_agencys_name_dates_and_types(home: Home) -> None:
    at = page()
    assert not at.exception
    assert at.title[0].value == "Returns for RACS"  # the name, not the code
    month = at.selectbox(key="calendar_month:racs")
    assert month.value == "2015-10"  # the latest month it sent, not the last 12 from today
    assert "June 2014" in month.options and f"{NOW:%B %Y}" in month.options
    shown = html(at)
    assert "Deadline" in shown and "10 Nov 2015" in shown  # a date, not 23:59:59.999999Z
    assert "T23:59" not in shown and "None" not in shown
    by_type = next(t for t in html_tables(shown) if t["caption"].endswith("by type"))
    assert by_type["caption"] == "RACS: events for October 2015 by type"
    rows = {row["Type"]: row for row in by_type["rows"]}
    assert rows["referral.received"]["Expected"] == "yes"
    assert rows["referral.received"]["Events received"] == "2"
    assert [rows["case.closed"][c] for c in by_type["headers"][1:]] == [
        "yes", "0", "0", "missing"]
    month.set_value("2014-06").run()
    assert "10 Jul 2014" in html(at)


def test_an_agency_approves_a_month_from_the_page(home: Home) -> None:
    at = page()
    assert any("not approved" in m.value for m in at.markdown)
    assert at.button(key="approve_return").disabled  # until the confirmation is ticked
    at.checkbox(key="approve_confirm:2015-10").check().run()
    at.button(key="approve_return").click().run()
    assert not at.exception
    approved = [s.value for s in at.success]
    assert any(s.startswith("Approved by racs\\-officer on ") and
               "confirmed the return for October 2015" in s for s in approved), approved
    app = home.open()
    with home.projected(app) as connection:
        rows: list[Any] = connection.execute(
            "SELECT agency, month, approved_by FROM approvals").fetchall()
    assert rows == [("racs", "2015-10", "racs-officer")]


def test_only_the_agencys_own_staff_may_approve(home: Home) -> None:
    at = page(None, "administrator")
    assert not at.exception
    assert not [b for b in at.button if b.key == "approve_return"]
