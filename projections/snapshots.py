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
passes ``REBASE_BYTES`` the publication is followed by a new base (checkpointed and
copied whole), and when the working file itself changed it is preceded by one.

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
import threading
import time
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
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
    into a new base. A log grown too long is first published as it is, so what was
    just folded never waits for the checkpoint and the copy (seconds at a million
    events on a busy machine); the new base is published after it.

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
        log = self.log.stat().st_size if self.log.exists() else 0
        if self._base is not None and self._base_current():
            name = _name(position)
            self._on_base(name, log)
            published = self._point(name, position, head)
            if log <= REBASE_BYTES:
                return published
            # What was just folded is readable already, on the old base and the long
            # log; the checkpoint and the whole copy come after that publication, not
            # before it, and readers then move to the new base (no log to replay).
        name = _name(position)
        self._rebase(connection, name)
        return self._point(name, position, head)

    def _point(self, name: str, position: int, head: int) -> Published:
        """Point readers at the snapshot ``name`` (an atomic rename of the pointer), then
        prune what it supersedes."""
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


def _name(position: int) -> str:
    """A new snapshot's file name: unique, and in publication order when sorted."""
    return f"readmodel-{position:012d}-{time.time_ns()}.duckdb"


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


def withdraw(folder: Path) -> None:
    """Unpublish every snapshot: the working file they were copied from was written with
    another key (or none) and has been thrown away to be folded again. Readers find
    nothing published until the projector publishes afresh (a reader that has one open
    keeps reading it until it closes)."""
    (folder / POINTER).unlink(missing_ok=True)
    for pattern in ("readmodel-*.duckdb", "readmodel-*.duckdb.wal", ".base-readmodel-*"):
        for old in folder.glob(pattern):
            old.unlink(missing_ok=True)


def latest(folder: Path) -> Published | None:
    """The published snapshot, or None before the first publication."""
    try:
        found = json.loads((folder / POINTER).read_text("utf-8"))
    except FileNotFoundError:
        return None
    return Published(folder / found["file"], int(found["position"]), int(found["head"]),
                     datetime.fromisoformat(found["published_at"]))


def _connect(file: Path, memory_limit: str | None, key: str | None) -> engine.Attached:
    """A new read-only attachment of one snapshot file (the one place a reader opens
    one, kept or not). A snapshot is a copy of the projector's working file, so it is
    encrypted with the same ``key`` (``engine.py``)."""
    try:
        return engine.attach(file, read_only=True, memory_limit=memory_limit, key=key)
    except duckdb.Error as error:
        if file.exists() and readmodel.is_key_mismatch(error):
            raise KeyMismatch(
                "cannot read the published read model: it is encrypted with another key, "
                "or not as this process expects (SCORECARD_READMODEL_KEY, or the key "
                f"derived from SCORECARD_CIPHER_KEY): {error}") from None
        raise


def _cursor(attached: engine.Attached) -> duckdb.DuckDBPyConnection:
    """A cursor on a kept snapshot, for one use: its own transactions, with the snapshot
    as its default database (a cursor does not share its connection's ``USE``)."""
    return attached.cursor()


@contextmanager
def open_latest(folder: Path, memory_limit: str | None = None, key: str | None = None
                ) -> Iterator[tuple[duckdb.DuckDBPyConnection, Published]]:
    """A read-only connection to the newest snapshot, and which one it is: a cursor on
    the connection this process keeps to it when ``keep_open`` was called, else a new
    connection closed after the block. ``key``: the read model's (``engine.py``)."""
    keep = _readers.enabled
    for _attempt in range(10):
        published = latest(folder)
        if published is None:
            raise NotPublished("the read model has not been published yet: is the projector "
                               "running? (scorecard project --follow)")
        with ExitStack() as stack:
            try:
                if keep:
                    connection = stack.enter_context(
                        _readers.cursor(folder, published, memory_limit, key))
                else:
                    attached = _connect(published.file, memory_limit, key)
                    stack.callback(attached.close)
                    connection = attached.connection
            except duckdb.Error:
                if published.file.exists():
                    raise
                continue  # superseded and pruned between reading the pointer and opening it
            yield connection, published
            return
    raise NotPublished("the published read model kept changing while it was opened")


@dataclass
class _Reader:
    file: Path
    connection: engine.Attached
    users: int = 0
    superseded: bool = False


class _Readers:
    """One read-only connection per published snapshot, kept open in a page process.

    Opening a snapshot costs 50-120 ms (DuckDB reads the file's catalogue afresh), and a
    page's rerun reads the read model half a dozen times: most of a date change. A
    snapshot is never written after it is published, so a connection to it stays true
    for as long as it is open; each use gets its own cursor on it (its own transactions,
    safe across Streamlit's session threads). When the pointer names a newer snapshot,
    it is opened and the older one closed as soon as no use holds a cursor on it (a
    pruned snapshot is an unlinked file an open handle still reads, so a rerun that
    began on it finishes on it).
    """

    def __init__(self) -> None:
        self.enabled = False
        self._kept: dict[Path, _Reader] = {}  # by snapshot file
        self._newest: dict[Path, Path] = {}  # folder -> its newest kept snapshot file
        self._lock = threading.Lock()

    @contextmanager
    def cursor(self, folder: Path, published: Published, memory_limit: str | None,
               key: str | None) -> Iterator[duckdb.DuckDBPyConnection]:
        file = published.file.absolute()
        with self._lock:
            reader = self._kept.get(file)
            if reader is not None:
                reader.users += 1
        if reader is None:
            opened = _connect(file, memory_limit, key)
            with self._lock:
                reader = self._kept.setdefault(file, _Reader(file, opened))
                reader.users += 1
                if reader.connection is not opened:  # another thread opened it meanwhile
                    opened.close()
                self._adopt(folder.absolute(), reader)
        try:
            with self._lock:
                cursor = _cursor(reader.connection)
            try:
                yield cursor
            finally:
                cursor.close()
        finally:
            with self._lock:
                reader.users -= 1
                self._close_if_done(reader)

    def _adopt(self, folder: Path, reader: _Reader) -> None:
        """``reader`` is the folder's newest snapshot unless a later one is kept already;
        the one it replaces closes once free (under the lock)."""
        current = self._newest.get(folder)
        if current == reader.file:
            return
        if current is not None and current.name > reader.file.name:
            reader.superseded = True  # a slow opener of an older pointer
        else:
            self._newest[folder] = reader.file
            old = self._kept.get(current) if current is not None else None
            if old is not None:
                old.superseded = True
                self._close_if_done(old)
        self._close_if_done(reader)

    def _close_if_done(self, reader: _Reader) -> None:
        if reader.superseded and not reader.users and self._kept.get(reader.file) is reader:
            reader.connection.close()
            del self._kept[reader.file]

    def kept(self) -> list[Path]:
        """The snapshot files this process holds open (for tests and monitoring)."""
        with self._lock:
            return sorted(self._kept)

    def close(self) -> None:
        """Close every kept connection that no use holds; the rest close when freed."""
        with self._lock:
            self._newest.clear()
            for reader in list(self._kept.values()):
                reader.superseded = True
                self._close_if_done(reader)


_readers = _Readers()


def keep_open(enabled: bool = True) -> None:
    """Keep each published snapshot's read-only connection open in this process between
    reads (the page server: a rerun reads it several times); off, each read opens and
    closes its own connection (the CLI reads once)."""
    _readers.enabled = enabled
    if not enabled:
        _readers.close()


def kept_files() -> list[Path]:
    """The snapshot files this process keeps open."""
    return _readers.kept()


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
