"""The Kafka path under generated hostile messages: a real ``scorecard ingest`` worker
against a real broker (Tansu) decides every message, whatever its value, key and headers
bytes, and stops on none (issue 12, item 1).

Each message's fate is known from how it was built (``tests/fuzzing.py``): every valid
event is accepted exactly once, every hostile message is kept as a rejection (in
quarantine unless the agency's own key signed it), no deciding failed unexpectedly, and
the worker's stored positions reach the last offset of every partition.
``FUZZ_KAFKA_MESSAGES`` sets how many (the suite sends 400).
"""

from __future__ import annotations

import hashlib
import json
import os
import signal
from pathlib import Path
from typing import Any

import pytest
from confluent_kafka import KafkaError, Message, Producer

from domain.application import Scorecard
from ingest.kafka_messages import TOPIC, producer_of
from tests.fuzzing import KafkaCase, kafka_cases
from tests.integration.kafka_support import (
    REJECTED,
    Planned,
    accepted_ids,
    make_home,
    start_ingest,
    wait_until_applied,
    worker_env,
)
from tests.services import Broker

pytestmark = pytest.mark.slow

MESSAGES = int(os.environ.get("FUZZ_KAFKA_MESSAGES", "400"))
SEED = int(os.environ.get("FUZZ_KAFKA_SEED", "12"))
AGENCIES = ("racs", "grow")


def _produce(bootstrap: str, cases: list[KafkaCase]) -> dict[int, int]:
    """Send the messages as they are (no client of ours shapes them); returns each
    partition's last offset the broker confirmed."""
    last: dict[int, int] = {}
    failures: list[KafkaError] = []

    def delivered(error: KafkaError | None, message: Message) -> None:
        if error is not None:
            failures.append(error)
            return
        partition, offset = message.partition(), message.offset()
        assert partition is not None and offset is not None
        last[partition] = max(offset, last.get(partition, -1))

    producer = Producer({"bootstrap.servers": bootstrap, "linger.ms": 5,
                         "message.max.bytes": 1_000_000})
    for case in cases:
        producer.produce(TOPIC, value=case.value, key=case.key, headers=case.headers,
                         on_delivery=delivered)
        producer.poll(0)
    assert producer.flush(30) == 0 and not failures, failures
    return last


def _kept(app: Scorecard) -> list[tuple[str, str, bool, str]]:
    """Every kept rejection as (producer, digest of the message, quarantined, reason)."""
    found = []
    start = 0
    while page := app.recorder.select_notifications(start=start, limit=10_000,
                                                    topics=[REJECTED], inclusive_of_start=False):
        for notification in page:
            rejection: Any = app.mapper.to_domain_event(notification)
            found.append((rejection.producer, rejection.digest,
                          rejection.authenticated is not True, rejection.reason))
        start = page[-1].id
    return found


def test_no_kafka_message_stops_the_worker_and_each_is_decided(
    kafka: Broker, tmp_path: Path
) -> None:
    home, keys = make_home(tmp_path, None)
    cases = list(kafka_cases(SEED, MESSAGES, {code: keys[code] for code in AGENCIES}))
    hostile = [c for c in cases if c.expected in ("own", "quarantine")]
    assert len(hostile) > MESSAGES // 2 and {c.expected for c in cases} == {
        "accepted", "duplicate", "own", "quarantine"}
    planned = Planned(last_offsets=_produce(kafka.bootstrap, cases))

    log = tmp_path / "ingest.log"
    worker = start_ingest(worker_env(home, kafka.bootstrap), log)
    app = home.open()
    try:
        wait_until_applied(app, planned, seconds=max(60, MESSAGES / 100))  # at every end
        assert worker.poll() is None, log.read_text()[-3000:]  # nothing stopped it
    finally:
        worker.send_signal(signal.SIGTERM)
        assert worker.wait(timeout=30) == 0, log.read_text()[-3000:]

    accepted = accepted_ids(app)
    assert len(accepted) == len(set(accepted)), "an event was accepted twice"
    assert {event_id for _, event_id in accepted} == {
        _event_id(c) for c in cases if c.expected == "accepted"}
    kept = _kept(app)
    assert not [k for k in kept if k[3] == "internal_error"], "deciding failed unexpectedly"
    assert len(kept) == len({k[:3] for k in kept}), "a rejection was kept twice"
    assert {k[:3] for k in kept} == {
        (producer_of(c.key), hashlib.sha256(c.value or b"").hexdigest(),
         c.expected == "quarantine") for c in hostile}


def _event_id(case: KafkaCase) -> str:
    assert case.value is not None
    return str(json.loads(case.value)["event_id"])
