"""Plans checked on load: a plan is read whole, every problem named by its path in the
file, its line and the rule it breaks; a bad plan leaves nothing behind."""

from __future__ import annotations

from pathlib import Path

import pytest

from domain.plan import Plan, PlanError, load_plan_document, with_rules
from domain.rules import MeasureRules, RulesError
from projections.measures import check_plan_measure
from scorecard.bootstrap import Home

EXAMPLE = Path(__file__).parents[2] / "examples" / "harbourside" / "plan.yaml"

BROKEN = """\
plan:
  code: broken
  title: "A broken plan"
  partnership: "Nobody"
  starts: 2016-04-01
  ends: 2015-03-31
  timezone: Europe/Nowhere
agencies:
  - {code: Alpha, name: Alpha, sector: council}
  - {code: beta, name: Beta, sector: charity}
  - {code: beta, name: Beta again, sector: council}
priorities:
  - code: "1"
    title: Prevent
    objectives:
      - code: "1.1"
        title: Awareness
        actions:
          - {code: "1.1.1", title: Talks, lead: gamma, due: 2016-13-01}
          - {code: "2.1", title: Elsewhere, lead: beta, due: 2016-01-01}
measures:
  - id: talks
    title: Talks given
    objective: "9.9"
    numerator: {count: talk.given}
    rag: [{rag: green, share: 1.0}]
  - id: rate
    title: A rate
    numerator: {count: referral.received, where: {colour: blue}}
    population: adults
    per: 1000
    target: [{from: 2016-04-01, value: 1}]
    rag: [{rag: red}, {rag: green, share: 1.0}]
  - id: seasonal
    title: Seasonal
    period: fortnightly
    numerator: {count: referral.received}
    target: [{from: 2016-04-01, value: 1}]
    rag: [{rag: green, share: 1.0}, {rag: red}]
    profile: {jan: 1}
  - id: talks
    title: Talks again
    numerator: {count: referral.received}
returns:
  deadline_days: 10
  agencies:
    - {agency: delta, from: 2016-4}
statistics: {min_denominator: 0}
meetings:
  - {date: 2016-05-01}
"""

# (line, path, words of the rule): every problem of BROKEN, in file order.
EXPECTED = [
    (6, "plan.ends", "must be after plan.starts"),
    (7, "plan.timezone", "is not a time zone"),
    (9, "agencies[0].code", "is not an agency code"),
    (10, "agencies[1].sector", "must be one of council"),
    (11, "agencies[2].code", "'beta' appears twice"),
    (19, "priorities[0].objectives[0].actions[0].due", "must be a date YYYY-MM-DD"),
    (19, "priorities[0].objectives[0].actions[0].lead", "'gamma' is not in agencies"),
    (20, "priorities[0].objectives[0].actions[1].code", "must be a code under objective 1.1"),
    (22, "measures[0].target", "RAG rules judge against a target"),
    (24, "measures[0].objective", "'9.9' is not an objective"),
    (25, "measures[0].numerator", "'talk.given' is not an event type of the contract"),
    (29, "measures[1].numerator", "'colour' is not a field of any event type"),
    (30, "measures[1].population", "'adults' is not in populations"),
    (33, "measures[1].rag", "must be the last"),
    (36, "measures[2].period", "period must be one of"),
    (40, "measures[2].profile", "give all twelve months"),
    (41, "measures[3].id", "'talks' appears twice"),
    (47, "returns.agencies[0].agency", "'delta' is not in agencies"),
    (47, "returns.agencies[0].from", "must be a month YYYY-MM"),
    (48, "statistics.min_denominator", "must be a whole number of at least 1"),
    (50, "meetings[0].title", "is required"),
]


def test_a_broken_plan_names_every_problem_by_path_line_and_rule(tmp_path: Path) -> None:
    plan_file = tmp_path / "broken.yaml"
    plan_file.write_text(BROKEN, encoding="utf-8")
    with pytest.raises(PlanError) as raised:
        load_plan_document(plan_file, check_plan_measure)
    found = [(p.line, ".".join(str(p).split(": ", 2)[1:2]), p.rule) for p in raised.value.problems]
    assert [(line, path) for line, path, _ in found] == [(line, path) for line, path, _ in
                                                          EXPECTED]
    for (_, _, rule), (_, _, words) in zip(found, EXPECTED, strict=True):
        assert words in rule
    message = str(raised.value)
    assert message.startswith(f"{plan_file}: 21 problems; the plan was not loaded")
    assert "line 25: measures[0].numerator: " in message


def test_a_bad_plan_leaves_no_home_behind(tmp_path: Path) -> None:
    plan_file = tmp_path / "broken.yaml"
    plan_file.write_text(BROKEN, encoding="utf-8")
    home = Home(tmp_path / "home")
    with pytest.raises(PlanError):
        home.open(plan_file)
    assert not (tmp_path / "home").exists()


def test_a_measure_counting_an_unknown_type_is_refused_at_load_not_at_report(
        tmp_path: Path) -> None:
    """The issue's case: accepted by init, then a traceback when a report was built."""
    document = load_plan_document()
    document["measures"].append({"id": "typo", "title": "Typo", "period": "cumulative",
                                 "numerator": {"count": "referral.recieved"}})
    plan_file = tmp_path / "typo.yaml"
    import yaml
    plan_file.write_text(yaml.safe_dump(document), encoding="utf-8")
    with pytest.raises(PlanError, match=r"line \d+: measures\[\d+\]\.numerator: measure typo: "
                                        r"'referral.recieved' is not an event type"):
        load_plan_document(plan_file, check_plan_measure)


def test_yaml_that_cannot_be_read_is_named_by_line(tmp_path: Path) -> None:
    plan_file = tmp_path / "bad.yaml"
    plan_file.write_text("plan:\n  code: x\n  title: [unclosed\n", encoding="utf-8")
    with pytest.raises(PlanError, match=r"line \d+: \(the whole file\): the plan file is not "
                                        "valid YAML"):
        load_plan_document(plan_file)


def test_a_rule_change_is_checked_against_the_whole_plan() -> None:
    document = load_plan_document()
    changed = with_rules(document, "actions_complete",
                         {"rag": [{"rag": "green", "share": 1.0}, {"rag": "red"}]})
    with pytest.raises(PlanError, match=r"measures\[\d+\]\.target: RAG rules judge against "
                                        "a target"):
        Plan.from_document(changed)
    with pytest.raises(RulesError, match="must be the last"):
        MeasureRules.from_document({"target": [{"from": "2016-04-01", "value": 1}],
                                    "rag": [{"rag": "red"}, {"rag": "green", "share": 1}]})


def test_the_second_partnership_example_and_the_bundled_plan_load_clean() -> None:
    example = Plan.from_document(load_plan_document(EXAMPLE, check_plan_measure))
    assert example.code == "harbourside-online-harms-2019-21"
    assert {a.code for a in example.agencies} == {
        "harbourside-council", "harbourside-police", "harbour-youth-trust"}
    bundled = Plan.from_document(load_plan_document(None, check_plan_measure))
    assert bundled.code == "rotherham-cse-2015-18"
