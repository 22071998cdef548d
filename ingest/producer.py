"""What an agency embeds to push events over Kafka: sign the value, key it by agency.

``AgencyProducer`` wraps a ``confluent_kafka.Producer``: each event goes to topic
``agency-events`` with the agency code as key (so one agency's events stay in order on
one partition) and header ``signature`` = ``v1=`` HMAC-SHA256 of the exact value bytes.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from confluent_kafka import KafkaError, KafkaException, Message, Producer

from domain import contract, signing
from domain.errors import InvalidEvent
from ingest.kafka_config import client_config
from ingest.kafka_messages import SIGNATURE_HEADER, TOPIC


def event_value(event: Mapping[str, Any] | bytes) -> bytes:
    """The message value: bytes as given, or the event's canonical JSON."""
    if isinstance(event, bytes):
        return event
    return contract.canonical_bytes({k: v for k, v in event.items() if k != "signature"})


class AgencyProducer:
    """Signs and produces one agency's events; ``flush`` raises if any was not delivered."""

    def __init__(
        self, bootstrap: str, agency: str, key: str, config: Mapping[str, Any] | None = None
    ) -> None:
        self.agency = agency
        self._key = key
        self._failures: list[KafkaError] = []
        self.last_offsets: dict[int, int] = {}  # partition -> last offset the broker confirmed
        self._producer = Producer({
            **client_config(bootstrap),
            "linger.ms": 20,
            **(config or {}),
        })

    def send(self, event: Mapping[str, Any] | bytes, signature: str | None = None) -> None:
        """Queue one event; ``signature`` is used as given, else made with the key."""
        value = event_value(event)
        self.send_value(value, signature or signing.sign(self._key, value))

    def send_value(self, value: bytes, signature: str) -> None:
        while True:
            try:
                self._producer.produce(
                    TOPIC, value=value, key=self.agency.encode("utf-8"),
                    headers=[(SIGNATURE_HEADER, signature.encode("ascii"))],
                    on_delivery=self._delivered,
                )
                break
            except BufferError:
                self._producer.poll(0.1)  # the local queue is full: let it drain
        self._producer.poll(0)

    def flush(self, timeout: float = 60.0) -> None:
        left = self._producer.flush(timeout)
        if left:
            raise KafkaException(f"{left} events were not delivered within {timeout} s")
        if self._failures:
            raise KafkaException(self._failures[0])

    def _delivered(self, error: KafkaError | None, message: Message) -> None:
        if error is not None:
            self._failures.append(error)
            return
        partition, offset = message.partition(), message.offset()
        if partition is not None and offset is not None:
            self.last_offsets[partition] = max(offset, self.last_offsets.get(partition, -1))


def line_value_and_signature(line: bytes, key: str) -> tuple[bytes, str]:
    """A JSON Lines line as a Kafka value, keeping the line's own signature when it has one.

    A file line's signature covers its canonical envelope, so that envelope is sent as
    the value and the signature still verifies. A line that is not a JSON object is
    sent as it is, signed with the key, and the workers reject and keep it.
    """
    try:
        message = contract.decode_message(line)
    except InvalidEvent:
        return line, signing.sign(key, line)
    value = event_value(message)
    signature = message.get("signature")
    if isinstance(signature, str):
        return value, signature
    return value, signing.sign(key, value)
