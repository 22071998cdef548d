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
from projections.periods import Segments, Span
from projections.standing import (
    STANDS_SQL,
    Contribution,
    FlowSplit,
    MonthParts,
    Standing,
    share,
)


def key(count: Count) -> str:
    """A count's identity: what it aggregates over which facts (kept on the count, which
    is frozen: a report asks for it thousands of times)."""
    found = count.__dict__.get("_key")
    if found is None:
        found = f"{count.expression()} WHERE {count.condition()}"
        object.__setattr__(count, "_key", found)
    return str(found)


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
           ) -> tuple[dict[str, dict[str, Cell]], dict[str, float]]:
    """Each count over [start, end] by agency (only agencies with any of its facts), and
    each distinct count's value over all agencies (which its agencies' do not add up to;
    only counts with any item)."""
    by_id = {ids[key(c)]: c for c in counts}
    rows = connection.execute(
        f"WITH {HITS_SQL} {SPLITS_SQL}",
        {**standing.params(), "start": start, "end": end}).fetchall()
    by_agency: dict[str, dict[str, Cell]] = {key(c): {} for c in counts}
    totals: dict[str, float] = {}
    for count_id, agency, value, items, facts, latest in sorted(
            rows, key=lambda r: (r[0], r[1] is not None, r[1] or "")):
        count = by_id.get(count_id)
        if count is None:
            continue  # a count of the plan this question does not ask about
        cell = _cell(count, value, items, facts, latest)
        if agency is None:
            totals[key(count)] = cell[0]
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


def flow_splits(answers: Statements, measures: list[Measure], start: date, end: date,
                standing: Standing) -> dict[str, FlowSplit]:
    """``standing.flow_splits`` from the recorded counts."""
    counts = counts_of(measures)
    agencies, totals = answers.splits(counts, start, end, standing)

    def value(count: Count) -> float:
        if count.aggregate == "distinct":
            return totals.get(key(count), 0.0)
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


def flow_month_parts(answers: Statements, measures: list[Measure],
                     months: list[tuple[date, date]], standing: Standing
                     ) -> dict[str, MonthParts]:
    """``standing.flow_month_parts`` from the recorded counts."""
    found = answers.by_month(counts_of(measures), months, standing)
    results: dict[str, MonthParts] = {}
    for measure in measures:
        assert measure.numerator is not None
        bases: list[float | None] = (list(found[key(measure.denominator)])
                                     if measure.denominator is not None
                                     else [None] * len(months))
        results[measure.id] = list(zip(found[key(measure.numerator)], bases, strict=True))
    return results


def contributions(answers: Statements, measures: list[Measure], start: date,
                  window_start: date, end: date, standing: Standing, *,
                  by_month: bool = False) -> dict[str, dict[str, Contribution]]:
    """``standing.contributions`` of flow measures from the recorded counts: a measure
    reads the facts of its numerator and of its denominator."""
    found = answers.presence(counts_of(measures), start, window_start, end, standing,
                             by_month=by_month)
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


# Every question of a report in one statement ------------------------------------------
#
# Even grouped, the questions above cost a statement each (six for the demo's report, a
# fifth of its time: DuckDB's fixed cost per statement and per aggregate, not the rows).
# ``Tally`` asks once: the standing facts of every count, grouped by count, agency and
# segment of days, where the segments are cut at every start and every day after an end
# of the report's questions and at the first day of every month between, so
# that each question's days are a run of whole segments and its answer a sum (a union,
# for distinct items) of theirs.

PINNED_SQL = STANDS_SQL.replace("$upto", "$pinned")
TALLY_SQL = f"""
WITH segments AS (SELECT unnest($starts::DATE[]) AS lo, unnest($ends::DATE[]) AS hi,
                         unnest(range(len($starts::DATE[]))) AS k),
hits AS (
    SELECT counted.*, k, coalesce({STANDS_SQL}, false) AS stands,
           coalesce({PINNED_SQL}, false) AS pinned
    FROM counted JOIN segments ON occurred_on BETWEEN lo AND hi
)
SELECT count_id, agency, k, stands, pinned, item, sum(value), count(*), max(recorded_at)
FROM hits WHERE stands OR pinned GROUP BY ALL
"""
# (A distinct count's items are grouped by, a row each, and gathered in Python: DuckDB's
# ``list(DISTINCT item)`` aggregate cost a fifth more for the demo's report.)

