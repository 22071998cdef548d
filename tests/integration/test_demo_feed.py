"""The demo's live feed (#15 item 5): a few simulated days of the plan's final year move
the live scorecard, leave the published 2015 figures as they were, and a restarted feed
adds nothing twice."""

from __future__ import annotations

import threading
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from domain.timekeeping import end_of_day
from projections.report import build_report
from scorecard.bootstrap import Home
from scorecard.demo.feed import day_messages, final_year, run_feed
from scorecard.rendering import report_json

PUBLISHED = end_of_day(date(2015, 12, 16), ZoneInfo("Europe/London"))
DAYS = 4


@pytest.fixture(scope="module")
def home(new_demo_home: Callable[[], Path]) -> Home:
    return Home(new_demo_home())


def published_scorecard(home: Home) -> str:
    with home.projected() as connection:
        return report_json(build_report(connection, as_at=date(2015, 10, 31),
                                        known_at=PUBLISHED, from_day=date(2015, 4, 1)))


def live(home: Home, measure: str) -> int | float | None:
    app = home.open()
    first, last = final_year(app.plan)
    with home.projected(app) as connection:
        report = build_report(connection, as_at=last, known_at=datetime.now(UTC),
                              from_day=first)
    return report.measure(measure).value


def test_the_feed_moves_the_live_scorecard_and_not_the_published_figures(home: Home) -> None:
    app = home.open()
    first, last = final_year(app.plan)
    assert (first, last) == (date(2017, 4, 1), date(2018, 3, 31))
    before = published_scorecard(home)
    assert live(home, "helpline_contacts") == 0  # nothing happened in 2017-18 yet

    pushed = run_feed(home, 0, threading.Event(), days=DAYS)
    sent = [day_messages(app.plan, first + timedelta(days=n)) for n in range(DAYS)]
    assert pushed.rejected == 0 and pushed.accepted == sum(d.count for d in sent) > 0
    helpline = sum(len(d.messages.get("nspcc-helpline", [])) for d in sent)
    assert live(home, "helpline_contacts") == helpline > 0
    assert published_scorecard(home) == before

    again = run_feed(home, 0, threading.Event(), days=DAYS)  # a restart: the same days
    assert (again.accepted, again.duplicate) == (0, pushed.accepted)
    assert live(home, "helpline_contacts") == helpline
    assert published_scorecard(home) == before


def test_the_feed_s_messages_are_the_same_every_time() -> None:
    from domain.plan import Plan, load_plan_document

    plan = Plan.from_document(load_plan_document(None))
    day = date(2017, 6, 1)
    assert day_messages(plan, day) == day_messages(plan, day)
    ids = [m["event_id"] for ms in day_messages(plan, day).messages.values() for m in ms]
    assert ids == [f"feed-20170601-{n:03d}" for n in range(1, len(ids) + 1)]
