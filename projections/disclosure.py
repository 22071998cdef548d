"""Statistical disclosure control: what every figure may show outside the board's own view.

The scorecard counts abused children. The board sees its figures as counted; every other
audience (scrutiny, exports, the command line's ``--for scrutiny``) sees only what this
module lets through. Views render its output and nothing else. The policy, its rationale
and its limits are in ``docs/disclosure.md``; in short:

* A measure that counts people (``disclosure: people`` in the plan, the default) shows a
  count of 1 to threshold-1 as ``[c]``; zero is shown. Other measures are never suppressed.
* Outside the board a count of people is published only for windows that start the day
  after, and end on, a *release day* (a month end, a meeting, the plan's eve); any other
  window shows ``[x]``: otherwise two windows a day apart would give a day's count.
* A scrutiny user can ask for any such window, on any knowledge day, by agency and by
  month, so any two figures of one series as known at one time can be subtracted. Every
  flow figure is a difference of two cumulative levels, so this module chooses, per
  series and knowledge time, *anchor* release days whose levels are, for every agency, 0
  or at least the threshold apart (and far enough apart that the hidden steps between
  them cannot all be forced to 1). A figure for an agency is shown only when both its
  ends are at anchored levels of that agency (or it is 0); a total only when every
  agency's figure is shown. Then every figure that can be derived from shown figures is
  itself shown, and none of them is small (the proof is in the docs).
* Anchors depend only on the facts standing at the knowledge time, so a pack regenerated
  later for the same (as at, known at) shows the same pattern.
* Across versions: where either side of a change is hidden, nothing is said of its
  causes and the measure is listed changed or not; otherwise cause counts (and effects on
  a count) below the threshold are ``[c]``, and where one is hidden and the others would
  give it away, the next smallest is hidden too. Causes name agencies, never events.
"""

from __future__ import annotations

import copy
from bisect import bisect_left, insort
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

import duckdb

from domain.errors import CommandError
from domain.plan import Plan
from domain.timekeeping import iso_utc
from projections import symbols
from projections.audiences import AUDIENCES
from projections.measures import Count, Measure
from projections.report import (
    Report,
    build_report,
    load_plan,
    period_window,
    scorecard_measures,
)
from projections.standing import STANDING_SQL, Standing, open_cases_at

SUPPRESSED = symbols.SUPPRESSED  # [c]: confidential
UNPUBLISHED = symbols.NOT_AVAILABLE  # [x]: no count of people is published for this window
PEOPLE, NOT_PEOPLE = "people", "none"

# Standard measures that do not count people (every other standard measure does).
NOT_PEOPLE_STANDARD = frozenset({"schools_reached", "actions_complete"})

# The one list of a measure's fields that state its figure (or are computed from it
# alone): each is hidden with the figure. Add a new field about people here.
FIGURE_FIELDS = ("value", "numerator", "denominator", "ci_low", "ci_high", "rag",
                 "last_return", "metadata.last_return")
# Fields computed from the whole series (the figure and every trend point): hidden when
# any of those is hidden, since they could be solved for it.
SERIES_FIELDS = ("forecast", "forecast_low", "forecast_high", "p_meet", "outlook")
# Report-level counts of events by agency (of every type, people's among them) that no
# anchor protects: outside the board they name the agencies only.
REPORT_COUNT_FIELDS = ("backfilled",)
# Words of the trend over the monthly points (and a forecast's outlook), hidden when any
# point is hidden.
TREND_WORD_FIELDS = ("direction", "words", "arrow", "outlook")


def _hide_field(document: dict[str, Any], name: str, symbol: str) -> bool:
    """Put ``symbol`` in a field given by its dotted path, if the field holds a value."""
    *parents, last = name.split(".")
    for parent in parents:
        document = document.get(parent) or {}
        if not isinstance(document, dict):
            return False
    if document.get(last) is None:
        return False
    document[last] = symbol
    return True


class DisclosureError(CommandError):
    """A disclosure setting that cannot be honoured."""


def _day_before(day: date) -> date:
    return day - timedelta(days=1)


# The anchors of one series --------------------------------------------------------------

