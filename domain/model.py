"""The partnership's aggregates. Their methods are the commands; they raise named errors.

Boundaries are chosen to stay small, so none grows with the history:

- ``AdoptedPlan``: the plan a home counts against (one per home).
- ``Agency``: a registered partner, its keys, the types it may send, suspension.
- ``Submission``: one accepted agency event, and its later retraction or supersession.
  Its id derives from (agency, event_id), which makes idempotency a key lookup.
- ``Case``: one pseudonymous case of one agency: referrals, closures, re-referrals.
- ``Rejection``: one rejected message, kept with its reason for the agency to see.
"""

from __future__ import annotations

import datetime as dt
from typing import Any
from uuid import UUID, uuid5

from eventsourcing.domain import Aggregate, event

from domain import signing
from domain.contract import COMMENTARY_TYPES, case_role, record_role
from domain.errors import (
    BadReference,
    CaseAlreadyOpen,
    CommandError,
    NoOpenCase,
    NotPermitted,
    OutOfOrder,
    Unauthenticated,
    UnknownAction,
    UnknownAgency,
)
from domain.plan import Plan

NAMESPACE = UUID("0b1e6d3c-5a8f-4c1e-9f2b-7d6a4e3c2b10")


class AdoptedPlan(Aggregate):
    """The delivery plan this home reports against, kept as its document."""

    @staticmethod
    def create_id(code: str) -> UUID:
        return uuid5(NAMESPACE, f"plan/{code}")

    @event("Adopted")
    def __init__(self, code: str, document: dict[str, Any]) -> None:
        self.code = code
        self.document = document

    @property
    def plan(self) -> Plan:
        return Plan.from_document(self.document)

    @event("RulesChanged")
    def change_rules(
        self, measure_id: str, rules: dict[str, Any], reason: str, by: str, at: dt.datetime
    ) -> None:
        """A new target or RAG threshold, in force from its knowledge time ``at``."""


class ReturnApproval(Aggregate):
    """An agency's approval of its return for one month (approvals may be renewed)."""

    @staticmethod
    def create_id(agency: str, month: str) -> UUID:
        return uuid5(NAMESPACE, f"approval/{agency}/{month}")

    @event("Started")
    def __init__(self, agency: str, month: str) -> None:
        self.agency = agency
        self.month = month

    @event("Approved")
    def approve(self, agency: str, month: str, by: str, at: dt.datetime) -> None:
        """The agency vouches for the month's figures as they stand at ``at``."""


class MonthAcceptance(Aggregate):
    """The board's acceptance of a month's scorecard, pinned to a position in the log."""

    @staticmethod
    def create_id(plan: str, month: str) -> UUID:
        return uuid5(NAMESPACE, f"acceptance/{plan}/{month}")

    @event("Started")
    def __init__(self, plan: str, month: str) -> None:
        self.plan = plan
        self.month = month

    @event("Accepted")
    def accept(self, month: str, by: str, at: dt.datetime, position: int) -> None:
        """Figures as they stood at log ``position`` become the accepted ones."""


def check_action_lead(plan: Plan, action_code: str, agency: str) -> None:
    """An agency may report status only on an action of the plan that it leads."""
    action = plan.action(action_code)
    if action is None:
        raise UnknownAction(f"action {action_code} is not in the plan {plan.code}",
                            field="payload.action")
    if action.lead != agency:
        raise UnknownAction(f"action {action_code} is led by {action.lead}, not {agency}",
                            field="payload.action")


def check_exception_note(plan: Plan, measure_id: str, agency: str) -> None:
    """An exception note must be about a measure the plan lists (only those have targets
    to miss), from the measure's lead agency when the plan names one."""
    spec = next((m for m in plan.measures if m.get("id") == measure_id), None)
    if spec is None:
        raise BadReference(f"measure {measure_id} is not a measure of the plan {plan.code}",
                           field="payload.measure")
    lead = spec.get("lead")
    if lead is not None and lead != agency:
        raise BadReference(f"measure {measure_id} is led by {lead}, not {agency}: its lead "
                           "agency writes its exception notes", field="payload.measure")


