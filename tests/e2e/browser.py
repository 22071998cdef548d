"""Driving the served scorecard in headless Chromium (Debian's, never a downloaded one)."""

from __future__ import annotations

import json
import os
import re
import shutil
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from tests.loopback import streamlit_page

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update",
                 "--disable-sync"]
SCREENSHOTS = Path(__file__).parents[2] / "test-output" / "screenshots"


@contextmanager
def served(scorecard: str, home: Path, *, port: int | None = None,
           cwd: Path | None = None) -> Iterator[str]:
    """``scorecard ui`` for ``home`` on ``port`` (a free one by default), until the block
    ends; run in ``cwd`` when given (Streamlit reads ``.streamlit/secrets.toml`` there)."""
    env = dict(os.environ, SCORECARD_HOME=str(home))
    with streamlit_page([scorecard, "ui"], env, port=port, cwd=cwd) as page:
        yield page.url


class _Chromium:
    """The test process's one Chromium and the Playwright driver that launched it."""

    driver: Any = None
    browser: Any = None


_chromium = _Chromium()


def chromium() -> Any:
    """The test session's Chromium, launched at first use and relaunched if it has died
    (``close_chromium`` ends it). A launch takes seconds of a loaded machine, and a test
    needs none of its own: each test opens its own browser context, with its own
    cookies, storage and viewport, which is what a new browser gave it."""
    playwright = pytest.importorskip("playwright.sync_api")
    if not Path(CHROMIUM).exists():
        pytest.fail("Debian's chromium is not installed: run 'make test', which installs it")
    if _chromium.driver is None:
        _chromium.driver = playwright.sync_playwright().start()
    if _chromium.browser is None or not _chromium.browser.is_connected():
        _chromium.browser = _chromium.driver.chromium.launch(executable_path=CHROMIUM,
                                                             args=CHROMIUM_ARGS)
    return _chromium.browser


def close_chromium() -> None:
    if _chromium.browser is not None:
        _chromium.browser.close()
        _chromium.browser = None
    if _chromium.driver is not None:
        _chromium.driver.stop()
        _chromium.driver = None


@contextmanager
def browser_page(width: int = 1400, height: int = 1400) -> Iterator[Any]:
    """A page in a new browser context of the session's Chromium: no cookie or storage
    of any other test's. Every context opened in the block (a second user's page made
    with ``page.context.browser.new_page()``) is closed with it."""
    browser = chromium()
    before = list(browser.contexts)
    context = browser.new_context(viewport={"width": width, "height": height})
    try:
        yield context.new_page()
    finally:
        for opened in browser.contexts:
            if opened not in before:
                opened.close()


def settled(page: Any, timeout: float = 30_000) -> None:
    """Wait until Streamlit has finished the script's run and drawn what it sent, and no
    new run began meanwhile: the app root says ``notRunning``, no lazily loaded element
    is still a skeleton (date inputs, select boxes and data grids stand as grey boxes
    until their code arrives), no element is marked stale (Streamlit fades those while a
    run is under way: axe then measured the faded text's contrast, under load), the fonts
    have loaded and two frames have been painted since, and a short pause more for the
    data grids (canvas) to draw; and the app root still says ``notRunning`` after all
    that, or it starts again (a tab's click or an address update can start a run)."""
    deadline = time.monotonic() + timeout / 1000
    while True:
        left = max(1.0, (deadline - time.monotonic()) * 1000)
        page.locator("[data-testid=stApp][data-test-script-state=notRunning]").wait_for(
            state="attached", timeout=left)
        page.wait_for_function(
            "() => !document.querySelector('[data-testid=stSkeleton], [data-stale=true]')",
            timeout=left)
        page.evaluate("""async () => {
            await document.fonts.ready;
            await new Promise(done => requestAnimationFrame(() => requestAnimationFrame(done)));
        }""")
        page.wait_for_timeout(250)
        still = page.locator("[data-testid=stApp][data-test-script-state=notRunning]").count()
        if still or time.monotonic() > deadline:
            return


def cell(page: Any, row_text: str, column: int) -> str:
    """The text of a data-grid cell, found by the text of its row."""
    row = page.locator("[role=row]", has_text=row_text).first
    text: str = row.locator("[role=gridcell]").nth(column).inner_text()
    return text.strip()


def screenshot(page: Any, name: str) -> None:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / f"{name}.png"), full_page=True)


def sign_in(page: Any, url: str, username: str, password: str) -> None:
    page.goto(url)
    submit_sign_in(page, username, password)
    page.get_by_text(f"Signed in as {username}").wait_for(timeout=30_000)


def submit_sign_in(page: Any, username: str, password: str) -> None:
    """Fill in the sign-in form on the page and press "Sign in", whatever it answers."""
    page.get_by_role("textbox", name="Username").fill(username)
    page.get_by_role("textbox", name="Password").fill(password)
    page.get_by_role("button", name="Sign in").click()


def sign_out(page: Any) -> None:
    """Press "Sign out" and wait for the sign-in form."""
    page.get_by_role("button", name="Sign out").click()
    page.get_by_role("button", name="Sign in").wait_for(timeout=30_000)


