"""What [c] and [x] mean, said on every page a reader outside the board sees (the words
are ``projections.disclosure.reader_note``'s, so the pages and the rules cannot drift)."""

from __future__ import annotations

from datetime import date

import streamlit as st

from domain.plan import Plan
from projections.disclosure import is_release_day, plan_release_days, reader_note


def outside_board_note(plan: Plan, as_at: date) -> None:
    """A caption, or a warning when the chosen day is not a release day (its counts of
    people are then all [x], which a councillor should not have to puzzle out)."""
    note = reader_note(plan, as_at)
    if is_release_day(as_at, plan_release_days(plan)):
        st.caption(note)
    else:
        st.warning(note, icon=":material/visibility_off:")
