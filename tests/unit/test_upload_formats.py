"""Every plausible file an agency saves is read, or refused in one sentence naming the
rule (issue 16 item 2): never a traceback."""

from __future__ import annotations

import codecs
import io
import re
import zipfile
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

import openpyxl
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from domain import contract
from scorecard_ui import returns_upload
from scorecard_ui.returns_upload import UploadRefused, check, read_upload

LONDON = ZoneInfo("Europe/London")
COLUMNS = ["event_id", "type", "occurred_at", "case", "source", "client", "age_band",
           "gender", "historic"]
ROW = ["r-1", "referral.received", "05/10/2015", "C-1", "police", "child", "11-15",
       "female", "false"]


def events(name: str, content: bytes, notes: list[str] | None = None) -> list[dict[str, Any]]:
    """The envelopes read, each one the contract accepts."""
    rows = list(read_upload(name, content, "racs", zone=LONDON, notes=notes))
    messages = [message for _, _, message, problem in rows
                if problem is None and message is not None]
    assert len(messages) == len(rows), [problem for *_, problem in rows]
    assert [check(message, LONDON) for message in messages] == [None] * len(messages)
    return messages


def csv_text(separator: str = ",", rows: list[list[str]] | None = None) -> str:
    lines = [COLUMNS, *(rows or [ROW])]
    return "".join(separator.join(line) + "\r\n" for line in lines)


def workbook(sheets: dict[str, list[list[Any]]], merges: dict[str, list[str]] | None = None
             ) -> bytes:
    book = openpyxl.Workbook()
    book.remove(book.active)
    for title, rows in sheets.items():
        sheet = book.create_sheet(title)
        for row in rows:
            sheet.append(row)
        for ref in (merges or {}).get(title, []):
            sheet.merge_cells(ref)
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def with_saved_values(content: bytes, values: dict[str, str]) -> bytes:
    """The workbook as Excel would save it: each formula with its computed text."""
    source = zipfile.ZipFile(io.BytesIO(content))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as target:
        for part in source.infolist():
            data = source.read(part)
            if part.filename.startswith("xl/worksheets/"):
                for formula, value in values.items():
                    data, found = re.subn(
                        rf'<c r="([A-Z]+[0-9]+)"><f>{re.escape(formula)}</f><v\s*/>'.encode(),
                        rf'<c r="\1" t="str"><f>{formula}</f><v>{value}</v>'.encode(), data)
                    assert found == 1
            target.writestr(part, data)
    return out.getvalue()


def test_an_empty_file_is_refused_in_words() -> None:
    for content in (b"", b"  \r\n", codecs.BOM_UTF8, codecs.BOM_UTF16_LE):
        with pytest.raises(UploadRefused, match="empty"):
            list(read_upload("return.csv", content, "racs"))


def test_a_header_without_rows_is_refused_in_words() -> None:
    with pytest.raises(UploadRefused, match="header row but no events"):
        list(read_upload("return.csv", (",".join(COLUMNS) + "\n").encode(), "racs"))


def test_a_file_that_is_not_a_return_is_refused_naming_the_header() -> None:
    with pytest.raises(UploadRefused, match="not the template's header row"):
        list(read_upload("return.csv", b"name,age\nAnn,3\n", "racs"))


@pytest.mark.parametrize("encoding", ["utf-8", "utf-8-sig"])
def test_utf_8_with_or_without_a_byte_order_mark(encoding: str) -> None:
    content = csv_text(rows=[[*ROW[:3], "Zoë-1", *ROW[4:]]]).encode(encoding)
    notes: list[str] = []
    message = next(read_upload("return.csv", content, "racs", notes=notes))[2]
    assert message is not None and message["event_id"] == "r-1"  # no BOM in the name
    assert message["payload"]["case"] == "Zoë-1" and notes == []


def test_windows_1252_is_read_and_said() -> None:
    """Excel's "CSV (Comma delimited)" in the UK: £ and é as single bytes."""
    text = "event_id,type,occurred_at,action,status,note\r\n" \
           "a-1,action.status_reported,05/10/2015,1.1,on_track,Café £250 spent\r\n"
    notes: list[str] = []
    rows = list(read_upload("return.csv", text.encode("cp1252"), "racs", notes=notes))
    message = rows[0][2]
    assert message is not None and message["payload"]["note"] == "Café £250 spent"
    assert any("Windows-1252" in note for note in notes)


