"""An agency's returns in the browser (issue 16): each kind of file Excel saves is read
or refused in words, and the calendar approves a month. Screenshots at 1366×768."""

from __future__ import annotations

import codecs
import io
import re
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import openpyxl
from playwright.sync_api import TimeoutError as PlaywrightTimeoutError

from projections.rejected import RejectedFilter, own_rejections
from scorecard.bootstrap import Home
from scorecard.demo.build import demo_password
from scorecard_ui.returns_upload import MAX_UPLOAD_BYTES, PREVIEW_CAPTION
from scorecard_ui.throttle import SignInThrottle
from tests.e2e.browser import (
    browser_page,
    choose,
    grid_row,
    screenshot,
    settled,
    sign_in,
    submit_sign_in,
)
from tests.unit.test_upload_formats import with_saved_values

COLUMNS = "event_id;type;occurred_at;case;source;client;age_band;gender;historic"
ROWS = ["web-{n};referral.received;0{n}/03/2016;RACS-91{n}{n};police;child;11-15;female;false"]



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
    # Excel's habits in one sheet: the type and date typed once and merged down two
    # rows, a case reference made by a formula Excel saved the value of, and a formula
    # with no saved value (a file written by a program, never opened in Excel).
    habits = openpyxl.Workbook()
    sheet = habits.active
    sheet.append(COLUMNS.split(";"))
    sheet.append(["web-6", "referral.received", datetime(2016, 3, 6), '=CONCAT("RACS-",9166)',
                  "police", "child", "11-15", "female", "false"])
    sheet.append(["web-7", None, None, "RACS-9177", "police", "child", "11-15", "female",
                  "false"])
    sheet.append(["web-8", "referral.received", "08/03/2016", '="RACS-"&"9188"', "police",
                  "child", "11-15", "female", "false"])
    sheet.merge_cells("B2:B3")
    sheet.merge_cells("C2:C3")
    formulas = io.BytesIO()
    habits.save(formulas)
    made = {
        # a second row with an é, as Excel saves it in the UK: one byte
        "windows-1252.csv": ((text(1, ",") + "web-é,referral.received\r\n").encode("cp1252"),
                             "Windows-1252"),
        "unicode.txt": (codecs.BOM_UTF16_LE + text(2, "\t").encode("utf-16-le"), "UTF-16"),
        "semicolons.csv": (text(3, ";").encode("utf-8-sig"), "separated by"),  # with BOM
        "plain-utf-8.csv": (text(4, ",").encode("utf-8"), "The row would be accepted"),
        "sheets.xlsx": (packed.getvalue(), "Read the sheet"),
        "formulas-merged.xlsx": (
            with_saved_values(formulas.getvalue(), {'CONCAT("RACS-",9166)': "RACS-9166"}),
            "1 of 3 rows have a problem"),
        # one line of 2 MB: refused by where its line breaks are, without reading it
        "one-line.jsonl": (b'{"event_id": "' + b"x" * (2 * 2**20) + b'"}\n',
                           "line 1 is longer than 64 KB"),
        "empty.csv": (b"", "the file is empty"),
    }
    paths = {}
    for name, (content, words) in made.items():
        (folder / name).write_bytes(content)
        paths[name] = (folder / name, words)
    return paths


def test_each_kind_of_file_is_read_or_refused_in_words(demo_url: str, tmp_path: Path) -> None:
    with browser_page() as page:
        page.set_viewport_size({"width": 1366, "height": 768})
        sign_in(page, demo_url, "racs", demo_password("racs"))
        page.get_by_text("Download the CSV template").first.wait_for(timeout=30_000)
        for name, (path, words) in files(tmp_path).items():
            page.locator("input[type=file]").set_input_files(str(path))
            page.get_by_text(words).first.wait_for(timeout=30_000)
            assert page.get_by_text("Traceback").count() == 0
            if name not in ("empty.csv", "one-line.jsonl"):
                row = grid_row(page, "referral.received", caption=PREVIEW_CAPTION)
                row.wait_for(state="attached", timeout=30_000)
                page.wait_for_timeout(500)
                assert "ok" in row.inner_text()  # dd/mm/yyyy, a cell date: read
            if name == "formulas-merged.xlsx":
                # the merged type and date reached the row below; the saved value read
                for event_id in ("web-6", "web-7"):
                    assert "ok" in grid_row(page, event_id).inner_text()
                assert "cell D4 holds a formula with no saved value" in grid_row(
                    page, "formula").inner_text()
            settled(page)
            if name == "empty.csv":  # nothing of the file before it stays on the page
                assert page.get_by_role("button", name="Submit this return").count() == 0
                assert page.get_by_text("rows have a problem").count() == 0
            screenshot(page, f"agency-upload-{name.replace('.', '-')}")
        # A file over the limit is refused by the uploader, naming the limit, before a
        # byte of it reaches the server.
        oversize = tmp_path / "oversize.jsonl"
        with oversize.open("wb") as out:
            out.truncate(MAX_UPLOAD_BYTES + 1)
        page.locator("input[type=file]").set_input_files(str(oversize))
        refused = page.get_by_text("or smaller").first
        refused.wait_for(timeout=60_000)
        assert f"{MAX_UPLOAD_BYTES // 2**20}" in refused.inner_text()
        screenshot(page, "agency-upload-oversize")


