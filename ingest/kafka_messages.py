"""A Kafka message of topic ``agency-events`` as a ``Delivery`` for the domain.

The key is the agency the producer claims to be (the broker authenticates no one here);
the HMAC in header ``signature``, over the exact value bytes, is what proves the claim.
Every message becomes a delivery, whatever its bytes: one with no key, or a key that is
not an agency code, is decided as producer ``(unknown)`` (which no agency code can be),
one with no value or an unreadable one is ``invalid``; each is rejected and kept (in
quarantine unless its signature verifies) like any other bad message.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from datetime import datetime

from domain import contract
from domain.application import Delivery
from domain.errors import InvalidEvent
from domain.text import visible

TOPIC = "agency-events"
REJECTED_TOPIC = "agency-events.rejected"
SIGNATURE_HEADER = "signature"
UNKNOWN_PRODUCER = "(unknown)"  # not an agency code, so never a registered agency

HeaderValue = bytes | str | None
Headers = Sequence[tuple[str, HeaderValue]] | Mapping[str, HeaderValue]


def source_of(partition: int, offset: int) -> str:
    """Where a delivery came from, as kept with what it became."""
    return f"{TOPIC}/{partition}@{offset}"


def header(headers: Headers | None, name: str) -> str | None:
    """The first header ``name`` as text, or ``None`` when absent or not UTF-8."""
    pairs = headers.items() if isinstance(headers, Mapping) else headers or ()
    for key, value in pairs:
        if key == name and value is not None:
            if isinstance(value, str):
                return value
            try:
                return value.decode("utf-8")
            except UnicodeDecodeError:
                return None
    return None


def producer_of(key: bytes | None) -> str:
    """The agency a key claims, or ``UNKNOWN_PRODUCER`` when it names none."""
    if not key:
        return UNKNOWN_PRODUCER
    try:
        text = key.decode("utf-8")
    except UnicodeDecodeError:
        return UNKNOWN_PRODUCER
    return text if contract.AGENCY_CODE.fullmatch(text) else UNKNOWN_PRODUCER


def kafka_delivery(
    *,
    partition: int,
    offset: int,
    key: bytes | None,
    value: bytes | None,
    headers: Headers | None,
    received_at: datetime,
    unreadable: str | None = None,
) -> Delivery:
    """Decode one message; the signature covers ``value`` exactly as it arrived.

    ``unreadable``: why the message could not be read, if it could not (its headers, say):
    it is then ``invalid``, as a message that cannot be checked.
    """
    raw = value or b""
    message: dict[str, object] | None = None
    error: InvalidEvent | None = None
    if value is None:
        error = InvalidEvent("the Kafka message has no value (null)")
    elif unreadable is not None:
        error = InvalidEvent(f"the message cannot be read: {unreadable}")
    else:
        try:
            message = contract.decode_message(raw)
        except InvalidEvent as invalid:
            error = invalid
    return Delivery(
        producer=producer_of(key),
        raw=raw,
        message=message,
        decode_error=error,
        signed_bytes=raw,
        signature=header(headers, SIGNATURE_HEADER),
        received_at=received_at,
        source=source_of(partition, offset),
        producer_verified=True,
    )


def readable_headers(read: Callable[[], Headers | None]) -> tuple[Headers | None, str | None]:
    """A message's headers, or why they cannot be read: the client decodes header names
    as UTF-8 and raises on any that is not."""
    try:
        return read(), None
    except (UnicodeDecodeError, ValueError, TypeError) as error:
        return None, visible(f"its headers: {type(error).__name__}: {error}", 200)
