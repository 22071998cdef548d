"""The demo's report, uncached, against a plain DuckDB scan of the same facts.

The board's page builds this report on every date change, so its time is felt. Four
figures, each in wall time (CPU time too where it is steadier), ``build_report`` called
directly (the page's report cache of ``projections.report_cache`` plays no part):

- **warm**: the 16 Dec 2015 meeting as known then and as known now, the median of
  repeated builds on one connection;
- **date change**: a day not asked before in this process, as a board member changing
  the date meets it: every 13th day of the plan (84 days), each built once, known at
  the end of that day and known now, median and p95 (the issue's target is read here
  and on warm: it is what a date change costs a page that has served before);
- **new state**: the first report on a snapshot this process has not read (a copy of
  the demo's file, as after each fold the projector publishes a new one): the lookups
  and case facts are read again, DuckDB reads the file's blocks. Opening the snapshot
  (50-120 ms, once per snapshot) is left out, as it is for every figure;
- **cold**: the first report of a fresh process (imports and the connection left out:
  they are paid once per server process), DuckDB's and Python's first-use costs
  included.

The baseline is a plain scan of the window's facts measured in the same run, on the
same connection.

    PYTHONPATH=. python bench/report_speed.py [--home DIR] [--runs 30]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import duckdb

from bench.scale import FLOOR_SQL, figure
from domain.timekeeping import end_of_day, to_naive_utc, utc_now
from projections import readmodel
from projections.report import build_report, load_plan

MEETING = date(2015, 12, 16)
TARGET_MS = 10.0
# The same plain scan and printed line as bench/scale.py's report figures.
SCAN_SQL = FLOOR_SQL


def knowledge(which: str) -> datetime:
    """As known at the end of the meeting's day (London), or now."""
    return end_of_day(MEETING, ZoneInfo("Europe/London")) if which == "then" else utc_now()


def cold(path: Path, which: str) -> float:
    """The first report of a fresh process, in ms (imports and the connection excluded:
    they are paid once per server process, not per page)."""
    done = subprocess.run([sys.executable, __file__, "--child", str(path), which],
                          check=True, capture_output=True, text=True)
    return float(done.stdout.split()[-1])


def child(path: Path, which: str) -> None:
    with readmodel.connect(path, read_only=True) as connection:
        started = time.perf_counter()
        plan = load_plan(connection)
        build_report(connection, as_at=MEETING, known_at=knowledge(which),
                     from_day=plan.starts)
        print((time.perf_counter() - started) * 1000)


def median_ms(action: object, runs: int, clock: object = time.perf_counter) -> float:
    """The median of ``runs`` timings after one unmeasured run, in ms. ``clock`` is the
    wall clock, or ``time.process_time`` for CPU time (this process, DuckDB's threads
    included), which moves less when other work shares the machine."""
    assert callable(action) and callable(clock)
    action()
    times: list[float] = []
    for _ in range(runs):
        started = clock()
        action()
        times.append(clock() - started)
    return statistics.median(times) * 1000


def date_changes(connection: duckdb.DuckDBPyConnection, which: str
                 ) -> tuple[list[float], list[float]]:
    """Every 13th day of the plan built once, as a board member's date change meets it
    (known at the end of that day, or now; the two sets of days differ), in ms of wall
    and of CPU time."""
    plan = load_plan(connection)
    london = ZoneInfo("Europe/London")
    walls: list[float] = []
    cpus: list[float] = []
    for offset in range(10 if which == "then" else 16, (plan.ends - plan.starts).days, 13):
        day = plan.starts + timedelta(days=offset)
        known = end_of_day(day, london) if which == "then" else utc_now()
        wall, cpu = time.perf_counter(), time.process_time()
        build_report(connection, as_at=day, known_at=known, from_day=plan.starts)
        walls.append((time.perf_counter() - wall) * 1000)
        cpus.append((time.process_time() - cpu) * 1000)
    return walls, cpus


def new_states(path: Path, copies: int) -> list[float]:
    """The first report on each of ``copies`` snapshots new to this process, in ms."""
    times: list[float] = []
    with tempfile.TemporaryDirectory(dir=path.parent) as folder:
        for number in range(copies):
            copy = Path(folder) / f"snapshot-{number}.duckdb"
            shutil.copyfile(path, copy)
            with readmodel.connect(copy, read_only=True) as connection:
                connection.execute("SELECT count(*) FROM tracking").fetchall()  # opened
                started = time.perf_counter()
                build_report(connection, as_at=MEETING, known_at=knowledge("now"),
                             from_day=load_plan(connection).starts)
                times.append((time.perf_counter() - started) * 1000)
    return times


