"""``scorecard report``: the scorecard for a window, as it was known at a chosen time.

Each measure is counted over its period and judged by the RAG rules in force (as known
then, or today's) against its target *to date* (a period's target profiled to the as-at
day). A period count with a target gets a forecast of its outturn; a rate its numerator,
denominator and Wilson interval; every measure a trend over the last six complete
months, GSS markers ([p] provisional, [r] revised, [u] low reliability, [x] not
available), the completeness of the latest month's returns and its metadata in plain
English. docs/design.md ("Honest figures") explains each method.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from functools import lru_cache
from typing import Any

import duckdb

from domain.plan import Plan, Population
from domain.rules import MeasureRules
from domain.timekeeping import from_naive_utc, iso_utc, to_naive_utc
from projections import case_facts, fact_counts, lookups, symbols
from projections.exceptions import ExceptionBook, ExceptionFlag, note_month, reasons_for_note
from projections.measures import (
    DEFAULT_NO_TARGET,
    STANDARD_MEASURES,
    Measure,
    MeasureError,
    plan_measure,
)
from projections.metadata import measure_metadata
from projections.periods import (
    Segments,
    Span,
    complete_months,
    last_complete_month,
    month_end,
    months_between,
    months_ending,
    period_span,
    period_window,
)
from projections.standing import (
    LATEST_STATUS_SQL,
    STANDING_SQL,
    Contribution,
    Standing,
    StateFacts,
    StatusRow,
    as_values,
    complete_at,
    contributions,
    contributors,
    fact_condition,
    first_seen,
    flow_month_parts,
    flow_splits,
    last_known,
    latest_statuses_of,
    measure_split,
    monthly_parts,
    monthly_values,
    open_cases_at,
    rate_parts,
    referrals_condition,
)
from projections.statistics import (
    CONFIDENCE,
    Forecast,
    forecast_outturn,
    forecast_rate,
    poisson_interval,
    wilson_interval,
)
from projections.trend import MIN_POINTS, TEST_NAME, Trend, trend

TREND_MONTHS = 6
# The most (segment, count, agency) groups a report asks the recorded counts for in one
# statement (``fact_counts.Tally``): beyond it (a national read model: hundreds of
# agencies), each question is asked by its own statement, whose fixed cost is then
# small beside its scan, rather than handing Python a row per group.
TALLY_GROUPS = 20_000
__all__ = ["months_ending", "period_window"]  # imported from here by other modules


@dataclass(frozen=True)
class Completeness:
    """The latest complete month's returns from the agencies a measure counts."""

    month: date
    agencies: dict[str, bool]  # agency -> its return for the month has arrived

    @property
    def received(self) -> int:
        return sum(self.agencies.values())

    def shown(self) -> str:
        if not self.agencies:
            return f"no returns owed for {self.month:%B %Y}"
        return (f"Returns in: {self.received} of {len(self.agencies)} "
                f"agenc{'y' if len(self.agencies) == 1 else 'ies'} for {self.month:%B %Y}")

    def to_json(self) -> dict[str, Any]:
        return {"month": f"{self.month:%Y-%m}", "expected": len(self.agencies),
                "received": self.received,
                "missing": sorted(a for a, arrived in self.agencies.items() if not arrived)}


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
    unit: str = "count"  # or "share" (between 0 and 1), or "rate" (per ``per`` people)
    last_return: datetime | None = None  # when the newest fact it counts became known
    target_to_date: float | None = None  # the target profiled to as_at; ``rag`` judges by it
    period_span: Span | None = None  # the whole period a profiled target is set for
    forecast: Forecast | None = None
    numerator: float | None = None  # a rate's parts; None for a count
    denominator: float | None = None
    ci: tuple[float, float] | None = None  # a rate's 95% Wilson interval
    no_target_reason: str | None = None
    trend_detail: Trend = field(default_factory=lambda: trend([], "higher"))
    markers: list[str] = field(default_factory=list)  # GSS symbols, e.g. "[p]"
    completeness: Completeness | None = None
    metadata: dict[str, Any] = field(default_factory=dict)
    per: int | None = None  # a rate per population: per how many people
    exception: ExceptionFlag | None = None  # a note owed (red / off course) or written

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
                      "marker": self.trend_detail.marker, "arrow": self.trend_detail.arrow,
                      "min_points": MIN_POINTS, "months": "complete months only",
                      "values": [{"month": m, "value": v} for m, v in self.trend_values]},
            "marker": self.marker,
            "last_return": iso_utc(self.last_return) if self.last_return else None,
            "target_to_date": plain_number(self.target_to_date),
            "period_span": {"from": self.period_span[0].isoformat(),
                            "to": self.period_span[1].isoformat()}
            if self.period_span else None,
            "forecast": self.forecast.to_json() if self.forecast else None,
            "numerator": plain_number(self.numerator),
            "denominator": plain_number(self.denominator),
            "ci_low": plain_number(self.ci[0]) if self.ci else None,
            "ci_high": plain_number(self.ci[1]) if self.ci else None,
            "ci_level": CONFIDENCE if self.ci else None,
            "per": self.per,
            "no_target_reason": self.no_target_reason,
            "markers": self.markers,
            "completeness": self.completeness.to_json() if self.completeness else None,
            "metadata": self.metadata,
            "exception": self.exception.to_json() if self.exception else None,
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
            "legend": symbols.LEGEND,
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
    return plan_of(row[0] if row else None)


