"""What [c] and [x] mean, said on every page a reader outside the board sees (the words
are ``projections.disclosure.reader_note``'s, so the pages and the rules cannot drift)."""

from __future__ import annotations

from datetime import date

import streamlit as st

from domain.plan import Plan
from projections.disclosure import reader_note, unpublished_reason


def outside_board_note(plan: Plan, as_at: date, from_day: date | None = None) -> None:
    """A caption, or a warning when the window's days make every count of people [x] (a
    day that is not a release day, or a "count from" that does not follow one), which a
    councillor should not have to puzzle out."""
    note = reader_note(plan, as_at, from_day)
    if unpublished_reason(plan, as_at, from_day) is None:
        st.caption(note)
    else:
        st.warning(note, icon=":material/visibility_off:")
