"""The access store: sign-in sessions, the sign-in list and a read page's failed sign-ins,
in ``access.sqlite`` under the home (created 0600, like everything in the home). Failed
sign-ins on pages that may write are counted in the event store
(``scorecard_ui/throttle.py``), so that the throttle holds on every host.

The sign-in list (``UserDirectory``) is what a read page process checks passwords
against: the projector publishes each user's role, agency, whether disabled and password
hash there from the event store, so a board page signs people in with no event store; a
read page counts its failed sign-ins here (``sign_in_failures``), per host.

Sessions are kept apart from the event store because they are not the record: they
change on every page view, expire within hours, and no figure depends on them. They are
kept on disk, not in a process's memory, so that every page process on the host and
every restart sees the same sessions. Each change runs in one ``BEGIN
IMMEDIATE`` transaction, so a check and the count it depends on cannot be interleaved
by another process or thread.
"""

from __future__ import annotations

import contextlib
import os
import sqlite3
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from domain.users import password_matches, spend_a_check

SCHEMA = """
CREATE TABLE IF NOT EXISTS sessions (
    token_hash TEXT PRIMARY KEY,
    username TEXT NOT NULL,
    created_at REAL NOT NULL,
    last_seen_at REAL NOT NULL
);
CREATE INDEX IF NOT EXISTS sessions_by_name ON sessions (username);
CREATE TABLE IF NOT EXISTS sign_in_failures (
    username TEXT NOT NULL,
    source TEXT NOT NULL,
    at REAL NOT NULL
);
CREATE INDEX IF NOT EXISTS sign_in_failures_by_name ON sign_in_failures (username, at);
CREATE TABLE IF NOT EXISTS directory (
    username TEXT PRIMARY KEY,
    role TEXT NOT NULL,
    agency TEXT,
    disabled INTEGER NOT NULL,
    password_hash TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS session_grants (
    grant_hash TEXT PRIMARY KEY,
    username TEXT NOT NULL,
    expires_at REAL NOT NULL
);
"""


_READY: set[Path] = set()  # stores this process has created or checked (pages rerun often)


def private_file(path: Path) -> None:
    """Create ``path`` (empty) readable by its owner only, or narrow an existing one.

    An existing file is never opened: closing any descriptor of a file drops every POSIX
    lock the process holds on it, so opening a SQLite database the process has open
    would silently release SQLite's locks (another process could then delete the WAL
    from under it, and this one would read a frozen database)."""
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    if not path.exists():
        with contextlib.suppress(FileExistsError):
            os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))
    os.chmod(path, 0o600)


class AccessStore:
    """``access.sqlite``: one short connection per transaction (threads and processes
    share the file, never a connection)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        if path.absolute() in _READY and path.exists():
            return
        private_file(path)
        connection = sqlite3.connect(self.path, timeout=30)
        try:
            connection.executescript(SCHEMA)
        finally:
            connection.close()
        _READY.add(path.absolute())

    @contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        """One ``BEGIN IMMEDIATE`` transaction: it takes the write lock before reading,
        so what it reads cannot change before it commits."""
        connection = sqlite3.connect(self.path, timeout=30, isolation_level=None)
        try:
            connection.execute("BEGIN IMMEDIATE")
            try:
                yield connection
            except BaseException:
                connection.execute("ROLLBACK")
                raise
            connection.execute("COMMIT")
        finally:
            connection.close()


@dataclass(frozen=True)
class ListedUser:
    """A user as the sign-in list has them (the fields a page's sign-in needs)."""

    username: str
    role: str
    agency: str | None
    disabled: bool
    password_hash: str = field(repr=False)


class UserDirectory:
    """The sign-in list the projector publishes into the access store: how a read page
    process, which never opens the event store, checks a password and looks a user up.
    It never rehashes a password (that is a write); the event store's own sign-in does."""

    def __init__(self, store: AccessStore) -> None:
        self.store = store

    def publish(self, users: Iterable[ListedUser]) -> None:
        with self.store.transaction() as connection:
            connection.executemany(
                "INSERT OR REPLACE INTO directory VALUES (?, ?, ?, ?, ?)",
                [(u.username, u.role, u.agency, int(u.disabled), u.password_hash)
                 for u in users])

    def user(self, username: str) -> ListedUser | None:
        with self.store.transaction() as connection:
            row = connection.execute(
                "SELECT username, role, agency, disabled, password_hash FROM directory "
                "WHERE username = ?", [username]).fetchone()
        return ListedUser(row[0], row[1], row[2], bool(row[3]), row[4]) if row else None

    def sign_in(self, username: str, password: str) -> ListedUser | None:
        """The user, if the password is theirs and they are enabled; one full hash either
        way, so the time taken does not tell who exists."""
        user = self.user(username) if username else None
        if user is None:
            spend_a_check(password)
            return None
        if not password_matches(password, user.password_hash) or user.disabled:
            return None
        return user
