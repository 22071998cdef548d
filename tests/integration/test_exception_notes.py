"""Exception notes: owed when a measure is red or off course at a month's end, written by
its lead agency as a signed event, reviewed by the board, and replayed as known then.

The home counts against the invented Harbourside plan (examples/harbourside), whose two
measures with targets are red at 30 Sep 2019."""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest

from domain.application import Scorecard
from domain.errors import CommandError
from domain.exception_notes import note_message
from ingest.file_push import push_message
from projections.audit import audit_trail
from projections.report import build_report, load_plan
from projections.returns import returns_calendar
from scorecard.bootstrap import Home
from scorecard.rendering import render_text
from tests.integration.harbourside import AS_AT, MEASURE, NOW, at


def note(app: Scorecard, key: str, known: str, *, agency: str = "harbourside-council",
         measure: str = MEASURE, supersedes: str | None = None,
         recovery: str = "Two extra courses in October") -> Any:
    message = note_message(
        agency=agency, measure=measure, month="2019-09",
        what_happened="Fewer workers trained over the summer than profiled",
        why="Schools and teams were closed in August", recovery=recovery,
        recover_by="2019-12-31", owner="Head of Workforce Development",
        written_on=at(known).date(), supersedes=supersedes)
    return push_message(app, message, agency=agency, key=key, now=NOW, source="test",
                        known_at=at(known))


def flags(home: Home, app: Scorecard, known: str) -> dict[str, dict[str, Any]]:
    with home.projected(app) as connection:
        report = build_report(connection, as_at=AS_AT, known_at=at(known))
    return {m["id"]: m["exception"] for m in report.to_json()["measures"]}


def test_a_red_measure_owes_a_note_and_its_lifecycle_replays_as_known_then(
        home: Home, harbourside: tuple[Scorecard, dict[str, str]]) -> None:
    app, keys = harbourside
    council = keys["harbourside-council"]
    before = flags(home, app, "2019-10-02T00:00:00")
    assert before[MEASURE] == {"month": "2019-09", "required": True,
                               "reasons": ["red", "off course"], "status": "missing",
                               "note": None, "review": None}
    assert before["online_safety_schools_this_year"]["status"] == "missing"
    assert before["referrals_received"] is None  # no target: nothing owed

    first = note(app, council, "2019-10-05T10:00:00")
    assert first.status == "accepted"
    app.review_exception(MEASURE, "2019-09", "harbourside-council", first.event_id,
                         "more_requested", "Say how many places the extra courses add",
                         by="board", at=at("2019-10-07T10:00:00"))
    revised = note(app, council, "2019-10-09T10:00:00", supersedes=first.event_id,
                   recovery="Two extra courses in October: 60 more places")
    assert revised.status == "accepted"
    app.review_exception(MEASURE, "2019-09", "harbourside-council", revised.event_id,
                         "accepted", "", by="board", at=at("2019-10-10T10:00:00"))

    timeline = {known: flags(home, app, known)[MEASURE] for known in (
        "2019-10-04T00:00:00", "2019-10-06T00:00:00", "2019-10-08T00:00:00",
        "2019-10-09T12:00:00", "2019-10-11T00:00:00")}
    assert [f["status"] for f in timeline.values()] == [
        "missing", "submitted", "more_requested", "submitted", "accepted"]
    as_then = timeline["2019-10-08T00:00:00"]
    assert as_then["note"]["event_id"] == first.event_id
    assert as_then["note"]["recovery"] == "Two extra courses in October"
    assert as_then["review"]["comment"] == "Say how many places the extra courses add"
    now = timeline["2019-10-11T00:00:00"]
    assert now["note"]["event_id"] == revised.event_id
    assert now["note"]["recovery"].endswith("60 more places")
    assert now["note"]["owner"] == "Head of Workforce Development"
    assert now["review"]["decision"] == "accepted" and now["review"]["by"] == "board"
    # The other red measure still owes its note.
    assert flags(home, app, "2019-10-11T00:00:00")[
        "online_safety_schools_this_year"]["status"] == "missing"

    with home.projected(app) as connection:
        text = render_text(build_report(connection, as_at=AS_AT,
                                        known_at=at("2019-10-11T00:00:00")))
        trail = audit_trail(connection, agency="harbourside-council")
    assert f"{MEASURE} 2019-09: accepted - harbourside-council: Two extra courses" in text
    actions = [line["action"] for line in trail]
    assert "more asked of an exception note" in actions
    assert "exception note accepted" in actions


def test_only_the_lead_agency_writes_a_note_about_a_measure_of_the_plan(
        harbourside: tuple[Scorecard, dict[str, str]]) -> None:
    app, keys = harbourside
    wrong_agency = note(app, keys["harbour-youth-trust"], "2019-10-05T10:00:00",
                        agency="harbour-youth-trust")
    assert wrong_agency.rejection is not None
    assert wrong_agency.rejection.reason == "bad_reference"
    assert "led by harbourside-council" in wrong_agency.rejection.message
    unknown = note(app, keys["harbourside-council"], "2019-10-05T10:00:00",
                   measure="no_such_measure")
    assert unknown.rejection is not None and unknown.rejection.field == "payload.measure"
    again = note(app, keys["harbourside-council"], "2019-10-05T10:00:00")
    assert again.status == "accepted"
    assert note(app, keys["harbourside-council"], "2019-10-05T10:00:00").status == "duplicate"


def test_the_board_reviews_only_a_note_that_exists_and_asks_for_more_in_words(
        harbourside: tuple[Scorecard, dict[str, str]]) -> None:
    app, keys = harbourside
    written = note(app, keys["harbourside-council"], "2019-10-05T10:00:00")
    with pytest.raises(CommandError, match="no exception note xn-nope"):
        app.review_exception(MEASURE, "2019-09", "harbourside-council", "xn-nope",
                             "accepted", "", by="board", at=at("2019-10-06T00:00:00"))
    with pytest.raises(CommandError, match="needs a comment"):
        app.review_exception(MEASURE, "2019-09", "harbourside-council", written.event_id,
                             "more_requested", " ", by="board", at=at("2019-10-06T00:00:00"))
    with pytest.raises(CommandError, match="no exception note"):
        app.review_exception(MEASURE, "2019-08", "harbourside-council", written.event_id,
                             "accepted", "", by="board", at=at("2019-10-06T00:00:00"))


def test_a_note_is_not_a_return_for_the_month_it_is_written_in(
        home: Home, harbourside: tuple[Scorecard, dict[str, str]]) -> None:
    app, keys = harbourside
    note(app, keys["harbour-youth-trust"], "2019-10-05T10:00:00",
         agency="harbour-youth-trust", measure="online_safety_schools_this_year")
    with home.projected(app) as connection:
        rows = returns_calendar(connection, load_plan(connection), "2019-10",
                                at("2019-11-30T00:00:00"))
    trust = next(r for r in rows if r["agency"] == "harbour-youth-trust")
    assert trust["status"] == "missing" and trust["events"] == 0


@pytest.mark.parametrize(("as_at", "month"), [
    (date(2019, 9, 30), "2019-09"), (date(2019, 10, 16), "2019-09"),
    (date(2020, 1, 1), "2019-12"), (date(2020, 2, 29), "2020-02")])
def test_the_notes_shown_are_for_the_last_month_end(as_at: date, month: str) -> None:
    from projections.exceptions import note_month
    assert note_month(as_at) == month