class ExceptionReview(Aggregate):
    """The board's review of the exception notes for one measure and month: each decision
    names the note it judged, so a revised note is judged afresh."""

    @staticmethod
    def create_id(measure_id: str, month: str) -> UUID:
        return uuid5(NAMESPACE, f"exception-review/{measure_id}/{month}")

    @event("Started")
    def __init__(self, measure_id: str, month: str) -> None:
        self.measure_id = measure_id
        self.month = month

    @event("Reviewed")
    def review(self, measure_id: str, month: str, agency: str, note_event_id: str,
               decision: str, comment: str, by: str, at: dt.datetime) -> None:
        """``accepted`` or ``more_requested`` (with what the board asks for)."""


class FigureCheck(Aggregate):
    """An agency's figure for a measure and month that was questioned at entry (an outlier
    against its own history, or outside the plan's bounds) and confirmed by the agency;
    the board's reviewer may mark it for follow-up. Kept so the flag stays in the history."""

    @staticmethod
    def create_id(agency: str, measure_id: str, month: str) -> UUID:
        return uuid5(NAMESPACE, f"figure-check/{agency}/{measure_id}/{month}")

    @event("Started")
    def __init__(self, agency: str, measure_id: str, month: str) -> None:
        self.agency = agency
        self.measure_id = measure_id
        self.month = month

    @event("Confirmed")
    def confirm(self, agency: str, measure_id: str, month: str, value: float, rule: str,
                detail: str, by: str, at: dt.datetime) -> None:
        """The agency says the questioned figure is right; it counts as submitted."""

    @event("FollowUpMarked")
    def mark_follow_up(self, agency: str, measure_id: str, month: str, note: str, by: str,
                       at: dt.datetime) -> None:
        """The board's reviewer wants the figure followed up with the agency."""


class Agency(Aggregate):
    """A partner agency: who it is, which keys sign for it, what it may send."""

    @staticmethod
    def create_id(code: str) -> UUID:
        return uuid5(NAMESPACE, f"agency/{code}")

    @event("Registered")
    def __init__(
        self, code: str, name: str, sector: str, types: list[str] | None, key: str, by: str
    ) -> None:
        self.code = code
        self.name = name
        self.sector = sector
        self.types = types
        # key id -> {"key": secret, "expires": None or the instant it stops working}
        self.keys: dict[str, dict[str, Any]] = {signing.key_id(key): {"key": key,
                                                                       "expires": None}}
        self.suspended = False

    @event("Suspended")
    def suspend(self, by: str) -> None:
        self.suspended = True

    @event("Resumed")
    def resume(self, by: str) -> None:
        self.suspended = False

    @event("KeyRotated")
    def rotate_key(self, new_key: str, grace_until: dt.datetime, by: str, at: dt.datetime) -> None:
        """A new key; every older key keeps working until ``grace_until``, then fails."""
        for entry in self.keys.values():
            if entry["expires"] is None or entry["expires"] > grace_until:
                entry["expires"] = grace_until
        self.keys[signing.key_id(new_key)] = {"key": new_key, "expires": None}

    def revoke_key(self, key_id: str, by: str, at: dt.datetime) -> None:
        if key_id not in self.keys:
            raise CommandError(f"agency {self.code} has no key {key_id}")
        self._key_revoked(key_id=key_id, by=by, at=at)

    @event("KeyRevoked")
    def _key_revoked(self, key_id: str, by: str, at: dt.datetime) -> None:
        del self.keys[key_id]

    def current_key(self) -> str | None:
        """The key that does not expire (the newest), for signing on the agency's behalf."""
        return next((e["key"] for e in self.keys.values() if e["expires"] is None), None)

    def key_ids(self) -> dict[str, dt.datetime | None]:
        return {key_id: entry["expires"] for key_id, entry in self.keys.items()}

    def _valid_keys(self, at: dt.datetime) -> dict[str, str]:
        return {key_id: entry["key"] for key_id, entry in self.keys.items()
                if entry["expires"] is None or at < entry["expires"]}

    def check_active(self) -> None:
        if self.suspended:
            raise UnknownAgency(f"agency {self.code} is suspended", field="agency")

    def check_permitted(self, event_type: str) -> None:
        """Only the types it was registered for; commentary (an exception note) carries no
        figure, so any agency may send it, where the plan lets it (``check_exception_note``)."""
        if event_type in COMMENTARY_TYPES:
            return
        if self.types is not None and event_type not in self.types:
            raise NotPermitted(
                f"agency {self.code} is not permitted to send {event_type} "
                f"(permitted: {', '.join(self.types)})",
                field="type",
            )

    def holds_key(self, key: str, at: dt.datetime) -> bool:
        return key in self._valid_keys(at).values()

    def check_signature(self, message: bytes, signature: str | None, at: dt.datetime) -> str:
        """The id of the key that signed ``message``, valid at ``at``."""
        if signature is None:
            raise Unauthenticated("the message carries no signature", field="signature")
        for key_id, key in self._valid_keys(at).items():
            if signing.verifies(key, message, signature):
                return key_id
        raise Unauthenticated(
            f"the signature does not verify under any current key of {self.code}",
            field="signature",
        )


