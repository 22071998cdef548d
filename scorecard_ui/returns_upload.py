"""An agency's return uploaded on the page: JSON Lines, or CSV / Excel with one column
per field, turned into contract envelopes and checked before anything is submitted.

CSV and Excel cells are text, so columns the contract types are converted where the
text is unambiguous ("12" for an integer field, "true"/"false" for a boolean, "Y8;Y9" for
year groups); anything else is left as text so validation names the field and rule.
"""

from __future__ import annotations

import io
import json
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any
from zoneinfo import ZoneInfo

import pandas as pd

from domain import contract
from domain.contract import PAYLOADS
from domain.errors import InvalidEvent, Rejected

ENVELOPE_COLUMNS = ["event_id", "type", "occurred_at", "supersedes"]
INTEGER_FIELDS = {"attendees", "pupils", "response_minutes", "evaluation.returned",
                  "evaluation.improved_risk_understanding",
                  "evaluation.improved_action_understanding"}
BOOLEAN_FIELDS = {"cse_related", "in_area", "historic"}


def template_columns() -> list[str]:
    fields: list[str] = []
    for payload in PAYLOADS.values():
        for name in payload:
            names = ([f"evaluation.{e}" for e in contract.EVALUATION_FIELDS]
                     if name == "evaluation" else [name])
            fields += [n for n in names if n not in fields]
    return ENVELOPE_COLUMNS + fields


def template_csv() -> bytes:
    example = {"event_id": "racs-2015-10-0001", "type": "referral.received",
               "occurred_at": "2015-10-05", "case": "RACS-0001", "source": "police",
               "client": "child", "age_band": "11-15", "gender": "female", "historic": "false"}
    frame = pd.DataFrame([example], columns=template_columns())
    text: str = frame.to_csv(index=False)
    return text.encode("utf-8")


@dataclass(frozen=True)
class Row:
    """One uploaded row: its envelope (or why it could not be read) and its problem."""

    number: int
    message: dict[str, Any] | None
    problem: Rejected | None


def _typed(name: str, text: str) -> Any:
    if name in INTEGER_FIELDS and text.strip().lstrip("-").isdigit():
        return int(text)
    if name in BOOLEAN_FIELDS and text.strip().lower() in ("true", "false"):
        return text.strip().lower() == "true"
    if name == "year_groups":
        return [part.strip() for part in text.split(";") if part.strip()]
    return text


def _envelope(record: dict[str, Any], agency: str) -> dict[str, Any]:
    payload: dict[str, Any] = {}
    message: dict[str, Any] = {"agency": agency, "schema_version": 1}
    for name, value in record.items():
        if value is None or (isinstance(value, float) and pd.isna(value)) or value == "":
            continue
        text = str(value)
        if name in ENVELOPE_COLUMNS:
            message[name] = text
        elif name.startswith("evaluation."):
            payload.setdefault("evaluation", {})[name.split(".", 1)[1]] = _typed(name, text)
        else:
            payload[name] = _typed(name, text)
    message["payload"] = payload
    return message


def read_upload(name: str, content: bytes, agency: str) -> Iterator[tuple[int, bytes | None,
                                                                          dict[str, Any] | None,
                                                                          InvalidEvent | None]]:
    """(row number, raw line for JSONL, envelope, decoding problem) for each row."""
    if name.lower().endswith((".jsonl", ".json", ".ndjson")):
        for number, line in enumerate(content.splitlines(), start=1):
            if not line.strip():
                continue
            try:
                yield number, line, contract.decode_message(line), None
            except InvalidEvent as problem:
                yield number, line, None, problem
        return
    if name.lower().endswith((".xlsx", ".xls")):
        frame = pd.read_excel(io.BytesIO(content), dtype=str)
    else:
        frame = pd.read_csv(io.BytesIO(content), dtype=str, keep_default_na=False)
    unknown = [c for c in frame.columns if c not in template_columns()]
    for number, record in enumerate(frame.to_dict("records"), start=2):  # row 1: headers
        if unknown:
            yield number, None, None, InvalidEvent(
                f"unknown column(s) {', '.join(unknown)}: use the template", field=unknown[0])
            continue
        yield number, None, _envelope(record, agency), None


def check(message: dict[str, Any], zone: ZoneInfo) -> Rejected | None:
    """The contract's verdict on one envelope before submitting (no state is consulted:
    duplicates and case rules are decided on submission)."""
    try:
        contract.parse_event({k: v for k, v in message.items() if k != "signature"}, zone)
    except Rejected as problem:
        return problem
    return None


def as_line(message: dict[str, Any]) -> bytes:
    return json.dumps(message, ensure_ascii=False).encode("utf-8")
