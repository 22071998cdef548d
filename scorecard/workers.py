"""``scorecard ingest``: N ingest worker processes in one consumer group, stopped by SIGTERM.

One worker runs in this process; more are spawned, one process each (a worker is single
threaded and CPU bound, so processes are what use more cores). If a worker dies, the
others are stopped and the command exits 1, for the service manager to restart it: each
worker resumes from the position stored with its events, so a restart loses nothing.
A worker dies only of its infrastructure (the event store or the broker): a message that
makes deciding fail is kept as a rejection by the crash-loop guard, so a restart never
meets the same message again (``ingest/crash_guard.py``).
"""

from __future__ import annotations

import logging
import multiprocessing
import signal
import sys
import threading
from types import FrameType

from ingest.kafka_worker import IngestWorker, WorkerSettings
from scorecard.bootstrap import Home

log = logging.getLogger("scorecard.ingest")


def configure_logging() -> None:
    logging.basicConfig(stream=sys.stderr, level=logging.INFO,
                        format="%(asctime)s %(process)d %(name)s %(levelname)s %(message)s")


def _stop_on_signals() -> threading.Event:
    stop = threading.Event()

    def handle(signum: int, _frame: FrameType | None) -> None:
        log.info("received signal %d: stopping", signum)
        stop.set()

    signal.signal(signal.SIGTERM, handle)
    signal.signal(signal.SIGINT, handle)
    return stop


def run_worker(home: Home, settings: WorkerSettings) -> None:
    """One worker until SIGTERM or SIGINT (a process's entry point)."""
    configure_logging()
    stop = _stop_on_signals()
    IngestWorker(home.open(), settings).run(stop.is_set)


def run_workers(home: Home, settings: WorkerSettings, workers: int) -> int:
    """Run ``workers`` workers until a signal stops them; 1 if one of them died."""
    if workers <= 1:
        run_worker(home, settings)
        return 0
    configure_logging()
    context = multiprocessing.get_context("spawn")
    processes = [context.Process(target=run_worker, args=(home, settings), daemon=False)
                 for _ in range(workers)]
    for process in processes:
        process.start()
    stop = _stop_on_signals()
    failed = False
    while not stop.is_set():
        dead = [p for p in processes if not p.is_alive()]
        if dead:
            log.error("worker %s exited with %s: stopping the others", dead[0].pid,
                      dead[0].exitcode)
            failed = True
            break
        stop.wait(0.5)
    for process in processes:
        if process.is_alive():
            process.terminate()  # SIGTERM: the worker finishes its batch and leaves the group
    for process in processes:
        process.join()
    return 1 if failed or any(p.exitcode for p in processes) else 0
