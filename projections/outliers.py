"""Outlier and plausibility flags at entry: a return that differs from the agency's own
history, or breaks a bound the plan sets, is questioned before it counts.

The rule, for each count measure (a count, sum or distinct count; not a rate) and each
month a return touches, on the agency's own monthly figure for that measure with the
return included:

- **robust z-score** against the agency's previous ``HISTORY_MONTHS`` months (from its
  first month with any event; months without events count 0):
  ``z = 0.6745 (x - median) / MAD``, MAD the median absolute deviation from the median
  (Iglewicz and Hoaglin's modified z-score). When MAD is 0 (most months equal) the mean
  absolute deviation stands in: ``z = (x - median) / (1.253314 MeanAD)``; when that is 0
  too (every month equal), any different figure is an outlier. A figure with
  ``|z| > Z_LIMIT`` (3.5) is flagged, given at least ``MIN_HISTORY`` (6) months of history.
- **hard bounds** the plan may set per measure, ``plausible: {min: N, max: N}``, on an
  agency's figure for one month: a figure outside them is flagged whatever the history.

Only figures the return changes are judged. Nothing is dropped: a flagged return is
submitted once the agency confirms it, and the confirmation is kept (``FigureCheck``)
for the board's reviewer, who can mark a figure for follow-up.
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from types import SimpleNamespace
from typing import Any
from uuid import uuid4

import duckdb

from domain import contract
from domain.errors import Rejected
from domain.plan import Plan
from domain.timekeeping import from_naive_utc, iso_utc, to_naive_utc
from projections.measures import Measure
from projections.periods import month_end
from projections.projector import FACT_SCHEMA, arrow_table, fact_row
from projections.report import scorecard_measures
from projections.standing import STANDING_SQL, Standing

Z_LIMIT = 3.5
MIN_HISTORY = 6
HISTORY_MONTHS = 12
MAD_SCALE = 0.6745  # the MAD of a normal distribution, in standard deviations
MEAN_AD_SCALE = 1.253314  # sqrt(pi / 2): the mean absolute deviation of a normal one
UPLOAD_POSITION = 2**62  # after every real fact: the return as if accepted now


def robust_z(value: float, history: Sequence[float]) -> float | None:
    """The modified z-score of ``value`` against ``history``; None with too little."""
    if len(history) < MIN_HISTORY:
        return None
    middle = statistics.median(history)
    deviations = [abs(h - middle) for h in history]
    mad = statistics.median(deviations)
    if mad > 0:
        return MAD_SCALE * (value - middle) / mad
    mean_ad = statistics.fmean(deviations)
    if mean_ad > 0:
        return (value - middle) / (MEAN_AD_SCALE * mean_ad)
    return 0.0 if value == middle else math.copysign(math.inf, value - middle)


@dataclass(frozen=True)
class OutlierFlag:
    """One figure a return would make that needs the agency's confirmation."""

    agency: str
    measure: str
    title: str
    month: str
    value: float
    rule: str  # "robust z" | "below the plan's minimum" | "above the plan's maximum"
    median: float | None = None
    z: float | None = None
    history: int = 0  # months of history compared with
    bound: float | None = None

    def explain(self) -> str:
        shown = f"{self.value:g}"
        if self.rule == "robust z":
            z = "∞" if self.z is not None and math.isinf(self.z) else f"{self.z:+.1f}"
            return (f"{self.title}, {self.month}: {shown} against a median of "
                    f"{self.median:g} over the previous {self.history} months "
                    f"(robust z {z}; beyond ±{Z_LIMIT:g} is questioned)")
        return f"{self.title}, {self.month}: {shown} is {self.rule} ({self.bound:g})"

    def to_json(self) -> dict[str, Any]:
        return {"agency": self.agency, "measure": self.measure, "month": self.month,
                "value": self.value, "rule": self.rule, "median": self.median,
                "z": None if self.z is None or math.isinf(self.z) else round(self.z, 2),
                "history": self.history, "bound": self.bound, "explain": self.explain()}


def plausible_bounds(spec: Mapping[str, Any]) -> tuple[float | None, float | None]:
    """A plan measure's ``plausible: {min, max}`` (checked when the plan loads)."""
    bounds = spec.get("plausible") or {}
    low, high = bounds.get("min"), bounds.get("max")
    return (float(low) if low is not None else None, float(high) if high is not None
            else None)


def _months_before(month: str, count: int) -> list[str]:
    year, number = int(month[:4]), int(month[5:])
    found = []
    for _ in range(count):
        year, number = (year - 1, 12) if number == 1 else (year, number - 1)
        found.append(f"{year:04d}-{number:02d}")
    return found[::-1]


def _countable(measure: Measure) -> bool:
    return (measure.kind == "flow" and measure.numerator is not None
            and measure.denominator is None and measure.population is None)


def upload_facts(messages: Sequence[Mapping[str, Any]], plan: Plan, now: datetime
                 ) -> list[tuple[Any, ...]]:
    """The return's valid events as rows of ``facts`` (invalid ones count for nothing)."""
    rows = []
    for message in messages:
        try:
            event = contract.parse_event(
                {k: v for k, v in message.items() if k != "signature"}, plan.zone)
        except Rejected:
            continue
        rows.append(fact_row(UPLOAD_POSITION, SimpleNamespace(
            originator_id=uuid4(), agency=event.agency, event_id=event.event_id,
            type=event.type, occurred_at=event.occurred_at,
            occurred_utc=event.occurrence.at, occurred_on=event.occurrence.day.isoformat(),
            recorded_at=now, backfill=False, supersedes=event.supersedes,
            episode=None, payload=event.payload)))
    return rows


