"""``scorecard demo`` builds the home and ``scorecard ui`` serves it on localhost."""

from __future__ import annotations

import json
import os
import subprocess
import time
import urllib.request
from pathlib import Path

from tests.e2e.test_command_line import SCORECARD
from tests.loopback import streamlit_page


def get(url: str) -> str:
    with urllib.request.urlopen(url, timeout=5) as response:
        body: bytes = response.read()
        return body.decode("utf-8")


def test_the_demo_builds_and_the_page_is_served(tmp_path: Path) -> None:
    env = dict(os.environ, SCORECARD_HOME=str(tmp_path / "home"))
    started = time.monotonic()
    built = subprocess.run([SCORECARD, "demo", "--no-ui"], env=env, capture_output=True,
                           text=True, timeout=120)
    assert built.returncode == 0, built.stderr
    assert time.monotonic() - started < 60
    report = json.loads(subprocess.run(
        [SCORECARD, "report", "--as-at", "2015-10-31", "--from", "2014-12-01", "--known-at",
         "2015-12-16", "--json"], env=env, capture_output=True, text=True, check=True).stdout)
    assert {m["id"]: m["value"] for m in report["measures"]}["helpline_contacts"] == 194

    with streamlit_page([SCORECARD, "ui"], env) as page:
        assert get(f"{page.url}/_stcore/health") == "ok"
        assert "<title>" in get(f"{page.url}/")
