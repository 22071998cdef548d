"""A Kafka message of topic ``agency-events`` as a ``Delivery`` for the domain.

The key is the agency the producer claims to be (the broker authenticates no one here);
the HMAC in header ``signature``, over the exact value bytes, is what proves the claim.
A message with no key, or a key that is not UTF-8, is still decided, as producer
``unknown``, so that it is rejected and kept like any other bad message.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime

from domain import contract
from domain.application import Delivery
from domain.errors import InvalidEvent

TOPIC = "agency-events"
REJECTED_TOPIC = "agency-events.rejected"
SIGNATURE_HEADER = "signature"
UNKNOWN_PRODUCER = "unknown"

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
    if not key:
        return UNKNOWN_PRODUCER
    try:
        return key.decode("utf-8")
    except UnicodeDecodeError:
        return UNKNOWN_PRODUCER


def kafka_delivery(
    *,
    partition: int,
    offset: int,
    key: bytes | None,
    value: bytes | None,
    headers: Headers | None,
    received_at: datetime,
) -> Delivery:
    """Decode one message; the signature covers ``value`` exactly as it arrived."""
    raw = value or b""
    message: dict[str, object] | None = None
    error: InvalidEvent | None = None
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
