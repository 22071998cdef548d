"""Small-number suppression for views shown beyond the board.

Counts from 1 to 4 could identify a child: outside the board they show as "<5".
Zero is shown, since it identifies no one.
"""

from __future__ import annotations

SUPPRESSED = "<5"


def shown(value: int | float | None, *, suppress: bool, unit: str = "count") -> str:
    """A count (or share) as a reader outside the board may see it."""
    if value is None:
        return "–"
    if unit == "share":
        return f"{value:.0%}"
    if suppress and isinstance(value, int) and 1 <= value <= 4:
        return SUPPRESSED
    if isinstance(value, float) and not value.is_integer():
        return f"{value:,.1f}"
    return f"{int(value):,}"
