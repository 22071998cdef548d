"""Tables as real HTML markup: a ``<caption>``, column headers with ``scope="col"``, a row
header per row and group headings spanning the table. Streamlit's ``st.dataframe`` draws
on a canvas that screen readers cannot read and that scrolls inside a box; the scorecard
and every table a reader must be able to read are drawn with this instead.

Cells are given as text (escaped here) or as ``Markup`` (HTML built by this package's own
functions, already escaped). Nothing an agency typed reaches the page unescaped."""

from __future__ import annotations

import html
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

WIDE_COLUMNS = 6  # from this many columns a table scrolls in its own box when narrow


class Markup(str):
    """HTML that this package built and escaped itself; written into a cell as is."""


def escape(text: object) -> Markup:
    return Markup(html.escape(str(text), quote=True))


def cell_html(content: object) -> str:
    return content if isinstance(content, Markup) else html.escape(str(content), quote=True)


@dataclass(frozen=True)
class Column:
    """A column: its header, an optional hint (shown as the header's title and read as
    its description), a CSS width (``"9rem"``, ``"14%"``) and whether it holds numbers
    (right-aligned, tabular figures)."""

    header: str
    width: str = ""
    numeric: bool = False
    hint: str = ""


@dataclass
class HtmlTable:
    """Rows under column headers; the first cell of each row is its row header.
    ``group`` starts a titled run of rows (a priority, an objective)."""

    caption: str
    columns: Sequence[Column]
    css_class: str = "sc-table"
    caption_hidden: bool = False
    _body: list[str] = field(default_factory=list)
    _data_rows: int = 0

    def group(self, title: object, level: int = 1, note: object = "") -> None:
        extra = f" <span class='sc-group-note'>{cell_html(note)}</span>" if note else ""
        self._body.append(
            f"<tr class='sc-group sc-group-{level}'><th scope='colgroup' "
            f"colspan='{len(self.columns)}'>{cell_html(title)}{extra}</th></tr>")

    def row(self, cells: Sequence[object], css_class: str = "") -> None:
        if len(cells) != len(self.columns):
            raise ValueError(f"{len(cells)} cells for {len(self.columns)} columns")
        parts = []
        for index, (column, content) in enumerate(zip(self.columns, cells, strict=True)):
            tag = "th scope='row'" if index == 0 else "td"
            align = " class='sc-num'" if column.numeric else ""
            parts.append(f"<{tag}{align}>{cell_html(content)}</{tag.split()[0]}>")
        klass = f" class='{html.escape(css_class)}'" if css_class else ""
        self._body.append(f"<tr{klass}>{''.join(parts)}</tr>")
        self._data_rows += 1

    def rows(self, rows: Iterable[Sequence[object]]) -> None:
        for cells in rows:
            self.row(cells)

    @property
    def empty(self) -> bool:
        return self._data_rows == 0

    def to_html(self) -> str:
        widths = "".join(
            f"<col style='width:{html.escape(c.width)}'>" if c.width else "<col>"
            for c in self.columns)
        headers = "".join(
            f"<th scope='col'{' class=sc-num' if c.numeric else ''}"
            + (f" title='{html.escape(c.hint, quote=True)}'" if c.hint else "")
            + f">{html.escape(c.header)}</th>" for c in self.columns)
        caption_class = " class='sc-visually-hidden'" if self.caption_hidden else ""
        # A wide table keeps its columns readable on a narrow screen (400% zoom) by
        # scrolling sideways in its own box, which a keyboard can then scroll too.
        wide = len(self.columns) >= WIDE_COLUMNS
        scroller = (f" class='sc-table-wrap sc-table-scroll' role='region' tabindex='0' "
                    f"aria-label='{html.escape(self.caption, quote=True)}'" if wide
                    else " class='sc-table-wrap'")
        return (f"<div{scroller}><table class='{self.css_class}'>"
                f"<caption{caption_class}>{html.escape(self.caption)}</caption>"
                f"<colgroup>{widths}</colgroup><thead><tr>{headers}</tr></thead>"
                f"<tbody>{''.join(self._body)}</tbody></table></div>")


def simple_table(caption: str, headers: Sequence[str], rows: Iterable[Sequence[object]],
                 numeric: Sequence[str] = ()) -> str:
    """A plain table in one call: for data tables under charts and short lists."""
    table = HtmlTable(caption, [Column(h, numeric=h in numeric) for h in headers])
    table.rows(rows)
    return table.to_html()
