"""An agency's return uploaded on the page: JSON Lines, or CSV / Excel with one column
per field, turned into contract envelopes and checked before anything is submitted.

CSV and Excel cells are text, so columns the contract types are converted where the
text is unambiguous ("12" for an integer field, "true"/"false" for a boolean, "Y8;Y9" for
year groups); anything else is left as text so validation names the field and rule.

An upload is bounded before it is parsed: Streamlit refuses files over
``server.maxUploadSize`` (64 MB, ``.streamlit/config.toml``); a file of more than
``MAX_ROWS`` rows is refused whole (a month's return of one agency is a few thousand,
a year's backlog of a helpline some 200,000);
Excel files are read row by row (openpyxl's read-only mode) after their unzipped size
is checked, since a 44 KB .xlsx can unzip to 300,000 rows; CSV and JSON Lines are read
line by line. ``UploadRefused`` says which rule was broken.
"""

from __future__ import annotations

import codecs
import csv
import io
import json
import re
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, datetime
from datetime import time as dt_time
from typing import Any
from zoneinfo import ZoneInfo

import pandas as pd

from domain import contract
from domain.contract import PAYLOADS
from domain.errors import InvalidEvent, Rejected
from domain.text import visible

ENVELOPE_COLUMNS = ["event_id", "type", "occurred_at", "supersedes"]
# The caption of the preview's table on the agency page (the browser tests find its rows
# by it, without importing the page's Streamlit code).
PREVIEW_CAPTION = "Each row as submitting it would decide it"
# A year's return of a large agency fits (issue 16 asks for a 200,000-line file from the
# page, at the rate of `scorecard push`); the file is read again in batches to submit it.
MAX_ROWS = 200_000
MAX_UPLOAD_BYTES = 64 * 2**20  # as server.maxUploadSize in .streamlit/config.toml
MAX_UNZIPPED_BYTES = 50 * 2**20  # an .xlsx's parts, unzipped
MAX_LINE_CHARACTERS = contract.MAX_MESSAGE_BYTES  # no event's line is longer
MAX_COLUMNS = 200  # the template has fewer than 40
MAX_MERGED_RANGES = 10_000
MAX_MERGED_CELLS = 1_000_000
# A UK date as Excel writes it in a CSV: day first, always (never read as month first).
UK_DATE = re.compile(r"^\s*([0-9]{1,2})/([0-9]{1,2})/([0-9]{4})\s*$")


class UploadRefused(ValueError):
    """The whole file is refused, before any row is read: the message names the rule."""


def template_columns() -> list[str]:
    """The envelope's columns, then every payload field of every type (a record's fields
    as ``record.field``), from the contract's registry."""
    fields: list[str] = []
    for payload in PAYLOADS.values():
        for name, (kind, _) in payload.items():
            names = ([f"{name}.{inner}" for inner in kind.fields]
                     if isinstance(kind, contract.Record) else [name])
            fields += [n for n in names if n not in fields]
    return ENVELOPE_COLUMNS + fields


def takes(kind: contract.Kind) -> str:
    """What a column takes, in a volunteer's words (the rule the check will apply)."""
    if isinstance(kind, contract.Integer):
        return (f"a whole number, {kind.lo:,} or more" if kind.hi == contract.MAX_INT
                else f"a whole number from {kind.lo:,} to {kind.hi:,}")
    if isinstance(kind, contract.Boolean):
        return "true or false"
    if isinstance(kind, contract.OneOf):
        return "one of: " + ", ".join(kind.choices)
    if isinstance(kind, contract.YearGroups):
        return "year groups R, Y1 … Y13, each once, separated by ; (e.g. Y8;Y9)"
    if isinstance(kind, contract.Code):
        return "a code of 1 to 100 characters, no spaces at either end"
    if isinstance(kind, contract.Text):
        return f"text of up to {kind.max_length:,} characters"
    if isinstance(kind, contract.Matching):
        return kind.rule.removeprefix("must be ")
    return "see docs/contract.md"


ENVELOPE_TAKES = {
    "event_id": "your own reference for the row, unique for your agency: 1 to 64 of "
                "A-Z a-z 0-9 . _ : - (sending the same row again does no harm)",
    "type": "what the row records (the types below)",
    "occurred_at": "the day it happened: dd/mm/yyyy or YYYY-MM-DD (or a date and time "
                   "with its offset)",
    "supersedes": "only when the row corrects one you sent before: that row's event_id",
}


