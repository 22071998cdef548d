"""Which facts each of the plan's counts counts, recorded by the projector as it folds.

DuckDB spends about 0.2 ms binding, optimising and setting up each aggregate of a
statement, whatever the data: a report that wrote a ``FILTER`` aggregate per count and
per question (its value, whether an agency has any, its last return, its months) paid
for about 160 of them, ≈80 ms on the 2,000-fact demo, where a plain scan of the same
facts takes under 1 ms. Recording once, when a fact is folded, which count it belongs to
and what it adds (1 to a count, its field to a sum, its item to a distinct count) turns
those questions into a few aggregates grouped by count, however many measures a plan
has: ``counted`` holds one narrow row per (count, fact), ``counts`` names the counts
(both in ``readmodel.SCHEMA``).

The counts are those of the plan's flow measures (``report.scorecard_measures``). When
the plan's counts change (the plan adopted, or a count's definition changed in code),
``record`` refills the table from every fact; otherwise it adds the facts of the batch
just folded. Whether a fact still stands (retracted, superseded, not yet known) is
asked at read time, by joining the standing facts, exactly as before. A report whose
counts are not all recorded (a read model folded before a count existed) falls back to
writing its aggregates out (``standing.py``), which is also the reference that the
demo's figures are tested against.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import date
from typing import Any

import duckdb

from projections.measures import Count, Measure
from projections.standing import (
    STANDS_SQL,
    Contribution,
    FlowSplit,
    MonthParts,
    Standing,
    share,
)


def key(count: Count) -> str:
    """A count's identity: what it aggregates over which facts."""
    return f"{count.expression()} WHERE {count.condition()}"


def counts_of(measures: Iterable[Measure]) -> list[Count]:
    """The distinct counts of the flow measures among ``measures``."""
    found: dict[str, Count] = {}
    for measure in measures:
        if measure.kind != "flow":
            continue
        for count in (measure.numerator, measure.denominator):
            if count is not None:
                found.setdefault(key(count), count)
    return list(found.values())


def _value(count: Count) -> str:
    if count.aggregate == "count":
        return "1.0"
    return f"CAST({count.column()} AS DOUBLE)" if count.aggregate == "sum" else "NULL"


def _item(count: Count) -> str:
    return f"CAST({count.column()} AS VARCHAR)" if count.aggregate == "distinct" else "NULL"


def record(connection: duckdb.DuckDBPyConnection, counts: list[Count], after: int) -> None:
    """Record the membership of the facts after log position ``after`` in ``counts``
    (of every fact, when the recorded counts are not ``counts``). Inside the
    projector's transaction for the batch."""
    stored = dict(connection.execute("SELECT key, id FROM counts").fetchall())
    if set(stored) != {key(c) for c in counts}:
        connection.execute("DELETE FROM counted")
        connection.execute("DELETE FROM counts")
        stored = {key(c): i for i, c in enumerate(counts)}
        if stored:
            connection.executemany("INSERT INTO counts VALUES (?, ?)",
                                   [(i, k) for k, i in stored.items()])
        after = -1
    if not counts:
        return
    selects = [f"SELECT {stored[key(c)]}, {FACT_COLUMNS}, {_value(c)}, {_item(c)} "
               f"FROM facts WHERE position > $after AND {c.condition()}" for c in counts]
    connection.execute("INSERT INTO counted " + " UNION ALL ".join(selects),
                       {"after": after})


def end(connection: duckdb.DuckDBPyConnection, ends: str) -> None:
    """Copy the ends of the facts named in the registered relation ``ends`` (by
    submission) from ``facts``, after the projector has ended them there."""
    connection.execute(
        "UPDATE counted SET ended_at = facts.ended_at, ended_position = facts.ended_position "
        f"FROM facts WHERE counted.position = facts.position AND facts.submission_id IN "
        f"(SELECT submission_id FROM {ends})")


def recorded(connection: duckdb.DuckDBPyConnection) -> dict[str, int]:
    """The recorded counts' ids by key (empty for a read model without the table)."""
    try:
        return dict(connection.execute("SELECT key, id FROM counts").fetchall())
    except duckdb.CatalogException:
        return {}


def ids_for(measures: Iterable[Measure], ids: Mapping[str, int]) -> dict[str, int] | None:
    """The ids of the flow measures' counts, or None when any is not recorded."""
    wanted = {key(c) for c in counts_of(measures)}
    if not wanted <= set(ids):
        return None
    return {k: ids[k] for k in wanted}


