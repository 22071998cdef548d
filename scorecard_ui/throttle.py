"""Sign-in throttling for local users: guessing a password should take years, not minutes.

After ``LIMIT`` failed sign-ins for one username within ``WINDOW``, that username is
refused, right password or not, until ``WINDOW`` has passed since the oldest of those
failures. The count is kept by the server process (a restart forgets it); a production
deployment signs in through OpenID Connect, whose identity provider does this itself
(docs/deployment.md).
"""

from __future__ import annotations

import threading
from collections import deque
from datetime import datetime, timedelta

LIMIT = 5
WINDOW = timedelta(minutes=15)
KEPT = 10_000  # usernames with failures remembered before expired ones are swept


class SignInThrottle:
    """Recent failed sign-ins per username."""

    def __init__(self, limit: int = LIMIT, window: timedelta = WINDOW) -> None:
        self.limit = limit
        self.window = window
        self._failures: dict[str, deque[datetime]] = {}
        self._lock = threading.Lock()

    def _recent(self, username: str, now: datetime) -> deque[datetime]:
        failures = self._failures.get(username, deque())
        while failures and now - failures[0] >= self.window:
            failures.popleft()
        return failures

    def locked_until(self, username: str, now: datetime) -> datetime | None:
        """When the username may try again, if it is locked now."""
        with self._lock:
            failures = self._recent(username, now)
            if len(failures) >= self.limit:
                return failures[0] + self.window
            return None

    def failed(self, username: str, now: datetime) -> None:
        with self._lock:
            failures = self._recent(username, now)
            failures.append(now)
            self._failures[username] = failures
            if len(self._failures) > KEPT:  # many names tried: forget the expired ones
                self._failures = {name: kept for name, kept in self._failures.items()
                                  if now - kept[-1] < self.window}

    def succeeded(self, username: str) -> None:
        with self._lock:
            self._failures.pop(username, None)
