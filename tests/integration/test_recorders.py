"""The stores' recorders (``scorecard/recorders.py``): the composition root chooses them,
and each answers the domain's bulk existence query in its own SQL.

A store whose recorder could not answer would still decide batches correctly, one
look-up per aggregate, only far slower; so this checks the answer itself, on each store.
"""

from __future__ import annotations

from uuid import uuid4

from domain.application import Scorecard
from domain.model import Agency, Submission
from domain.persistence import ExistingIdsRecorder
from tests.support import event, memory_app, register, submit


def test_each_store_says_in_bulk_which_aggregates_exist(
        event_store_env: dict[str, str]) -> None:
    app = memory_app(event_store_env)
    key = register(app)
    submit(app, key, event("helpline.contact", "h-1"), event("helpline.contact", "h-2"))
    stored = [Agency.create_id("racs"), Submission.create_id("racs", "h-1"),
              Submission.create_id("racs", "h-2")]
    absent = [Submission.create_id("racs", "h-3"), uuid4()]
    # more ids than one SQLite query takes, so the chunking is crossed
    asked = stored + absent + [uuid4() for _ in range(1200)]

    found = app.existing_ids(asked)

    if event_store_env["PERSISTENCE_MODULE"] == "eventsourcing.popo":
        assert found is None  # the in-memory store: each id is looked up on first use
        assert not isinstance(app.recorder, ExistingIdsRecorder)
    else:
        assert isinstance(app.recorder, ExistingIdsRecorder)
        assert found == set(stored)


def test_a_batch_decided_after_a_prefetch_sees_what_the_store_holds(
        event_store_env: dict[str, str]) -> None:
    """The prefetch marks absent ids as known-absent: an id it wrongly marked would let a
    duplicate through as new. A second app over the same store (nothing cached) shows it."""
    app = memory_app(event_store_env)
    key = register(app)
    submit(app, key, event("helpline.contact", "h-1"))
    again = app if event_store_env["PERSISTENCE_MODULE"] == "eventsourcing.popo" \
        else Scorecard(env=event_store_env)

    outcomes = submit(again, key, event("helpline.contact", "h-1"),
                      event("helpline.contact", "h-2"))

    assert [o.status for o in outcomes] == ["duplicate", "accepted"]
