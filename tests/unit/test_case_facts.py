"""The open-cases questions asked in Python (``projections.case_facts``) give the rows of
the statement they stand in for (``standing.OPEN_CASES_AND_FACTS_SQL``), row for row, on
generated case histories: several episodes, closures without referrals, missing case
references and episodes, facts retracted or superseded, a board's pin, ends in any
order."""

from __future__ import annotations

from collections import Counter
from datetime import date, datetime, timedelta
from typing import Any

import duckdb
from hypothesis import example, given, settings
from hypothesis import strategies as st

from projections import case_facts
from projections.measures import STANDARD_MEASURES, plan_measure
from projections.periods import Segments
from projections.readmodel import SCHEMA
from projections.standing import (
    OPEN_CASES_AND_FACTS_SQL,
    Standing,
    _open_cases_sql,
)

START = date(2015, 1, 1)
STANDARD = {m.id: m for m in STANDARD_MEASURES}
MEASURES = [
    STANDARD["open_cases"],
    plan_measure({"id": "open_cse", "title": "Open CSE cases",
                  "open_cases": {"where": {"cse_confirmed": True}}}, STANDARD),
    plan_measure({"id": "open_counselling", "title": "Open counselling cases",
                  "open_cases": {"where": {"service": "counselling"}}}, STANDARD),
]

fact = st.fixed_dictionaries({
    "type": st.sampled_from(["referral.received", "case.closed", "helpline.contact"]),
    "agency": st.sampled_from(["racs", "rise"]),
    "case_ref": st.sampled_from(["c1", "c1", "c2", None]),
    "episode": st.sampled_from([1, 1, 2, None]),
    "day": st.integers(0, 30),
    "known_after": st.integers(0, 10),  # days after it occurred
    "ended_after": st.one_of(st.none(), st.integers(0, 20)),  # days after it was known
    "end_unplaced": st.booleans(),  # an end recorded without a log position
    "cse_confirmed": st.one_of(st.none(), st.booleans()),
    "service": st.sampled_from([None, "counselling", "advocacy"]),
})


def _timestamp(day: int) -> datetime:
    return datetime(2015, 1, 1) + timedelta(days=day, hours=12)


def _read_model(facts: list[dict[str, Any]]) -> duckdb.DuckDBPyConnection:
    connection = duckdb.connect()
    connection.execute(SCHEMA)
    for position, f in enumerate(facts):
        known = f["day"] + f["known_after"]
        ended = None if f["ended_after"] is None else known + f["ended_after"]
        connection.execute(
            "INSERT INTO facts (position, submission_id, agency, event_id, type, "
            "occurred_at, occurred_utc, occurred_on, recorded_at, backfill, ended_at, "
            "ended_position, case_ref, episode, cse_confirmed, service, payload) VALUES "
            "(?, ?, ?, ?, ?, ?, ?, ?, ?, FALSE, ?, ?, ?, ?, ?, ?, '{}')",
            [position, str(position), f["agency"], str(position), f["type"],
             str(START + timedelta(days=f["day"])), _timestamp(f["day"]),
             START + timedelta(days=f["day"]), _timestamp(known),
             None if ended is None else _timestamp(ended),
             None if ended is None or f.get("end_unplaced") else
             position + 1 + f["ended_after"],
             f["case_ref"], f["episode"], f["cse_confirmed"], f["service"]])
    return connection


def _statement_rows(connection: duckdb.DuckDBPyConnection, ends: list[date],
                    standing: Standing, segments: Segments, last_day: date
                    ) -> Counter[tuple[Any, ...]]:
    rows = connection.execute(_open_cases_sql(MEASURES, OPEN_CASES_AND_FACTS_SQL), {
        **standing.params(), "last": max(ends), "ends": ends, "end": last_day,
        "starts": segments.starts or [last_day],
        "seg_ends": segments.ends or [last_day - timedelta(days=1)]}).fetchall()
    return Counter(tuple(row) for row in rows)


# A case referred on day 1 and closed on day 5: open at the end of day 4, not at day 5.
REFERRED_AND_CLOSED = [
    {"type": "referral.received", "agency": "racs", "case_ref": "c1", "episode": 1,
     "day": 1, "known_after": 0, "ended_after": None, "cse_confirmed": True,
     "service": None},
    {"type": "case.closed", "agency": "racs", "case_ref": "c1", "episode": 1, "day": 5,
     "known_after": 0, "ended_after": None, "cse_confirmed": None, "service": None}]

# Two episodes of one case: open at day 1 by the first, at day 5 by the second.
TWO_EPISODES = [
    {**REFERRED_AND_CLOSED[0], "day": 1}, {**REFERRED_AND_CLOSED[1], "day": 3},
    {**REFERRED_AND_CLOSED[0], "day": 2, "episode": 2},
    {**REFERRED_AND_CLOSED[1], "day": 10, "episode": 2}]


@settings(max_examples=120, deadline=None)
@example(facts=TWO_EPISODES, ends=[1, 5], cuts=[], known=30, pinned=None, last_day=9)
@example(facts=REFERRED_AND_CLOSED, ends=[5, 4, 0], cuts=[0, 5, 9], known=30, pinned=None,
         last_day=5)
@given(facts=st.lists(fact, max_size=30),
       ends=st.lists(st.integers(0, 35), min_size=1, max_size=6, unique=True),
       cuts=st.lists(st.integers(0, 35), max_size=6, unique=True),
       known=st.integers(0, 70), pinned=st.one_of(st.none(), st.integers(0, 40)),
       last_day=st.integers(0, 35))
def test_python_answers_equal_the_statement(
    facts: list[dict[str, Any]], ends: list[int], cuts: list[int], known: int,
    pinned: int | None, last_day: int,
) -> None:
    connection = _read_model(facts)
    cases = case_facts.read(connection, MEASURES)
    assert cases is not None and cases.serves(MEASURES)
    days = [START + timedelta(days=d) for d in ends]
    spans = [(START + timedelta(days=a), START + timedelta(days=b))
             for a, b in zip(sorted(cuts), sorted(cuts)[1:], strict=False)]
    segments = Segments(spans, spans[:1])
    standing = Standing(_timestamp(known), pinned)
    end = START + timedelta(days=last_day)
    python = Counter(case_facts.answer(cases, MEASURES, days, standing, segments, end))
    assert python == _statement_rows(connection, days, standing, segments, end)


def test_a_large_read_model_is_left_to_the_statement(monkeypatch: Any) -> None:
    """Beyond ``IN_MEMORY`` case facts the statement answers (``read`` gives None)."""
    connection = _read_model([{"type": "referral.received", "agency": "racs",
                               "case_ref": f"c{i}", "episode": 1, "day": i % 90,
                               "known_after": 1, "ended_after": None,
                               "cse_confirmed": True, "service": None} for i in range(4)])
    assert case_facts.read(connection, MEASURES) is not None
    monkeypatch.setattr(case_facts, "IN_MEMORY", 3)
    assert case_facts.read(connection, MEASURES) is None