def test_utf_16_unicode_text_from_excel_is_read() -> None:
    """Excel's "Unicode text": UTF-16 with a byte-order mark, tab-separated."""
    content = codecs.BOM_UTF16_LE + csv_text("\t").encode("utf-16-le")
    notes: list[str] = []
    assert events("return.txt.csv", content, notes)[0]["payload"]["case"] == "C-1"
    assert any("UTF-16" in note for note in notes) and any("tabs" in n for n in notes)


def test_semicolon_separated_csv_is_read() -> None:
    notes: list[str] = []
    assert events("return.csv", csv_text(";").encode(), notes)[0]["type"] == \
        "referral.received"
    assert any('";"' in note for note in notes)


@pytest.mark.parametrize("written, read", [("05/10/2015", "2015-10-05"),
                                           ("5/1/2016", "2016-01-05"),
                                           ("31/12/2015", "2015-12-31"),
                                           ("2015-10-05", "2015-10-05")])
def test_uk_dates_are_read_day_first(written: str, read: str) -> None:
    row = [*ROW[:2], written, *ROW[3:]]
    assert events("return.csv", csv_text(rows=[row]).encode())[0]["occurred_at"] == read


@pytest.mark.parametrize("written", ["10/31/2015", "31/02/2016", "5/10/15"])
def test_a_date_that_is_not_day_first_is_named_not_guessed(written: str) -> None:
    row = [*ROW[:2], written, *ROW[3:]]
    rows = list(read_upload("return.csv", csv_text(rows=[row]).encode(), "racs"))
    message = rows[0][2]
    assert message is not None and message["occurred_at"] == written
    problem = check(message, LONDON)
    assert problem is not None and problem.field == "occurred_at"


def test_a_workbook_of_several_sheets_reads_the_return_sheet() -> None:
    content = workbook({"Notes": [["Read me first"], ["This is our October return"]],
                        "Return": [COLUMNS, ROW],
                        "Lists": [["police", "health"]]})
    notes: list[str] = []
    assert events("return.xlsx", content, notes)[0]["event_id"] == "r-1"
    assert any('"Return"' in note and "3 sheets" in note for note in notes)


def test_excel_dates_and_date_times_are_read() -> None:
    on_day = [*ROW[:2], datetime(2015, 10, 5), *ROW[3:]]
    at_time = ["r-2", *ROW[1:2], datetime(2015, 10, 6, 14, 30), "C-2", *ROW[4:]]
    found = events("return.xlsx", workbook({"Return": [COLUMNS, on_day, at_time]}))
    assert [m["occurred_at"] for m in found] == ["2015-10-05", "2015-10-06T14:30:00+01:00"]


def test_a_formula_is_read_as_its_saved_value() -> None:
    row = [*ROW[:3], '=CONCAT("C-",1)', *ROW[4:]]
    content = with_saved_values(workbook({"Return": [COLUMNS, row]}),
                                {'CONCAT("C-",1)': "C-1"})
    assert events("return.xlsx", content)[0]["payload"]["case"] == "C-1"


def test_a_formula_without_a_saved_value_is_named_by_its_cell() -> None:
    row = [*ROW[:3], '="C-"&"1"', *ROW[4:]]
    rows = list(read_upload("return.xlsx", workbook({"Return": [COLUMNS, row, ROW]}),
                            "racs"))
    assert rows[0][3] is not None and "cell D2 holds a formula with no saved value" in str(
        rows[0][3])
    assert rows[1][3] is None  # the next row is read


def test_merged_cells_give_their_value_to_each_cell() -> None:
    """A type or date typed once and merged down several rows, as people do."""
    rows: list[list[Any]] = [COLUMNS, ROW, ["r-2", None, None, "C-2", *ROW[4:]],
                             ["r-3", None, None, "C-3", *ROW[4:]]]
    content = workbook({"Return": rows}, {"Return": ["B2:B4", "C2:C4"]})
    found = events("return.xlsx", content)
    assert [(m["event_id"], m["type"], m["occurred_at"]) for m in found] == [
        (f"r-{n}", "referral.received", "2015-10-05") for n in (1, 2, 3)]


