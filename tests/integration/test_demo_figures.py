"""The bundled demo reproduces the published figures (shared/reference-figures.md).

Each test names the seed document and section the figure is quoted from. Figures are
checked as known on the day they were published to the Commission (16 December 2015)
and as known today: later corrections in the demo history do not disturb them.
"""

from __future__ import annotations

import csv
import io
import threading
from collections.abc import Callable, Iterator
from datetime import UTC, date, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import duckdb
import pytest

from domain.timekeeping import end_of_day
from projections import fact_counts, lookups, symbols
from projections import report as report_module
from projections.breakdowns import breakdowns
from projections.readmodel import SCHEMA
from projections.report import (
    Report,
    ReportBuilder,
    build_report,
    scorecard_measures,
)
from projections.statistics import poisson_interval, wilson_interval
from scorecard.bootstrap import Home
from scorecard.demo.feed import run_feed
from scorecard.demo.schools import school_register
from scorecard.rendering import report_csv

# BRIEFING below is seeds/001_070443bf27343e7d.txt, the papers of 16 December 2015.
PUBLISHED = end_of_day(date(2015, 12, 16), ZoneInfo("Europe/London"))
TODAY = datetime.now(UTC)
KNOWLEDGE = pytest.mark.parametrize("known_at", [PUBLISHED, TODAY], ids=["published", "today"])


@pytest.fixture(scope="module")
def demo(new_demo_home: Callable[[], Path]) -> Iterator[duckdb.DuckDBPyConnection]:
    home = Home(new_demo_home())
    with home.reader() as built:  # the history was pushed with nothing rejected
        assert built.execute("SELECT count(*) FROM rejections").fetchone() == (0,)
    # the live feed has played a fortnight of the plan's final year, as under `make demo`
    fed = run_feed(home, 0, threading.Event(), days=14)
    assert fed.accepted > 0 and fed.rejected == 0
    with home.projected() as connection:
        yield connection


def report(demo: duckdb.DuckDBPyConnection, as_at: str, from_day: str,
           known_at: datetime) -> Report:
    return build_report(demo, as_at=date.fromisoformat(as_at), known_at=known_at,
                        from_day=date.fromisoformat(from_day))


def value(r: Report, measure: str, agency: str | None = None) -> int | float:
    found = r.measure(measure)
    result = found.value if agency is None else found.by_agency.get(agency, 0)
    assert result is not None, f"{measure} has no value (a rate with nothing to divide by)"
    return result


def facts(demo: duckdb.DuckDBPyConnection, where: str, known_at: datetime,
          select: str = "count(*)") -> int:
    """A figure the standard measures do not break down, read from the standing facts."""
    row = demo.execute(
        f"SELECT {select} FROM facts WHERE recorded_at <= ? "
        f"AND (ended_at IS NULL OR ended_at > ?) AND {where}",
        [known_at.replace(tzinfo=None), known_at.replace(tzinfo=None)],
    ).fetchone()
    assert row is not None
    return int(row[0] or 0)


# Post-CSE support services as at 31 October 2015 (BRIEFING section 2.3) ---------------

@KNOWLEDGE
@pytest.mark.parametrize(("from_day", "agency", "figures"), [
    # 2.3.5: the NSPCC helpline since its December 2014 launch: 194 contacts, 44 of them
    # about CSE in Rotherham, 9 referrals
    pytest.param("2014-12-01", "nspcc-helpline",
                 {"helpline_contacts": 194, "helpline_cse_contacts": 44,
                  "helpline_referrals": 9}, id="2.3.5-nspcc-helpline-194-44-9"),
    # 2.3.1: Rotherham Abuse Counselling Service, 96 ongoing cases, 39 closed
    pytest.param("2015-04-01", "racs", {"open_cases": 96, "cases_closed": 39},
                 id="2.3.1-racs-96-ongoing-39-closed"),
    # 2.3.2: GROW, 32 referrals (victims, parents, siblings); none closed yet
    pytest.param("2015-04-01", "grow", {"referrals_received": 32, "cases_closed": 0},
                 id="2.3.2-grow-32-referrals-none-closed"),
    # 2.3.3: Rotherham Women's Refuge (RISE) Project Survive, 37 ongoing, 6 closed
    pytest.param("2015-04-01", "rise", {"open_cases": 37, "cases_closed": 6},
                 id="2.3.3-rise-37-ongoing-6-closed"),
    # 2.3.4: Swinton Lock since its 1 July 2015 contract: 167 victims, parents and
    # siblings, 60 cases closed
    pytest.param("2015-07-01", "swinton-lock", {"referrals_received": 167, "cases_closed": 60},
                 id="2.3.4-swinton-lock-167-referred-60-closed"),
])
def test_the_services_figures_as_at_31_october_2015_are_as_published(
    demo: duckdb.DuckDBPyConnection, known_at: datetime, from_day: str, agency: str,
    figures: dict[str, int]
) -> None:
    """BRIEFING 2.3.1-2.3.5 (the section of each figure is beside it): a service's
    figures, counted from its launch, contract or the financial year's start."""
    r = report(demo, "2015-10-31", from_day, known_at)
    assert {measure: value(r, measure, agency) for measure in figures} == figures


