"""An agency's return uploaded on the page: JSON Lines, or CSV / Excel with one column
per field, turned into contract envelopes and checked before anything is submitted.

CSV and Excel cells are text, so columns the contract types are converted where the
text is unambiguous ("12" for an integer field, "true"/"false" for a boolean, "Y8;Y9" for
year groups); anything else is left as text so validation names the field and rule.

An upload is bounded before it is parsed: Streamlit refuses files over
``server.maxUploadSize`` (10 MB, ``.streamlit/config.toml``); a file of more than
``MAX_ROWS`` rows is refused whole (a month's return of one agency is a few thousand);
Excel files are read row by row (openpyxl's read-only mode) after their unzipped size
is checked, since a 44 KB .xlsx can unzip to 300,000 rows; CSV and JSON Lines are read
line by line. ``UploadRefused`` says which rule was broken.
"""

from __future__ import annotations

import csv
import io
import json
import zipfile
from collections.abc import Iterable, Iterator
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
MAX_ROWS = 20_000
MAX_UNZIPPED_BYTES = 50 * 2**20  # an .xlsx's parts, unzipped


class UploadRefused(ValueError):
    """The whole file is refused, before any row is read: the message names the rule."""


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
    """(row number, raw line for JSONL, envelope, decoding problem) for each row; raises
    ``UploadRefused`` before the first row when the file breaks a limit."""
    if not content.strip():
        raise UploadRefused("the file is empty")
    lower = name.lower()
    if lower.endswith((".jsonl", ".json", ".ndjson")):
        _check_rows(content.count(b"\n") + 1)
        for number, line in enumerate(content.splitlines(), start=1):
            if not line.strip():
                continue
            try:
                yield number, line, contract.decode_message(line), None
            except InvalidEvent as problem:
                yield number, line, None, problem
        return
    records = _excel_rows(content) if lower.endswith((".xlsx", ".xls")) else _csv_rows(content)
    header = [str(c) if c is not None else "" for c in next(records, [])]
    unknown = [c for c in header if c not in template_columns()]
    for number, cells in enumerate(records, start=2):  # row 1: headers
        if not any(cell not in (None, "") for cell in cells):
            continue  # a blank row
        if unknown:
            yield number, None, None, InvalidEvent(
                f"unknown column(s) {', '.join(unknown)}: use the template", field=unknown[0])
            continue
        record = {column: ("" if cell is None else str(cell))
                  for column, cell in zip(header, cells, strict=False)}
        yield number, None, _envelope(record, agency), None


def _check_rows(rows: int) -> None:
    if rows > MAX_ROWS + 1:  # the header row, or a final newline
        raise UploadRefused(f"the file has more than {MAX_ROWS:,} rows: send a return of at "
                            "most that many (one month, say) per file")


def _csv_rows(content: bytes) -> Iterator[list[str]]:
    try:
        text = content.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        raise UploadRefused(f"the CSV is not UTF-8 text (byte {error.start + 1} is not): "
                            "save it as \"CSV UTF-8\"") from None
    _check_rows(text.count("\n") + 1)
    yield from csv.reader(io.StringIO(text))


def _excel_rows(content: bytes) -> Iterator[list[Any]]:
    import openpyxl

    try:
        with zipfile.ZipFile(io.BytesIO(content)) as archive:
            unzipped = sum(part.file_size for part in archive.infolist())
    except zipfile.BadZipFile:
        raise UploadRefused("the file is not an Excel workbook (.xlsx)") from None
    if unzipped > MAX_UNZIPPED_BYTES:
        raise UploadRefused(f"the workbook unzips to {unzipped / 2**20:,.0f} MB, more than "
                            f"{MAX_UNZIPPED_BYTES // 2**20} MB: send a smaller return")
    workbook = openpyxl.load_workbook(io.BytesIO(content), read_only=True, data_only=True)
    try:
        sheet = workbook.worksheets[0]
        rows: Iterable[tuple[Any, ...]] = sheet.iter_rows(values_only=True)
        for count, row in enumerate(rows, start=1):
            if count > MAX_ROWS + 1:
                _check_rows(count)
            yield [_cell_text(cell) for cell in row]
    finally:
        workbook.close()


def _cell_text(cell: Any) -> Any:
    """An Excel cell as the text a CSV would hold (whole numbers without ".0")."""
    if isinstance(cell, float) and cell.is_integer():
        return str(int(cell))
    return cell


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
