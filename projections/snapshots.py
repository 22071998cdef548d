"""Published snapshots of the read model: one writer, any number of read-only readers.

DuckDB lets a file be opened by one read-write process or by many read-only processes,
never both at once. The projector alone writes its working file (``readmodel.duckdb``);
after a catch-up that folded something it checkpoints it (the WAL merged into the file,
so the file alone is the whole database), copies it to a new, uniquely named file in
``snapshots/`` and then points ``snapshots/published.json`` at it by an atomic rename.
Readers (the pages, the CLI's reports) read the pointer and open that file read-only: a
reader never waits for the projector nor the projector for a reader, and a reader sees
one whole published state.

Each snapshot has its own name because DuckDB shares one database instance between the
connections of a process that open the same path: a server whose readers overlapped
would keep reading the file it first opened if a new snapshot were renamed over an old
one. Superseded snapshots are deleted at the next publication; on POSIX a reader that
still has one open keeps reading it until it closes, and a reader that read the pointer
just before the deletion tries the pointer again.
"""

from __future__ import annotations

import json
import os
import shutil
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import duckdb

from domain.errors import CommandError
from projections import engine, readmodel

POINTER = "published.json"
KEEP = 2  # the published snapshot and the one before it (a reader may be opening it)


class NotPublished(CommandError, LookupError):
    """No snapshot has been published yet: the projector has not run."""


class KeyMismatch(CommandError):
    """The published snapshot is encrypted with another key than this reader's (or one
    of them has none)."""


@dataclass(frozen=True)
class Published:
    """The snapshot readers open: its file, the log position it has folded up to, the
    event log's head when it was published, and when."""

    file: Path
    position: int
    head: int
    published_at: datetime

    def behind(self, head: int) -> int:
        """How many events of a log whose head is ``head`` this snapshot has not folded."""
        return max(0, head - self.position)

    def to_json(self) -> dict[str, object]:
        return {"file": self.file.name, "position": self.position, "head": self.head,
                "published_at": self.published_at.isoformat()}


def _private_copy(source: Path, target: Path) -> None:
    """``source`` copied to ``target`` in the kernel, created 0600 (the read model is the
    home's). Not fsynced: other processes see the page cache, and after a crash the
    projector publishes afresh when it starts (a snapshot is derived, never the record)."""
    fd = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as out, source.open("rb") as stream:
        size = os.fstat(stream.fileno()).st_size
        copied = 0
        try:
            while copied < size:
                done = os.copy_file_range(stream.fileno(), out.fileno(), size - copied)
                if done == 0:
                    break
                copied += done
        except OSError:  # a file system without copy_file_range
            stream.seek(0)
            out.seek(0)
            out.truncate()
            shutil.copyfileobj(stream, out, 1 << 20)


def publish(connection: duckdb.DuckDBPyConnection, working: Path, folder: Path,
            position: int, head: int) -> Published:
    """Publish the projector's working file (open on ``connection``) as the newest
    snapshot, folded up to ``position`` of a log whose head was ``head``."""
    folder.mkdir(mode=0o700, parents=True, exist_ok=True)
    connection.execute("CHECKPOINT")
    name = f"readmodel-{position:012d}-{time.time_ns()}.duckdb"
    partial = folder / f".{name}.partial"
    _private_copy(working, partial)
    os.rename(partial, folder / name)
    published = Published(folder / name, position, head, datetime.now(UTC))
    pointer = folder / f".{POINTER}.partial"
    fd = os.open(pointer, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as stream:
        json.dump(published.to_json(), stream)
    os.replace(pointer, folder / POINTER)
    _prune(folder, published.file)
    return published


def _prune(folder: Path, current: Path) -> None:
    snapshots = sorted(folder.glob("readmodel-*.duckdb"), key=lambda p: p.name)
    for old in [p for p in snapshots if p != current][:-(KEEP - 1) or None]:
        old.unlink(missing_ok=True)
    for stale in folder.glob(".readmodel-*.partial"):  # a copy a crash left behind
        if time.time() - stale.stat().st_mtime > 60:
            stale.unlink(missing_ok=True)


def withdraw(folder: Path) -> None:
    """Unpublish every snapshot: the working file they were copied from was written with
    another key (or none) and has been thrown away to be folded again. Readers find
    nothing published until the projector publishes afresh (a reader that has one open
    keeps reading it until it closes)."""
    (folder / POINTER).unlink(missing_ok=True)
    for old in folder.glob("readmodel-*.duckdb"):
        old.unlink(missing_ok=True)


def latest(folder: Path) -> Published | None:
    """The published snapshot, or None before the first publication."""
    try:
        found = json.loads((folder / POINTER).read_text("utf-8"))
    except FileNotFoundError:
        return None
    return Published(folder / found["file"], int(found["position"]), int(found["head"]),
                     datetime.fromisoformat(found["published_at"]))


@contextmanager
def open_latest(folder: Path, memory_limit: str | None = None, key: str | None = None
                ) -> Iterator[tuple[duckdb.DuckDBPyConnection, Published]]:
    """A read-only connection to the newest snapshot, and which one it is. A snapshot is
    a copy of the projector's working file, so it is encrypted with the same ``key``
    (``engine.py``)."""
    for _attempt in range(10):
        published = latest(folder)
        if published is None:
            raise NotPublished("the read model has not been published yet: is the projector "
                               "running? (scorecard project --follow)")
        try:
            attached = engine.attach(published.file, read_only=True,
                                     memory_limit=memory_limit, key=key)
        except duckdb.Error as error:
            if not published.file.exists():
                continue  # superseded and pruned between reading the pointer and opening it
            if readmodel.is_key_mismatch(error):
                raise KeyMismatch(
                    "cannot read the published read model: it is encrypted with another "
                    "key, or not as this process expects (SCORECARD_READMODEL_KEY, or the "
                    f"key derived from SCORECARD_CIPHER_KEY): {error}") from None
            raise
        try:
            yield attached.connection, published
        finally:
            attached.close()
        return
    raise NotPublished("the published read model kept changing while it was opened")


def wait_for(folder: Path, position: int, timeout: float) -> Published | None:
    """The published snapshot once it has folded ``position`` or ``timeout`` seconds
    have passed, whichever is first (then the latest, perhaps behind)."""
    deadline = time.monotonic() + timeout
    while True:
        published = latest(folder)
        if (published is not None and published.position >= position) \
                or time.monotonic() >= deadline:
            return published
        time.sleep(0.05)