def plan_of(document: str | None) -> Plan:
    """The plan of a stored document (None: the read model holds none yet)."""
    if document is None:
        raise LookupError("the read model holds no plan yet")
    return _plan_from(document)


@lru_cache(maxsize=8)
def _plan_from(document: str) -> Plan:
    """The plan of a stored document, read and checked once per document text (a
    report reads the plan first; checking it again cost a fifth of a demo report's
    Python time). A new document is a new key, so a changed plan is never stale."""
    return Plan.from_document(json.loads(document))


def scorecard_measures(plan: Plan) -> list[Measure]:
    """The contract's standard measures (with the plan's objective and polarity where it
    gives them), then the plan's own measures. Worked out once per plan object (a
    report asks for them; reading the specs again was a twentieth of a demo report): the
    plan is immutable and ``plan_of`` hands out one object per stored document."""
    kept = _measures_kept.get(id(plan))
    if kept is None or kept[0] is not plan:
        standard = {m.id: m for m in STANDARD_MEASURES}
        from_plan = {spec["id"]: plan_measure(spec, standard) for spec in plan.measures}
        kept = (plan, (*[from_plan.get(m.id, m) for m in STANDARD_MEASURES],
                       *[m for m in from_plan.values() if not m.standard]))
        _measures_kept[id(plan)] = kept
        while len(_measures_kept) > 8:  # the plans of the last few documents
            del _measures_kept[next(iter(_measures_kept))]
    return list(kept[1])


# Each plan's measures, by the plan object's identity (it is kept with them, so the
# identity cannot be reused while the entry lives).
_measures_kept: dict[int, tuple[Plan, tuple[Measure, ...]]] = {}


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


def rules_known(found: lookups.Lookups, known: datetime | None) -> dict[str, RulesInForce]:
    """``all_rules_in_force`` from the read model's lookups: each measure's latest rules
    (by knowledge time, then log position) recorded by ``known`` (any, when None)."""
    at = to_naive_utc(known) if known else None
    latest: dict[str, tuple[str, datetime, str, str]] = {}
    for measure_id, rules, recorded_at, by, reason, _ in found.rules:  # oldest first
        if at is None or recorded_at <= at:
            latest[measure_id] = (rules, recorded_at, by, reason)
    return {measure_id: RulesInForce(_rules_from(rules), from_naive_utc(recorded_at), by,
                                     reason)
            for measure_id, (rules, recorded_at, by, reason) in latest.items()}


