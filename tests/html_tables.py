"""Reading the pages' HTML tables in tests, as a screen reader would: each row keyed by
its column headers (group rows, the priorities and objectives, are skipped)."""

from __future__ import annotations

from html.parser import HTMLParser
from typing import Any

from scorecard_ui.returns_upload import PREVIEW_CAPTION


class _Tables(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.tables: list[dict[str, Any]] = []
        self._cell: list[str] | None = None
        self._row: list[str] | None = None
        self._group = False
        self._in_caption = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "table":
            self.tables.append({"caption": "", "headers": [], "rows": [], "groups": []})
        elif tag == "caption":
            self._in_caption = True
        elif tag == "tr":
            self._row, self._group = [], False
        elif tag in ("td", "th"):
            self._cell = []
            if dict(attrs).get("scope") == "colgroup":
                self._group = True

    def handle_endtag(self, tag: str) -> None:
        if tag == "caption":
            self._in_caption = False
        elif tag in ("td", "th") and self._cell is not None and self._row is not None:
            self._row.append(" ".join("".join(self._cell).split()))
            self._cell = None
        elif tag == "tr" and self._row is not None and self.tables:
            table = self.tables[-1]
            if self._group:
                table["groups"].append(self._row[0])
            elif not table["headers"]:
                table["headers"] = self._row
            else:
                table["rows"].append(dict(zip(table["headers"], self._row, strict=False)))
            self._row = None

    def handle_data(self, data: str) -> None:
        if self._in_caption and self.tables:
            self.tables[-1]["caption"] += data
        if self._cell is not None:
            self._cell.append(data)


def html_tables(markup: str) -> list[dict[str, Any]]:
    """Every table in ``markup``: its caption, headers, rows (dicts) and group titles."""
    parser = _Tables()
    parser.feed(markup)
    return parser.tables


def row_of(tables: list[dict[str, Any]], first_cell: str) -> dict[str, str]:
    """The first row, in any table, whose first cell is ``first_cell``."""
    for table in tables:
        for row in table["rows"]:
            if row[table["headers"][0]] == first_cell:
                return dict(row)
    raise AssertionError(f"no row {first_cell!r} in {[t['caption'] for t in tables]}")


def upload_preview(at: Any) -> list[str]:
    """The problem named for each row by the returns page's preview of an upload (an
    ``AppTest`` of the agency page), in the order shown."""
    preview = next(t for element in at.get("html") for t in html_tables(element.proto.body)
                   if t["caption"] == PREVIEW_CAPTION)
    return [row["Problem"] for row in preview["rows"]]
