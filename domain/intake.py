"""Intake: deciding agencies' deliveries and keeping what is rejected.

``submit`` decides a whole batch of deliveries in memory (later events in a batch see
the effects of earlier ones) and records every accepted event and every kept rejection
in one transaction. A consumer passes ``tracking`` (its position in the source it reads)
so the position is stored in that same transaction: a crash keeps both or neither.
A rejection its agency sent itself can be corrected and resubmitted, or withdrawn.
"""

from __future__ import annotations

import base64
import functools
import hashlib
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any
from uuid import UUID

from eventsourcing.application import AggregateNotFoundError, ProcessingEvent
from eventsourcing.domain import Aggregate
from eventsourcing.persistence import IntegrityError, ProcessRecorder, Tracking

from domain import contract
from domain.base import A, ScorecardBase
from domain.contract import AgencyEvent
from domain.errors import (
    BadReference,
    CommandError,
    EventIdConflict,
    FutureEvent,
    InternalError,
    InvalidEvent,
    NoOpenCase,
    Rejected,
    Unauthenticated,
    UnknownAgency,
)
from domain.model import (
    Agency,
    Case,
    Rejection,
    Submission,
    check_action_lead,
    check_exception_note,
)
from domain.text import visible

FUTURE_TOLERANCE = timedelta(minutes=5)
MAX_KEPT_RAW_BYTES = contract.MAX_MESSAGE_BYTES
MAX_KEPT_NAME_CHARACTERS = 200  # a rejection's producer, event id, type and source


@dataclass(frozen=True)
class Delivery:
    """One message as it arrived, before anything is decided about it.

    ``signed_bytes`` are what the signature covers (a Kafka value as it is; a file line's
    canonical envelope). ``producer_verified`` says the transport's credential (a key
    file, a broker principal) belongs to ``producer``.
    """

    producer: str
    raw: bytes
    message: dict[str, Any] | None
    decode_error: InvalidEvent | None
    signed_bytes: bytes
    signature: str | None
    received_at: datetime
    backfill: bool = False
    source: str = ""
    producer_verified: bool = True
    arrived_at: datetime | None = None  # wall-clock arrival; keys are judged then
    operator: str = ""  # who pushed it, when not the agency itself (an administrator)
    canonical: bool = False  # signed_bytes are the canonical envelope (a file line)

    @property
    def key_time(self) -> datetime:
        return self.arrived_at or self.received_at


@dataclass(frozen=True)
class Outcome:
    """What became of one delivery: ``accepted``, ``duplicate`` or ``rejected``."""

    status: str
    source: str
    event_id: str | None = None
    rejection: Rejected | None = None


@dataclass
class UnitOfWork:
    """Aggregates touched while deciding one batch, so a batch sees its own effects."""

    app: ScorecardBase
    loaded: dict[Any, Aggregate | None] = field(default_factory=dict)
    submission_ids: dict[tuple[str, str], UUID] = field(default_factory=dict)

    def submission_id(self, agency: str, event_id: str) -> UUID:
        """``Submission.create_id``, worked out once per batch (a UUIDv5 is not free)."""
        key = (agency, event_id)
        found = self.submission_ids.get(key)
        if found is None:
            found = self.submission_ids[key] = Submission.create_id(agency, event_id)
        return found

    def get(self, cls: type[A], aggregate_id: Any) -> A | None:
        if aggregate_id not in self.loaded:
            try:
                self.loaded[aggregate_id] = self.app.repository.get(aggregate_id)
            except AggregateNotFoundError:
                self.loaded[aggregate_id] = None
        found = self.loaded[aggregate_id]
        return found if isinstance(found, cls) else None

    def add(self, aggregate: Aggregate) -> None:
        self.loaded[aggregate.id] = aggregate

    def prefetch(self, aggregate_ids: Iterable[UUID]) -> None:
        """Ask the store once which of these ids exist and mark the rest known-absent.

        Most ids a batch touches (a new event's ``Submission``, a new case) do not exist,
        and asking for each one by one was the largest single cost of ingest. Ids that do
        exist are still loaded on first use, through the repository.
        """
        wanted = [i for i in dict.fromkeys(aggregate_ids) if i not in self.loaded]
        existing = self.app.existing_ids(wanted)
        if existing is None:
            return  # a store we cannot ask in bulk: look each id up on first use
        for aggregate_id in wanted:
            if aggregate_id not in existing:
                self.loaded[aggregate_id] = None

    def changed(self) -> list[Aggregate]:
        return [a for a in self.loaded.values() if a is not None and a.pending_events]