def choose(page: Any, label: str, option_text: str, typed: str = "") -> None:
    """Pick an option of a Streamlit selectbox by its label and part of the option text;
    ``typed`` is typed into the box first, to filter a long list down."""
    page.get_by_label(label, exact=True).first.click()
    if typed:
        page.keyboard.type(typed)
    page.get_by_role("option").filter(has_text=option_text).first.click()


def grid_row(page: Any, text: str, caption: str | None = None) -> Any:
    """The first row holding ``text``, of a data grid or of an HTML table (whose ``<tr>``
    is a row to a screen reader without saying so); with ``caption``, of that table only
    (a page may show several tables naming the same thing)."""
    if caption is not None:
        table = page.locator("table.sc-table", has=page.locator("caption", has_text=caption))
        return table.locator("tbody tr", has_text=text).first
    return page.locator("[role=row], table.sc-table tbody tr", has_text=text).first


def table_row(page: Any, row_text: str) -> Any:
    """A row of the pages' HTML tables, by the whole text of its row header."""
    exactly = re.compile(rf"^\s*{re.escape(row_text)}\s*$")
    return page.locator("table.sc-table tbody tr").filter(
        has=page.locator("th[scope=row]", has_text=exactly)).first


def table_cell(page: Any, row_text: str, column: str) -> str:
    """The text of a cell of the pages' HTML tables (the scorecard is real table markup),
    found as a screen reader would: by its row header and its column header."""
    row = table_row(page, row_text)
    row.wait_for(state="attached", timeout=30_000)
    headers = [h.strip() for h in row.locator("xpath=ancestor::table[1]/thead//th")
               .all_inner_texts()]
    text: str = row.locator("th, td").nth(headers.index(column)).inner_text()
    return " ".join(text.split())


# axe-core, pinned by tests/e2e/axe/package-lock.json and installed by `make axe`
AXE_SCRIPT = Path(__file__).parent / "axe" / "node_modules" / "axe-core" / "axe.min.js"
# WCAG 2.0, 2.1 and 2.2 at levels A and AA: what UK public-sector bodies must meet
# (the Public Sector Bodies Accessibility Regulations 2018; docs/accessibility.md)
WCAG_TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22aa"]
BLOCKING = ("serious", "critical")


@dataclass(frozen=True)
class Violation:
    """One axe-core rule broken on a page: the rule, how bad, and where."""

    rule: str
    impact: str
    help: str
    help_url: str
    targets: list[str]
    summaries: list[str]

    def __str__(self) -> str:
        lines = [f"{self.rule} ({self.impact}, {len(self.targets)} nodes): {self.help} "
                 f"[{self.help_url}]"]
        for target, summary in list(zip(self.targets, self.summaries, strict=True))[:12]:
            said = [line.strip() for line in summary.splitlines()
                    if line.strip() and not line.strip().startswith("Fix ")]
            lines.append(f"    {target}: {'; '.join(said)}")
        if len(self.targets) > 12:
            lines.append(f"    ... and {len(self.targets) - 12} more")
        return "\n".join(lines)


def axe_version() -> str:
    """The axe-core the lock pins and `make axe` installed (said in the test's output)."""
    package = AXE_SCRIPT.parent / "package.json"
    version: str = json.loads(package.read_text())["version"]
    return version


def accessibility_violations(page: Any) -> list[Violation]:
    """axe-core's WCAG 2.2 A and AA violations on the page as it is now, every impact.

    The script is injected into every frame (Streamlit draws some components in
    iframes) and run from the top one, which gathers the frames' results."""
    if not AXE_SCRIPT.exists():
        pytest.fail(f"axe-core is not installed at {AXE_SCRIPT}: run `make axe` "
                    "(npm ci --prefix tests/e2e/axe)")
    source = AXE_SCRIPT.read_text(encoding="utf-8")
    for frame in page.frames:
        frame.evaluate(source)
    results = page.evaluate(
        """async (tags) => {
            const result = await axe.run(document, {
                runOnly: {type: "tag", values: tags}, resultTypes: ["violations"]});
            return result.violations.map(v => ({
                rule: v.id, impact: v.impact || "minor", help: v.help, helpUrl: v.helpUrl,
                targets: v.nodes.map(n => n.target.flat(Infinity).join(" >>> ")
                                          + " " + n.html.slice(0, 140)),
                summaries: v.nodes.map(n => n.failureSummary || "")}));
        }""", WCAG_TAGS)
    return [Violation(r["rule"], r["impact"], r["help"], r["helpUrl"], r["targets"],
                      r["summaries"]) for r in results]


def blocking(violations: list[Violation]) -> list[Violation]:
    return [v for v in violations if v.impact in BLOCKING]


def assert_accessible(page: Any, where: str = "") -> list[Violation]:
    """Fail on any serious or critical WCAG 2.2 AA violation, naming each rule, its
    impact, the nodes' selectors and axe's summary of what to fix; returns the lesser
    (moderate, minor) ones for the caller to report."""
    found = accessibility_violations(page)
    bad = blocking(found)
    if bad:
        nodes = sum(len(v.targets) for v in bad)
        pytest.fail(f"{where or page.url}: {nodes} serious or critical WCAG 2.2 AA "
                    f"nodes (axe-core {axe_version()}):\n" + "\n".join(map(str, bad)),
                    pytrace=False)
    return [v for v in found if v.impact not in BLOCKING]
