"""Outliers on the page: the upload preview questions a return before it counts, and
the board's reviewer sees the figures agencies confirmed and marks one for follow-up.

The rule is ``projections/outliers.py``; this module only asks and records, so the
returns page needs three calls (``return_flags`` once per file, ``question_return``
before its Submit button,
``keep_confirmations`` after it) and the board one (``reviewer_section``).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import pandas as pd
import streamlit as st

from domain.application import Scorecard
from domain.errors import CommandError
from domain.timekeeping import utc_now
from projections.outliers import OutlierFlag, confirmed_figures, flag_return
from projections.report import load_plan
from scorecard_ui.session import READ_ONLY_NOTE, SignedIn, read_model

REVIEWER_ROLES = ("board", "administrator")


def return_flags(app: Scorecard, agency: str, messages: Sequence[Mapping[str, Any]]
                 ) -> list[OutlierFlag]:
    """The figures the return would change that the rule questions (worked out once per
    file: the page keeps these, not the file's envelopes, until it is submitted)."""
    with read_model(app) as connection:
        return flag_return(connection, load_plan(connection), agency, messages, utc_now())


def question_return(flags: list[OutlierFlag], key: str) -> tuple[list[OutlierFlag], bool]:
    """The return's questioned figures, shown with a confirmation box; whether it may be
    submitted (no question, or the agency confirmed its figures are right)."""
    if not flags:
        return flags, True
    many = len(flags) != 1
    st.warning(f"{len(flags)} figure{'s' if many else ''} this return makes "
               f"differ{'' if many else 's'} from your agency's own history or the plan's "
               "bounds. Check them: "
               "correct the file, or confirm they are right. Confirmed figures count and "
               "are marked for the board's reviewer.")
    st.dataframe(pd.DataFrame([{"Measure": f.title, "Month": f.month, "Figure": f.value,
                                "Why it is questioned": f.explain()} for f in flags]),
                 hide_index=True, width="stretch")
    confirmed = st.checkbox("These figures are right: submit them as they are", key=key)
    return flags, confirmed


def keep_confirmations(app: Scorecard, flags: Sequence[OutlierFlag], user: SignedIn) -> None:
    """Record each confirmed figure (after the return is submitted)."""
    now = utc_now()
    for flag in flags:
        app.confirm_figure(flag.agency, flag.measure, flag.month, flag.value, flag.rule,
                           flag.explain(), by=user.username, at=now)


def reviewer_section(app: Scorecard | None, user: SignedIn | None, live: bool) -> None:
    """Figures confirmed after being questioned at entry; the board marks follow-ups
    (where this process may write: ``app`` is None in a read page process).
    Shown to the board and administrators only: they are agencies' own monthly figures."""
    if user is None or user.role not in REVIEWER_ROLES:
        return
    with read_model() as connection:
        rows = confirmed_figures(connection, utc_now())
    st.subheader("Figures questioned at entry")
    if not rows:
        st.caption("No agency has confirmed a figure that was questioned at entry.")
        return
    st.caption("Each was an outlier against the agency's own history, or outside the "
               "plan's bounds, and the agency confirmed it. Nothing was dropped.")
    st.dataframe(pd.DataFrame([{
        "Agency": r["agency"], "Measure": r["measure"], "Month": r["month"],
        "Figure": r["value"], "Follow-up": r["follow_up_note"] or "",
        "Confirmed by": r["confirmed_by"], "Why": r["explain"]} for r in rows]),
        hide_index=True, width="stretch")
    open_rows = [r for r in rows if not r["follow_up"]]
    if not (live and user.role == "board" and open_rows):
        return
    if app is None:
        st.caption(READ_ONLY_NOTE)
        return
    labels = {f"{r['agency']} · {r['measure']} · {r['month']}": r for r in open_rows}
    with st.form("follow_up"):
        chosen = st.selectbox("Mark for follow-up", list(labels), key="follow_up_pick")
        note = st.text_input("What to follow up", key="follow_up_note")
        marked = st.form_submit_button("Mark for follow-up")
    if marked:
        row = labels[chosen]
        try:
            app.mark_figure_for_follow_up(row["agency"], row["measure"], row["month"],
                                          note or "follow up with the agency",
                                          by=user.username, at=utc_now())
        except CommandError as error:
            st.error(str(error))
        else:
            st.rerun()