# The fact columns ``counted`` copies (a join to ``facts`` cost more than the rest of
# the statement), and the counts' facts that stand, in a span of days.
FACT_COLUMNS = "position, agency, occurred_on, recorded_at, ended_at, ended_position"
HITS_SQL = f"""
hits AS (
    SELECT * FROM counted WHERE occurred_on BETWEEN $start AND $end AND {STANDS_SQL}
)"""

# Per (count, agency), and per count over all agencies (agency NULL): the count's value
# as a count or sum (``value``), as a distinct count (``items``), how many facts it has
# (``facts``) and when the latest became known.
SPLITS_SQL = """
SELECT count_id, agency, sum(value), count(DISTINCT item), count(*), max(recorded_at)
FROM hits GROUP BY count_id, agency
UNION ALL
SELECT count_id, NULL, NULL, count(DISTINCT item), count(*), max(recorded_at)
FROM hits WHERE item IS NOT NULL GROUP BY count_id
"""

Cell = tuple[float, int, Any]  # value (as its count's aggregate gives it), facts, latest


def _cell(count: Count, value: Any, items: Any, facts: Any, latest: Any) -> Cell:
    shown = float(items or 0) if count.aggregate == "distinct" else float(value or 0)
    return shown, int(facts or 0), latest


def splits(connection: duckdb.DuckDBPyConnection, counts: list[Count], ids: Mapping[str, int],
           start: date, end: date, standing: Standing
           ) -> tuple[dict[str, dict[str, Cell]], dict[str, Cell]]:
    """Each count over [start, end] by agency (only agencies with any of its facts), and
    each distinct count's over all agencies (which its agencies' do not add up to)."""
    by_id = {ids[key(c)]: c for c in counts}
    rows = connection.execute(
        f"WITH {HITS_SQL} {SPLITS_SQL}",
        {**standing.params(), "start": start, "end": end}).fetchall()
    by_agency: dict[str, dict[str, Cell]] = {key(c): {} for c in counts}
    totals: dict[str, Cell] = {}
    for count_id, agency, value, items, facts, latest in sorted(
            rows, key=lambda r: (r[0], r[1] is not None, r[1] or "")):
        count = by_id.get(count_id)
        if count is None:
            continue  # a count of the plan this question does not ask about
        cell = _cell(count, value, items, facts, latest)
        if agency is None:
            totals[key(count)] = cell
        else:
            by_agency[key(count)][agency] = cell
    return by_agency, totals


MONTHS_SQL = """
SELECT count_id, CAST(date_trunc('month', occurred_on) AS DATE), sum(value),
       count(DISTINCT item)
FROM hits GROUP BY ALL
"""


def by_month(connection: duckdb.DuckDBPyConnection, counts: list[Count],
             ids: Mapping[str, int], months: list[tuple[date, date]],
             standing: Standing) -> dict[str, list[float]]:
    """Each count in each of ``months`` (consecutive spans)."""
    by_id = {ids[key(c)]: c for c in counts}
    rows = connection.execute(
        f"WITH {HITS_SQL} {MONTHS_SQL}",
        {**standing.params(), "start": months[0][0], "end": months[-1][1]}).fetchall()
    found: dict[tuple[int, date], float] = {}
    for count_id, month, value, items in rows:
        if count_id in by_id:
            found[(count_id, month)] = _cell(by_id[count_id], value, items, 1, None)[0]
    return {key(c): [found.get((ids[key(c)], first), 0.0) for first, _ in months]
            for c in counts}


PRESENCE_SQL = """
SELECT count_id, agency, count(*) FILTER (WHERE occurred_on >= $window),
       list(DISTINCT strftime(occurred_on, '%Y-%m'))
FROM hits GROUP BY ALL
"""

Presence = tuple[bool, frozenset[str]]  # any from the window's start, months with any


def presence(connection: duckdb.DuckDBPyConnection, counts: list[Count],
             ids: Mapping[str, int], start: date, window_start: date, end: date,
             standing: Standing) -> dict[str, dict[str, Presence]]:
    """The agencies with any of each count's facts in [start, end]: whether any is from
    ``window_start``, and the months they have any in."""
    by_id = {ids[key(c)]: c for c in counts}
    rows = connection.execute(
        f"WITH {HITS_SQL} {PRESENCE_SQL}",
        {**standing.params(), "start": start, "end": end, "window": window_start}).fetchall()
    found: dict[str, dict[str, Presence]] = {key(c): {} for c in counts}
    for count_id, agency, in_window, months in rows:
        if count_id in by_id:
            found[key(by_id[count_id])][agency] = (bool(in_window), frozenset(months or ()))
    return found


