"""Governing by the scorecard: rules, targets, returns, sign-off, restatements, quality."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import duckdb
import pytest

from domain.application import Scorecard
from ingest.file_push import push_file
from projections.report import Report, build_report, load_plan
from projections.restatements import restatements
from projections.returns import data_quality, returns_calendar
from scorecard.bootstrap import Home
from tests.support import event, plan_file, register, write_jsonl

NOW = datetime(2026, 1, 1, tzinfo=UTC)
RAG = [{"rag": "green", "share": 1.0}, {"rag": "amber", "share": 0.8}, {"rag": "red"}]
MEASURES = [
    {"id": "helpline_contacts", "objective": "4.2", "polarity": "higher",
     "target": [{"from": "2015-04-01", "value": 10}], "rag": RAG},
    {"id": "phone_contacts_this_month", "title": "Phone contacts this month", "period": "monthly",
     "numerator": {"count": "helpline.contact", "where": {"channel": "phone"}},
     "target": [{"from": "2015-04-01", "value": 3.6}], "rag": RAG},
    {"id": "attendees_this_year", "title": "Attendees this year", "period": "financial_year",
     "numerator": {"sum": "attendees", "of": "training.delivered"}},
    {"id": "schools_ever", "title": "Schools reached since the plan began",
     "period": "cumulative", "numerator": {"distinct": "school", "of": "school.session_delivered"}},
    {"id": "emails_answered_fast", "title": "Emails answered within 2 hours",
     "period": "cumulative",
     "numerator": {"count": "helpline.contact",
                   "where": {"channel": "email", "response_minutes": {"max": 120}}},
     "denominator": {"count": "helpline.contact", "where": {"channel": "email"}},
     "target": [{"from": "2015-04-01", "value": 0.5}], "rag": RAG},
]
RETURNS = {"deadline_days": 10, "agencies": [{"agency": "racs", "from": "2015-09"},
                                               {"agency": "grow", "from": "2015-09"}]}


@pytest.fixture
def app(home: Home, tmp_path: Path) -> Scorecard:
    """The home, counting against the bundled plan with these measures and returns."""
    return home.open(plan_file(tmp_path / "plan.yaml", measures=MEASURES, returns=RETURNS))


def at(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


def push(app: Scorecard, tmp_path: Path, key: str, known: str, *messages: dict[str, Any],
         agency: str = "racs") -> None:
    summary = push_file(app, write_jsonl(tmp_path / f"{known}.jsonl", list(messages)),
                        agency=agency, key=key, now=NOW, known_at=at(known))
    assert summary.rejected == 0, summary.rejections


def report(home: Home, app: Scorecard, as_at: str, known: datetime = NOW,
           rules: str = "then") -> Report:
    with home.projected(app) as connection:
        return build_report(connection, as_at=date.fromisoformat(as_at), known_at=known,
                            rules=rules)


def test_each_kind_of_measure_and_its_rag_with_visible_rules(
    home: Home, app: Scorecard, tmp_path: Path
) -> None:
    key = register(app, "racs")
    push(app, tmp_path, key, "2015-10-05T09:00:00",
         *[event("helpline.contact", f"p-{n}", f"2015-09-{n + 1:02d}") for n in range(3)],
         *[event("helpline.contact", f"e-{n}", f"2015-09-{n + 10:02d}", channel="email",
                 response_minutes=60 if n < 2 else 500) for n in range(4)],
         event("training.delivered", "t-1", "2015-05-01", attendees=30),
         event("training.delivered", "t-2", "2015-03-31", attendees=99),  # last year
         event("school.session_delivered", "s-1", "2015-06-01", school="100001"),
         event("school.session_delivered", "s-2", "2015-07-01", school="100001"),
         event("school.session_delivered", "s-3", "2015-09-01", school="100002"))
    r = report(home, app, "2015-09-30")
    contacts = r.measure("helpline_contacts")
    assert (contacts.value, contacts.target, contacts.rag) == (7, 10, "red")
    phone = r.measure("phone_contacts_this_month")
    assert (phone.value, phone.rag) == (3, "amber")  # 3 of 3.6 is 83%: at least 80%
    assert r.measure("attendees_this_year").value == 30
    assert r.measure("schools_ever").value == 2
    emails = r.measure("emails_answered_fast")
    assert (emails.value, emails.unit, emails.rag) == (0.5, "share", "green")
    shown = emails.to_json()
    assert shown["rule"] == ("green if value >= 100% of target; amber if value >= 80% of "
                             "target; red otherwise")
    assert shown["rules"]["rag"] == RAG and shown["rules"]["by"] == "plan file"
    assert shown["trend"]["test"].startswith("Mann-Kendall")
    assert [v["month"] for v in shown["trend"]["values"]][-1] == "2015-09"


def test_a_target_change_replayed_under_the_rules_then_and_now(
    home: Home, app: Scorecard, tmp_path: Path
) -> None:
    key = register(app, "racs")
    push(app, tmp_path, key, "2015-10-05T09:00:00",
         *[event("helpline.contact", f"h-{n}", "2015-09-10") for n in range(9)])
    app.change_rules("helpline_contacts", {"target": [{"from": "2015-04-01", "value": 20}],
                                           "rag": RAG}, "Raised after the November meeting",
                     by="board chair", at=at("2015-11-20T12:00:00"))
    meeting = at("2015-11-04T23:59:00")
    then = report(home, app, "2015-09-30", meeting, rules="then").measure("helpline_contacts")
    now = report(home, app, "2015-09-30", meeting, rules="now").measure("helpline_contacts")
    assert (then.target, then.rag, then.rules_as_of) == (10, "amber", "then")
    assert (now.target, now.rag, now.rules_as_of) == (20, "red", "now")
    assert now.rules is not None and now.rules.by == "board chair"
    with home.projected(app) as connection:
        diff = restatements(connection, as_at=date(2015, 9, 30), known_at=meeting,
                            against=NOW)
    (change,) = diff["measures"]
    assert change["measure"] == "helpline_contacts"
    assert [c["cause"] for c in change["causes"]] == ["rule change"]


def test_returns_late_on_time_missing_not_due_and_nil(
    home: Home, app: Scorecard, tmp_path: Path
) -> None:
    racs, grow = register(app, "racs"), register(app, "grow")
    push(app, tmp_path, racs, "2015-10-08T09:00:00", event("helpline.contact", "h-1",
                                                         "2015-09-15"))
    push(app, tmp_path, racs, "2015-11-20T09:00:00", event("helpline.contact", "h-2",
                                                         "2015-10-15"))
    app.approve_return("grow", "2015-09", grow, by="grow officer", at=at("2015-10-02T10:00:00"))

    def statuses(month: str, known: datetime) -> dict[str, str]:
        with home.projected(app) as connection:
            rows = returns_calendar(connection, load_plan(connection), month, known)
        return {r["agency"]: r["status"] for r in rows}

    assert statuses("2015-09", NOW) == {"racs": "on time", "grow": "on time"}  # grow: nil
    assert statuses("2015-10", at("2015-11-05T00:00:00")) == {"racs": "not yet due",
                                                              "grow": "not yet due"}
    assert statuses("2015-10", NOW) == {"racs": "late", "grow": "missing"}
    assert statuses("2015-08", NOW) == {}  # owed only from September


def test_provisional_until_approved_and_revised_after_acceptance(
    home: Home, app: Scorecard, tmp_path: Path
) -> None:
    key = register(app, "racs")
    push(app, tmp_path, key, "2015-11-05T09:00:00",
         *[event("helpline.contact", f"h-{n}", "2015-10-10") for n in range(5)])
    assert report(home, app, "2015-10-31").measure("helpline_contacts").marker == "p"
    app.approve_return("racs", "2015-10", key, by="racs officer", at=at("2015-11-06T09:00:00"))
    assert report(home, app, "2015-10-31").measure("helpline_contacts").marker is None
    app.accept_month("2015-10", by="board", at=at("2015-11-25T12:00:00"))
    assert report(home, app, "2015-10-31").measure("helpline_contacts").marker is None
    push(app, tmp_path, key, "2015-12-02T09:00:00",
         event("event.retracted", "x-1", "2015-12-02", target="h-1", reason="test call"))
    revised = report(home, app, "2015-10-31").measure("helpline_contacts")
    assert (revised.value, revised.marker) == (4, "r")
    before = report(home, app, "2015-10-31", at("2015-12-01T00:00:00"))
    assert before.measure("helpline_contacts").marker is None


def test_data_quality_rates_per_agency_and_month(
    home: Home, app: Scorecard, tmp_path: Path
) -> None:
    key = register(app, "racs")
    push(app, tmp_path, key, "2015-10-25T09:00:00",
         *[event("helpline.contact", f"h-{n}", "2015-09-10") for n in range(4)])
    push_file(app, write_jsonl(tmp_path / "bad.jsonl", [
        event("helpline.contact", "bad", "2015-09-11", channel="fax")]),
        agency="racs", key=key, now=NOW, known_at=at("2015-10-25T10:00:00"))
    push(app, tmp_path, key, "2015-11-01T09:00:00",
         event("helpline.contact", "h-0b", "2015-09-10", supersedes="h-0", channel="email"))
    with home.projected(app) as connection:
        rows = {(r["agency"], r["month"]): r
                for r in data_quality(connection, load_plan(connection), NOW, "racs")}
    september = rows[("racs", "2015-09")]
    assert (september["events"], september["revision_rate"]) == (5, 0.2)
    assert september["days_late"] == 15  # due 10 October, first arrived 25 October
    assert rows[("racs", "2015-10")]["rejection_rate"] == 0.2  # 1 of 5 received in October


@pytest.fixture(scope="module")
def demo(new_demo_home: Callable[[], Path]) -> Iterator[duckdb.DuckDBPyConnection]:
    home = Home(new_demo_home())
    with home.projected() as connection:
        yield connection


def causes(diff: dict[str, Any], measure: str) -> set[str]:
    change = next(c for c in diff["measures"] if c["measure"] == measure)
    return {c["cause"] for c in change["causes"]}


def test_the_demo_restatements_name_their_causes(demo: duckdb.DuckDBPyConnection) -> None:
    october = restatements(demo, as_at=date(2015, 10, 31), from_day=date(2015, 10, 1),
                           known_at=at("2015-11-04T23:59:00"), against=NOW)
    assert causes(october, "helpline_contacts") == {"late return", "retraction"}
    assert "late return" in causes(october, "referrals_received")
    november = restatements(demo, as_at=date(2015, 11, 30), from_day=date(2015, 11, 1),
                            known_at=at("2016-01-31T00:00:00"), against=NOW)
    (correction,) = [c for c in next(m for m in november["measures"]
                                     if m["measure"] == "workforce_trained")["causes"]]
    assert correction["cause"] == "correction"
    assert {e["agency"] for e in correction["events"]} == {"rlscb"}
    december = restatements(demo, as_at=date(2015, 12, 16), known_at=at("2015-12-01T00:00:00"),
                            against=at("2015-12-17T00:00:00"))
    assert "rule change" in causes(december, "email_answered_within_2_hours")
    scorecard_action = [a for a in restatements(
        demo, as_at=date(2015, 11, 4), known_at=at("2015-10-01T00:00:00"),
        against=at("2015-11-04T23:59:00"))["actions"] if a["action"] == "1.4.3"]
    assert scorecard_action and scorecard_action[0]["now"] == "off_track"


def test_without_a_returns_policy_each_month_an_agency_sent_must_be_approved(
    home: Home, tmp_path: Path
) -> None:
    """A plan with no ``returns`` section: an agency owes approval for each month it
    sent facts in, so its figure is [p] until then, and the month's completeness
    counts it as received."""
    app = home.open(plan_file(tmp_path / "plan.yaml", measures=MEASURES, returns=None))
    key = register(app, "racs")
    push(app, tmp_path, key, "2015-11-05T09:00:00",
         *[event("helpline.contact", f"h-{n}", "2015-10-10") for n in range(3)])
    with home.projected(app) as connection:
        before = build_report(connection, as_at=date(2015, 10, 31), known_at=NOW,
                              from_day=date(2015, 10, 1)).measure("helpline_contacts")
    assert before.markers == ["[p]"]
    assert before.completeness is not None
    assert before.completeness.to_json() == {"month": "2015-10", "expected": 1,
                                             "received": 1, "missing": []}
    app.approve_return("racs", "2015-10", key, by="racs officer", at=at("2015-11-06T09:00:00"))
    with home.projected(app) as connection:
        after = build_report(connection, as_at=date(2015, 10, 31), known_at=NOW,
                             from_day=date(2015, 10, 1)).measure("helpline_contacts")
    assert after.markers == []


def test_a_measure_of_demand_is_refused_a_target_by_a_rule_change(
        home: Home, tmp_path: Path) -> None:
    """Polarity none (no judgement) carries no target: the plan check refused one, but a
    rule change was accepted and the measure then judged as if lower were better."""
    from domain.errors import CommandError

    app = home.open()  # the bundled plan: referrals received are a measure of demand
    with pytest.raises(CommandError, match="polarity none"):
        app.change_rules("referrals_received", {"target": [{"from": "2015-04-01",
                                                            "value": 50}], "rag": RAG},
                         "a target for demand", by="board chair", at=NOW)
    app.change_rules("community_trained", {"target": [{"from": "2015-04-01", "value": 50}]},
                     "a target for an output", by="board chair", at=NOW)  # has a direction
