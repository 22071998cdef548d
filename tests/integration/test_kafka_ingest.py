"""Kafka ingest against a real broker (Tansu) and real event stores, workers as processes."""

from __future__ import annotations

import re
import signal
import subprocess
import time
from pathlib import Path

import pytest

from domain.application import Scorecard
from scorecard.bootstrap import Home
from tests.e2e.test_command_line import SCORECARD
from tests.integration.kafka_support import (
    Planned,
    accepted_ids,
    assert_exactly_once,
    kept_rejection_sources,
    make_home,
    produce,
    rejected_raws,
    rejected_topic,
    start_ingest,
    wait_until_applied,
    worker_env,
)
from tests.loopback import free_port
from tests.services import PARTITIONS, Broker, running_broker
from tests.support import event, signed, write_jsonl

pytestmark = pytest.mark.slow


@pytest.fixture(params=["sqlite", "postgres"])
def event_store(request: pytest.FixtureRequest) -> str | None:
    return request.getfixturevalue("postgres_url") if request.param == "postgres" else None


def stop(process: subprocess.Popen[bytes], log: Path) -> None:
    process.send_signal(signal.SIGTERM)
    assert process.wait(timeout=30) == 0, log.read_text()


def assignments(log: Path) -> list[set[int]]:
    """The partitions of each non-empty assignment a worker logged, in order."""
    return [{int(p.split("@")[0]) for p in found.split(", ")}
            for found in re.findall(r"assigned ((?:\d+@-?\d+(?:, )?)+)$", log.read_text(),
                                    re.MULTILINE)]


def wait_for_assignment(log: Path, partitions: int = 1, seconds: float = 60) -> None:
    deadline = time.monotonic() + seconds
    while not any(len(found) >= partitions for found in assignments(log)):
        assert time.monotonic() < deadline, f"no assignment in {log}:\n{log.read_text()}"
        time.sleep(0.2)


def test_workers_apply_each_event_once_keep_and_republish_rejections(
    kafka: Broker, event_store: str | None, tmp_path: Path
) -> None:
    home, keys = make_home(tmp_path, event_store)
    planned = Planned()
    produce(kafka.bootstrap, keys, 3000, planned)
    log = tmp_path / "ingest.log"
    workers = start_ingest(worker_env(home, kafka.bootstrap), log, "--workers", "2")
    app = home.open()
    try:
        wait_until_applied(app, planned)
    finally:
        stop(workers, log)
    assert_exactly_once(app, planned, kafka.bootstrap)
    values, sources = rejected_topic(kafka.bootstrap, planned)
    assert values == planned.invalid
    assert kept_rejection_sources(app) <= sources
    with home.projected(app) as connection:  # the projector follows this store too
        facts = connection.execute("SELECT count(*) FROM facts").fetchone()
    assert facts == (len(planned.valid),)


def test_push_produces_to_kafka_and_the_workers_decide_it(
    kafka: Broker, tmp_path: Path
) -> None:
    home, keys = make_home(tmp_path, None)
    key_file = tmp_path / "racs.key"
    key_file.write_text(keys["racs"])
    lines = [event("helpline.contact", f"h-{n}", "2015-10-02") for n in range(5)]
    lines += [signed(event("helpline.contact", "h-signed"), keys["racs"]),
              event("helpline.contact", "bad", channel="fax")]
    env = worker_env(home, kafka.bootstrap)
    pushed = subprocess.run(
        [SCORECARD, "push", str(write_jsonl(tmp_path / "oct.jsonl", lines)),
         "--agency", "racs", "--key-file", str(key_file)],
        env=env, capture_output=True, text=True, timeout=60, check=True)
    assert pushed.stdout.startswith("produced 7 to agency-events")
    log = tmp_path / "ingest.log"
    workers = start_ingest(env, log)
    app = home.open()
    try:
        deadline = time.monotonic() + 60
        while len(accepted_ids(app)) < 6 or not rejected_raws(app):
            assert time.monotonic() < deadline, log.read_text()
            time.sleep(0.3)
    finally:
        stop(workers, log)
    assert sorted(e for _, e in accepted_ids(app)) == [*(f"h-{n}" for n in range(5)), "h-signed"]
    assert [reason for reason, in _reasons(home, app)] == ["invalid"]


def _reasons(home: Home, app: Scorecard) -> list[tuple[str]]:
    with home.projected(app) as connection:
        return connection.execute("SELECT reason FROM rejections").fetchall()


def test_two_workers_share_partitions_and_hand_them_over(
    kafka: Broker, tmp_path: Path
) -> None:
    home, keys = make_home(tmp_path, None)
    env = worker_env(home, kafka.bootstrap)
    planned = Planned()
    first_log, second_log = tmp_path / "first.log", tmp_path / "second.log"
    first = start_ingest(env, first_log)
    app = home.open()
    produce(kafka.bootstrap, keys, 1000, planned, seed=1, prefix="a")
    wait_until_applied(app, planned)
    second = start_ingest(env, second_log)
    try:
        wait_for_assignment(second_log)  # the group rebalanced to share the partitions
        produce(kafka.bootstrap, keys, 1000, planned, seed=2, prefix="b")
        wait_until_applied(app, planned)
        assert "revoked" in first_log.read_text()
        stop(first, first_log)  # leaving hands every partition to the second worker
        wait_for_assignment(second_log, partitions=PARTITIONS)
        produce(kafka.bootstrap, keys, 1000, planned, seed=3, prefix="c")
        wait_until_applied(app, planned)
    finally:
        for process in (first, second):
            if process.poll() is None:
                process.kill()
    shared = assignments(second_log)[0]
    assert 0 < len(shared) < PARTITIONS  # the second worker first took a share, not all
    assert assignments(first_log)[-1] == set(range(PARTITIONS)) - shared
    assert_exactly_once(app, planned, kafka.bootstrap)


def test_a_worker_started_before_the_broker_waits_and_recovers(tmp_path: Path) -> None:
    home, keys = make_home(tmp_path, None)
    port = free_port()
    log = tmp_path / "ingest.log"
    workers = start_ingest(worker_env(home, f"127.0.0.1:{port}"), log)
    try:
        time.sleep(3)
        assert workers.poll() is None, log.read_text()  # still running, waiting for brokers
        with running_broker(port, tmp_path / "tansu.log") as broker:
            broker.create_topics()
            planned = Planned()
            produce(broker.bootstrap, keys, 500, planned)
            app = home.open()
            wait_until_applied(app, planned)
            stop(workers, log)
    finally:
        if workers.poll() is None:
            workers.kill()
    assert_exactly_once(app, planned)  # the broker has stopped: nothing to look in