def p95(times: list[float]) -> float:
    return statistics.quantiles(times, n=20)[-1]


def measure(path: Path, runs: int) -> dict[str, float]:
    found: dict[str, float] = {}
    with readmodel.connect(path, read_only=True) as connection:
        plan = load_plan(connection)
        build_report(connection, as_at=MEETING, known_at=knowledge("then"),
                     from_day=plan.starts)  # the process has served a page before
        for which in ("then", "now"):
            for suffix, times in zip(("", " cpu"), date_changes(connection, which),
                                     strict=True):
                found[f"date change {which}{suffix}"] = statistics.median(times)
                found[f"date change {which}{suffix} p95"] = p95(times)
        params = {"known": to_naive_utc(utc_now()), "start": plan.starts, "end": MEETING}
        for clock, suffix in ((time.perf_counter, ""), (time.process_time, " cpu")):
            for which in ("then", "now"):
                known = knowledge(which)
                found[f"warm {which}{suffix}"] = median_ms(lambda k=known: build_report(
                    connection, as_at=MEETING, known_at=k, from_day=plan.starts), runs,
                    clock)
            found[f"scan{suffix}"] = median_ms(
                lambda: connection.execute(SCAN_SQL, params).fetchall(), runs, clock)
    found["new state"] = statistics.median(new_states(path, 5))
    for which in ("then", "now"):
        found[f"cold {which}"] = statistics.median(cold(path, which) for _ in range(3))
    return found


def demo_home(folder: Path) -> Path:
    from scorecard.bootstrap import Home
    from scorecard.demo import build_demo_home

    home = Home(folder)
    build_demo_home(home)
    with home.projected():  # folded up to date before the read-only connections
        pass
    return home.readmodel_path


def report(found: dict[str, float]) -> None:
    def line(name: str, key: str, target: bool = True) -> None:
        ms, scan = found[key], found["scan cpu" if "cpu" in key else "scan"]
        figure(name, ms, "ms", f"<= {TARGET_MS:g} ms" if target else "(once, no target)",
               ms <= TARGET_MS if target else None,
               f"{ms / scan:,.0f}x the scan ({scan:.2f} ms)")

    for which in ("then", "now"):
        when = "known 16 Dec 2015" if which == "then" else "known now"
        line(f"demo report warm, 16 Dec 2015 meeting, {when}", f"warm {which}")
        line(f"demo report warm cpu, 16 Dec 2015 meeting, {when}", f"warm {which} cpu")
    for which in ("then", "now"):
        when = "known that day" if which == "then" else "known now"
        for suffix in ("", " cpu"):
            line(f"date change{suffix}, 84 new days, {when}, p50",
                 f"date change {which}{suffix}")
            line(f"date change{suffix}, 84 new days, {when}, p95",
                 f"date change {which}{suffix} p95")
    line("first report on a new snapshot (a fold), known now", "new state", target=False)
    for which in ("then", "now"):
        when = "known 16 Dec 2015" if which == "then" else "known now"
        line(f"first report of a process (cold), {when}", f"cold {which}", target=False)


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--home", type=Path, help="an existing demo home (else built)")
    parser.add_argument("--runs", type=int, default=30)
    parser.add_argument("--json", action="store_true", help="print the figures as JSON")
    parser.add_argument("--child", nargs=2)
    options = parser.parse_args()
    if options.child:
        child(Path(options.child[0]), options.child[1])
        return
    print(f"# {datetime.now(UTC):%Y-%m-%d %H:%M} UTC, demo report (uncached), "
          f"load average {load()}", flush=True)
    if options.home:
        found = measure(Path(options.home) / "readmodel.duckdb", options.runs)
    else:
        (Path.cwd() / ".bench").mkdir(exist_ok=True)
        with tempfile.TemporaryDirectory(dir=Path.cwd() / ".bench") as name:
            found = measure(demo_home(Path(name) / "home"), options.runs)
    if options.json:
        print(json.dumps(found))
    report(found)
    print(f"# load average {load()} at the end (the machine may be shared: read the "
          "ratios to the scan, and CPU time, before wall time)", flush=True)


def load() -> str:
    """The 1, 5 and 15 minute load averages, which say how far wall times are inflated."""
    return " ".join(f"{value:.1f}" for value in os.getloadavg())


if __name__ == "__main__":
    main()
