"""The sign-in throttle on a PostgreSQL event store, the store several hosts share: two
processes (two hosts, as far as the store can tell) counting failures at the same
moment let five through between them, not five each."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

from scorecard.bootstrap import Home
from scorecard_ui.throttle import Locked, SignInThrottle
from tests.unit.test_sign_in_throttle import T0, other_processes


def test_two_processes_on_one_postgresql_store_let_through_five_between_them(
        tmp_path: Path, postgres_url: str) -> None:
    home = Home(tmp_path / "home", event_store_url=postgres_url)
    app = home.open()
    assert sum(other_processes(home, tmp_path, 2, 8)) == 5
    assert isinstance(SignInThrottle(app).begin("chair", "local", T0 + timedelta(minutes=1)),
                      Locked)