class Submission(Aggregate):
    """One accepted agency event. It may later be superseded or retracted, never edited."""

    @staticmethod
    def create_id(agency: str, event_id: str) -> UUID:
        return uuid5(NAMESPACE, f"event/{agency}/{event_id}")

    @event("Accepted")
    def __init__(
        self,
        agency: str,
        event_id: str,
        type: str,
        occurred_at: str,
        occurred_utc: dt.datetime,
        occurred_on: str,
        payload: dict[str, Any],
        supersedes: str | None,
        fingerprint: str,
        recorded_at: dt.datetime,
        backfill: bool,
        episode: int | None,
        source: str,
        key_id: str = "",
        operator: str = "",
        signature: str = "",
        signed: str = "",
    ) -> None:
        """``signature`` and ``signed`` (base64 of the bytes it covers) are kept so the
        signature can be checked again on demand; events accepted before they were kept
        carry neither."""
        self.agency = agency
        self.event_id = event_id
        self.type = type
        self.payload = payload
        self.fingerprint = fingerprint
        self.recorded_at = recorded_at
        self.ended_by: str | None = None

    @property
    def case(self) -> str | None:
        """The case this event opens or closes (``None`` for a type with no case role)."""
        value = self.payload.get("case")
        return value if isinstance(value, str) and case_role(self.type) != "none" else None

    def check_replaceable(self, *, by_type: str, by_case: str | None, at: dt.datetime) -> None:
        """May an event of ``by_type`` known at ``at`` supersede this one?"""
        self._check_standing(at, "supersede")
        if by_type != self.type:
            raise BadReference(
                f"supersedes {self.event_id}, a {self.type}; an event may only supersede "
                "one of its own type",
                field="supersedes",
            )
        if record_role(self.type) == "retracts":
            raise BadReference("a retraction cannot be superseded", field="supersedes")
        if self.case is not None and by_case != self.case:
            raise BadReference(
                f"supersedes {self.event_id} of case {self.case} with case {by_case}",
                field="supersedes",
            )

    def check_retractable(self, at: dt.datetime) -> None:
        self._check_standing(at, "retract", field="payload.target")
        if record_role(self.type) == "retracts":
            raise BadReference("a retraction cannot itself be retracted", field="payload.target")

    def _check_standing(self, at: dt.datetime, verb: str, field: str = "supersedes") -> None:
        if self.ended_by is not None:
            raise BadReference(
                f"cannot {verb} {self.event_id}: it was already replaced or withdrawn "
                f"by {self.ended_by}",
                field=field,
            )
        if self.recorded_at > at:
            raise BadReference(
                f"cannot {verb} {self.event_id}: it was not yet known at this event's "
                "knowledge time",
                field=field,
            )

    @event("Superseded")
    def supersede(self, by_event_id: str, at: dt.datetime) -> None:
        self.ended_by = by_event_id

    @event("Retracted")
    def retract(self, by_event_id: str, reason: str, at: dt.datetime) -> None:
        self.ended_by = by_event_id


