"""Sign-in sessions: a fresh token per sign-in, idle and absolute timeouts, one-time
grants for the cookie, and the timeouts as settings."""

from __future__ import annotations

import stat
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from domain.errors import CommandError
from scorecard.access import AccessStore
from scorecard.settings import Settings
from scorecard_ui.session_tokens import SessionTokens

T0 = datetime(2026, 1, 1, 9, 0, tzinfo=UTC)


@pytest.fixture
def tokens(tmp_path: Path) -> SessionTokens:
    return SessionTokens(AccessStore(tmp_path / "access.sqlite"), idle=timedelta(minutes=30),
                         absolute=timedelta(hours=12))


def test_each_sign_in_gets_a_new_token_kept_only_as_its_hash(tokens: SessionTokens) -> None:
    first, second = tokens.issue("chair", T0), tokens.issue("chair", T0)
    assert first != second and len(first) >= 43  # 256 random bits
    assert tokens.resume(first, T0) == "chair" and tokens.resume("forged", T0) is None
    stored = tokens.store.path.read_bytes()
    assert first.encode() not in stored and second.encode() not in stored
    assert stat.S_IMODE(tokens.store.path.stat().st_mode) == 0o600


def test_a_session_ends_after_30_idle_minutes(tokens: SessionTokens) -> None:
    token = tokens.issue("chair", T0)
    assert tokens.resume(token, T0 + timedelta(minutes=29)) == "chair"  # use keeps it alive
    assert tokens.resume(token, T0 + timedelta(minutes=58)) == "chair"
    assert tokens.resume(token, T0 + timedelta(minutes=88)) is None
    assert tokens.resume(token, T0 + timedelta(minutes=89)) is None  # and it is forgotten


def test_a_session_ends_12_hours_after_sign_in_however_busy(tokens: SessionTokens) -> None:
    token = tokens.issue("chair", T0)
    for minutes in range(0, 12 * 60, 20):
        assert tokens.resume(token, T0 + timedelta(minutes=minutes)) == "chair"
    assert tokens.resume(token, T0 + timedelta(hours=12)) is None


def test_ending_sessions(tokens: SessionTokens) -> None:
    mine, other, theirs = (tokens.issue("chair", T0), tokens.issue("chair", T0),
                           tokens.issue("cllr", T0))
    tokens.end(mine)
    assert tokens.resume(mine, T0) is None and tokens.resume(other, T0) == "chair"
    assert tokens.end_all("chair") == 1
    assert tokens.resume(other, T0) is None and tokens.resume(theirs, T0) == "cllr"


def test_a_grant_gives_one_session_once_within_a_minute(tokens: SessionTokens) -> None:
    grant = tokens.grant("chair", T0)
    token = tokens.redeem(grant, T0 + timedelta(seconds=5))
    assert token is not None and tokens.resume(token, T0 + timedelta(seconds=5)) == "chair"
    assert tokens.redeem(grant, T0 + timedelta(seconds=6)) is None  # used
    late = tokens.grant("chair", T0)
    assert tokens.redeem(late, T0 + timedelta(seconds=61)) is None  # expired
    assert tokens.redeem("made-up", T0) is None


def timeouts(environ: dict[str, str]) -> tuple[timedelta, timedelta]:
    settings = Settings.from_environment(environ)
    return settings.session_idle, settings.session_max


def test_the_timeouts_are_settings() -> None:
    assert timeouts({}) == (timedelta(minutes=30), timedelta(hours=12))
    assert timeouts({"SCORECARD_SESSION_IDLE_MINUTES": "5",
                     "SCORECARD_SESSION_MAX_HOURS": "1.5"}) == (timedelta(minutes=5),
                                                                 timedelta(minutes=90))
    with pytest.raises(CommandError, match="SCORECARD_SESSION_IDLE_MINUTES must be a number"):
        timeouts({"SCORECARD_SESSION_IDLE_MINUTES": "soon"})


def test_a_live_page_s_refresh_does_not_keep_an_idle_session_alive(
        tokens: SessionTokens) -> None:
    token = tokens.issue("chair", T0)
    assert tokens.peek(token, T0 + timedelta(minutes=29)) == "chair"
    assert tokens.peek(token, T0 + timedelta(minutes=30)) is None  # peeks are not use
    assert tokens.resume(token, T0 + timedelta(minutes=30)) is None