def test_the_calendar_reaches_a_plan_month_and_approves_it(demo_url: str) -> None:
    with browser_page() as page:
        page.set_viewport_size({"width": 1366, "height": 768})
        sign_in(page, demo_url, "racs", demo_password("racs"))
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
    choose(page, "Month", month, typed=month)  # 150 months: the list is filtered by typing


def submit_return(page: Any, path: Path, preview: str, submitted: str) -> None:
    """Upload a return file, wait for the page's ``preview`` of it, submit it and wait
    for the page's count of what was ``submitted``."""
    page.locator("input[type=file]").set_input_files(str(path))
    page.get_by_text(preview).wait_for(timeout=60_000)
    page.get_by_role("button", name="Submit this return").click()
    page.get_by_text(submitted).wait_for(timeout=60_000)


def test_rejections_are_filtered_corrected_in_a_form_and_withdrawn(
        demo_home: Path, demo_url: str, tmp_path: Path) -> None:
    rows = "\r\n".join([
        "event_id,type,occurred_at,case,source,client,age_band,gender,historic",
        *(f"bad-{n},referral.received,0{n}/03/2016,RACS-80{n}0,police,child,11-15,woman,false"
          for n in (1, 2, 3)),
        "fine-1,referral.received,04/03/2016,RACS-8040,police,child,11-15,female,false"]) \
        + "\r\n"
    (tmp_path / "faxes.csv").write_text(rows, encoding="utf-8")
    with browser_page() as page:
        page.set_viewport_size({"width": 1366, "height": 768})
        sign_in(page, demo_url, "racs", demo_password("racs"))
        submit_return(page, tmp_path / "faxes.csv", "3 of 4 rows have a problem",
                      "Submitted: 1 accepted, 0 duplicate, 3 rejected")
        page.get_by_role("tab", name="Rejected events").click()
        choose(page, "Type", "referral.received", typed="referral")
        page.get_by_text("Rows 1 to 3 of 3").wait_for(timeout=30_000)
        # the form: gender is a choice from the contract's list, not JSON to edit
        # its label lists the choices and says what was sent, which the list cannot show
        gender = page.get_by_label("payload.gender: one of: female, male, other, unknown"
                                   ).first
        assert 'you sent "woman"' in gender.get_attribute("aria-label") or page.get_by_text(
            'payload.gender: one of: female, male, other, unknown (you sent "woman")'
        ).count() == 1
        gender.click()
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


def manage_user(page: Any, username: str) -> None:
    """On the administrator's "Users and roles" tab, pick ``username`` to manage: typed
    to filter the list, then the option named exactly that."""
    page.get_by_role("tab", name="Users and roles").click()
    page.get_by_text("Manage a user").first.wait_for(timeout=30_000)
    for attempt in (1, 2):
        # A run still drawing replaces the list as it opens (under load, 1 Dec: "element
        # was detached from the DOM" until the click timed out): wait for the page, and
        # open the list again if it was replaced all the same.
        settled(page)
        page.get_by_label("User", exact=True).first.click()
        page.keyboard.type(username)
        try:
            page.get_by_role("option", name=username, exact=True).click(timeout=10_000)
            return
        except PlaywrightTimeoutError:
            if attempt == 2:
                raise
            page.keyboard.press("Escape")


def test_an_administrator_disables_enables_resets_and_unlocks_a_user(
        demo_home: Path, demo_url: str) -> None:
    with browser_page() as page:
        page.set_viewport_size({"width": 1366, "height": 768})
        sign_in(page, demo_url, "admin", demo_password("admin"))
        manage_user(page, "racs")
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


