"""A cached report is served only while it is still the true answer."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from pathlib import Path

from domain.application import Scorecard
from projections.report import Report, build_report
from projections.report_cache import ReportCache
from scorecard.bootstrap import Home
from tests.integration.test_embedded_store import MEETING, NOV_10, OCT_5, push
from tests.support import event, register

AS_AT = date(2015, 10, 31)


def contacts(report: Report) -> int | float | None:
    return report.measure("helpline_contacts").value


def test_a_live_page_polling_with_nothing_new_reuses_its_report(home: Home,
                                                                 tmp_path: Path) -> None:
    app = home.open()
    key = register(app)
    push(app, tmp_path / "a.jsonl", [event("helpline.contact", "c1", "2015-10-02")], key)
    cache = ReportCache()
    now = datetime.now(UTC)
    with home.projected(app) as connection:
        first = cache.report(connection, as_at=AS_AT, known_at=now)
        again = cache.report(connection, as_at=AS_AT, known_at=now + timedelta(seconds=1))
    assert cache.built == 1
    assert again.known_at == now + timedelta(seconds=1)
    assert again.to_json() | {"known_at": None} == first.to_json() | {"known_at": None}
    push(app, tmp_path / "b.jsonl", [event("helpline.contact", "c2", "2015-10-03")], key)
    with home.projected(app) as connection:
        later = cache.report(connection, as_at=AS_AT, known_at=datetime.now(UTC))
        expected = build_report(connection, as_at=AS_AT, known_at=later.known_at)
    assert cache.built == 2  # something new was folded: built again
    assert contacts(later) == 2
    assert later.to_json() == expected.to_json()


def test_a_report_is_rebuilt_when_something_became_known_in_between(
    home: Home, tmp_path: Path
) -> None:
    """Same read model, two knowledge times either side of a backfilled return: the
    cache must not hand the earlier answer to the later question, nor the reverse."""
    app: Scorecard = home.open()
    key = register(app)
    push(app, tmp_path / "a.jsonl", [event("helpline.contact", "c1", "2015-10-02")], key,
         known_at=OCT_5)
    push(app, tmp_path / "b.jsonl", [event("helpline.contact", "c2", "2015-10-20")], key,
         known_at=NOV_10)
    cache = ReportCache()
    with home.projected(app) as connection:
        at_meeting = cache.report(connection, as_at=AS_AT, known_at=MEETING)
        after = cache.report(connection, as_at=AS_AT, known_at=NOV_10 + timedelta(days=1))
        meeting_again = cache.report(connection, as_at=AS_AT, known_at=MEETING)
        same_span = cache.report(connection, as_at=AS_AT, known_at=MEETING + timedelta(hours=1))
    assert (contacts(at_meeting), contacts(after), contacts(meeting_again)) == (1, 2, 1)
    assert contacts(same_span) == 1
    assert cache.built == 3  # the last one: nothing became known between the two times


def test_the_cache_keeps_only_the_most_recent_reports(home: Home, tmp_path: Path) -> None:
    app = home.open()
    key = register(app)
    push(app, tmp_path / "a.jsonl", [event("helpline.contact", "c1", "2015-10-02")], key)
    cache = ReportCache(size=2)
    now = datetime.now(UTC)
    with home.projected(app) as connection:
        for day in (29, 30, 31, 29):
            cache.report(connection, as_at=date(2015, 10, day), known_at=now)
    assert cache.built == 4  # 29 October was evicted by 30 and 31, so built again


def test_a_rule_change_or_sign_off_between_the_two_times_forces_a_rebuild(
    home: Home, tmp_path: Path
) -> None:
    """Nothing new folded between the requests, but a target and the board's acceptance
    became known between the two knowledge times: both must show in the later report."""
    app = home.open()
    key = register(app)
    push(app, tmp_path / "a.jsonl", [event("helpline.contact", "c1", "2015-10-02")], key,
         known_at=OCT_5)
    # a measure with a direction (a measure of demand, polarity none, takes no target)
    app.change_rules("community_trained", {"target": [{"from": "2015-04-01", "value": 20}]},
                     "set after the meeting", by="board chair", at=NOV_10)
    app.accept_month("2015-10", by="board", at=NOV_10)
    cache = ReportCache()
    with home.projected(app) as connection:
        before = cache.report(connection, as_at=AS_AT, known_at=MEETING).measure(
            "community_trained")
        after = cache.report(connection, as_at=AS_AT, known_at=NOV_10 + timedelta(days=1))
        expected = build_report(connection, as_at=AS_AT, known_at=after.known_at)
    assert before.target != 20 and before.rules_as_of == "then"
    assert after.measure("community_trained").target == 20
    assert after.to_json() == expected.to_json()
    assert cache.built == 2


def test_an_approval_between_the_two_times_clears_the_provisional_marker(
    home: Home, tmp_path: Path
) -> None:
    """The GSS markers are part of the cached report: an agency approving October's
    return, with no new fact, makes October's figure final ([p] gone), so the report as
    known after the approval must be built again."""
    app = home.open()
    key = register(app)
    push(app, tmp_path / "a.jsonl", [event("helpline.contact", "c1", "2015-10-02")], key,
         known_at=OCT_5)
    app.approve_return("racs", "2015-10", key, by="racs officer", at=NOV_10)
    cache = ReportCache()
    october = date(2015, 10, 1)
    with home.projected(app) as connection:
        before = cache.report(connection, as_at=AS_AT, known_at=MEETING, from_day=october)
        after = cache.report(connection, as_at=AS_AT, known_at=NOV_10 + timedelta(days=1),
                             from_day=october)
        expected = build_report(connection, as_at=AS_AT, known_at=after.known_at,
                                from_day=october)
    assert before.measure("helpline_contacts").markers == ["[p]"]
    assert after.measure("helpline_contacts").markers == []
    assert after.to_json() == expected.to_json()
    assert cache.built == 2
