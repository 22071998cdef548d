"""An agency's returns in the browser (issue 16): each kind of file Excel saves is read
or refused in words, and the calendar approves a month. Screenshots at 1366×768."""

from __future__ import annotations

import codecs
import io
import os
import subprocess
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

import openpyxl
import pytest

from projections.rejected import RejectedFilter, own_rejections
from scorecard.bootstrap import Home
from scorecard.demo.build import demo_password
from tests.e2e.browser import browser_page, grid_row, screenshot, served, sign_in
from tests.e2e.test_command_line import SCORECARD

COLUMNS = "event_id;type;occurred_at;case;source;client;age_band;gender;historic"
ROWS = ["web-{n};referral.received;0{n}/03/2016;RACS-91{n}{n};police;child;11-15;female;false"]


@pytest.fixture(scope="module")
def demo_home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    home = tmp_path_factory.mktemp("demo") / "home"
    subprocess.run([SCORECARD, "demo", "--no-ui"], env=dict(os.environ, SCORECARD_HOME=str(home)),
                   check=True, capture_output=True)
    return home


def files(folder: Path) -> dict[str, tuple[Path, str]]:
    """Each kind of file, and the words the page answers it with."""
    def text(n: int, separator: str) -> str:
        return "\r\n".join([COLUMNS.replace(";", separator),
                            ROWS[0].format(n=n).replace(";", separator)]) + "\r\n"

    book = openpyxl.Workbook()
    book.active.title = "Read me"
    book.active.append(["Our March return"])
    sheet = book.create_sheet("Return")
    sheet.append(COLUMNS.split(";"))
    sheet.append(["web-5", "referral.received", datetime(2016, 3, 5), "RACS-9155", "police",
                  "child", "11-15", "female", "false"])
    packed = io.BytesIO()
    book.save(packed)
    made = {
        # a second row with an é, as Excel saves it in the UK: one byte
        "windows-1252.csv": ((text(1, ",") + "web-é,referral.received\r\n").encode("cp1252"),
                             "Windows-1252"),
        "unicode.txt": (codecs.BOM_UTF16_LE + text(2, "\t").encode("utf-16-le"), "UTF-16"),
        "semicolons.csv": (text(3, ";").encode("utf-8-sig"), "separated by"),
        "sheets.xlsx": (packed.getvalue(), "Read the sheet"),
        "empty.csv": (b"", "the file is empty"),
    }
    paths = {}
    for name, (content, words) in made.items():
        (folder / name).write_bytes(content)
        paths[name] = (folder / name, words)
    return paths


def test_each_kind_of_file_is_read_or_refused_in_words(demo_home: Path,
                                                       tmp_path: Path) -> None:
    with served(SCORECARD, demo_home) as url, browser_page() as page:
        page.set_viewport_size({"width": 1366, "height": 768})
        sign_in(page, url, "racs", demo_password("racs"))
        page.get_by_text("Download the CSV template").first.wait_for(timeout=30_000)
        for name, (path, words) in files(tmp_path).items():
            page.locator("input[type=file]").set_input_files(str(path))
            page.get_by_text(words).first.wait_for(timeout=30_000)
            assert page.get_by_text("Traceback").count() == 0
            if name != "empty.csv":
                row = grid_row(page, "referral.received")
                row.wait_for(state="attached", timeout=30_000)
                page.wait_for_timeout(500)
                assert "ok" in row.inner_text()  # dd/mm/yyyy, a cell date: read
            screenshot(page, f"agency-upload-{name.replace('.', '-')}")


def test_the_calendar_reaches_a_plan_month_and_approves_it(demo_home: Path) -> None:
    with served(SCORECARD, demo_home) as url, browser_page() as page:
        page.set_viewport_size({"width": 1366, "height": 768})
        sign_in(page, url, "racs", demo_password("racs"))
        page.get_by_role("tab", name="Returns calendar").click()
        pick_month(page, "March 2015")  # approved in the demo's history
        page.get_by_role("table", name="events for March 2015 by type").wait_for(
            timeout=30_000)
        assert "10 Apr 2015" in page.get_by_text("Deadline").first.inner_text()
        page.get_by_text("Approved by racs returns officer on 8 Apr 2015").wait_for(
            timeout=30_000)
        screenshot(page, "agency-calendar-march-2015")
        # last month, long after the demo's data: nothing came, nothing approved
        last = (date.today().replace(day=1) - timedelta(days=1))
        name = f"{last:%B %Y}"
        pick_month(page, name)
        page.get_by_role("table", name=f"events for {name} by type").wait_for(timeout=30_000)
        due = last + timedelta(days=10)
        assert f"Deadline {due.day} {due:%b %Y}" in page.get_by_text(
            "Deadline").first.inner_text()
        page.get_by_text("I confirm").first.click()
        page.get_by_role("button", name=f"Approve the return for {name}").click()
        page.get_by_text("Approved by racs on").first.wait_for(timeout=30_000)
        screenshot(page, "agency-calendar-approved")