# The report's batched questions of flow measures, answered from the recorded counts in
# the shapes ``standing.py`` gives them -------------------------------------------------


def flow_splits(connection: duckdb.DuckDBPyConnection, measures: list[Measure],
                ids: Mapping[str, int], start: date, end: date, standing: Standing
                ) -> dict[str, FlowSplit]:
    """``standing.flow_splits`` from the recorded counts."""
    counts = counts_of(measures)
    agencies, totals = splits(connection, counts, ids, start, end, standing)

    def value(count: Count) -> float:
        if count.aggregate == "distinct":
            return totals[key(count)][0] if key(count) in totals else 0.0
        return float(sum(cell[0] for cell in agencies[key(count)].values()))

    results: dict[str, FlowSplit] = {}
    for measure in measures:
        assert measure.numerator is not None
        numerator = agencies[key(measure.numerator)]
        latest = max((cell[2] for c in (measure.numerator, measure.denominator)
                      if c is not None for cell in agencies[key(c)].values()), default=None)
        if measure.denominator is None:
            results[measure.id] = (value(measure.numerator),
                                   {a: cell[0] for a, cell in sorted(numerator.items())},
                                   latest, None)
            continue
        base = agencies[key(measure.denominator)]
        top, bottom = value(measure.numerator), value(measure.denominator)
        shares = {a: share(numerator[a][0] if a in numerator else 0.0, cell[0])
                  for a, cell in sorted(base.items())}
        results[measure.id] = (share(top, bottom), shares, latest, (top, bottom))
    return results


def flow_month_parts(connection: duckdb.DuckDBPyConnection, measures: list[Measure],
                     ids: Mapping[str, int], months: list[tuple[date, date]],
                     standing: Standing) -> dict[str, MonthParts]:
    """``standing.flow_month_parts`` from the recorded counts."""
    found = by_month(connection, counts_of(measures), ids, months, standing)
    results: dict[str, MonthParts] = {}
    for measure in measures:
        assert measure.numerator is not None
        bases: list[float | None] = (list(found[key(measure.denominator)])
                                     if measure.denominator is not None
                                     else [None] * len(months))
        results[measure.id] = list(zip(found[key(measure.numerator)], bases, strict=True))
    return results


def contributions(connection: duckdb.DuckDBPyConnection, measures: list[Measure],
                  ids: Mapping[str, int], start: date, window_start: date, end: date,
                  standing: Standing, *, by_month: bool = False
                  ) -> dict[str, dict[str, Contribution]]:
    """``standing.contributions`` of flow measures from the recorded counts: a measure
    reads the facts of its numerator and of its denominator."""
    found = presence(connection, counts_of(measures), ids, start, window_start, end,
                     standing)
    results: dict[str, dict[str, Contribution]] = {}
    for measure in measures:
        merged: dict[str, Presence] = {}
        for count in (measure.numerator, measure.denominator):
            if count is None:
                continue
            for agency, (in_window, months) in found[key(count)].items():
                before = merged.get(agency, (False, frozenset()))
                merged[agency] = (before[0] or in_window, before[1] | months)
        results[measure.id] = {
            agency: Contribution(in_window, months if by_month else frozenset())
            for agency, (in_window, months) in sorted(merged.items())}
    return results


FIRST_SEEN_SQL = """
WITH {hits}
SELECT strftime(first, '%Y-%m'), count(*) FROM (
    SELECT item, min(occurred_on) AS first FROM hits
    WHERE count_id = $count AND item IS NOT NULL GROUP BY item)
GROUP BY 1
"""


def first_seen(connection: duckdb.DuckDBPyConnection, count: Count, ids: Mapping[str, int],
               months: list[tuple[date, date]], standing: Standing) -> list[float]:
    """``standing.first_seen`` from the recorded counts."""
    rows = dict(connection.execute(FIRST_SEEN_SQL.format(hits=HITS_SQL), {
        **standing.params(), "start": months[0][0], "end": months[-1][1],
        "count": ids[key(count)]}).fetchall())
    return [float(rows.get(f"{start:%Y-%m}", 0)) for start, _ in months]
