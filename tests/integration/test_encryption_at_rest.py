"""The event store and the read model encrypted at rest: unreadable without the key,
usable with it."""

from __future__ import annotations

import contextlib
import sqlite3
import threading
import time
from datetime import UTC, date, datetime
from pathlib import Path

import pytest

from domain.errors import CommandError
from domain.exception_notes import note_message
from ingest.file_push import push_file, push_message
from projections import engine, snapshots
from projections.report import build_report
from projections.snapshots import KeyMismatch
from scorecard.bootstrap import Home, derive_readmodel_key, new_cipher_key
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


# The read model: DuckDB's database encryption, with a key derived from the cipher key.

EXAMPLE = Path(__file__).parents[2] / "examples" / "harbourside"
AGENCIES = {"harbourside-council": "council", "harbourside-police": "police",
            "harbour-youth-trust": "voluntary"}
NOTE_WHY = "Schools-and-teams-were-closed-over-August"  # one token, however it is stored
SECRETS = [b"harbourside-council", b"harbour-youth-trust", b"HYT-0001", b"HYT-0002",
           NOTE_WHY.encode()]


def harbourside_home(tmp_path: Path, settings: Settings) -> Home:
    """The Harbourside example's events and an exception note, projected and published."""
    home = Home(tmp_path / "home", settings=settings)
    app = home.open(EXAMPLE / "plan.yaml")
    known = datetime(2019, 10, 1, 9, tzinfo=UTC)
    keys = {code: app.register_agency(code, code, sector, None, by="test")
            for code, sector in AGENCIES.items()}
    for code, key in keys.items():
        assert push_file(app, EXAMPLE / "events" / f"{code}.jsonl", agency=code, key=key,
                         now=datetime.now(UTC), known_at=known).rejected == 0
    note = note_message(
        agency="harbourside-council", measure="workers_trained_this_year", month="2019-09",
        what_happened="Fewer workers trained", why=NOTE_WHY, recovery="Two extra courses",
        recover_by="2019-12-31", owner="Head of Workforce Development",
        written_on=date(2019, 10, 2), supersedes=None)
    assert push_message(app, note, agency="harbourside-council",
                        key=keys["harbourside-council"], now=datetime.now(UTC),
                        source="test").status == "accepted"
    home.project(app)
    return home


def files_of_the_read_model(home: Home) -> dict[str, bytes]:
    """Every file DuckDB keeps of the read model: the working file, its write-ahead log
    when there is one, and everything published (snapshots, their bases and log
    copies), but the pointer."""
    found = [home.readmodel_path, Path(f"{home.readmodel_path}.wal"),
             *(path for path in home.snapshots_path.glob("*")
               if path.name != snapshots.POINTER)]
    return {path.name: path.read_bytes() for path in found if path.exists()}


def plain_text_in(files: dict[str, bytes]) -> list[tuple[str, str]]:
    return [(name, secret.decode()) for name, data in files.items() for secret in SECRETS
            if secret in data]


def test_the_read_model_is_plain_without_a_key(tmp_path: Path) -> None:
    """The control: the same read model written without a key shows every secret the
    test looks for, so the test below can fail."""
    home = harbourside_home(tmp_path, Settings())
    files = files_of_the_read_model(home)
    assert {name for name, _ in plain_text_in(files)} == set(files)
    assert {secret for _, secret in plain_text_in(files)} == {s.decode() for s in SECRETS}


def test_the_read_model_is_encrypted_with_a_key_derived_from_the_cipher_key(
        tmp_path: Path) -> None:
    cipher = new_cipher_key()
    home = harbourside_home(tmp_path, Settings(cipher_key=cipher))
    app = home.open_store()
    with home.working_readmodel() as connection:
        home.fold_and_publish(app, connection, publish=True)  # a new base
        # a write after it, left in the working file's write-ahead log and published as
        # a snapshot that is the base plus a copy of that log
        connection.execute("INSERT INTO meta VALUES ('probe', ?)", [NOTE_WHY])
        home.fold_and_publish(app, connection, publish=True)
        files = files_of_the_read_model(home)
    assert "readmodel.duckdb.wal" in files
    assert any(name.endswith(".duckdb.wal") and name.startswith("readmodel-")
               for name in files)  # a published log copy
    assert plain_text_in(files) == []

    key = derive_readmodel_key(cipher)
    assert key != cipher and derive_readmodel_key(new_cipher_key()) != key
    # a read page process, given the derived key alone, reads the published figures
    reader = Home(home.path, settings=Settings.from_environment(
        {"SCORECARD_READMODEL_KEY": key, "SCORECARD_PAGES": "read"}))
    with reader.reader() as connection:
        report = build_report(connection, as_at=date(2019, 9, 30),
                              known_at=datetime.now(UTC))
        assert report.measure("workers_trained_this_year").value is not None
        assert connection.execute(
            "SELECT count(*) FROM facts WHERE type = 'exception.noted'").fetchone() == (1,)
    for wrong in (Settings(), Settings(readmodel_key=derive_readmodel_key(new_cipher_key()))):
        with pytest.raises(KeyMismatch), Home(home.path, settings=wrong).reader():
            pass


def test_a_working_file_of_another_key_is_folded_again(tmp_path: Path) -> None:
    home = harbourside_home(tmp_path, Settings())  # plain
    rekeyed = Home(home.path, settings=Settings(readmodel_key=derive_readmodel_key("k" * 44)))
    app = rekeyed.open_store()
    assert rekeyed.project(app) > 0  # the plain working file thrown away, all refolded,
    # and what was published from it withdrawn
    assert plain_text_in(files_of_the_read_model(rekeyed)) == []
    with rekeyed.reader() as connection:
        assert connection.execute("SELECT count(*) FROM agencies").fetchone() == (3,)


def test_duckdb_spills_of_an_encrypted_read_model_are_encrypted(tmp_path: Path) -> None:
    """A query too big for its memory cap spills to temporary files; DuckDB left them in
    clear unless ``temp_file_encryption`` is set (engine.py sets it)."""
    canary = "SPILLED-CASE-REFERENCE"
    attached = engine.attach(tmp_path / "big.duckdb", memory_limit="40MB",
                             key=derive_readmodel_key(new_cipher_key()))
    attached.connection.execute("SET threads = 1")  # spill rather than run out of memory
    setting = attached.connection.execute(
        "SELECT current_setting('temp_directory')").fetchone()
    assert setting is not None
    spills = Path(setting[0])
    seen: list[bytes] = []
    stop = threading.Event()

    def watch() -> None:
        while not stop.is_set():
            for path in spills.glob("*"):
                with contextlib.suppress(OSError):
                    seen.append(path.read_bytes())
            time.sleep(0.005)

    watcher = threading.Thread(target=watch)
    try:
        attached.connection.execute(
            f"CREATE TABLE t AS SELECT '{canary}-' || i::VARCHAR || repeat('x', 50) AS s "
            "FROM range(3000000) t(i)")
        watcher.start()
        assert attached.connection.execute(
            "SELECT count(*) FROM (SELECT s, count(*) FROM t GROUP BY s)").fetchone() \
            == (3000000,)
    finally:
        stop.set()
        if watcher.is_alive():
            watcher.join()
        attached.close()
    assert seen, "the query did not spill: the test shows nothing"
    assert not any(canary.encode() in data for data in seen)
