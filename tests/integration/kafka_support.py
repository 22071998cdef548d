"""Helpers for the Kafka tests: a home with agencies, workers as real processes, checks."""

from __future__ import annotations

import os
import random
import signal
import subprocess
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from confluent_kafka import Consumer
from eventsourcing.persistence import Notification

from domain.application import Scorecard
from ingest.kafka_messages import REJECTED_TOPIC, header
from ingest.kafka_worker import tracking_name
from ingest.producer import AgencyProducer
from scorecard.bootstrap import Home
from tests.e2e.test_command_line import SCORECARD
from tests.support import event

AGENCIES = ("racs", "grow", "nspcc-helpline", "barnardos", "iyss")
ACCEPTED = "domain.model:Submission.Accepted"
REJECTED = "domain.model:Rejection.Recorded"


@dataclass
class Planned:
    """What a test produced, and so what the store must hold afterwards."""

    valid: set[tuple[str, str]] = field(default_factory=set)
    invalid: set[tuple[str, bytes]] = field(default_factory=set)
    last_offsets: dict[int, int] = field(default_factory=dict)
    sent: int = 0


def make_home(tmp_path: Path, event_store: str | None) -> tuple[Home, dict[str, str]]:
    """A home with every agency registered; returns it and the agencies' keys."""
    home = Home(tmp_path / "home", event_store_url=event_store)
    app = home.open()
    keys = {code: app.register_agency(code, code.upper(), "voluntary", None, by="test")
            for code in AGENCIES}
    app.close()
    return home, keys


def worker_env(home: Home, bootstrap: str, **extra: str) -> dict[str, str]:
    env = dict(os.environ, SCORECARD_HOME=str(home.path), SCORECARD_KAFKA_BOOTSTRAP=bootstrap)
    env.pop("SCORECARD_EVENT_STORE", None)
    if home.event_store_url:
        env["SCORECARD_EVENT_STORE"] = home.event_store_url
    env.update(extra)
    return env


def start_ingest(env: dict[str, str], log: Path, *args: str) -> subprocess.Popen[bytes]:
    """``scorecard ingest`` in its own process group, so a test can kill all of it."""
    return subprocess.Popen([SCORECARD, "ingest", *args], env=env, stdout=log.open("ab"),
                            stderr=subprocess.STDOUT, start_new_session=True)


def kill_group(process: subprocess.Popen[bytes]) -> None:
    os.killpg(process.pid, signal.SIGKILL)
    process.wait()


def produce(bootstrap: str, keys: dict[str, str], count: int, planned: Planned,
            seed: int = 5, prefix: str = "e", pace: float = 0.0) -> None:
    """``count`` messages: valid ones, ~5% invalid, ~5% exact copies of earlier ones."""
    rng = random.Random(seed)
    producers = {code: AgencyProducer(bootstrap, code, key) for code, key in keys.items()}
    sent: list[tuple[str, bytes, str | None]] = []
    for n in range(count):
        agency = AGENCIES[n % len(AGENCIES)]
        roll = rng.random()
        if roll < 0.05 and sent:
            agency, value, signature = rng.choice(sent)  # an exact duplicate
        elif roll < 0.10:
            value = event_bytes(agency, f"{prefix}-{n}", channel="fax")  # invalid payload
            signature = None
            planned.invalid.add((agency, value))
        else:
            value = event_bytes(agency, f"{prefix}-{n}")
            signature = None
            planned.valid.add((agency, f"{prefix}-{n}"))
        producers[agency].send(value, signature)
        sent.append((agency, value, signature))
        if pace and n % 500 == 499:
            time.sleep(pace)
    for producer in producers.values():
        producer.flush()
        planned.last_offsets.update(producer.last_offsets)
    planned.sent += count


def event_bytes(agency: str, event_id: str, **payload: Any) -> bytes:
    from ingest.producer import event_value

    return event_value(event("helpline.contact", event_id, agency=agency, **payload))


def wait_until_applied(app: Scorecard, planned: Planned, seconds: float = 90) -> None:
    """Until every partition's stored position reaches the last offset produced to it."""
    deadline = time.monotonic() + seconds
    while True:
        behind: dict[int, tuple[int | None, int]] = {}
        for p, last in planned.last_offsets.items():
            stored = app.tracked_position(tracking_name(p))
            if stored is None or stored < last:  # a stored 0 is a position, not "none"
                behind[p] = (stored, last)
        if not behind:
            return
        assert time.monotonic() < deadline, f"not applied in {seconds} s: {behind}"
        time.sleep(0.3)


def _events(app: Scorecard, page: Sequence[Notification]) -> list[Any]:
    """A page of notifications as the domain events they record."""
    return [app.mapper.to_domain_event(notification) for notification in page]


def accepted_ids(app: Scorecard) -> list[tuple[str, str]]:
    found: list[tuple[str, str]] = []
    start = 0
    while page := app.recorder.select_notifications(start=start, limit=10_000,
                                                    topics=[ACCEPTED], inclusive_of_start=False):
        found += [(e.agency, e.event_id) for e in _events(app, page)]
        start = page[-1].id
    return found


def rejected_raws(app: Scorecard) -> list[tuple[str, bytes]]:
    found: list[tuple[str, bytes]] = []
    start = 0
    while page := app.recorder.select_notifications(start=start, limit=10_000,
                                                    topics=[REJECTED], inclusive_of_start=False):
        found += [(e.producer, e.raw.encode()) for e in _events(app, page)]
        start = page[-1].id
    return found


def assert_exactly_once(app: Scorecard, planned: Planned) -> None:
    accepted = accepted_ids(app)
    assert len(accepted) == len(set(accepted)), "an event was applied twice"
    assert set(accepted) == planned.valid, (
        f"missing {sorted(planned.valid - set(accepted))[:5]} "
        f"extra {sorted(set(accepted) - planned.valid)[:5]}")
    rejected = rejected_raws(app)
    assert len(rejected) == len(set(rejected)), "a rejection was kept twice"
    assert set(rejected) == planned.invalid


def rejected_topic(bootstrap: str, planned: Planned, seconds: float = 30
                   ) -> tuple[set[tuple[str, bytes]], set[str]]:
    """The rejected topic's (agency, value) pairs and ``agency-events/p@o`` sources."""
    consumer = Consumer({"bootstrap.servers": bootstrap, "group.id": "test-rejected-reader",
                         "auto.offset.reset": "earliest", "session.timeout.ms": 6000})
    consumer.subscribe([REJECTED_TOPIC])
    values: set[tuple[str, bytes]] = set()
    sources: set[str] = set()
    deadline = time.monotonic() + seconds
    try:
        while values != planned.invalid and time.monotonic() < deadline:
            for message in consumer.consume(1000, 0.5):
                if message.error() is None:
                    headers = message.headers()
                    values.add(((message.key() or b"").decode(), message.value() or b""))
                    sources.add(f"agency-events/{header(headers, 'source-partition')}@"
                                f"{header(headers, 'source-offset')}")
    finally:
        consumer.close()
    return values, sources


def kept_rejection_sources(app: Scorecard) -> set[str]:
    sources: set[str] = set()
    start = 0
    while page := app.recorder.select_notifications(start=start, limit=10_000,
                                                    topics=[REJECTED], inclusive_of_start=False):
        sources.update(e.source for e in _events(app, page))
        start = page[-1].id
    return sources
