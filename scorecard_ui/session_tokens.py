"""Sign-in sessions: a fresh random token per sign-in, kept server-side as its SHA-256
in ``access.sqlite`` with the user, when it was issued and when it was last used.

The browser holds the token in an HttpOnly, SameSite=Strict cookie (``cookie.py``); the
Streamlit session holds it too, and a rerun counts as signed in only when both agree
and the token is still live, so presenting a Streamlit session id alone gets nothing.
A token is 256 random bits looked up by its hash: it cannot be forged or guessed, so a
signature over it would add nothing. It expires after ``idle`` without use and
``absolute`` after sign-in, whichever comes first (``SCORECARD_SESSION_IDLE_MINUTES``,
default 30; ``SCORECARD_SESSION_MAX_HOURS``, default 12; read by ``scorecard.settings``).
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from scorecard.access import AccessStore

GRANT_LIFETIME = timedelta(seconds=60)
IDLE = timedelta(minutes=30)
ABSOLUTE = timedelta(hours=12)


def _hashed(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


@dataclass(frozen=True)
class SessionTokens:
    store: AccessStore
    idle: timedelta = IDLE
    absolute: timedelta = ABSOLUTE

    def issue(self, username: str, now: datetime) -> str:
        token = secrets.token_urlsafe(32)
        with self.store.transaction() as connection:
            connection.execute("DELETE FROM sessions WHERE last_seen_at <= ? OR created_at <= ?",
                               [(now - self.idle).timestamp(),
                                (now - self.absolute).timestamp()])
            connection.execute("INSERT INTO sessions VALUES (?, ?, ?, ?)",
                               [_hashed(token), username, now.timestamp(), now.timestamp()])
        return token

    def grant(self, username: str, now: datetime) -> str:
        """A one-time code, good for ``GRANT_LIFETIME``, that the browser exchanges for a
        session cookie at ``/auth/session`` (the page's websocket cannot set a cookie)."""
        code = secrets.token_urlsafe(32)
        with self.store.transaction() as connection:
            connection.execute("DELETE FROM session_grants WHERE expires_at <= ?",
                               [now.timestamp()])
            connection.execute("INSERT INTO session_grants VALUES (?, ?, ?)",
                               [_hashed(code), username, (now + GRANT_LIFETIME).timestamp()])
        return code

    def redeem(self, code: str, now: datetime) -> str | None:
        """A new session token for the grant's user, once; None for a used, expired or
        unknown code."""
        with self.store.transaction() as connection:
            row = connection.execute("SELECT username, expires_at FROM session_grants "
                                     "WHERE grant_hash = ?", [_hashed(code)]).fetchone()
            connection.execute("DELETE FROM session_grants WHERE grant_hash = ?",
                               [_hashed(code)])
        if row is None or row[1] <= now.timestamp():
            return None
        return self.issue(str(row[0]), now)

    def resume(self, token: str, now: datetime) -> str | None:
        """The username the token was issued to, if it is live (and now it was used now);
        an expired token is forgotten."""
        hashed = _hashed(token)
        with self.store.transaction() as connection:
            row = connection.execute("SELECT username, created_at, last_seen_at FROM sessions "
                                     "WHERE token_hash = ?", [hashed]).fetchone()
            if row is None:
                return None
            username, created, seen = row
            if not self._live(created, seen, now):
                connection.execute("DELETE FROM sessions WHERE token_hash = ?", [hashed])
                return None
            connection.execute("UPDATE sessions SET last_seen_at = ? WHERE token_hash = ?",
                               [max(now.timestamp(), seen), hashed])
        return str(username)

    def peek(self, token: str, now: datetime) -> str | None:
        """Like ``resume`` without counting as use: for reruns the user did not cause (a
        live page's refresh), which must not keep an idle session alive."""
        with self.store.transaction() as connection:
            row = connection.execute("SELECT username, created_at, last_seen_at FROM sessions "
                                     "WHERE token_hash = ?", [_hashed(token)]).fetchone()
        if row is None:
            return None
        username, created, seen = row
        return str(username) if self._live(created, seen, now) else None

    def _live(self, created: float, seen: float, now: datetime) -> bool:
        """Neither idle for ``idle`` nor older than ``absolute`` (timestamps, seconds)."""
        stamp = now.timestamp()
        return (stamp - seen < self.idle.total_seconds()
                and stamp - created < self.absolute.total_seconds())

    def end(self, token: str) -> None:
        with self.store.transaction() as connection:
            connection.execute("DELETE FROM sessions WHERE token_hash = ?", [_hashed(token)])

    def end_all(self, username: str) -> int:
        """End every session of the user (disabled, or their password reset)."""
        with self.store.transaction() as connection:
            return connection.execute("DELETE FROM sessions WHERE username = ?",
                                      [username]).rowcount
