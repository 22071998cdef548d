"""``private_file`` narrows a store's mode without touching the locks a process holds on
it. It used to open and close the file: closing any descriptor of a file drops every
POSIX lock the process holds on it, SQLite's among them, so another process could write
or reset the write-ahead log under a transaction (the benchmark's "database disk image
is malformed" in its freshness step, where processes reopened the event store)."""

from __future__ import annotations

import sqlite3
import subprocess
import sys
from pathlib import Path

from scorecard.access import private_file

OPEN_AND_CLOSE = """
import sqlite3, sys
connection = sqlite3.connect(sys.argv[1])
connection.execute("SELECT count(*) FROM t").fetchone()
connection.close()
"""


def test_narrowing_an_open_store_keeps_its_locks(tmp_path: Path) -> None:
    """While this process has the store open, SQLite holds a shared lock on the file: the
    last process to close it checkpoints and deletes the write-ahead log, and the lock
    tells another process that it is not the last."""
    path = tmp_path / "events.sqlite"
    private_file(path)
    connection = sqlite3.connect(path, isolation_level=None)
    connection.execute("PRAGMA journal_mode=WAL")
    connection.execute("CREATE TABLE t (a INTEGER)")
    connection.execute("INSERT INTO t VALUES (1)")
    log = Path(f"{path}-wal")
    assert log.exists()
    private_file(path)
    subprocess.run([sys.executable, "-c", OPEN_AND_CLOSE, str(path)], check=True)
    assert log.exists(), "another process deleted the log from under an open store"
    assert path.stat().st_mode & 0o777 == 0o600
    connection.close()
