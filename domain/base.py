"""What every part of the scorecard application shares: its store, its plan, finding an
aggregate by id.

The application is composed of parts (``domain/intake.py``, ``domain/administration.py``,
``domain/governance.py``) that all record into one event store, so that a batch of
deliveries, a new key and a board's acceptance share one log and one order.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, TypeVar
from uuid import UUID

from eventsourcing.application import AggregateNotFoundError, Application
from eventsourcing.domain import Aggregate
from eventsourcing.persistence import ProcessRecorder

from domain import contract
from domain.errors import CommandError
from domain.model import AdoptedPlan, Agency
from domain.persistence import ExistingIdsRecorder
from domain.plan import Plan

PLAN_ADOPTED_TOPIC = f"{AdoptedPlan.__module__}:AdoptedPlan.Adopted"

A = TypeVar("A", bound=Aggregate)


class ScorecardBase(Application[Any]):
    """The event store, the adopted plan and aggregate look-ups the parts share."""

    def __init__(self, env: dict[str, str] | None = None) -> None:
        super().__init__(env)
        self._plan: Plan | None = None

    def construct_recorder(self) -> ProcessRecorder:
        # A process recorder can store a consumer's position with the events it caused.
        return self.factory.process_recorder()

    @property
    def plan(self) -> Plan:
        if self._plan is None:
            adopted = [
                n for n in self.recorder.select_notifications(
                    start=None, limit=1, topics=[PLAN_ADOPTED_TOPIC]
                )
            ]
            if not adopted:
                raise CommandError("this home has no plan: run 'scorecard init' first")
            aggregate: Any = self.repository.get(adopted[0].originator_id)
            assert isinstance(aggregate, AdoptedPlan)
            self._plan = aggregate.plan
        return self._plan

    def has_plan(self) -> bool:
        try:
            return self.plan is not None
        except CommandError:
            return False

    def agency(self, code: str) -> Agency | None:
        return self._find(Agency, Agency.create_id(code))

    def _registered(self, code: str) -> Agency:
        agency = self.agency(code)
        if agency is None:
            raise CommandError(f"agency {code} is not registered")
        return agency

    def _find(self, cls: type[A], aggregate_id: Any) -> A | None:
        try:
            found: Any = self.repository.get(aggregate_id)
        except AggregateNotFoundError:
            return None
        return found if isinstance(found, cls) else None

    def existing_ids(self, ids: Sequence[UUID]) -> set[UUID] | None:
        """Which of ``ids`` have events in the store, asked in bulk; ``None`` when the
        store's recorder cannot be asked in bulk (the in-memory one): look each id up."""
        recorder = self.recorder
        if isinstance(recorder, ExistingIdsRecorder):
            return recorder.existing_originator_ids(ids)
        return None


def check_month(month: str) -> None:
    if not contract.MONTH.match(month):
        raise CommandError(f"{month!r} is not a month in the form YYYY-MM")