def test_an_administrator_unlocks_a_user_the_throttle_locked(demo_home: Path,
                                                              demo_url: str) -> None:
    """Five wrong passwords lock the user from that browser's address, the right one
    included; the administrator sees the lock, unlocks, and the user signs in. The count
    is in the event store: the page's server and this test's process read the same."""
    with browser_page() as guesser:
        guesser.set_viewport_size({"width": 1366, "height": 768})
        # a second browser context: its own cookies, the same address
        admin = guesser.context.browser.new_page(viewport={"width": 1366, "height": 768})
        throttle = SignInThrottle(Home(demo_home).open())
        guesser.goto(demo_url)
        for n in range(6):
            submit_sign_in(guesser, "scrutiny",
                           demo_password("scrutiny") if n == 5 else f"wrong-{n}")
            if n < 5:  # each attempt is counted in the store before the next is made
                guesser.get_by_text("Unknown user or wrong password").first.wait_for(
                    timeout=30_000)
                for _ in range(300):
                    if throttle.standing("scrutiny", datetime.now(UTC))[0] == n + 1:
                        break
                    guesser.wait_for_timeout(100)
        # the right password, from the locked address, is refused unchecked
        guesser.get_by_text("Too many failed sign-ins").first.wait_for(timeout=30_000)
        settled(guesser)
        assert guesser.get_by_text("Signed in as scrutiny").count() == 0
        screenshot(guesser, "sign-in-throttled")
        assert throttle.standing("scrutiny", datetime.now(UTC))[0] == 5
        sign_in(admin, demo_url, "admin", demo_password("admin"))
        manage_user(admin, "scrutiny")
        admin.get_by_text("5 failed sign-ins in the last 15 minutes; locked from").wait_for(
            timeout=30_000)
        screenshot(admin, "admin-user-locked")
        admin.get_by_role("button", name="Unlock sign-in").click()
        admin.get_by_text("Unlocked scrutiny (5 failed sign-ins forgotten)").wait_for(
            timeout=30_000)
        admin.get_by_text("No failed sign-in in the last 15 minutes").wait_for(timeout=30_000)
        sign_in(guesser, demo_url, "scrutiny", demo_password("scrutiny"))
    assert throttle.standing("scrutiny", datetime.now(UTC)) == (0, {})
    with Home(demo_home).projected() as connection:
        audited = connection.execute(
            "SELECT actor FROM audit WHERE subject = 'scrutiny' AND action = 'sign-in unlocked'"
        ).fetchall()
    assert audited and audited[-1][0].endswith("admin")


def test_rejections_whose_cause_is_fixed_are_resubmitted_all_at_once(
        demo_home: Path, demo_url: str, tmp_path: Path) -> None:
    """Closures sent before their referrals are rejected (no open case); once the
    referrals are in, one click sends every filtered rejection again, and each is
    accepted."""
    closures = "event_id,type,occurred_at,case,reason\r\n" + "".join(
        f"shut-{n},case.closed,2{n}/03/2016,RACS-70{n}0,support_completed\r\n" for n in (1, 2))
    referrals = "event_id,type,occurred_at,case,source,client,age_band,gender,historic\r\n" \
        + "".join(f"open-{n},referral.received,0{n}/03/2016,RACS-70{n}0,police,child,11-15,"
                  "female,false\r\n" for n in (1, 2))
    (tmp_path / "closures.csv").write_text(closures, encoding="utf-8")
    (tmp_path / "referrals.csv").write_text(referrals, encoding="utf-8")
    # the demo's password again (the administrator's test resets it)
    Home(demo_home).open().reset_password("racs", demo_password("racs"), by="test")
    with browser_page() as page:
        page.set_viewport_size({"width": 1366, "height": 768})
        sign_in(page, demo_url, "racs", demo_password("racs"))
        submit_return(page, tmp_path / "closures.csv", "2 of 2 rows have a problem",
                      "Submitted: 0 accepted, 0 duplicate, 2 rejected")
        settled(page)
        submit_return(page, tmp_path / "referrals.csv", "All 2 rows would be accepted",
                      "Submitted: 2 accepted, 0 duplicate, 0 rejected")
        page.get_by_role("tab", name="Rejected events").click()
        choose(page, "Reason", "no_open_case", typed="no_open_case")
        choose(page, "Type", "case.closed", typed="case.closed")
        button = page.get_by_role("button", name=re.compile(r"Resubmit all [0-9,]+ as they are"))
        button.wait_for(timeout=30_000)
        settled(page)
        screenshot(page, "agency-rejected-resubmit-all")
        button.click()
        page.get_by_text(re.compile(r"Resubmitted [0-9,]+: 2 accepted")).wait_for(
            timeout=60_000)
        screenshot(page, "agency-rejected-resubmitted")
    with Home(demo_home).projected() as connection:
        _, kept = own_rejections(connection, "racs", RejectedFilter(type="case.closed",
                                                                    status=None))
    assert {r["event_id"]: r["status"] for r in kept if r["event_id"].startswith("shut-")} \
        == {"shut-1": "resubmitted", "shut-2": "resubmitted"}
