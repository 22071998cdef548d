"""Local users of the embedded default, each with one role, their passwords hashed.

Roles: ``agency`` (staff of one agency: its own returns only), ``board`` (the whole
scorecard, unsuppressed), ``scrutiny`` (councillors: replay, with small numbers
suppressed) and ``administrator`` (agencies, keys, users). Passwords are hashed with
scrypt and a per-user salt; only the hash is stored, in the user's events.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import secrets
from uuid import UUID, uuid5

from eventsourcing.domain import Aggregate, event

from domain.errors import CommandError
from domain.model import NAMESPACE

ROLES = ("agency", "board", "scrutiny", "administrator")
MIN_PASSWORD_LENGTH = 8
_SCRYPT = {"n": 2**14, "r": 8, "p": 1, "dklen": 32}


def hash_password(password: str, salt: str | None = None) -> str:
    salt = salt or secrets.token_hex(16)
    digest = hashlib.scrypt(password.encode("utf-8"), salt=bytes.fromhex(salt), **_SCRYPT)
    return f"scrypt${salt}${digest.hex()}"


def password_matches(password: str, stored: str) -> bool:
    try:
        scheme, salt, _ = stored.split("$")
    except ValueError:
        return False
    return scheme == "scrypt" and hmac.compare_digest(hash_password(password, salt), stored)


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


def check_new_user(username: str, role: str, agency: str | None, password: str) -> None:
    if not username or not username.replace("-", "").replace(".", "").isalnum():
        raise CommandError("a username is letters, digits, dots and hyphens")
    if role not in ROLES:
        raise CommandError(f"role must be one of {', '.join(ROLES)}")
    if (role == "agency") != (agency is not None):
        raise CommandError("an agency user needs --agency, and only an agency user has one")
    if len(password) < MIN_PASSWORD_LENGTH:
        raise CommandError(f"a password needs at least {MIN_PASSWORD_LENGTH} characters")
