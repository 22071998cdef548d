"""The two times of every fact: when it happened (valid time) and when we knew (knowledge time).

Agencies send ``occurred_at`` as a date or an offset date-time; the plan counts by its own
local days (Europe/London for the bundled plan). Everything stored is UTC.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from functools import lru_cache
from zoneinfo import ZoneInfo

_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}\Z")
_DATETIME_WITH_OFFSET = re.compile(
    r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d{1,6})?)?(Z|[+-]\d{2}:\d{2})\Z"
)
_NAIVE_DATETIME = re.compile(r"^\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}(:\d{2}(\.\d{1,6})?)?\Z")


@dataclass(frozen=True)
class Occurrence:
    """When something happened: the UTC instant and the plan's local day it falls on."""

    at: datetime  # aware, UTC
    day: date


def parse_occurred_at(text: str, zone: ZoneInfo) -> Occurrence:
    """Parse a contract ``occurred_at``: ``YYYY-MM-DD`` or a date-time with an offset.

    A bare date means the start of that local day. Raises ``ValueError`` naming the rule.
    """
    rule = ("must be an ISO 8601 date YYYY-MM-DD or a date-time with an offset "
            "(e.g. 2015-10-31T14:05:00+00:00)")
    try:
        if _DATE.match(text):
            day = date.fromisoformat(text)
            return Occurrence(at=start_of_day(day, zone), day=day)
        if _DATETIME_WITH_OFFSET.match(text):
            moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
            return Occurrence(at=moment.astimezone(UTC), day=moment.astimezone(zone).date())
    except ValueError as error:  # the right shape, not a real day, time or offset
        raise ValueError(f"{rule}: {_no_such_day(error)}") from None
    raise ValueError(rule)


def _no_such_day(error: ValueError) -> str:
    """Python's reason in the rule's words (its own names a timedelta, not an offset)."""
    text = str(error)
    return "the offset must be between -23:59 and +23:59" if "timedelta" in text else text


def start_of_day(day: date, zone: ZoneInfo) -> datetime:
    """The UTC instant at which a local day begins."""
    return datetime.combine(day, time(0, 0), tzinfo=zone).astimezone(UTC)


def end_of_day(day: date, zone: ZoneInfo) -> datetime:
    """The last representable UTC instant of a local day."""
    return start_of_day(day + timedelta(days=1), zone) - timedelta(microseconds=1)


def parse_moment(text: str, zone: ZoneInfo) -> datetime:
    """Parse a command-line time such as ``--known-at`` into an aware UTC datetime.

    Accepts an offset date-time, a naive date-time (read in the plan's zone) or a bare
    date (meaning the end of that local day: what was known by the close of it).
    """
    text = text.strip()
    if _DATE.match(text):
        return end_of_day(date.fromisoformat(text), zone)
    if _DATETIME_WITH_OFFSET.match(text):
        return datetime.fromisoformat(text.replace("Z", "+00:00")).astimezone(UTC)
    if _NAIVE_DATETIME.match(text):
        return datetime.fromisoformat(text).replace(tzinfo=zone).astimezone(UTC)
    raise ValueError(f"{text!r} is not a date (YYYY-MM-DD) or date-time (YYYY-MM-DDTHH:MM[+HH:MM])")


def parse_day(text: str) -> date:
    """Parse a command-line ``YYYY-MM-DD``."""
    if not _DATE.match(text.strip()):
        raise ValueError(f"{text!r} is not a date in the form YYYY-MM-DD")
    return date.fromisoformat(text.strip())


def utc_now() -> datetime:
    return datetime.now(UTC)


def to_naive_utc(moment: datetime) -> datetime:
    """DuckDB stores instants as naive UTC ``TIMESTAMP`` (no time-zone module needed)."""
    return moment.astimezone(UTC).replace(tzinfo=None)


def from_naive_utc(moment: datetime) -> datetime:
    """Back from DuckDB's naive UTC to an aware instant."""
    return moment.replace(tzinfo=UTC)


def iso_utc(moment: datetime) -> str:
    """An aware instant as ISO 8601 in UTC with a ``Z``."""
    return moment.astimezone(UTC).isoformat().replace("+00:00", "Z")


@lru_cache(maxsize=4096)
def gov_uk_date(day: date) -> str:
    """A day as GOV.UK style writes it, ``16 Dec 2015`` (no leading zero): the one date
    style of every figure, page and pack. Kept, because ``%b`` is slow and a report
    writes the same few days for every measure."""
    return f"{day.day} {day:%b %Y}"
