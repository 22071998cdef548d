"""Driving the served scorecard in headless Chromium (Debian's, never a downloaded one)."""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update",
                 "--disable-sync"]
SCREENSHOTS = Path(__file__).parents[2] / "test-output" / "screenshots"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


@contextmanager
def served(scorecard: str, home: Path, *, port: int | None = None,
           cwd: Path | None = None) -> Iterator[str]:
    """``scorecard ui`` for ``home`` on ``port`` (a free one by default), until the block
    ends; run in ``cwd`` when given (Streamlit reads ``.streamlit/secrets.toml`` there)."""
    port = port or free_port()
    env = dict(os.environ, SCORECARD_HOME=str(home))
    server = subprocess.Popen([scorecard, "ui", "--port", str(port)], env=env, cwd=cwd,
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                              start_new_session=True)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                with urllib.request.urlopen(f"{url}/_stcore/health", timeout=2) as response:
                    if response.read() == b"ok":
                        break
            except OSError:
                time.sleep(0.3)
        yield url
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        server.wait(timeout=20)


@contextmanager
def browser_page() -> Iterator[Any]:
    playwright = pytest.importorskip("playwright.sync_api")
    if not Path(CHROMIUM).exists():
        pytest.fail("Debian's chromium is not installed: run 'make test', which installs it")
    with playwright.sync_playwright() as driver:
        chromium = driver.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            yield chromium.new_page(viewport={"width": 1400, "height": 1400})
        finally:
            chromium.close()


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
    page.get_by_role("textbox", name="Username").fill(username)
    page.get_by_role("textbox", name="Password").fill(password)
    page.get_by_role("button", name="Sign in").click()
    page.get_by_text(f"Signed in as {username}").wait_for(timeout=30_000)


def choose(page: Any, label: str, option_text: str) -> None:
    """Pick an option of a Streamlit selectbox by its label and part of the option text."""
    page.get_by_label(label, exact=True).first.click()
    page.get_by_role("option").filter(has_text=option_text).first.click()


def grid_row(page: Any, text: str) -> Any:
    return page.locator("[role=row]", has_text=text).first
