"""How a figure is written on the page. What a figure may show outside the board is
decided by ``projections.disclosure``; here a suppressed cell arrives as ``[c]`` and is
written as it came."""

from __future__ import annotations

from typing import Any


def shown(value: Any, unit: str = "count") -> str:
    """A count, a share or a GSS symbol as text."""
    if value is None:
        return "–"
    if isinstance(value, str):
        return value
    if unit == "share":
        return f"{value:.0%}"
    if isinstance(value, float) and not value.is_integer():
        return f"{value:,.1f}"
    return f"{int(value):,}"
