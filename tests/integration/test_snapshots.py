"""Publication of the read model (projections/snapshots.py): what readers open is always
one whole folded state, a publication between checkpoints copies only the log, and the
projector never lets go of its working file while it publishes."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import duckdb
import pytest

from domain.application import Scorecard
from projections import snapshots
from scorecard.bootstrap import Home
from scorecard.service import InThread
from tests.support import event, register, submit

OPEN_FOR_WRITING = """
import sys, duckdb
try:
    duckdb.connect(sys.argv[1]).close()
except duckdb.IOException as error:
    print("refused", error)
else:
    print("opened")
"""


def add(app: Scorecard, key: str, first: int, count: int) -> None:
    submit(app, key, *(event("helpline.contact", f"h-{n}", "2015-10-02")
                       for n in range(first, first + count)))


def facts_published(home: Home) -> int:
    with home.reader() as connection:
        found = connection.execute("SELECT count(*) FROM facts").fetchone()
    assert found is not None
    return int(found[0])


@dataclass(frozen=True)
class FirstPublication:
    """A home whose read model has been folded and published once, the projector's
    working file still open: what most of these tests start from."""

    key: str
    store: Scorecard
    connection: duckdb.DuckDBPyConnection
    first: snapshots.Published


@contextmanager
def published_once(home: Home, app: Scorecard, events: int = 5
                   ) -> Iterator[FirstPublication]:
    key = register(app)
    add(app, key, 0, events)
    store = home.open_store()
    with home.working_readmodel() as connection:
        home.fold_and_publish(store, connection, publish=True)
        first = home.published()
        assert first is not None
        yield FirstPublication(key, store, connection, first)


def test_a_projector_that_published_still_keeps_other_writers_out(
        home: Home, app: Scorecard) -> None:
    """Copying the working file once opened and closed a descriptor of it, and closing
    any descriptor drops the process's POSIX locks: DuckDB's lock went with it, so a
    second projector (or `scorecard rebuild`) could open the file for writing beside the
    service."""
    key = register(app)
    add(app, key, 0, 3)
    with InThread(home) as service:
        add(app, key, 3, 3)
        assert home.wait_for(int(app.recorder.max_notification_id() or 0), 30) is not None
        assert facts_published(home) == 6
        other = subprocess.run([sys.executable, "-c", OPEN_FOR_WRITING,
                                str(home.readmodel_path)], capture_output=True, text=True,
                               check=True)
        assert other.stdout.startswith("refused"), other.stdout
        assert not service.errors


def test_between_checkpoints_a_snapshot_is_the_base_and_a_copy_of_the_log(
        home: Home, app: Scorecard, monkeypatch: pytest.MonkeyPatch) -> None:
    with published_once(home, app) as at:
        key, store, connection, first = at.key, at.store, at.connection, at.first
        assert facts_published(home) == 5
        assert not Path(f"{first.file}.wal").exists()  # the first is a whole copy
        base = first.file.stat().st_ino

        add(app, key, 5, 4)
        assert home.fold_and_publish(store, connection) == 4
        second = home.published()
        assert second is not None and second.file != first.file
        assert second.file.stat().st_ino == base  # a link, no copy
        assert Path(f"{second.file}.wal").stat().st_size > 0
        assert facts_published(home) == 9  # the reader replays the log copy

        monkeypatch.setattr(snapshots, "REBASE_BYTES", 0)  # the log has grown too long
        add(app, key, 9, 2)
        home.fold_and_publish(store, connection)
        third = home.published()
        assert third is not None
        assert third.file.stat().st_ino != base
        assert not Path(f"{third.file}.wal").exists()
        assert facts_published(home) == 11
        assert not first.file.exists()  # superseded twice over: pruned


def test_a_log_grown_too_long_is_published_before_the_new_base_is_made(
        home: Home, app: Scorecard, monkeypatch: pytest.MonkeyPatch) -> None:
    """What was just folded does not wait for the checkpoint and the whole copy of a new
    base: here making the new base fails, and the batch is readable all the same (on the
    old base and the log)."""
    with published_once(home, app) as at:
        key, store, connection, first = at.key, at.store, at.connection, at.first

        def no_room(*_args: object) -> None:
            raise OSError("no space left on device")

        monkeypatch.setattr(snapshots, "REBASE_BYTES", 0)
        monkeypatch.setattr(snapshots.Publisher, "_rebase", no_room)
        add(app, key, 5, 4)
        with pytest.raises(OSError, match="no space"):
            home.fold_and_publish(store, connection)
        published = home.published()
        assert published is not None and published.file != first.file
        assert published.file.stat().st_ino == first.file.stat().st_ino  # the old base
        assert facts_published(home) == 9


def test_a_checkpoint_the_projector_did_not_make_is_never_published_on_the_old_base(
        home: Home, app: Scorecard) -> None:
    """Once the working file's own bytes have changed, its log no longer applies to the
    base: publishing it there would show readers a state that never was."""
    with published_once(home, app) as at:
        key, store, connection, first = at.key, at.store, at.connection, at.first
        base = first.file.stat().st_ino
        add(app, key, 5, 3)
        home.fold_and_publish(store, connection)
        connection.execute("DELETE FROM facts WHERE event_id = 'h-0'")
        connection.execute("CHECKPOINT")  # DuckDB's own, e.g. its log passed its threshold
        add(app, key, 8, 2)
        home.fold_and_publish(store, connection)
        latest = home.published()
        assert latest is not None
        assert latest.file.stat().st_ino != base
        with home.reader() as reader:
            found = reader.execute("SELECT count(*), count(*) FILTER (event_id = 'h-0') "
                                   "FROM facts").fetchone()
        assert found == (9, 0)


def test_a_pruned_snapshots_log_stays_a_while_for_a_reader_opening_it(
        home: Home, app: Scorecard, monkeypatch: pytest.MonkeyPatch) -> None:
    key = register(app)
    store = home.open_store()
    with home.working_readmodel() as connection:
        home.fold_and_publish(store, connection, publish=True)
        logs: list[Path] = []
        for round_ in range(4):
            add(app, key, round_ * 2, 2)
            home.fold_and_publish(store, connection)
            published = home.published()
            assert published is not None
            logs.append(Path(f"{published.file}.wal"))
        assert all(log.exists() for log in logs)  # the first two snapshots are gone
        assert len(list(home.snapshots_path.glob("readmodel-*.duckdb"))) == snapshots.KEEP
        monkeypatch.setattr(snapshots, "SUPERSEDED_LOG_SECONDS", 0.0)
        add(app, key, 8, 1)
        home.fold_and_publish(store, connection)
        # the logs of the two pruned before go; the one pruned just now stays until later
        assert [log.exists() for log in logs] == [False, False, True, True]
        assert facts_published(home) == 9


def test_a_snapshot_opened_read_only_is_never_written(home: Home, app: Scorecard) -> None:
    """Readers replay the log copy in memory: neither file changes, so every reader of
    one snapshot sees the same state."""
    key = register(app)
    add(app, key, 0, 2)
    store = home.open_store()
    with home.working_readmodel() as connection:
        home.fold_and_publish(store, connection, publish=True)
        add(app, key, 2, 2)
        home.fold_and_publish(store, connection)
        published = home.published()
        assert published is not None
        log = Path(f"{published.file}.wal")
        before = (published.file.read_bytes(), log.read_bytes())
        for _ in range(2):
            reader = duckdb.connect(str(published.file), read_only=True)
            assert reader.execute("SELECT count(*) FROM facts").fetchone() == (4,)
            reader.close()
        assert (published.file.read_bytes(), log.read_bytes()) == before
