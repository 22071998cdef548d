"""Who is signed in, and what their role may see."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import streamlit as st

from domain.application import Scorecard
from domain.timekeeping import end_of_day, utc_now
from projections.disclosure import disclosed_report
from projections.report import Report
from projections.report_cache import ReportCache
from scorecard.bootstrap import Home

UNSUPPRESSED_ROLES = ("board", "administrator")


@dataclass(frozen=True)
class SignedIn:
    username: str
    role: str
    agency: str | None

    @property
    def suppress(self) -> bool:
        """Outside the board and administrators, counts of 1-4 are never shown."""
        return self.role not in UNSUPPRESSED_ROLES


def current_user() -> SignedIn | None:
    found: Any = st.session_state.get("user")
    return SignedIn(**found) if isinstance(found, dict) else None


def sign_in_as(username: str, role: str, agency: str | None) -> None:
    st.session_state["user"] = {"username": username, "role": role, "agency": agency}


def home() -> Home:
    return Home.from_environment()


def application() -> Scorecard:
    return home().open()


@st.cache_resource
def report_cache() -> ReportCache:
    """One cache per server process, shared by every session: a live page asks for the
    same scorecard every second, and most of those seconds nothing new has arrived."""
    return ReportCache()


def audience(user: SignedIn | None, suppress: bool | None = None) -> str:
    """Whom the page is for: the board sees figures as counted; anyone else (and the
    board when it asks to, for a view to share) what ``projections.disclosure`` allows."""
    if suppress is None:
        suppress = user.suppress if user else True
    return "scrutiny" if suppress else "board"


def counted_report(as_at: Any, known_at: Any, from_day: Any) -> Report:
    """The report as counted: for the board's own exports only (views for anyone else
    render ``load_report``'s disclosed document)."""
    with home().readmodel() as connection:
        return report_cache().report(connection, as_at=as_at, known_at=known_at,
                                     from_day=from_day)


def load_report(as_at: Any, known_day: Any, from_day: Any, zone: Any, *,
                live: bool = False, shown_to: str = "scrutiny") -> dict[str, Any]:
    """The scorecard as known at the end of ``known_day`` (or now, when live), as
    ``shown_to`` may see it (``Report.to_json()`` for the board)."""
    known_at = utc_now() if live else end_of_day(known_day, zone)
    with home().readmodel() as connection:
        report = report_cache().report(connection, as_at=as_at, known_at=known_at,
                                       from_day=from_day)
        return disclosed_report(connection, report, shown_to)
