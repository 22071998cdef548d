"""Sign-in throttling: five failures lock a (username, source) for fifteen minutes, the
count is recorded in the event store (so every process, every host and every restart
sees it), and check-and-count is one atomic step, across threads and processes."""

from __future__ import annotations

import subprocess
import sys
import threading
from datetime import UTC, datetime, timedelta
from pathlib import Path

from domain.application import Scorecard
from domain.users import SignInWindow, User
from scorecard.bootstrap import Home
from scorecard_ui.throttle import (
    Attempt,
    KnownUser,
    Locked,
    SignInThrottle,
    attempt_sign_in,
    unlock_sign_in,
)

T0 = datetime(2026, 1, 1, 9, 0, tzinfo=UTC)
ROOT = Path(__file__).parents[2]


def fail(guard: SignInThrottle, username: str, source: str, now: datetime) -> None:
    assert isinstance(guard.begin(username, source, now), Attempt)


def test_five_failures_lock_the_pair_until_the_first_is_fifteen_minutes_old(
        app: Scorecard) -> None:
    guard = SignInThrottle(app)
    for minute in range(5):
        assert guard.locked_until("chair", "10.0.0.1", T0 + timedelta(minutes=minute)) is None
        fail(guard, "chair", "10.0.0.1", T0 + timedelta(minutes=minute))
    later = T0 + timedelta(minutes=5)
    assert guard.begin("chair", "10.0.0.1", later) == Locked(T0 + timedelta(minutes=15))
    assert guard.locked_until("chair", "10.0.0.1", later) == T0 + timedelta(minutes=15)
    # the guesser's address is locked out, not the user: the chair elsewhere signs in
    assert isinstance(guard.begin("chair", "10.0.0.2", later), Attempt)
    assert guard.locked_until("cllr", "10.0.0.1", later) is None  # others unaffected
    assert isinstance(guard.begin("chair", "10.0.0.1", T0 + timedelta(minutes=15)), Attempt)


def test_the_count_is_events_in_the_store(app: Scorecard) -> None:
    guard = SignInThrottle(app)
    before = app.recorder.max_notification_id() or 0
    fail(guard, "chair", "10.0.0.1", T0)
    window: object = app.repository.get(SignInWindow.create_id("chair", guard._slot(T0)))
    assert isinstance(window, SignInWindow)
    assert window.entries == [("attempt", "10.0.0.1", T0)]
    assert (app.recorder.max_notification_id() or 0) - before == 2  # started, attempted


def test_a_lock_holds_across_the_window_boundary(app: Scorecard) -> None:
    """Windows are stored 15 minutes at a time; failures made just before a boundary
    still count just after it."""
    guard = SignInThrottle(app)
    boundary = datetime.fromtimestamp((guard._slot(T0) + 1) * 900, UTC)
    for second in range(5, 0, -1):
        fail(guard, "chair", "local", boundary - timedelta(seconds=second))
    assert isinstance(guard.begin("chair", "local", boundary + timedelta(minutes=1)), Locked)


def test_many_sources_together_lock_the_username_everywhere(app: Scorecard) -> None:
    guard = SignInThrottle(app, limit=5, name_limit=12)
    for n in range(12):
        fail(guard, "chair", f"10.0.0.{n % 4}", T0 + timedelta(seconds=n))
    assert isinstance(guard.begin("chair", "192.168.1.1", T0 + timedelta(minutes=1)), Locked)


def test_a_success_forgets_the_pair_s_failures(app: Scorecard) -> None:
    guard = SignInThrottle(app)
    for minute in range(4):
        fail(guard, "chair", "local", T0 + timedelta(minutes=minute))
    attempt = guard.begin("chair", "local", T0 + timedelta(minutes=4))
    assert isinstance(attempt, Attempt)
    guard.succeeded(attempt)
    fail(guard, "chair", "local", T0 + timedelta(minutes=5))
    assert guard.locked_until("chair", "local", T0 + timedelta(minutes=5)) is None


def test_failures_spread_wider_than_the_window_never_lock(app: Scorecard) -> None:
    guard = SignInThrottle(app)
    for step in range(20):
        fail(guard, "chair", "local", T0 + timedelta(minutes=4 * step))


