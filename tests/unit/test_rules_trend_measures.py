"""Targets and RAG rules, the trend test, and the measure compiler."""

from __future__ import annotations

from datetime import date

import duckdb
import pytest

from domain.rules import MeasureRules, RulesError
from projections.measures import STANDARD_MEASURES, Count, MeasureError, plan_measure
from projections.readmodel import SCHEMA
from projections.trend import direction, mann_kendall

RULES = MeasureRules.from_document({
    "target": [{"from": "2015-04-01", "value": 100}, {"from": "2016-04-01", "value": 200}],
    "rag": [{"rag": "green", "share": 1.0}, {"rag": "amber", "share": 0.8}, {"rag": "red"}],
})


@pytest.mark.parametrize(("value", "day", "polarity", "rag"), [
    (100, date(2015, 6, 1), "higher", "green"),
    (99, date(2015, 6, 1), "higher", "amber"),
    (80, date(2015, 6, 1), "higher", "amber"),
    (79, date(2015, 6, 1), "higher", "red"),
    (150, date(2016, 6, 1), "higher", "red"),     # the target stepped up to 200
    (100, date(2015, 6, 1), "lower", "green"),
    (110, date(2015, 6, 1), "lower", "amber"),    # at most 120% is amber when lower is better
    (121, date(2015, 6, 1), "lower", "red"),
])
def test_ordered_rag_rules_against_the_target_in_force(
    value: float, day: date, polarity: str, rag: str
) -> None:
    rules = RULES if polarity == "higher" else MeasureRules.from_document({
        "target": RULES.to_document()["target"],
        "rag": [{"rag": "green", "share": 1.0}, {"rag": "amber", "share": 1.2}, {"rag": "red"}]})
    assert rules.judge(value, day, polarity) == rag


def test_no_target_before_the_first_step_means_no_rag() -> None:
    assert RULES.target_on(date(2015, 1, 1)) is None
    assert RULES.judge(500, date(2015, 1, 1), "higher") is None
    assert RULES.describe("higher") == ("green if value >= 100% of target; "
                                        "amber if value >= 80% of target; red otherwise")


@pytest.mark.parametrize("document", [
    {"target": [{"from": "soon", "value": 1}]},
    {"target": [{"from": "2015-01-01"}]},
    {"rag": [{"rag": "blue"}]},
    {"rag": [{"rag": "green", "share": "all"}]},
    {"target": {"from": "2015-01-01", "value": 1}},
])
def test_unusable_rules_are_refused(document: dict[str, object]) -> None:
    with pytest.raises(RulesError):
        MeasureRules.from_document(document)


def test_mann_kendall_on_known_series() -> None:
    statistic, p_value = mann_kendall([1, 2, 3, 4, 5, 6])
    assert statistic == 15 and p_value == pytest.approx(0.0085, abs=1e-3)
    assert mann_kendall([3, 3, 3, 3]) == (0, 1.0)
    assert direction([1, 2, 3, 4, 5, 6], "higher") == "improving"
    assert direction([1, 2, 3, 4, 5, 6], "lower") == "worsening"
    assert direction([6, 5, 4, 3, 2, 1], "higher") == "worsening"
    assert direction([3, 1, 4, 1, 5, 2], "higher") == "no significant change"
    assert direction([1, 2, None, 3], "higher") == "not enough data"


def test_counts_compile_to_sql_that_duckdb_runs_on_the_read_model() -> None:
    connection = duckdb.connect()
    connection.execute(SCHEMA)
    for position, (course, attendees) in enumerate([("it's", 10), ("x", 5), ("it's", 80)]):
        connection.execute(
            "INSERT INTO facts (position, submission_id, agency, event_id, type, occurred_at, "
            "occurred_utc, occurred_on, recorded_at, backfill, course, attendees, payload) "
            "VALUES (?, ?, 'a', ?, 'training.delivered', '2015-01-01', '2015-01-01', "
            "'2015-01-01', '2015-01-02', FALSE, ?, ?, '{\"note\": \"n\"}')",
            [position, str(position), str(position), course, attendees])
    count = Count.parse({"sum": "attendees", "of": "training.delivered",
                         "where": {"course": ["it's"], "attendees": {"min": 1, "max": 50}}})
    sql = f"SELECT {count.expression()} FROM facts WHERE {count.condition()}"
    assert connection.execute(sql).fetchone() == (10,)
    assert "payload" not in count.condition()  # a typed column, not a JSON lookup per row


@pytest.mark.parametrize(("spec", "words"), [
    ({"count": "helpline.call"}, "not an event type"),
    ({"sum": "attendees; DROP TABLE facts", "of": "training.delivered"}, "not a field"),
    ({"count": "helpline.contact", "where": {"channel": {"like": "%"}}}, "min and/or max"),
    ({"count": "helpline.contact", "where": {"channel": {"nested": "x"}}}, "min and/or max"),
    ({"distinct": "school"}, "not an event type"),
    ({"of": "helpline.contact"}, "count:, sum: or distinct:"),
])
def test_bad_counts_are_refused_naming_the_problem(spec: dict[str, object], words: str) -> None:
    with pytest.raises(MeasureError, match=words):
        Count.parse(spec)


def test_plan_measures_overlay_standard_ones_without_changing_their_count() -> None:
    standard = {m.id: m for m in STANDARD_MEASURES}
    overlay = plan_measure({"id": "helpline_contacts", "objective": "4.2",
                            "polarity": "lower", "numerator": {"count": "case.closed"}},
                           standard)
    assert overlay.numerator == standard["helpline_contacts"].numerator
    assert (overlay.objective, overlay.polarity) == ("4.2", "lower")
    with pytest.raises(MeasureError, match="period"):
        plan_measure({"id": "x", "title": "X", "numerator": {"count": "case.closed"},
                      "period": "weekly"}, standard)
    with pytest.raises(MeasureError, match="title and a numerator"):
        plan_measure({"id": "y"}, standard)


def test_a_measure_of_demand_has_no_judgement_of_direction() -> None:
    """Caseloads read "↑ improving" and "higher is better": more referrals of abused
    children is not in itself better or worse (Fingertips' "no judgement" polarity)."""
    from projections.measures import STANDARD_MEASURES, MeasureError, plan_measure
    from projections.trend import trend

    rising = [1.0, 2.0, 3.0, 4.0, 5.0, 6.0]
    assert trend(rising, "none").words == "increasing"
    assert trend(list(reversed(rising)), "none").words == "decreasing"
    assert trend(rising, "higher").words == "improving"
    assert trend(rising, "lower").words == "worsening"
    standard = {m.id: m for m in STANDARD_MEASURES}
    assert plan_measure({"id": "open_cases", "polarity": "none"}, standard).polarity == "none"
    # the plan check refuses it a target, in a plan file and in a rule change alike
    from domain.plan import Plan, PlanError, load_plan_document, with_rules

    targeted = with_rules(load_plan_document(), "open_cases",
                          {"target": [{"from": "2015-04-01", "value": 5}]})
    with pytest.raises(PlanError, match=r"polarity none .* cannot carry a target"):
        Plan.from_document(targeted)
    with pytest.raises(MeasureError, match="higher, lower or none"):
        plan_measure({"id": "open_cases", "polarity": "sideways"}, standard)
