"""PostgreSQL's process recorder, extended with the SQL the domain asks for
(``scorecard/recorders.py`` says why; that module names this one's factory by topic, so
psycopg is imported only where the event store is PostgreSQL)."""

from __future__ import annotations

from collections.abc import Sequence
from uuid import UUID

from eventsourcing.postgres import PostgresFactory, PostgresProcessRecorder
from psycopg.sql import SQL, Identifier

from domain.persistence import ExistingIdsRecorder


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


class ScorecardPostgresFactory(PostgresFactory):
    process_recorder_class = ScorecardPostgresRecorder
