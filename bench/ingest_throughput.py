"""Ingest throughput, end to end, against a ceiling measured in the same run.

The ceiling is ``eventsourcing`` saving pre-built ``Submission`` aggregates in batches on
the same store: what recording costs with no deciding at all. Then: a file push on
SQLite, and Kafka -> one worker on SQLite and on PostgreSQL (timed from the worker's
first committed batch to its last, so the consumer group's join is not counted).
Prints one line per figure with its target and its ratio to the ceiling.

Then the agency page against ``scorecard push`` on one file of ``--upload-lines`` lines
(issue 16 item 7: at least 80% of push's rate): the page's "Submit this return" is
``submit_upload``, the function the Streamlit view calls with the uploaded bytes, on a
fresh store as push has, each twice (push, page, page, push). Both rates, their ratio,
and each path's CPU time per 1,000 lines (the machine may be shared: CPU time shows
whether a gap is the code's).

    python bench/ingest_throughput.py [--events N] [--upload-lines N]
"""

from __future__ import annotations

import argparse
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from functools import partial
from pathlib import Path

from domain.application import Scorecard
from domain.model import Submission
from ingest.file_push import push_file
from ingest.kafka_worker import IngestWorker, WorkerSettings, tracking_name
from ingest.producer import AgencyProducer, event_value
from scorecard.bootstrap import Home, postgres_env
from scorecard_ui.return_submission import preview_upload, submit_upload
from tests.services import ensure_postgres, running_broker, throwaway_database
from tests.support import NOW_UTC, RECEIVED, event, write_jsonl

BATCH = 2000
TARGETS = {"sqlite": 15_000, "postgres": 6_000}
UPLOAD_LINES = 200_000
PAGE_TARGET = 0.8  # of push's rate


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


@dataclass(frozen=True)
class Timed:
    lines: int
    seconds: float
    cpu_seconds: float

    @property
    def rate(self) -> float:
        return self.lines / self.seconds

    @property
    def cpu_per_thousand(self) -> float:
        return self.cpu_seconds / self.lines * 1000


def _timed(lines: int, action: Callable[[], object]) -> Timed:
    started, cpu = time.perf_counter(), time.process_time()
    action()
    return Timed(lines, time.perf_counter() - started, time.process_time() - cpu)


def _push_path(app: Scorecard, key: str, path: Path, count: int) -> None:
    summary = push_file(app, path, agency="racs", key=key, now=NOW_UTC)
    assert summary.accepted == count, summary.line()


def _page_submit(app: Scorecard, key: str, path: Path, count: int) -> None:
    content = path.read_bytes()  # the upload's bytes, as Streamlit hands them over
    summary = submit_upload(app, "racs", "racs-staff", path.name, content, app.plan.zone)
    assert summary.accepted == count, summary.line()


def _page_preview(app: Scorecard, key: str, path: Path, count: int) -> None:
    preview = preview_upload(app, "racs", "racs-staff", path.name, path.read_bytes(),
                             app.plan.zone)
    assert len(preview.rows) == count and not preview.problems


def push_against_page(count: int) -> tuple[Timed, Timed, Timed]:
    """``scorecard push`` of a file, the page's submission of the same file, and the
    page's preview of it (a dry run of the whole file, shown before "Submit"), each on a
    fresh SQLite store. Push and page run twice each, in the order push, page, page, push,
    and each figure adds up its two runs: on a shared machine whose load drifts, neither
    path gets the quieter minutes."""
    timings: dict[str, list[Timed]] = {"push": [], "page": [], "preview": []}
    order = [("push", _push_path), ("page", _page_submit), ("page", _page_submit),
             ("push", _push_path), ("preview", _page_preview)]
    for name, run in order:
        with sqlite_home() as home:
            app = home.open()
            key = app.register_agency("racs", "RACS", "voluntary", None, by="bench")
            path = write_jsonl(home.path / "bench.jsonl", messages(count))
            timings[name].append(_timed(count, partial(run, app, key, path, count)))
            app.close()
    push, page, preview = (Timed(sum(t.lines for t in runs), sum(t.seconds for t in runs),
                                 sum(t.cpu_seconds for t in runs))
                           for runs in timings.values())
    return push, page, preview


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
    parser.add_argument("--upload-lines", type=int, default=UPLOAD_LINES)
    options = parser.parse_args()
    count = options.events
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
    for label, line_out in page_lines(options.upload_lines):
        print(f"{label:<34} {line_out}", flush=True)


def page_lines(count: int) -> list[tuple[str, str]]:
    """The page against push on one file, as printed lines (name, figures)."""
    push, page, preview = push_against_page(count)
    ratio = page.rate / push.rate
    return [
        (f"push, {count:,}-line file", f"{push.rate:>9,.0f} lines/s  "
         f"{push.cpu_per_thousand:.3f} CPU s per 1,000 lines"),
        ("page submit, same file", f"{page.rate:>9,.0f} lines/s  "
         f"{page.cpu_per_thousand:.3f} CPU s per 1,000 lines"),
        ("", f"ratio page/push {ratio:.2f} (target >= {PAGE_TARGET:.2f}: "
             f"{'met' if ratio >= PAGE_TARGET else 'MISSED'}); CPU ratio "
             f"{push.cpu_per_thousand / page.cpu_per_thousand:.2f}"),
        ("page preview (dry run), same file", f"{preview.rate:>9,.0f} lines/s  "
         f"(before Submit; not part of the ratio)"),
    ]


if __name__ == "__main__":
    main()
