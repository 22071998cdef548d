"""``scorecard ui`` runs the projector and the page as one: both start, and SIGTERM to the
command or Ctrl-C at its terminal (SIGINT to the process group) stops both."""

from __future__ import annotations

import os
import signal
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from tests.e2e.test_command_line import SCORECARD
from tests.loopback import streamlit_page


def children(pid: int) -> list[int]:
    found = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
    return [int(child) for child in found]


def alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except FileNotFoundError:
        return False
    return state != "Z"


def command_line(pid: int) -> str:
    return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode()


@contextmanager
def serving(home: Path) -> Iterator[tuple[subprocess.Popen[bytes], list[int]]]:
    """``scorecard ui`` once the page answers, and its child processes; the whole group
    is ended after the block (if the test has not ended it)."""
    env = dict(os.environ, SCORECARD_HOME=str(home))
    subprocess.run([SCORECARD, "init"], env=env, check=True, capture_output=True)
    with streamlit_page([SCORECARD, "ui"], env) as page:
        members = children(page.process.pid)
        lines = [command_line(pid) for pid in members]
        assert any("project --follow" in line for line in lines), lines
        assert any("streamlit run" in line for line in lines), lines
        assert (home / "snapshots" / "published.json").exists()
        yield page.process, members


@pytest.mark.parametrize("how", ["SIGTERM to the command", "Ctrl-C at the terminal"])
def test_the_projector_and_the_page_stop_together(tmp_path: Path, how: str) -> None:
    with serving(tmp_path / "home") as (server, members):
        if how == "SIGTERM to the command":
            server.send_signal(signal.SIGTERM)
        else:
            os.killpg(server.pid, signal.SIGINT)
        assert server.wait(timeout=30) == 0
        deadline = time.monotonic() + 10
        while any(alive(pid) for pid in members):
            assert time.monotonic() < deadline, [command_line(p) for p in members if alive(p)]
            time.sleep(0.1)


def test_a_member_that_dies_stops_the_others(tmp_path: Path) -> None:
    with serving(tmp_path / "home") as (server, members):
        projector = next(p for p in members if "project --follow" in command_line(p))
        os.kill(projector, signal.SIGKILL)
        assert server.wait(timeout=30) != 0
        deadline = time.monotonic() + 10
        while any(alive(pid) for pid in members):
            assert time.monotonic() < deadline
            time.sleep(0.1)