def month_end(day: date) -> date:
    following = (day.replace(day=28) + timedelta(days=4)).replace(day=1)
    return following - timedelta(days=1)


def month_span(label: str, as_at: date) -> tuple[date, date] | None:
    """The days a trend point labelled ``YYYY-MM`` counts (its month, cut at as_at)."""
    try:
        first = date.fromisoformat(f"{label}-01")
    except ValueError:
        return None
    return first, min(month_end(first), as_at)


def is_release_day(day: date, preferred: frozenset[date]) -> bool:
    """Whether a window may end at the end of ``day`` (or start the day after) outside
    the board: a month end, or a preferred day (a meeting, the eve of the plan)."""
    return day in preferred or day == month_end(day)


def plan_release_days(plan: Plan) -> frozenset[date]:
    """A plan's own release days besides month ends: its meetings and its eve."""
    return frozenset([m.date for m in plan.meetings] + [_day_before(plan.starts)])


def unpublished_reason(plan: Plan, as_at: date, from_day: date | None = None
                       ) -> str | None:
    """Why a window's counts of people are all ``[x]`` outside the board (it must start
    the day after, and end on, a release day), or None when they may be shown."""
    days = plan_release_days(plan)
    if not is_release_day(as_at, days):
        return (f"{as_at:%-d %b %Y} is not a release day, so counts of people are not "
                "published for it (otherwise two days' figures would give one day's "
                "count): choose a month end or a meeting.")
    if from_day is not None and not is_release_day(from_day - timedelta(days=1), days):
        return (f"counting from {from_day:%-d %b %Y} starts the window on a day that does "
                "not follow a release day, so counts of people are not published for it: "
                "count from the 1st of a month or the day after a meeting.")
    return None


def reader_note(plan: Plan, as_at: date, from_day: date | None = None) -> str:
    """What the symbols on a page outside the board mean, in a councillor's words, led by
    why its counts of people are ``[x]`` when the window's days make them so."""
    note = (f"Counts of people are protected outside the board: {SUPPRESSED} marks a "
            f"small count (1 to {plan.disclosure_threshold - 1}) or a figure from which "
            "one could be worked out, however large; beside a figure that is shown, "
            f"{SUPPRESSED} means some of its parts (by agency or by month) are; a small "
            f"change between two shown figures is {SUPPRESSED} too, though both are "
            "public.")
    reason = unpublished_reason(plan, as_at, from_day)
    return f"{UNPUBLISHED}: {reason} {note}" if reason else note


@dataclass(frozen=True)
class Anchors:
    """Which figures of one series (a count, by agency, as known at one time) may be shown.

    Outside the board a window of a count of people starts the day after, and ends on,
    a *release day* (a month end, a meeting, the eve of the plan); ``cuts`` are those days
    in order, and ``levels[a][k]`` is agency ``a``'s count up to the end of ``cuts[k]``
    (every later release day has the last cut's levels: nothing is counted after it).
    ``anchored`` are the cuts chosen so that any two differ by 0 or enough."""

    cuts: tuple[date, ...]
    preferred: frozenset[date]
    levels: Mapping[str, tuple[int, ...]]
    anchored: frozenset[int]
    threshold: int

    def cut(self, day: date) -> int | None:
        """The cut at the end of ``day``, or None if no window may end there."""
        if not is_release_day(day, self.preferred):
            return None
        at = bisect_left(self.cuts, day)
        if at < len(self.cuts) and self.cuts[at] == day:
            return at
        if day > self.cuts[-1]:
            return len(self.cuts) - 1
        return 0 if day < self.cuts[0] else None

    def _anchor_levels(self, agency: str) -> frozenset[int]:
        return frozenset(self.levels[agency][k] for k in self.anchored)

    def agency_shown(self, agency: str, start: date, end: date) -> bool:
        low_cut, high_cut = self.cut(_day_before(start)), self.cut(end)
        if low_cut is None or high_cut is None:
            return False
        levels = self.levels.get(agency)
        if levels is None:
            return True  # nothing counted for this agency: 0 everywhere
        low, high = levels[low_cut], levels[high_cut]
        if low == high:
            return True
        anchor_levels = self._anchor_levels(agency)
        return low in anchor_levels and high in anchor_levels

    def symbol(self, start: date, end: date, agency: str | None = None) -> str | None:
        """None if the figure over [start, end] (one agency's, or the total) may be
        shown; ``[x]`` if the window does not start after and end on release days;
        ``[c]`` if it is suppressed."""
        if self.cut(_day_before(start)) is None or self.cut(end) is None:
            return UNPUBLISHED
        agencies = [agency] if agency is not None else list(self.levels)
        shown = all(self.agency_shown(a, start, end) for a in agencies)
        return None if shown else SUPPRESSED