@KNOWLEDGE
def test_nspcc_helpline_cse_contacts_by_channel_and_outcome(
    demo: duckdb.DuckDBPyConnection, known_at: datetime
) -> None:
    """BRIEFING 2.3.5: of the 44, 37 by phone and 7 by email; 7 advice, 28 responses to
    enquiries, 9 referrals into services."""
    window = ("type = 'helpline.contact' AND cse_related AND in_area "
              "AND occurred_on BETWEEN '2014-12-01' AND '2015-10-31'")
    assert facts(demo, f"{window} AND channel = 'phone'", known_at) == 37
    assert facts(demo, f"{window} AND channel = 'email'", known_at) == 7
    assert facts(demo, f"{window} AND outcome = 'advice'", known_at) == 7
    assert facts(demo, f"{window} AND outcome = 'enquiry_response'", known_at) == 28
    assert facts(demo, f"{window} AND outcome = 'referral'", known_at) == 9


@KNOWLEDGE
def test_swinton_lock_96_referrals_from_schools(
    demo: duckdb.DuckDBPyConnection, known_at: datetime
) -> None:
    """BRIEFING 2.3.4: of Swinton Lock's referrals since 1 July 2015, 96 from schools."""
    assert facts(demo, "agency = 'swinton-lock' AND type = 'referral.received' AND "
                       "source = 'education' AND occurred_on <= '2015-10-31'",
                 known_at) == 96


# Prevention and training 2014/15 (BRIEFING, needs analysis: prevention activity) ------

@KNOWLEDGE
def test_1552_workers_attended_cse_training_in_2014_15(
    demo: duckdb.DuckDBPyConnection, known_at: datetime
) -> None:
    """BRIEFING needs analysis: 1,552 workers attended CSE training and/or events."""
    assert value(report(demo, "2015-03-31", "2014-04-01", known_at), "workforce_trained") == 1552


@KNOWLEDGE
def test_1330_year_8_pupils_41_percent_of_the_cohort(
    demo: duckdb.DuckDBPyConnection, known_at: datetime
) -> None:
    """BRIEFING needs analysis: 1,330 Year 8 pupils attended CSE sessions (41% of Year 8)."""
    pupils = value(report(demo, "2015-03-31", "2014-04-01", known_at), "pupils_reached")
    cohort = sum(s.rolls["Y8"] for s in school_register() if s.phase == "secondary")
    assert pupils == 1330
    assert round(100 * pupils / cohort) == 41


@KNOWLEDGE
def test_community_awareness_375_plus_113_at_the_launch_and_8_trainers(
    demo: duckdb.DuckDBPyConnection, known_at: datetime
) -> None:
    """BRIEFING needs analysis: Nov 2014 - Mar 2015, 375 community members trained, plus
    113 at the November 2014 conference launch; 8 staff trained as trainers."""
    r = report(demo, "2015-03-31", "2014-11-01", known_at)
    assert value(r, "community_trained") == 375 + 113
    window = "type = 'training.delivered' AND occurred_on BETWEEN '2014-11-01' AND '2015-03-31'"
    launch = f"{window} AND course = 'cse-conference-launch'"
    assert facts(demo, launch, known_at, "sum(attendees)") == 113
    assert facts(demo, f"{window} AND audience = 'trainer'", known_at, "sum(attendees)") == 8


