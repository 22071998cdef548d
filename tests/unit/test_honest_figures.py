"""Honest figures, each method against a known answer: targets profiled to date, the
Wilson interval, the forecast of a period's outturn, trend on complete months, and the
GSS symbols."""

from __future__ import annotations

import math
import random
from datetime import date

import pytest
from scipy import stats

from domain.plan import Plan, PlanError, load_plan_document
from domain.rules import MeasureRules, RulesError
from projections import symbols
from projections.measures import MeasureError, plan_measure
from projections.periods import complete_months, last_complete_month, period_span
from projections.statistics import (
    Forecast,
    forecast_outturn,
    forecast_rate,
    poisson_interval,
    t_cdf,
    t_quantile,
    wilson_interval,
)
from projections.trend import trend

RAG = [{"rag": "green", "share": 1.0}, {"rag": "amber", "share": 0.75}, {"rag": "red"}]
FY_2015 = (date(2015, 4, 1), date(2016, 3, 31))
TERMS = {"jan": 1, "feb": 1, "mar": 1, "apr": 1, "may": 1, "jun": 1, "jul": 1, "aug": 0,
         "sep": 1, "oct": 1, "nov": 1, "dec": 1}


def rules(**extra: object) -> MeasureRules:
    return MeasureRules.from_document({"target": [{"from": "2015-04-01", "value": 1800}],
                                       "rag": RAG, **extra})


# Targets profiled to date -------------------------------------------------------------

def test_a_yearly_target_is_due_pro_rata_by_day() -> None:
    """16 Dec 2015 is day 260 of the 366-day financial year 2015/16: 71% of 1,800."""
    profiled = rules()
    assert profiled.share_due(FY_2015, date(2015, 12, 16)) == pytest.approx(260 / 366)
    assert profiled.target_to_date(FY_2015, date(2015, 12, 16)) == pytest.approx(
        1800 * 260 / 366)
    assert profiled.share_due(FY_2015, date(2015, 3, 31)) == 0
    assert profiled.share_due(FY_2015, date(2015, 4, 1)) == pytest.approx(1 / 366)
    assert profiled.share_due(FY_2015, date(2016, 3, 31)) == 1
    assert profiled.share_due(FY_2015, date(2016, 6, 1)) == 1


def test_the_rag_judges_the_value_so_far_against_the_target_so_far() -> None:
    """The demo's 1,252 workers trained by 16 Dec 2015 were red against the full 1,800
    (70%) but are amber against the 1,279 due by then (98%)."""
    profiled = rules()
    assert profiled.judge(1252, date(2015, 12, 16), "higher") == "red"
    so_far = profiled.target_to_date(FY_2015, date(2015, 12, 16))
    assert profiled.judge_against(1252, so_far, "higher") == "amber"
    assert profiled.judge_against(1280, so_far, "higher") == "green"


def test_a_monthly_profile_spreads_the_target_by_its_weights() -> None:
    """School terms: nothing due in August, so by the end of August only April to July's
    four of the year's eleven weighted months are due, and half of September adds half
    a month."""
    profiled = rules(profile=TERMS)
    assert profiled.share_due(FY_2015, date(2015, 7, 31)) == pytest.approx(4 / 11)
    assert profiled.share_due(FY_2015, date(2015, 8, 31)) == pytest.approx(4 / 11)
    assert profiled.share_due(FY_2015, date(2015, 9, 15)) == pytest.approx(4.5 / 11)
    assert profiled.to_document()["profile"] == {k: float(v) for k, v in TERMS.items()}
    assert MeasureRules.from_document(profiled.to_document()) == profiled


@pytest.mark.parametrize("profile", [
    {k: v for k, v in TERMS.items() if k != "dec"},
    {**TERMS, "aug": -1},
    {**TERMS, "aug": "none"},
    dict.fromkeys(TERMS, 0),
    [1] * 12,
])
def test_a_profile_must_weigh_all_twelve_months(profile: object) -> None:
    with pytest.raises(RulesError, match="profile: give all twelve months"):
        rules(profile=profile)


