"""The page server keeps the read model open between uses, and still lets other processes
have the file: closed after its idle time, as soon as it falls free after its hold time,
and on release (before a rebuild deletes the file)."""

from __future__ import annotations

import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from projections import readmodel

IDLE = 15.0  # long enough for the checking processes to start on a busy machine
OPEN_ELSEWHERE = "import duckdb, sys; duckdb.connect(sys.argv[1]).close()"


def another_process_can_open(path: Path) -> bool:
    """Whether a separate process gets DuckDB's file lock on the read model now."""
    done = subprocess.run([sys.executable, "-c", OPEN_ELSEWHERE, str(path)],
                          capture_output=True, text=True, timeout=60)
    return done.returncode == 0


@pytest.fixture
def kept() -> Iterator[None]:
    readmodel.keep_open(idle=IDLE, hold=120.0)
    try:
        yield
    finally:
        readmodel.keep_open(0, 0)


def test_uses_share_one_kept_connection_until_it_is_idle(tmp_path: Path, kept: None) -> None:
    path = tmp_path / "readmodel.duckdb"
    with readmodel.connect(path) as first:
        first.execute("INSERT INTO tracking VALUES ('probe', 42)")
    with readmodel.connect(path) as second:  # a cursor on the kept connection
        assert readmodel.tracked_position(second, "probe") == 42
        assert not another_process_can_open(path)  # held while in use
    assert not another_process_can_open(path)  # and kept, just after
    time.sleep(IDLE + 2)  # past the idle time: the closer has let the file go
    assert another_process_can_open(path)
    with readmodel.connect(path) as again:  # opened afresh, the write still there
        assert readmodel.tracked_position(again, "probe") == 42


def test_a_busy_connection_is_let_go_once_free_after_its_hold(tmp_path: Path) -> None:
    path = tmp_path / "readmodel.duckdb"
    readmodel.keep_open(idle=60.0, hold=0.5)
    try:
        with readmodel.connect(path):
            time.sleep(0.8)  # held past the hold time, but in use: not closed under it
        assert another_process_can_open(path)  # closed when it fell free
    finally:
        readmodel.keep_open(0, 0)


def test_release_closes_it_at_once(tmp_path: Path, kept: None) -> None:
    path = tmp_path / "readmodel.duckdb"
    with readmodel.connect(path):
        pass
    assert not another_process_can_open(path)
    readmodel.release(path)
    assert another_process_can_open(path)
