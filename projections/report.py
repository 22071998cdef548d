"""``scorecard report``: the scorecard for a window, as it was known at a chosen time.

Each measure is counted over its period, judged against the target and RAG rules in
force (as known then, or today's), given a trend over the last six months and marked
provisional ("p": a contributing agency has not approved its return) or revised ("r":
the board accepted the month and the figure has changed since).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

import duckdb

from domain.plan import Plan
from domain.rules import MeasureRules
from domain.timekeeping import from_naive_utc, iso_utc, to_naive_utc
from projections.measures import STANDARD_MEASURES, Measure, plan_measure
from projections.standing import (
    LATEST_STATUS_SQL,
    STANDING_SQL,
    Standing,
    StatusRow,
    complete_at,
    contributors,
    contributors_of,
    fact_condition,
    flow_months,
    flow_splits,
    last_known,
    latest_statuses,
    measure_split,
    monthly_values,
    open_cases_at,
)
from projections.trend import TEST_NAME, direction

TREND_MONTHS = 6


@dataclass(frozen=True)
class RulesInForce:
    rules: MeasureRules
    since: datetime
    by: str
    reason: str


@dataclass(frozen=True)
class MeasureValue:
    id: str
    title: str
    value: int | float | None
    by_agency: dict[str, int | float | None]
    target: float | None = None
    rag: str | None = None
    definition: str = ""
    objective: str | None = None
    polarity: str = "higher"
    period: str = "window"
    window: tuple[date, date] | None = None
    rules: RulesInForce | None = None
    rules_as_of: str = "then"
    trend: str = "not enough data"
    trend_values: list[tuple[str, float | None]] = field(default_factory=list)
    marker: str | None = None
    unit: str = "count"  # or "share" (a rate between 0 and 1)
    last_return: datetime | None = None  # when the newest fact it counts became known

    def to_json(self) -> dict[str, Any]:
        rules = self.rules
        return {
            "id": self.id, "title": self.title, "value": self.value, "unit": self.unit,
            "by_agency": self.by_agency, "target": self.target, "rag": self.rag,
            "definition": self.definition, "objective": self.objective,
            "polarity": self.polarity, "period": self.period,
            "window": {"from": self.window[0].isoformat(), "to": self.window[1].isoformat()}
            if self.window else None,
            "rule": rules.rules.describe(self.polarity) if rules else None,
            "rules": {
                "as_of": self.rules_as_of, "in_force_since": iso_utc(rules.since),
                "by": rules.by, "reason": rules.reason, **rules.rules.to_document(),
            } if rules else None,
            "trend": {"direction": self.trend, "test": TEST_NAME,
                      "values": [{"month": m, "value": v} for m, v in self.trend_values]},
            "marker": self.marker,
            "last_return": iso_utc(self.last_return) if self.last_return else None,
        }


@dataclass(frozen=True)
class ActionStatus:
    code: str
    title: str
    lead: str
    due: date
    status: str
    reported_at: str | None
    known_since: datetime | None


@dataclass(frozen=True)
class Report:
    as_at: date
    known_at: datetime
    from_day: date
    plan: dict[str, Any]
    measures: list[MeasureValue] = field(default_factory=list)
    actions: list[ActionStatus] = field(default_factory=list)
    rules_as_of: str = "then"
    # Events in the window an administrator backfilled (recorded later than the knowledge
    # time they carry), by agency: what this report shows for a past day changed after it.
    backfilled: dict[str, int] = field(default_factory=dict)

    def measure(self, measure_id: str) -> MeasureValue:
        return next(m for m in self.measures if m.id == measure_id)

    def to_json(self) -> dict[str, Any]:
        return {
            "as_at": self.as_at.isoformat(),
            "known_at": iso_utc(self.known_at),
            "from": self.from_day.isoformat(),
            "rules": self.rules_as_of,
            "plan": self.plan,
            "measures": [m.to_json() for m in self.measures],
            "backfilled": self.backfilled,
            "actions": [
                {"code": a.code, "title": a.title, "lead": a.lead, "due": a.due.isoformat(),
                 "status": a.status, "reported_at": a.reported_at,
                 "known_since": iso_utc(a.known_since) if a.known_since else None}
                for a in self.actions
            ],
        }


def load_plan(connection: duckdb.DuckDBPyConnection) -> Plan:
    row = connection.execute("SELECT document FROM plan").fetchone()
    if row is None:
        raise LookupError("the read model holds no plan yet")
    return Plan.from_document(json.loads(row[0]))


def scorecard_measures(plan: Plan) -> list[Measure]:
    """The contract's standard measures (with the plan's objective and polarity where it
    gives them), then the plan's own measures."""
    standard = {m.id: m for m in STANDARD_MEASURES}
    from_plan = {spec["id"]: plan_measure(spec, standard) for spec in plan.measures}
    return ([from_plan.get(m.id, m) for m in STANDARD_MEASURES]
            + [m for m in from_plan.values() if not m.standard])