def pick_month(page: Any, month: str) -> None:
    page.get_by_label("Month", exact=True).first.click()
    page.keyboard.type(month)  # 150 months: the list is filtered by typing
    page.get_by_role("option").filter(has_text=month).first.click()


def test_rejections_are_filtered_corrected_in_a_form_and_withdrawn(demo_home: Path,
                                                                   tmp_path: Path) -> None:
    rows = "\r\n".join([
        "event_id,type,occurred_at,case,source,client,age_band,gender,historic",
        *(f"bad-{n},referral.received,0{n}/03/2016,RACS-80{n}0,police,child,11-15,woman,false"
          for n in (1, 2, 3)),
        "fine-1,referral.received,04/03/2016,RACS-8040,police,child,11-15,female,false"]) \
        + "\r\n"
    (tmp_path / "faxes.csv").write_text(rows, encoding="utf-8")
    with served(SCORECARD, demo_home) as url, browser_page() as page:
        page.set_viewport_size({"width": 1366, "height": 768})
        sign_in(page, url, "racs", demo_password("racs"))
        page.locator("input[type=file]").set_input_files(str(tmp_path / "faxes.csv"))
        page.get_by_text("3 of 4 rows have a problem").wait_for(timeout=60_000)
        page.get_by_role("button", name="Submit this return").click()
        page.get_by_text("Submitted: 1 accepted, 0 duplicate, 3 rejected").wait_for(
            timeout=60_000)
        page.get_by_role("tab", name="Rejected events").click()
        page.get_by_label("Type", exact=True).first.click()
        page.keyboard.type("referral")
        page.get_by_role("option").filter(has_text="referral.received").first.click()
        page.get_by_text("Rows 1 to 3 of 3").wait_for(timeout=30_000)
        # the form: gender is a choice from the contract's list, not JSON to edit
        page.get_by_label("payload.gender: one of the list").first.click()
        page.keyboard.type("female")
        page.get_by_role("option", name="female", exact=True).click()
        screenshot(page, "agency-rejected-form")
        page.get_by_role("button", name="Resubmit the corrected event").click()
        page.get_by_text("accepted: bad-1").wait_for(timeout=30_000)
        sure = page.get_by_text("These 2 will not be sent again").first
        sure.wait_for(timeout=30_000)
        page.wait_for_timeout(1000)  # the rerun after the correction settles
        sure.click()
        page.get_by_role("button", name="Withdraw all 2").click()
        page.get_by_text("Withdrew 2.").wait_for(timeout=30_000)
        page.get_by_text("2 withdrawn").first.wait_for(timeout=30_000)
        # the type chosen stays chosen, with none left open under it
        page.get_by_text("No rejection of yours matches these choices.").wait_for(
            timeout=30_000)
        screenshot(page, "agency-rejected-withdrawn")
    # What the page did is in the store: the corrected one resubmitted, the others withdrawn.
    with Home(demo_home).projected() as connection:
        _, kept = own_rejections(connection, "racs", RejectedFilter(type="referral.received",
                                                                    status=None))
    statuses = {r["event_id"]: r["status"] for r in kept if r["event_id"].startswith("bad-")}
    assert statuses == {"bad-1": "resubmitted", "bad-2": "withdrawn", "bad-3": "withdrawn"}


def test_an_administrator_disables_enables_resets_and_unlocks_a_user(demo_home: Path) -> None:
    with served(SCORECARD, demo_home) as url, browser_page() as page:
        page.set_viewport_size({"width": 1366, "height": 768})
        sign_in(page, url, "admin", demo_password("admin"))
        page.get_by_role("tab", name="Users and roles").click()
        page.get_by_text("Manage a user").first.wait_for(timeout=30_000)
        page.get_by_label("User", exact=True).first.click()
        page.keyboard.type("racs")
        page.get_by_role("option", name="racs", exact=True).click()
        page.get_by_role("button", name="Disable").click()
        page.get_by_text("Disabled racs").wait_for(timeout=30_000)
        page.get_by_role("button", name="Enable").click()
        page.get_by_text("Enabled racs").wait_for(timeout=30_000)
        page.get_by_label("New password (8 characters or more)").fill("a-new-password-1")
        page.get_by_role("button", name="Reset password").click()
        page.get_by_text("Reset the password of racs").wait_for(timeout=30_000)
        page.get_by_role("button", name="Unlock sign-in").click()
        page.get_by_text("Unlocked racs").wait_for(timeout=30_000)
        screenshot(page, "admin-user-actions")
    app = Home(demo_home).open()  # enabled again, with the new password and not the old
    assert app.sign_in("racs", "a-new-password-1") is not None
    assert app.sign_in("racs", demo_password("racs")) is None
