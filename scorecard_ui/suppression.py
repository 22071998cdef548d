"""Small-number suppression for views shown beyond the board.

Counts from 1 to 4 could identify a child: outside the board they show as "<5" (primary
suppression). Where exactly one part of a total is suppressed, the total minus the other
parts would reveal it, so the next smallest part is hidden too, as "*" (secondary
suppression). Zero is shown, since it identifies no one.
"""

from __future__ import annotations

SUPPRESSED = "<5"
SECONDARY = "*"


def is_small(value: int | float | None) -> bool:
    return isinstance(value, int | float) and float(value).is_integer() and 1 <= value <= 4


def shown(value: int | float | None, *, suppress: bool, unit: str = "count") -> str:
    """A count (or share) as a reader outside the board may see it."""
    if value is None:
        return "–"
    if unit == "share":
        return f"{value:.0%}"
    if suppress and is_small(value):
        return SUPPRESSED
    if isinstance(value, float) and not value.is_integer():
        return f"{value:,.1f}"
    return f"{int(value):,}"


def shown_split(total: int | float | None, parts: dict[str, int | float | None], *,
                suppress: bool, unit: str = "count") -> tuple[str, dict[str, str]]:
    """A total and its parts by agency, with primary and secondary suppression."""
    cells = {code: shown(v, suppress=suppress, unit=unit) for code, v in parts.items()}
    if suppress and unit == "count":
        hidden = [code for code, v in parts.items() if is_small(v)]
        if len(hidden) == 1:
            others = sorted((v, code) for code, v in parts.items()
                            if code not in hidden and v)
            if others:
                cells[others[0][1]] = SECONDARY
    return shown(total, suppress=suppress, unit=unit), cells
