"""A red measure walked in headless Chromium over the invented Harbourside partnership:
the board's overview flags it, its note is read, and the events behind the figure are
listed with their signatures checked again; the agency writes a note on its page and the
board accepts it."""

from __future__ import annotations

import json
import os
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.e2e.browser import (
    browser_page,
    choose,
    grid_row,
    screenshot,
    served,
    settled,
    sign_in,
    sign_out,
    table_cell,
    table_row,
)
from tests.e2e.test_command_line import SCORECARD

EXAMPLE = Path(__file__).parents[2] / "examples" / "harbourside"
AGENCIES = {"harbourside-council": "council", "harbourside-police": "police",
            "harbour-youth-trust": "voluntary"}
USERS = (("chair", "board", None), ("trainer", "agency", "harbourside-council"))
PASSWORD = "harbourside-password"
MEASURE_TITLE = "Workers trained on online grooming this financial year"


@pytest.fixture(scope="module")
def harbourside_home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("harbourside")
    env = dict(os.environ, SCORECARD_HOME=str(root / "home"), SCORECARD_PASSWORD=PASSWORD,
               SCORECARD_ADMIN_PASSWORD=PASSWORD)
    env.pop("SCORECARD_EVENT_STORE", None)
    env.pop("SCORECARD_KAFKA_BOOTSTRAP", None)

    def run(*args: str) -> None:
        subprocess.run([SCORECARD, *args], env=env, check=True, capture_output=True)

    run("init", "--plan", str(EXAMPLE / "plan.yaml"))
    run("user", "add", "root", "--role", "administrator")  # authorises the backfills
    for code, sector in AGENCIES.items():
        key = root / f"{code}.key"
        run("agency", "add", code, "--name", code, "--sector", sector, "--key-file", str(key))
        run("push", str(EXAMPLE / "events" / f"{code}.jsonl"), "--agency", code,
            "--key-file", str(key), "--known-at", "2019-10-01T09:00:00Z", "--admin", "root")
    for username, role, agency in USERS:
        run("user", "add", username, "--role", role, *(["--agency", agency] if agency else []))
    run("exception", "note", "--agency", "harbourside-council", "--key-file",
        str(root / "harbourside-council.key"), "--measure", "workers_trained_this_year",
        "--month", "2019-09", "--what-happened", "Fewer workers trained over the summer",
        "--why", "Teams were closed in August", "--recovery", "Two extra courses in October",
        "--recover-by", "2019-12-31", "--owner", "Head of Workforce Development",
        "--known-at", "2019-10-05T10:00:00Z", "--admin", "root")
    return root / "home"


@pytest.fixture(scope="module")
def url(harbourside_home: Path) -> Iterator[str]:
    """The Harbourside page, served for the module (each test its own browser context)."""
    with served(SCORECARD, harbourside_home) as address:
        yield address


def test_a_red_measure_from_overview_to_note_to_evidence(url: str) -> None:
    with browser_page() as page:
        page.set_viewport_size({"width": 1366, "height": 768})
        sign_in(page, url, "chair", PASSWORD)
        choose(page, "Replay a meeting", "16 Oct 2019")
        page.get_by_text("Scorecard as at 16 Oct 2019", exact=True).wait_for(timeout=30_000)
        settled(page)
        screenshot(page, "exceptions-board-overview")
        assert table_cell(page, MEASURE_TITLE, "Exception") == "Note to review"
        assert table_cell(page, "Secondary schools with online safety workshops this "
                          "financial year", "Exception") == "Red, no note"
        page.get_by_text("Two extra courses in October").first.wait_for(timeout=30_000)
        assert page.get_by_text("Head of Workforce Development").first.is_visible()
        screenshot(page, "exceptions-board-overview")
        link = page.get_by_role("link", name="The events behind this figure").first
        link.scroll_into_view_if_needed()
        screenshot(page, "exceptions-note")
        link.click()
        page.get_by_role("heading", name="Evidence behind a figure").wait_for(timeout=30_000)
        page.get_by_text("3 events from 1 Apr 2019 to 16 Oct 2019").wait_for(timeout=30_000)
        for event_id in ("hbc-tr-001", "hbc-tr-002", "hbc-tr-003"):  # a real table's rows
            table_row(page, event_id).wait_for(state="attached", timeout=30_000)
        page.get_by_role("button", name="Check the signatures again").click()
        page.get_by_text("3 of 3 signatures verify").wait_for(timeout=30_000)
        assert "verifies" in table_cell(page, "hbc-tr-001", "Signature")
        screenshot(page, "exceptions-evidence")