def test_periods_have_their_whole_span() -> None:
    plan = Plan.from_document(load_plan_document())
    year = plan_measure({"id": "y", "title": "Y", "period": "financial_year",
                         "numerator": {"count": "case.closed"}}, {})
    quarter = plan_measure({"id": "q", "title": "Q", "period": "quarterly",
                            "numerator": {"count": "case.closed"}}, {})
    assert period_span(year, date(2016, 2, 29), plan) == FY_2015
    assert period_span(quarter, date(2015, 11, 5), plan) == (date(2015, 10, 1),
                                                             date(2015, 12, 31))
    with pytest.raises(MeasureError, match="no_target_reason must be non-empty text"):
        plan_measure({"id": "z", "title": "Z", "numerator": {"count": "case.closed"},
                      "no_target_reason": "  "}, {})


# Wilson score interval ----------------------------------------------------------------

@pytest.mark.parametrize(("k", "n", "low", "high"), [
    # Newcombe (1998), Statistics in Medicine 17:857-872, table I, method 3.
    (81, 263, 0.2553, 0.3662),
    (15, 148, 0.0624, 0.1605),
    (0, 20, 0.0, 0.1611),
    (1, 29, 0.0061, 0.1718),
    (29, 29, 0.8830, 1.0),
])
def test_wilson_matches_the_published_table(k: int, n: int, low: float, high: float) -> None:
    interval = wilson_interval(k, n)
    assert interval is not None
    assert interval == pytest.approx((low, high), abs=5e-5)


