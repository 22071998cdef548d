"""Published snapshots of the read model: one writer, any number of read-only readers.

DuckDB lets a file be opened by one read-write process or by many read-only processes,
never both at once. The projector alone writes its working file (``readmodel.duckdb``);
after a catch-up that folded something it publishes a new, uniquely named snapshot in
``snapshots/`` and then points ``snapshots/published.json`` at it by an atomic rename.
Readers (the pages, the CLI's reports) read the pointer and open that file read-only: a
reader never waits for the projector nor the projector for a reader, and a reader sees
one whole published state.

A snapshot is a base plus, usually, a log (``Publisher``). The base is the working file
checkpointed (its write-ahead log merged in) and copied whole. Between checkpoints
DuckDB only appends committed changes to the working file's log, so a publication is a
hard link to the base under the new name plus a copy of that log beside it
(``<name>.wal``), which a read-only connection replays in memory as it opens the file:
its cost follows what was folded since the base, not the read model's size. Once the log
passes ``REBASE_BYTES``, or the working file itself changed, the next publication
checkpoints and copies a new base.

Each snapshot has its own name because DuckDB shares one database instance between the
connections of a process that open the same path: a server whose readers overlapped
would keep reading the file it first opened if a new snapshot were renamed over an old
one. Superseded snapshots are deleted at a later publication, their log copies some
time after; on POSIX a reader that still has one open keeps reading it until it closes,
and a reader that read the pointer just before the deletion tries the pointer again.
"""

from __future__ import annotations

import contextlib
import json
import os
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import duckdb

from domain.errors import CommandError

POINTER = "published.json"
KEEP = 2  # the published snapshot and the one before it (a reader may be opening it)


class NotPublished(CommandError, LookupError):
    """No snapshot has been published yet: the projector has not run."""


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


REBASE_BYTES = 8 << 20  # a write-ahead log this long is checkpointed into a new base
HEADER_BYTES = 3 * 4096  # DuckDB's file header and its two database headers
SUPERSEDED_LOG_SECONDS = 30.0  # how long a pruned snapshot's log copy outlives its file


def _private_copy(source: int, target: Path, size: int) -> None:
    """``size`` bytes of the open file ``source`` copied to ``target`` in the kernel,
    created 0600 (the read model is the home's). Not fsynced: other processes see the
    page cache, and after a crash the projector publishes afresh when it starts (a
    snapshot is derived, never the record). ``source`` is read by offset and never
    closed here: see ``Publisher``."""
    fd = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as out:
        copied = 0
        try:
            while copied < size:
                done = os.copy_file_range(source, out.fileno(), size - copied, copied)
                if done == 0:
                    break
                copied += done
        except OSError:  # a file system without copy_file_range
            out.seek(0)
            out.truncate()
            copied = 0
            while copied < size:
                chunk = os.pread(source, min(1 << 20, size - copied), copied)
                if not chunk:
                    break
                out.write(chunk)
                copied += len(chunk)


@dataclass
class _Base:
    """The snapshot base: a copy of the working file as of its last checkpoint, and
    what the working file looked like then (to tell whether it has been written since)."""

    file: Path
    header: bytes
    size: int
    mtime_ns: int