def test_the_agency_writes_a_note_and_the_board_accepts_it(url: str) -> None:
    with browser_page() as page:
        page.set_viewport_size({"width": 1366, "height": 768})
        sign_in(page, url, "trainer", PASSWORD)
        page.get_by_role("tab", name="Exception notes").click()
        form = page.locator("[data-testid=stForm]").filter(has_text="What happened").first
        form.wait_for(timeout=30_000)
        form.get_by_label("What happened").fill("No courses booked this year yet")
        form.get_by_label("Why").fill("The trainer post is vacant")
        form.get_by_label("What is being done").fill("Agency trainer engaged")
        form.get_by_label("Owner (a role)").fill("Head of Workforce Development")
        screenshot(page, "exceptions-agency-form")
        form.get_by_role("button", name="Send the note").click()
        page.get_by_text("sent: the board sees it now").wait_for(timeout=30_000)
        sign_out(page)

        sign_in(page, url, "chair", PASSWORD)
        choose(page, "Replay a meeting", "Today")
        table_row(page, MEASURE_TITLE).wait_for(state="attached", timeout=30_000)
        page.get_by_text("Agency trainer engaged").first.wait_for(timeout=30_000)
        screenshot(page, "exceptions-to-review")
        page.get_by_role("button", name="Accept the note").first.click()
        page.get_by_text("accepted by chair").first.wait_for(timeout=30_000)
        table_row(page, MEASURE_TITLE).get_by_text("Note accepted").wait_for(timeout=30_000)
        assert table_cell(page, MEASURE_TITLE, "Exception") == "Note accepted"
        screenshot(page, "exceptions-accepted")


def test_an_outlying_return_is_questioned_confirmed_and_marked_for_follow_up(
        url: str, tmp_path: Path) -> None:
    upload = tmp_path / "october.jsonl"
    upload.write_text(json.dumps({
        "event_id": "hbc-tr-900", "agency": "harbourside-council", "type": "training.delivered",
        "schema_version": 1, "occurred_at": "2019-10-08",
        "payload": {"course": "online-grooming", "audience": "workforce", "attendees": 900}})
        + "\n", encoding="utf-8")
    with browser_page() as page:
        page.set_viewport_size({"width": 1366, "height": 768})
        sign_in(page, url, "trainer", PASSWORD)
        page.locator("input[type=file]").set_input_files(str(upload))
        page.get_by_text("differs from your agency's own history").wait_for(timeout=30_000)
        assert "above the plan's maximum (300)" in grid_row(page, "2019-10").inner_text()
        submit = page.get_by_role("button", name="Submit this return")
        assert submit.is_disabled()
        screenshot(page, "outliers-upload-questioned")
        page.get_by_text("These figures are right").click()
        submit.click()
        page.get_by_text("Submitted: 1 accepted").wait_for(timeout=30_000)
        sign_out(page)

        sign_in(page, url, "chair", PASSWORD)
        choose(page, "Replay a meeting", "Today")
        page.get_by_role("heading", name="Figures questioned at entry").wait_for(timeout=30_000)
        row = grid_row(page, "workers_trained_this_year")
        row.wait_for(state="attached", timeout=30_000)
        form = page.locator("[data-testid=stForm]").filter(has_text="What to follow up").first
        form.get_by_label("What to follow up").fill("Ask which courses ran")
        form.get_by_role("button", name="Mark for follow-up").click()
        page.locator("[role=gridcell]", has_text="Ask which courses ran").first.wait_for(
            state="attached", timeout=30_000)
        screenshot(page, "outliers-follow-up")
