"""An agency's rejections at scale on its page (issue 16 item 4): filtered by reason,
type and month, paged, downloaded as CSV, resubmitted many at once, corrected in a form
made from the contract; the counts read again after each action."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from streamlit.testing.v1 import AppTest

from domain.application import Scorecard
from projections.audit import audit_trail
from projections.rejected import RejectedFilter, own_rejection_counts, own_rejections
from scorecard.bootstrap import Home
from tests.support import event, line, register, seen_by_the_pages, submit

CLOSURES = 1_200  # each sent before its referral: no_open_case
NOW = datetime.now(UTC)


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Home]:
    home = Home(tmp_path / "home")
    app = home.open()
    key = register(app, "racs")
    closures = [event("case.closed", f"c-{n}", "2015-10-20", case=f"RACS-{n:05d}")
                for n in range(CLOSURES)]
    bad = [event("helpline.contact", f"h-{n}", "2015-10-02", channel="fax") for n in range(3)]
    for start in range(0, len(closures), 500):
        submit(app, key, *closures[start:start + 500], received_at=NOW)
    submit(app, key, *bad, received_at=NOW)
    with seen_by_the_pages(home, monkeypatch):
        yield home


def captions(at: AppTest) -> str:
    return "\n".join(c.value for c in at.caption)


def page() -> AppTest:
    at = AppTest.from_string("from scorecard_ui.views import agency\nagency.render()\n",
                             default_timeout=120)
    at.session_state["user"] = {"username": "racs-staff", "role": "agency", "agency": "racs"}
    return at.run()


def test_filters_pages_and_counts_come_from_sql(home: Home) -> None:
    app: Scorecard = home.open()
    with home.projected(app) as connection:
        counts = own_rejection_counts(connection, "racs")
        assert counts["reason"] == {"no_open_case": CLOSURES, "invalid": 3}
        assert counts["type"] == {"case.closed": CLOSURES, "helpline.contact": 3}
        total, rows = own_rejections(connection, "racs", RejectedFilter(reason="invalid"),
                                     limit=2, offset=2)
        assert total == 3 and [r["event_id"] for r in rows] == ["h-2"]
        total, rows = own_rejections(connection, "racs", RejectedFilter(type="case.closed"),
                                     limit=100, offset=1_100)
        assert total == CLOSURES and rows[0]["event_id"] == "c-1100"


def test_the_page_filters_downloads_and_resubmits_many_at_once(home: Home) -> None:
    at = page()
    assert not at.exception
    assert f"{CLOSURES + 3:,} open, 0 since resubmitted" in captions(at)
    at.selectbox(key="rejected_reason").set_value("no_open_case").run()
    assert len(at.dataframe[0].value) == 100  # one page, not 1,203 rows
    assert f"Rows 1 to 100 of {CLOSURES:,}" in captions(at)
    at.number_input(key="rejected_page").set_value(12).run()
    assert list(at.dataframe[0].value["event_id"])[-1] == f"c-{CLOSURES - 1}"
    at.button(key="rejected_prepare_csv").click().run()
    csv = at.session_state[f"rejected_csv:{RejectedFilter(reason='no_open_case')}"]
    assert csv.decode().count("\nc-") == 0 and csv.decode().count(",c-") == CLOSURES
    # The cause fixed: every case referred. All the closures go again in one action.
    app: Scorecard = home.open()
    agency = app.agency("racs")
    assert agency is not None
    referrals = [line(event("referral.received", f"r-{n}", "2015-10-01",
                            case=f"RACS-{n:05d}")) for n in range(CLOSURES)]
    for start in range(0, CLOSURES, 500):
        submit(app, agency.current_key() or "", *referrals[start:start + 500],
               received_at=NOW)
    at.button(key="resubmit_all").click().run()
    assert not at.exception
    assert f"Resubmitted {CLOSURES:,}: {CLOSURES} accepted, 0 duplicate, 0 rejected" in \
        at.success[0].value
    assert f"3 open, {CLOSURES:,} since resubmitted" in captions(at)  # refreshed


def test_a_rejection_is_corrected_in_a_form_made_from_the_contract(home: Home) -> None:
    at = page()
    at.selectbox(key="rejected_reason").set_value("invalid").run()
    pick = at.selectbox(key="resubmit_pick")
    app: Scorecard = home.open()
    with home.projected(app) as connection:
        rejection_id = own_rejections(connection, "racs", RejectedFilter(reason="invalid"),
                                      limit=1)[1][0]["id"]
    channel = at.selectbox(key=f"fix:{rejection_id}:channel")
    assert channel.options == ["phone", "email", "web", "text"] and channel.value is None
    assert at.selectbox(key=f"fix:{rejection_id}:cse_related").value == "true"
    assert at.number_input(key=f"fix:{rejection_id}:response_minutes").value == 0
    channel.set_value("email").run()
    at.button(key="resubmit_form").click().run()
    assert not at.exception
    assert any(s.value.startswith("accepted: h\\-") for s in at.success), pick.value
    assert "2 open" in captions(page())



def test_many_are_withdrawn_at_once_and_audited(home: Home) -> None:
    at = page()
    at.selectbox(key="rejected_reason").set_value("invalid").run()
    assert at.button(key="withdraw_all").disabled  # until the agency says so
    at.checkbox(key="withdraw_confirm").check().run()
    at.button(key="withdraw_all").click().run()
    assert not at.exception
    assert "Withdrew 3." in at.success[0].value
    assert f"{CLOSURES:,} open, 0 since resubmitted, 3 withdrawn" in captions(at)
    app: Scorecard = home.open()
    with home.projected(app) as connection:
        trail = audit_trail(connection, "racs")
    withdrawn = [r for r in trail if r["action"] == "rejection withdrawn"]
    assert sorted(r["subject"] for r in withdrawn) == ["h-0", "h-1", "h-2"]
    assert {r["actor"] for r in withdrawn} == {"racs-staff"}


def fill_200000_rejections(connection: Any) -> None:
    """200,000 rejections and 100,000 facts: every even event id accepted later
    (resubmitted), the odd ones (no_open_case) still open. ``bench/rejections_speed.py``
    times the listing over the same rows."""
    connection.execute("""
        INSERT INTO rejections SELECT i, 'rej-' || i, 'racs', 'e-' || i,
            CASE WHEN i % 3 = 0 THEN 'case.closed' ELSE 'helpline.contact' END,
            CASE WHEN i % 2 = 0 THEN 'invalid' ELSE 'no_open_case' END, 'payload.x', 'm',
            '{}', 'utf-8', TIMESTAMP '2015-01-01' + INTERVAL (i % 300) DAY, false, 'f', false,
            NULL
        FROM range(200000) t(i)""")
    connection.execute(
        "INSERT INTO facts (position, submission_id, agency, event_id, type, occurred_at, "
        "occurred_utc, occurred_on, recorded_at, backfill, payload) SELECT 300000 + i, "
        "'s-' || i, 'racs', 'e-' || (i * 2), 'helpline.contact', '2015-10-01', "
        "TIMESTAMP '2015-10-01', DATE '2015-10-01', TIMESTAMP '2015-10-01', false, '{}' "
        "FROM range(100000) t(i)")


def test_a_page_of_200000_rejections_counts_and_pages_right() -> None:
    """The listing's SQL over 200,000 rejections and 100,000 facts: the counts by status
    and one page deep in the list (``make bench`` times it: bench/rejections_speed.py)."""
    import duckdb

    from projections.readmodel import SCHEMA

    connection = duckdb.connect()
    connection.execute(SCHEMA)
    fill_200000_rejections(connection)
    counts = own_rejection_counts(connection, "racs")
    total, rows = own_rejections(connection, "racs", RejectedFilter(reason="no_open_case"),
                                 limit=100, offset=50_000)
    # every even event id was accepted later: resubmitted; the odd ones (no_open_case) open
    assert counts["status"] == {"open": 100_000, "resubmitted": 100_000}
    assert total == 100_000 and len(rows) == 100 and rows[0]["event_id"] == "e-100001"
