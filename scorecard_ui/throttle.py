"""Sign-in throttling for local users: guessing a password should take years, not minutes.

A failed sign-in is counted against its username *and* the address it came from. After
``LIMIT`` failures for one (username, source) within ``WINDOW``, that pair is refused,
right password or not, until enough of them are ``WINDOW`` old; after ``NAME_LIMIT``
failures for the username from all sources together, the username is refused from
everywhere the same way.

The trade-off, stated: locking by username alone let an anonymous browser lock anyone
out for fifteen minutes with five wrong passwords. Locking by (username, source) confines
that to the guesser's own address, at the price that an attacker with many addresses gets
``LIMIT`` guesses per address; ``NAME_LIMIT`` caps that total (so someone with
``NAME_LIMIT / LIMIT`` addresses can still lock a user out everywhere; an administrator
can unlock). Behind a reverse proxy every browser has the proxy's address unless
``SCORECARD_TRUST_FORWARDED_FOR`` says to take the client's from ``X-Forwarded-For``.

Check and count are one step: ``begin`` counts an attempt as a failure, in the same
``BEGIN IMMEDIATE`` transaction as the check, before the password is checked; a right
password then clears the pair's failures. However many sign-ins run at once, in however
many processes, no more than ``LIMIT`` passwords are checked per pair in a window.
Failures live in ``access.sqlite`` under the home (``scorecard.access``), so restarts and
every page process on the host share them. Unknown usernames are counted the same way,
so a lock reveals nothing about who exists.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Protocol

from domain.application import Scorecard
from scorecard.access import AccessStore

LIMIT = 5
NAME_LIMIT = 50
WINDOW = timedelta(minutes=15)


@dataclass(frozen=True)
class Attempt:
    """A sign-in the throttle let through, already counted as a failure."""

    row: int
    username: str
    source: str


@dataclass(frozen=True)
class Locked:
    until: datetime


class SignInThrottle:
    """Recent failed sign-ins per (username, source), shared through the access store."""

    def __init__(self, store: AccessStore, limit: int = LIMIT, name_limit: int = NAME_LIMIT,
                 window: timedelta = WINDOW) -> None:
        self.store = store
        self.limit = limit
        self.name_limit = name_limit
        self.window = window

    def begin(self, username: str, source: str, now: datetime) -> Attempt | Locked:
        """Let one attempt through, counted as a failure until ``succeeded``, or say until
        when the pair is locked."""
        since = (now - self.window).timestamp()
        with self.store.transaction() as connection:
            connection.execute("DELETE FROM sign_in_failures WHERE at <= ?", [since])
            times = [at for at, in connection.execute(
                "SELECT at FROM sign_in_failures WHERE username = ? AND source = ? "
                "ORDER BY at", [username, source])]
            everywhere = [at for at, in connection.execute(
                "SELECT at FROM sign_in_failures WHERE username = ? ORDER BY at",
                [username])]
            until = max(self._until(times, self.limit), self._until(everywhere,
                                                                    self.name_limit))
            if until:
                return Locked(datetime.fromtimestamp(until, UTC) + self.window)
            row = connection.execute(
                "INSERT INTO sign_in_failures (username, source, at) VALUES (?, ?, ?)",
                [username, source, now.timestamp()]).lastrowid
        return Attempt(int(row or 0), username, source)

    @staticmethod
    def _until(times: list[float], limit: int) -> float:
        """The time the oldest failure that keeps the count at ``limit`` was made (0 when
        under the limit): the lock lasts until that one is a window old."""
        return times[len(times) - limit] if len(times) >= limit else 0.0

    def succeeded(self, attempt: Attempt) -> None:
        """The password was right: forget this pair's failures."""
        with self.store.transaction() as connection:
            connection.execute("DELETE FROM sign_in_failures WHERE username = ? AND source = ?",
                               [attempt.username, attempt.source])

    def locked_until(self, username: str, source: str, now: datetime) -> datetime | None:
        since = (now - self.window).timestamp()
        with self.store.transaction() as connection:
            times = [at for at, in connection.execute(
                "SELECT at FROM sign_in_failures WHERE username = ? AND source = ? AND at > ? "
                "ORDER BY at", [username, source, since])]
            everywhere = [at for at, in connection.execute(
                "SELECT at FROM sign_in_failures WHERE username = ? AND at > ? ORDER BY at",
                [username, since])]
        until = max(self._until(times, self.limit), self._until(everywhere, self.name_limit))
        return datetime.fromtimestamp(until, UTC) + self.window if until else None

    def unlock(self, username: str) -> int:
        """Forget every failure for the username (an administrator's decision, audited by
        the caller); how many were forgotten."""
        with self.store.transaction() as connection:
            cursor = connection.execute("DELETE FROM sign_in_failures WHERE username = ?",
                                        [username])
            return cursor.rowcount


class KnownUser(Protocol):
    """What a sign-in gives: an event store's ``User`` or a sign-in list's entry."""

    @property
    def username(self) -> str: ...

    @property
    def role(self) -> str: ...


class ChecksPasswords(Protocol):
    def sign_in(self, username: str, password: str) -> KnownUser | None: ...


def attempt_sign_in(app: ChecksPasswords, throttle: SignInThrottle, username: str,
                    password: str, source: str, now: datetime) -> KnownUser | Locked | None:
    """The user if the password is theirs; ``Locked`` if the throttle refuses the attempt
    without checking it; None for a wrong password or an unknown or disabled user."""
    attempt = throttle.begin(username, source, now)
    if isinstance(attempt, Locked):
        return attempt
    user = app.sign_in(username, password)
    if user is not None:
        throttle.succeeded(attempt)
    return user


def unlock_sign_in(app: Scorecard, throttle: SignInThrottle, username: str, by: str,
                   at: datetime) -> int:
    """An administrator clears a user's failed sign-ins, from every address, and the
    audit records who did it (``sign-in unlocked``); how many failures were forgotten."""
    app.record_sign_in_unlock(username, by=by, at=at)
    return throttle.unlock(username)