def column_guide(event_types: list[str]) -> list[list[str]]:
    """Every column a return of these types uses: (type, column, required, what it
    takes), from the contract's registry, so the guide and the check cannot differ."""
    rows = [["every row", column, "no" if column == "supersedes" else "yes", words]
            for column, words in ENVELOPE_TAKES.items()]
    for event_type in event_types:
        for name, (kind, required) in PAYLOADS[event_type].items():
            inner = (list(kind.fields.items()) if isinstance(kind, contract.Record) else [])
            if inner:
                rows += [[event_type, f"{name}.{field}", "if " + name + " is given"
                          if not required else "yes", takes(sub)]
                         for field, (sub, _) in inner]
            else:
                rows.append([event_type, name, "yes" if required else "no", takes(kind)])
    return rows


def field_kind(event_type: str, column: str) -> contract.Kind | None:
    """The contract's kind of a column for a type (``None``: not a field of it)."""
    fields = PAYLOADS.get(event_type, {})
    name, _, inner = column.partition(".")
    found = fields.get(name)
    if found is None:
        return None
    kind = found[0]
    if inner:
        nested = kind.fields.get(inner) if isinstance(kind, contract.Record) else None
        return nested[0] if nested is not None else None
    return kind


def template_csv() -> bytes:
    example = {"event_id": "racs-2015-10-0001", "type": "referral.received",
               "occurred_at": "2015-10-05", "case": "RACS-0001", "source": "police",
               "client": "child", "age_band": "11-15", "gender": "female", "historic": "false"}
    frame = pd.DataFrame([example], columns=template_columns())
    text: str = frame.to_csv(index=False)
    return text.encode("utf-8")


def _typed(kind: contract.Kind | None, text: str) -> Any:
    """A cell's text as the value the contract's kind takes, where the text is
    unambiguous ("12" for an integer, "true"/"false" for a boolean, "Y8;Y9" for a list);
    anything else is left as text, for validation to name the field and the rule."""
    stripped = text.strip()
    if isinstance(kind, contract.Integer) and stripped.lstrip("-").isdigit() \
            and len(stripped) < 20:
        return int(stripped)
    if isinstance(kind, contract.Boolean) and stripped.lower() in ("true", "false"):
        return stripped.lower() == "true"
    if isinstance(kind, contract.YearGroups):
        return [part.strip() for part in text.split(";") if part.strip()]
    return text


def day_first_date(text: str) -> str:
    """``dd/mm/yyyy`` (how Excel saves a UK date in a CSV) as the contract's YYYY-MM-DD;
    anything else, or a day that does not exist, is left for validation to name."""
    found = UK_DATE.match(text)
    if found is None:
        return text
    day, month, year = (int(part) for part in found.groups())
    try:
        return date(year, month, day).isoformat()
    except ValueError:
        return text


def _occurred_at(value: Any, zone: ZoneInfo | None) -> str:
    """An ``occurred_at`` cell as contract text: an Excel date-time without an offset is
    local time in the plan's zone."""
    if isinstance(value, datetime):
        if value.tzinfo is None and zone is not None:
            value = value.replace(tzinfo=zone)
        return str(value.isoformat(timespec="seconds"))
    if isinstance(value, date):
        return value.isoformat()
    return day_first_date(str(value))


def _envelope(record: dict[str, Any], agency: str, zone: ZoneInfo | None = None
              ) -> dict[str, Any]:
    payload: dict[str, Any] = {}
    message: dict[str, Any] = {"agency": agency, "schema_version": 1}
    for name, value in record.items():
        if value is None or (isinstance(value, float) and pd.isna(value)) or value == "":
            continue
        if name == "occurred_at":
            message[name] = _occurred_at(value, zone)
            continue
        text = value.isoformat() if isinstance(value, date) else str(value)
        if name in ENVELOPE_COLUMNS:
            message[name] = text
            continue
        value = _typed(field_kind(str(record.get("type") or ""), name), text)
        outer, _, inner = name.partition(".")
        if inner:
            payload.setdefault(outer, {})[inner] = value
        else:
            payload[name] = value
    message["payload"] = payload
    return message


