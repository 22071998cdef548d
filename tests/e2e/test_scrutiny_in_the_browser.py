"""The scrutiny page in Chromium over the demo (issue 15, items 3 and 4): as scrutiny and
as the board it shows then, now and the difference with causes and their effects, in a
real table; the packs it hands out state a hash that verifies, and ``scorecard pack``
rebuilds them byte for byte; the view is in the address; screenshots at 1366×768 and
1920×1080."""

from __future__ import annotations

import csv
import io
import os
import subprocess
from pathlib import Path
from typing import Any

import pytest

from scorecard.demo.build import demo_password
from scorecard.packs import verify
from tests.e2e.browser import browser_page, choose, screenshot, sign_in
from tests.e2e.test_command_line import SCORECARD

SIZES = ((1366, 768), (1920, 1080))



def download(page: Any, name: str) -> bytes:
    with page.expect_download(timeout=60_000) as started:
        page.get_by_role("button", name=name).click()
    path = started.value.path()
    return Path(path).read_bytes()


def provenance(data: bytes) -> dict[str, str]:
    block = data.decode("utf-8").split("\n\n")[0]
    return {row[0]: row[1] for row in list(csv.reader(io.StringIO(block)))[1:]}


def rebuilt(home: Path, out: Path, fields: dict[str, str]) -> dict[str, bytes]:
    """``scorecard pack`` for the same meeting, first day, knowledge time and audience."""
    extra = ["--for", fields["audience"]] if fields["audience"] != "board" else []
    done = subprocess.run(
        [SCORECARD, "pack", "--meeting", fields["meeting"], "--from", fields["events_from"],
         "--known", fields["known_at"], "--out", str(out), *extra],
        env=dict(os.environ, SCORECARD_HOME=str(home)), capture_output=True, text=True,
        check=True)
    paths = [Path(line.split()[0]) for line in done.stdout.splitlines()]
    return {path.suffix: path.read_bytes() for path in paths}


@pytest.mark.parametrize("username", ["scrutiny", "board"])
def test_the_scrutiny_page_explains_and_its_pack_regenerates(
    demo_home: Path, demo_url: str, tmp_path: Path, username: str,
) -> None:
    with browser_page() as page:
        sign_in(page, demo_url, username, demo_password(username))
        if username == "board":
            page.get_by_role("link", name="Scrutiny replay").click()
        page.get_by_role("heading", name="Scrutiny: replay a meeting").wait_for(timeout=30_000)
        choose(page, "Meeting", "4 Nov 2015")
        table = page.locator("table", has=page.locator("caption",
                                                       has_text="Scorecard as at 4 Nov 2015"))
        table.wait_for(timeout=60_000)
        headers = [h.strip() for h in table.locator("thead th").all_inner_texts()]
        assert headers[:4] == ["Measure", "Then", "Now", "Difference"]
        assert "RAG then" in headers and "RAG now" in headers
        assert "meeting=2015-11-04" in page.url and "from=2015-04-01" in page.url
        row = table.locator("tbody tr", has=page.locator("th", has_text="Workers trained "
                                                          "(CSE training and events)"))
        cells = row.locator("td").all_inner_texts()
        then, now, difference = (c.strip() for c in cells[:3])
        assert int(now.split()[0].replace(",", "")) - int(then.split()[0].replace(",", "")) \
            == int(difference.replace(",", "").replace("+", ""))
        assert f"{difference} from returns by Rotherham Local Safeguarding Children Board " \
               "sent after 4 Nov 2015" in cells[-1]
        assert "rlscb" not in table.inner_text()  # names, not codes
        # A table a screen reader reads: nothing is a canvas, nothing scrolls in a box.
        assert page.locator("canvas").count() == 0
        for width, height in SIZES:
            page.set_viewport_size({"width": width, "height": height})
            page.wait_for_timeout(800)
            assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
            screenshot(page, f"scrutiny-page-{username}-{width}x{height}")
            row.scroll_into_view_if_needed()
            page.wait_for_timeout(300)
            screenshot(page, f"scrutiny-table-{username}-{width}x{height}")
            widths = table.locator("thead th").evaluate_all(
                "cells => cells.map(c => c.getBoundingClientRect().width)")
            assert min(widths) >= 48, widths  # no column squeezed to nothing

        csv_data = download(page, "Download the pack as CSV")
        html_data = download(page, "Download the printable pack (HTML)")
        assert verify(csv_data) and verify(html_data)
        fields = provenance(csv_data)
        assert fields["audience"] == username and fields["meeting"] == "2015-11-04"
        assert rebuilt(demo_home, tmp_path / "again", fields) == {".csv": csv_data,
                                                                  ".html": html_data}
        if username == "scrutiny":  # 4 Nov: referrals then were a small count
            assert b"[c]" in csv_data
        else:
            assert b"[c]" not in csv_data.split(b"\n\nsymbol,meaning")[0]

        # The empty window is said, not drawn as zeros.
        page.goto(f"{demo_url}/scrutiny?meeting=2015-09-23&from=2015-10-01")
        page.get_by_text("Nothing to show: events are counted from 1 Oct 2015").wait_for(
            timeout=60_000)
        assert page.locator("table").count() == 0
        page.set_viewport_size({"width": 1366, "height": 768})
        screenshot(page, f"scrutiny-empty-window-{username}")
