"""The event store encrypted at rest: unreadable without the key, usable with it."""

from __future__ import annotations

import sqlite3
from datetime import UTC, date, datetime
from pathlib import Path

import pytest

from domain.errors import CommandError
from ingest.file_push import push_file
from projections.report import build_report
from scorecard.bootstrap import Home, new_cipher_key
from scorecard.settings import Settings
from tests.support import event, register, write_jsonl


def stored_bytes(home: Home) -> bytes:
    with sqlite3.connect(home.event_store_path) as connection:
        rows = connection.execute("SELECT topic, state FROM stored_events").fetchall()
    return b"".join(topic.encode() + state for topic, state in rows)


def test_stored_events_are_unreadable_without_the_key(tmp_path: Path) -> None:
    key_file = tmp_path / "secrets" / "cipher.key"
    key_file.parent.mkdir()
    key_file.write_text(new_cipher_key())
    home = Home(tmp_path / "home", settings=Settings(cipher_key_file=key_file))
    app = home.open()
    key = register(app, "racs")
    push_file(app, write_jsonl(tmp_path / "a.jsonl", [
        event("referral.received", "r-1", "2015-10-01", case="RACS-SECRET-0042")]),
        agency="racs", key=key, now=datetime.now(UTC))

    raw = stored_bytes(home)
    assert b"RACS-SECRET-0042" not in raw and key.encode() not in raw
    assert b"Rotherham" not in raw  # the plan document is encrypted too

    with home.projected(app) as connection:
        r = build_report(connection, as_at=date(2015, 10, 31), known_at=datetime.now(UTC))
    assert r.measure("referrals_received").value == 1

    with pytest.raises(CommandError, match="encrypted"):
        Home(tmp_path / "home").open()
    with pytest.raises(CommandError, match="encrypted"):
        Home(tmp_path / "home", settings=Settings(cipher_key=new_cipher_key())).open()


def test_the_key_file_may_not_live_in_the_home(tmp_path: Path) -> None:
    inside = tmp_path / "home" / "cipher.key"
    home = Home(tmp_path / "home", settings=Settings(cipher_key_file=inside))
    home.path.mkdir()
    inside.write_text(new_cipher_key())
    with pytest.raises(CommandError, match="outside SCORECARD_HOME"):
        home.open()


def test_without_a_key_the_store_is_plain(tmp_path: Path) -> None:
    home = Home(tmp_path / "home")
    home.open()
    assert b"Rotherham" in stored_bytes(home)
