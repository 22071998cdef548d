"""What the domain asks of an event store beyond the ``eventsourcing`` interfaces.

Like the ``SearchableContentRecorder`` of ``eventsourcing``'s searchable-content example:
the domain names the query it needs as an abstract recorder, and each store's recorder
(``scorecard/recorders.py``) answers it in its own SQL. The composition root chooses the
recorder; the domain never looks at which store it runs on.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Sequence
from uuid import UUID


class ExistingIdsRecorder(ABC):
    """A recorder that can say, in bulk, which aggregates have events.

    Deciding a batch looks up every aggregate the batch names (each event's
    ``Submission``, each case); most do not exist yet, and asking the store one id at a
    time was the largest single cost of ingest.
    """

    @abstractmethod
    def existing_originator_ids(self, ids: Sequence[UUID]) -> set[UUID]:
        """Which of ``ids`` have at least one stored event."""
