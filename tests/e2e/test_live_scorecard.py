"""The board's live view: an event pushed by another process appears without a reload."""

from __future__ import annotations

import json
import os
import subprocess
import time
from pathlib import Path

from scorecard_ui.view_state import TODAY_CHOICE
from tests.e2e.browser import browser_page, choose, screenshot, served, sign_in, table_cell
from tests.e2e.test_command_line import SCORECARD
from tests.support import event, write_jsonl

VALUE = "Value so far"
LAST_MONTH = "2018-03-01"  # the bundled plan has ended: live is its last day, 31 Mar 2018


def test_an_accepted_event_reaches_the_open_page(tmp_path: Path) -> None:
    home = tmp_path / "home"
    env = dict(os.environ, SCORECARD_HOME=str(home))
    key = tmp_path / "n.key"
    subprocess.run([SCORECARD, "agency", "add", "nspcc-helpline", "--name", "NSPCC helpline",
                    "--sector", "voluntary", "--key-file", str(key)], env=env, check=True)
    subprocess.run([SCORECARD, "user", "add", "chair", "--role", "board"],
                   env={**env, "SCORECARD_PASSWORD": "chair-password"}, check=True)
    with served(SCORECARD, home) as url, browser_page() as page:
        sign_in(page, url, "chair", "chair-password")
        choose(page, "Replay a meeting", TODAY_CHOICE)
        page.get_by_text("Scorecard as at 31 Mar 2018", exact=True).wait_for(timeout=30_000)
        assert table_cell(page, "Helpline contacts", VALUE) == "0 events"  # and its link
        pushed = write_jsonl(tmp_path / "today.jsonl", [
            event("helpline.contact", f"h-{n}", LAST_MONTH, agency="nspcc-helpline")
            for n in range(7)])
        started = time.monotonic()
        subprocess.run([SCORECARD, "push", str(pushed), "--agency", "nspcc-helpline",
                        "--key-file", str(key)], env=env, check=True, capture_output=True)
        while not table_cell(page, "Helpline contacts", VALUE).startswith("7"):
            assert time.monotonic() - started < 30, "the page never showed the new events"
            page.wait_for_timeout(100)
        seen_after = time.monotonic() - started
        screenshot(page, "board-live")
        assert table_cell(page, "Helpline contacts", VALUE).startswith("7")
    print(json.dumps({"freshness_seconds_including_push_process": round(seen_after, 2)}))
