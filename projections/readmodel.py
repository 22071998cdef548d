"""The DuckDB read model: every fact with both its times, and where the projector got to.

Instants are stored as naive UTC ``TIMESTAMP``; days are the plan's local ``DATE``.
A fact stands, as known at K, when ``recorded_at <= K`` and it had not ended by K
(``ended_at`` is when a retraction or supersession of it was recorded).
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import duckdb

from domain import contract
from projections import engine

# Bump when a table changes: a read model of another version is dropped and refolded
# from the event store (it holds nothing the event store does not).
SCHEMA_VERSION = 8

# Payload fields copied into typed columns of ``facts``, so that measures filter and
# count on them without parsing JSON (a JSON lookup per row cost a measure ~20 ms per
# 100k facts). Derived from the contract's registry (``payload_field_kinds``): free text,
# lists and objects stay only in the payload JSON, which is kept whole.
SQL_TYPES = {"integer": "INTEGER", "boolean": "BOOLEAN", "text": "VARCHAR"}
PAYLOAD_COLUMNS: dict[str, str] = {
    name: SQL_TYPES[kind] for name, kind in contract.payload_field_kinds().items()}

PAYLOAD_SQL = "".join(f"    {name} {kind},\n" for name, kind in PAYLOAD_COLUMNS.items())

SCHEMA = f"""
CREATE TABLE IF NOT EXISTS meta (
    name VARCHAR PRIMARY KEY,
    value VARCHAR NOT NULL
);
CREATE TABLE IF NOT EXISTS tracking (
    name VARCHAR PRIMARY KEY,
    position BIGINT NOT NULL
);
CREATE TABLE IF NOT EXISTS facts (
    position BIGINT NOT NULL,
    submission_id VARCHAR NOT NULL,
    agency VARCHAR NOT NULL,
    event_id VARCHAR NOT NULL,
    type VARCHAR NOT NULL,
    occurred_at VARCHAR NOT NULL,
    occurred_utc TIMESTAMP NOT NULL,
    occurred_on DATE NOT NULL,
    recorded_at TIMESTAMP NOT NULL,
    backfill BOOLEAN NOT NULL,
    supersedes VARCHAR,
    ended_at TIMESTAMP,
    ended_position BIGINT,
    ended_by VARCHAR,
    end_kind VARCHAR,
    case_ref VARCHAR,
    episode INTEGER,
{PAYLOAD_SQL}    payload VARCHAR NOT NULL
);
CREATE TABLE IF NOT EXISTS rejections (
    position BIGINT NOT NULL,
    rejection_id VARCHAR NOT NULL,
    agency VARCHAR NOT NULL,
    event_id VARCHAR,
    type VARCHAR,
    reason VARCHAR NOT NULL,
    field VARCHAR NOT NULL,
    message VARCHAR NOT NULL,
    raw VARCHAR NOT NULL,
    raw_encoding VARCHAR NOT NULL,
    received_at TIMESTAMP NOT NULL,
    backfill BOOLEAN NOT NULL,
    source VARCHAR NOT NULL,
    quarantined BOOLEAN NOT NULL,
    withdrawn_at TIMESTAMP
);
CREATE TABLE IF NOT EXISTS agencies (
    code VARCHAR PRIMARY KEY,
    name VARCHAR NOT NULL,
    sector VARCHAR NOT NULL,
    types VARCHAR,
    suspended BOOLEAN NOT NULL,
    registered_at TIMESTAMP NOT NULL
);
CREATE TABLE IF NOT EXISTS plan (
    code VARCHAR PRIMARY KEY,
    title VARCHAR NOT NULL,
    partnership VARCHAR NOT NULL,
    starts DATE NOT NULL,
    ends DATE NOT NULL,
    timezone VARCHAR NOT NULL,
    document VARCHAR NOT NULL
);
CREATE TABLE IF NOT EXISTS measure_rules (
    position BIGINT NOT NULL,
    measure_id VARCHAR NOT NULL,
    rules VARCHAR NOT NULL,
    recorded_at TIMESTAMP NOT NULL,
    changed_by VARCHAR NOT NULL,
    reason VARCHAR NOT NULL
);
CREATE TABLE IF NOT EXISTS approvals (
    position BIGINT NOT NULL,
    agency VARCHAR NOT NULL,
    month VARCHAR NOT NULL,
    approved_at TIMESTAMP NOT NULL,
    approved_by VARCHAR NOT NULL
);
CREATE TABLE IF NOT EXISTS acceptances (
    position BIGINT NOT NULL,
    month VARCHAR NOT NULL,
    accepted_at TIMESTAMP NOT NULL,
    accepted_by VARCHAR NOT NULL,
    pinned_position BIGINT NOT NULL
);
CREATE TABLE IF NOT EXISTS exception_reviews (
    position BIGINT NOT NULL,
    measure_id VARCHAR NOT NULL,
    month VARCHAR NOT NULL,
    agency VARCHAR NOT NULL,
    note_event_id VARCHAR NOT NULL,
    decision VARCHAR NOT NULL,
    comment VARCHAR NOT NULL,
    reviewed_at TIMESTAMP NOT NULL,
    reviewed_by VARCHAR NOT NULL
);
CREATE TABLE IF NOT EXISTS figure_checks (
    position BIGINT NOT NULL,
    agency VARCHAR NOT NULL,
    measure_id VARCHAR NOT NULL,
    month VARCHAR NOT NULL,
    kind VARCHAR NOT NULL,  -- confirmed | follow_up
    value DOUBLE,
    rule VARCHAR,
    detail VARCHAR NOT NULL,
    recorded_at TIMESTAMP NOT NULL,
    recorded_by VARCHAR NOT NULL
);
CREATE TABLE IF NOT EXISTS audit (
    position BIGINT NOT NULL,
    known_at TIMESTAMP NOT NULL,
    recorded TIMESTAMP NOT NULL,
    actor VARCHAR NOT NULL,
    action VARCHAR NOT NULL,
    agency VARCHAR,
    subject VARCHAR,
    details VARCHAR NOT NULL
);
CREATE TABLE IF NOT EXISTS users (
    username VARCHAR PRIMARY KEY,
    role VARCHAR NOT NULL,
    agency VARCHAR,
    disabled BOOLEAN NOT NULL,
    added_at TIMESTAMP NOT NULL,
    added_by VARCHAR NOT NULL
);
CREATE TABLE IF NOT EXISTS counts (  -- the plan's counts (projections/fact_counts.py)
    id INTEGER PRIMARY KEY,
    key VARCHAR NOT NULL
);
CREATE TABLE IF NOT EXISTS counted (  -- which facts each count counts, and what they add
    count_id INTEGER NOT NULL,
    position BIGINT NOT NULL,  -- the fact's, with its agency, day and times (as in facts)
    agency VARCHAR NOT NULL,
    occurred_on DATE NOT NULL,
    recorded_at TIMESTAMP NOT NULL,
    ended_at TIMESTAMP,
    ended_position BIGINT,
    value DOUBLE,  -- what it adds to a count (1) or a sum (its field)
    item VARCHAR   -- what it adds to a distinct count (its field)
);
CREATE TABLE IF NOT EXISTS plan_actions (
    ord INTEGER NOT NULL,
    code VARCHAR PRIMARY KEY,
    title VARCHAR NOT NULL,
    lead VARCHAR NOT NULL,
    due DATE NOT NULL,
    objective VARCHAR NOT NULL,
    priority VARCHAR NOT NULL
);
"""

LOCK_RETRY_SECONDS = 30.0


TABLES = frozenset(re.findall(r"CREATE TABLE IF NOT EXISTS (\w+)", SCHEMA))


def _ensure_schema(connection: duckdb.DuckDBPyConnection) -> None:
    tables = {row[0] for row in connection.execute(
        "SELECT table_name FROM information_schema.tables "
        "WHERE table_catalog = current_database() AND table_schema = 'main'"
    ).fetchall()}
    version = None
    if "meta" in tables:
        row = connection.execute("SELECT value FROM meta WHERE name = 'schema'").fetchone()
        version = row[0] if row else None
    if version == str(SCHEMA_VERSION) and tables >= TABLES:
        # Nothing to create and nothing to write: an open that writes nothing leaves
        # nothing to checkpoint at its close (the schema statements and the version's
        # rewrite were half of every page's open of the read model).
        return
    if tables and version != str(SCHEMA_VERSION):
        for table in tables:
            connection.execute(f'DROP TABLE "{table}"')
    connection.execute(SCHEMA)
    connection.execute("INSERT OR REPLACE INTO meta VALUES ('schema', ?)", [str(SCHEMA_VERSION)])


def tracked_position(connection: duckdb.DuckDBPyConnection, name: str) -> int:
    """How far the tracker ``name`` has folded the event store's log (0: not yet)."""
    row = connection.execute("SELECT position FROM tracking WHERE name = ?", [name]).fetchone()
    return int(row[0]) if row else 0


