"""The crash-loop guard: no message may stop ingestion, not even one that makes deciding fail.

Deciding a batch is meant to end in outcomes, every bad message a kept rejection. If it
raises instead (a fault of ours, or input nobody foresaw), a worker that simply died
would be restarted onto the same message and die again, and every event behind it, from
every agency, would wait for ever. So a batch that fails unexpectedly is tried once
more (the failure may have passed); then its deliveries are decided one at a time, each
recorded with its own tracking position; a delivery that fails twice on its own is kept
as an ``internal_error`` rejection in quarantine, with the error, and the position
moves past it.

Failures of the infrastructure (the event store or the broker out of reach, another
writer's conflicting commit) are no message's fault: they are raised at once, so the
worker stops and its restart resumes from the stored position, losing nothing and
blaming no message.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence

from confluent_kafka import KafkaException
from eventsourcing.persistence import (
    IntegrityError,
    InterfaceError,
    OperationalError,
    Tracking,
)

from domain.application import Delivery, Outcome, Scorecard

INFRASTRUCTURE_ERRORS: tuple[type[Exception], ...] = (
    OperationalError, InterfaceError, IntegrityError, KafkaException,
)
ATTEMPTS_ALONE = 2  # a delivery that fails this many times on its own is kept as failed

# Sees which deliveries (their indexes in the batch) a record covers and their outcomes,
# before the record is written (``Scorecard.submit``'s ``before_record``).
BeforeRecord = Callable[[Sequence[int], list[Outcome]], None]

log = logging.getLogger("scorecard.ingest")


def submit_guarded(
    app: Scorecard,
    deliveries: Sequence[Delivery],
    *,
    trackings: Sequence[Tracking] | None = None,
    before_record: BeforeRecord | None = None,
) -> list[Outcome]:
    """``app.submit`` of the whole batch, falling back as the module says; returns one
    outcome per delivery, in order. ``trackings``: each delivery's position, in order
    (the batch is recorded with the last)."""
    if trackings is not None and len(trackings) != len(deliveries):
        raise ValueError("one tracking position per delivery")
    everything = list(range(len(deliveries)))
    if len(deliveries) > 1:
        for attempt in (1, 2):
            try:
                return _submit(app, deliveries, everything, trackings, before_record)
            except INFRASTRUCTURE_ERRORS:
                raise
            except Exception as error:
                log.error("deciding a batch of %d (%s to %s) failed unexpectedly (attempt %d):"
                          " %s", len(deliveries), deliveries[0].source, deliveries[-1].source,
                          attempt, _described(error), exc_info=True)
        log.error("deciding the batch one message at a time")
    return [_one(app, deliveries, index, trackings, before_record) for index in everything]


def _one(app: Scorecard, deliveries: Sequence[Delivery], index: int,
         trackings: Sequence[Tracking] | None, before_record: BeforeRecord | None) -> Outcome:
    failure: Exception | None = None
    for attempt in range(1, ATTEMPTS_ALONE + 1):
        try:
            return _submit(app, deliveries, [index], trackings, before_record)[0]
        except INFRASTRUCTURE_ERRORS:
            raise
        except Exception as error:
            failure = error
            log.error("deciding %s failed unexpectedly (attempt %d): %s",
                      deliveries[index].source, attempt, _described(error), exc_info=True)
    assert failure is not None
    log.error("%s failed %d times: kept as an internal_error rejection in quarantine",
              deliveries[index].source, ATTEMPTS_ALONE)
    return app.keep_failure(
        deliveries[index], failure,
        tracking=trackings[index] if trackings is not None else None,
        before_record=(lambda outcomes: before_record([index], outcomes))
        if before_record is not None else None,
    )


def _submit(app: Scorecard, deliveries: Sequence[Delivery], indexes: list[int],
            trackings: Sequence[Tracking] | None,
            before_record: BeforeRecord | None) -> list[Outcome]:
    return app.submit(
        [deliveries[i] for i in indexes],
        tracking=trackings[indexes[-1]] if trackings is not None else None,
        before_record=(lambda outcomes: before_record(indexes, outcomes))
        if before_record is not None else None,
    )


def _described(error: BaseException) -> str:
    text = f"{type(error).__name__}: {error}"
    return text.encode("utf-8", "backslashreplace").decode("utf-8")[:500]
