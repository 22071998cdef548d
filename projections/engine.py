"""Where read-model files are opened: attached to one DuckDB instance per process,
encrypted at rest when a key is given.

DuckDB's database encryption (AES-256-GCM, ``ATTACH ... (ENCRYPTION_KEY ...)``) covers
the file, its write-ahead log and, with ``temp_file_encryption`` on, what a query spills
to disk (without that setting, spills of an encrypted database were found in clear).
DuckDB's built-in crypto only decrypts: writing, spills included, needs the OpenSSL of
its ``httpfs`` extension, which the PyPI package ``duckdb-extension-httpfs`` ships for
the pinned DuckDB version, so it is loaded from that package's folder and never
downloaded.

Each open attaches the file to a shared in-memory instance under its own alias, on a
cursor of its own that ``USE``s it, and closing detaches it. A new DuckDB instance per
open cost 50-70 ms (and loading ``httpfs`` into each another 300 ms) on the development
machine; an attach to the shared one about 2 ms. Encrypted and plain files use separate
instances, so that spills of the one are never mixed with the other's.
"""

from __future__ import annotations

import atexit
import itertools
import re
import shutil
import tempfile
import threading
from dataclasses import dataclass
from pathlib import Path

import duckdb

# DuckDB takes the key as text inside the ATTACH statement; base64 (or base64url) only,
# so that no key can end the string it is written in.
KEY_TEXT = re.compile(r"[A-Za-z0-9+/=_-]{16,200}")


class KeyRefused(ValueError):
    """A key that is not base64 text of a usable length."""


def check_key(key: str) -> str:
    if not KEY_TEXT.fullmatch(key):
        raise KeyRefused("a read-model key is base64 text of 16 to 200 characters")
    return key


def httpfs_extension() -> Path:
    """The ``httpfs`` extension file of the installed ``duckdb-extension-httpfs``."""
    import duckdb_extension_httpfs

    folder = Path(next(iter(duckdb_extension_httpfs.__path__))) / "extensions"
    found = sorted(folder.glob(f"v{duckdb.__version__}/httpfs.duckdb_extension"))
    if not found:
        raise RuntimeError(f"duckdb-extension-httpfs has no httpfs for DuckDB "
                           f"{duckdb.__version__} under {folder}: install the same version")
    return found[0]


@dataclass
class Attached:
    """One open read-model file: ``connection`` (a cursor whose default database is the
    file) until ``close`` detaches it."""

    connection: duckdb.DuckDBPyConnection
    alias: str
    _engine: duckdb.DuckDBPyConnection

    def cursor(self) -> duckdb.DuckDBPyConnection:
        """Another cursor on the same file (its own transactions, for another thread)."""
        cursor = _cursor(self._engine)
        cursor.execute(f'USE "{self.alias}"')
        return cursor

    def close(self) -> None:
        """Detach the file (checkpointed first when it was written), ending any
        transaction left open on ``connection``. Every other cursor must be closed."""
        self.connection.close()
        _detach(self._engine, self.alias)


_CURSORS = threading.Lock()


def _cursor(engine: duckdb.DuckDBPyConnection) -> duckdb.DuckDBPyConnection:
    """A new cursor (a connection of its own) on ``engine``, made under a lock: the
    engine's connection object, which keeps the list of its cursors, is shared by every
    thread of the process."""
    with _CURSORS:
        return engine.cursor()


def _detach(engine: duckdb.DuckDBPyConnection, alias: str) -> None:
    """On a cursor of its own: a DuckDB connection object is not safe to share between
    threads, and the engine's is shared."""
    cursor = _cursor(engine)
    try:
        cursor.execute(f'DETACH DATABASE IF EXISTS "{alias}"')
    finally:
        cursor.close()


class _Engines:
    def __init__(self) -> None:
        self._instances: dict[tuple[str | None, bool], duckdb.DuckDBPyConnection] = {}
        self._lock = threading.Lock()
        self._aliases = itertools.count(1)
        self._spills: Path | None = None

    def _spill_folder(self) -> Path:
        """Where DuckDB spills what does not fit in memory: a folder of this process's
        own (0700) under the system's temporary folder (``TMPDIR``), removed at exit. An
        in-memory instance would otherwise spill to ``.tmp`` in the working directory."""
        if self._spills is None:
            self._spills = Path(tempfile.mkdtemp(prefix="scorecard-duckdb-"))
            atexit.register(shutil.rmtree, self._spills, True)
        return self._spills

    def instance(self, memory_limit: str | None, encrypted: bool) -> duckdb.DuckDBPyConnection:
        key = (memory_limit, encrypted)
        with self._lock:
            found = self._instances.get(key)
            if found is None:
                # a folder per instance: two instances spilling into one would overwrite
                # each other's temporary files
                spills = self._spill_folder() / f"instance-{len(self._instances)}"
                spills.mkdir(mode=0o700)
                config: dict[str, str | bool | int | float | list[str]] = {
                    "temp_directory": str(spills)}
                if memory_limit:
                    config["memory_limit"] = memory_limit
                found = duckdb.connect(":memory:", config=config)
                if encrypted:
                    found.execute(f"LOAD '{httpfs_extension()}'")
                    found.execute("SET temp_file_encryption = true")
                self._instances[key] = found
            return found

    def attach(self, path: Path, *, read_only: bool, memory_limit: str | None,
               key: str | None) -> Attached:
        engine = self.instance(memory_limit, key is not None)
        alias = f"readmodel_{next(self._aliases)}"
        options = [*(["READ_ONLY"] if read_only else []),
                   *([f"ENCRYPTION_KEY '{check_key(key)}'"] if key is not None else [])]
        quoted = str(Path(path).absolute()).replace("'", "''")
        cursor = _cursor(engine)
        try:
            cursor.execute(f"ATTACH '{quoted}' AS \"{alias}\""
                           + (f" ({', '.join(options)})" if options else ""))
            cursor.execute(f'USE "{alias}"')
        except BaseException:
            cursor.close()
            _detach(engine, alias)
            raise
        return Attached(cursor, alias, engine)


_engines = _Engines()


def attach(path: Path, *, read_only: bool = False, memory_limit: str | None = None,
           key: str | None = None) -> Attached:
    """Open the DuckDB file at ``path`` (created when missing and not ``read_only``),
    decrypted with ``key`` when given. Raises ``duckdb.Error`` as ``duckdb.connect``
    would (a lock held by another process, a wrong key, a file that is not encrypted
    though a key was given, or encrypted though none was)."""
    return _engines.attach(path, read_only=read_only, memory_limit=memory_limit, key=key)