def is_lock_conflict(error: duckdb.Error) -> bool:
    text = str(error)
    return "lock" in text.lower() and ("Conflicting" in text or "Could not set" in text)


def is_key_mismatch(error: duckdb.Error) -> bool:
    """Whether DuckDB refused a file for its encryption: a wrong key, no key for an
    encrypted file, or a key for a plain one."""
    text = str(error)
    return ("encryption key" in text or "encrypted database" in text
            or "is not encrypted" in text)


def _open(path: Path, read_only: bool, memory_limit: str | None,
          wait: float = LOCK_RETRY_SECONDS, key: str | None = None,
          discarded: Callable[[], None] | None = None) -> engine.Attached:
    """The file attached (``engine.attach``), waiting up to ``wait`` seconds while
    another process holds DuckDB's file lock. A writable file written with another key
    (or with none, or with one when none is given now) is deleted and made afresh, as
    one of another schema version is refolded: it holds nothing the event store does
    not. ``discarded`` is then called (to withdraw what was published from it)."""
    deadline = time.monotonic() + wait
    while True:
        try:
            if read_only and not Path(path).exists():
                read_only = False  # nothing to read yet: create it
            attached = engine.attach(path, read_only=read_only, memory_limit=memory_limit,
                                     key=key)
            break
        except duckdb.Error as error:
            if not read_only and is_key_mismatch(error):
                for suffix in ("", ".wal"):
                    Path(str(path) + suffix).unlink(missing_ok=True)
                if discarded is not None:
                    discarded()
                continue
            if not (isinstance(error, duckdb.IOException) and is_lock_conflict(error)) \
                    or time.monotonic() > deadline:
                raise
            time.sleep(0.05)
    try:
        if not read_only:
            _ensure_schema(attached.connection)
    except BaseException:
        attached.close()
        raise
    return attached


@contextmanager
def connect(path: Path, *, read_only: bool = False, memory_limit: str | None = None,
            wait: float = LOCK_RETRY_SECONDS, key: str | None = None,
            discarded: Callable[[], None] | None = None
            ) -> Iterator[duckdb.DuckDBPyConnection]:
    """Open a read-model file, waiting up to ``wait`` seconds while another process holds
    DuckDB's file lock; encrypted with ``key`` when one is given (``engine.py``). The
    projector's working file has one writer, the projector; readers open the snapshots
    it publishes (``snapshots.py``, which keeps a page's connections open between
    uses), never that file. ``discarded``: see ``_open``.
    """
    attached = _open(path, read_only, memory_limit, wait, key, discarded)
    try:
        yield attached.connection
    finally:
        attached.close()
