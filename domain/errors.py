"""Named domain errors: one class per rejection reason of the agency event contract.

Every rule in section 3 of the contract raises one of these. Each carries the reason
code agencies see, the field at fault (a dotted path such as ``payload.attendees``, or
``""`` when the message as a whole is at fault) and a sentence naming the rule.
"""

from __future__ import annotations

from typing import ClassVar

from domain.text import visible

MAX_MESSAGE_CHARACTERS = 2000
MAX_FIELD_CHARACTERS = 200


class Rejected(Exception):
    """An agency event that the partnership will not accept, and why."""

    reason: ClassVar[str] = "invalid"

    def __init__(self, message: str, field: str = "") -> None:
        # Both may quote the message's own text: made storable and bounded here, once.
        message = visible(message, MAX_MESSAGE_CHARACTERS)
        super().__init__(message)
        self.field = visible(field, MAX_FIELD_CHARACTERS)
        self.message = message

    def __str__(self) -> str:
        where = f"{self.field}: " if self.field else ""
        return f"[{self.reason}] {where}{self.message}"


class InvalidEvent(Rejected):
    """Malformed JSON, a missing or wrong field, a value out of range."""

    reason = "invalid"


class UnknownType(Rejected):
    """The ``type`` is not one the contract defines."""

    reason = "unknown_type"


class Unauthenticated(Rejected):
    """The producer is not the agency it claims, or the signature does not verify."""

    reason = "unauthenticated"


class UnknownAgency(Rejected):
    """The agency is not registered, or is suspended."""

    reason = "unknown_agency"


class NotPermitted(Rejected):
    """The agency is registered but may not send this type."""

    reason = "not_permitted"


class EventIdConflict(Rejected):
    """The ``event_id`` was accepted before with different content."""

    reason = "event_id_conflict"


class NoOpenCase(Rejected):
    """A closure for a case never referred, or already closed."""

    reason = "no_open_case"


class OutOfOrder(Rejected):
    """A case event dated before the event it follows."""

    reason = "out_of_order"


class CaseAlreadyOpen(Rejected):
    """A referral for a case that is still open."""

    reason = "case_already_open"


class UnknownAction(Rejected):
    """A status for an action not in the plan, or not led by the agency."""

    reason = "unknown_action"


class BadReference(Rejected):
    """``supersedes`` or ``target`` does not name an event it may replace or withdraw."""

    reason = "bad_reference"


class FutureEvent(Rejected):
    """``occurred_at`` is more than five minutes after receipt."""

    reason = "future"


class InternalError(Rejected):
    """Deciding the message failed unexpectedly, twice (a fault of ours or a message we
    did not foresee): kept with the error, for an administrator, so that it stops
    nothing behind it. Not a reason of the contract, which cannot foresee our faults."""

    reason = "internal_error"


REASON_CODES: tuple[str, ...] = tuple(
    cls.reason
    for cls in (
        InvalidEvent,
        UnknownType,
        Unauthenticated,
        UnknownAgency,
        NotPermitted,
        EventIdConflict,
        NoOpenCase,
        OutOfOrder,
        CaseAlreadyOpen,
        UnknownAction,
        BadReference,
        FutureEvent,
    )
)


class CommandError(Exception):
    """An administrator's command that cannot be carried out (not an agency event)."""