def _gap_ok(levels: Sequence[int], steps: Sequence[int], low: int, high: int,
            threshold: int) -> bool:
    """Whether two cuts may both be anchors for one agency: the count between them is 0,
    or at least the threshold and at least two more than the number of distinct levels
    strictly between them (so those hidden steps are never forced to be 1 each)."""
    gap = levels[high] - levels[low]
    if gap == 0:
        return True
    between = steps[high] - steps[low] - 1  # distinct levels strictly inside the gap
    return gap >= threshold and gap >= between + 2


def release_cuts(first: date, last: date, preferred: Iterable[date]) -> tuple[date, ...]:
    """Every release day from the month end before ``first`` to the month end of
    ``last``, with the preferred days in that span."""
    day = _day_before(first.replace(day=1))
    cuts = set()
    while day <= month_end(last):
        cuts.add(day)
        day = month_end(day + timedelta(days=1))
    cuts |= {d for d in preferred if cuts and min(cuts) <= d <= max(cuts)}
    return tuple(sorted(cuts))


def choose_anchors(daily: Mapping[str, Mapping[date, int]], threshold: int,
                   preferred: Iterable[date] = (), span: tuple[date, date] | None = None
                   ) -> Anchors:
    """The anchors of one series from each agency's count per day.

    Cuts are tried in order of use: the first cut (before any fact) always; then the
    preferred days (meetings, the plan's eve) and the last cut; then month ends; each
    tier in date order. A cut becomes an anchor when, for every agency, its count from
    the anchors either side passes ``_gap_ok``."""
    if threshold < 3:
        raise DisclosureError("disclosure threshold must be at least 3")
    preferred = frozenset(preferred)
    days = sorted({day for counts in daily.values() for day, n in counts.items() if n})
    first = min([*days[:1], *(span[:1] if span else ()), *preferred] or [date.today()])
    last = max([*days[-1:], *(span[1:] if span else ()), *preferred] or [date.today()])
    cuts = release_cuts(first, last, preferred)
    levels: dict[str, tuple[int, ...]] = {}
    steps: dict[str, tuple[int, ...]] = {}
    for agency, counts in sorted(daily.items()):
        by_day = sorted((day, n) for day, n in counts.items() if n)
        running, increases, at = 0, 0, 0
        agency_levels, agency_steps = [], []
        for cut in cuts:
            before = running
            while at < len(by_day) and by_day[at][0] <= cut:
                running += by_day[at][1]
                at += 1
            increases += running > before
            agency_levels.append(running)
            agency_steps.append(increases)
        if running:
            levels[agency], steps[agency] = tuple(agency_levels), tuple(agency_steps)
    first_tier = {k for k, cut in enumerate(cuts) if cut in preferred} | {len(cuts) - 1}
    chosen = [0]
    for k in sorted(range(1, len(cuts)), key=lambda k: (k not in first_tier, k)):
        at = bisect_left(chosen, k)
        low, high = chosen[at - 1], chosen[at] if at < len(chosen) else None
        if all(_gap_ok(levels[a], steps[a], low, k, threshold)
               and (high is None or _gap_ok(levels[a], steps[a], k, high, threshold))
               for a in levels):
            insort(chosen, k)
    return Anchors(cuts, preferred, levels, frozenset(chosen), threshold)


# The policy a plan sets ---------------------------------------------------------------