SERIES_SQL = """
WITH {standing},
replaced AS (
    SELECT supersedes AS event_id FROM upload WHERE supersedes IS NOT NULL
    UNION SELECT payload->>'target' FROM upload WHERE {retractions}),
kept AS (
    SELECT * FROM standing WHERE agency = $agency
      AND event_id NOT IN (SELECT event_id FROM replaced WHERE event_id IS NOT NULL)),
candidate AS (SELECT * FROM kept {with_upload})
SELECT strftime(occurred_on, '%Y-%m') AS month, {expression} FROM candidate
WHERE agency = $agency AND {condition} AND occurred_on BETWEEN $start AND $end
GROUP BY 1
"""


def flag_return(connection: duckdb.DuckDBPyConnection, plan: Plan, agency: str,
                messages: Sequence[Mapping[str, Any]], now: datetime | None = None
                ) -> list[OutlierFlag]:
    """Every figure this return would change that breaks the rule, month by month."""
    now = now or datetime.now(UTC)
    rows = upload_facts([m for m in messages if m.get("agency") == agency], plan, now)
    if not rows:
        return []
    months = sorted({row[7].strftime("%Y-%m") for row in rows})  # occurred_on
    first = min([row[7] for row in rows] + [d for (d,) in connection.execute(
        "SELECT min(occurred_on) FROM facts WHERE agency = $agency", {"agency": agency}
    ).fetchall() if d is not None])
    first_month = f"{first:%Y-%m}"
    earliest = _months_before(months[0], HISTORY_MONTHS)[0]
    start = date(int(earliest[:4]), int(earliest[5:]), 1)
    end = month_end(date(int(months[-1][:4]), int(months[-1][5:]), 1))
    specs = {spec["id"]: spec for spec in plan.measures}
    connection.register("upload", arrow_table(rows, FACT_SCHEMA))
    try:
        flags: list[OutlierFlag] = []
        for measure in scorecard_measures(plan):
            if not _countable(measure):
                continue
            assert measure.numerator is not None
            series = {}
            for with_upload in (True, False):
                sql = SERIES_SQL.format(
                    standing=STANDING_SQL,
                    retractions=contract.types_sql(contract.types_in_role("retracts")),
                    with_upload="UNION ALL BY NAME SELECT * FROM upload" if with_upload
                    else "", expression=measure.numerator.expression(),
                    condition=measure.numerator.condition())
                found = connection.execute(sql, {
                    **Standing(now).params(), "agency": agency, "start": start,
                    "end": end}).fetchall()
                series[with_upload] = {m: float(v or 0) for m, v in found if m is not None}
            low, high = plausible_bounds(specs.get(measure.id, {}))
            for month in months:
                value = series[True].get(month, 0.0)
                if value == series[False].get(month, 0.0):
                    continue  # the return does not change this figure
                flags += _judge(agency, measure, month, value, series[True], first_month,
                                low, high)
        return flags
    finally:
        connection.unregister("upload")


def _judge(agency: str, measure: Measure, month: str, value: float,
           series: Mapping[str, float], first_month: str, low: float | None,
           high: float | None) -> list[OutlierFlag]:
    flags = []
    if low is not None and value < low:
        flags.append(OutlierFlag(agency, measure.id, measure.title, month, value,
                                 "below the plan's minimum", bound=low))
    if high is not None and value > high:
        flags.append(OutlierFlag(agency, measure.id, measure.title, month, value,
                                 "above the plan's maximum", bound=high))
    history = [series.get(m, 0.0) for m in _months_before(month, HISTORY_MONTHS)
               if m >= first_month]
    z = robust_z(value, history)
    if z is not None and abs(z) > Z_LIMIT:
        flags.append(OutlierFlag(agency, measure.id, measure.title, month, value, "robust z",
                                 statistics.median(history), z, len(history)))
    return flags


CHECKS_SQL = """
SELECT agency, measure_id, month,
       arg_max(value, position) FILTER (WHERE kind = 'confirmed'),
       arg_max(rule, position) FILTER (WHERE kind = 'confirmed'),
       arg_max(detail, position) FILTER (WHERE kind = 'confirmed'),
       max(recorded_at) FILTER (WHERE kind = 'confirmed'),
       arg_max(recorded_by, position) FILTER (WHERE kind = 'confirmed'),
       arg_max(detail, position) FILTER (WHERE kind = 'follow_up'),
       max(recorded_at) FILTER (WHERE kind = 'follow_up'),
       arg_max(recorded_by, position) FILTER (WHERE kind = 'follow_up')
FROM figure_checks WHERE recorded_at <= $known AND ($agency IS NULL OR agency = $agency)
GROUP BY ALL ORDER BY month DESC, agency, measure_id
"""


def confirmed_figures(connection: duckdb.DuckDBPyConnection, known_at: datetime,
                      agency: str | None = None) -> list[dict[str, Any]]:
    """The figures agencies confirmed after they were questioned, as known, each with the
    reviewer's follow-up mark if any: the board reviewer's list."""
    rows = connection.execute(CHECKS_SQL, {"known": to_naive_utc(known_at),
                                           "agency": agency}).fetchall()
    return [{"agency": a, "measure": m, "month": month, "value": value, "rule": rule,
             "explain": detail, "confirmed_at": iso_utc(from_naive_utc(at)) if at else None,
             "confirmed_by": by, "follow_up": follow is not None, "follow_up_note": follow,
             "follow_up_at": iso_utc(from_naive_utc(f_at)) if f_at else None,
             "follow_up_by": f_by}
            for a, m, month, value, rule, detail, at, by, follow, f_at, f_by in rows]
