"""Each measure's metadata in plain English, generated from the plan: what a reader
needs to trust a figure (what is counted, from whom, over what period, judged how, with
which methods and caveats), beside the machine ``definition``.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from domain.plan import Plan, Population
from domain.rules import MeasureRules
from domain.timekeeping import gov_uk_date
from projections.measures import DEFAULT_NO_TARGET, Measure
from projections.statistics import CONFIDENCE, FORECAST_COVERAGE, MIN_FORECAST_MONTHS
from projections.trend import MIN_POINTS, TEST_NAME

# Each polarity in a few words (a page's caption) and in full (the metadata).
POLARITY_WORDS: dict[str, tuple[str, str]] = {
    "higher": ("higher is better", "Higher is better."),
    "lower": ("lower is better", "Lower is better."),
    "none": ("no judgement of direction (a measure of demand)",
             "No judgement: it measures demand, so a rise or a fall is neither better nor "
             "worse in itself (its trend says increasing or decreasing)."),
}
PERIOD_WORDS = {
    "window": "the report's window (from its start date to the as-at day)",
    "cumulative": "since the plan began, up to the as-at day",
    "monthly": "the calendar month, up to the as-at day",
    "quarterly": "the calendar quarter, up to the as-at day",
    "financial_year": "the financial year (April to March), up to the as-at day",
}
DISCLOSURE = ("Shown to the board as counted. Outside the board, counts that could "
              "identify a person are suppressed by the disclosure control and marked [c].")


def _day(moment: date | datetime | None) -> str | None:
    return gov_uk_date(moment) if moment else None


def _amount(value: float, share: bool) -> str:
    return f"{value:.0%}" if share else f"{value:,g}"


def measure_metadata(measure: Measure, plan: Plan, rules: MeasureRules | None,
                     set_by: str | None, agencies: list[str], min_denominator: int,
                     last_return: datetime | None, next_return: date | None,
                     population: tuple[Population, int, int] | None = None
                     ) -> dict[str, Any]:
    """The metadata of one measure as a mapping of plain-English statements."""
    names = {a.code: a.name for a in plan.agencies}
    about = measure.about
    target: str
    if rules is not None and rules.targets:
        steps = "; ".join(f"{_amount(value, measure.is_rate)} from {_day(start)}"
                          for start, value in rules.targets)
        target = f"{steps}. RAG: {rules.describe(measure.polarity)}."
        if measure.is_profiled:
            target += f" Profiled to date {rules.describe_profile()}."
        if about.target_illustrative:
            target += " Illustrative: the published documents give no target for it."
    else:
        target = f"None: {about.no_target_reason or DEFAULT_NO_TARGET}."
    notes: dict[str, Any] = {
        "counted": measure.counted()[0].upper() + measure.counted()[1:]
        + (f", per {measure.per:,} {population[0].title[0].lower()}{population[0].title[1:]}"
           if population and measure.per
           else "") + ".",
        "numerator": measure.numerator.plain() if measure.is_rate and measure.numerator
        else None,
        "denominator": measure.denominator.plain() if measure.denominator else (
            f"{population[0].title}: {population[2]:,} in {population[1]} ({population[0].source}"
            f", published {_day(population[0].published)}"
            + (f"; {population[0].note}" if population[0].note else "") + ")"
            if population else None),
        "agencies": [names.get(code, code) for code in agencies],
        "period": PERIOD_WORDS[measure.period],
        "polarity": POLARITY_WORDS[measure.polarity][1],
        "target": target,
        "target_set_by": (about.target_set_by or set_by) if rules and rules.targets else None,
        "trend_method": f"{TEST_NAME} over the last six complete months (the month in "
                        f"progress never counts); at least {MIN_POINTS} months are needed.",
        "interval_method": (f"{CONFIDENCE:.0%} Wilson score interval; a denominator below "
                            f"{min_denominator} is marked [u], low reliability.")
        if measure.is_rate else (f"{CONFIDENCE:.0%} exact Poisson interval of the count, "
                                 f"per {measure.per:,} people.")
        if population and measure.per else None,
        "forecast_method": (
            f"The rate of the period's complete months (at least {MIN_FORECAST_MONTHS}) "
            f"carried to the period's end, with a {FORECAST_COVERAGE:.0%} interval from "
            "the binomial's normal approximation." if measure.is_rate else
            f"Run rate of the period's complete months (at least {MIN_FORECAST_MONTHS}"
            + ("; for a count of different items, the new ones each month" if
               measure.numerator is not None and measure.numerator.aggregate == "distinct"
               else "")
            + f") projected to the period's end, with a {FORECAST_COVERAGE:.0%} interval "
            "from Student's t.") if measure.can_forecast else None,
        "caveats": about.caveats,
        "disclosure": DISCLOSURE,
        "last_return": _day(last_return),
        "next_return": _day(next_return),
    }
    return notes