def test_an_administrator_unlocks_from_every_address_and_it_is_audited(
        app: Scorecard) -> None:
    app.add_user("chair", "board", None, "chair-password", by="test")
    guard = SignInThrottle(app)
    for n in range(10):
        fail(guard, "chair", f"10.0.0.{n % 2}", T0 + timedelta(seconds=n))
    assert unlock_sign_in(app, guard, "chair", by="admin", at=T0 + timedelta(minutes=1)) == 10
    for source in ("10.0.0.0", "10.0.0.1"):
        assert guard.locked_until("chair", source, T0 + timedelta(minutes=1)) is None
    user = app.user("chair")
    assert isinstance(user, User)
    unlocked = [e for e in app.recorder.select_events(user.id)
                if e.topic.endswith("User.SignInUnlocked")]
    assert len(unlocked) == 1


ANOTHER_PROCESS = """
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from scorecard.bootstrap import Home
from scorecard_ui.throttle import Attempt, SignInThrottle
guard = SignInThrottle(Home(Path(sys.argv[1]), event_store_url=sys.argv[5] or None).open())
start = datetime(2026, 1, 1, 9, 0, tzinfo=UTC)
ready, go = Path(sys.argv[2]), Path(sys.argv[3])
ready.touch()
while not go.exists():
    time.sleep(0.001)
through = sum(isinstance(guard.begin("chair", "local", start + timedelta(seconds=s)), Attempt)
              for s in range(int(sys.argv[4])))
print(through)
"""


def other_processes(home: Home, tmp_path: Path, count: int, tries: int) -> list[int]:
    """``count`` processes, each opening the home's store itself (SQLite, or the home's
    PostgreSQL), each trying ``tries`` sign-ins for the same pair at the same moment; how
    many each was let through."""
    go = tmp_path / "go"
    ready = [tmp_path / f"ready-{n}" for n in range(count)]
    running = [subprocess.Popen(
        [sys.executable, "-c", ANOTHER_PROCESS, str(home.path), str(ready[n]), str(go),
         str(tries), home.event_store_url or ""], cwd=ROOT, stdout=subprocess.PIPE, text=True)
        for n in range(count)]
    try:
        while not all(path.exists() for path in ready):
            threading.Event().wait(0.05)
        go.touch()
        return [int(process.communicate(timeout=120)[0].split()[-1])
                for process in running]
    finally:
        for process in running:
            if process.poll() is None:
                process.kill()


def test_failures_outlive_the_process_and_are_shared_between_processes(
        home: Home, app: Scorecard, tmp_path: Path) -> None:
    assert other_processes(home, tmp_path, 1, 5) == [5]  # and that process has ended
    assert isinstance(SignInThrottle(Home(home.path).open()).begin(
        "chair", "local", T0 + timedelta(minutes=1)), Locked)


def test_two_processes_at_once_let_through_five_between_them(
        home: Home, app: Scorecard, tmp_path: Path) -> None:
    """Each process counts against the same window in the store: had either counted
    alone (a process's memory, or one host's file), each would let five through."""
    assert sum(other_processes(home, tmp_path, 2, 8)) == 5
    assert isinstance(SignInThrottle(app).begin("chair", "local", T0 + timedelta(minutes=1)),
                      Locked)


def test_forty_parallel_sign_ins_check_at_most_five_passwords(app: Scorecard) -> None:
    """The race of issue 12 item 3: 40 sessions at once got 19 password checks, and the
    right password then signed in. Here 40 threads try wrong passwords against the real
    event store at the same instant."""
    app.add_user("root", "administrator", None, "root-password", by="test")
    guard = SignInThrottle(app)
    start = threading.Barrier(40)
    results: list[KnownUser | Locked | None] = []
    lock = threading.Lock()

    def guess(n: int) -> None:
        start.wait()
        outcome = attempt_sign_in(app, guard, "root", f"guess-{n}", "10.0.0.9", T0)
        with lock:
            results.append(outcome)

    threads = [threading.Thread(target=guess, args=(n,)) for n in range(40)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sum(r is None for r in results) == 5  # passwords checked, all wrong
    assert sum(isinstance(r, Locked) for r in results) == 35  # refused unchecked
    assert isinstance(attempt_sign_in(app, guard, "root", "root-password", "10.0.0.9",
                                      T0 + timedelta(seconds=1)), Locked)