def period_window(measure: Measure, as_at: date, from_day: date, plan: Plan) -> tuple[date, date]:
    if measure.period == "window":
        return from_day, as_at
    if measure.period == "cumulative":
        return plan.starts, as_at
    if measure.period == "monthly":
        return as_at.replace(day=1), as_at
    if measure.period == "quarterly":
        return as_at.replace(month=(as_at.month - 1) // 3 * 3 + 1, day=1), as_at
    year = as_at.year if as_at.month >= 4 else as_at.year - 1
    return date(year, 4, 1), as_at  # financial year


def rules_in_force(connection: duckdb.DuckDBPyConnection, measure_id: str,
                   known: datetime | None) -> RulesInForce | None:
    row = connection.execute(
        "SELECT rules, recorded_at, changed_by, reason FROM measure_rules "
        "WHERE measure_id = $id AND ($known IS NULL OR recorded_at <= $known) "
        "ORDER BY recorded_at DESC, position DESC LIMIT 1",
        {"id": measure_id, "known": to_naive_utc(known) if known else None},
    ).fetchone()
    if row is None:
        return None
    return RulesInForce(MeasureRules.from_document(json.loads(row[0])),
                        from_naive_utc(row[1]), row[2], row[3])


def all_rules_in_force(connection: duckdb.DuckDBPyConnection,
                       known: datetime | None) -> dict[str, RulesInForce]:
    """``rules_in_force`` for every measure at once."""
    rows = connection.execute(
        "SELECT measure_id, rules, recorded_at, changed_by, reason FROM measure_rules "
        "WHERE $known IS NULL OR recorded_at <= $known QUALIFY row_number() OVER ("
        "PARTITION BY measure_id ORDER BY recorded_at DESC, position DESC) = 1",
        {"known": to_naive_utc(known) if known else None}).fetchall()
    return {measure_id: RulesInForce(MeasureRules.from_document(json.loads(rules)),
                                     from_naive_utc(at), by, reason)
            for measure_id, rules, at, by, reason in rows}


def months_ending(as_at: date, count: int) -> list[tuple[date, date]]:
    """The last ``count`` calendar months up to as_at's (that one cut at as_at)."""
    spans = []
    first = as_at.replace(day=1)
    for _ in range(count):
        following = (first.replace(day=28) + timedelta(days=4)).replace(day=1)
        spans.append((first, min(following - timedelta(days=1), as_at)))
        first = (first - timedelta(days=1)).replace(day=1)
    return list(reversed(spans))


def _number(value: float | None) -> int | float | None:
    if value is None:
        return None
    return int(value) if float(value).is_integer() else round(value, 6)


class ReportBuilder:
    """Computes one report from the read model."""

    def __init__(self, connection: duckdb.DuckDBPyConnection, *, as_at: date,
                 known_at: datetime, from_day: date | None = None, rules: str = "then",
                 pinned: int | None = None) -> None:
        if rules not in ("then", "now"):
            raise ValueError("rules must be 'then' or 'now'")
        self.connection = connection
        self.plan = load_plan(connection)
        self.as_at = as_at
        self.known_at = known_at
        self.from_day = from_day or self.plan.starts
        self.rules = rules
        self.standing = Standing(known_at, pinned)
        # Filled by ``prefetch`` for a whole report: a few grouped queries instead of
        # several per measure. Every method falls back to its own query without them.
        self._splits: dict[tuple[str, tuple[date, date], int | None],
                           tuple[float | None, dict[str, float | None]]] = {}
        self._months: dict[str, list[float | None]] = {}
        self._last: dict[str, Any] = {}
        self._contributors: dict[str, set[str]] = {}
        self._sign_off: tuple[int | None, set[str]] | None = None
        self._rules: dict[str, RulesInForce] | None = None
        self._statuses: list[StatusRow] | None = None

    def prefetch(self, measures: list[Measure]) -> None:
        self._rules = all_rules_in_force(self.connection,
                                         self.known_at if self.rules == "then" else None)
        pinned, _ = self.sign_off()
        standings = [self.standing, *([Standing(self.known_at, pinned)]
                                      if pinned is not None else [])]
        months = months_ending(self.as_at, TREND_MONTHS)
        flows = [m for m in measures if m.kind == "flow"]
        windows: dict[tuple[date, date], list[Measure]] = {}
        for measure in flows:
            windows.setdefault(period_window(measure, self.as_at, self.from_day, self.plan),
                               []).append(measure)
        for window, group in windows.items():
            for standing in standings:
                found = flow_splits(self.connection, group, *window, standing)
                for measure_id, (total, by_agency, last) in found.items():
                    self._splits[(measure_id, window, standing.position)] = (total, by_agency)
                    if standing is self.standing:
                        self._last[measure_id] = last
        if flows:
            self._months.update(flow_months(self.connection, flows, months, self.standing))
        self._prefetch_states([m for m in measures if m.kind != "flow"], standings, months)
        if pinned is None and measures:
            self._contributors = contributors_of(self.connection, measures,
                                                 self.as_at.replace(day=1), self.as_at,
                                                 self.standing)

    def _prefetch_states(self, states: list[Measure], standings: list[Standing],
                         months: list[tuple[date, date]]) -> None:
        """State measures at each trend month's end, the last of which is as_at itself
        (so their values come from the same queries as their trends)."""
        open_cases = [m for m in states if m.kind == "open_cases"]
        for standing in standings:
            ends = [end for _, end in months] if standing is self.standing else [self.as_at]
            at_ends = open_cases_at(self.connection, open_cases, ends, standing) if (
                open_cases) else {}
            statuses = latest_statuses(self.connection, ends, standing)
            if standing is self.standing:
                self._statuses = [row for row in statuses if row[0] == self.as_at]
            complete = complete_at(statuses, ends)
            for measure in states:
                splits = at_ends.get(measure.id, complete)
                window = period_window(measure, self.as_at, self.from_day, self.plan)
                total, by_agency = splits[-1]
                self._splits[(measure.id, window, standing.position)] = (total, {**by_agency})
                if standing is self.standing:
                    self._months[measure.id] = [value for value, _ in splits]
        if states:
            self._last.update(last_known(self.connection, states, self.as_at, self.standing))

    def sign_off(self) -> tuple[int | None, set[str]]:
        """The position the board pinned as_at's month at (if it accepted it, as known),
        and the agencies that had approved their returns for it."""
        if self._sign_off is None:
            month = f"{self.as_at:%Y-%m}"
            known = to_naive_utc(self.known_at)
            accepted = self.connection.execute(
                "SELECT pinned_position FROM acceptances WHERE month = $month "
                "AND accepted_at <= $known ORDER BY position DESC LIMIT 1",
                {"month": month, "known": known}).fetchone()
            approved = {row[0] for row in self.connection.execute(
                "SELECT agency FROM approvals WHERE month = $month AND approved_at <= $known",
                {"month": month, "known": known}).fetchall()}
            self._sign_off = (int(accepted[0]) if accepted else None, approved)
        return self._sign_off

    def split(self, measure: Measure, window: tuple[date, date], standing: Standing
              ) -> tuple[float | None, dict[str, float | None]]:
        cached = self._splits.get((measure.id, window, standing.position))
        if cached is not None:
            return cached
        return measure_split(self.connection, measure, *window, standing)

    def value(self, measure: Measure, standing: Standing | None = None,
              span: tuple[date, date] | None = None) -> float | None:
        window = span or period_window(measure, self.as_at, self.from_day, self.plan)
        return self.split(measure, window, standing or self.standing)[0]

    def measure(self, measure: Measure) -> MeasureValue:
        window = period_window(measure, self.as_at, self.from_day, self.plan)
        total, by_agency = self.split(measure, window, self.standing)
        rules = self._rules.get(measure.id) if self._rules is not None else rules_in_force(
            self.connection, measure.id, self.known_at if self.rules == "then" else None)
        target = rules.rules.target_on(self.as_at) if rules else None
        months = months_ending(self.as_at, TREND_MONTHS)
        monthly = self._months.get(measure.id) or monthly_values(self.connection, measure,
                                                                 months, self.standing)
        trend_values = [(f"{start:%Y-%m}", _number(value))
                        for (start, _), value in zip(months, monthly, strict=True)]
        return MeasureValue(
            id=measure.id, title=measure.title, value=_number(total),
            by_agency={code: _number(v) for code, v in by_agency.items()},
            target=target,
            rag=rules.rules.judge(total, self.as_at, measure.polarity) if rules else None,
            definition=measure.definition(), objective=measure.objective,
            polarity=measure.polarity, period=measure.period, window=window, rules=rules,
            rules_as_of=self.rules,
            trend=direction([v for _, v in trend_values], measure.polarity),
            trend_values=trend_values, marker=self.marker(measure, total, window),
            unit="share" if measure.is_rate else "count",
            last_return=self.last_return(measure, window),
        )

    def last_return(self, measure: Measure, window: tuple[date, date]) -> datetime | None:
        if measure.id in self._last:
            known = self._last[measure.id]
            return from_naive_utc(known) if known else None
        start = window[0] if measure.kind == "flow" else date.min
        row = self.connection.execute(
            f"WITH {STANDING_SQL} SELECT max(recorded_at) FROM standing "
            f"WHERE occurred_on BETWEEN $start AND $end AND {fact_condition(measure)}",
            {**self.standing.params(), "start": start, "end": window[1]}).fetchone()
        return from_naive_utc(row[0]) if row and row[0] else None

    def marker(self, measure: Measure, total: float | None,
               window: tuple[date, date]) -> str | None:
        """``r`` if the board accepted as_at's month and the figure has changed since;
        ``p`` if an agency counted in that month has not approved its return."""
        pinned, approved = self.sign_off()
        if pinned is not None:
            pinned_total = self.value(measure, Standing(self.known_at, pinned), window)
            return "r" if pinned_total != total else None
        counted = self._contributors.get(measure.id)
        if counted is None:
            counted = contributors(self.connection, measure, self.as_at.replace(day=1),
                                   self.as_at, self.standing)
        return "p" if counted - approved else None

    def actions(self) -> list[ActionStatus]:
        if self._statuses is not None:
            latest = {action: (status, reported_at, known)
                      for _, _, action, status, reported_at, known in self._statuses}
        else:
            latest = {row[0]: row[1:] for row in self.connection.execute(
                f"SELECT action, status, occurred_at, recorded_at FROM ({LATEST_STATUS_SQL})",
                {**self.standing.params(), "end": self.as_at}).fetchall()}
        result = []
        for code, title, lead, due in self.connection.execute(
                "SELECT code, title, lead, due FROM plan_actions ORDER BY ord").fetchall():
            status, reported_at, known = latest.get(code, ("not_started", None, None))
            result.append(ActionStatus(code, title, lead, due, status, reported_at,
                                       from_naive_utc(known) if known else None))
        return result

    def build(self) -> Report:
        plan = self.plan
        measures = scorecard_measures(plan)
        self.prefetch(measures)
        return Report(
            as_at=self.as_at, known_at=self.known_at, from_day=self.from_day,
            plan={"code": plan.code, "title": plan.title, "partnership": plan.partnership,
                  "starts": plan.starts.isoformat(), "ends": plan.ends.isoformat(),
                  "timezone": plan.timezone},
            measures=[self.measure(m) for m in measures],
            actions=self.actions(),
            rules_as_of=self.rules,
            backfilled=self.backfilled(),
        )

    def backfilled(self) -> dict[str, int]:
        """Backfilled events known at the report's time, in its window, by agency."""
        rows = self.connection.execute(
            "SELECT agency, count(*) FROM facts WHERE backfill AND recorded_at <= ? "
            "AND occurred_on BETWEEN ? AND ? GROUP BY agency ORDER BY agency",
            [to_naive_utc(self.known_at), self.from_day, self.as_at]).fetchall()
        return {str(code): int(count) for code, count in rows}


def build_report(connection: duckdb.DuckDBPyConnection, *, as_at: date, known_at: datetime,
                 from_day: date | None = None, rules: str = "then") -> Report:
    """Every measure and the actions' status, from the read model."""
    return ReportBuilder(connection, as_at=as_at, known_at=known_at, from_day=from_day,
                         rules=rules).build()


def _shown(value: int | float | None) -> str:
    if value is None:
        return "-"
    return f"{value:.1%}" if isinstance(value, float) and value <= 1 else f"{value}"


def render_text(report: Report) -> str:
    lines = [
        report.plan["title"],
        f"Events from {report.from_day} to the end of {report.as_at}, "
        f"as known at {iso_utc(report.known_at)}; rules as known {report.rules_as_of}",
        "",
        f"{'measure':<30} {'value':>9} {'':1} {'target':>8} {'rag':<6} {'trend':<22} by agency",
    ]
    for m in report.measures:
        split = ", ".join(f"{code} {_shown(v)}" for code, v in m.by_agency.items())
        target = "-" if m.target is None else _shown(_number(m.target))
        lines.append(f"{m.id:<30} {_shown(m.value):>9} {m.marker or '':1} {target:>8} "
                     f"{m.rag or '-':<6} {m.trend:<22} {split}")
    if report.backfilled:
        lines += ["", "Backfilled by an administrator (recorded after the time shown): "
                  + ", ".join(f"{code} {n}" for code, n in report.backfilled.items())]
    lines += ["", f"{'action':<8} {'status':<12} {'lead':<22} {'due':<10}  title"]
    for a in report.actions:
        lines.append(f"{a.code:<8} {a.status:<12} {a.lead:<22} {a.due}  {a.title[:60]}")
    return "\n".join(lines)


def report_json(report: Report) -> str:
    return json.dumps(report.to_json(), indent=2, ensure_ascii=False)
