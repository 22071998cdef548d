"""Single sign-on end to end in Chromium: a real OpenID Connect provider on loopback (the
certified ``oidc-provider`` from npm, ``tests/e2e/oidc/``), the scorecard's page signing
people in through it with Streamlit's ``st.login``, and roles taken from a claim.

The person signs in on the provider's own pages (sign-in, then consent); the provider
sends the browser back with a code, Streamlit exchanges it and checks the ID token, and
the page maps the ``scorecard_role`` claim to a role. An account whose claim maps to no
role signs in at the provider and is still refused by the scorecard.
"""

from __future__ import annotations

import json
import os
import secrets
import select
import shutil
import signal
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.e2e.browser import browser_page, screenshot, served
from tests.e2e.test_command_line import SCORECARD
from tests.e2e.test_sessions_in_the_browser import REFUSED, status
from tests.loopback import free_port

OIDC = Path(__file__).parent / "oidc"
READY_SECONDS = 30  # the provider starts in well under a second
UPLOAD = "/_stcore/upload_file/some-session/some-file"
ACCOUNTS = {
    "chair": {"email": "chair@example.org", "name": "Board chair", "scorecard_role": "board"},
    "visitor": {"email": "visitor@example.org", "name": "A visitor",
                "scorecard_role": "volunteer"},
    "officer": {"email": "officer@racs.example.org", "name": "RACS officer",
                "scorecard_role": "agency", "scorecard_agency": "racs"},
}


def identity_cookie(page: Any) -> str:
    """Streamlit's signed identity cookie(s), as a Cookie header for a request made
    outside the browser."""
    return "; ".join(f"{c['name']}={c['value']}" for c in page.context.cookies()
                     if c["name"].startswith("_streamlit_user"))


@pytest.fixture
def provider(tmp_path: Path) -> Iterator[dict[str, Any]]:
    """The OIDC provider on a free loopback port, its client registered for a scorecard
    page on another free port."""
    node = shutil.which("node")
    if node is None or not (OIDC / "node_modules" / "oidc-provider").is_dir():
        pytest.fail("the OIDC provider is not installed: run 'make oidc-provider' (make test "
                    "does), which installs it with npm ci")
    port, page_port = free_port(), free_port()
    config = {"client_id": "scorecard-page", "client_secret": secrets.token_hex(24),
              "redirect_uri": f"http://127.0.0.1:{page_port}/oauth2callback",
              "role_claim": "scorecard_role", "agency_claim": "scorecard_agency",
              "accounts": ACCOUNTS}
    log = (tmp_path / "oidc-provider.log").open("w")
    process = subprocess.Popen([node, str(OIDC / "provider.js"), str(port)], cwd=OIDC,
                               stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=log,
                               text=True, start_new_session=True)
    try:
        assert process.stdin is not None and process.stdout is not None
        process.stdin.write(json.dumps(config))
        process.stdin.close()
        # Never wait for ever: a provider that hangs fails the test with its log.
        ready = select.select([process.stdout], [], [], READY_SECONDS)[0]
        assert ready and process.stdout.readline().strip() == "ready", (
            f"the OIDC provider was not ready within {READY_SECONDS} s: "
            + (tmp_path / "oidc-provider.log").read_text())
        yield config | {"issuer": f"http://127.0.0.1:{port}", "page_port": page_port}
    finally:
        os.killpg(process.pid, signal.SIGTERM)
        process.wait(timeout=20)
        log.close()


@pytest.fixture
def site(tmp_path: Path, provider: dict[str, Any]) -> Path:
    """Where the page runs: its ``.streamlit/secrets.toml`` with the ``[auth]`` section."""
    folder = tmp_path / "site"
    (folder / ".streamlit").mkdir(parents=True)
    (folder / ".streamlit" / "secrets.toml").write_text(f"""
[auth]
redirect_uri = "{provider['redirect_uri']}"
cookie_secret = "{secrets.token_hex(32)}"
client_id = "{provider['client_id']}"
client_secret = "{provider['client_secret']}"
server_metadata_url = "{provider['issuer']}/.well-known/openid-configuration"
client_kwargs = {{ scope = "openid email profile scorecard", prompt = "login" }}
""", encoding="utf-8")
    return folder


@pytest.fixture
def home(tmp_path: Path) -> Path:
    folder = tmp_path / "home"
    env = dict(os.environ, SCORECARD_HOME=str(folder))
    subprocess.run([SCORECARD, "init"], env=env, check=True, capture_output=True)
    subprocess.run([SCORECARD, "project"], env=env, check=True, capture_output=True)
    return folder


def sign_in_at_provider(page: Any, url: str, login: str) -> None:
    """From the scorecard's sign-in page through the provider's sign-in and consent."""
    page.goto(url)
    page.get_by_role("button", name="Sign in with single sign-on").click()
    page.locator("input[name=login]").wait_for(timeout=30_000)
    assert page.url.startswith("http://127.0.0.1:") and "/interaction/" in page.url
    page.locator("input[name=login]").fill(login)
    page.locator("input[name=password]").fill("any password: the provider's test page")
    page.get_by_role("button", name="Sign-in").click()
    page.get_by_role("button", name="Continue").click()  # consent to the scopes


def test_a_board_member_signs_in_with_the_provider_and_a_claim_without_a_role_is_refused(
        provider: dict[str, Any], site: Path, home: Path) -> None:
    with served(SCORECARD, home, port=provider["page_port"], cwd=site) as url:
        with browser_page() as page:
            sign_in_at_provider(page, url, "chair")
            page.get_by_text("Signed in as sso:chair@example.org (board)").wait_for(
                timeout=30_000)
            heading = page.get_by_role("heading",
                                       name="Rotherham Child Sexual Exploitation Delivery Plan")
            heading.first.wait_for(timeout=30_000)
            assert page.get_by_role("link", name="Board scorecard").count() >= 1
            assert page.get_by_role("link", name="Administration").count() == 0
            screenshot(page, "single-sign-on-board")
            # the server's guard reads the same claims: a board member may fetch media,
            # not upload; a cookie not signed with the page's secret is nobody's
            board = identity_cookie(page)
            assert status(f"{url}/media/0123456789abcdef.key", cookie=board)[0] == 404
            assert status(f"{url}{UPLOAD}", "PUT", board) == REFUSED
            forged = board.replace(board.split("=", 1)[1][:8], "AAAAAAAA", 1)
            assert status(f"{url}/media/0123456789abcdef.key", cookie=forged) == REFUSED

        with browser_page() as page:
            sign_in_at_provider(page, url, "officer")
            page.get_by_text("Signed in as sso:officer@racs.example.org (agency for racs)"
                             ).wait_for(timeout=30_000)
            assert status(f"{url}{UPLOAD}", "PUT", identity_cookie(page)) != REFUSED

        with browser_page() as page:  # a new browser: no cookies of the board member's
            sign_in_at_provider(page, url, "visitor")
            page.get_by_text("has no scorecard role").wait_for(timeout=30_000)
            assert "scorecard_role" in page.get_by_text("has no scorecard role").inner_text()
            page.goto(f"{url}/board")
            page.get_by_text("has no scorecard role").wait_for(timeout=30_000)
            assert page.get_by_text("Signed in as").count() == 0
            assert page.get_by_role("heading", name="Rotherham Child Sexual Exploitation "
                                    "Delivery Plan").count() == 0
            screenshot(page, "single-sign-on-refused")
            visitor = identity_cookie(page)
            assert visitor  # signed in at the provider, and still refused here
            assert status(f"{url}/media/0123456789abcdef.key", cookie=visitor) == REFUSED