@KNOWLEDGE
def test_training_evaluation_85_and_87_percent(
    demo: duckdb.DuckDBPyConnection, known_at: datetime
) -> None:
    """BRIEFING needs analysis: 85% more understanding of risk, 87% of action to take."""
    evaluated = "type = 'training.delivered' AND (payload->'evaluation') IS NOT NULL"
    returned = facts(demo, evaluated, known_at,
                     "sum(CAST(payload->'evaluation'->>'returned' AS INTEGER))")
    risk = facts(demo, evaluated, known_at,
                 "sum(CAST(payload->'evaluation'->>'improved_risk_understanding' AS INTEGER))")
    action = facts(demo, evaluated, known_at,
                   "sum(CAST(payload->'evaluation'->>'improved_action_understanding' AS INTEGER))")
    assert round(100 * risk / returned) == 85
    assert round(100 * action / returned) == 87


# Schools, autumn term 2015 (BRIEFING section 3.3) -------------------------------------

@KNOWLEDGE
def test_autumn_2015_schools_keeping_safe_online_and_anti_bullying(
    demo: duckdb.DuckDBPyConnection, known_at: datetime
) -> None:
    """BRIEFING 3.3.2-3.3.3: 25 schools had Keeping Safe Online inputs; 25 used the
    anti-bullying officer's support."""
    autumn = ("type = 'school.session_delivered' AND "
              "occurred_on BETWEEN '2015-09-01' AND '2015-12-16'")
    for programme in ("keeping-safe-online", "anti-bullying"):
        assert facts(demo, f"{autumn} AND programme = '{programme}'", known_at,
                     "count(DISTINCT school)") == 25


@KNOWLEDGE
def test_62_professionals_at_the_chelseas_choice_preview(
    demo: duckdb.DuckDBPyConnection, known_at: datetime
) -> None:
    """BRIEFING 3.3: 62 professionals attended the Chelsea's Choice preview, Nov 2015."""
    preview = ("type = 'training.delivered' AND course = 'chelseas-choice-preview' "
               "AND occurred_on BETWEEN '2015-11-01' AND '2015-11-30'")
    assert facts(demo, preview, known_at, "sum(attendees)") == 62


# The replay story ------------------------------------------------------------------------

def test_october_2015_as_known_on_4_november_differs_from_today(
    demo: duckdb.DuckDBPyConnection,
) -> None:
    """seeds/001 minute 25 (4 Nov 2015): the Commission asked where the scorecard was. On
    that day most of October's returns had not arrived; today they have, and a double
    entry was withdrawn."""
    meeting = datetime(2015, 11, 4, 23, 59, tzinfo=UTC)
    then = report(demo, "2015-10-31", "2015-10-01", meeting)
    now = report(demo, "2015-10-31", "2015-10-01", TODAY)
    assert value(then, "helpline_contacts") == 0  # the helpline's return came on 9 Nov
    assert value(now, "helpline_contacts") > 0
    assert value(then, "referrals_received", "grow") < value(now, "referrals_received", "grow")
    late = demo.execute(
        "SELECT DISTINCT agency FROM facts WHERE occurred_on BETWEEN '2015-10-01' AND "
        "'2015-10-31' AND recorded_at > ? ORDER BY agency", [meeting.replace(tzinfo=None)]
    ).fetchall()
    assert {"nspcc-helpline", "grow", "rise"} <= {row[0] for row in late}


def test_a_double_entry_shows_until_it_is_withdrawn(demo: duckdb.DuckDBPyConnection) -> None:
    """Between the helpline's October return (9 Nov) and its retraction (2 Dec 2015) the
    scorecard counted one call twice."""
    in_between = report(demo, "2015-10-31", "2014-12-01", datetime(2015, 11, 20, tzinfo=UTC))
    assert value(in_between, "helpline_contacts") == 195
    assert value(report(demo, "2015-10-31", "2014-12-01", PUBLISHED), "helpline_contacts") == 194


def test_the_scorecard_action_was_off_track_at_the_november_meeting(
    demo: duckdb.DuckDBPyConnection,
) -> None:
    """seeds/003 minute 12 (22 Jul 2015): a scorecard promised for September 2015."""
    meeting = report(demo, "2015-11-04", "2015-04-01", datetime(2015, 11, 4, 23, 59, tzinfo=UTC))
    later = report(demo, "2016-03-31", "2015-04-01", TODAY)
    status = {a.code: a.status for a in meeting.actions}
    assert status["1.4.3"] == "off_track"
    assert {a.code: a.status for a in later.actions}["1.4.3"] == "complete"


