"""The board's overview as a chair and a councillor use it in Chromium: the answer first,
a measure opened from its row with the same dates, a reload that keeps the view and the
sign-in, and a link sent to someone signed out who then sees only what their role may."""

from __future__ import annotations

from scorecard.demo.build import demo_password
from scorecard_ui.view_state import OWN_DATES_CHOICE
from tests.e2e.browser import (
    assert_accessible,
    browser_page,
    screenshot,
    settled,
    sign_in,
    submit_sign_in,
    table_cell,
    table_row,
)

MEETING = "as_at=2015-11-04"
CSE_CONTACTS = "Helpline contacts about CSE in the area"


def test_from_the_overview_to_a_measure_and_back_by_link(demo_url: str) -> None:
    with browser_page(1366, 768) as page:
        sign_in(page, demo_url, "board", demo_password("board"))
        # The plan ended in 2018: the board opens on its last meeting, as known then.
        page.get_by_text("Scorecard as at 16 Dec 2015", exact=True).wait_for(timeout=30_000)
        settled(page)
        summary = page.get_by_role("list", name="Measures by status").inner_text()
        assert "red" in summary and "green" in summary  # the answer first
        assert page.evaluate("document.documentElement.scrollWidth") <= 1366  # no sideways
        screenshot(page, "overview-board-1366x768")
        assert_accessible(page, "board overview")
        page.set_viewport_size({"width": 1920, "height": 1080})
        settled(page)
        screenshot(page, "overview-board-1920x1080")

        # Another meeting: the address changes with it, so the view can be sent.
        page.goto(f"{demo_url}/?meeting=2015-11-04&{MEETING}&from=2015-04-01&known=2015-11-04")
        page.get_by_text("Scorecard as at 4 Nov 2015", exact=True).wait_for(timeout=30_000)
        settled(page)
        value = table_cell(page, "Helpline contacts", "Value so far")
        # A reload keeps the sign-in and the view.
        page.reload()
        page.get_by_text("Scorecard as at 4 Nov 2015", exact=True).wait_for(timeout=30_000)
        assert page.get_by_text("Signed in as board").count() == 1
        assert table_cell(page, "Helpline contacts", "Value so far") == value
        # A link with dates of no meeting: the sidebar does not name a meeting it is not
        # showing (it named 16 Dec 2015 over 31 Jan 2016).
        page.goto(f"{demo_url}/?as_at=2016-01-31&from=2015-04-01&known=2016-02-15")
        page.get_by_text("Scorecard as at 31 Jan 2016", exact=True).wait_for(timeout=30_000)
        settled(page)
        chosen = page.locator("[data-testid=stSidebar] [data-testid=stSelectbox]").first
        assert OWN_DATES_CHOICE in chosen.inner_html() and "16 Dec 2015:" not in (
            chosen.inner_html())
        assert "meeting=dates" in page.url
        page.goto(f"{demo_url}/?meeting=2015-11-04&{MEETING}&from=2015-04-01&known=2015-11-04")
        page.get_by_text("Scorecard as at 4 Nov 2015", exact=True).wait_for(timeout=30_000)
        settled(page)

        # Every figure leads to the signed events behind it, as known that day.
        page.get_by_role("link", name="The events behind Helpline contacts",
                         exact=True).click()
        page.get_by_role("heading", name="Evidence behind a figure").wait_for(timeout=30_000)
        assert "measure=helpline_contacts" in page.url and MEETING in page.url
        page.go_back()
        page.get_by_text("Scorecard as at 4 Nov 2015", exact=True).wait_for(timeout=30_000)
        settled(page)

        # Drill down: the measure's own page, with the same dates.
        table_row(page, "Helpline contacts").get_by_role("link", name="Helpline contacts",
                                                         exact=True).click()
        page.get_by_role("heading", name="A measure over time").wait_for(timeout=30_000)
        settled(page)
        assert "measure=helpline_contacts" in page.url and MEETING in page.url
        page.get_by_text("As at 4 Nov 2015", exact=False).first.wait_for(timeout=30_000)
        chart = page.get_by_role("img", name="Helpline contacts: value so far")
        assert "The table below the chart gives every value" in (chart.get_attribute("alt")
                                                                  or "")
        assert table_cell(page, "30 Sep 2015", "Value so far (then)")
        screenshot(page, "overview-measure-1920x1080")
        assert_accessible(page, "measure page")
        sent = page.url

    # The link, opened by a councillor who is not signed in: the sign-in, then the same
    # measure and dates, with small numbers suppressed and no cumulative line.
    with browser_page(1366, 768) as page:
        page.goto(sent)
        page.get_by_role("button", name="Sign in").wait_for(timeout=30_000)
        assert page.get_by_text("Helpline contacts").count() == 0
        submit_sign_in(page, "scrutiny", demo_password("scrutiny"))
        page.get_by_role("heading", name="A measure over time").wait_for(timeout=30_000)
        settled(page)
        assert page.get_by_text("a suppressed month is a gap").count() == 1
        assert page.get_by_text("Value so far (then)").count() == 0
        screenshot(page, "overview-measure-scrutiny-1366x768")
        page.goto(f"{demo_url}/board?meeting=2015-11-04&{MEETING}&from=2015-04-01&known=2015-11-04")
        page.get_by_text("Scorecard as at 4 Nov 2015", exact=True).wait_for(timeout=30_000)
        settled(page)
        assert table_cell(page, CSE_CONTACTS, "Value so far").startswith("[c]") or (
            not table_cell(page, CSE_CONTACTS, "Value so far")[0].isdigit()
            or int(table_cell(page, CSE_CONTACTS, "Value so far").split()[0]
                   .replace(",", "")) >= 5)
        assert page.get_by_role("columnheader", name="Exception").count() == 0  # board only
        assert page.get_by_text("or a figure from which one could be worked out, however "
                                "large", exact=False).count() == 1  # what [c] means, here
        # A day that is not a release day: its counts of people are [x], and it says why.
        page.goto(f"{demo_url}/board?{MEETING[:6]}2015-11-20&from=2015-04-01&known=2015-11-20")
        page.get_by_text("Scorecard as at 20 Nov 2015", exact=True).wait_for(timeout=30_000)
        settled(page)
        assert page.get_by_text("20 Nov 2015 is not a release day", exact=False).count() == 1
        screenshot(page, "overview-scrutiny-not-a-release-day-1366x768")
