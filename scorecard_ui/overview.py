"""The board's overview: the plan's priorities, their objectives and each objective's
measures as one HTML table, every level with a rolled-up status and its counts, so a
chair sees in five seconds what is off course and where.

The roll-up rule (docs/design.md, "Rolled-up status"): a priority or an objective takes
the worst status among the measures under it: red if any is red, else amber if any is
amber, else green if any is green; with no measure judged against a target it has "no
target". Beside the status, the counts of red, amber, green and no target say how much
of it is which, so one red among ten greens is not mistaken for a failing priority.
Outside the board a measure's status may be *withheld* (its RAG would give away a small
count of people): it is counted as withheld, never as "no target", and the roll-up is
the worst of the statuses shown (withheld when only withheld ones are under it), so a
group's status says nothing of the hidden one and its counts say one is hidden.
Measures the plan does not file under an objective are listed last, as "Other measures".

Everything here is a pure function of the report JSON as its reader may see it and the
plan: the page and the tests call the same code."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from domain.plan import Plan
from projections.statistics import OFF_COURSE, ON_COURSE
from scorecard_ui.formatting import uk_date
from scorecard_ui.html_table import Column, HtmlTable, Markup, escape
from scorecard_ui.measure_text import (
    Measure,
    forecast_text,
    rate_text,
    returns_text,
    target_text,
    trend_text,
    value_text,
)
from scorecard_ui.style import STATUS_TAGS, status_tag

ORDER = ("red", "amber", "green", "withheld", "none")  # worst first
OTHER_MEASURES = "Other measures the board watches"
FLAG_WORDS = {"missing": "Red, no note", "submitted": "Note to review",
              "accepted": "Note accepted", "more_requested": "More asked"}


def measure_status(m: Measure) -> str:
    """red, amber or green as judged; "withheld" when the disclosure control put a GSS
    symbol in its place; "none" when the measure has no target."""
    rag = m.get("rag")
    if rag in ("red", "amber", "green"):
        return str(rag)
    return "withheld" if isinstance(rag, str) and rag.startswith("[") else "none"


def rolled_up(statuses: Iterable[str]) -> str:
    """The worst status present, "none" when nothing is judged or withheld (the
    documented rule)."""
    present = set(statuses)
    return next((s for s in ORDER[:4] if s in present), "none")


def status_counts(statuses: Sequence[str]) -> Counter[str]:
    return Counter(statuses)


def counts_html(counts: Counter[str]) -> Markup:
    """"1 red, 2 amber, 3 green, 4 no target" as small tags (zeros left out)."""
    parts = [status_tag(s, f"{counts[s]} {STATUS_TAGS[s][2].lower()}")
             for s in ORDER if counts.get(s)]
    return Markup(" ".join(parts) if parts else "no measures")


@dataclass(frozen=True)
class Group:
    """A priority or an objective and the measures under it."""

    code: str
    title: str
    measures: tuple[Measure, ...]
    objectives: tuple[Group, ...] = ()

    @property
    def statuses(self) -> list[str]:
        own = [measure_status(m) for m in self.measures]
        return own + [s for o in self.objectives for s in o.statuses]

    @property
    def status(self) -> str:
        return rolled_up(self.statuses)


def grouped(document: dict[str, Any], plan: Plan) -> list[Group]:
    """The report's measures under the plan's priorities and objectives (in the plan's
    order), objectives without measures left out, unfiled measures last."""
    by_objective: dict[str, list[Measure]] = {}
    others: list[Measure] = []
    codes = {o.code for p in plan.priorities for o in p.objectives}
    for m in document["measures"]:
        if m.get("objective") in codes:
            by_objective.setdefault(m["objective"], []).append(m)
        else:
            others.append(m)
    groups = []
    for p in plan.priorities:
        objectives = tuple(Group(o.code, o.title, tuple(by_objective[o.code]))
                           for o in p.objectives if o.code in by_objective)
        if objectives:
            groups.append(Group(p.code, p.title, (), objectives))
    if others:
        groups.append(Group("", OTHER_MEASURES, (), (Group("", "", tuple(others)),)))
    return groups


def overall_counts(document: dict[str, Any]) -> Counter[str]:
    return status_counts([measure_status(m) for m in document["measures"]])


def status_cell(m: Measure) -> Markup:
    status = measure_status(m)
    if status == "withheld":  # the GSS symbol itself, as in every other cell
        return Markup(status_tag(status, str(m["rag"])))
    return Markup(status_tag(status))


def measure_cell(m: Measure, link: str | None) -> Markup:
    title = escape(m["title"])
    if link is None:
        return title
    return Markup(f"<a href='{escape(link)}' target='_self'>{title}</a>")


def forecast_cell(m: Measure) -> Markup:
    text = forecast_text(m)
    if not text or text.startswith("["):
        return escape(text)
    outlook, _, rest = text.partition(": ")
    status = {"On course": "green", "At risk": "amber", "Off course": "red"}.get(outlook)
    tag = status_tag(status, outlook) if status else escape(outlook)
    return Markup(f"{tag} <span class='sc-small'>{escape(rest)}</span>")


def value_cell(m: Measure, evidence: str | None = None) -> Markup:
    """The value with its markers, a rate's parts and interval, and (for the board) a link
    to the signed events behind it."""
    rate = rate_text(m)
    small = f" <span class='sc-small'>{escape(rate)}</span>" if rate else ""
    link = (f" <a class='sc-small' href='{escape(evidence)}' target='_self' aria-label="
            f"'The events behind {escape(m['title'])}'>events</a>" if evidence else "")
    return Markup(f"{escape(value_text(m))}{small}{link}")


def flag_cell(m: Measure) -> Markup:
    flag = (m.get("exception") or {}).get("status", "")
    if not flag:
        return Markup("")
    css = "sc-tag-red" if flag == "missing" else "sc-tag-blue"
    return Markup(f"<span class='sc-tag {css}'>{escape(FLAG_WORDS.get(flag, flag))}</span>")


def overview_table(document: dict[str, Any], plan: Plan, *, link: Any = None,
                   board: bool = False, evidence: Any = None) -> HtmlTable:
    """The overview as one table. ``link(measure)`` gives a measure's page address (None:
    no links); ``board`` adds the exception column (it tells RAG: the board's view);
    ``evidence(measure)`` the address of the events behind a figure (the board's)."""
    columns = [Column("Measure", "22%"), Column("Status", "8.5rem"),
               Column("Value so far", "11%", numeric=True),
               Column("Target so far", "13%", hint="The target due by the as-at day, of "
                      "the whole period's; or why the measure has none"),
               Column("Forecast for the period", "17%", hint="The expected outturn with "
                      "its 80% interval and the chance of meeting the target"),
               Column("Trend", "10%", hint="Over the last six complete months"),
               Column("Returns", "10%", hint="Agencies' returns in for the latest "
                      "complete month")]
    if board:
        columns.append(Column("Exception", "9.5%", hint="Red needs an exception note"))
    table = HtmlTable(f"Scorecard as at {uk_date(document['as_at'])}: priorities, objectives "
                      "and measures", columns, caption_hidden=True)
    for priority in grouped(document, plan):
        head = (f"Priority {priority.code}: {priority.title}" if priority.code
                else priority.title)
        table.group(Markup(f"{status_tag(priority.status)} {escape(head)}"), 1,
                    counts_html(status_counts(priority.statuses)))
        for objective in priority.objectives:
            if objective.title:
                table.group(Markup(f"{status_tag(objective.status)} "
                                   f"{escape(objective.code + ' ' + objective.title)}"), 2)
            for m in objective.measures:
                cells: list[object] = [
                    measure_cell(m, link(m) if link else None), status_cell(m),
                    value_cell(m, evidence(m) if evidence else None),
                    target_text(m), forecast_cell(m), trend_text(m), returns_text(m)]
                if board:
                    cells.append(flag_cell(m))
                table.row(cells, css_class=f"sc-status-{measure_status(m)}")
    return table


def summary_html(document: dict[str, Any]) -> str:
    """The one-line answer first: how many measures are red, amber, green, withheld, no
    target."""
    counts = overall_counts(document)
    judged = sum(counts[s] for s in ORDER[:4])  # a withheld status was judged too
    items = "".join(f"<li>{status_tag(s, f'{counts[s]} {STATUS_TAGS[s][2].lower()}')}</li>"
                    for s in ORDER if counts.get(s))
    named = "".join(
        f"<p class='sc-legend'>{status_tag(s)} {escape('; '.join(titles))}</p>"
        for s in ("red", "amber") if (titles := [m["title"] for m in document["measures"]
                                                   if measure_status(m) == s]))
    return (f"<p class='sc-legend'><strong>{judged} of {len(document['measures'])} "
            f"measures judged against a target:</strong></p><ul class='sc-counts' "
            f"aria-label='Measures by status'>{items}</ul>{named}")


def legend_html(document: dict[str, Any] | None = None) -> str:
    """What the tags mean, in words (colour is never the only cue); "withheld" only when
    ``document`` has a withheld status."""
    words = {"red": "off target by the plan's rule", "amber": "close to the target",
             "green": "on target", "none": "no target: shown for information"}
    if document and any(measure_status(m) == "withheld" for m in document["measures"]):
        words["withheld"] = ("status not shown ([c] or [x]): it would give away a count "
                             "of people that is not published (see the note on symbols)")
    parts = "; ".join(f"{status_tag(s)} {escape(w)}" for s, w in words.items())
    return (f"<p class='sc-legend'>{parts}. A priority or objective shows the worst "
            "status shown under it, with the counts. Forecast: the chance of meeting the "
            f"period's target at the current rate: on course at {ON_COURSE:.0%} or more, "
            f"off course at {OFF_COURSE:.0%} or less, at risk between.</p>")
