"""Administration: the plan and its rules, agencies and their keys, users and their
passwords. Commands of the partnership's administrators (and a user's own sign-in),
each saving the one aggregate it changes."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

from domain import contract, signing
from domain.base import ScorecardBase
from domain.errors import CommandError
from domain.model import AdoptedPlan, Agency
from domain.plan import Plan, with_rules
from domain.rules import MeasureRules
from domain.users import (
    MIN_PASSWORD_LENGTH,
    User,
    check_new_user,
    hash_password,
    needs_rehash,
    password_matches,
    spend_a_check,
)


class Administration(ScorecardBase):
    """Commands that set the partnership up and keep its people and keys current."""

    # The plan ------------------------------------------------------------------

    def adopt_plan(self, document: dict[str, Any]) -> Plan:
        plan = Plan.from_document(document)
        if self._find(AdoptedPlan, AdoptedPlan.create_id(plan.code)) is None:
            self.save(AdoptedPlan(code=plan.code, document=document))
        self._plan = plan
        return plan

    def change_rules(self, measure_id: str, rules: dict[str, Any], reason: str, by: str,
                     at: datetime) -> None:
        """Record a new target or RAG rule for a measure the plan lists."""
        if measure_id not in {m["id"] for m in self.plan.measures}:
            raise CommandError(f"measure {measure_id} is not listed in the plan's measures")
        MeasureRules.from_document(rules)
        # The plan as it would stand, checked whole like a plan file: nothing half-changed.
        Plan.from_document(with_rules(self.plan.document, measure_id, rules))
        if not reason.strip():
            raise CommandError("a rule change needs a reason")
        adopted = self._find(AdoptedPlan, AdoptedPlan.create_id(self.plan.code))
        assert adopted is not None
        adopted.change_rules(measure_id=measure_id, rules=rules, reason=reason, by=by, at=at)
        self.save(adopted)

    # Users -------------------------------------------------------------------------

    def add_user(self, username: str, role: str, agency: str | None, password: str,
                 by: str) -> None:
        check_new_user(username, role, agency, password)
        if agency is not None:
            self._registered(agency)
        if self.user(username) is not None:
            raise CommandError(f"user {username} already exists")
        self.save(User(username=username, role=role, agency=agency,
                       password_hash=hash_password(password), by=by))

    def user(self, username: str) -> User | None:
        return self._find(User, User.create_id(username))

    def sign_in(self, username: str, password: str) -> User | None:
        """The user, if the password is theirs and they are not disabled.

        Every attempt costs one full password hash, whether or not the username exists,
        so the time taken does not tell a real username from an unknown one. A hash made
        at an older, cheaper cost is replaced by one at today's cost (audited as a
        password change by the user).
        """
        try:
            user = self.user(username) if username else None
        except ValueError:  # not a name a user could have
            user = None
        if user is None:
            spend_a_check(password)
            return None
        if not password_matches(password, user.password_hash) or user.disabled:
            return None
        if needs_rehash(user.password_hash):
            user.change_password(hash_password(password), by=username)
            self.save(user)
        return user

    def _existing_user(self, username: str) -> User:
        user = self.user(username)
        if user is None:
            raise CommandError(f"no user {username}")
        return user

    def disable_user(self, username: str, by: str, at: datetime) -> None:
        user = self._existing_user(username)
        user.disable(by=by, at=at)
        self.save(user)

    def enable_user(self, username: str, by: str, at: datetime) -> None:
        user = self._existing_user(username)
        user.enable(by=by, at=at)
        self.save(user)

    def reset_password(self, username: str, password: str, by: str) -> None:
        if len(password) < MIN_PASSWORD_LENGTH:
            raise CommandError(f"a password needs at least {MIN_PASSWORD_LENGTH} characters")
        user = self._existing_user(username)
        user.change_password(hash_password(password), by=by)
        self.save(user)

    # Agencies ------------------------------------------------------------------

    def register_agency(
        self, code: str, name: str, sector: str, types: Sequence[str] | None, by: str
    ) -> str:
        """Register an agency and return its first secret key."""
        if not contract.AGENCY_CODE.match(code):
            raise CommandError(f"{code!r} is not an agency code (2-40 characters a-z 0-9 -)")
        if sector not in contract.SECTORS:
            raise CommandError(f"sector must be one of {', '.join(contract.SECTORS)}")
        unknown = sorted(set(types or ()) - set(contract.EVENT_TYPES))
        if unknown:
            raise CommandError(
                f"unknown event types {', '.join(unknown)} "
                f"(known: {', '.join(contract.EVENT_TYPES)})"
            )
        if not name.strip():
            raise CommandError("an agency needs a name")
        if self.agency(code) is not None:
            raise CommandError(f"agency {code} is already registered")
        key = signing.new_key()
        self.save(Agency(code=code, name=name, sector=sector,
                         types=list(types) if types else None, key=key, by=by))
        return key

    def rotate_key(self, code: str, grace: timedelta, by: str, at: datetime) -> str:
        """Issue a new key; older keys keep working for ``grace``, then fail."""
        agency = self._registered(code)
        if grace < timedelta(0):
            raise CommandError("the grace period cannot be negative")
        key = signing.new_key()
        agency.rotate_key(new_key=key, grace_until=at + grace, by=by, at=at)
        self.save(agency)
        return key

    def revoke_key(self, code: str, key_id: str, by: str, at: datetime) -> None:
        agency = self._registered(code)
        agency.revoke_key(key_id, by=by, at=at)
        self.save(agency)

    def set_suspended(self, code: str, suspended: bool, by: str) -> None:
        agency = self._registered(code)
        if suspended != agency.suspended:
            (agency.suspend if suspended else agency.resume)(by=by)
            self.save(agency)
