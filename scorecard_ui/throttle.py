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

Check and count are one step: ``begin`` counts an attempt as a failure before the
password is checked, and a right password then clears the pair's failures. The count is
recorded in the event store (``domain.users.SignInWindow``, one aggregate per username
and window), so every page process on every host and every restart share it; two
attempts counted at once write the same version of the window, the store refuses one,
and that one decides again on what the other wrote. However many sign-ins run at once,
in however many processes, no more than ``LIMIT`` passwords are checked per pair in a
window. Unknown usernames are counted the same way, so a lock reveals nothing about who
exists. Each attempt is an event: the store grows by the sign-ins made, and a guesser's
rate is held down by the password hash each attempt costs (``domain/users.py``).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Protocol

from eventsourcing.application import AggregateNotFoundError
from eventsourcing.domain import Aggregate
from eventsourcing.persistence import IntegrityError

from domain.application import Scorecard
from domain.errors import CommandError
from domain.users import SignInWindow
from scorecard.access import AccessStore

LIMIT = 5
NAME_LIMIT = 50
WINDOW = timedelta(minutes=15)
CONFLICT_ATTEMPTS = 100  # another writer won the window's next version: decide again


@dataclass(frozen=True)
class Attempt:
    """A sign-in the throttle let through, already counted as a failure."""

    username: str
    source: str
    at: datetime


@dataclass(frozen=True)
class Locked:
    until: datetime


