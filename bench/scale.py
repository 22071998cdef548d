"""Benchmarks at national scale: ingest, freshness, report, rebuild, memory.

Prints one line per figure: name, value, unit, target, ratio to its target or to the
baseline measured in the same run (the ingest ceiling; a plain DuckDB scan for reports),
and met/MISSED. See docs/benchmarks.md.

    python bench/scale.py [--events 1000000] [--ingest-events 20000] [--no-kafka]
        [--upload-lines 200000] [--national .bench/kept] [--freshness-only]

The national stores (100k and ``--events``) are built from ``bench/national.py`` by
batched saves of pre-built aggregates, not through the domain (deciding a million events
would take longer than the whole run may); ingest is measured on its own slice.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from contextlib import ExitStack
from datetime import UTC, date, datetime
from functools import partial
from pathlib import Path
from typing import Any

from bench import ingest_throughput as ingest
from bench.national import build_store
from domain.application import Scorecard
from domain.timekeeping import to_naive_utc, utc_now
from ingest.file_push import file_line_delivery, push_file
from projections.report import build_report
from projections.report_cache import ReportCache
from scorecard.bootstrap import Home, head_of, postgres_env
from scorecard.service import DEFAULT_INTERVAL, follow
from tests.support import event, write_jsonl

KEY = "0" * 64  # every generated agency's key (bench/national.py)
REPORTS = [  # (as_at, known_at, from): a meeting in 2020, the latest year, today's view
    (date(2020, 10, 31), datetime(2020, 11, 4, 18, tzinfo=UTC), date(2020, 4, 1)),
    (date(2025, 12, 31), datetime(2026, 1, 6, 18, tzinfo=UTC), date(2025, 4, 1)),
    (date(2023, 3, 31), None, date(2016, 4, 1)),
]
FLOOR_SQL = (
    "SELECT count(*), sum(attendees) FROM facts WHERE recorded_at <= $known "
    "AND NOT (ended_at IS NOT NULL AND ended_at <= $known) "
    "AND occurred_on BETWEEN $start AND $end"
)


def figure(name: str, value: float, unit: str, target: str, met: bool | None,
           ratio: str = "") -> None:
    verdict = "" if met is None else ("met" if met else "MISSED")
    print(f"{name:<58} {value:>12,.1f} {unit:<9} {target:<24} {ratio:<26} {verdict}",
          flush=True)


def _timed(action: Callable[[], Any]) -> float:
    started = time.perf_counter()
    action()
    return time.perf_counter() - started


# Ingest --------------------------------------------------------------------------


def ingest_figures(count: int, kafka: bool, upload_lines: int) -> None:
    ceilings: dict[str, float] = {}
    for store, opened in (("sqlite", ingest.sqlite_home), ("postgres", ingest.postgres_home)):
        with opened() as home:
            env = home.event_store_env() if store == "sqlite" else postgres_env(
                home.event_store_url or "")
            ceilings[store] = ingest.ceiling(env, count)
        figure(f"ingest ceiling (batched saves), {store}", ceilings[store], "events/s",
               "baseline", None)
    paths: list[tuple[str, str, Callable[[Home, int], float]]] = [
        ("ingest file push, SQLite", "sqlite", ingest.file_push)]
    if kafka:
        paths += [("ingest Kafka -> worker, SQLite", "sqlite", ingest.kafka_worker),
                  ("ingest Kafka -> worker, PostgreSQL", "postgres", ingest.kafka_worker)]
    for name, store, measure in paths:
        with (ingest.sqlite_home if store == "sqlite" else ingest.postgres_home)() as home:
            rate = measure(home, count)
        goal = ingest.TARGETS[store]
        share = rate / ceilings[store]
        figure(name, rate, "events/s", f">= {goal:,} and >= 60%", rate >= goal and share >= 0.6,
               f"{share:.0%} of ceiling, {rate / goal:.2f}x target")
    # Issue 16 item 7: a file submitted from the agency page, against `scorecard push`
    # of the same file, in this run (bench/ingest_throughput.py: push_against_page).
    push, page, preview = ingest.push_against_page(upload_lines)
    figure(f"ingest file push, {upload_lines:,}-line file, SQLite", push.rate, "lines/s",
           "baseline", None, f"{push.cpu_per_thousand:.3f} CPU s/1,000")
    ratio = page.rate / push.rate
    figure("ingest page submit (submit_upload), same file", page.rate, "lines/s",
           f">= {ingest.PAGE_TARGET:.0%} of push", ratio >= ingest.PAGE_TARGET,
           f"{ratio:.2f}x push; CPU {page.cpu_per_thousand:.3f} s/1,000")
    figure("ingest page preview (dry run), same file", preview.rate, "lines/s", "", None,
           "before Submit, not in the ratio")


# Read side ----------------------------------------------------------------------


def rebuild_figure(home: Home, app: Scorecard, label: str) -> None:
    folded: list[int] = []
    seconds = _timed(lambda: folded.append(home.rebuild(app)))
    rate = folded[0] / seconds
    figure(f"rebuild read model, {label}", rate, "events/s", ">= 50,000", rate >= 50_000,
           f"{folded[0]:,} events in {seconds:.1f} s")


def report_figures(home: Home, app: Scorecard, label: str) -> None:
    with home.projected(app) as connection:
        for as_at, known_at, from_day in REPORTS:
            known = known_at or utc_now()
            report = partial(build_report, connection, as_at=as_at, known_at=known,
                             from_day=from_day)
            report()  # warm
            seconds = statistics.median(_timed(report) for _ in range(3))
            params = {"known": to_naive_utc(known), "start": from_day, "end": as_at}
            scan = partial(lambda p: connection.execute(FLOOR_SQL, p).fetchall(), params)
            scan()
            floor = statistics.median(_timed(scan) for _ in range(5))
            when = "now" if known_at is None else f"{known_at:%Y-%m-%d}"
            figure(f"report warm, {label}, as-at {as_at} known {when}", seconds * 1000, "ms",
                   "<= 100 ms", seconds <= 0.1,
                   f"{seconds / floor:,.0f}x the scan ({floor * 1000:.1f} ms)")
        # A live page's poll when nothing new has been folded: served from the cache
        # after checking that nothing became known since the cached report's time.
        cache = ReportCache()
        cache.report(connection, as_at=REPORTS[1][0], known_at=utc_now(), from_day=REPORTS[1][2])
        poll = statistics.median(_timed(partial(
            cache.report, connection, as_at=REPORTS[1][0], known_at=utc_now(),
            from_day=REPORTS[1][2])) for _ in range(5))
        figure(f"report, live poll with nothing new (cached), {label}", poll * 1000, "ms",
               "<= 100 ms", poll <= 0.1, f"built {cache.built} of 6 asked")


def child(mode: str, folder: str, *args: str) -> int:
    """Run in a fresh process: prints its peak memory (KiB) last."""
    home = Home(Path(folder))
    if mode == "ui":  # the page's path: open the published read model, build a report
        with home.reader() as connection:
            build_report(connection, as_at=date(2025, 12, 31), known_at=utc_now(),
                         from_day=date(2025, 4, 1))
    elif mode == "worker":  # a push of 5,000 events into the store
        app = home.open()
        messages = [event("helpline.contact", f"mem-{args[0]}-{n}", "2026-02-02",
                          agency="p000-helpline") for n in range(5000)]
        path = write_jsonl(Path(tempfile.mkdtemp()) / "mem.jsonl", messages)
        summary = push_file(app, path, agency="p000-helpline", key=KEY, now=utc_now())
        assert summary.accepted == 5000, summary.line()
    elif mode == "load":  # background load for freshness: ~1,000 events/s until told
        app = home.open()
        stop, serial = Path(args[0]), 0
        run = time.time_ns()  # a kept store (--national) already holds earlier runs' ids
        # Paced by the clock, 200 events every 0.2 s: a fixed 0.2 s sleep after each batch
        # added the batch's own time, so the load reached ~500 events/s, not ~1,000.
        due = time.monotonic()
        while not stop.exists():
            batch = []
            for _ in range(200):
                serial += 1
                raw = json.dumps(event("helpline.contact", f"load-{run}-{serial}", "2026-02-03",
                                       agency="p001-helpline")).encode()
                batch.append(file_line_delivery(raw, producer="p001-helpline", key=KEY,
                                                producer_verified=True, received_at=utc_now(),
                                                backfill=False, source="load"))
            app.submit(batch)
            due += 0.2
            time.sleep(max(0.0, due - time.monotonic()))  # behind: at once, flat out
    elif mode == "projector":  # the projector service, until told to stop
        stopped = threading.Event()
        threading.Thread(target=_set_when_exists, args=(Path(args[0]), stopped),
                         daemon=True).start()
        follow(home, DEFAULT_INTERVAL, stopped, log=lambda _text: None)
    elif mode == "reader":  # polls as the page does; notes when each sample appears
        stop, out, ready, prefix = Path(args[0]), Path(args[1]), Path(args[2]), args[3]
        seen: dict[str, float] = {}
        polls: list[float] = []
        opened: Path | None = None
        while not stop.exists():
            opened = _wait_for_new(home, opened, stop)
            started = time.perf_counter()
            with home.reader() as connection:
                build_report(connection, as_at=date(2026, 3, 31), known_at=utc_now(),
                             from_day=date(2025, 4, 1))
                rows = connection.execute(
                    "SELECT event_id FROM facts WHERE starts_with(event_id, ?)",
                    [prefix]).fetchall()
            now = time.time()
            polls.append(time.perf_counter() - started)
            for (event_id,) in rows:
                seen.setdefault(event_id, now)
            ready.touch()
        out.write_text(json.dumps({"seen": seen, "polls": polls}))
    elif mode == "watcher":  # opens what readers open, as a CLI report would; no report
        stop, out, prefix = Path(args[0]), Path(args[1]), args[2]
        seen_at: dict[str, float] = {}
        reads: list[float] = []
        last: Path | None = None
        while not stop.exists():
            last = _wait_for_new(home, last, stop)
            started = time.perf_counter()
            with home.reader() as connection:
                rows = connection.execute(
                    "SELECT event_id FROM facts WHERE starts_with(event_id, ?)",
                    [prefix]).fetchall()
            now = time.time()
            reads.append(time.perf_counter() - started)
            for (event_id,) in rows:
                seen_at.setdefault(event_id, now)
        out.write_text(json.dumps({"seen": seen_at, "polls": reads}))
    print(peak_kib())
    return 0


def _wait_for_new(home: Home, last: Path | None, stop: Path) -> Path | None:
    """The published snapshot once it is another than ``last`` (looked for every 50 ms),
    or ``last`` once ``stop`` exists. Opening the snapshot already read again shows
    nothing new: a reader that did so back to back only took the projector's CPU."""
    while not stop.exists():
        published = home.published()
        if published is not None and published.file != last:
            return published.file
        time.sleep(0.05)
    return last


