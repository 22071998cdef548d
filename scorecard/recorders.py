"""Each event store's recorder, extended with the SQL the domain asks for.

The pattern of ``eventsourcing``'s searchable-content example: the domain declares the
query as an abstract recorder (``domain.persistence.ExistingIdsRecorder``), each store
answers it in its own SQL in a subclass of the library's process recorder, and a factory
subclass constructs that recorder. The composition root (``scorecard/bootstrap.py``)
names the factory in ``PERSISTENCE_MODULE``; the in-memory store keeps the library's
recorder and the domain then looks each aggregate up one by one.
"""

from __future__ import annotations

from collections.abc import Sequence
from uuid import UUID

from eventsourcing.postgres import PostgresFactory, PostgresProcessRecorder
from eventsourcing.sqlite import SQLiteFactory, SQLiteProcessRecorder
from psycopg.sql import SQL, Identifier

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


class ScorecardPostgresRecorder(ExistingIdsRecorder, PostgresProcessRecorder):
    """PostgreSQL's process recorder; one ``= ANY`` query answers any number of ids."""

    def existing_originator_ids(self, ids: Sequence[UUID]) -> set[UUID]:
        statement = SQL(
            "SELECT DISTINCT originator_id FROM {schema}.{table} WHERE originator_id = ANY(%s)"
        ).format(schema=Identifier(self.datastore.schema),
                 table=Identifier(self.events_table_name))
        text_ids = self.datastore.originator_id_type != "uuid"
        found: set[UUID] = set()
        with self.datastore.transaction(commit=False) as cursor:
            cursor.execute(statement, ([str(i) for i in ids] if text_ids else list(ids),))
            for row in cursor.fetchall():
                value = row["originator_id"]
                found.add(value if isinstance(value, UUID) else UUID(str(value)))
        return found


class ScorecardSQLiteFactory(SQLiteFactory):
    process_recorder_class = ScorecardSQLiteRecorder


class ScorecardPostgresFactory(PostgresFactory):
    process_recorder_class = ScorecardPostgresRecorder


SQLITE_FACTORY_TOPIC = f"{__name__}:{ScorecardSQLiteFactory.__name__}"
POSTGRES_FACTORY_TOPIC = f"{__name__}:{ScorecardPostgresFactory.__name__}"