@dataclass(frozen=True)
class Policy:
    """The threshold and which measures count people, from the plan."""

    threshold: int
    people: frozenset[str]

    @classmethod
    def from_plan(cls, plan: Plan) -> Policy:
        measures = scorecard_measures(plan)
        declared = {spec["id"]: spec.get("disclosure") for spec in plan.measures}
        people = set()
        for measure in measures:
            setting = declared.get(measure.id) or (
                NOT_PEOPLE if measure.id in NOT_PEOPLE_STANDARD or measure.kind ==
                "actions_complete" else PEOPLE)
            if setting == PEOPLE:
                counts = [c for c in (measure.numerator, measure.denominator) if c]
                if measure.kind == "flow" and any(c.aggregate == "distinct" for c in counts):
                    raise DisclosureError(
                        f"plan file: measures[{measure.id}].disclosure is people but the "
                        "measure counts distinct values, which cannot be protected against "
                        "differencing: count or sum events, or set disclosure: none")
                people.add(measure.id)
        return cls(plan.disclosure_threshold, frozenset(people))


# Disclosure as known at one time --------------------------------------------------------

def is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


class Disclosure:
    """Decides each figure's cells for one knowledge time (anchors are built lazily, one
    per distinct count, from the facts standing at that time only)."""

    def __init__(self, connection: duckdb.DuckDBPyConnection, plan: Plan,
                 known_at: datetime) -> None:
        self.connection = connection
        self.plan = plan
        self.policy = Policy.from_plan(plan)
        self.standing = Standing(known_at)
        self.measures = {m.id: m for m in scorecard_measures(plan)}
        self._anchors: dict[str, Anchors] = {}
        self._states: dict[tuple[str, date], tuple[float, dict[str, float]]] = {}

    def counts_people(self, measure_id: str) -> bool:
        return measure_id in self.policy.people

    def anchors(self, count: Count) -> Anchors:
        key = count.expression() + " WHERE " + count.condition()
        if key not in self._anchors:
            rows = self.connection.execute(
                f"WITH {STANDING_SQL} SELECT agency, occurred_on, {count.expression()} "
                f"FROM standing WHERE {count.condition()} GROUP BY 1, 2",
                self.standing.params()).fetchall()
            daily: dict[str, dict[date, int]] = {}
            for agency, day, value in rows:
                daily.setdefault(agency, {})[day] = round(float(value or 0))
            preferred = sorted(plan_release_days(self.plan))
            self._anchors[key] = choose_anchors(daily, self.policy.threshold, preferred,
                                                (self.plan.starts, self.plan.ends))
        return self._anchors[key]

    def _state(self, measure: Measure, day: date) -> tuple[float, dict[str, float]]:
        if (measure.id, day) not in self._states:
            found = open_cases_at(self.connection, [measure], [day], self.standing)
            self._states[(measure.id, day)] = found[measure.id][0]
        return self._states[(measure.id, day)]

    def symbol(self, measure_id: str, start: date, end: date,
               agency: str | None = None) -> str | None:
        """None if a people measure's figure over [start, end] (at ``end`` for a state
        measure), for one agency or in total, may be shown, else the symbol it shows as
        (``[c]`` suppressed, ``[x]`` not published for that window). Not-people: None."""
        if not self.counts_people(measure_id):
            return None
        measure = self.measures[measure_id]
        if measure.kind == "open_cases":
            _, by_agency = self._state(measure, end)
            threshold = self.policy.threshold
            cells = [by_agency.get(agency, 0.0)] if agency else list(by_agency.values())
            return None if all(v == 0 or v >= threshold for v in cells) else SUPPRESSED
        counts = [c for c in (measure.numerator, measure.denominator) if c is not None]
        symbols = {self.anchors(c).symbol(start, end, agency) for c in counts}
        return UNPUBLISHED if UNPUBLISHED in symbols else (
            SUPPRESSED if SUPPRESSED in symbols else None)

    def shown(self, measure_id: str, start: date, end: date,
              agency: str | None = None) -> bool:
        return self.symbol(measure_id, start, end, agency) is None

    # The report ------------------------------------------------------------------------

    def measure_json(self, document: Mapping[str, Any], as_at: date) -> dict[str, Any]:
        """One measure of ``Report.to_json()`` as this audience may see it."""
        shown = copy.deepcopy(dict(document))
        measure_id = str(shown["id"])
        if not self.counts_people(measure_id):
            return shown
        window = shown.get("window") or {}
        start = date.fromisoformat(window["from"]) if window else self.plan.starts
        end = date.fromisoformat(window["to"]) if window else as_at
        used: list[str] = []

        def hide(symbol: str) -> str:
            if symbol not in used:
                used.append(symbol)
            return symbol

        figure = self.symbol(measure_id, start, end)
        if figure is not None:
            for name in FIGURE_FIELDS:
                if _hide_field(shown, name, figure):
                    hide(figure)
        by_agency = shown.get("by_agency") or {}
        for agency in by_agency:
            cell = self.symbol(measure_id, start, end, agency)
            if is_number(by_agency[agency]) and cell is not None:
                by_agency[agency] = hide(cell)
        trend = shown.get("trend")
        if isinstance(trend, dict):
            for point in trend.get("values", []):
                span = month_span(str(point.get("month")), as_at)
                cell = UNPUBLISHED if span is None else self.symbol(measure_id, *span)
                if is_number(point.get("value")) and cell is not None:
                    point["value"] = hide(cell)
            if used:
                for name in TREND_WORD_FIELDS:
                    if name in trend:
                        trend[name] = hide(SUPPRESSED)
        if used:
            for name in SERIES_FIELDS:
                if isinstance(shown.get(name), dict):
                    shown[name] = {k: hide(SUPPRESSED) if is_number(v) or k in
                                   TREND_WORD_FIELDS else v for k, v in shown[name].items()}
                elif shown.get(name) is not None:
                    shown[name] = hide(SUPPRESSED)
            listed = list(shown.get("markers") or [])
            shown["markers"] = symbols.ordered(set(listed) | set(used))
        return shown

    def report_json(self, document: Mapping[str, Any]) -> dict[str, Any]:
        as_at = date.fromisoformat(str(document["as_at"]))
        shown = {k: copy.deepcopy(v) for k, v in document.items() if k != "measures"}
        shown["measures"] = [self.measure_json(m, as_at) for m in document["measures"]]
        for name in REPORT_COUNT_FIELDS:  # counts of events by agency, people among them
            if isinstance(shown.get(name), dict):
                shown[name] = {agency: SUPPRESSED for agency in shown[name]}
        shown["disclosure"] = {"audience": "scrutiny", "threshold": self.policy.threshold,
                               "suppressed": SUPPRESSED, "not_published": UNPUBLISHED}
        return shown


