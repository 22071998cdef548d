"""How dates and times are written on the pages and in the packs: the GOV.UK style
("16 Dec 2015", "4 Nov 2015 at 14:05"), one place so no page drifts into ISO dates,
"04 November 2015" or microsecond timestamps. Input is day first (dd/mm/yyyy): a UK
reader types 01/10/2015 for the first of October, never January the tenth."""

from __future__ import annotations

import re
from datetime import date, datetime
from zoneinfo import ZoneInfo

from domain.timekeeping import gov_uk_date

# Streamlit's date_input format string for day-first entry.
DATE_INPUT_FORMAT = "DD/MM/YYYY"

_DAY_FIRST = re.compile(r"^\s*(\d{1,2})[/.\-](\d{1,2})[/.\-](\d{4})\s*$")


def uk_date(day: date | datetime | str | None) -> str:
    """``16 Dec 2015`` (no leading zero on the day); an ISO string is read first; None
    is an en dash, the GSS style for "no value"."""
    if day is None or day == "":
        return "–"
    if isinstance(day, str):
        day = datetime.fromisoformat(day) if "T" in day or " " in day else date.fromisoformat(day)
    return gov_uk_date(day)


def uk_month(day: date | str) -> str:
    """``December 2015`` for a month (a ``YYYY-MM`` string or any day in it)."""
    if isinstance(day, str):
        day = date.fromisoformat(day + "-01" if len(day) == 7 else day)
    return f"{day:%B %Y}"


def uk_time(moment: datetime | str, zone: ZoneInfo | None = None) -> str:
    """``16 Dec 2015 at 23:59`` in ``zone`` (the plan's), to the minute: nobody reads
    seconds, let alone microseconds, off a scorecard."""
    if isinstance(moment, str):
        moment = datetime.fromisoformat(moment.replace("Z", "+00:00"))
    if zone is not None and moment.tzinfo is not None:
        moment = moment.astimezone(zone)
    return f"{uk_date(moment)} at {moment:%H:%M}"


def parse_uk_date(text: str) -> date | None:
    """A date typed day first (``01/10/2015``, ``1.10.2015``, ``1-10-2015``) or as ISO
    (``2015-10-01``); None when it is neither or names no real day."""
    found = _DAY_FIRST.match(text)
    try:
        if found:
            day, month, year = (int(part) for part in found.groups())
            return date(year, month, day)
        return date.fromisoformat(text.strip())
    except ValueError:
        return None
