"""Outlier and plausibility flags at entry, on a return judged against the agency's own
twelve months of history and the plan's hard bounds."""

from __future__ import annotations

from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import pytest

from domain.errors import CommandError
from domain.plan import PlanError, load_plan_document
from ingest.file_push import push_file
from projections.audit import audit_trail
from projections.measures import check_plan_measure
from projections.outliers import confirmed_figures, flag_return
from projections.report import build_report, load_plan
from scorecard.bootstrap import Home
from tests.support import event, plan_file, write_jsonl

NOW = datetime(2026, 1, 1, tzinfo=UTC)
STEADY = [10, 12, 9, 11, 10, 13, 10, 11, 9, 12, 10, 11]  # referrals, Oct 2014 - Sep 2015


def referrals(month: str, count: int, prefix: str) -> list[dict[str, Any]]:
    return [event("referral.received", f"{prefix}-{month}-{n}", f"{month}-{n % 27 + 1:02d}",
                  case=f"R{prefix}{month.replace('-', '')}{n:03d}") for n in range(count)]


@pytest.fixture
def racs_home(home: Home, tmp_path: Path) -> tuple[Home, Any]:
    document = load_plan_document()
    measures = [dict(m, plausible={"max": 50}) if m["id"] == "referrals_received" else m
                for m in document["measures"]]
    app = home.open(plan_file(tmp_path / "plan.yaml", measures=measures))
    key = app.register_agency("racs", "RACS", "voluntary", None, by="test")
    history = [m for i, count in enumerate(STEADY)
               for m in referrals(f"{2014 + (9 + i) // 12}-{(9 + i) % 12 + 1:02d}", count, "h")]
    summary = push_file(app, write_jsonl(tmp_path / "history.jsonl", history), agency="racs",
                        key=key, now=NOW, known_at=datetime(2015, 10, 5, tzinfo=UTC))
    assert summary.rejected == 0, summary.rejections[:1]
    return home, app


def flags(home: Home, app: Any, messages: list[dict[str, Any]]) -> list[dict[str, Any]]:
    with home.projected(app) as connection:
        found = flag_return(connection, load_plan(connection), "racs", messages, NOW)
    return [f.to_json() for f in found]


def test_a_month_ten_times_the_usual_is_questioned(racs_home: tuple[Home, Any]) -> None:
    home, app = racs_home
    found = [f for f in flags(home, app, referrals("2015-10", 110, "big"))
             if f["measure"] == "referrals_received"]
    assert [f["rule"] for f in found] == ["above the plan's maximum", "robust z"]
    z = next(f for f in found if f["rule"] == "robust z")
    assert z["median"] == 10.5 and z["history"] == 12
    assert z["z"] == pytest.approx(0.6745 * 99.5 / 0.5, abs=0.01)
    assert "110 against a median of 10.5 over the previous 12 months" in z["explain"]


def test_an_ordinary_month_passes_and_a_borderline_one_is_judged_exactly(
        racs_home: tuple[Home, Any]) -> None:
    home, app = racs_home
    assert [f for f in flags(home, app, referrals("2015-10", 12, "ok"))
            if f["measure"] == "referrals_received"] == []
    assert [f for f in flags(home, app, referrals("2015-10", 13, "edge"))
            if f["measure"] == "referrals_received"] == []
    just_over = [f for f in flags(home, app, referrals("2015-10", 14, "over"))
                 if f["measure"] == "referrals_received"]
    assert [f["rule"] for f in just_over] == ["robust z"]


def test_a_return_that_changes_nothing_is_not_judged(racs_home: tuple[Home, Any]) -> None:
    home, app = racs_home
    other_agency = [dict(m, agency="grow") for m in referrals("2015-10", 500, "grow")]
    assert flags(home, app, other_agency) == []
    assert flags(home, app, [{"event_id": "broken", "agency": "racs"}]) == []


def test_the_plan_checks_its_bounds(tmp_path: Path) -> None:
    document = load_plan_document()
    measures = [dict(m, plausible={"min": 9, "max": 3}) if m["id"] == "referrals_received"
                else m for m in document["measures"]]
    with pytest.raises(PlanError, match=r"measures\[\d+\]\.plausible: must be a mapping of "
                                        "min and/or max"):
        load_plan_document(plan_file(tmp_path / "p.yaml", measures=measures),
                           check_plan_measure)


def test_a_confirmed_outlier_is_kept_for_the_reviewer_who_marks_it_for_follow_up(
        racs_home: tuple[Home, Any], tmp_path: Path) -> None:
    home, app = racs_home
    big = referrals("2015-10", 110, "big")
    found = [f for f in flag_return_now(home, app, big) if f.measure == "referrals_received"]
    push_file(app, write_jsonl(tmp_path / "big.jsonl", big), agency="racs",
              key=app.agency("racs").current_key(), now=NOW)
    for flag in found:
        app.confirm_figure(flag.agency, flag.measure, flag.month, flag.value, flag.rule,
                           flag.explain(), by="racs-staff", at=NOW)
    with pytest.raises(CommandError, match="no confirmed outlier"):
        app.mark_figure_for_follow_up("racs", "cases_closed", "2015-10", "why?", by="board",
                                      at=NOW)
    app.mark_figure_for_follow_up("racs", "referrals_received", "2015-10",
                                  "Ask for the referral sources", by="board",
                                  at=datetime(2026, 1, 2, tzinfo=UTC))
    with home.projected(app) as connection:
        before = confirmed_figures(connection, datetime(2026, 1, 1, 12, tzinfo=UTC))
        after = confirmed_figures(connection, datetime(2026, 1, 3, tzinfo=UTC))
        trail = [line["action"] for line in audit_trail(connection, agency="racs")]
        report = build_report(connection, as_at=date(2015, 10, 31), from_day=date(2015, 10, 1),
                              known_at=datetime(2026, 1, 3, tzinfo=UTC))
    assert [(r["measure"], r["month"], r["value"], r["follow_up"]) for r in before] == [
        ("referrals_received", "2015-10", 110.0, False)]
    assert after[0]["rule"] == "robust z"  # the latest confirmation of the month
    assert after[0]["follow_up"] and after[0]["follow_up_note"] == "Ask for the referral sources"
    assert "outlier confirmed" in trail and "figure marked for follow-up" in trail
    assert report.measure("referrals_received").by_agency["racs"] == 110  # nothing dropped


def flag_return_now(home: Home, app: Any, messages: list[dict[str, Any]]) -> list[Any]:
    with home.projected(app) as connection:
        return flag_return(connection, load_plan(connection), "racs", messages, NOW)