class Case(Aggregate):
    """A pseudonymous case within one agency, as a list of referral→closure episodes.

    Events of a case must stand in time order: no closure before its referral, no
    re-referral before the closure it follows.
    """

    @staticmethod
    def create_id(agency: str, case: str) -> UUID:
        return uuid5(NAMESPACE, f"case/{agency}/{case}")

    @event("Opened")
    def __init__(self, agency: str, case: str) -> None:
        self.agency = agency
        self.case = case
        self.episodes: list[dict[str, Any]] = []

    # Commands ------------------------------------------------------------------

    def refer(self, event_id: str, at: dt.datetime) -> int:
        if self.episodes:
            last = self.episodes[-1]
            if last["closure"] is None:
                raise CaseAlreadyOpen(
                    f"case {self.case} is already open (referred by {last['referral']})",
                    field="payload.case",
                )
            if at < last["closed_at"]:
                raise OutOfOrder(
                    f"re-referral of case {self.case} is dated before its closure "
                    f"{last['closure']}",
                    field="occurred_at",
                )
        self._referred(event_id, at)
        return len(self.episodes)

    def close(self, event_id: str, at: dt.datetime) -> int:
        if not self.episodes or self.episodes[-1]["closure"] is not None:
            raise NoOpenCase(f"case {self.case} is not open", field="payload.case")
        if at < self.episodes[-1]["referred_at"]:
            raise OutOfOrder(
                f"closure of case {self.case} is dated before its referral "
                f"{self.episodes[-1]['referral']}",
                field="occurred_at",
            )
        self._closed(event_id, at)
        return len(self.episodes)

    def replace_referral(self, old: str, new: str, at: dt.datetime) -> int:
        index = self._episode_of("referral", old)
        episode = self.episodes[index]
        if episode["closed_at"] is not None and at > episode["closed_at"]:
            raise OutOfOrder(f"the corrected referral is dated after closure {episode['closure']}",
                             field="occurred_at")
        if index > 0 and at < self.episodes[index - 1]["closed_at"]:
            raise OutOfOrder("the corrected referral is dated before the previous closure",
                             field="occurred_at")
        self._referral_replaced(index, new, at)
        return index + 1

    def replace_closure(self, old: str, new: str, at: dt.datetime) -> int:
        index = self._episode_of("closure", old)
        episode = self.episodes[index]
        if at < episode["referred_at"]:
            raise OutOfOrder(f"the corrected closure is dated before referral "
                             f"{episode['referral']}", field="occurred_at")
        if index + 1 < len(self.episodes) and at > self.episodes[index + 1]["referred_at"]:
            raise OutOfOrder("the corrected closure is dated after the re-referral",
                             field="occurred_at")
        self._closure_replaced(index, new, at)
        return index + 1

    def withdraw_referral(self, event_id: str) -> None:
        index = self._episode_of("referral", event_id)
        if index != len(self.episodes) - 1 or self.episodes[index]["closure"] is not None:
            raise BadReference(
                f"cannot retract referral {event_id} while a later event of case "
                f"{self.case} stands",
                field="payload.target",
            )
        self._referral_withdrawn(index)

    def withdraw_closure(self, event_id: str) -> None:
        index = self._episode_of("closure", event_id)
        if index != len(self.episodes) - 1:
            raise BadReference(
                f"cannot retract closure {event_id} while a re-referral of case "
                f"{self.case} stands",
                field="payload.target",
            )
        self._closure_withdrawn(index)

    def _episode_of(self, role: str, event_id: str) -> int:
        for index, episode in enumerate(self.episodes):
            if episode[role] == event_id:
                return index
        raise BadReference(f"{event_id} is not a standing {role} of case {self.case}")

    # Events --------------------------------------------------------------------

    @event("Referred")
    def _referred(self, event_id: str, at: dt.datetime) -> None:
        self.episodes.append(
            {"referral": event_id, "referred_at": at, "closure": None, "closed_at": None}
        )

    @event("Closed")
    def _closed(self, event_id: str, at: dt.datetime) -> None:
        self.episodes[-1].update(closure=event_id, closed_at=at)

    @event("ReferralReplaced")
    def _referral_replaced(self, index: int, event_id: str, at: dt.datetime) -> None:
        self.episodes[index].update(referral=event_id, referred_at=at)

    @event("ClosureReplaced")
    def _closure_replaced(self, index: int, event_id: str, at: dt.datetime) -> None:
        self.episodes[index].update(closure=event_id, closed_at=at)

    @event("ReferralWithdrawn")
    def _referral_withdrawn(self, index: int) -> None:
        del self.episodes[index]

    @event("ClosureWithdrawn")
    def _closure_withdrawn(self, index: int) -> None:
        self.episodes[index].update(closure=None, closed_at=None)


