"""The scorecard as each role uses it, in headless Chromium over the demo home."""

from __future__ import annotations

from pathlib import Path

from scorecard.demo.build import demo_password
from tests.e2e.browser import (
    browser_page,
    choose,
    grid_row,
    screenshot,
    settled,
    sign_in,
    sign_out,
    submit_sign_in,
)


def test_each_role_signs_in_and_sees_its_pages(demo_url: str) -> None:
    landing = {"board": "Rotherham Child Sexual Exploitation Delivery Plan",
               "scrutiny": "Scrutiny: replay a meeting", "admin": "Administration",
               "racs": "Returns for Rotherham Abuse Counselling Service (RACS)"}
    with browser_page() as page:
        for username, heading in landing.items():
            sign_in(page, demo_url, username, demo_password(username))
            page.get_by_role("heading", name=heading).first.wait_for(timeout=30_000)
            assert page.get_by_role("heading", name=heading).first.is_visible()
            settled(page)
            screenshot(page, f"{username}-first-page")
            sign_out(page)
        submit_sign_in(page, "racs", "not-the-password")
        page.get_by_text("Unknown user or wrong password").wait_for(timeout=30_000)
        assert page.get_by_text("Signed in as").count() == 0


def test_scrutiny_replays_4_november_and_sees_october_missing(demo_url: str) -> None:
    with browser_page() as page:
        sign_in(page, demo_url, "scrutiny", demo_password("scrutiny"))
        choose(page, "Meeting", "4 Nov 2015")
        # the table of that meeting, not the one drawn before the choice took effect
        table = page.locator("table", has=page.locator(
            "caption", has_text="Scorecard as at 4 Nov 2015"))
        row = table.locator("tbody tr", has=page.locator("th", has_text="Helpline contacts"))
        row.first.wait_for(state="attached", timeout=30_000)
        cells = row.first.locator("td")
        then, now = cells.nth(0).inner_text().split()[0], cells.nth(1).inner_text().split()[0]
        assert int(then.replace(",", "")) < int(now.replace(",", ""))  # October came later
        changes = cells.last.inner_text()
        assert "from returns by NSPCC Rotherham CSE support helpline sent after 4 Nov 2015" \
            in changes
        screenshot(page, "scrutiny-replay-2015-11-04")


def test_an_agency_uploads_a_csv_and_sees_the_bad_row_named(
    demo_url: str, tmp_path: Path
) -> None:
    csv = tmp_path / "return.csv"
    csv.write_text(
        "event_id,type,occurred_at,case,source,client,age_band,gender,historic\n"
        "web-0001,referral.received,2016-03-01,RACS-9001,police,child,11-15,female,false\n"
        "web-0002,referral.received,2016-03-02,RACS-9002,police,child,eleven,female,false\n")
    with browser_page() as page:
        sign_in(page, demo_url, "racs", demo_password("racs"))
        page.get_by_text("Download the CSV template").first.wait_for(timeout=30_000)
        page.locator("input[type=file]").set_input_files(str(csv))
        problem = grid_row(page, "web-0002")
        problem.wait_for(state="attached", timeout=30_000)
        page.wait_for_timeout(500)
        assert "payload.age_band" in problem.inner_text()
        assert "ok" in grid_row(page, "web-0001").inner_text()
        page.get_by_text("1 of 2 rows have a problem").wait_for(timeout=10_000)
        screenshot(page, "agency-upload-preview")
        page.get_by_role("button", name="Submit this return").click()
        page.get_by_text("Submitted: 1 accepted, 0 duplicate, 1 rejected").wait_for(
            timeout=30_000)
        screenshot(page, "agency-upload-submitted")