def test_a_file_over_the_size_limit_is_refused_naming_the_limit(
        monkeypatch: pytest.MonkeyPatch) -> None:
    with pytest.raises(UploadRefused, match="the limit is 64 MB"):
        list(read_upload("return.csv", b"x" * (64 * 2**20 + 1), "racs"))


@pytest.mark.parametrize("name", ["return.csv", "return.jsonl"])
def test_one_enormous_line_is_refused_by_its_length(name: str,
                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    content = csv_text().encode() + b"x" * (9 * 2**20) + b"\n"
    parsed: list[bytes] = []

    def decode(line: bytes) -> dict[str, Any]:
        parsed.append(line)
        return {}

    monkeypatch.setattr(contract, "decode_message", decode)
    with pytest.raises(UploadRefused, match=r"line 3 is longer than 64 KB"):
        list(read_upload(name, content, "racs"))
    assert parsed == []  # refused before any line was parsed


def test_a_csv_field_the_parser_cannot_take_is_refused_in_words() -> None:
    content = csv_text().encode() + b'"' + (b"a" * 60_000 + b"\n") * 3 + b'"\n'
    with pytest.raises(UploadRefused, match="cannot be read as CSV"):
        list(read_upload("return.csv", content, "racs"))


def test_an_old_xls_is_refused_in_words() -> None:
    with pytest.raises(UploadRefused, match="not an Excel workbook"):
        list(read_upload("return.xls", b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + bytes(600),
                         "racs"))


def test_a_zip_that_is_not_a_workbook_is_refused_in_words() -> None:
    packed = io.BytesIO()
    with zipfile.ZipFile(packed, "w") as archive:
        archive.writestr("hello.txt", "hi")
    with pytest.raises(UploadRefused, match="cannot be read"):
        list(read_upload("return.xlsx", packed.getvalue(), "racs"))


CELLS = st.one_of(st.sampled_from(ROW + COLUMNS + ["", "=1+1", "31/12/2015", "1;2"]),
                  st.text(max_size=12))
SEPARATORS = st.sampled_from([",", ";", "\t"])
ENCODINGS = st.sampled_from(["utf-8", "utf-8-sig", "utf-16", "cp1252", "latin-1"])


@st.composite
def files(draw: st.DrawFn) -> tuple[str, bytes]:
    """Files as agencies make them, with their mistakes: any encoding, separator,
    header or none, cells of anything; or raw bytes; or a workbook of anything."""
    kind = draw(st.sampled_from(["csv", "bytes", "xlsx", "jsonl"]))
    if kind == "bytes":
        return draw(st.sampled_from(["r.csv", "r.xlsx", "r.jsonl"])), draw(st.binary())
    header = draw(st.one_of(st.just(COLUMNS), st.lists(CELLS, max_size=6)))
    rows = draw(st.lists(st.lists(CELLS, max_size=12), max_size=5))
    if kind == "xlsx":
        cleaned = [[re.sub(r"[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff]", "", c) for c in row]
                   for row in [header, *rows]]
        return "r.xlsx", workbook({draw(st.sampled_from(["Return", "Sheet1"])): cleaned})
    if kind == "jsonl":
        return "r.jsonl", "\n".join(",".join(r) for r in rows).encode("utf-8", "replace")
    separator = draw(SEPARATORS)
    text = "\n".join(separator.join(r) for r in [header, *rows])
    return "r.csv", text.encode(draw(ENCODINGS), "replace")


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(files())
def test_no_exception_but_a_refusal_escapes_the_upload_path(file: tuple[str, bytes]) -> None:
    name, content = file
    try:
        for _, raw, message, _problem in read_upload(name, content, "racs", zone=LONDON):
            if message is not None:
                check(message, LONDON)
                returns_upload.as_line(message)
            assert raw is not None or message is not None or _problem is not None
    except UploadRefused as refused:
        assert str(refused)