class Publisher:
    """The projector's side: publishes its working file (``working``, open read-write on
    ``connection``) into ``folder``, for as long as that connection is open.

    A publication is cheap when the working file has only grown its write-ahead log
    since the last base: the new snapshot is a hard link to the base plus a copy of the
    log (kilobytes to a few megabytes, whatever the read model's size), and a read-only
    DuckDB connection replays that log when it opens the snapshot. When the log has
    grown past ``REBASE_BYTES`` (readers would replay too much), at the first
    publication, or when the working file's own bytes changed since the base (a
    checkpoint DuckDB made itself), the working file is checkpointed and copied whole
    into a new base.

    The working file is opened once, read by offset and closed only after the
    projector's connection has closed (``close``): closing any descriptor of a file
    drops every POSIX lock the process holds on it, DuckDB's lock on the working file
    among them, which would let a second projector open it for writing.
    """

    def __init__(self, working: Path, folder: Path) -> None:
        self.working = working
        self.log = Path(f"{working}.wal")
        self.folder = folder
        self._fd: int | None = None
        self._base: _Base | None = None
        self._gone: dict[Path, float] = {}  # log copies of pruned snapshots, and when

    def publish(self, connection: duckdb.DuckDBPyConnection, position: int, head: int
                ) -> Published:
        """Publish the working file as the newest snapshot, folded up to ``position``
        of a log whose head was ``head``."""
        self.folder.mkdir(mode=0o700, parents=True, exist_ok=True)
        if self._fd is None:
            self._fd = os.open(self.working, os.O_RDONLY)
        name = f"readmodel-{position:012d}-{time.time_ns()}.duckdb"
        log = self.log.stat().st_size if self.log.exists() else 0
        if self._base is None or log > REBASE_BYTES or not self._base_current():
            self._rebase(connection, name)
        else:
            self._on_base(name, log)
        published = Published(self.folder / name, position, head, datetime.now(UTC))
        pointer = self.folder / f".{POINTER}.partial"
        fd = os.open(pointer, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as stream:
            json.dump(published.to_json(), stream)
        os.replace(pointer, self.folder / POINTER)
        _prune(self.folder, published.file, self._base.file if self._base else None,
               self._gone)
        return published

    def _rebase(self, connection: duckdb.DuckDBPyConnection, name: str) -> None:
        """Checkpoint the working file (its log merged in, so the file alone is the whole
        database) and copy it whole: the new snapshot, and the base of those after it."""
        assert self._fd is not None
        connection.execute("CHECKPOINT")
        size = os.fstat(self._fd).st_size
        partial = self.folder / f".{name}.partial"
        _private_copy(self._fd, partial, size)
        os.rename(partial, self.folder / name)
        base = self.folder / f".base-{name}"
        os.link(self.folder / name, base)
        old, self._base = self._base, _Base(base, os.pread(self._fd, HEADER_BYTES, 0), size,
                                            os.fstat(self._fd).st_mtime_ns)
        if old is not None:
            old.file.unlink(missing_ok=True)

    def _on_base(self, name: str, log: int) -> None:
        """The new snapshot as the base (a hard link: no copy) and a copy of the working
        file's write-ahead log, in place before the file that readers open."""
        assert self._base is not None
        if log:
            partial = self.folder / f".{name}.wal.partial"
            with open(self.log, "rb") as source:  # no lock is held on the log
                _private_copy(source.fileno(), partial, log)
            os.rename(partial, self.folder / f"{name}.wal")
        os.link(self._base.file, self.folder / name)

    def _base_current(self) -> bool:
        """Whether the working file's own bytes are still the base's: its headers (a
        checkpoint rewrites them), size and modification time. Between checkpoints
        DuckDB appends committed changes to the log only: a transaction writes to the
        file itself only once it holds a whole row group (122,880 rows) of one table,
        more than a catch-up's batch (``projector.BATCH_SIZE``)."""
        assert self._base is not None and self._fd is not None
        stat = os.fstat(self._fd)
        return (stat.st_size == self._base.size and stat.st_mtime_ns == self._base.mtime_ns
                and os.pread(self._fd, HEADER_BYTES, 0) == self._base.header)

    def close(self) -> None:
        """Let go of the working file: only once the projector's connection has closed."""
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None


def _prune(folder: Path, current: Path, base: Path | None,
           gone: dict[Path, float] | None = None) -> None:
    """Delete superseded snapshots (the published one and the one before it stay: a
    reader may be opening it) and older bases. A log copy goes ``SUPERSEDED_LOG_SECONDS``
    after its snapshot (noted in ``gone``; a reader that found the file an instant before
    it went still replays the log as it opens it), or, left by an earlier projector,
    once that old."""
    now = time.time()
    gone = {} if gone is None else gone
    snapshots = sorted(folder.glob("readmodel-*.duckdb"), key=lambda p: p.name)
    for old in [p for p in snapshots if p != current][:-(KEEP - 1) or None]:
        old.unlink(missing_ok=True)
        gone.setdefault(Path(f"{old}.wal"), now)
    for log in folder.glob("readmodel-*.duckdb.wal"):
        with contextlib.suppress(FileNotFoundError):
            since = gone.get(log) or (None if log.with_suffix("").exists()
                                      else log.stat().st_mtime)
            if since is not None and now - since > SUPERSEDED_LOG_SECONDS:
                log.unlink(missing_ok=True)
                gone.pop(log, None)
    for old_base in folder.glob(".base-readmodel-*.duckdb"):
        if old_base != base:
            old_base.unlink(missing_ok=True)
    for stale in folder.glob(".readmodel-*.partial"):  # a copy a crash left behind
        with contextlib.suppress(FileNotFoundError):
            if now - stale.stat().st_mtime > 60:
                stale.unlink(missing_ok=True)


def latest(folder: Path) -> Published | None:
    """The published snapshot, or None before the first publication."""
    try:
        found = json.loads((folder / POINTER).read_text("utf-8"))
    except FileNotFoundError:
        return None
    return Published(folder / found["file"], int(found["position"]), int(found["head"]),
                     datetime.fromisoformat(found["published_at"]))


@contextmanager
def open_latest(folder: Path, config: dict[str, str | bool | int | float | list[str]]
                ) -> Iterator[tuple[duckdb.DuckDBPyConnection, Published]]:
    """A read-only connection to the newest snapshot, and which one it is."""
    for _attempt in range(10):
        published = latest(folder)
        if published is None:
            raise NotPublished("the read model has not been published yet: is the projector "
                               "running? (scorecard project --follow)")
        try:
            connection = duckdb.connect(str(published.file), read_only=True, config=config)
        except duckdb.Error:
            if published.file.exists():
                raise
            continue  # superseded and pruned between reading the pointer and opening it
        try:
            yield connection, published
        finally:
            connection.close()
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