@lru_cache(maxsize=256)
def _rules_from(document: str) -> MeasureRules:
    """A stored rules document read and checked once per text (rules are immutable)."""
    return MeasureRules.from_document(json.loads(document))


@lru_cache(maxsize=256)
def _month_keys(window: Span) -> frozenset[str]:
    """The months (YYYY-MM) a window touches, kept: asked for every measure."""
    return frozenset(f"{start:%Y-%m}" for start, _ in months_between(*window))


def plain_number(value: float | None) -> int | float | None:
    """A figure as JSON and CSV give it: whole numbers as integers, others to 6 places."""
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
        # The small tables, read once per state of the read model (``lookups``).
        self.lookups = lookups.lookups(connection)
        self.plan = plan_of(self.lookups.plan_document)
        self.as_at = as_at
        self.known_at = known_at
        self.from_day = from_day or self.plan.starts
        self.rules = rules
        self.standing = Standing(known_at, pinned)
        self.trend_months = complete_months(as_at, TREND_MONTHS)
        self.trend_labels = [f"{start:%Y-%m}" for start, _ in self.trend_months]
        # Filled by ``prefetch`` for a whole report: a few grouped queries instead of
        # several per measure. Every method falls back to its own query without them.
        self._splits: dict[tuple[str, tuple[date, date], int | None],
                           tuple[float | None, dict[str, float | None]]] = {}
        self._parts: dict[tuple[str, tuple[date, date]], tuple[float, float] | None] = {}
        self._months: dict[str, dict[date, float | None]] = {}  # by month's first day
        self._month_parts: dict[str, dict[date, tuple[float, float | None]]] = {}
        self._last: dict[str, Any] = {}
        self._contributors: dict[str, set[str]] = {}
        self._contributions: dict[tuple[str, Span], dict[str, Contribution]] = {}
        self._sign_off: tuple[int | None, set[str]] | None = None
        self._rules: dict[str, RulesInForce] | None = None
        self._statuses: list[StatusRow] | None = None
        self._approved: set[tuple[str, str]] | None = None
        self._approved_months: dict[str, set[str]] | None = None
        self._arrived: set[str] | None = None
        self._exceptions: ExceptionBook | None = None
        # The questions of the recorded counts, when all the report's are recorded.
        self._answers: fact_counts.Statements | None = None
        self._states: StateFacts | None = None  # the state measures' questions

    def _monthly_span(self, measures: list[Measure]) -> list[Span]:
        """The complete months the trends and forecasts of ``measures`` read."""
        last = last_complete_month(self.as_at)
        starts = [self.trend_months[0][0]] + [
            span[0] for m in measures if m.can_forecast
            and (span := period_span(m, self.as_at, self.plan)) is not None]
        return months_between(min(starts), last) if min(starts) <= last else []

    def _contribution_window(self, window: Span) -> Span:
        """The facts whose agencies count as contributing: the window, and the latest
        complete month (whose returns the completeness reports)."""
        return min(window[0], last_complete_month(self.as_at)), window[1]

    def _first_seen_spans(self, flows: list[Measure]) -> list[Span]:
        """The complete months of each distinct count's forecast period (``forecast``)."""
        last = last_complete_month(self.as_at)
        spans = []
        for measure in flows:
            if measure.can_forecast and measure.numerator is not None \
                    and measure.numerator.aggregate == "distinct":
                whole = period_span(measure, self.as_at, self.plan)
                done = [m for m in months_between(*whole) if m[0] <= last] if whole else []
                if done:
                    spans.append((done[0][0], done[-1][1]))
        return spans

    def prefetch(self, measures: list[Measure]) -> None:
        self._rules = rules_known(self.lookups,
                                  self.known_at if self.rules == "then" else None)
        pinned, _ = self.sign_off()
        standings = [self.standing, *([Standing(self.known_at, pinned)]
                                      if pinned is not None else [])]
        flows = [m for m in measures if m.kind == "flow"]
        # The flow measures' questions are answered from the counts the projector
        # recorded (a few aggregates grouped by count) when it recorded all of theirs.
        ids = fact_counts.ids_for(flows, self.lookups.counts) if flows else None
        windows: dict[tuple[date, date], list[Measure]] = {}
        for measure in measures:
            windows.setdefault(period_window(measure, self.as_at, self.from_day, self.plan),
                               []).append(measure)
        months = self._monthly_span(flows)
        first = self.as_at.replace(day=1)
        contributing = [self._contribution_window(w) for w in windows]
        # The days each question asks about, and those it asks about month by month.
        segments = Segments([*windows, *contributing, (first, self.as_at)], [
            *self._first_seen_spans(flows), *([(months[0][0], months[-1][1])] if months
                                              else []),
            *(contributing if self.plan.returns is None else [])])
        if ids is not None and len(segments.starts) * len(ids) * max(
                1, len(self.lookups.agencies)) <= TALLY_GROUPS:
            # every question below, asked of the recorded counts at once
            self._answers = fact_counts.Tally(self.connection, ids, segments, self.standing,
                                              pinned)
        elif ids is not None:
            self._answers = fact_counts.Statements(self.connection, ids)
        states = [m for m in measures if m.kind != "flow"]
        if states:  # and the state measures' (with their values as known) at once
            open_cases = [m for m in states if m.kind == "open_cases"]
            cases = self.case_facts(open_cases)
            self._states = StateFacts(
                self.connection, states, self._state_ends(), self.standing, segments,
                self.lookups.statuses, self.as_at, case_facts.answer(
                    cases, open_cases, self._state_ends(), self.standing, segments,
                    self.as_at) if cases is not None else None)
        for window, group in windows.items():
            span = self._contribution_window(window)
            flowing = [m for m in group if m.kind == "flow"]
            for measure_id, found in self._contributions_of(
                    group, span[0], window[0], span[1]).items():
                self._contributions[(measure_id, span)] = found
            for standing in standings:
                if not flowing:
                    continue
                splits = flow_splits(self.connection, flowing, *window, standing) if (
                    self._answers is None) else fact_counts.flow_splits(
                    self._answers, flowing, *window, standing)
                for measure_id, (total, by_agency, last, parts) in splits.items():
                    self._splits[(measure_id, window, standing.position)] = (total, by_agency)
                    if standing is self.standing:
                        self._last[measure_id] = last
                        self._parts[(measure_id, window)] = parts
        if flows and months:
            for measure_id, by_month in (
                    flow_month_parts(self.connection, flows, months, self.standing)
                    if self._answers is None else fact_counts.flow_month_parts(
                        self._answers, flows, months, self.standing)).items():
                self._month_parts[measure_id] = {start: part for (start, _), part in
                                                 zip(months, by_month, strict=True)}
                self._months[measure_id] = {start: v for (start, _), v in
                                            zip(months, as_values(by_month), strict=True)}
        self._prefetch_states([m for m in measures if m.kind != "flow"], standings)
        if pinned is None and measures:
            first = self.as_at.replace(day=1)
            self._contributors = {
                measure_id: set(found) for measure_id, found in self._contributions_of(
                    measures, first, first, self.as_at).items()}

    def _contributions_of(self, measures: list[Measure], start: date, window_start: date,
                          end: date
                          ) -> dict[str, dict[str, Contribution]]:
        """``contributions`` of ``measures``: the flows' from the recorded counts when
        it has them all, the rest by their own aggregates."""
        by_month = self.plan.returns is None
        answers = self._answers
        recorded = [m for m in measures if m.kind == "flow"] if answers is not None else []
        others = [m for m in measures if m.kind != "flow" or answers is None]
        found: dict[str, dict[str, Contribution]] = {}
        if recorded and answers is not None:
            found.update(fact_counts.contributions(answers, recorded, start, window_start,
                                                   end, self.standing, by_month=by_month))
        states = [m for m in others if m.kind != "flow"] if self._states is not None else []
        if states and self._states is not None:
            found.update(self._states.contributions(states, start, window_start, end,
                                                    by_month=by_month))
        if written := [m for m in others if m.kind == "flow" or self._states is None]:
            found.update(contributions(self.connection, written, start, window_start, end,
                                       self.standing, by_month=by_month))
        return {m.id: found[m.id] for m in measures}

    def _prefetch_states(self, states: list[Measure], standings: list[Standing]) -> None:
        """State measures at as_at and at each trend month's end (so their values come
        from the same queries as their trends)."""
        open_cases = [m for m in states if m.kind == "open_cases"]
        trend_ends = [end for _, end in self.trend_months]
        cases = self.case_facts(open_cases)
        for standing in standings:
            ends = self._state_ends() if standing is self.standing else [self.as_at]
            at_ends = self._states.at_ends if (
                standing is self.standing and self._states is not None) else open_cases_at(
                self.connection, open_cases, ends, standing, None if cases is None else [
                    row[1:5] for row in case_facts.answer(
                        cases, open_cases, ends, standing, Segments([], []), self.as_at)
                    if row[0] == 0]) if open_cases else {}
            statuses = latest_statuses_of(self.lookups.statuses,
                                          (code for code, *_ in self.lookups.actions),
                                          ends, standing)
            if standing is self.standing:
                self._statuses = [row for row in statuses if row[0] == self.as_at]
            complete = complete_at(statuses, ends)
            for measure in states:
                splits = at_ends.get(measure.id, complete)
                window = period_window(measure, self.as_at, self.from_day, self.plan)
                total, by_agency = splits[-1]
                self._splits[(measure.id, window, standing.position)] = (total, {**by_agency})
                if standing is self.standing:
                    self._months[measure.id] = {
                        start: value for (start, _), (value, _) in
                        zip(self.trend_months, splits[:len(trend_ends)], strict=True)}
        if states:
            self._last.update(self._states.last_known(states) if self._states is not None
                              else last_known(self.connection, states, self.as_at,
                                              self.standing))

    def case_facts(self, open_cases: list[Measure]) -> case_facts.CaseFacts | None:
        """The read model's case facts, kept with its state when they are few enough to
        ask in Python (``projections.case_facts``); None: ask the statement."""
        if not open_cases:
            return None
        key = ("case facts", tuple((m.id, referrals_condition(m)) for m in open_cases))
        found = lookups.derived(self.lookups, key,
                                lambda: case_facts.read(self.connection, open_cases))
        return found if found is not None and found.serves(open_cases) else None

    def _state_ends(self) -> list[date]:
        """The days state measures are evaluated at: each trend month's end and as_at."""
        trend_ends = [end for _, end in self.trend_months]
        return [*trend_ends, self.as_at] if trend_ends[-1] != self.as_at else trend_ends

    def sign_off(self) -> tuple[int | None, set[str]]:
        """The position the board pinned as_at's month at (if it accepted it, as known),
        and the agencies that had approved their returns for it."""
        if self._sign_off is None:
            month = f"{self.as_at:%Y-%m}"
            known = to_naive_utc(self.known_at)
            accepted = [pinned for accepted_month, at, _, pinned in self.lookups.acceptances
                        if accepted_month == month and at <= known]  # by log position
            approved = {agency for agency, approved in self.approved() if approved == month}
            self._sign_off = (int(accepted[-1]) if accepted else None, approved)
        return self._sign_off

    def approved(self) -> set[tuple[str, str]]:
        """Every (agency, month) whose return the agency had approved, as known."""
        if self._approved is None:
            known = to_naive_utc(self.known_at)
            self._approved = {(agency, month) for agency, month, at in self.lookups.approvals
                              if at <= known}
        return self._approved

    def approved_months(self) -> dict[str, set[str]]:
        """The months each agency had approved, as known (worked out once a report)."""
        if self._approved_months is None:
            by_agency: dict[str, set[str]] = {}
            for agency, month in self.approved():
                by_agency.setdefault(agency, set()).add(month)
            self._approved_months = by_agency
        return self._approved_months

    def arrived(self) -> set[str]:
        """The agencies whose return for the latest complete month had arrived, as known:
        its first event known, or the month approved (a nil return)."""
        if self._arrived is None:
            month = last_complete_month(self.as_at)
            known = to_naive_utc(self.known_at)
            self._arrived = {agency for agency, first in lookups.arrivals(
                self.lookups, self.connection, month).items() if first <= known} | {
                agency for agency, approved in self.approved() if approved == f"{month:%Y-%m}"}
        return self._arrived

    def owes(self, agency: str, month: str, active: frozenset[str]) -> bool:
        """Whether ``agency`` owes a return for ``month``: by the plan's returns policy,
        or, when the plan has none, for every month it has facts in (``active``)."""
        policy = self.plan.returns
        if policy is None:
            return month in active
        return agency in policy.owed_from and month >= policy.owed_from[agency]

    def split(self, measure: Measure, window: tuple[date, date], standing: Standing
              ) -> tuple[float | None, dict[str, float | None]]:
        cached = self._splits.get((measure.id, window, standing.position))
        if cached is not None:
            return cached
        return measure_split(self.connection, measure, *window, standing)

    def rate_parts(self, measure: Measure, window: Span) -> tuple[float, float] | None:
        if (measure.id, window) in self._parts:
            return self._parts[(measure.id, window)]
        return rate_parts(self.connection, measure, *window, self.standing)

    def monthly(self, measure: Measure, months: list[Span]) -> list[float | None]:
        """The measure's value in each of ``months`` (a flow's count in the month, a
        state's value at its end)."""
        cached = self._months.get(measure.id)
        if cached is not None and all(start in cached for start, _ in months):
            return [cached[start] for start, _ in months]
        return monthly_values(self.connection, measure, months, self.standing) if (
            months) else []

    def monthly_parts(self, measure: Measure, months: list[Span]
                      ) -> list[tuple[float, float | None]]:
        """A flow's numerator (and a rate's denominator) in each of ``months``."""
        cached = self._month_parts.get(measure.id)
        if cached is not None and all(start in cached for start, _ in months):
            return [cached[start] for start, _ in months]
        return monthly_parts(self.connection, measure, months, self.standing) if (
            months) else []

    def contributing(self, measure: Measure, window: Span) -> dict[str, Contribution]:
        """The agencies whose facts the measure reads (and, for a plan without a returns
        policy, the months they had any in)."""
        span = self._contribution_window(window)
        if (measure.id, span) in self._contributions:
            return self._contributions[(measure.id, span)]
        return contributions(self.connection, [measure], span[0], window[0], span[1],
                             self.standing, by_month=self.plan.returns is None)[measure.id]

    def value(self, measure: Measure, standing: Standing | None = None,
              span: tuple[date, date] | None = None) -> float | None:
        window = span or period_window(measure, self.as_at, self.from_day, self.plan)
        return self.split(measure, window, standing or self.standing)[0]

    def population(self, measure: Measure) -> tuple[Population, int, int] | None:
        """The population a measure is a rate per, its year and figure used at as_at."""
        if measure.population is None:
            return None
        found = (self.plan.populations or {}).get(measure.population)
        if found is None:
            raise MeasureError(f"measure {measure.id}: population {measure.population!r} is "
                               "not in the plan's populations")
        year, people = found.for_year(self.as_at.year)
        return found, year, people

    def measure(self, measure: Measure) -> MeasureValue:
        window = period_window(measure, self.as_at, self.from_day, self.plan)
        total, by_agency = self.split(measure, window, self.standing)
        population = self.population(measure)
        scale = (measure.per or 1) / population[2] if population else 1.0
        count = total
        if population is not None:  # a count per `per` people
            total = None if total is None else total * scale
            by_agency = {code: None if v is None else v * scale for code, v in
                         by_agency.items()}
        rules = self._rules.get(measure.id) if self._rules is not None else rules_in_force(
            self.connection, measure.id, self.known_at if self.rules == "then" else None)
        target = rules.rules.target_on(self.as_at) if rules else None
        span = period_span(measure, self.as_at, self.plan) if measure.is_profiled else None
        target_to_date = target
        if rules is not None and span is not None:
            target_to_date = rules.rules.target_to_date(span, self.as_at)
        monthly = [None if v is None else v * scale
                   for v in self.monthly(measure, self.trend_months)]
        trend_values = [(label, plain_number(value))
                        for label, value in zip(self.trend_labels, monthly, strict=True)]
        direction = trend(monthly, measure.polarity)
        parts = self.rate_parts(measure, window)
        ci = wilson_interval(*parts) if parts else None
        if population is not None and count is not None:
            parts = (count, float(population[2]))
            low, high = poisson_interval(round(count))
            ci = (low * scale, high * scale)
        contributing = self.contributing(measure, window)
        last_return = self.last_return(measure, window)
        forecast = None
        if rules is not None and target is not None and measure.can_forecast:
            whole = period_span(measure, self.as_at, self.plan)
            assert whole is not None
            forecast = self.forecast(measure, rules, target, whole, scale)
        rag = rules.rules.judge_against(total, target_to_date, measure.polarity) \
            if rules else None
        return MeasureValue(
            id=measure.id, title=measure.title, value=plain_number(total),
            by_agency={code: plain_number(v) for code, v in by_agency.items()},
            target=target,
            rag=rag,
            definition=measure.definition(), objective=measure.objective,
            polarity=measure.polarity, period=measure.period, window=window, rules=rules,
            rules_as_of=self.rules,
            trend=direction.words,
            trend_values=trend_values, marker=self.marker(measure, count, window),
            unit="share" if measure.is_rate else "rate" if population else "count",
            per=measure.per if population else None,
            last_return=last_return,
            target_to_date=target_to_date,
            period_span=span if target is not None else None,
            forecast=forecast,
            numerator=parts[0] if parts else None, denominator=parts[1] if parts else None,
            ci=ci,
            no_target_reason=None if target is not None else (
                measure.about.no_target_reason or DEFAULT_NO_TARGET),
            trend_detail=direction,
            markers=self.markers(measure, count, window, parts, contributing),
            completeness=self.completeness(contributing),
            metadata=measure_metadata(
                measure, self.plan, rules.rules if rules else None,
                rules.by if rules else None, sorted(contributing),
                measure.about.min_denominator or self.plan.min_denominator, last_return,
                self.next_return(), population),
            exception=self.exceptions().flag(measure.id, note_month(self.as_at),
                                             reasons_for_note(rag, forecast.outlook
                                                              if forecast else None)),
        )

    def exceptions(self) -> ExceptionBook:
        """The exception notes and reviews as known, read once for the report."""
        if self._exceptions is None:
            self._exceptions = ExceptionBook(self.lookups.notes, self.lookups.reviews,
                                                self.known_at)
        return self._exceptions

    def forecast(self, measure: Measure, rules: RulesInForce, target: float,
                 span: Span, scale: float = 1.0) -> Forecast | None:
        """The period's outturn from its complete months' run rate (see statistics)."""
        last = last_complete_month(self.as_at)
        months = months_between(*span)
        done = [m for m in months if m[0] <= last]
        weights = {m[0]: rules.rules.month_weight(m[0].year, m[0].month, *span) for m in months}
        to_come = [weights[m[0]] for m in months if m[0] > last]
        if measure.numerator is not None and measure.numerator.aggregate == "distinct":
            answers = self._answers
            new = [] if not done else first_seen(
                self.connection, measure.numerator, done, self.standing) if answers is None \
                or fact_counts.key(measure.numerator) not in answers.ids \
                else answers.first_seen(measure.numerator, done, self.standing)
            return forecast_outturn([(n * scale, weights[m[0]]) for n, m in
                                     zip(new, done, strict=True)], to_come, target,
                                    measure.polarity)
        parts = self.monthly_parts(measure, done)
        if measure.is_rate:
            return forecast_rate([(n, d or 0.0, weights[m[0]]) for (n, d), m in
                                  zip(parts, done, strict=True)], to_come, target,
                                 measure.polarity)
        return forecast_outturn([(n * scale, weights[m[0]]) for (n, _), m in
                                 zip(parts, done, strict=True)], to_come, target,
                                measure.polarity)

    def next_return(self) -> date | None:
        """When the returns for as_at's month are due, by the plan's returns policy."""
        policy = self.plan.returns
        if policy is None:
            return None
        return month_end(self.as_at) + timedelta(days=policy.deadline_days)

    def markers(self, measure: Measure, total: float | None, window: Span,
                parts: tuple[float, float] | None,
                contributing: dict[str, Contribution]) -> list[str]:
        """The figure's GSS markers ([c] is the disclosure control's to add), from the
        measure's own count or share (``total``, before any rate per population)."""
        found = set()
        if total is None:
            found.add(symbols.NOT_AVAILABLE)
        minimum = measure.about.min_denominator or self.plan.min_denominator
        if total is not None and parts is not None and parts[1] < minimum:
            found.add(symbols.LOW_RELIABILITY)
        if self.provisional(window, contributing):
            found.add(symbols.PROVISIONAL)
        if self.marker(measure, total, window) == "r":
            found.add(symbols.REVISED)
        return symbols.ordered(found)

    def provisional(self, window: Span, contributing: dict[str, Contribution]) -> bool:
        """A contributing agency's return for a month of the window is missing or not yet
        approved (as known)."""
        months = _month_keys(window)
        approved = self.approved_months()
        policy = self.plan.returns
        for agency, contribution in contributing.items():
            if not contribution.in_window:
                continue  # it contributes nothing in the window
            owed: set[str]
            if policy is None:
                owed = set(contribution.months & months)
            elif agency in policy.owed_from:
                owed = {m for m in months if self.owes(agency, m, contribution.months)}
            else:
                continue  # the plan's returns policy asks no return of it
            if owed - approved.get(agency, set()):
                return True
        return False

    def completeness(self, contributing: dict[str, Contribution]) -> Completeness:
        month = last_complete_month(self.as_at)
        key = f"{month:%Y-%m}"
        arrived = self.arrived()
        expected = sorted(a for a, contribution in contributing.items()
                          if self.owes(a, key, contribution.months))
        return Completeness(month, {a: a in arrived for a in expected})

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
        """The as-at month's sign-off, as the single letter the report has always given
        (``markers`` carries the GSS symbols): ``r`` if the board accepted the month and
        the figure has changed since; ``p`` if an agency counted in that month has not
        approved its return."""
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
        for code, title, lead, due in self.lookups.actions:
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
        known, found = to_naive_utc(self.known_at), dict[str, int]()
        if self.lookups.backfills is None:  # too many to keep (``lookups.BACKFILL_GROUPS``)
            rows = self.connection.execute(
                "SELECT agency, count(*) FROM facts WHERE backfill AND recorded_at <= ? "
                "AND occurred_on BETWEEN ? AND ? GROUP BY agency ORDER BY agency",
                [known, self.from_day, self.as_at]).fetchall()
            return {str(code): int(count) for code, count in rows}
        for agency, day, recorded_at, events in self.lookups.backfills:
            if recorded_at <= known and self.from_day <= day <= self.as_at:
                found[agency] = found.get(agency, 0) + events
        return dict(sorted(found.items()))


def build_report(connection: duckdb.DuckDBPyConnection, *, as_at: date, known_at: datetime,
                 from_day: date | None = None, rules: str = "then") -> Report:
    """Every measure and the actions' status, from the read model."""
    return ReportBuilder(connection, as_at=as_at, known_at=known_at, from_day=from_day,
                         rules=rules).build()
