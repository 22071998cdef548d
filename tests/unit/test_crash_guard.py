"""The crash-loop guard (``ingest/crash_guard.py``): a message whose deciding raises is
tried again, then alone, then kept as ``internal_error``; nothing behind it waits.

The failure is injected with a test double of the one application method the guard
protects (``Scorecard._decide``); everything else is the real application in memory.
The Kafka-level fuzz test (tests/integration/test_fuzz_kafka.py) runs the guard inside
the real worker against the real broker.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import pytest
from eventsourcing.persistence import OperationalError, Tracking

from domain.application import Delivery, Outcome, Scorecard
from domain.errors import CommandError
from domain.intake import UnitOfWork
from domain.model import Rejection
from domain.plan import load_plan_document
from ingest.crash_guard import submit_guarded
from ingest.file_push import file_line_delivery
from tests.support import RECEIVED, event, line, reasons, register

TRACKING = "kafka:agency-events:0"


class FaultyScorecard(Scorecard):
    """Deciding raises for the listed sources, as a fault of ours would: ``failures``
    counts down how many more times each fails (``-1``: always)."""

    def __init__(self, failures: dict[str, int], error: type[Exception] = KeyError) -> None:
        super().__init__(env={"PERSISTENCE_MODULE": "eventsourcing.popo"})
        self.adopt_plan(load_plan_document())
        self.failures = failures
        self.error = error
        self.decided: list[str] = []

    def _decide(self, delivery: Delivery, uow: UnitOfWork) -> Outcome:
        self.decided.append(delivery.source)
        left = self.failures.get(delivery.source, 0)
        if left:
            self.failures[delivery.source] = left - 1
            raise self.error(f"injected fault \ud800 deciding {delivery.source}")
        return super()._decide(delivery, uow)


def _batch(app: Scorecard, count: int) -> tuple[list[Delivery], list[Tracking]]:
    key = register(app)
    deliveries = [
        file_line_delivery(line(event("helpline.contact", f"h-{n}")), producer="racs", key=key,
                           producer_verified=True, received_at=RECEIVED, backfill=False,
                           source=f"offset-{n}")
        for n in range(count)
    ]
    return deliveries, [Tracking(TRACKING, n) for n in range(count)]


def test_a_message_that_always_fails_is_kept_and_the_rest_are_accepted() -> None:
    app = FaultyScorecard({"offset-2": -1})
    deliveries, trackings = _batch(app, 5)
    published: list[tuple[Sequence[int], list[str]]] = []

    outcomes = submit_guarded(app, deliveries, trackings=trackings,
                              before_record=lambda i, o: published.append((i, reasons(o))))

    assert reasons(outcomes) == ["accepted", "accepted", "internal_error", "accepted",
                                 "accepted"]
    assert app.tracked_position(TRACKING) == 4  # the position moved past it
    failure = outcomes[2].rejection
    assert failure is not None and failure.message.startswith("KeyError: ")
    assert "\\ud800" in failure.message  # kept storable, whatever the error said
    assert app.decided.count("offset-2") == 4  # the batch twice, then alone twice
    kept = _only_rejection(app)
    assert kept.reason == "internal_error" and kept.quarantined
    with pytest.raises(CommandError):
        app.own_rejection(kept.id, "racs")
    assert ([2], ["internal_error"]) in published  # produced to the rejected topic too


def test_a_failure_that_passes_costs_one_retry_of_the_batch() -> None:
    app = FaultyScorecard({"offset-1": 1})
    deliveries, trackings = _batch(app, 3)
    assert reasons(submit_guarded(app, deliveries, trackings=trackings)) == ["accepted"] * 3
    assert app.decided.count("offset-1") == 2
    assert app.tracked_position(TRACKING) == 2


def test_a_message_that_fails_once_alone_is_decided_on_its_second_try() -> None:
    app = FaultyScorecard({"offset-0": 3})
    deliveries, trackings = _batch(app, 2)
    assert reasons(submit_guarded(app, deliveries, trackings=trackings)) == ["accepted"] * 2


def test_a_single_message_is_tried_alone_twice_then_kept() -> None:
    app = FaultyScorecard({"offset-0": -1})
    deliveries, trackings = _batch(app, 1)
    assert reasons(submit_guarded(app, deliveries, trackings=trackings)) == ["internal_error"]
    assert app.decided.count("offset-0") == 2
    assert app.tracked_position(TRACKING) == 0


def test_an_infrastructure_failure_is_raised_and_blames_no_message() -> None:
    app = FaultyScorecard({"offset-1": -1}, error=OperationalError)
    deliveries, trackings = _batch(app, 3)
    with pytest.raises(OperationalError):
        submit_guarded(app, deliveries, trackings=trackings)
    assert app.tracked_position(TRACKING) is None
    assert app.decided.count("offset-1") == 1


def test_without_tracking_a_push_is_guarded_the_same_way() -> None:
    app = FaultyScorecard({"offset-0": -1})
    deliveries, _ = _batch(app, 2)
    assert reasons(submit_guarded(app, deliveries)) == ["internal_error", "accepted"]


def _only_rejection(app: Scorecard) -> Any:
    notifications = app.recorder.select_notifications(
        start=None, limit=10, topics=["domain.model:Rejection.Recorded"])
    assert len(notifications) == 1
    found: Any = app.repository.get(notifications[0].originator_id)
    assert isinstance(found, Rejection)
    return found