# Reasons that can only be reached once the signature has verified (the order of checks):
# a rejection stored before rejections recorded who sent them is the agency's own only
# if its reason is one of these.
AFTER_AUTHENTICATION_REASONS = frozenset({
    "unknown_type", "not_permitted", "future", "event_id_conflict", "bad_reference",
    "no_open_case", "out_of_order", "case_already_open", "unknown_action",
})


def sent_by_producer(authenticated: bool | None, reason: str) -> bool:
    """Whether a kept rejection provably came from its producer (the agency it is listed
    under). ``authenticated`` is ``None`` for rejections kept before it was recorded."""
    if authenticated is None:
        return reason in AFTER_AUTHENTICATION_REASONS
    return authenticated


class Rejection(Aggregate):
    """A message that was not accepted, kept whole with its reason (nothing is dropped).

    ``authenticated`` says the message provably came from ``producer``: its signature
    verified under one of that agency's keys (and the pusher's key file was the agency's).
    Only those are the agency's own, to see and resubmit; the others are in quarantine,
    for administrators, since anyone who can reach the topic could have planted them.

    Its id derives from the producer, the message bytes and whether it is authenticated, so
    redelivery of the same bad message is kept once, and a planted copy of an agency's
    message cannot take the place of the agency's own rejection.
    """

    @staticmethod
    def create_id(producer: str, digest: str, authenticated: bool | None = None) -> UUID:
        if authenticated is False:
            return uuid5(NAMESPACE, f"rejection/quarantine/{producer}/{digest}")
        return uuid5(NAMESPACE, f"rejection/{producer}/{digest}")

    @event("Recorded")
    def __init__(
        self,
        producer: str,
        digest: str,
        reason: str,
        field: str,
        message: str,
        event_id: str | None,
        type: str | None,
        raw: str,
        raw_encoding: str,
        received_at: dt.datetime,
        backfill: bool,
        source: str,
        authenticated: bool | None = None,
    ) -> None:
        self.producer = producer
        self.reason = reason
        self.event_id = event_id
        self.authenticated = authenticated
        self.withdrawn_by: str | None = None

    @property
    def quarantined(self) -> bool:
        return not sent_by_producer(self.authenticated, self.reason)

    @event("Withdrawn")
    def withdraw(self, by: str, at: dt.datetime, agency: str, event_id: str | None) -> None:
        """The agency will not send this again (a test row, a duplicate it sent by
        mistake): it leaves the open rejections, and the audit says who and when."""
        self.withdrawn_by = by
