"""``scorecard push``: an agency's JSON Lines file, checked and submitted in batches.

Each line becomes a ``Delivery``. A line that carries ``signature`` is checked as it
is; a line without one is signed with the pusher's key. Lines are decided and recorded
a batch at a time, one transaction per batch; no line, whatever its bytes, stops the
push (``ingest/crash_guard.py``). Where Kafka is configured, ``produce_file``
sends the lines to ``agency-events`` instead, for the ingest workers to decide.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from functools import partial
from itertools import islice
from pathlib import Path
from typing import Any, BinaryIO

from domain import contract, signing
from domain.application import Delivery, Outcome, Scorecard
from domain.errors import InvalidEvent
from ingest.crash_guard import submit_guarded
from ingest.producer import AgencyProducer, line_value_and_signature

BATCH_SIZE = 2000

# told how many deliveries are submitted so far (the page's progress bar)
Progress = Callable[[int], object]


@dataclass
class PushSummary:
    accepted: int = 0
    duplicate: int = 0
    rejected: int = 0
    rejections: list[Outcome] = field(default_factory=list)

    def add(self, outcomes: list[Outcome]) -> None:
        for outcome in outcomes:
            if outcome.status == "accepted":
                self.accepted += 1
            elif outcome.status == "duplicate":
                self.duplicate += 1
            else:
                self.rejected += 1
                self.rejections.append(outcome)

    def line(self) -> str:
        return f"accepted {self.accepted}, duplicate {self.duplicate}, rejected {self.rejected}"


def file_line_delivery(
    raw: bytes,
    *,
    producer: str,
    key: str,
    producer_verified: bool,
    received_at: datetime,
    backfill: bool,
    source: str,
    arrived_at: datetime | None = None,
    operator: str = "",
    decoded: dict[str, Any] | None = None,
) -> Delivery:
    """Turn one file line into a delivery: decode it and find the bytes its signature
    covers. ``decoded`` is the line as ``contract.decode_message`` already gave it, where
    the caller has it: the page's upload reader has decoded each line already, to name a
    row's problem, and decoding it twice was a tenth of the page's submission."""
    delivery = partial(Delivery, received_at=received_at, backfill=backfill, source=source,
                       producer_verified=producer_verified, arrived_at=arrived_at,
                       operator=operator)
    message = decoded
    if message is None:
        # A line whose own signature cannot be read is signed, as it is, with the
        # pusher's key, like a line without one: its rejection is then the agency's own
        # exactly when the pusher's key is the agency's (else it goes to quarantine).
        try:
            message = contract.decode_message(raw)
        except InvalidEvent as error:
            return delivery(producer, raw, None, error, raw, signing.sign(key, raw))
    envelope = {k: v for k, v in message.items() if k != "signature"}
    signed_bytes = contract.canonical_bytes(envelope)
    signature = message.get("signature")
    if "signature" not in message:
        signature = signing.sign(key, signed_bytes)
    elif not isinstance(signature, str):
        not_text = InvalidEvent("must be a string v1=<hex HMAC-SHA256>", field="signature")
        return delivery(producer, raw, message, not_text, raw, signing.sign(key, raw))
    return delivery(producer, raw, message, None, signed_bytes, signature, canonical=True)


def _lines(stream: BinaryIO) -> Iterator[tuple[int, bytes]]:
    for number, line in enumerate(stream, start=1):
        stripped = line.rstrip(b"\r\n")
        if stripped.strip():
            yield number, stripped


def submit_in_batches(app: Scorecard, deliveries: Iterable[Delivery], *,
                      batch_size: int = BATCH_SIZE,
                      progress: Progress | None = None) -> PushSummary:
    """Submit ``deliveries`` a batch at a time, one transaction per batch behind the
    crash-loop guard: how every push is submitted (a pushed file, the page's upload, its
    resubmissions). Only the batch being submitted is held, so a lazy ``deliveries`` reads
    a large file as it goes; ``progress`` is told how many are done after each batch."""
    summary = PushSummary()
    done = 0
    remaining = iter(deliveries)
    while batch := list(islice(remaining, batch_size)):
        summary.add(submit_guarded(app, batch))
        done += len(batch)
        if progress is not None:
            progress(done)
    return summary


def push_file(
    app: Scorecard,
    path: Path,
    *,
    agency: str,
    key: str,
    now: datetime,
    known_at: datetime | None = None,
    batch_size: int = BATCH_SIZE,
    operator: str = "",
) -> PushSummary:
    """Submit every non-blank line of ``path`` as ``agency``; blank lines are skipped."""
    registered = app.agency(agency)
    verified = registered is not None and registered.holds_key(key, now)
    received_at = known_at or now
    name = Path(path).name
    with Path(path).open("rb") as stream:
        return submit_in_batches(app, (
            file_line_delivery(
                raw,
                producer=agency,
                key=key,
                producer_verified=verified,
                received_at=received_at,
                backfill=known_at is not None,
                source=f"{name}:{number}",
                arrived_at=now,
                operator=operator,
            )
            for number, raw in _lines(stream)), batch_size=batch_size)


def push_message(app: Scorecard, message: dict[str, Any], *, agency: str, key: str,
                 now: datetime, source: str, operator: str = "",
                 known_at: datetime | None = None) -> Outcome:
    """Submit one message built by the scorecard itself (an exception note written on
    the page or the command line) exactly as a pushed file line is submitted; a
    ``known_at`` backfills it, as ``push --known-at`` does."""
    registered = app.agency(agency)
    delivery = file_line_delivery(
        json.dumps(message, ensure_ascii=False).encode("utf-8"), producer=agency, key=key,
        producer_verified=registered is not None and registered.holds_key(key, now),
        received_at=known_at or now, backfill=known_at is not None, source=source,
        arrived_at=now, operator=operator)
    return submit_guarded(app, [delivery])[0]


def produce_file(bootstrap: str, path: Path, *, agency: str, key: str,
                 security: Iterable[tuple[str, str]] = ()) -> int:
    """Produce every non-blank line of ``path`` to Kafka as ``agency``; return how many."""
    producer = AgencyProducer(bootstrap, agency, key, config=dict(security))
    produced = 0
    with Path(path).open("rb") as stream:
        for _number, raw in _lines(stream):
            producer.send_value(*line_value_and_signature(raw, key))
            produced += 1
    producer.flush()
    return produced
