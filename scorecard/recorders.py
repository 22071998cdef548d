"""Each event store's recorder, extended with the SQL the domain asks for.

The pattern of ``eventsourcing``'s searchable-content example: the domain declares the
query as an abstract recorder (``domain.persistence.ExistingIdsRecorder``), each store
answers it in its own SQL in a subclass of the library's process recorder, and a factory
subclass constructs that recorder. The composition root (``scorecard/bootstrap.py``)
names the factory in ``PERSISTENCE_MODULE``; the in-memory store keeps the library's
recorder and the domain then looks each aggregate up one by one.

PostgreSQL's recorder lives in ``scorecard/postgres_recorder.py`` and is named here by
its topic only: ``eventsourcing`` imports it (and with it psycopg, a third of a second
of CPU) only in a process whose store is PostgreSQL, not in every command of the
embedded store.
"""

from __future__ import annotations

from collections.abc import Sequence
from uuid import UUID

from eventsourcing.sqlite import SQLiteFactory, SQLiteProcessRecorder

from domain.persistence import ExistingIdsRecorder

PREFETCH_CHUNK = 500  # ids per query: well under SQLite's limit on bound parameters


class ScorecardSQLiteRecorder(ExistingIdsRecorder, SQLiteProcessRecorder):
    """SQLite's process recorder; originator ids are stored as their 32 hex digits."""

    def existing_originator_ids(self, ids: Sequence[UUID]) -> set[UUID]:
        by_hex = {i.hex: i for i in ids}
        hexes = list(by_hex)
        found: set[UUID] = set()
        with self.datastore.transaction(commit=False) as cursor:
            for first in range(0, len(hexes), PREFETCH_CHUNK):
                chunk = hexes[first:first + PREFETCH_CHUNK]
                cursor.execute(
                    f"SELECT DISTINCT originator_id FROM {self.events_table_name} "
                    f"WHERE originator_id IN ({', '.join('?' * len(chunk))})",
                    chunk,
                )
                found.update(by_hex[row["originator_id"]] for row in cursor.fetchall())
        return found


class ScorecardSQLiteFactory(SQLiteFactory):
    process_recorder_class = ScorecardSQLiteRecorder


SQLITE_FACTORY_TOPIC = f"{__name__}:{ScorecardSQLiteFactory.__name__}"
POSTGRES_FACTORY_TOPIC = "scorecard.postgres_recorder:ScorecardPostgresFactory"