class SignInThrottle:
    """Recent failed sign-ins per (username, source), recorded in the event store."""

    def __init__(self, app: Scorecard, limit: int = LIMIT, name_limit: int = NAME_LIMIT,
                 window: timedelta = WINDOW) -> None:
        self.app = app
        self.limit = limit
        self.name_limit = name_limit
        self.window = window

    def _slot(self, at: datetime) -> int:
        return int(at.timestamp() // self.window.total_seconds())

    def _window(self, username: str, slot: int) -> SignInWindow | None:
        try:
            found: object = self.app.repository.get(SignInWindow.create_id(username, slot))
        except AggregateNotFoundError:
            return None
        return found if isinstance(found, SignInWindow) else None

    def _failures(self, username: str, now: datetime
                  ) -> tuple[SignInWindow, list[tuple[str, datetime]]]:
        """The window ``now`` falls in (new if none), and the failures (source, time)
        still counted at ``now``: this window's and the one before's, less those a
        success or an unlock has cleared since."""
        slot = self._slot(now)
        current = self._window(username, slot) or SignInWindow(username, slot)
        failures: list[tuple[str, datetime]] = []
        for window in (self._window(username, slot - 1), current):
            for what, source, at in (window.entries if window is not None else []):
                if what == "attempt":
                    failures.append((source, at))
                elif what == "succeeded":
                    failures = [f for f in failures if f[0] != source]
                else:
                    failures = []
        return current, [f for f in failures if f[1] > now - self.window]

    def _until(self, times: list[datetime], limit: int) -> datetime | None:
        """Until when ``limit`` failures lock: the oldest that keeps the count at
        ``limit`` is a window old then (None when under the limit)."""
        ordered = sorted(times)
        return ordered[len(ordered) - limit] + self.window if len(ordered) >= limit else None

    def _locked(self, failures: list[tuple[str, datetime]], source: str) -> datetime | None:
        pair = self._until([at for s, at in failures if s == source], self.limit)
        everywhere = self._until([at for _, at in failures], self.name_limit)
        return max((u for u in (pair, everywhere) if u is not None), default=None)

    def _record(self, username: str, now: datetime,
                change: Callable[[SignInWindow, list[tuple[str, datetime]]], object],
                also: Callable[[], list[Aggregate]] | None = None) -> object:
        """Apply ``change`` to the current window and save it, in one transaction with
        what ``also`` changes, deciding both again whenever another writer saved first."""
        for _ in range(CONFLICT_ATTEMPTS):
            window, failures = self._failures(username, now)
            result = change(window, failures)
            others = also() if also is not None else []
            if not window.pending_events and not others:
                return result
            try:
                self.app.save(window, *others)
            except IntegrityError:
                continue
            return result
        raise RuntimeError(f"the sign-in window of {username} kept changing under us")

    def begin(self, username: str, source: str, now: datetime) -> Attempt | Locked:
        """Let one attempt through, counted as a failure until ``succeeded``, or say until
        when the pair is locked."""
        def count(window: SignInWindow, failures: list[tuple[str, datetime]]
                  ) -> Attempt | Locked:
            until = self._locked(failures, source)
            if until is not None:
                return Locked(until)
            window.attempt(source=source, at=now)
            return Attempt(username, source, now)

        outcome = self._record(username, now, count)
        assert isinstance(outcome, Attempt | Locked)
        return outcome

    def succeeded(self, attempt: Attempt) -> None:
        """The password was right: forget this pair's failures."""
        self._record(attempt.username, attempt.at,
                     lambda window, _: window.succeed(source=attempt.source, at=attempt.at))

    def locked_until(self, username: str, source: str, now: datetime) -> datetime | None:
        return self._locked(self._failures(username, now)[1], source)

    def standing(self, username: str, now: datetime
                 ) -> tuple[int, dict[str | None, datetime]]:
        """The username's failures still counted at ``now``, and each lock they make:
        source -> until when (``None``: from everywhere), for an administrator to see."""
        failures = self._failures(username, now)[1]
        locks: dict[str | None, datetime] = {}
        for source in dict.fromkeys(s for s, _ in failures):
            until = self._until([at for s, at in failures if s == source], self.limit)
            if until is not None:
                locks[source] = until
        everywhere = self._until([at for _, at in failures], self.name_limit)
        if everywhere is not None:
            locks[None] = everywhere
        return len(failures), locks

    def unlock(self, username: str, by: str, at: datetime,
               also: Callable[[], list[Aggregate]] | None = None) -> int:
        """Forget every failure for the username, from every source (an administrator's
        decision: ``also`` makes the audit's record of it, saved in the same
        transaction); how many failures were forgotten."""
        def forget(window: SignInWindow, failures: list[tuple[str, datetime]]) -> int:
            window.unlock(by=by, at=at)
            return len(failures)

        forgotten = self._record(username, at, forget, also)
        assert isinstance(forgotten, int)
        return forgotten


def said(failed: int, locks: dict[str | None, datetime]) -> str:
    """``SignInThrottle.standing`` in words, as the Administration page and ``scorecard
    user status`` say it."""
    return ((f"{failed} failed sign-in{'s' if failed != 1 else ''} in the last 15 minutes"
             if failed else "No failed sign-in in the last 15 minutes")
            + "".join(f"; locked {'everywhere' if source is None else 'from ' + source} "
                      f"until {until:%H:%M} UTC" for source, until in locks.items()) + ".")


class ReadPageThrottle:
    """The throttle of a read page process, which has no event store to count in: the
    same limits, counted in the access store (``sign_in_failures``), so shared by the page
    processes of one host but not across hosts (docs/security.md). Check and count are
    one ``BEGIN IMMEDIATE`` transaction."""

    def __init__(self, store: AccessStore, limit: int = LIMIT, name_limit: int = NAME_LIMIT,
                 window: timedelta = WINDOW) -> None:
        self.store = store
        self.limit = limit
        self.name_limit = name_limit
        self.window = window

    def begin(self, username: str, source: str, now: datetime) -> Attempt | Locked:
        since = (now - self.window).timestamp()
        with self.store.transaction() as connection:
            connection.execute("DELETE FROM sign_in_failures WHERE at <= ?", [since])
            rows = connection.execute("SELECT source, at FROM sign_in_failures "
                                      "WHERE username = ?", [username]).fetchall()
            pair = sorted(at for s, at in rows if s == source)
            everywhere = sorted(at for _, at in rows)
            until = max(pair[len(pair) - self.limit] if len(pair) >= self.limit else 0.0,
                        everywhere[len(everywhere) - self.name_limit]
                        if len(everywhere) >= self.name_limit else 0.0)
            if until:
                return Locked(datetime.fromtimestamp(until, UTC) + self.window)
            connection.execute("INSERT INTO sign_in_failures VALUES (?, ?, ?)",
                               [username, source, now.timestamp()])
        return Attempt(username, source, now)

    def succeeded(self, attempt: Attempt) -> None:
        with self.store.transaction() as connection:
            connection.execute("DELETE FROM sign_in_failures WHERE username = ? AND source = ?",
                               [attempt.username, attempt.source])


class Throttle(Protocol):
    def begin(self, username: str, source: str, now: datetime) -> Attempt | Locked: ...

    def succeeded(self, attempt: Attempt) -> None: ...


class KnownUser(Protocol):
    """What a sign-in gives: an event store's ``User`` or a sign-in list's entry."""

    @property
    def username(self) -> str: ...

    @property
    def role(self) -> str: ...


class ChecksPasswords(Protocol):
    def sign_in(self, username: str, password: str) -> KnownUser | None: ...


def attempt_sign_in(app: ChecksPasswords, throttle: Throttle, username: str,
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
    audit records who did it (``sign-in unlocked``), in one transaction; how many failures
    were forgotten."""
    def audited() -> list[Aggregate]:
        user = app.user(username)  # read again on each try: another writer may have won
        if user is None:
            raise CommandError(f"no user {username}")
        user.unlock_sign_in(by=by, at=at)
        return [user]

    return throttle.unlock(username, by, at, audited)
