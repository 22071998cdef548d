"""Sign-in sessions in headless Chromium against the served page: the HttpOnly cookie,
a reload that keeps the sign-in, grants that work once, and uploads and media refused
to browsers that are not signed in."""

from __future__ import annotations

import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
import streamlit

from scorecard.bootstrap import Home
from tests.e2e.browser import (
    browser_page,
    served,
    settled,
    sign_in,
    sign_out,
    submit_sign_in,
)
from tests.e2e.test_command_line import SCORECARD


@pytest.fixture(scope="module")
def url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The page of a home with an administrator and a councillor, served for the module
    (each test opens its own browser context: no cookie of another test's)."""
    home = Home(tmp_path_factory.mktemp("sessions") / "home")
    app = home.open()
    app.add_user("root", "administrator", None, "root-password", by="test")
    app.add_user("cllr", "scrutiny", None, "cllr-password", by="test")
    with served(SCORECARD, home.path) as address:
        yield address


REFUSED = (403, "sign in first")  # the scorecard's guard, not Streamlit's own checks
STREAMLIT_FONTS = [font.name for font in (Path(streamlit.__file__).parent / "static" / "static"
                                          / "media").glob("*.woff2")
                   if font.name.startswith(("MaterialSymbols", "SourceSansVF"))]


def status(url: str, method: str = "GET", cookie: str = "") -> tuple[int, str]:
    request = urllib.request.Request(url, method=method, data=b"x" if method == "PUT" else None,
                                     headers={"Cookie": cookie} if cookie else {})
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.status, response.read().decode("utf-8", "replace")
    except urllib.error.HTTPError as error:
        return error.code, error.read().decode("utf-8", "replace")


def session_cookie(page: Any) -> dict[str, Any]:
    found: dict[str, Any] = next(c for c in page.context.cookies()
                                 if c["name"] == "scorecard_session")
    return found


def test_a_reload_keeps_the_sign_in_and_only_the_cookie_carries_it(url: str) -> None:
    """Issue 15 item 6 and issue 12 item 4."""
    with browser_page() as page:
        grants: list[str] = []
        page.on("request", lambda r: grants.append(r.url) if "/auth/session" in r.url
                else None)
        sign_in(page, url, "root", "root-password")
        cookie = session_cookie(page)
        assert cookie["httpOnly"] and cookie["sameSite"] == "Strict"
        assert "scorecard_session" not in page.evaluate("document.cookie")  # no script sees it
        page.reload()
        page.get_by_text("Signed in as root").wait_for(timeout=30_000)

        other = page.context.browser.new_page()  # another browser: no cookie
        other.goto(grants[0])  # the sign-in's grant, replayed: it worked once already
        other.get_by_role("button", name="Sign in").wait_for(timeout=30_000)
        assert other.get_by_text("Signed in as").count() == 0
        assert not [c for c in other.context.cookies() if c["name"] == "scorecard_session"]

        sign_out(page)
        assert not [c for c in page.context.cookies() if c["name"] == "scorecard_session"]
        page.reload()
        page.get_by_role("button", name="Sign in").wait_for(timeout=30_000)
        assert page.get_by_text("Signed in as").count() == 0


def test_uploads_and_media_need_a_signed_in_user_who_may_see_them(url: str) -> None:
    """Issue 12 items 5 and 8: a signed-out browser could upload 4 x 50 MB, and a new
    agency key stayed at /media/... for anyone."""
    with browser_page() as page:
        upload = f"{url}/_stcore/upload_file/some-session/some-file"
        assert status(upload, "PUT") == REFUSED
        assert status(f"{url}/media/0123456789abcdef.key") == REFUSED
        assert status(f"{url}/static/media/../../media/0123456789abcdef.key") == REFUSED
        # the page's own fonts are not media: the sign-in page needs them (its icons
        # were drawn as words when they were refused)
        assert STREAMLIT_FONTS
        for font in STREAMLIT_FONTS:
            assert status(f"{url}/static/media/{font}")[0] == 200, font
        sign_in(page, url, "cllr", "cllr-password")
        cllr = f"scorecard_session={session_cookie(page)['value']}"
        assert status(upload, "PUT", cllr) == REFUSED  # scrutiny users upload nothing
        assert status(f"{url}/media/0123456789abcdef.key", cookie=cllr)[0] == 404  # passed on
        page.context.clear_cookies()
        sign_in(page, url, "root", "root-password")
        root = f"scorecard_session={session_cookie(page)['value']}"
        assert status(upload, "PUT", root) != REFUSED  # passed on: Streamlit's checks decide
        assert status(upload, "PUT", "scorecard_session=forged") == REFUSED


def test_a_link_to_a_page_the_role_may_not_use_gives_the_sign_in_then_the_role_s_pages(
        url: str) -> None:
    """Issue 15 item 6: a shared link to the Administration page, opened by a councillor."""
    with browser_page() as page:
        page.goto(f"{url}/admin")
        page.get_by_role("button", name="Sign in").wait_for(timeout=30_000)
        assert page.get_by_role("heading", name="Administration").count() == 0
        submit_sign_in(page, "cllr", "cllr-password")
        page.get_by_text("Signed in as cllr").wait_for(timeout=30_000)
        page.get_by_role("heading", name="Scrutiny: replay a meeting").wait_for(timeout=30_000)
        assert page.get_by_role("heading", name="Administration").count() == 0
        assert page.get_by_role("link", name="Administration").count() == 0


def test_a_link_to_a_page_the_role_may_use_opens_it_after_the_sign_in(url: str) -> None:
    with browser_page() as page:
        sign_in(page, f"{url}/measure", "cllr", "cllr-password")
        # the page then writes its view (measure, dates) into the query string
        page.wait_for_url(lambda address: urlsplit(address).path.endswith("/measure"),
                          timeout=30_000)
        heading = page.get_by_role("heading", name="A measure over time")
        heading.wait_for(timeout=30_000)
        assert urlsplit(page.url).path.endswith("/measure") and heading.is_visible()
        assert page.get_by_role("button", name="Sign in").count() == 0


def test_a_link_to_the_role_s_first_page_opens_it_without_page_not_found(url: str) -> None:
    """Issue 15 item 6: Streamlit serves a role's first page at ``/`` and answered its own
    path (``/admin`` for an administrator) with a "Page not found" dialog over the page,
    both after the sign-in a sent link led to and when a signed-in user opened it."""
    with browser_page() as page:
        sign_in(page, f"{url}/admin", "root", "root-password")
        page.get_by_role("heading", name="Administration").wait_for(timeout=30_000)
        settled(page)
        assert page.url == f"{url}/admin"
        assert page.get_by_text("Page not found").count() == 0
        page.goto(f"{url}/admin")  # the link opened again, signed in
        page.get_by_role("heading", name="Administration").wait_for(timeout=30_000)
        settled(page)
        assert page.get_by_text("Page not found").count() == 0
        page.goto(url)  # the bare address names the page it opens
        page.wait_for_url(f"{url}/admin", timeout=30_000)
        page.get_by_role("heading", name="Administration").wait_for(timeout=30_000)


def test_users_see_no_developer_toolbar(url: str) -> None:
    """Issue 15 item 6: no Deploy button, no developer options, signed out or in."""
    with browser_page() as page:
        page.goto(url)
        page.get_by_role("button", name="Sign in").wait_for(timeout=30_000)
        settled(page)
        assert page.get_by_role("button", name="Deploy").count() == 0
        sign_in(page, url, "root", "root-password")
        settled(page)
        assert page.get_by_role("button", name="Deploy").count() == 0
        assert page.locator("[data-testid=stAppDeployButton]").count() == 0
        page.locator("[data-testid=stMainMenu]").click()
        page.get_by_role("menu").first.wait_for(timeout=10_000)
        menu = page.get_by_role("menu").first.inner_text()
        assert "Rerun" not in menu and "Clear cache" not in menu and "Developer" not in menu