def _set_when_exists(path: Path, event: threading.Event) -> None:
    while not path.exists():
        time.sleep(0.1)
    event.set()


def peak_kib() -> int:
    """This process's peak resident set (VmHWM). Not ``ru_maxrss``: Linux carries that
    over ``exec`` from the parent, so a child started by a big parent reports the parent's."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1])
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss


def _child(*args: str, wait: bool = True) -> Any:
    command = [sys.executable, __file__, "--child", *args]
    if not wait:
        return subprocess.Popen(command, stdout=subprocess.PIPE, text=True)
    done = subprocess.run(command, check=True, capture_output=True, text=True)
    return int(done.stdout.split()[-1])


def memory(folder: Path, label: str) -> dict[str, int]:
    return {"worker": _child("worker", str(folder), label), "ui": _child("ui", str(folder))}


def _lags(seen: dict[str, float], accepted: dict[str, float]) -> tuple[float, float]:
    """p50 and p95 of the delays from acceptance to ``seen`` (inf for one never seen)."""
    lags = sorted(seen.get(k, float("inf")) - t for k, t in accepted.items())
    return lags[len(lags) // 2], lags[int(len(lags) * 0.95) - 1]


def freshness(folder: Path, label: str, samples: int = 50) -> None:
    """Samples appended one at a time beside ~1,000 events/s of load, with the projector
    service following: when each can be read in the published read model (a process
    opening it as a CLI report does), and when it is in a page's data (a process that
    builds the page's report over and over, so that figure includes a report's time)."""
    home = Home(folder)
    app = home.open()
    control = Path(tempfile.mkdtemp())
    stop, out, ready = control / "stop", control / "seen.json", control / "ready"
    watched = control / "watched.json"
    load = _child("load", str(folder), str(stop), wait=False)
    projector = _child("projector", str(folder), str(stop), wait=False)
    while home.published() is None:
        time.sleep(0.1)
    prefix = f"fresh-{time.time_ns()}-"  # a kept store (--national) holds earlier runs' samples
    reader = _child("reader", str(folder), str(stop), str(out), str(ready), prefix, wait=False)
    watcher = _child("watcher", str(folder), str(stop), str(watched), prefix, wait=False)
    while not ready.exists():
        time.sleep(0.1)
    accepted: dict[str, float] = {}
    heads: dict[str, int] = {}  # the log's head just after each sample: it is at or before
    published: dict[str, float] = {}
    watching = threading.Thread(target=_watch_pointer, args=(home, heads, published, stop),
                                daemon=True)
    watching.start()
    first, started, busy = head_of(app), time.time(), os.getloadavg()[0]
    for n in range(samples):
        raw = json.dumps(event("helpline.contact", f"{prefix}{n}", "2026-02-04",
                               agency="p002-helpline")).encode()
        app.submit([file_line_delivery(raw, producer="p002-helpline", key=KEY,
                                       producer_verified=True, received_at=utc_now(),
                                       backfill=False, source="fresh")])
        accepted[f"{prefix}{n}"] = time.time()
        heads[f"{prefix}{n}"] = head_of(app)
        time.sleep(0.25)
    rate = (head_of(app) - first) / (time.time() - started)
    time.sleep(5)
    stop.touch()
    watching.join()
    for process in (reader, watcher, load, projector):
        process.communicate(timeout=120)
    page = json.loads(out.read_text())
    read = json.loads(watched.read_text())
    p50, p95 = _lags(read["seen"], accepted)
    page50, page95 = _lags(page["seen"], accepted)
    opened = statistics.median(read["polls"])
    poll = statistics.median(page["polls"])
    pub50, pub95 = _lags(published, accepted)
    figure(f"freshness p50 / p95, {label}, accepted -> published", pub50, "s",
           f"p95 {pub95:.1f} s", None,
           f"{rate:,.0f} ev/s; load avg {busy:.1f}-{os.getloadavg()[0]:.1f}")
    figure(f"freshness p50, {label}, accepted -> readable", p50, "s", "", None,
           f"an open and a read {opened:.2f} s")
    figure(f"freshness p95, {label}, ~1,000 events/s load", p95, "s", "<= 2 s", p95 <= 2.0,
           f"{p95 / 2:.2f}x target")
    figure(f"freshness p50 / p95, {label}, -> in the page's report", page50, "s",
           f"p95 {page95:.1f} s", None, f"page poll {poll:.2f} s (a report)")


def _watch_pointer(home: Home, heads: dict[str, int], published: dict[str, float],
                   stop: Path) -> None:
    """Notes when the projector's published pointer first covers each sample (its
    position at or past the log's head just after the sample was accepted): the
    projector's share of the lag, before any reader opens the snapshot."""
    while not stop.exists():
        pointer = home.published()
        now = time.time()
        if pointer is not None:
            for sample, head in list(heads.items()):
                if pointer.position >= head:
                    published.setdefault(sample, now)
        time.sleep(0.02)


