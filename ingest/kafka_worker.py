"""One ingest worker: a consumer of ``agency-events`` that applies each batch exactly once.

The position consumed is stored in the event store in the same transaction as the events
it produced (an ``eventsourcing`` tracking record per partition, named by
``tracking_name``). On assignment the worker seeks to the stored position + 1 and skips
anything at or before it, so a crash at any point neither loses nor repeats an event.
Kafka's own committed offsets are written after each batch for monitoring only.

Rejected messages are kept in the event store (as on every path) and also produced to
``agency-events.rejected`` before their batch is recorded: at least once, since a crash
between the two sends them again when the batch is decided again.

No message stops a worker: each one, whatever its bytes, key or headers, becomes a
delivery that is decided, and a batch whose deciding raises goes through the crash-loop
guard (``ingest/crash_guard.py``) instead of killing the worker on it for ever.
"""

from __future__ import annotations

import logging
import os
import signal
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from functools import partial

from confluent_kafka import (
    OFFSET_BEGINNING,
    Consumer,
    KafkaError,
    KafkaException,
    Message,
    Producer,
    TopicPartition,
)
from eventsourcing.persistence import IntegrityError, Tracking

from domain.application import Delivery, Outcome, Scorecard
from domain.timekeeping import utc_now
from ingest.crash_guard import submit_guarded
from ingest.kafka_config import client_config
from ingest.kafka_messages import (
    REJECTED_TOPIC,
    SIGNATURE_HEADER,
    TOPIC,
    header,
    kafka_delivery,
    readable_headers,
)

GROUP = "scorecard-ingest"
BATCH_SIZE = 2000

log = logging.getLogger("scorecard.ingest")


def tracking_name(partition: int) -> str:
    """The event store's name for this worker's position in one partition."""
    return f"kafka:{TOPIC}:{partition}"


@dataclass(frozen=True)
class WorkerSettings:
    bootstrap: str
    group: str = GROUP
    batch_size: int = BATCH_SIZE
    poll_seconds: float = 0.5
    session_timeout_ms: int = 10_000
    # Fault injection for tests: SIGKILL this process straight after its Nth committed batch
    # (SCORECARD_FAULT_AFTER_COMMIT).
    fault_after_commit: int | None = None
    security: tuple[tuple[str, str], ...] = field(default=(), repr=False)  # librdkafka options