def read_upload(name: str, content: bytes, agency: str, *, zone: ZoneInfo | None = None,
                notes: list[str] | None = None) -> Iterator[tuple[int, bytes | None,
                                                                 dict[str, Any] | None,
                                                                 InvalidEvent | None]]:
    """(row number, raw line for JSONL, envelope, decoding problem) for each row; raises
    ``UploadRefused`` (and nothing else) before the first row when the file breaks a limit
    or cannot be read. ``notes`` receives what the reader decided that the person sending
    should know (the text encoding, the separator, the sheet read). ``zone``: the plan's,
    in which an Excel date-time without an offset is read."""
    said = notes if notes is not None else []
    if len(content) > MAX_UPLOAD_BYTES:
        raise UploadRefused(f"the file is {len(content) / 2**20:,.1f} MB; the limit is "
                            f"{MAX_UPLOAD_BYTES // 2**20} MB: send a smaller return")
    if not content.strip():
        raise UploadRefused("the file is empty")
    lower = name.lower()
    if lower.endswith((".jsonl", ".json", ".ndjson")):
        _check_line_lengths(content, b"\n")
        _check_rows(content.count(b"\n") + 1)
        found = False
        for number, line in enumerate(content.splitlines(), start=1):
            if not line.strip():
                continue
            found = True
            try:
                yield number, line, contract.decode_message(line), None
            except InvalidEvent as problem:
                yield number, line, None, problem
        if not found:
            raise UploadRefused("the file holds no events (only blank lines)")
        return
    records = (_excel_rows(content, said) if lower.endswith((".xlsx", ".xlsm", ".xls"))
               else _csv_rows(content, said))
    first = next(records, [])
    header = ([] if isinstance(first, InvalidEvent)
              else [str(c).strip() if c is not None else "" for c in first])
    while header and header[-1] == "":
        header.pop()  # a spreadsheet's empty trailing columns
    if not header:
        raise UploadRefused("the file has no header row: use the template's column names")
    if not any(column in ENVELOPE_COLUMNS for column in header):
        raise UploadRefused("the first row is not the template's header row (event_id, "
                            "type, occurred_at, ...): download the template and use its "
                            "column names")
    known = template_columns()
    unknown = [c for c in header if c not in known]
    found = False
    for number, cells in enumerate(records, start=2):  # row 1: headers
        if isinstance(cells, InvalidEvent):
            found = True
            yield number, None, None, cells
            continue
        if not any(cell not in (None, "") for cell in cells):
            continue  # a blank row
        found = True
        if unknown:
            yield number, None, None, InvalidEvent(
                f"unknown column(s) {', '.join(unknown)}: use the template", field=unknown[0])
            continue
        record = {column: cell for column, cell in zip(header, cells, strict=False)}
        yield number, None, _envelope(record, agency, zone), None
    if not found:
        raise UploadRefused("the file has a header row but no events under it")


def _check_rows(rows: int) -> None:
    if rows > MAX_ROWS + 1:  # the header row, or a final newline
        raise UploadRefused(f"the file has more than {MAX_ROWS:,} rows: send a return of at "
                            "most that many (one month, say) per file")


def _check_line_lengths(content: bytes | str, newline: Any) -> None:
    """Refuse a line longer than ``MAX_LINE_CHARACTERS`` by where the line breaks are,
    without splitting, decoding or parsing it: one 9 MB line is not a return."""
    start = 0
    line = 1
    while True:
        end = content.find(newline, start)
        stop = len(content) if end < 0 else end
        if stop - start > MAX_LINE_CHARACTERS:
            raise UploadRefused(f"line {line:,} is longer than {MAX_LINE_CHARACTERS // 1024} "
                                "KB: no event is that long (is this a return?)")
        if end < 0:
            return
        start, line = end + 1, line + 1


def _text(content: bytes, notes: list[str]) -> str:
    """A CSV's text in the encodings Excel saves: UTF-8 (with or without a byte-order
    mark), UTF-16 with its mark ("Unicode text"), or else Windows-1252 (the usual UK
    "CSV (Comma delimited)"; every byte a UTF-8 decoder refuses is a character there,
    bar five, so a file that is neither is named as such)."""
    if content.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        try:
            text = content.decode("utf-16")
        except UnicodeDecodeError:
            raise UploadRefused("the file starts as UTF-16 text but is not: save it again "
                                "as \"CSV UTF-8\"") from None
        notes.append("Read as UTF-16 text (Excel's \"Unicode text\").")
        return text
    try:
        return content.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        first = error.start
    try:
        text = content.decode("cp1252")
    except UnicodeDecodeError as error:
        raise UploadRefused(f"the file is not text in UTF-8, UTF-16 or Windows-1252 (byte "
                            f"{error.start + 1:,} is none of them): save it as "
                            "\"CSV UTF-8\"") from None
    notes.append(f"Read as Windows-1252 text: byte {first + 1:,} is not UTF-8. If a "
                 "character below looks wrong, save the file as \"CSV UTF-8\".")
    return text