def read_side(events: int, national: Path | None = None, freshness_only: bool = False
              ) -> None:
    sizes = sorted({100_000, events})
    peaks: dict[int, dict[str, int]] = {}
    for size in sizes:
        label = f"{size // 1000:,}k events" if size < 1_000_000 else f"{size / 1e6:g}M events"
        with ExitStack() as stack:
            folder = (national / f"national-{size}" if national is not None else
                      Path(stack.enter_context(tempfile.TemporaryDirectory(
                          dir=Path.cwd() / ".bench"))))
            folder.mkdir(parents=True, exist_ok=True)
            home = Home(folder)
            app = home.open()
            stack.callback(app.close)
            built = folder / "built"
            if built.exists():
                print(f"# reused the national store in {folder} ({built.read_text().strip()} "
                      f"stored events when built)", flush=True)
            else:
                started = time.perf_counter()
                saved = build_store(app, size)
                seconds = time.perf_counter() - started
                print(f"# built a national store of {saved:,} stored events for {label} in "
                      f"{seconds:.0f} s (batched saves of pre-built aggregates)", flush=True)
                if national is not None:
                    built.write_text(f"{saved}\n")
            if freshness_only:
                started = time.perf_counter()
                folded = home.project(app)
                print(f"# folded {folded:,} events before the freshness step in "
                      f"{time.perf_counter() - started:.0f} s", flush=True)
                freshness(folder, label)
                continue
            rebuild_figure(home, app, label)
            report_figures(home, app, label)
            peaks[size] = memory(folder, str(size))
            freshness(folder, label)
    if freshness_only:
        return
    small, large = peaks[sizes[0]], peaks[sizes[-1]]
    for role in ("worker", "ui"):
        ratio = large[role] / small[role]
        figure(f"peak memory, {role} process, {sizes[-1]:,} events", large[role] / 1024, "MiB",
               "flat (ratio <= 1.2)", ratio <= 1.2,
               f"{ratio:.2f}x the {sizes[0]:,}-event figure ({small[role] / 1024:.0f} MiB)")


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--events", type=int, default=1_000_000)
    parser.add_argument("--ingest-events", type=int, default=20_000)
    parser.add_argument("--no-kafka", action="store_true")
    parser.add_argument("--upload-lines", type=int, default=ingest.UPLOAD_LINES)
    parser.add_argument("--national", type=Path, help=(
        "keep the national stores in this folder (national-<events>) and reuse them on "
        "the next run, instead of building them in a temporary folder"))
    parser.add_argument("--freshness-only", action="store_true", help=(
        "only the freshness step, on each store folded up to date first"))
    parser.add_argument("--child", nargs="+")
    options = parser.parse_args()
    if options.child:
        sys.exit(child(*options.child))
    (Path.cwd() / ".bench").mkdir(exist_ok=True)
    started = time.perf_counter()
    print(f"# {datetime.now(UTC):%Y-%m-%d %H:%M} UTC, national store of {options.events:,} "
          f"events, ingest slices of {options.ingest_events:,}; load average "
          f"{os.getloadavg()[0]:.1f}", flush=True)
    if not options.freshness_only:
        ingest_figures(options.ingest_events, not options.no_kafka, options.upload_lines)
    read_side(options.events, options.national, options.freshness_only)
    print(f"# whole run {time.perf_counter() - started:.0f} s", flush=True)



if __name__ == "__main__":
    main()