def disclosed_report(connection: duckdb.DuckDBPyConnection, report: Report,
                     audience: str) -> dict[str, Any]:
    """The report as ``audience`` may see it: as counted for the board, else suppressed."""
    if audience not in AUDIENCES:
        raise DisclosureError(f"--for must be one of {', '.join(AUDIENCES)}")
    document = report.to_json()
    if audience == "board":
        return document
    return Disclosure(connection, load_plan(connection), report.known_at).report_json(document)


# What changed ----------------------------------------------------------------------------

EVENT_CAUSES = ("late return", "correction", "retraction")


def _small(value: Any, threshold: int) -> bool:
    return is_number(value) and 0 < abs(value) < threshold


def hide_causes(causes: list[dict[str, Any]], threshold: int, everything: bool,
                change_known: bool, unit: str = "count") -> list[dict[str, Any]]:
    """Cause counts and effects as an outside reader may see them: never the events
    (their ids and days would count them), only the agencies; a cause whose count is
    small, or whose effect on a count is small, shows both as [c] (all of them, when a
    side of the change is hidden); and when one event cause is hidden but the change
    and the others would give it away (the effects add up to the difference, which both
    shown sides make public), the next smallest shown one is hidden too."""
    shown = []
    for cause in causes:
        entry = {k: v for k, v in cause.items() if k != "events"}
        if cause["cause"] in EVENT_CAUSES:
            entry["agencies"] = cause.get("agencies") or sorted(
                {e["agency"] for e in cause.get("events", [])})
            count = cause["count"]
            if everything or 0 < count < threshold or (
                    unit == "count" and _small(cause.get("effect"), threshold)):
                _hide_cause(entry)
        shown.append(entry)
    hidden = [c for c in shown if c["count"] == SUPPRESSED and c["cause"] in EVENT_CAUSES]
    visible = sorted((abs(c["effect"]) if is_number(c.get("effect")) else 0, c["count"], i)
                     for i, c in enumerate(shown)
                     if c["cause"] in EVENT_CAUSES and c["count"] != SUPPRESSED)
    if change_known and len(hidden) == 1 and visible:
        _hide_cause(shown[visible[0][2]])
    return shown