class Intake(ScorecardBase):
    """Deciding deliveries: whole batches, dry runs, kept failures, resubmission."""

    def submit(
        self,
        deliveries: Sequence[Delivery],
        attempts: int = 3,
        *,
        tracking: Tracking | None = None,
        before_record: Callable[[list[Outcome]], None] | None = None,
    ) -> list[Outcome]:
        """Decide and record a batch of deliveries in one transaction.

        ``tracking`` is stored in the same transaction (the store refuses a position not
        after the one it holds, with ``IntegrityError``). ``before_record`` sees the
        outcomes once decided and before they are recorded, for work that must happen at
        least once for every recorded batch (it may run again if the batch is decided again).
        """
        for attempt in range(attempts):
            uow = UnitOfWork(self)
            uow.prefetch(_ids_touched(deliveries, uow))
            outcomes = [self._decide_and_keep(delivery, uow) for delivery in deliveries]
            if before_record is not None:
                before_record(outcomes)
            processing: ProcessingEvent[Any] = ProcessingEvent(tracking)
            for aggregate in uow.changed():
                # What ProcessingEvent.collect_events does, without its runtime protocol
                # check per aggregate (a tenth of the time of a batch of new events).
                processing.events.extend(aggregate.collect_events())
                processing.aggregates[aggregate.id] = aggregate
            try:
                self._record(processing)
            except IntegrityError:
                # Another writer changed an aggregate we decided on: decide again. If the
                # store already holds this position, deciding again cannot help.
                if attempt == attempts - 1 or self._already_tracked(tracking):
                    raise
                continue
            return outcomes
        raise AssertionError("unreachable")

    def dry_run(self, deliveries: Sequence[Delivery]) -> list[Outcome]:
        """What ``submit`` would decide for these deliveries, recording nothing: an
        upload's preview. The same decide path (permissions, duplicates, references, case
        rules); the batch sees its own effects, as a submission does (an event id twice in
        the file, a closure of a case the file refers). The aggregates the deciding changed
        live only in this unit of work, which is dropped: no rejection is kept either."""
        uow = UnitOfWork(self)
        uow.prefetch(_ids_touched(deliveries, uow))
        outcomes: list[Outcome] = []
        for delivery in deliveries:
            try:
                outcomes.append(self._decide(delivery, uow))
            except Rejected as rejected:
                outcomes.append(_rejected_outcome(delivery, rejected))
        return outcomes

    def tracked_position(self, name: str) -> int | None:
        """The position a consumer stored with its events (``submit(tracking=...)``)."""
        recorder = self.recorder
        assert isinstance(recorder, ProcessRecorder)
        return recorder.max_tracking_id(name)

    def _already_tracked(self, tracking: Tracking | None) -> bool:
        if tracking is None:
            return False
        stored = self.tracked_position(tracking.application_name)
        return stored is not None and stored >= tracking.notification_id

    def _decide_and_keep(self, delivery: Delivery, uow: UnitOfWork) -> Outcome:
        try:
            return self._decide(delivery, uow)
        except Rejected as rejected:
            self._keep_rejection(delivery, rejected, uow,
                                 authenticated=self._sent_by_producer(delivery, uow))
            return _rejected_outcome(delivery, rejected)

    def keep_failure(
        self,
        delivery: Delivery,
        error: BaseException,
        *,
        tracking: Tracking | None = None,
        before_record: Callable[[list[Outcome]], None] | None = None,
    ) -> Outcome:
        """Keep a delivery whose deciding failed unexpectedly, as an ``internal_error``
        rejection in quarantine (who sent it was never established), with ``tracking``.

        The crash-loop guard's last resort (``ingest/crash_guard.py``): the message stops
        nothing behind it, and an administrator sees it with the error. Nothing of the
        message is interpreted here beyond what ``_keep_rejection`` bounds and escapes.
        """
        failure = InternalError(f"{type(error).__name__}: {error}")
        uow = UnitOfWork(self)
        self._keep_rejection(delivery, failure, uow, authenticated=False)
        outcomes = [_rejected_outcome(delivery, failure)]
        if before_record is not None:
            before_record(outcomes)
        processing: ProcessingEvent[Any] = ProcessingEvent(tracking)
        processing.collect_events(*uow.changed())
        self._record(processing)
        return outcomes[0]

    def own_rejection(self, rejection_id: UUID, agency: str) -> Rejection:
        """A kept rejection that ``agency`` may correct and resubmit: one that its own
        authenticated push sent. A quarantined one (anyone could have planted it under the
        agency's name) or another agency's is refused, so that resubmitting can never sign
        someone else's message with the agency's key."""
        found = self._find(Rejection, rejection_id)
        if found is None or found.producer != agency or found.quarantined:
            raise CommandError(f"rejection {rejection_id} is not one that {agency} sent itself")
        return found

    def withdraw_rejections(self, rejection_ids: Sequence[UUID], agency: str, by: str,
                            at: datetime) -> int:
        """Withdraw rejections that ``agency`` sent itself (``own_rejection``), in one
        transaction; already withdrawn ones are left as they are. Returns how many."""
        withdrawn = []
        for rejection_id in rejection_ids:
            found = self.own_rejection(rejection_id, agency)
            if found.withdrawn_by is None:
                found.withdraw(by=by, at=at, agency=agency, event_id=found.event_id)
                withdrawn.append(found)
        if withdrawn:
            self.save(*withdrawn)
        return len(withdrawn)

    def _sent_by_producer(self, delivery: Delivery, uow: UnitOfWork) -> bool:
        """Whether a rejected delivery provably comes from its producer: a registered
        agency whose key, at arrival, verifies the signature over the signed bytes (and
        the pusher's key file was the agency's). Only then is its rejection the agency's
        own; anyone able to produce to the topic can put any key on a message."""
        if not delivery.producer_verified or not contract.AGENCY_CODE.match(delivery.producer):
            return False
        agency = uow.get(Agency, _agency_id(delivery.producer))
        if agency is None:
            return False
        try:
            agency.check_signature(delivery.signed_bytes, delivery.signature,
                                   delivery.key_time)
        except Unauthenticated:
            return False
        return True

    def _decide(self, delivery: Delivery, uow: UnitOfWork) -> Outcome:
        if delivery.decode_error is not None or delivery.message is None:
            raise delivery.decode_error or InvalidEvent("the message could not be read")
        claimed = contract.check_agency_field(delivery.message)
        if claimed != delivery.producer:
            raise Unauthenticated(
                f"the producer is authenticated as {delivery.producer}, not {claimed}",
                field="agency",
            )
        agency = uow.get(Agency, _agency_id(claimed))
        if agency is None:
            raise UnknownAgency(f"agency {claimed} is not registered", field="agency")
        agency.check_active()
        if not delivery.producer_verified:
            raise Unauthenticated(f"the key presented does not belong to {claimed}",
                                  field="signature")
        key_id = agency.check_signature(delivery.signed_bytes, delivery.signature,
                                        delivery.key_time)
        message = {k: v for k, v in delivery.message.items() if k != "signature"}
        event = contract.parse_event(
            message, self.plan.zone, canonical=delivery.signed_bytes if delivery.canonical else None
        )
        agency.check_permitted(event.type)
        if event.occurrence.at > delivery.received_at + FUTURE_TOLERANCE:
            raise FutureEvent(
                "is more than 5 minutes after the event was received", field="occurred_at"
            )
        existing = uow.get(Submission, uow.submission_id(event.agency, event.event_id))
        if existing is not None:
            if existing.fingerprint == event.fingerprint:
                return Outcome("duplicate", delivery.source, event.event_id)
            raise EventIdConflict(
                f"{event.event_id} was accepted before with different content", field="event_id"
            )
        self._apply(event, delivery, uow, key_id)
        return Outcome("accepted", delivery.source, event.event_id)

    def _apply(self, event: AgencyEvent, delivery: Delivery, uow: UnitOfWork,
               key_id: str) -> None:
        """Check every rule first, then change aggregates: a rejection changes nothing."""
        at = delivery.received_at
        replaced = self._referenced(uow, event.agency, event.supersedes, "supersedes")
        if replaced is not None:
            replaced.check_replaceable(by_type=event.type, by_case=event.case, at=at)
        target = None
        role = contract.record_role(event.type)
        if role == "retracts":
            target = self._referenced(uow, event.agency, event.payload["target"],
                                      "payload.target")
            assert target is not None
            target.check_retractable(at)
        episode = self._apply_case_rules(event, replaced, target, uow)
        if role == "action_status":
            check_action_lead(self.plan, event.payload["action"], event.agency)
        if role == "comments":
            check_exception_note(self.plan, event.payload["measure"], event.agency)
        # Every rule has passed: record.
        if replaced is not None:
            replaced.supersede(by_event_id=event.event_id, at=at)
        if target is not None:
            target.retract(by_event_id=event.event_id, reason=event.payload["reason"], at=at)
        uow.add(
            Submission(
                agency=event.agency,
                event_id=event.event_id,
                type=event.type,
                occurred_at=event.occurred_at,
                occurred_utc=event.occurrence.at,
                occurred_on=event.occurrence.day.isoformat(),
                payload=event.payload,
                supersedes=event.supersedes,
                fingerprint=event.fingerprint,
                recorded_at=at,
                backfill=delivery.backfill,
                episode=episode,
                source=delivery.source,
                key_id=key_id,
                operator=delivery.operator,
                signature=delivery.signature or "",
                signed=base64.b64encode(delivery.signed_bytes).decode("ascii"),
            )
        )

    def _referenced(
        self, uow: UnitOfWork, agency: str, event_id: str | None, field_name: str
    ) -> Submission | None:
        if event_id is None:
            return None
        found = uow.get(Submission, uow.submission_id(agency, event_id))
        if found is None:
            raise BadReference(f"{event_id} is not an accepted event of {agency}",
                               field=field_name)
        return found

    def _apply_case_rules(
        self,
        event: AgencyEvent,
        replaced: Submission | None,
        target: Submission | None,
        uow: UnitOfWork,
    ) -> int | None:
        """Case rules; the one case command called is the last check before recording."""
        if target is not None and target.case is not None:
            case = uow.get(Case, Case.create_id(target.agency, target.case))
            assert case is not None
            if contract.case_role(target.type) == "opens":
                case.withdraw_referral(target.event_id)
            else:
                case.withdraw_closure(target.event_id)
            return None
        if event.case is None:
            return None
        at = event.occurrence.at
        case = uow.get(Case, Case.create_id(event.agency, event.case))
        if contract.case_role(event.type) == "opens":
            if case is None:
                case = Case(agency=event.agency, case=event.case)
                uow.add(case)
            if replaced is not None:
                return case.replace_referral(replaced.event_id, event.event_id, at)
            return case.refer(event.event_id, at)
        if case is None:
            raise NoOpenCase(f"case {event.case} was never referred", field="payload.case")
        if replaced is not None:
            return case.replace_closure(replaced.event_id, event.event_id, at)
        return case.close(event.event_id, at)

    def _keep_rejection(self, delivery: Delivery, rejected: Rejected, uow: UnitOfWork, *,
                        authenticated: bool) -> None:
        """Keep the message as it came, bounded, with every text taken from it made
        storable (``visible``): whatever it held, keeping it cannot fail."""
        producer = visible(delivery.producer, MAX_KEPT_NAME_CHARACTERS)
        digest = hashlib.sha256(delivery.raw).hexdigest()
        rejection_id = Rejection.create_id(producer, digest, authenticated)
        if uow.get(Rejection, rejection_id) is not None:
            return  # the same message was rejected before: kept once
        raw, encoding = _keepable(delivery.raw)
        uow.add(
            Rejection(
                producer=producer,
                digest=digest,
                reason=rejected.reason,
                field=rejected.field,
                message=rejected.message,
                event_id=_kept_name(delivery.message, "event_id"),
                type=_kept_name(delivery.message, "type"),
                raw=raw,
                raw_encoding=encoding,
                received_at=delivery.received_at,
                backfill=delivery.backfill,
                source=visible(delivery.source, MAX_KEPT_NAME_CHARACTERS),
                authenticated=authenticated,
            )
        )