@KNOWLEDGE
def test_racs_35_confirmed_cse_and_rise_15_in_counselling(
    demo: duckdb.DuckDBPyConnection, known_at: datetime
) -> None:
    """BRIEFING 2.3.1: RACS, 96 ongoing cases of CSA/CSE (35 confirmed CSE); 2.3.3: RISE,
    37 ongoing cases (15 of them counselling). Carried by the project's optional referral
    fields ``cse_confirmed`` and ``service``."""
    r = report(demo, "2015-10-31", "2015-04-01", known_at)
    assert value(r, "open_cases_confirmed_cse", "racs") == 35
    assert value(r, "open_cases_in_counselling", "rise") == 15


@KNOWLEDGE
def test_341_iyss_sessions_in_the_informal_curriculum(
    demo: duckdb.DuckDBPyConnection, known_at: datetime
) -> None:
    """BRIEFING needs analysis: 341 CSE sessions delivered by IYSS in the informal
    curriculum in 2014/15 (the project's ``youth_session.delivered`` events)."""
    r = report(demo, "2015-03-31", "2014-04-01", known_at)
    assert value(r, "youth_sessions_this_year", "rmbc-iyss") == 341


@KNOWLEDGE
def test_plan_measures_carry_the_375_and_the_96_from_schools(
    demo: duckdb.DuckDBPyConnection, known_at: datetime
) -> None:
    """The 375 community members at awareness training (without the launch) and Swinton
    Lock's 96 referrals from schools, as measures of the report itself."""
    assert value(report(demo, "2015-03-31", "2014-04-01", known_at),
                 "community_awareness_trained") == 375
    assert value(report(demo, "2015-10-31", "2015-04-01", known_at),
                 "referrals_from_schools", "swinton-lock") == 96


@pytest.mark.parametrize(("as_at", "known_at"), [
    ("2015-10-31", datetime(2015, 11, 4, 23, 59, tzinfo=UTC)),  # October not yet accepted
    ("2015-10-31", TODAY),  # October accepted, then revised: "r" markers
    ("2015-12-16", PUBLISHED),  # the meeting day
    ("2016-03-31", TODAY),
])
def test_the_batched_report_equals_the_report_measure_by_measure(
    demo: duckdb.DuckDBPyConnection, as_at: str, known_at: datetime
) -> None:
    """``build`` prefetches every measure in a few grouped queries; asking measure by
    measure, with nothing prefetched, must give exactly the same scorecard."""
    batched = ReportBuilder(demo, as_at=date.fromisoformat(as_at), known_at=known_at,
                            from_day=date(2014, 4, 1)).build()
    one_by_one = ReportBuilder(demo, as_at=date.fromisoformat(as_at), known_at=known_at,
                               from_day=date(2014, 4, 1))
    expected = [one_by_one.measure(m).to_json() for m in scorecard_measures(one_by_one.plan)]
    assert [m.to_json() for m in batched.measures] == expected
    assert batched.actions == one_by_one.actions()
    if as_at == "2015-10-31":
        assert any(m.marker for m in batched.measures)  # the markers are compared too
    # The honest figures are compared too: not all empty on either path.
    assert any(m.markers for m in batched.measures) or as_at == "2016-03-31"
    assert any(m.forecast for m in batched.measures)
    assert any(m.ci for m in batched.measures)
    assert any(m.completeness and m.completeness.agencies for m in batched.measures)
    assert any(m.trend_detail.marker != "cannot_calculate" for m in batched.measures)


# Honest figures at the Commission meeting of 16 December 2015 (issue 14) --------------

