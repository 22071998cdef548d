"""The projector chooses what to do by event class: every class the domain can record is
folded, audited or deliberately left out, and a renamed class fails at import."""

from __future__ import annotations

import pytest
from eventsourcing.domain import Aggregate, DomainEvent

from domain import model, users
from projections.projector import AUDITS, FOLDS, NOT_PROJECTED, event_class


def aggregates() -> list[type[Aggregate]]:
    found = [*vars(model).values(), users.User]
    return [cls for cls in found if isinstance(cls, type) and issubclass(cls, Aggregate)
            and cls.__module__ in ("domain.model", "domain.users")]


def recorded_event_classes() -> set[type[DomainEvent]]:
    """Each aggregate's own event classes, less the library's bases ``Event`` and
    ``Created`` that nothing records directly."""
    return {value for aggregate in aggregates() for name, value in vars(aggregate).items()
            if isinstance(value, type) and issubclass(value, DomainEvent)
            and name not in ("Event", "Created")}


def test_every_recorded_event_class_has_a_decision_in_the_projector() -> None:
    classes = recorded_event_classes()
    assert len(classes) > 30
    undecided = {cls.__qualname__ for cls in classes} - {
        cls.__qualname__ for cls in (*FOLDS, *AUDITS, *NOT_PROJECTED)}
    assert undecided == set(), "add these to FOLDS, AUDITS or NOT_PROJECTED"


def test_the_tables_hold_classes_not_names() -> None:
    assert all(isinstance(cls, type) for cls in (*FOLDS, *AUDITS, *NOT_PROJECTED))
    assert event_class(model.Submission, "Accepted") in FOLDS


def test_a_renamed_event_class_fails_loudly() -> None:
    with pytest.raises(TypeError, match="Submission has no event class Accept"):
        event_class(model.Submission, "Accept")
