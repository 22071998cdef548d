"""The embedded default under kill -9: a push killed mid-file and pushed again applies
every valid event exactly once and keeps every invalid one once."""

from __future__ import annotations

import os
import random
import signal
import sqlite3
import subprocess
import time
from pathlib import Path

import duckdb

from scorecard.bootstrap import Home
from tests.e2e.test_command_line import SCORECARD
from tests.support import event, write_jsonl

VALID, INVALID = 20_000, 400


def stored_events(home: Home) -> int:
    """How many events the store holds, read while a push may be writing."""
    try:
        with sqlite3.connect(f"file:{home.event_store_path}?mode=ro", uri=True,
                             timeout=1) as connection:
            row = connection.execute("SELECT count(*) FROM stored_events").fetchone()
    except sqlite3.Error:
        return 0
    return int(row[0])


def test_a_push_killed_twice_then_repeated_counts_everything_once(tmp_path: Path) -> None:
    home = Home(tmp_path / "home")
    env = dict(os.environ, SCORECARD_HOME=str(home.path))
    key = tmp_path / "racs.key"
    subprocess.run([SCORECARD, "agency", "add", "racs", "--name", "RACS", "--sector",
                    "voluntary", "--key-file", str(key)], env=env, check=True,
                   capture_output=True)
    messages = [event("helpline.contact", f"h-{n}", "2015-10-01") for n in range(VALID)]
    bad = [event("helpline.contact", f"bad-{n}", "2015-10-01", channel="fax")
           for n in range(INVALID)]
    lines = messages + bad
    random.Random(5).shuffle(lines)
    path = write_jsonl(tmp_path / "big.jsonl", lines)
    push = [SCORECARD, "push", str(path), "--agency", "racs", "--key-file", str(key)]

    kills = 0
    for stored_at_least in (4_000, 9_000):  # part-way through the file, after some batches
        process = subprocess.Popen(push, env=env, stdout=subprocess.DEVNULL,
                                   stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 120
        while process.poll() is None and time.monotonic() < deadline:
            if stored_events(home) >= stored_at_least:
                process.send_signal(signal.SIGKILL)
                kills += 1
                break
            time.sleep(0.02)
        process.wait()
    done = subprocess.run(push, env=env, capture_output=True, text=True, check=True)
    assert kills == 2, "a push finished before it could be killed"
    summary = done.stdout.strip().splitlines()[-1]
    accepted, duplicate, rejected = (int(part.split()[1]) for part in summary.split(", "))
    assert accepted + duplicate == VALID and rejected == INVALID
    assert duplicate > 0  # the killed pushes had recorded some batches

    subprocess.run([SCORECARD, "project"], env=env, check=True, capture_output=True)
    with duckdb.connect(str(home.readmodel_path), read_only=True) as connection:
        assert connection.execute(
            "SELECT count(*), count(DISTINCT event_id) FROM facts").fetchone() == (VALID, VALID)
        assert connection.execute("SELECT count(*) FROM rejections").fetchone() == (INVALID,)