def _delimiter(header: str) -> str:
    """The separator of a CSV, from its header row: Excel writes ";" where the decimal
    comma is the custom, and a tab in "Unicode text"."""
    counts = {d: header.count(d) for d in (",", ";", "\t")}
    chosen: str = max(counts, key=lambda d: (counts[d], d == ","))
    return chosen


def _csv_rows(content: bytes, notes: list[str]) -> Iterator[list[str] | InvalidEvent]:
    text = _text(content, notes)
    if "\x00" in text:
        raise UploadRefused("the file holds NUL characters, so it is not CSV text: save it "
                            "as \"CSV UTF-8\"")
    if not text.strip():
        raise UploadRefused("the file is empty")
    _check_line_lengths(text, "\n")
    _check_rows(text.count("\n") + 1)
    delimiter = _delimiter(text.split("\n", 1)[0])
    if delimiter != ",":
        notes.append("Columns separated by " + ("tabs." if delimiter == "\t"
                                                  else f"\"{delimiter}\"."))
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    while True:
        try:
            row = next(reader)
        except StopIteration:
            return
        except csv.Error as error:
            raise UploadRefused(f"line {reader.line_num:,} cannot be read as CSV: "
                                f"{visible(str(error), 100)}") from None
        yield row


def _excel_rows(content: bytes, notes: list[str]) -> Iterator[list[Any] | InvalidEvent]:
    """An .xlsx's rows: the sheet whose first row is the template's header (else the
    first sheet), each cell's saved value, a merged range's value in each of its cells.
    A formula with no saved value makes its row a problem naming the cell. Whatever
    openpyxl meets in a hostile workbook becomes ``UploadRefused``."""
    try:
        with zipfile.ZipFile(io.BytesIO(content)) as archive:
            unzipped = sum(part.file_size for part in archive.infolist())
    except (zipfile.BadZipFile, OSError, EOFError, ValueError, NotImplementedError):
        raise UploadRefused("the file is not an Excel workbook (.xlsx): an .xls from an "
                            "old Excel must be saved again as .xlsx or CSV") from None
    if unzipped > MAX_UNZIPPED_BYTES:
        raise UploadRefused(f"the workbook unzips to {unzipped / 2**20:,.0f} MB, more than "
                            f"{MAX_UNZIPPED_BYTES // 2**20} MB: send a smaller return")
    try:
        yield from _workbook_rows(content, notes)
    except UploadRefused:
        raise
    except Exception as error:  # openpyxl on a hostile file: any error is the file's
        raise UploadRefused(f"the workbook cannot be read ({type(error).__name__}: "
                            f"{visible(str(error), 120)}): save it again in Excel") from None


def _workbook_rows(content: bytes, notes: list[str]) -> Iterator[list[Any] | InvalidEvent]:
    import openpyxl

    values = openpyxl.load_workbook(io.BytesIO(content), read_only=True, data_only=True)
    try:
        sheet = _return_sheet(values, notes)
        markup = _sheet_markup(content, sheet._worksheet_path)
        merged = _merged_cells(markup)
        formulas = None
        if b"<f" in markup.formulas:
            formula_book = openpyxl.load_workbook(io.BytesIO(content), read_only=True,
                                                  data_only=False)
            formulas = formula_book[sheet.title]
            formulas.reset_dimensions()
        try:
            yield from _sheet_rows(sheet, formulas, merged)
        finally:
            if formulas is not None:
                formula_book.close()
    finally:
        values.close()


def _return_sheet(workbook: Any, notes: list[str]) -> Any:
    sheets = workbook.worksheets
    if not sheets:
        raise UploadRefused("the workbook has no sheets")
    chosen = sheets[0]
    for sheet in sheets:
        sheet.reset_dimensions()  # a declared size is the file's claim, not its content
        first = next(sheet.iter_rows(max_row=1, max_col=MAX_COLUMNS, values_only=True), ())
        if {"event_id", "type"} <= {str(c).strip() for c in first if c is not None}:
            chosen = sheet
            break
    if len(sheets) > 1:
        notes.append(f"Read the sheet \"{visible(chosen.title, 40)}\" (the workbook has "
                     f"{len(sheets)} sheets; the one whose first row is the template's "
                     "header is read).")
    return chosen


@dataclass(frozen=True)
class _Markup:
    merges: list[str]
    formulas: bytes  # b"<f" when the sheet holds a formula, else b""