def test_a_yearly_target_is_judged_as_profiled_to_the_meeting_day(
    demo: duckdb.DuckDBPyConnection,
) -> None:
    """1,252 workers trained by 16 Dec 2015, day 260 of the 366-day financial year: the
    1,800 target is 1,279 so far, so the figure is amber (98% of it), not red (70% of
    the whole year's). The forecast is the eight complete months' run rate carried over
    the 122 days to come, 1,252 × 366 / 244."""
    trained = report(demo, "2015-12-16", "2015-04-01", PUBLISHED).measure(
        "workforce_trained_this_year")
    april_to_november = facts(demo, "type = 'training.delivered' AND audience = 'workforce' "
                              "AND occurred_on BETWEEN '2015-04-01' AND '2015-11-30'",
                              PUBLISHED, "sum(attendees)")
    assert (trained.value, trained.target) == (1252, 1800)
    assert trained.target_to_date == pytest.approx(1800 * 260 / 366)
    assert trained.rag == "amber"
    assert trained.forecast is not None
    assert trained.forecast.value == pytest.approx(april_to_november * 366 / 244)
    assert trained.forecast.low < trained.forecast.value < trained.forecast.high
    assert trained.forecast.months == 8
    assert trained.to_json()["forecast"]["outlook"] == trained.forecast.outlook


@pytest.mark.parametrize(("as_at", "known_at", "reliable"), [
    ("2015-12-16", PUBLISHED, True),
    ("2015-07-22", end_of_day(date(2015, 7, 22), ZoneInfo("Europe/London")), False),
])
def test_a_rate_shows_its_numerator_denominator_and_wilson_interval(
    demo: duckdb.DuckDBPyConnection, as_at: str, known_at: datetime, reliable: bool
) -> None:
    """Helpline emails answered within two hours: the share, its parts and the 95%
    Wilson interval; under 30 emails it is marked [u], low reliability."""
    emails = report(demo, as_at, "2015-04-01", known_at).measure(
        "email_answered_within_2_hours")
    window = (f"type = 'helpline.contact' AND channel = 'email' "
              f"AND occurred_on BETWEEN '2015-04-01' AND '{as_at}'")
    answered = facts(demo, f"{window} AND response_minutes <= 120", known_at)
    sent = facts(demo, window, known_at)
    assert (emails.numerator, emails.denominator) == (answered, sent)
    assert emails.value == pytest.approx(answered / sent)
    assert emails.ci == pytest.approx(wilson_interval(answered, sent))
    assert (symbols.LOW_RELIABILITY not in emails.markers) == reliable == (sent >= 30)
    shown = emails.to_json()
    assert (shown["ci_low"], shown["ci_high"]) == pytest.approx(emails.ci, abs=1e-6)


@KNOWLEDGE
def test_every_measure_has_a_target_or_a_reason_gss_markers_and_complete_month_trends(
    demo: duckdb.DuckDBPyConnection, known_at: datetime
) -> None:
    r = report(demo, "2015-12-16", "2015-04-01", known_at)
    for m in r.measures:
        shown = m.to_json()
        assert (shown["target"] is None) == bool(shown["no_target_reason"]), m.id
        assert set(shown["markers"]) <= set(symbols.LEGEND) - {symbols.SUPPRESSED}
        # a measure of demand moves up or down; only a judged one improves or worsens
        assert shown["trend"]["marker"] in (
            ("increasing", "decreasing") if shown["polarity"] == "none" else
            ("improving", "worsening")) + ("no_change", "cannot_calculate"), m.id
        # Complete months only: the month of the meeting is not a point of the trend.
        assert [v["month"] for v in shown["trend"]["values"]][-1] == "2015-11", m.id
        assert shown["metadata"]["counted"] and shown["metadata"]["disclosure"]
        if shown["unit"] == "count":
            assert shown["numerator"] is None and shown["ci_low"] is None
    assert (r.measure("helpline_contacts").no_target_reason or "").startswith("for information")


def test_provisional_and_completeness_at_the_november_meeting(
    demo: duckdb.DuckDBPyConnection,
) -> None:
    """On 4 November 2015 GROW's and RISE's October returns had not arrived: the
    referrals figure is provisional and 2 of its 4 agencies' returns are in. Today every
    return of the year is in and approved."""
    meeting = datetime(2015, 11, 4, 23, 59, tzinfo=UTC)
    then = report(demo, "2015-11-04", "2015-04-01", meeting).measure("referrals_received")
    assert symbols.PROVISIONAL in then.markers
    assert then.completeness is not None
    assert then.completeness.to_json() == {"month": "2015-10", "expected": 4, "received": 2,
                                           "missing": ["grow", "rise"]}
    assert then.completeness.shown() == "Returns in: 2 of 4 agencies for October 2015"
    now = report(demo, "2016-03-31", "2015-04-01", TODAY).measure("referrals_received")
    assert now.markers == []


