"""Exactly once under kill -9: ingest workers are SIGKILLed while 20,000 events arrive.

The first kill is the worker's own fault-injection point (``SCORECARD_FAULT_AFTER_COMMIT``:
SIGKILL straight after the event-store commit of its 3rd batch, before Kafka hears of it);
the others kill the whole ``scorecard ingest`` process group at random moments.
"""

from __future__ import annotations

import random
import signal
import threading
import time
from pathlib import Path

import pytest

from domain.application import Scorecard
from ingest.kafka_worker import tracking_name
from tests.integration.kafka_support import (
    Planned,
    assert_exactly_once,
    kept_rejection_sources,
    kill_group,
    make_home,
    produce,
    rejected_topic,
    start_ingest,
    wait_until_applied,
    worker_env,
)
from tests.services import PARTITIONS, Broker

pytestmark = pytest.mark.slow

EVENTS = 20_000
RANDOM_KILLS = 2


def test_every_event_is_applied_once_across_kills(
    kafka: Broker, postgres_url: str, tmp_path: Path
) -> None:
    home, keys = make_home(tmp_path, postgres_url)
    env = worker_env(home, kafka.bootstrap)
    log = tmp_path / "ingest.log"
    planned = Planned()
    failures: list[BaseException] = []

    def producing_all() -> None:
        try:
            produce(kafka.bootstrap, keys, EVENTS, planned, pace=0.15)
        except BaseException as error:  # surfaced after join: a thread's error is not a test's
            failures.append(error)
            raise

    producing = threading.Thread(target=producing_all)
    producing.start()

    faulty = start_ingest({**env, "SCORECARD_FAULT_AFTER_COMMIT": "3"}, log,
                          "--batch-size", "500")
    assert faulty.wait(timeout=120) == -signal.SIGKILL  # it killed itself after a commit
    assert "fault injected after commit 3" in log.read_text()

    rng = random.Random(7)
    app = home.open()
    for _ in range(RANDOM_KILLS):
        before = _applied(app)
        workers = start_ingest(env, log, "--workers", "2", "--batch-size", "500")
        deadline = time.monotonic() + 60
        while _applied(app) == before and time.monotonic() < deadline:
            time.sleep(0.1)  # kill while it is applying, not while it is joining
        time.sleep(rng.uniform(0.2, 1.5))
        kill_group(workers)

    producing.join()
    assert not failures, f"producing failed: {failures}"  # else the plan is not what was sent
    # What the test waits for is the whole topic (a fresh one): every message sent is at or
    # before its partition's last offset. (Not the broker's watermarks: Tansu's lag.)
    assert sum(last + 1 for last in planned.last_offsets.values()) == EVENTS
    workers = start_ingest(env, log, "--workers", "2")
    try:
        wait_until_applied(app, planned, seconds=180)
    finally:
        workers.send_signal(signal.SIGTERM)
        assert workers.wait(timeout=60) == 0, log.read_text()[-3000:]
    assert log.read_text().count("assigned") >= 4
    assert_exactly_once(app, planned, kafka.bootstrap)
    values, sources = rejected_topic(kafka.bootstrap, planned)
    assert values == planned.invalid  # at least once: compared as sets, not counted
    assert kept_rejection_sources(app) <= sources


def _applied(app: Scorecard) -> int:
    """How many messages the store has recorded positions for, over every partition."""
    positions = [app.tracked_position(tracking_name(p)) for p in range(PARTITIONS)]
    return sum(p + 1 for p in positions if p is not None)
