"""Local users of the embedded default, each with one role, their passwords hashed.

Roles: ``agency`` (staff of one agency: its own returns only), ``board`` (the whole
scorecard, unsuppressed), ``scrutiny`` (councillors: replay, with small numbers
suppressed) and ``administrator`` (agencies, keys, users). Passwords are hashed with
scrypt and a per-user salt; only the hash is stored, in the user's events.

The scrypt cost follows current guidance (OWASP: N=2^17, r=8, p=1). A hash records its
own cost (``scrypt$ln=17,r=8,p=1$salt$digest``), so older, cheaper hashes still verify
and are replaced at the user's next sign-in (``needs_rehash``). One hash takes 128 MiB
of memory, so at most ``CONCURRENT_HASHES`` run at once in a process: a crowd of
sign-ins queues instead of exhausting the server.
"""

from __future__ import annotations

import datetime as dt
import functools
import hashlib
import hmac
import secrets
import threading
from dataclasses import dataclass
from uuid import UUID, uuid5

from eventsourcing.domain import Aggregate, event

from domain.errors import CommandError
from domain.model import NAMESPACE

ROLES = ("agency", "board", "scrutiny", "administrator")
MIN_PASSWORD_LENGTH = 8
CONCURRENT_HASHES = 2
_HASHING = threading.BoundedSemaphore(CONCURRENT_HASHES)


@dataclass(frozen=True)
class ScryptCost:
    """scrypt's parameters: N = 2**log_n, block size r, parallelism p."""

    log_n: int
    r: int
    p: int

    def text(self) -> str:
        return f"ln={self.log_n},r={self.r},p={self.p}"

    @classmethod
    def parse(cls, text: str) -> ScryptCost:
        fields = dict(part.split("=", 1) for part in text.split(","))
        return cls(int(fields["ln"]), int(fields["r"]), int(fields["p"]))


SCRYPT_COST = ScryptCost(log_n=17, r=8, p=1)
LEGACY_COST = ScryptCost(log_n=14, r=8, p=1)  # hashes written as scrypt$salt$digest
DKLEN = 32


def _digest(password: str, salt: str, cost: ScryptCost) -> bytes:
    memory = 128 * cost.r * (2**cost.log_n) * cost.p + 2**20  # scrypt's need, plus slack
    with _HASHING:
        return hashlib.scrypt(password.encode("utf-8"), salt=bytes.fromhex(salt),
                              n=2**cost.log_n, r=cost.r, p=cost.p, maxmem=2 * memory,
                              dklen=DKLEN)


def hash_password(password: str, salt: str | None = None,
                  cost: ScryptCost = SCRYPT_COST) -> str:
    salt = salt or secrets.token_hex(16)
    return f"scrypt${cost.text()}${salt}${_digest(password, salt, cost).hex()}"


def _parts(stored: str) -> tuple[ScryptCost, str, str] | None:
    parts = stored.split("$")
    try:
        if len(parts) == 3 and parts[0] == "scrypt":
            return LEGACY_COST, parts[1], parts[2]
        if len(parts) == 4 and parts[0] == "scrypt":
            return ScryptCost.parse(parts[1]), parts[2], parts[3]
    except (KeyError, ValueError):
        return None
    return None


def password_matches(password: str, stored: str) -> bool:
    parts = _parts(stored)
    if parts is None:
        return False
    cost, salt, digest = parts
    try:
        return hmac.compare_digest(_digest(password, salt, cost).hex(), digest)
    except ValueError:  # a salt that is not hex, or a cost scrypt refuses
        return False


def needs_rehash(stored: str) -> bool:
    """Whether the hash was made at a lower cost than today's (or cannot be read)."""
    parts = _parts(stored)
    return parts is None or parts[0] != SCRYPT_COST


@functools.cache
def _nobody_hash() -> str:
    return hash_password(secrets.token_hex(16))


def spend_a_check(password: str) -> None:
    """As long as ``password_matches`` against a real user's hash, with no answer: checked
    for unknown and disabled usernames, so that a wrong username costs as long as a wrong
    password and the time of a sign-in says nothing about who exists."""
    password_matches(password, _nobody_hash())


class User(Aggregate):
    """A person who signs in to the scorecard."""

    @staticmethod
    def create_id(username: str) -> UUID:
        return uuid5(NAMESPACE, f"user/{username}")

    @event("Added")
    def __init__(self, username: str, role: str, agency: str | None, password_hash: str,
                 by: str) -> None:
        self.username = username
        self.role = role
        self.agency = agency
        self.password_hash = password_hash
        self.disabled = False

    @event("PasswordChanged")
    def change_password(self, password_hash: str, by: str) -> None:
        self.password_hash = password_hash

    @event("Disabled")
    def disable(self, by: str, at: dt.datetime) -> None:
        self.disabled = True

    @event("Enabled")
    def enable(self, by: str, at: dt.datetime) -> None:
        self.disabled = False

    @event("SignInUnlocked")
    def unlock_sign_in(self, by: str, at: dt.datetime) -> None:
        """An administrator cleared the user's failed sign-ins (the audit's record; the
        throttle's own record is ``SignInWindow.Unlocked``, saved with it)."""


MAX_RECORDED_NAME = 100  # characters of a username kept in a sign-in window's events


class SignInWindow(Aggregate):
    """The sign-in attempts made for one username within one throttle window (``slot``:
    the window's number since the epoch): the throttle's record in the event store, so
    that every page process on every host, and every restart, counts the same attempts
    (``scorecard_ui/throttle.py``). A window holds at most the attempts the throttle let
    through (each counted as a failure until it succeeds), so it stays small; the next
    window is a new aggregate. Two processes counting an attempt at once write the same
    version of it: the store refuses one, which then decides again on what the other
    wrote. Unknown usernames have windows too, so a lock tells nothing about who exists.
    """

    @staticmethod
    def create_id(username: str, slot: int) -> UUID:
        return uuid5(NAMESPACE, f"sign-in/{slot}/{username}")

    @event("Started")
    def __init__(self, username: str, slot: int) -> None:
        self.username = username[:MAX_RECORDED_NAME]
        self.slot = slot
        # ("attempt" | "succeeded" | "unlocked", source, at), in the order recorded
        self.entries: list[tuple[str, str, dt.datetime]] = []

    @event("Attempted")
    def attempt(self, source: str, at: dt.datetime) -> None:
        """A password is about to be checked: a failure until ``succeed``."""
        self.entries.append(("attempt", source, at))

    @event("Succeeded")
    def succeed(self, source: str, at: dt.datetime) -> None:
        """The password was right: the source's failures are forgotten."""
        self.entries.append(("succeeded", source, at))

    @event("Unlocked")
    def unlock(self, by: str, at: dt.datetime) -> None:
        """An administrator forgot every failure of the username, from every source."""
        self.entries.append(("unlocked", by, at))


def check_new_user(username: str, role: str, agency: str | None, password: str) -> None:
    if not username or not username.replace("-", "").replace(".", "").isalnum():
        raise CommandError("a username is letters, digits, dots and hyphens")
    if role not in ROLES:
        raise CommandError(f"role must be one of {', '.join(ROLES)}")
    if (role == "agency") != (agency is not None):
        raise CommandError("an agency user needs --agency, and only an agency user has one")
    if len(password) < MIN_PASSWORD_LENGTH:
        raise CommandError(f"a password needs at least {MIN_PASSWORD_LENGTH} characters")
