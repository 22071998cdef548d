"""The upload's preview is a dry run of the domain (issue 16 item 3): it names every
rejection submitting would give — the contract, the agency's permitted types, duplicates
and conflicts within the file, case rules, references — and records nothing."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from streamlit.testing.v1 import AppTest

from domain.application import Delivery, Scorecard
from ingest.file_push import file_line_delivery
from scorecard.bootstrap import Home
from tests.html_tables import upload_preview
from tests.support import RECEIVED, event, line, memory_app, reasons, register, seen_by_the_pages

PERMITTED = ["helpline.contact", "referral.received", "case.closed", "event.retracted"]


def the_file() -> list[dict[str, Any]]:
    """A return with each kind of mistake, and rows that pass only because of an
    earlier row of the same file."""
    return [
        event("helpline.contact", "h-1"),
        event("helpline.contact", "h-bad", channel="fax", in_area="yes"),  # contract, twice
        event("training.delivered", "t-1"),                             # not permitted
        event("case.closed", "c-9", case="RACS-9999"),                  # never referred
        event("helpline.contact", "h-1", channel="email"),              # id reused
        event("helpline.contact", "h-1"),                               # the same again
        event("referral.received", "r-1", case="RACS-0001"),
        event("case.closed", "c-1", "2015-10-02", case="RACS-0001"),    # refers r-1 above
        event("event.retracted", "x-1", target="nope", reason="typo"),  # bad reference
    ]


EXPECTED = ["accepted", "invalid", "not_permitted", "no_open_case", "event_id_conflict",
            "duplicate", "accepted", "accepted", "bad_reference"]


def deliveries(app: Scorecard, key: str) -> list[Delivery]:
    return [file_line_delivery(line(m), producer="racs", key=key, producer_verified=True,
                               received_at=RECEIVED, backfill=False, source=f"file:{n}")
            for n, m in enumerate(the_file(), start=1)]


def test_the_dry_run_decides_what_submitting_decides_and_records_nothing() -> None:
    app = memory_app()
    key = register(app, "racs", PERMITTED)
    before = app.recorder.max_notification_id()
    previewed = reasons(app.dry_run(deliveries(app, key)))
    assert app.recorder.max_notification_id() == before  # nothing, not even a rejection
    assert previewed == EXPECTED
    assert reasons(app.submit(deliveries(app, key))) == previewed
    # Once submitted, the same file is all duplicates or rejections to the dry run.
    again = reasons(app.dry_run(deliveries(app, key)))
    assert again[0] == "duplicate" and again[6:8] == ["duplicate", "duplicate"]


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Home]:
    home = Home(tmp_path / "home")
    register(home.open(), "racs", PERMITTED)
    with seen_by_the_pages(home, monkeypatch):
        yield home


def test_the_page_preview_names_every_rejection_submitting_gives(home: Home) -> None:
    """Before: the preview checked each row against the contract alone and said 1 of 9
    rows had a problem; submitting rejected 5."""
    store = home.open()
    before = store.recorder.max_notification_id()
    at = AppTest.from_string("from scorecard_ui.views import agency\nagency.render()\n",
                             default_timeout=60)
    at.session_state["user"] = {"username": "racs-staff", "role": "agency", "agency": "racs"}
    at.run()
    content = b"".join(line(m) + b"\n" for m in the_file())
    at.file_uploader(key="return_upload").set_value(
        ("return.jsonl", content, "application/jsonl")).run()
    assert not at.exception
    problems = upload_preview(at)
    assert [p.split("]")[0].lstrip("[") if p.startswith("[") else p for p in problems] == [
        "ok", "invalid", "not_permitted", "no_open_case", "event_id_conflict",
        "ok (already accepted: counted once)", "ok", "ok", "bad_reference"]
    assert "5 of 9 rows have a problem" in at.warning[0].value
    # every field at fault in a row, not only the first the check met
    assert "payload.channel" in problems[1] and "payload.in_area" in problems[1]
    assert store.recorder.max_notification_id() == before  # previewing recorded nothing
    at.button(key="submit_return").click().run()
    assert "Submitted: 3 accepted, 1 duplicate, 5 rejected" in at.warning[-1].value
    assert "send them again from the 'Rejected events' tab" in at.warning[-1].value