def test_the_csv_export_carries_the_new_fields_and_the_legend(
    demo: duckdb.DuckDBPyConnection,
) -> None:
    text = report_csv(report(demo, "2015-12-16", "2015-04-01", PUBLISHED))
    table, legend = text.split("\n\n")
    rows = {row["id"]: row for row in csv.DictReader(io.StringIO(table))}
    trained = rows["workforce_trained_this_year"]
    assert (trained["value"], trained["target"], trained["rag"]) == ("1252", "1800", "amber")
    assert float(trained["target_to_date"]) == pytest.approx(1800 * 260 / 366)
    assert trained["markers"] == "[p]" and trained["outlook"]
    assert rows["email_answered_within_2_hours"]["denominator"] == "32"
    assert rows["helpline_contacts"]["no_target_reason"].startswith("for information")
    assert dict(list(csv.reader(io.StringIO(legend)))[1:]) == symbols.LEGEND
    assert "*" not in text


def test_a_rate_per_10000_children_with_its_population_and_interval(
    demo: duckdb.DuckDBPyConnection,
) -> None:
    """Referrals of children this financial year per 10,000 children (the plan's
    illustrative 56,000), with the exact Poisson interval of the count, scaled."""
    rate = report(demo, "2015-12-16", "2015-04-01", PUBLISHED).measure(
        "child_referrals_per_10000")
    children = facts(demo, "type = 'referral.received' AND client = 'child' AND "
                     "occurred_on BETWEEN '2015-04-01' AND '2015-12-16'", PUBLISHED)
    assert (rate.numerator, rate.denominator, rate.per, rate.unit) == (
        children, 56000, 10000, "rate")
    assert rate.value == pytest.approx(children * 10000 / 56000, abs=1e-6)
    low, high = poisson_interval(children)
    assert rate.ci == pytest.approx((low * 10000 / 56000, high * 10000 / 56000))
    assert "56,000 in 2015 (Office for National Statistics" in rate.metadata["denominator"]


@KNOWLEDGE
def test_breakdowns_of_referrals_and_open_cases_add_up_to_the_figure(
    demo: duckdb.DuckDBPyConnection, known_at: datetime
) -> None:
    """Age band, gender, client and source: each dimension adds up to the measure, and
    Swinton Lock's 96 referrals from schools are among those from education."""
    builder = ReportBuilder(demo, as_at=date(2015, 10, 31), known_at=known_at,
                            from_day=date(2015, 7, 1))
    measures = {m.id: m for m in scorecard_measures(builder.plan)}
    for measure_id in ("referrals_received", "open_cases", "open_cases_confirmed_cse"):
        shown = builder.measure(measures[measure_id])
        assert shown.window is not None
        split = breakdowns(demo, measures[measure_id], shown.window, builder.standing)
        assert set(split) == {"age_band", "gender", "client", "source"}
        for counts in split.values():
            assert sum(counts.values()) == shown.value, measure_id
    referred = breakdowns(demo, measures["referrals_received"], (date(2015, 7, 1),
                          date(2015, 10, 31)), builder.standing)
    assert referred["source"]["education"] == facts(
        demo, "type = 'referral.received' AND source = 'education' AND "
        "occurred_on BETWEEN '2015-07-01' AND '2015-10-31'", known_at)
    assert breakdowns(demo, measures["helpline_contacts"], (date(2015, 7, 1),
                      date(2015, 10, 31)), builder.standing) == {}


def test_a_rate_per_population_is_revised_only_when_its_count_changed(
    demo: duckdb.DuckDBPyConnection,
) -> None:
    """October 2015 was accepted, then late referrals arrived: the referrals count is
    revised [r], but none of the late ones was a child's, so the rate per 10,000
    children is not (its pinned count, not its scaled value, is what is compared)."""
    october = report(demo, "2015-10-31", "2015-04-01", PUBLISHED)
    assert symbols.REVISED in october.measure("referrals_received").markers
    rate = october.measure("child_referrals_per_10000")
    assert rate.marker is None and symbols.REVISED not in rate.markers