_Part = tuple[float, int, Any, frozenset[str]]  # value, facts, latest, distinct items


class Statements:
    """The questions asked one statement each (``splits`` and the rest, above)."""

    def __init__(self, connection: duckdb.DuckDBPyConnection, ids: Mapping[str, int]) -> None:
        self.connection = connection
        self.ids = ids

    def splits(self, counts: list[Count], start: date, end: date, standing: Standing
               ) -> tuple[dict[str, dict[str, Cell]], dict[str, float]]:
        return splits(self.connection, counts, self.ids, start, end, standing)

    def by_month(self, counts: list[Count], months: list[Span], standing: Standing
                 ) -> dict[str, list[float]]:
        return by_month(self.connection, counts, self.ids, months, standing)

    def presence(self, counts: list[Count], start: date, window_start: date, end: date,
                 standing: Standing, *, by_month: bool = True
                 ) -> dict[str, dict[str, Presence]]:
        """The agencies with each count's facts (and, ``by_month``, their months)."""
        return presence(self.connection, counts, self.ids, start, window_start, end, standing)

    def first_seen(self, count: Count, months: list[Span], standing: Standing) -> list[float]:
        return first_seen(self.connection, count, self.ids, months, standing)


class Tally(Statements):
    """The report's questions over ``spans`` answered from one grouped statement, as
    known by ``standing`` and, when the board pinned the month, as pinned at ``pinned``.
    Every segment lies in one calendar month (each month's first day is a cut too), so
    the months a question asks about are runs of segments. A question whose days are
    not whole segments, or of another standing, is asked by its own statement."""

    def __init__(self, connection: duckdb.DuckDBPyConnection, ids: Mapping[str, int],
                 segments: Segments, standing: Standing, pinned: int | None) -> None:
        super().__init__(connection, ids)
        self.standing, self.pinned = standing, pinned
        self.segments = segments
        self.months = self.segments.months
        self.parts: dict[bool, dict[tuple[int, str, int], _Part]] = {True: {}, False: {}}
        if not self.segments.starts:
            return
        rows = connection.execute(TALLY_SQL, {
            **standing.params(), "pinned": pinned if pinned is not None else -1,
            "starts": self.segments.starts, "ends": self.segments.ends}).fetchall()
        # A segment's facts come in up to three rows (per distinct item): standing as
        # known and as pinned, as known only, as pinned only; each standing adds up two
        # of them. Gathered in lists, then kept as parts.
        gathered: dict[bool, dict[tuple[int, str, int], list[Any]]] = {True: {}, False: {}}
        for count_id, agency, k, stands, in_pin, item, value, facts, latest in rows:
            for pinned_standing, wanted in ((False, stands), (True, in_pin)):
                if not wanted:
                    continue
                cell = gathered[pinned_standing].setdefault((count_id, agency, k),
                                                            [0.0, 0, None, set()])
                cell[0] += float(value or 0)
                cell[1] += int(facts)
                if latest is not None and (cell[2] is None or latest > cell[2]):
                    cell[2] = latest
                if item is not None:
                    cell[3].add(item)
        for pinned_standing, cells in gathered.items():
            # in segment order, so each agency's gathered parts are too (``presence``)
            self.parts[pinned_standing] = {
                group: (value, facts, latest, frozenset(items))
                for group, (value, facts, latest, items) in sorted(
                    cells.items(), key=lambda cell: cell[0][2])}

    def _ask(self, start: date, end: date, standing: Standing, *, monthly: bool = False
             ) -> tuple[range, dict[tuple[int, str, int], _Part]] | None:
        """The segments of [start, end] (each in one month, if ``monthly``) and the parts
        of ``standing``, if answerable."""
        run = self.segments.monthly(start, end) if monthly else self.segments.run(start, end)
        if run is None or standing.known != self.standing.known:
            return None
        if standing.position == self.standing.position:
            return run, self.parts[False]
        if self.pinned is not None and standing.position == self.pinned:
            return run, self.parts[True]
        return None

    def _gather(self, counts: list[Count], asked: tuple[range, dict[tuple[int, str, int], _Part]]
                ) -> dict[int, dict[str, list[tuple[int, _Part]]]]:
        """The parts of ``counts`` in the asked segments, by count id and agency, each
        agency's in segment order."""
        segments, parts = asked
        wanted = {self.ids[key(c)] for c in counts}
        found: dict[int, dict[str, list[tuple[int, _Part]]]] = {i: {} for i in wanted}
        for (count_id, agency, k), part in parts.items():
            if count_id in wanted and k in segments:
                found[count_id].setdefault(agency, []).append((k, part))
        return found

    def splits(self, counts: list[Count], start: date, end: date, standing: Standing
               ) -> tuple[dict[str, dict[str, Cell]], dict[str, float]]:
        asked = self._ask(start, end, standing)
        if asked is None:
            return super().splits(counts, start, end, standing)
        found = self._gather(counts, asked)
        by_agency: dict[str, dict[str, Cell]] = {key(c): {} for c in counts}
        totals: dict[str, float] = {}
        for count in counts:
            everyone: set[str] = set()
            for agency, parts in sorted(found[self.ids[key(count)]].items()):
                items = frozenset().union(*(p[3] for _, p in parts))
                facts = sum(p[1] for _, p in parts)
                latest = max((p[2] for _, p in parts if p[2] is not None), default=None)
                value = float(len(items)) if count.aggregate == "distinct" else float(
                    sum(p[0] for _, p in parts))
                by_agency[key(count)][agency] = (value, facts, latest)
                everyone |= items
            if everyone:
                totals[key(count)] = float(len(everyone))
        return by_agency, totals

    def by_month(self, counts: list[Count], months: list[Span], standing: Standing
                 ) -> dict[str, list[float]]:
        asked = self._ask(months[0][0], months[-1][1], standing, monthly=True)
        if asked is None:
            return super().by_month(counts, months, standing)
        found = self._gather(counts, asked)
        firsts = {f"{start:%Y-%m}": n for n, (start, _) in enumerate(months)}
        results: dict[str, list[float]] = {}
        for count in counts:
            values = [0.0] * len(months)
            items: list[set[str]] = [set() for _ in months]
            for parts in found[self.ids[key(count)]].values():
                for k, part in parts:
                    n = firsts[self.months[k]]
                    values[n] += part[0]
                    items[n] |= part[3]
            results[key(count)] = ([float(len(i)) for i in items]
                                   if count.aggregate == "distinct" else values)
        return results

    def presence(self, counts: list[Count], start: date, window_start: date, end: date,
                 standing: Standing, *, by_month: bool = True
                 ) -> dict[str, dict[str, Presence]]:
        asked = self._ask(start, end, standing, monthly=by_month)
        window = self.segments.index(window_start)
        if asked is None or window is None:
            return super().presence(counts, start, window_start, end, standing)
        found = self._gather(counts, asked)
        results: dict[str, dict[str, Presence]] = {}
        for count in counts:
            results[key(count)] = {
                agency: (parts[-1][0] >= window,  # the agency's last segment
                         frozenset(self.months[k] for k, _ in parts) if by_month
                         else frozenset())
                for agency, parts in found[self.ids[key(count)]].items()}
        return results

    def first_seen(self, count: Count, months: list[Span], standing: Standing) -> list[float]:
        asked = self._ask(months[0][0], months[-1][1], standing, monthly=True)
        if asked is None:
            return super().first_seen(count, months, standing)
        first: dict[str, int] = {}
        for parts in self._gather([count], asked)[self.ids[key(count)]].values():
            for k, part in parts:
                for item in part[3]:
                    if item not in first or k < first[item]:
                        first[item] = k
        per_month: dict[str, int] = {}
        for k in first.values():
            per_month[self.months[k]] = per_month.get(self.months[k], 0) + 1
        return [float(per_month.get(f"{start:%Y-%m}", 0)) for start, _ in months]
