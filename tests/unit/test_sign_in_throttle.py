"""Sign-in throttling: five failures lock a username for fifteen minutes."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from scorecard_ui import throttle
from scorecard_ui.throttle import SignInThrottle

T0 = datetime(2026, 1, 1, 9, 0, tzinfo=UTC)


def test_five_failures_lock_the_username_until_the_first_is_fifteen_minutes_old() -> None:
    guard = SignInThrottle()
    for minute in range(5):
        assert guard.locked_until("chair", T0 + timedelta(minutes=minute)) is None
        guard.failed("chair", T0 + timedelta(minutes=minute))
    assert guard.locked_until("chair", T0 + timedelta(minutes=5)) == T0 + timedelta(minutes=15)
    assert guard.locked_until("cllr", T0 + timedelta(minutes=5)) is None  # others unaffected
    assert guard.locked_until("chair", T0 + timedelta(minutes=15)) is None  # the oldest expired


def test_a_success_forgets_the_failures() -> None:
    guard = SignInThrottle()
    for minute in range(4):
        guard.failed("chair", T0 + timedelta(minutes=minute))
    guard.succeeded("chair")
    guard.failed("chair", T0 + timedelta(minutes=5))
    assert guard.locked_until("chair", T0 + timedelta(minutes=5)) is None


def test_failures_spread_wider_than_the_window_never_lock() -> None:
    guard = SignInThrottle()
    for step in range(20):
        now = T0 + timedelta(minutes=4 * step)
        assert guard.locked_until("chair", now) is None
        guard.failed("chair", now)


def test_many_usernames_tried_are_swept_once_expired(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(throttle, "KEPT", 3)
    guard = SignInThrottle()
    for n in range(4):
        guard.failed(f"user{n}", T0)
    guard.failed("late", T0 + timedelta(hours=1))
    assert guard.locked_until("late", T0 + timedelta(hours=1)) is None
    assert len(guard._failures) == 1  # only "late" is remembered