class IngestWorker:
    """Consumes, decides and records; ``run`` returns when ``should_stop`` says so."""

    def __init__(self, app: Scorecard, settings: WorkerSettings) -> None:
        self.app = app
        self.settings = settings
        self.positions: dict[int, int] = {}
        self.committed_batches = 0
        self._consumer: Consumer | None = None
        self._producer: Producer | None = None

    def run(self, should_stop: Callable[[], bool]) -> None:
        common = {**client_config(self.settings.bootstrap, self.settings.security),
                  "error_cb": _broker_error}
        self._consumer = consumer = Consumer({
            **common,
            "group.id": self.settings.group,
            "enable.auto.commit": False,
            "auto.offset.reset": "earliest",
            "session.timeout.ms": self.settings.session_timeout_ms,
            "heartbeat.interval.ms": max(self.settings.session_timeout_ms // 5, 100),
        })
        self._producer = Producer({**common, "linger.ms": 5})
        consumer.subscribe([TOPIC], on_assign=self._on_assign, on_revoke=self._on_revoke,
                           on_lost=self._on_revoke)
        log.info("worker %d consuming %s in group %s", os.getpid(), TOPIC, self.settings.group)
        try:
            while not should_stop():
                self.apply(consumer.consume(self.settings.batch_size, self.settings.poll_seconds))
        finally:
            consumer.close()  # leave the group now, so its partitions are handed over at once
            self._producer.flush(10)
            log.info("worker %d stopped", os.getpid())

    def _on_assign(self, consumer: Consumer, partitions: list[TopicPartition]) -> None:
        """Start each partition after the position stored with the events, not Kafka's."""
        for assigned in partitions:
            stored = self.app.tracked_position(tracking_name(assigned.partition))
            self.positions[assigned.partition] = -1 if stored is None else stored
            assigned.offset = OFFSET_BEGINNING if stored is None else stored + 1
        consumer.assign(partitions)
        log.info("worker %d assigned %s", os.getpid(),
                 ", ".join(f"{p.partition}@{p.offset}" for p in partitions) or "nothing")

    def _on_revoke(self, consumer: Consumer, partitions: list[TopicPartition]) -> None:
        for revoked in partitions:
            self.positions.pop(revoked.partition, None)
        log.info("worker %d revoked %s", os.getpid(),
                 ", ".join(str(p.partition) for p in partitions) or "nothing")

    def apply(self, messages: Sequence[Message]) -> None:
        """Record each partition's new messages as one batch; skip what is already stored."""
        by_partition: dict[int, list[Message]] = {}
        for message in messages:
            error = message.error()
            if error is not None:
                log.warning("consumer: %s", error)
                continue
            partition, offset = _partition(message), _offset(message)
            if partition in self.positions and offset > self.positions[partition]:
                by_partition.setdefault(partition, []).append(message)
        for partition, batch in by_partition.items():
            self._apply_partition(partition, batch)

    def _apply_partition(self, partition: int, batch: list[Message]) -> None:
        received_at = utc_now()
        deliveries = [_delivery(partition, m, received_at) for m in batch]
        trackings = [Tracking(tracking_name(partition), _offset(m)) for m in batch]
        last = _offset(batch[-1])
        try:
            # Never dies on a message: see ingest/crash_guard.py.
            submit_guarded(self.app, deliveries, trackings=trackings,
                           before_record=lambda indexes, outcomes: self._publish_rejected(
                               [batch[i] for i in indexes], outcomes))
        except IntegrityError:
            stored = self.app.tracked_position(tracking_name(partition))
            if stored is None or stored < last:
                raise
            # A worker that held this partition before a rebalance recorded it already.
            log.info("partition %d up to %d was recorded by another worker", partition, stored)
            last = stored
        self.positions[partition] = last
        self.committed_batches += 1
        self._fault_point()
        assert self._consumer is not None
        self._consumer.commit(offsets=[TopicPartition(TOPIC, partition, last + 1)],
                              asynchronous=True)  # for monitoring only

    def _fault_point(self) -> None:
        """Fault injection: die between the event-store commit and anything after it."""
        if self.settings.fault_after_commit == self.committed_batches:
            log.warning("worker %d: fault injected after commit %d", os.getpid(),
                        self.committed_batches)
            os.kill(os.getpid(), signal.SIGKILL)

    def _publish_rejected(self, batch: list[Message], outcomes: list[Outcome]) -> None:
        """Produce the batch's rejections and wait for the broker before it is recorded."""
        producer = self._producer
        assert producer is not None
        failures: list[KafkaError] = []

        def delivered(error: KafkaError | None, _message: Message) -> None:
            if error is not None:
                failures.append(error)

        rejected = [(m, o) for m, o in zip(batch, outcomes, strict=True) if o.rejection]
        for message, outcome in rejected:
            assert outcome.rejection is not None
            headers: list[tuple[str, str | bytes | None]] = [
                ("source-partition", str(_partition(message))),
                ("source-offset", str(_offset(message))),
                ("reason", outcome.rejection.reason),
            ]
            signature = header(readable_headers(message.headers)[0], SIGNATURE_HEADER)
            if signature is not None:
                headers.append((SIGNATURE_HEADER, signature))
            producer.produce(REJECTED_TOPIC, value=message.value(), key=message.key(),
                             headers=headers, on_delivery=delivered)
        if rejected and (producer.flush(30) or failures):
            raise KafkaException(f"rejections not delivered to {REJECTED_TOPIC}: {failures}")


def _delivery(partition: int, message: Message, received_at: datetime) -> Delivery:
    """The message as a delivery, whatever it holds: reading it must not stop the worker."""
    headers, unreadable = readable_headers(message.headers)
    arrived = partial(kafka_delivery, partition=partition, offset=_offset(message),
                      key=message.key(), value=message.value(), received_at=received_at)
    try:
        return arrived(headers=headers, unreadable=unreadable)
    except Exception as error:  # a fault of ours in decoding: keep the message, not die
        log.exception("reading agency-events/%d@%d failed", partition, _offset(message))
        return arrived(headers=None, unreadable=f"{type(error).__name__}: {error}")


def _partition(message: Message) -> int:
    partition = message.partition()
    assert partition is not None
    return partition


def _offset(message: Message) -> int:
    offset = message.offset()
    assert offset is not None
    return offset


def _broker_error(error: KafkaError) -> None:
    """librdkafka reconnects by itself: a broker that is down is reported, not fatal."""
    log.warning("kafka: %s", error)