def test_a_distinct_count_is_forecast_from_its_new_items_by_school_term(
    demo: duckdb.DuckDBPyConnection,
) -> None:
    """25 schools had Keeping Safe Online inputs by 16 Dec 2015, all of them first seen
    in April to November, whose school-term weights add up to 6.3 (August weighs
    nothing); December to March, 3.7 more, carry the same rate: 25 + 3.7 × 25 / 6.3."""
    schools = report(demo, "2015-12-16", "2015-04-01", PUBLISHED).measure(
        "keeping_safe_online_schools")
    assert schools.value == 25 and schools.forecast is not None
    assert schools.forecast.value == pytest.approx(25 + 3.7 * 25 / 6.3)
    assert schools.target_to_date == pytest.approx(25 * (6.3 + 0.7 * 16 / 31) / 10)


@pytest.mark.parametrize(("as_at", "known_at"), [
    ("2015-10-31", datetime(2015, 11, 4, 23, 59, tzinfo=UTC)),
    ("2015-10-31", TODAY),
    ("2015-12-16", PUBLISHED),
    ("2016-03-31", TODAY),
])
def test_the_recorded_counts_give_the_report_its_aggregates_give(
    demo: duckdb.DuckDBPyConnection, as_at: str, known_at: datetime,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The report answers its flow measures from the counts the projector recorded
    (``projections/fact_counts.py``, all in one statement) and its state measures'
    other questions with their open cases (``standing.StateFacts``, from the case facts
    kept in memory: ``projections/case_facts.py``); with no counts recorded, without
    that statement and without the case facts it writes each aggregate out, as it did
    before. Both give the same report, to the last field."""
    measures = scorecard_measures(ReportBuilder(demo, as_at=date(2015, 12, 16),
                                                known_at=PUBLISHED).plan)
    assert len(fact_counts.counts_of(measures)) > 10
    assert fact_counts.ids_for(measures, fact_counts.recorded(demo)) is not None  # in use
    fast = build_report(demo, as_at=date.fromisoformat(as_at), known_at=known_at,
                        from_day=date(2014, 4, 1)).to_json()
    # As if none were recorded (the recorded ids are read once per read-model state).
    monkeypatch.setattr(fact_counts, "ids_for", lambda _measures, _ids: None)
    monkeypatch.setattr(report_module, "StateFacts", lambda *_args: None)
    monkeypatch.setattr(ReportBuilder, "case_facts", lambda *_args: None)
    written_out = build_report(demo, as_at=date.fromisoformat(as_at), known_at=known_at,
                               from_day=date(2014, 4, 1)).to_json()
    assert fast == written_out


@KNOWLEDGE
def test_backfilled_events_are_counted_alike_from_the_kept_lookups_and_the_statement(
    demo: duckdb.DuckDBPyConnection, known_at: datetime, monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A report counts the window's backfilled events from the lookups kept per state
    while they are few (``lookups.BACKFILL_GROUPS``), else by its own statement: both
    give the same counts (the demo's history was pushed as a backfill)."""
    def backfilled(found: lookups.Lookups) -> dict[str, int]:
        builder = ReportBuilder(demo, as_at=date(2015, 12, 16), known_at=known_at,
                                from_day=date(2015, 4, 1))
        builder.lookups = found
        return builder.backfilled()

    kept = lookups.read(demo)
    assert kept.backfills is not None
    monkeypatch.setattr(lookups, "BACKFILL_GROUPS", 10)
    too_many = lookups.read(demo)
    assert too_many.backfills is None
    counted = backfilled(kept)
    assert counted and sum(counted.values()) > 100
    assert counted == backfilled(too_many)


def test_the_small_tables_are_read_once_per_state_of_the_read_model(
    demo: duckdb.DuckDBPyConnection,
) -> None:
    """A report's lookups (rules, approvals, notes, ...) are read once per (file,
    tracking positions) and kept; an in-memory database, which has no file to tell two
    apart, is read afresh each time."""
    kept = lookups.lookups(demo)
    reads = lookups.memo().reads
    assert lookups.lookups(demo) is kept
    build_report(demo, as_at=date(2015, 12, 16), known_at=PUBLISHED)
    memory = duckdb.connect()
    memory.execute(SCHEMA)
    assert lookups.lookups(memory) is not lookups.lookups(memory)
    assert lookups.memo().reads == reads