@functools.lru_cache(maxsize=4096)
def _agency_id(code: str) -> UUID:
    return Agency.create_id(code)


def _ids_touched(deliveries: Sequence[Delivery], uow: UnitOfWork) -> list[UUID]:
    """The aggregates a batch will look up: each sender's ``Agency``, each event's
    ``Submission`` and the ones it supersedes or retracts, and each ``Case`` it names.

    Read from the undecoded message, so a malformed one contributes what it can (an id
    that is never looked up costs nothing but its place in the query).
    """
    ids: list[UUID] = []
    for delivery in deliveries:
        message = delivery.message
        if message is None:
            continue
        agency = message.get("agency")
        if not isinstance(agency, str):
            continue
        ids.append(_agency_id(agency))
        for event_id in (message.get("event_id"), message.get("supersedes")):
            if isinstance(event_id, str):
                ids.append(uow.submission_id(agency, event_id))
        payload = message.get("payload")
        if isinstance(payload, dict):
            target, case = payload.get("target"), payload.get("case")
            if isinstance(target, str):
                ids.append(uow.submission_id(agency, target))
            if isinstance(case, str):
                ids.append(Case.create_id(agency, case))
    return ids


def _rejected_outcome(delivery: Delivery, rejected: Rejected) -> Outcome:
    return Outcome("rejected", delivery.source, _kept_name(delivery.message, "event_id"),
                   rejected)


def _kept_name(message: dict[str, Any] | None, name: str) -> str | None:
    """A message's ``event_id`` or ``type`` as kept with its rejection: text only,
    storable and bounded (a rejected message's values may be anything)."""
    value = (message or {}).get(name)
    return visible(value, MAX_KEPT_NAME_CHARACTERS) if isinstance(value, str) else None


def _keepable(raw: bytes) -> tuple[str, str]:
    """Keep the message as text when it is UTF-8, else as base64; cap its size."""
    kept = raw[:MAX_KEPT_RAW_BYTES]
    try:
        return kept.decode("utf-8"), "utf-8"
    except UnicodeDecodeError:
        return base64.b64encode(kept).decode("ascii"), "base64"

