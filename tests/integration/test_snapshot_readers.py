"""The page server keeps one read-only connection per published snapshot: reads share
it, a newer publication is opened and the older one closed once no read still uses it,
and every read sees the snapshot the pointer named when it began."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import duckdb
import pytest

from projections import snapshots


@pytest.fixture
def kept() -> Iterator[None]:
    snapshots.keep_open()
    try:
        yield
    finally:
        snapshots.keep_open(False)


def publish(working: Path, folder: Path, position: int) -> snapshots.Published:
    """A working file holding ``position`` in its one row, published as a snapshot."""
    with duckdb.connect(str(working)) as connection:
        connection.execute("CREATE TABLE IF NOT EXISTS probe (position BIGINT)")
        connection.execute("DELETE FROM probe")
        connection.execute("INSERT INTO probe VALUES (?)", [position])
        publisher = snapshots.Publisher(working, folder)  # a whole copy: a new publisher
        try:
            return publisher.publish(connection, position, position)
        finally:
            publisher.close()


def read(folder: Path) -> int:
    with snapshots.open_latest(folder) as (connection, _published):
        row = connection.execute("SELECT position FROM probe").fetchone()
        assert row is not None
        return int(row[0])


def test_reads_share_the_kept_connection_of_the_published_snapshot(
        tmp_path: Path, kept: None) -> None:
    folder = tmp_path / "snapshots"
    first = publish(tmp_path / "working.duckdb", folder, 1)
    assert read(folder) == 1
    assert snapshots.kept_files() == [first.file.absolute()]
    with snapshots.open_latest(folder) as (one, _), \
            snapshots.open_latest(folder) as (other, _):
        assert one is not other  # a cursor each, on the one kept connection
        assert snapshots.kept_files() == [first.file.absolute()]


def test_a_newer_snapshot_replaces_the_kept_one_once_no_read_uses_it(
        tmp_path: Path, kept: None) -> None:
    folder = tmp_path / "snapshots"
    working = tmp_path / "working.duckdb"
    first = publish(working, folder, 1)
    with snapshots.open_latest(folder) as (during, published):
        assert published == first
        second = publish(working, folder, 2)
        assert read(folder) == 2  # the next read opens the newer snapshot
        # the older one is still read by the read that began on it
        assert snapshots.kept_files() == sorted([first.file.absolute(),
                                                 second.file.absolute()])
        third = publish(working, folder, 3)  # prunes the first snapshot's file
        assert not first.file.exists()
        assert during.execute("SELECT position FROM probe").fetchone() == (1,)
    assert snapshots.kept_files() == [second.file.absolute()]  # the first closed when freed
    assert read(folder) == 3
    assert snapshots.kept_files() == [third.file.absolute()]


def test_without_keeping_each_read_opens_and_closes_its_own(tmp_path: Path) -> None:
    folder = tmp_path / "snapshots"
    publish(tmp_path / "working.duckdb", folder, 7)
    assert read(folder) == 7
    assert snapshots.kept_files() == []
