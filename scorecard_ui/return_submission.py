"""An uploaded return, previewed and submitted: what the agency page's preview and its
"Submit this return" button call, kept apart from Streamlit so that the benchmark
(``bench/ingest_throughput.py``) measures the page's own path, not a copy of it.

Submitting reads the file again from its bytes, a batch at a time, and submits each
batch as ``scorecard push`` does (the same batch size, one transaction per batch, the
crash-loop guard): nothing of the whole file is held but its bytes and the outcomes'
counts, and a line already decoded by the reader is not decoded again.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any
from zoneinfo import ZoneInfo

from domain import contract
from domain.application import Delivery, Outcome, Scorecard
from domain.errors import InvalidEvent, Rejected
from domain.text import visible
from domain.timekeeping import utc_now
from ingest.file_push import (
    BATCH_SIZE,
    Progress,
    PushSummary,
    file_line_delivery,
    submit_in_batches,
)
from scorecard_ui.returns_upload import as_line, read_upload


@dataclass(frozen=True)
class PreviewRow:
    """One row of the file as the preview shows it."""

    number: int
    event_id: str
    type: str
    problem: str  # "ok", "ok (already accepted: counted once)", or the rejection


@dataclass
class Preview:
    """What submitting the file would give, decided by the domain and recorded nowhere."""

    rows: list[PreviewRow] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)  # what the reader decided (encoding...)
    messages: list[dict[str, Any]] = field(default_factory=list)  # for the outlier check

    @property
    def problems(self) -> int:
        return sum(not row.problem.startswith("ok") for row in self.rows)


def _shown(message: dict[str, Any] | None, name: str) -> str:
    """A field of an uploaded row for the preview table: text, whatever the row held."""
    value = (message or {}).get(name, "")
    return visible(value if isinstance(value, str) else json.dumps(value), 100)


def upload_rows(app: Scorecard, agency: str, operator: str, name: str, content: bytes,
                zone: ZoneInfo | None, notes: list[str] | None = None
                ) -> Iterator[tuple[int, dict[str, Any] | None, str | None, Delivery | None]]:
    """(row number, envelope, the reader's problem, delivery) for each row of the file, in
    order, signed with the agency's current key on behalf of its signed-in user. A row
    the reader could not make an envelope of (a formula with no saved value, unknown
    columns) has no delivery: it is named in the preview and not sent. Raises
    ``UploadRefused`` before the first row, as ``read_upload`` does."""
    found = app.agency(agency)
    key = found.current_key() if found else None
    now = utc_now()
    signer: dict[str, Any] = {
        "producer": agency, "key": key or "", "producer_verified": key is not None,
        "received_at": now, "backfill": False, "arrived_at": now, "operator": operator}
    for number, raw, message, problem in read_upload(name, content, agency, zone=zone,
                                                      notes=notes):
        source = f"{name}:{number}"
        if raw is not None and message is not None:  # a JSON Lines line, decoded once
            delivery: Delivery | None = file_line_delivery(raw, decoded=message,
                                                           source=source, **signer)
        elif raw is not None or message is not None:  # undecodable line; a CSV/Excel row
            delivery = file_line_delivery(raw if raw is not None else as_line(message or {}),
                                          source=source, **signer)
        else:
            delivery = None
        yield number, message, str(problem) if problem is not None else None, delivery


def _every_problem(rejection: Rejected, message: dict[str, Any] | None,
                   app: Scorecard) -> str:
    """The rejection, or, when the row breaks the contract in several fields, each of
    them (the rejection names the first)."""
    if not isinstance(rejection, InvalidEvent) or message is None:
        return str(rejection)
    problems = contract.field_problems(message, app.plan.zone)
    if len(problems) < 2 or rejection.field not in {p.field for p in problems}:
        return str(rejection)  # the rejection itself must stay in what the row is told
    return "; ".join(str(p) for p in problems)


def preview_upload(app: Scorecard, agency: str, operator: str, name: str, content: bytes,
                   zone: ZoneInfo | None) -> Preview:
    """Every row's verdict: the reader's problem, else the domain's dry run of the whole
    file (permissions, duplicates and conflicts within it, case rules, references)."""
    preview = Preview()
    deliveries: list[Delivery] = []
    positions: list[int] = []
    messages: dict[int, dict[str, Any] | None] = {}
    for number, message, problem, delivery in upload_rows(app, agency, operator, name,
                                                          content, zone, preview.notes):
        preview.rows.append(PreviewRow(number, _shown(message, "event_id"),
                                       _shown(message, "type"), problem or "ok"))
        if message is not None:
            preview.messages.append(message)
        if delivery is not None:
            deliveries.append(delivery)
            positions.append(len(preview.rows) - 1)
            messages[len(preview.rows) - 1] = message
    for position, outcome in zip(positions, app.dry_run(deliveries), strict=True):
        row = preview.rows[position]
        if outcome.rejection is not None:
            preview.rows[position] = PreviewRow(row.number, row.event_id, row.type,
                                                _every_problem(outcome.rejection,
                                                               messages[position], app))
        elif outcome.status == "duplicate":
            preview.rows[position] = PreviewRow(row.number, row.event_id, row.type,
                                                "ok (already accepted: counted once)")
    return preview


def submit_upload(app: Scorecard, agency: str, operator: str, name: str, content: bytes,
                  zone: ZoneInfo | None, *, progress: Progress | None = None,
                  batch_size: int = BATCH_SIZE) -> PushSummary:
    """Submit every row of the file that has a delivery, a batch at a time (as ``scorecard
    push`` does); the counts of what became of them, and the rejections."""
    rows = upload_rows(app, agency, operator, name, content, zone)
    return submit_in_batches(app, (delivery for *_, delivery in rows if delivery is not None),
                             batch_size=batch_size, progress=progress)


def outcome_summary(outcomes: PushSummary | list[Outcome]) -> str:
    """"3 accepted, 1 duplicate, 5 rejected"."""
    if isinstance(outcomes, list):
        counted = PushSummary()
        counted.add(outcomes)
        outcomes = counted
    return (f"{outcomes.accepted} accepted, {outcomes.duplicate} duplicate, "
            f"{outcomes.rejected} rejected")
