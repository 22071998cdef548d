"""Sign-in throttling: five failures lock a (username, source) for fifteen minutes, the
count is shared through access.sqlite, and check-and-count is one atomic step."""

from __future__ import annotations

import subprocess
import sys
import threading
from datetime import UTC, datetime, timedelta
from pathlib import Path

from scorecard.access import AccessStore
from scorecard.bootstrap import Home
from scorecard_ui.throttle import Attempt, KnownUser, Locked, SignInThrottle, attempt_sign_in

T0 = datetime(2026, 1, 1, 9, 0, tzinfo=UTC)


def fail(guard: SignInThrottle, username: str, source: str, now: datetime) -> None:
    assert isinstance(guard.begin(username, source, now), Attempt)


def test_five_failures_lock_the_pair_until_the_first_is_fifteen_minutes_old(
        tmp_path: Path) -> None:
    guard = SignInThrottle(AccessStore(tmp_path / "access.sqlite"))
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


def test_many_sources_together_lock_the_username_everywhere(tmp_path: Path) -> None:
    guard = SignInThrottle(AccessStore(tmp_path / "access.sqlite"), limit=5, name_limit=12)
    for n in range(12):
        fail(guard, "chair", f"10.0.0.{n % 4}", T0 + timedelta(seconds=n))
    assert isinstance(guard.begin("chair", "192.168.1.1", T0 + timedelta(minutes=1)), Locked)


def test_a_success_forgets_the_pair_s_failures(tmp_path: Path) -> None:
    guard = SignInThrottle(AccessStore(tmp_path / "access.sqlite"))
    for minute in range(4):
        fail(guard, "chair", "local", T0 + timedelta(minutes=minute))
    attempt = guard.begin("chair", "local", T0 + timedelta(minutes=4))
    assert isinstance(attempt, Attempt)
    guard.succeeded(attempt)
    fail(guard, "chair", "local", T0 + timedelta(minutes=5))
    assert guard.locked_until("chair", "local", T0 + timedelta(minutes=5)) is None


def test_failures_spread_wider_than_the_window_never_lock(tmp_path: Path) -> None:
    guard = SignInThrottle(AccessStore(tmp_path / "access.sqlite"))
    for step in range(20):
        fail(guard, "chair", "local", T0 + timedelta(minutes=4 * step))


ANOTHER_PROCESS = """
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path
from scorecard.access import AccessStore
from scorecard_ui.throttle import SignInThrottle
guard = SignInThrottle(AccessStore(Path(sys.argv[1])))
start = datetime(2026, 1, 1, 9, 0, tzinfo=UTC)
for second in range(5):
    guard.begin("chair", "local", start + timedelta(seconds=second))
"""


def test_failures_outlive_the_process_and_are_shared_between_processes(
        tmp_path: Path) -> None:
    path = tmp_path / "access.sqlite"
    subprocess.run([sys.executable, "-c", ANOTHER_PROCESS, str(path)], check=True,
                   cwd=Path(__file__).parents[2], timeout=60)
    assert isinstance(SignInThrottle(AccessStore(path)).begin(
        "chair", "local", T0 + timedelta(minutes=1)), Locked)


def test_forty_parallel_sign_ins_check_at_most_five_passwords(tmp_path: Path) -> None:
    """The race of issue 12 item 3: 40 sessions at once got 19 password checks, and the
    right password then signed in. Here 40 threads, each with its own store connection,
    try wrong passwords against the real event store at the same instant."""
    home = Home(tmp_path / "home")
    app = home.open()
    app.add_user("root", "administrator", None, "root-password", by="test")
    guard = SignInThrottle(AccessStore(home.access_path))
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
