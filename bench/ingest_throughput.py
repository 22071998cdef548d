"""Ingest throughput, end to end, against a ceiling measured in the same run.

The ceiling is ``eventsourcing`` saving pre-built ``Submission`` aggregates in batches on
the same store: what recording costs with no deciding at all. Then: a file push on
SQLite, and Kafka -> one worker on SQLite and on PostgreSQL (timed from the worker's
first committed batch to its last, so the consumer group's join is not counted).
Prints one line per figure with its target and its ratio to the ceiling.

    python bench/ingest_throughput.py [--events N]
"""

from __future__ import annotations

import argparse
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

from domain.application import Scorecard
from domain.model import Submission
from ingest.file_push import push_file
from ingest.kafka_worker import IngestWorker, WorkerSettings, tracking_name
from ingest.producer import AgencyProducer, event_value
from scorecard.bootstrap import Home, postgres_env
from tests.services import ensure_postgres, running_broker, throwaway_database
from tests.support import NOW_UTC, RECEIVED, event, write_jsonl

BATCH = 2000
TARGETS = {"sqlite": 15_000, "postgres": 6_000}


def messages(count: int) -> list[dict[str, object]]:
    return [event("helpline.contact", f"b-{n}", "2015-10-02") for n in range(count)]


def ceiling(env: dict[str, str], count: int) -> float:
    """Batched saves of pre-built aggregates: no lookups, no rules."""
    app = Scorecard(env=env)
    built = [Submission(agency="racs", event_id=f"c-{n}", type="helpline.contact",
                        occurred_at="2015-10-02", occurred_utc=RECEIVED, occurred_on="2015-10-02",
                        payload={"channel": "phone"}, supersedes=None, fingerprint="f",
                        recorded_at=RECEIVED, backfill=False, episode=None, source="bench")
             for n in range(count)]
    started = time.perf_counter()
    for first in range(0, count, BATCH):
        app.save(*built[first:first + BATCH])
    rate = count / (time.perf_counter() - started)
    app.close()
    return rate


def file_push(home: Home, count: int) -> float:
    app = home.open()
    key = app.register_agency("racs", "RACS", "voluntary", None, by="bench")
    path = write_jsonl(home.path / "bench.jsonl", messages(count))
    started = time.perf_counter()
    summary = push_file(app, path, agency="racs", key=key, now=NOW_UTC)
    rate = count / (time.perf_counter() - started)
    assert summary.accepted == count, summary.line()
    return rate


def kafka_worker(home: Home, count: int) -> float:
    app = home.open()
    key = app.register_agency("racs", "RACS", "voluntary", None, by="bench")
    with running_broker() as broker:
        broker.create_topics(partitions=1)
        producer = AgencyProducer(broker.bootstrap, "racs", key)
        for message in messages(count):
            producer.send(event_value(message))
        producer.flush()
        last = producer.last_offsets[0]
        worker = IngestWorker(app, WorkerSettings(broker.bootstrap, session_timeout_ms=6000))
        first_commit: list[tuple[float, int]] = []
        done = threading.Event()

        def should_stop() -> bool:
            position = app.tracked_position(tracking_name(0))
            if position is not None and not first_commit:
                first_commit.append((time.perf_counter(), position + 1))
            if position == last:
                done.set()
            return done.is_set()

        worker.run(should_stop)
        finished = time.perf_counter()
    started, applied_first = first_commit[0]
    return (count - applied_first) / (finished - started)


@contextmanager
def sqlite_home() -> Iterator[Home]:
    with tempfile.TemporaryDirectory() as folder:
        yield Home(Path(folder))


@contextmanager
def postgres_home() -> Iterator[Home]:
    ensure_postgres()
    with throwaway_database() as url, tempfile.TemporaryDirectory() as folder:
        yield Home(Path(folder), event_store_url=url)


def line(name: str, rate: float, ceiling_rate: float, target: int | None) -> None:
    goal = f"target >= {target:,}/s {'met' if rate >= target else 'MISSED'}" if target else ""
    print(f"{name:<34} {rate:>9,.0f} events/s  {rate / ceiling_rate:>5.0%} of ceiling  {goal}",
          flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=20_000)
    count = parser.parse_args().events
    figures: list[tuple[str, str, Callable[[Home, int], float]]] = [
        ("file push, SQLite", "sqlite", file_push),
        ("Kafka -> worker, SQLite", "sqlite", kafka_worker),
        ("Kafka -> worker, PostgreSQL", "postgres", kafka_worker),
    ]
    ceilings: dict[str, float] = {}
    for store, opened in (("sqlite", sqlite_home), ("postgres", postgres_home)):
        with opened() as home:
            env = home.event_store_env() if store == "sqlite" else postgres_env(
                home.event_store_url or "")
            ceilings[store] = ceiling(env, count)
        line(f"ceiling (batched saves), {store}", ceilings[store], ceilings[store], None)
    for name, store, measure in figures:
        with (sqlite_home if store == "sqlite" else postgres_home)() as home:
            rate = measure(home, count)
        line(name, rate, ceilings[store], TARGETS[store])
        target_ratio = 0.6
        ratio = rate / ceilings[store]
        print(f"{'':<34} ratio {ratio:.2f} (target >= {target_ratio:.2f}: "
              f"{'met' if ratio >= target_ratio else 'MISSED'})", flush=True)


if __name__ == "__main__":
    main()