MERGE_CELL = re.compile(rb'<(?:\w+:)?mergeCell\s+ref="([A-Z]{1,3}[0-9]{1,7}:[A-Z]{1,3}[0-9]{1,7})"')
FORMULA = re.compile(rb"<(?:\w+:)?f[\s>/]")


def _sheet_markup(content: bytes, path: str) -> _Markup:
    """The merged ranges of a sheet and whether it holds formulas, by reading its XML
    in chunks (openpyxl's read-only sheets know neither)."""
    merges: list[str] = []
    formulas = False
    with zipfile.ZipFile(io.BytesIO(content)) as archive, \
            archive.open(path.lstrip("/")) as part:
        tail = b""
        while chunk := part.read(2**20):
            window = tail + chunk
            formulas = formulas or FORMULA.search(window) is not None
            cut = max(0, len(window) - 100)
            merges += [m.group(1).decode() for m in MERGE_CELL.finditer(window)
                       if m.start() < cut or not chunk]
            tail = window[cut:]
        merges += [m.group(1).decode() for m in MERGE_CELL.finditer(tail)]
        if len(merges) > MAX_MERGED_RANGES:
            raise UploadRefused(f"the sheet has more than {MAX_MERGED_RANGES:,} merged "
                                "ranges: unmerge them")
    return _Markup(list(dict.fromkeys(merges)), b"<f" if formulas else b"")


def _merged_cells(markup: _Markup) -> dict[tuple[int, int], tuple[int, int]]:
    """Each merged cell (row, column) with the top-left cell holding its value; only the
    part of a range within the row and column caps is kept."""
    from openpyxl.utils.cell import range_boundaries

    cells: dict[tuple[int, int], tuple[int, int]] = {}
    for ref in markup.merges:
        low_col, low_row, high_col, high_row = range_boundaries(ref)
        for row in range(low_row, min(high_row, MAX_ROWS + 2) + 1):
            for column in range(low_col, min(high_col, MAX_COLUMNS) + 1):
                if (row, column) != (low_row, low_col):
                    cells[(row, column)] = (low_row, low_col)
        if len(cells) > MAX_MERGED_CELLS:
            raise UploadRefused(f"the sheet merges more than {MAX_MERGED_CELLS:,} cells: "
                                "unmerge them")
    return cells


def _sheet_rows(sheet: Any, formulas: Any, merged: dict[tuple[int, int], tuple[int, int]]
                ) -> Iterator[list[Any] | InvalidEvent]:
    anchors = set(merged.values())
    anchor_values: dict[tuple[int, int], Any] = {}
    formula_rows = (formulas.iter_rows(max_col=MAX_COLUMNS + 1, values_only=True)
                    if formulas is not None else None)
    for count, row in enumerate(sheet.iter_rows(max_col=MAX_COLUMNS + 1, values_only=True),
                                start=1):
        if count > MAX_ROWS + 1:
            _check_rows(count)
        written = next(formula_rows, ()) if formula_rows is not None else ()
        if len(row) > MAX_COLUMNS and row[MAX_COLUMNS] is not None:
            raise UploadRefused(f"row {count:,} has more than {MAX_COLUMNS} columns: use "
                                "the template's columns")
        cells: list[Any] = list(row[:MAX_COLUMNS])
        problem = None
        for index, cell in enumerate(cells):
            where = (count, index + 1)
            if where in anchors:
                anchor_values[where] = cell
            if cell is None and where in merged:
                cells[index] = anchor_values.get(merged[where])
            elif (cell is None and index < len(written) and isinstance(written[index], str)
                  and written[index].startswith("=")):
                from openpyxl.utils.cell import get_column_letter

                problem = problem or InvalidEvent(
                    f"cell {get_column_letter(index + 1)}{count} holds a formula with no "
                    "saved value: open the file in Excel and save it again")
        yield problem if problem is not None and count > 1 else [_cell_text(c) for c in cells]


def _cell_text(cell: Any) -> Any:
    """An Excel cell as the text a CSV would hold: whole numbers without ".0", a date
    as YYYY-MM-DD, a date-time as itself (read in the plan's zone later)."""
    if isinstance(cell, bool):
        return "true" if cell else "false"
    if isinstance(cell, float) and cell.is_integer():
        return str(int(cell))
    if isinstance(cell, datetime) and cell.time() == dt_time(0, 0) and cell.tzinfo is None:
        return cell.date()
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