def test_wilson_matches_scipy_and_tells_15_of_38_from_1500_of_3800() -> None:
    for n in (1, 7, 30, 38, 263, 3800):
        for k in sorted({0, 1, n // 3, n // 2, n - 1, n}):
            reference = stats.binomtest(k, n).proportion_ci(0.95, method="wilson")
            assert wilson_interval(k, n) == pytest.approx((reference.low, reference.high),
                                                          abs=1e-12)
    small, large = wilson_interval(15, 38), wilson_interval(1500, 3800)
    assert small is not None and large is not None
    assert small[1] - small[0] > 5 * (large[1] - large[0])
    assert wilson_interval(0, 0) is None
    with pytest.raises(ValueError, match="0 <= k <= n"):
        wilson_interval(5, 4)


# Rates per population ---------------------------------------------------------------

def test_the_poisson_interval_of_a_count_matches_the_exact_chi_squared_limits() -> None:
    """Garwood's exact limits, chi²(2.5%; 2O)/2 and chi²(97.5%; 2O+2)/2, computed here by
    solving the Poisson distribution function; Byar's approximation above 1,000."""
    for count in (0, 1, 2, 4, 9, 30, 76, 500, 1000, 1001, 20000):
        low = stats.chi2.ppf(0.025, 2 * count) / 2 if count else 0.0
        high = stats.chi2.ppf(0.975, 2 * count + 2) / 2
        assert poisson_interval(count) == pytest.approx((low, high), rel=1e-6)


def test_populations_are_sourced_dated_by_year_and_named_by_measures() -> None:
    document = load_plan_document()
    population = Plan.from_document(document).populations["children-0-17"]  # type: ignore[index]
    assert population.source.startswith("Office for National Statistics")
    assert population.for_year(2015) == (2015, 56000)
    assert population.for_year(2017) == (2015, 56000)  # the latest estimate before it
    assert population.for_year(2010) == (2014, 56000)  # none before: the earliest
    broken = {**document, "populations": [{**document["populations"][0], "figures": {
        2015: "many"}}]}
    with pytest.raises(PlanError, match=r"populations\[0\].figures: must map years"):
        Plan.from_document(broken)
    unknown = {**document, "measures": [{"id": "x", "title": "X", "population": "adults",
                                         "per": 1000, "numerator": {"count": "case.closed"}}]}
    with pytest.raises(PlanError, match="population 'adults' is not in populations"):
        Plan.from_document(unknown)
    with pytest.raises(MeasureError, match="rate per population needs population"):
        plan_measure({"id": "x", "title": "X", "population": "children-0-17",
                      "numerator": {"count": "case.closed"}}, {})


# Forecast of the outturn --------------------------------------------------------------

def test_student_t_matches_scipy() -> None:
    for df in (1, 2, 3, 4, 7, 10, 35):
        for x in (-4.0, -1.3, 0.0, 0.5, 1.25, 3.0):
            assert t_cdf(x, df) == pytest.approx(stats.t.cdf(x, df), abs=1e-12)
        assert t_quantile(0.9, df) == pytest.approx(stats.t.ppf(0.9, df), abs=1e-8)


def test_forecast_of_a_synthetic_series_with_a_known_answer() -> None:
    """Four equal months of 100, 110, 90, 100 and eight to come: run rate 100, outturn
    400 + 800 = 1,200; s² = 200/3, so the prediction's spread is √(s²·(8 + 8²/4)) = 40 and
    the 80% interval is 1,200 ± t(0.9; 3)·40; P(outturn ≥ 1,250) = 1 − T₃(1.25)."""
    forecast = forecast_outturn([(100, 1), (110, 1), (90, 1), (100, 1)], [1] * 8, 1250,
                                "higher")
    assert forecast is not None
    half = stats.t.ppf(0.9, 3) * 40
    assert forecast.months == 4
    assert (forecast.value, forecast.low, forecast.high) == pytest.approx(
        (1200, 1200 - half, 1200 + half))
    assert forecast.p_meet == pytest.approx(1 - stats.t.cdf(1.25, 3))
    assert forecast.outlook == "at risk"
    lower = forecast_outturn([(100, 1), (110, 1), (90, 1), (100, 1)], [1] * 8, 1250, "lower")
    assert lower is not None and lower.p_meet == pytest.approx(stats.t.cdf(1.25, 3))


def test_forecast_weights_months_by_their_share_of_the_target() -> None:
    """Months weighted 31, 30 and 31 days with 62, 60 and 62: exactly 2 a day, no
    variation, so the 29 days to come add 58 with no spread at all."""
    forecast = forecast_outturn([(62, 31), (60, 30), (62, 31)], [29], 240, "higher")
    assert forecast == Forecast(242.0, 242.0, 242.0, 1.0, 3)
    assert forecast.outlook == "on course"
    short = forecast_outturn([(62, 31), (60, 30), (62, 31)], [29], 250, "higher")
    assert short is not None and (short.p_meet, short.outlook) == (0.0, "off course")
    # A month of no weight (August for schools) counts towards the total, not the rate.
    assert forecast_outturn([(5, 0), (62, 31), (60, 30), (62, 31)], [29], 240, "higher"
                            ) == Forecast(247.0, 247.0, 247.0, 1.0, 3)


def test_a_rate_s_forecast_on_a_synthetic_series_with_a_known_answer() -> None:
    """3 of 10 in each of four months and four to come: 40 more emails at 30%, so the
    outturn is 30% with variance 0.21·(40 + 40²/40)/80² and sd 0.0512."""
    forecast = forecast_rate([(3, 10, 1)] * 4, [1] * 4, 0.35, "higher")
    assert forecast is not None
    sd = math.sqrt(0.21 * 80) / 80
    z = stats.norm.ppf(0.9)
    assert (forecast.value, forecast.low, forecast.high) == pytest.approx(
        (0.3, 0.3 - z * sd, 0.3 + z * sd))
    assert forecast.p_meet == pytest.approx(1 - stats.norm.cdf(0.05 / sd))
    lower = forecast_rate([(3, 10, 1)] * 4, [1] * 4, 0.35, "lower")
    assert lower is not None and lower.p_meet == pytest.approx(stats.norm.cdf(0.05 / sd))
    assert forecast_rate([(3, 10, 1)] * 2, [1] * 4, 0.35, "higher") is None
    assert forecast_rate([(0, 0, 1)] * 4, [1] * 4, 0.35, "higher") is None
    assert forecast_rate([(10, 10, 1)] * 3, [1], 0.8, "higher") == Forecast(1, 1, 1, 1, 3)


def test_forecast_needs_three_complete_months() -> None:
    assert forecast_outturn([(100, 1), (110, 1)], [1] * 10, 1200, "higher") is None
    assert forecast_outturn([(100, 1), (0, 0), (110, 1)], [1] * 9, 1200, "higher") is None


def test_forecast_intervals_cover_the_outturn_80_percent_of_the_time() -> None:
    """Series drawn from the forecast's own model (x = w·ρ + √w·σ·Z): the 80% interval
    must hold the true outturn in about 80% of 3,000 years, and p_meet be calibrated."""
    rng = random.Random(14)
    weights = [30, 31, 30, 31, 31, 30, 31, 30, 31, 31, 29, 31]
    covered = met = 0
    expected_met = 0.0
    runs = 3000
    for _ in range(runs):
        months = [w * 4 + math.sqrt(w) * 3 * rng.gauss(0, 1) for w in weights]
        done, to_come = months[:7], months[7:]
        forecast = forecast_outturn(list(zip(done, weights[:7], strict=True)), weights[7:],
                                    1460, "higher")
        assert forecast is not None
        outturn = sum(done) + sum(to_come)
        covered += forecast.low <= outturn <= forecast.high
        met += outturn >= 1460
        expected_met += forecast.p_meet
    assert covered / runs == pytest.approx(0.80, abs=0.025)
    assert expected_met / runs == pytest.approx(met / runs, abs=0.03)


# Trend on complete months -------------------------------------------------------------

def test_the_month_in_progress_never_counts() -> None:
    assert last_complete_month(date(2015, 12, 16)) == date(2015, 11, 1)
    assert last_complete_month(date(2015, 11, 30)) == date(2015, 11, 1)
    assert complete_months(date(2015, 12, 16), 6) == complete_months(date(2015, 11, 30), 6)
    assert [start.month for start, _ in complete_months(date(2015, 12, 16), 6)] == [
        6, 7, 8, 9, 10, 11]
    assert complete_months(date(2016, 1, 5), 2) == [(date(2015, 11, 1), date(2015, 11, 30)),
                                                   (date(2015, 12, 1), date(2015, 12, 31))]


def test_the_trend_marker_is_polarity_aware_with_a_minimum_of_five_points() -> None:
    rising = trend([1, 2, 3, 4, 5], "higher")
    assert (rising.marker, rising.arrow, rising.shown) == ("improving", "↑", "↑ improving")
    assert trend([1, 2, 3, 4, 5], "lower").marker == "worsening"
    falling = trend([5, 4, 3, 2, 1, 0], "lower")
    assert (falling.marker, falling.arrow) == ("improving", "↓")
    flat = trend([3, 1, 4, 1, 5, 2], "higher")
    assert (flat.marker, flat.arrow, flat.words) == ("no_change", "→", "no significant change")
    # Four points can never be significant (p = 0.09 at best): cannot be calculated.
    short = trend([1, 2, 3, 4, None, None], "higher")
    assert (short.marker, short.arrow, short.words) == ("cannot_calculate", "–",
                                                        "not enough data")


# GSS symbols --------------------------------------------------------------------------

def test_gss_symbols_are_bracketed_and_ordered_by_the_legend() -> None:
    assert list(symbols.LEGEND) == ["[c]", "[p]", "[r]", "[x]", "[z]", "[u]"]
    assert symbols.ordered({"[u]", "[p]"}) == ["[p]", "[u]"]
    assert "*" not in symbols.legend_text()
    with pytest.raises(ValueError, match="not GSS symbols: p"):
        symbols.ordered({"p"})