def _hide_cause(entry: dict[str, Any]) -> None:
    entry["count"] = SUPPRESSED
    if "effect" in entry:
        entry["effect"] = SUPPRESSED


HIDDEN_CAUSES = [{"cause": SUPPRESSED, "count": SUPPRESSED}]


def disclosed_restatements(connection: duckdb.DuckDBPyConnection, diff: Mapping[str, Any],
                           audience: str,
                           built: Iterable[Report] = ()) -> dict[str, Any]:
    """``restatements`` as ``audience`` may see it. Each side of a change shows as that
    side's report shows it. Where either side of a people measure is hidden, nothing is
    said about its causes, not even which kinds there were (a kind left out would say
    "none of those", and with the shown side give the hidden one), and the measure is
    listed whether or not it changed, so that its absence cannot say "unchanged"."""
    if audience not in AUDIENCES:
        raise DisclosureError(f"--for must be one of {', '.join(AUDIENCES)}")
    shown = copy.deepcopy(dict(diff))
    if audience == "board":
        return shown
    plan = load_plan(connection)
    known_then = datetime.fromisoformat(diff["known_at"])
    known_now = datetime.fromisoformat(diff["against"])
    then, now = Disclosure(connection, plan, known_then), Disclosure(connection, plan,
                                                                     known_now)
    as_at, from_day = date.fromisoformat(diff["as_at"]), date.fromisoformat(diff["from"])
    listed = {change["measure"]: change for change in shown["measures"]}
    # Reports the caller already built for this window (by knowledge time), reused.
    reports: dict[str, Report] = {iso_utc(r.known_at): r for r in built
                                  if (r.as_at, r.from_day) == (as_at, from_day)}

    def side(known: datetime, measure_id: str) -> dict[str, Any]:
        key = iso_utc(known)
        if key not in reports:
            reports[key] = build_report(connection, as_at=as_at, known_at=known,
                                        from_day=from_day)
        value = reports[key].measure(measure_id)
        return {"value": value.value, "rag": value.rag, "target": value.target}

    changes = []
    for measure in scorecard_measures(plan):
        change = listed.get(measure.id)
        if not then.counts_people(measure.id):
            if change is not None:
                changes.append(change)
            continue
        window = period_window(measure, as_at, from_day, plan)
        symbols = {"then": then.symbol(measure.id, *window),
                   "now": now.symbol(measure.id, *window)}
        hidden = any(symbol is not None for symbol in symbols.values())
        if change is None and not hidden:
            continue
        if change is None:
            change = {"measure": measure.id, "title": measure.title,
                      "then": side(known_then, measure.id), "now": side(known_now, measure.id),
                      "causes": [], "difference": None,
                      "unit": reports[iso_utc(known_now)].measure(measure.id).unit}
        for name, symbol in symbols.items():
            if symbol is not None:
                for field in FIGURE_FIELDS:
                    _hide_field(change[name], field, symbol)
                if "difference" in change:  # then and the difference would give now
                    change["difference"] = symbol
        unit = str(change.get("unit") or "count")
        if not hidden and unit == "count" and _small(change.get("difference"),
                                                     then.policy.threshold):
            # Both sides are shown, so the change can be worked out (docs: limits), but
            # a small count of people is not printed for a reader to copy into minutes.
            change["difference"] = SUPPRESSED
        change["causes"] = copy.deepcopy(HIDDEN_CAUSES) if hidden else hide_causes(
            change["causes"], then.policy.threshold, everything=False, change_known=True,
            unit=unit)
        changes.append(change)
    shown["measures"] = changes
    shown["disclosure"] = {"audience": audience, "threshold": then.policy.threshold,
                           "suppressed": SUPPRESSED, "not_published": UNPUBLISHED}
    return shown
