"""``scorecard demo`` builds the home and ``scorecard ui`` serves it on localhost."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import time
import urllib.request
from pathlib import Path

from tests.e2e.test_command_line import SCORECARD


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


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

    port = free_port()
    server = subprocess.Popen([SCORECARD, "ui", "--port", str(port)], env=env,
                              stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                              start_new_session=True)
    try:
        deadline = time.monotonic() + 60
        health = ""
        while time.monotonic() < deadline and health != "ok":
            try:
                health = get(f"http://127.0.0.1:{port}/_stcore/health")
            except OSError:
                time.sleep(0.3)
        assert health == "ok"
        assert "<title>" in get(f"http://127.0.0.1:{port}/")
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        server.wait(timeout=20)
