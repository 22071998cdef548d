"""The long-running processes: the projector service, and the group ``scorecard ui`` and
``scorecard demo`` run together (projector, page, demo feed), started and stopped as one.

The projector is the read model's only writer (``scorecard project --follow``): it folds
new events into its working file and publishes a snapshot for readers after each
catch-up that folded something (``projections/snapshots.py``).
"""

from __future__ import annotations

import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from types import FrameType

from scorecard.bootstrap import Home

DEFAULT_INTERVAL = 0.1  # seconds between looks at an idle log (a look is two small queries)
STOP_GRACE_SECONDS = 10.0


def stop_on_signals() -> threading.Event:
    """An event set by SIGTERM or SIGINT (Ctrl-C), in the main thread's handlers."""
    stop = threading.Event()

    def handle(_signum: int, _frame: FrameType | None) -> None:
        stop.set()

    signal.signal(signal.SIGTERM, handle)
    signal.signal(signal.SIGINT, handle)
    return stop


def follow(home: Home, interval: float = DEFAULT_INTERVAL,
           stop: threading.Event | None = None, log: Callable[[str], None] | None = None
           ) -> int:
    """The projector service: fold and publish until ``stop`` (by default SIGTERM or
    Ctrl-C). After a catch-up that folded something it looks again at once (events that
    arrived meanwhile wait for no timer); only an idle log is looked at every
    ``interval`` seconds. The working file stays open for the service's life: no reader
    ever opens it."""
    stop = stop or stop_on_signals()
    say = log or (lambda text: print(text, flush=True))
    app = home.open_store()
    with home.working_readmodel() as connection:
        published = home.fold_and_publish(app, connection, publish=True)
        say(f"projector: folded {published} events; following the event store")
        folded = 0
        while not stop.wait(0 if folded else interval):
            folded = home.fold_and_publish(app, connection)
            if folded:
                say(f"projector: folded {folded} events")
    say("projector: stopped")
    return 0


@dataclass
class InThread:
    """The projector service on a thread of this process: for tests that drive a page
    in-process (Streamlit's AppTest) and need the read model kept current meanwhile."""

    home: Home
    interval: float = 0.05
    stop: threading.Event = field(default_factory=threading.Event)
    errors: list[BaseException] = field(default_factory=list)
    thread: threading.Thread | None = None

    def __enter__(self) -> InThread:
        self.thread = threading.Thread(target=self._run, daemon=True, name="projector")
        self.thread.start()
        if self.home.wait_for(0, 30) is None:
            raise RuntimeError(f"the projector did not publish: {self.errors}")
        return self

    def _run(self) -> None:
        try:
            follow(self.home, self.interval, self.stop, log=lambda _text: None)
        except BaseException as error:  # reported by __exit__
            self.errors.append(error)

    def __exit__(self, *_exc: object) -> None:
        self.stop.set()
        if self.thread is not None:
            self.thread.join(timeout=30)
        if self.errors:
            raise self.errors[0]


@dataclass(frozen=True)
class Process:
    """One member of a group: a name for the log, its command line, its environment."""

    name: str
    argv: Sequence[str]
    env: dict[str, str]
    ready: Callable[[], bool] | None = None  # started the next member only once true
    essential: bool = True  # when False, its finishing (exit 0) leaves the others running


def run_together(members: Sequence[Process], stop: threading.Event | None = None,
                 ready_timeout: float = 120.0) -> int:
    """Start ``members`` in order (each after the one before is ready), then wait until a
    signal or the exit of any member; then stop every one still running (SIGTERM, then
    SIGKILL after a grace period). Returns the first exit code that was not 0, else 0."""
    stop = stop or stop_on_signals()
    running: list[tuple[Process, subprocess.Popen[bytes]]] = []
    code = 0
    try:
        for member in members:
            running.append((member, subprocess.Popen(list(member.argv), env=member.env)))
            deadline = time.monotonic() + ready_timeout
            while member.ready is not None and not member.ready():
                if stop.is_set() or _exited(running) or time.monotonic() > deadline:
                    break
                time.sleep(0.1)
            if stop.is_set() or _exited(running):
                break
        while not stop.is_set() and not _exited(running):
            stop.wait(0.2)
        for member, process in running:
            if process.poll() not in (None, 0):
                print(f"scorecard: {member.name} exited with {process.returncode}: stopping "
                      "the others", file=sys.stderr)
                code = code or int(process.returncode)
    finally:
        for _member, process in running:
            if process.poll() is None:
                process.terminate()
        deadline = time.monotonic() + STOP_GRACE_SECONDS
        for _member, process in running:
            try:
                process.wait(timeout=max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
    return code


def _exited(running: list[tuple[Process, subprocess.Popen[bytes]]]) -> bool:
    """Whether a member has ended the group: an essential one exited, or any one failed."""
    return any((code := process.poll()) is not None and (member.essential or code != 0)
               for member, process in running)
