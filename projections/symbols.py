"""The UK Government Statistical Service's shorthand for figures, in square brackets.

One registry, used by the report JSON, the text and CSV exports and the page legend, so
every export and every page explains the same symbols the same way. Single letters and
``*`` are never used: a screen reader or a spreadsheet cannot tell them from data.
The disclosure control (projections/disclosure.py) adds ``[c]``; this module only names
it.
"""

from __future__ import annotations

SUPPRESSED = "[c]"
PROVISIONAL = "[p]"
REVISED = "[r]"
NOT_AVAILABLE = "[x]"
NOT_APPLICABLE = "[z]"
LOW_RELIABILITY = "[u]"

LEGEND: dict[str, str] = {
    SUPPRESSED: "suppressed to protect confidentiality",
    PROVISIONAL: "provisional: a contributing agency's return for a month in the period "
                 "is missing or not yet approved",
    REVISED: "revised since the board accepted the month",
    NOT_AVAILABLE: "not available (outside the board, also a count of people for a day "
                   "that is not a release day: a month end, a meeting or the plan's eve)",
    NOT_APPLICABLE: "not applicable",
    LOW_RELIABILITY: "low reliability: the denominator is below the plan's minimum",
}


def ordered(markers: set[str] | list[str]) -> list[str]:
    """Markers in the legend's order (so the same figure always reads the same)."""
    unknown = set(markers) - set(LEGEND)
    if unknown:
        raise ValueError(f"not GSS symbols: {', '.join(sorted(unknown))}")
    return [code for code in LEGEND if code in markers]


def legend_text(separator: str = " · ") -> str:
    return separator.join(f"{code} {words}" for code, words in LEGEND.items())
