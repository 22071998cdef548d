"""Helpers for the Kafka tests: a home with agencies, workers as real processes, checks."""

from __future__ import annotations

import os
import random
import signal
import subprocess
import time
import warnings
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from confluent_kafka import OFFSET_BEGINNING, Consumer, TopicPartition

from domain.application import Scorecard
from ingest.kafka_messages import REJECTED_TOPIC, TOPIC, header
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
    _flushed(producers, planned)
    # Tansu (memory storage) has acknowledged records it then did not hold: on 1 Dec a
    # clean-clone suite's test found one agency's records of a shared partition in no
    # fetch, the workers' nor a fresh consumer's (not reproduced alone in 30 runs). The
    # workers cannot apply what the broker lost, so what was acknowledged is read back
    # and anything missing is sent again, as an agency's reconciliation would: an exact
    # copy is a duplicate the workers decide once, so exactly-once is still checked.
    for _ in range(2):
        held = topic_records(bootstrap, planned.last_offsets)
        missing = {(a, v, s) for a, v, s in sent if (a, v) not in held}
        if not missing:
            break
        warnings.warn(f"the broker acknowledged {len(missing)} records it does not hold "
                      "(a Tansu fault): sent again", stacklevel=2)
        for agency, value, signature in sorted(missing, key=repr):
            producers[agency].send(value, signature)
        _flushed(producers, planned)
    else:
        raise AssertionError(f"the broker lost {len(missing)} acknowledged records twice")
    planned.sent += count


def _flushed(producers: dict[str, AgencyProducer], planned: Planned) -> None:
    for producer in producers.values():
        producer.flush()
        for partition, offset in producer.last_offsets.items():
            # Several agencies share a partition, each with its own producer, whose batches
            # reach the broker in any order: the partition's last offset is the greatest
            # any of them saw. (``update`` kept the last flushed producer's, so a test
            # could stop waiting before the partition's tail was applied: CI, 30 Nov.)
            planned.last_offsets[partition] = max(offset,
                                                  planned.last_offsets.get(partition, -1))


def topic_records(bootstrap: str, last_offsets: dict[int, int], seconds: float = 20
                  ) -> set[tuple[str, bytes]]:
    """The (key, value) of every record in ``agency-events`` up to each partition's
    ``last_offsets``. A partition whose records end short of its last offset is read
    for ``seconds``."""
    return {((m.key() or b"").decode(), m.value() or b"")
            for m in topic_messages(bootstrap, last_offsets, seconds)}


def topic_messages(bootstrap: str, last_offsets: dict[int, int] | None, seconds: float
                   ) -> Iterator[Any]:
    """The records of ``agency-events`` from the start of each partition, read by
    assignment in no group (it takes nothing from the workers): up to each partition's
    ``last_offsets``, or, without them, of every partition until a read finds nothing
    more; ``seconds`` at most either way."""
    consumer = Consumer({"bootstrap.servers": bootstrap, "group.id": "test-topic-reader",
                         "enable.auto.commit": False})
    if last_offsets is None:
        partitions = list(consumer.list_topics(TOPIC, timeout=10).topics[TOPIC].partitions)
    else:
        partitions = list(last_offsets)
    consumer.assign([TopicPartition(TOPIC, p, OFFSET_BEGINNING) for p in partitions])
    reached = dict.fromkeys(partitions, -1)
    deadline = time.monotonic() + seconds
    try:
        while time.monotonic() < deadline and (last_offsets is None or any(
                reached[p] < last for p, last in last_offsets.items())):
            messages = consumer.consume(1000, 2.0 if last_offsets is None else 0.5)
            if not messages and last_offsets is None:
                return
            for message in messages:
                partition, offset = message.partition(), message.offset()
                if message.error() is None and partition is not None and offset is not None:
                    reached[partition] = max(reached.get(partition, -1), offset)
                    yield message
    finally:
        consumer.close()


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


def recorded(app: Scorecard, topic: str) -> Iterator[Any]:
    """Every domain event of ``topic`` in the store, in log order, a page at a time."""
    start = 0
    while page := app.recorder.select_notifications(start=start, limit=10_000,
                                                    topics=[topic], inclusive_of_start=False):
        yield from (app.mapper.to_domain_event(notification) for notification in page)
        start = page[-1].id


def accepted_ids(app: Scorecard) -> list[tuple[str, str]]:
    return [(e.agency, e.event_id) for e in recorded(app, ACCEPTED)]


def rejected_raws(app: Scorecard) -> list[tuple[str, bytes]]:
    return [(e.producer, e.raw.encode()) for e in recorded(app, REJECTED)]


def assert_exactly_once(app: Scorecard, planned: Planned, bootstrap: str | None = None) -> None:
    """Every planned valid event accepted once, every invalid one kept once.

    ``bootstrap``: when given, a missing event is looked for in the topic itself, so a
    failure says whether the broker ever held it (and where) or the workers skipped it.
    """
    accepted = accepted_ids(app)
    assert len(accepted) == len(set(accepted)), "an event was applied twice"
    missing = sorted(planned.valid - set(accepted))
    extra = sorted(set(accepted) - planned.valid)
    assert not missing and not extra, (
        f"missing {missing[:5]} extra {extra[:5]} of {len(planned.valid)}"
        + (f"; in the topic: {found_in_topic(bootstrap, missing[:5])}" if bootstrap else "")
        + f"; rejected as: {rejections_of(app, missing[:5])}")
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
    return {e.source for e in recorded(app, REJECTED)}


def found_in_topic(bootstrap: str, wanted: Sequence[tuple[str, str]], seconds: float = 30
                   ) -> dict[tuple[str, str], list[str]]:
    """Where in ``agency-events`` each (agency, event id) is (``p@o``), read from the start
    of every partition."""
    where: dict[tuple[str, str], list[str]] = {w: [] for w in wanted}
    for message in topic_messages(bootstrap, None, seconds):
        value = (message.value() or b"").decode("utf-8", "replace")
        for agency, event_id in wanted:
            if f'"event_id":"{event_id}"' in value and f'"agency":"{agency}"' in value:
                where[(agency, event_id)].append(f"{message.partition()}@{message.offset()}")
    return where


def rejections_of(app: Scorecard, wanted: Sequence[tuple[str, str]]) -> list[str]:
    """The kept rejections of these (agency, event id) pairs, as ``source: reason``."""
    ids = {event_id for _agency, event_id in wanted}
    return [f"{e.source}: {e.reason}" for e in recorded(app, REJECTED)
            if any(f'"{i}"' in e.raw for i in ids)]
