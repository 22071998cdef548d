"""A partnership's delivery plan as data: priorities, objectives, actions and their leads.

The bundled plan is Rotherham's CSE Delivery Plan 2015–18 (``plans/``); another
partnership loads its own YAML file of the same shape. The plan is adopted into the
event store as a document, so every home records exactly which plan it counts against.
"""

from __future__ import annotations

import datetime as dt
import math
import re
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any, TypeVar
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import yaml

from domain.contract import ACTION_CODE, AGENCY_CODE, SECTORS
from domain.errors import CommandError
from domain.rules import MeasureRules, RulesError

BUNDLED_PLAN = "rotherham-cse-2015-18.yaml"
DEFAULT_MIN_DENOMINATOR = 30  # below it a rate is marked low reliability, [u]


PlanPath = tuple[str | int, ...]
MeasureCheck = Callable[[Mapping[str, Any]], None]
# Fingertips' "no judgement" polarity (beside higher and lower is better): a measure of
# demand, such as referrals or caseload, trends "increasing" or "decreasing" and carries
# no target.
NO_JUDGEMENT = "none"
POLARITIES = ("higher", "lower", NO_JUDGEMENT)
"""Compiles one measure of the plan against the contract's registry, raising ``ValueError``
(with ``field`` naming the key at fault, when it knows) for a measure that cannot be
counted. The projections own how a measure is counted, so the composition root hands
their check in; the plan does not import them."""


def render_path(path: PlanPath) -> str:
    """``("priorities", 0, "objectives", 1, "code")`` -> ``priorities[0].objectives[1].code``."""
    text = ""
    for part in path:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else part)
    return text or "(the whole file)"


@dataclass(frozen=True)
class PlanProblem:
    """One thing wrong with a plan: where (its path in the file, and line once the file's
    text is known) and the rule it breaks."""

    path: PlanPath
    rule: str
    line: int | None = None

    def __str__(self) -> str:
        where = f"line {self.line}: " if self.line is not None else ""
        return f"{where}{render_path(self.path)}: {self.rule}"


class PlanError(CommandError):
    """A plan that does not describe a usable plan, with every problem found in it.

    A plan is checked whole before anything is adopted, so one run names every problem
    and nothing is half-loaded."""

    def __init__(self, problems: Sequence[PlanProblem] | str, source: str = "plan file"
                 ) -> None:
        if isinstance(problems, str):
            problems = [PlanProblem((), problems)]
        self.problems = tuple(problems)
        self.source = source
        count = len(self.problems)
        super().__init__(
            f"{source}: {count} problem{'s' if count != 1 else ''}; the plan was not "
            "loaded\n" + "\n".join(f"  {problem}" for problem in self.problems))

    def located(self, lines: Mapping[PlanPath, int], source: str) -> PlanError:
        """The same problems, each with the line of the deepest part of its path that the
        file has (a missing key is shown at the line of the mapping that lacks it)."""
        found = []
        for problem in self.problems:
            path, line = problem.path, None
            while line is None and path:
                line = lines.get(path)
                path = path[:-1]
            found.append(PlanProblem(problem.path, problem.rule, line or lines.get(())))
        found.sort(key=lambda p: p.line if p.line is not None else 0)
        return PlanError(found, source)


@dataclass(frozen=True)
class PlanAgency:
    code: str
    name: str
    sector: str


@dataclass(frozen=True)
class Action:
    code: str
    title: str
    lead: str
    due: dt.date
    objective: str
    priority: str


@dataclass(frozen=True)
class Objective:
    code: str
    title: str
    priority: str
    actions: tuple[Action, ...]


@dataclass(frozen=True)
class Priority:
    code: str
    title: str
    objectives: tuple[Objective, ...]


@dataclass(frozen=True)
class Meeting:
    date: dt.date
    title: str


@dataclass(frozen=True)
class Population:
    """A population a measure can be a rate per (e.g. children aged 0-17), by year, with
    its source and publication date so a reader can check it."""

    id: str
    title: str
    source: str
    published: dt.date
    figures: Mapping[int, int]  # year -> people
    note: str | None = None

    def for_year(self, year: int) -> tuple[int, int]:
        """(year, figure): the year's own figure, else the latest before it, else the
        earliest (a population is estimated after the year it describes)."""
        years = sorted(self.figures)
        earlier = [y for y in years if y <= year]
        chosen = earlier[-1] if earlier else years[0]
        return chosen, self.figures[chosen]


@dataclass(frozen=True)
class ReturnsPolicy:
    """Who owes a monthly return, from which month, and how many days after month end."""

    deadline_days: int
    owed_from: Mapping[str, str]  # agency code -> first month owed, YYYY-MM


@dataclass(frozen=True)
class Plan:
    code: str
    title: str
    partnership: str
    starts: dt.date
    ends: dt.date
    timezone: str
    agencies: tuple[PlanAgency, ...]
    priorities: tuple[Priority, ...]
    meetings: tuple[Meeting, ...]
    document: Mapping[str, Any]
    measures: tuple[Mapping[str, Any], ...] = ()
    rules: Mapping[str, MeasureRules] | None = None
    returns: ReturnsPolicy | None = None
    min_denominator: int = DEFAULT_MIN_DENOMINATOR
    populations: Mapping[str, Population] | None = None
    disclosure_threshold: int = 5  # counts of people from 1 to this less one show as [c]

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

    @property
    def actions(self) -> tuple[Action, ...]:
        return tuple(
            action
            for priority in self.priorities
            for objective in priority.objectives
            for action in objective.actions
        )

    def action(self, code: str) -> Action | None:
        return next((a for a in self.actions if a.code == code), None)

    @classmethod
    def from_document(cls, document: Mapping[str, Any],
                      check_measure: MeasureCheck | None = None) -> Plan:
        """Build and check a plan from its (JSON-safe) document, naming every problem."""
        return _PlanReader(document, check_measure).read()


def with_rules(document: Mapping[str, Any], measure_id: str, rules: Mapping[str, Any]
               ) -> dict[str, Any]:
    """The plan document with one measure's target, RAG rules and profile replaced: what
    a rule change makes of the plan, to check it whole before it is recorded."""
    measures = [
        {**{k: v for k, v in spec.items() if k not in ("target", "rag", "profile")},
         **rules} if spec.get("id") == measure_id else spec
        for spec in document.get("measures") or []
    ]
    return {**document, "measures": measures}


def _jsonable(value: Any) -> Any:
    """YAML gives dates as ``date`` objects; the stored document keeps ISO strings."""
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_jsonable(v) for v in value]
    return value



class _PlanLoader(yaml.SafeLoader):
    """YAML's safe loader with dates left as text, so the plan check judges them (a date
    such as 2016-13-01 is a problem named by its line, not a crash of the YAML reader)."""


_PlanLoader.yaml_implicit_resolvers = {
    first: [(tag, regexp) for tag, regexp in resolvers if tag != "tag:yaml.org,2002:timestamp"]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}


def _line_index(source: str) -> dict[PlanPath, int]:
    """The line (from 1) where each path of the YAML text starts: a mapping's value at its
    key's line, a list item at its own."""
    lines: dict[PlanPath, int] = {}

    def walk(node: yaml.Node, path: PlanPath) -> None:
        if isinstance(node, yaml.MappingNode):
            for key, value in node.value:
                child = (*path, str(key.value))
                lines[child] = key.start_mark.line + 1
                walk(value, child)
        elif isinstance(node, yaml.SequenceNode):
            for i, item in enumerate(node.value):
                lines[(*path, i)] = item.start_mark.line + 1
                walk(item, (*path, i))

    try:
        root = yaml.compose(source, Loader=_PlanLoader)
    except yaml.YAMLError:
        return lines
    if root is not None:
        lines[()] = root.start_mark.line + 1
        walk(root, ())
    return lines


def load_plan_document(path: Path | None = None,
                       check_measure: MeasureCheck | None = None) -> dict[str, Any]:
    """Read a plan file (the bundled one by default) into a JSON-safe document, checked
    whole: every problem is named by its path, line and rule, or the document returned.

    ``check_measure`` compiles each measure against the contract's registry (the
    composition root passes the projections' own check)."""
    name = str(path) if path is not None else BUNDLED_PLAN
    if path is None:
        source = resources.files("domain").joinpath("plans", BUNDLED_PLAN).read_text("utf-8")
    else:
        try:
            source = Path(path).read_text("utf-8")
        except (OSError, UnicodeDecodeError) as error:
            raise PlanError(f"cannot read the plan file: {error}", name) from None
    try:
        document = yaml.load(source, Loader=_PlanLoader)  # a SafeLoader: no arbitrary objects
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        problem = PlanProblem((), f"the plan file is not valid YAML: "
                                  f"{getattr(exc, 'problem', None) or exc}",
                              mark.line + 1 if mark is not None else None)
        raise PlanError([problem], name) from None
    if not isinstance(document, dict):
        raise PlanError("the plan file must be a mapping with plan, agencies and priorities",
                        name)
    checked: dict[str, Any] = _jsonable(document)
    try:
        Plan.from_document(checked, check_measure)
    except PlanError as error:
        raise error.located(_line_index(source), name) from None
    return checked


class _Invalid(Exception):
    """One problem, raised to skip the rest of the item it was found in."""

    def __init__(self, path: PlanPath, rule: str) -> None:
        super().__init__(rule)
        self.problem = PlanProblem(path, rule)


T = TypeVar("T")


class _PlanReader:
    """Reads a plan document, collecting every problem with its path before giving up.

    Each item (an agency, an action, a measure...) is read on its own: a problem skips
    the rest of that item and is recorded, and reading goes on, so one run names them
    all. Cross-references (a lead, an objective, a population) are checked against what
    was read."""

    def __init__(self, document: Mapping[str, Any],
                 check_measure: MeasureCheck | None = None) -> None:
        self.document = document
        self.check_measure = check_measure
        self.problems: list[PlanProblem] = []

    # Recording ---------------------------------------------------------------

    def _attempt(self, read: Callable[..., T], *args: Any) -> T | None:
        try:
            return read(*args)
        except _Invalid as invalid:
            if invalid.problem.rule:  # an empty rule: its problems are recorded already
                self.problems.append(invalid.problem)
            return None

    def _note(self, path: PlanPath, rule: str) -> None:
        self.problems.append(PlanProblem(path, rule))

    def _items(self, obj: Any, key: str, path: PlanPath, *, required: bool = True
               ) -> Iterator[tuple[PlanPath, Any]]:
        """(path, item) of a list under ``key``; a missing or non-list one is recorded."""
        if not isinstance(obj, Mapping) or key not in obj or obj[key] is None:
            if required:
                self._note((*path, key), "is required (a list)")
            return
        value = obj[key]
        if not isinstance(value, list):
            self._note((*path, key), "must be a list")
            return
        for i, item in enumerate(value):
            yield (*path, key, i), item

    # Fields ------------------------------------------------------------------

    def _get(self, obj: Any, key: str, path: PlanPath) -> Any:
        if not isinstance(obj, Mapping):
            raise _Invalid(path, "must be a mapping")
        if key not in obj:
            raise _Invalid((*path, key), "is required")
        return obj[key]

    def _str(self, obj: Any, key: str, path: PlanPath) -> str:
        value = self._get(obj, key, path)
        if not isinstance(value, str) or not value.strip():
            raise _Invalid((*path, key), "must be non-empty text")
        return value

    def _date(self, obj: Any, key: str, path: PlanPath) -> dt.date:
        value = self._get(obj, key, path)
        try:
            return dt.date.fromisoformat(str(value))
        except ValueError:
            raise _Invalid((*path, key), "must be a date YYYY-MM-DD") from None

    # The plan ----------------------------------------------------------------

    def read(self) -> Plan:
        head = self.document.get("plan")
        if not isinstance(head, Mapping):
            self._note(("plan",), "is required: a mapping with code, title, partnership, "
                                  "starts, ends and timezone")
            head = {}
        code, title, partnership = (self._attempt(self._str, head, k, ("plan",))
                                    for k in ("code", "title", "partnership"))
        starts, ends = (self._attempt(self._date, head, k, ("plan",))
                        for k in ("starts", "ends"))
        if starts is not None and ends is not None and ends <= starts:
            self._note(("plan", "ends"), "must be after plan.starts")
        timezone = self._attempt(lambda: self._timezone(head))
        agencies, agency_codes = self._agencies()  # leads may name a declared agency: a
        # broken one is named on its own, not again at every action it leads
        priorities = tuple(p for p in (
            self._attempt(self._priority, p, where, agency_codes)
            for where, p in self._items(self.document, "priorities", ())) if p is not None)
        meetings = tuple(m for m in (
            self._attempt(self._meeting, m, where)
            for where, m in self._items(self.document, "meetings", (), required=False))
            if m is not None)
        populations = self._populations()
        measures = self._measures(priorities, populations, agency_codes)
        rules = self._rules(measures)
        returns = self._attempt(lambda: self._returns(agency_codes))
        min_denominator = self._attempt(self._min_denominator)
        threshold = self._attempt(self._disclosure_threshold)
        self._unique_actions(priorities)
        if self.problems:
            raise PlanError(self.problems)  # nothing is adopted from a plan with problems
        assert code and title and partnership and starts and ends and timezone
        return Plan(code=code, title=title, partnership=partnership, starts=starts,
                    ends=ends, timezone=timezone, agencies=agencies, priorities=priorities,
                    meetings=meetings, document=self.document, measures=measures,
                    rules=rules, returns=returns,
                    min_denominator=min_denominator or DEFAULT_MIN_DENOMINATOR,
                    populations=populations, disclosure_threshold=threshold or 5)

    def _meeting(self, entry: Any, where: PlanPath) -> Meeting:
        return Meeting(self._date(entry, "date", where), self._str(entry, "title", where))

    def _timezone(self, head: Mapping[str, Any]) -> str:
        timezone = self._str(head, "timezone", ("plan",))
        try:
            ZoneInfo(timezone)
        except (ZoneInfoNotFoundError, ValueError):
            raise _Invalid(("plan", "timezone"), f"{timezone!r} is not a time zone "
                                                 "(e.g. Europe/London)") from None
        return timezone

    def _agencies(self) -> tuple[tuple[PlanAgency, ...], set[str]]:
        agencies: dict[str, PlanAgency] = {}
        seen: set[str] = set()
        for where, entry in self._items(self.document, "agencies", ()):
            code = entry.get("code") if isinstance(entry, Mapping) else None
            if isinstance(code, str) and code in seen:
                self._note((*where, "code"), f"agency {code!r} appears twice")
                continue
            seen.add(str(code))
            agency = self._attempt(self._agency, entry, where)
            if agency is not None:
                agencies[agency.code] = agency
        return tuple(agencies.values()), seen

    def _unique_actions(self, priorities: tuple[Priority, ...]) -> None:
        seen: set[str] = set()
        for p, priority in enumerate(priorities):
            for o, objective in enumerate(priority.objectives):
                for a, action in enumerate(objective.actions):
                    if action.code in seen:
                        self._note(("priorities", p, "objectives", o, "actions", a, "code"),
                                   f"action code {action.code!r} appears twice")
                    seen.add(action.code)

    def _measures(self, priorities: tuple[Priority, ...],
                  populations: Mapping[str, Population], agency_codes: set[str]
                  ) -> tuple[Mapping[str, Any], ...]:
        """Each measure: an id (once), an objective, a population and a lead agency of
        this plan, and a count the contract's registry can compile."""
        objectives = {o.code for p in priorities for o in p.objectives}
        measures: list[Mapping[str, Any]] = []
        seen: set[str] = set()
        for where, spec in self._items(self.document, "measures", (), required=False):
            if not isinstance(spec, Mapping) or not isinstance(spec.get("id"), str) \
                    or not spec["id"].strip():
                self._note((*where, "id"), "each measure needs an id (text)")
                continue
            if spec["id"] in seen:
                self._note((*where, "id"), f"measure {spec['id']!r} appears twice")
                continue
            seen.add(spec["id"])
            measures.append(spec)
            objective = spec.get("objective")
            if objective is not None and str(objective) not in objectives:
                self._note((*where, "objective"), f"objective {objective!r} is not an "
                                                  "objective of the plan's priorities")
            named = spec.get("population")
            declared = {str(p.get("id")) for p in self.document.get("populations") or []
                        if isinstance(p, Mapping)}  # a broken one is named on its own
            if named is not None and named not in populations and named not in declared:
                self._note((*where, "population"),
                           f"population {named!r} is not in populations")
            if spec.get("disclosure", "people") not in ("people", "none"):
                self._note((*where, "disclosure"), "must be people (counts people: small "
                                                   "counts suppressed) or none")
            if "plausible" in spec:
                self._plausible(spec["plausible"], (*where, "plausible"))
            lead = spec.get("lead")
            if lead is not None and lead not in agency_codes:
                self._note((*where, "lead"), f"{lead!r} is not in agencies (a measure's lead "
                                             "agency writes its exception notes)")
            if self.check_measure is not None:
                try:
                    self.check_measure(spec)
                except ValueError as error:
                    field = getattr(error, "field", None)
                    self._note((*where, field) if field else where, str(error))
        return tuple(measures)

    def _plausible(self, bounds: Any, where: PlanPath) -> None:
        """``plausible: {min: N, max: N}``: hard bounds on an agency's figure for a month,
        either or both, numbers with min at most max (projections/outliers.py)."""
        rule = "must be a mapping of min and/or max, numbers with min at most max"
        if not isinstance(bounds, Mapping) or not bounds or set(bounds) - {"min", "max"} \
                or not all(isinstance(v, int | float) and not isinstance(v, bool)
                           for v in bounds.values()) \
                or bounds.get("min", -math.inf) > bounds.get("max", math.inf):
            self._note(where, rule)

    def _rules(self, measures: tuple[Mapping[str, Any], ...]) -> dict[str, MeasureRules]:
        found: dict[str, MeasureRules] = {}
        for i, spec in enumerate(self.document.get("measures") or []):
            if spec not in measures or not ("target" in spec or "rag" in spec):
                continue
            where: PlanPath = ("measures", i)
            if spec.get("rag") and not spec.get("target"):
                self._note((*where, "target"), "RAG rules judge against a target: give the "
                                               "target too")
            if spec.get("polarity") == NO_JUDGEMENT:  # a plan file's or a rule change's
                self._note((*where, "polarity"),
                           f"measure {spec.get('id')}: polarity none (no judgement: a "
                           "measure of demand, whose rise is neither better nor worse) "
                           "cannot carry a target or RAG rules; give it higher or lower")
            try:
                found[spec["id"]] = MeasureRules.from_document(spec, f"measures[{i}]")
            except RulesError as error:
                self._note((*where, error.field), error.rule)
        return found

    def _populations(self) -> dict[str, Population]:
        """``populations:`` each with id, title, source, published (a date) and figures
        (year: people)."""
        found: dict[str, Population] = {}
        for where, entry in self._items(self.document, "populations", (), required=False):
            population = self._attempt(self._population, entry, where)
            if population is not None:
                found[population.id] = population
        return found

    def _population(self, entry: Any, where: PlanPath) -> Population:
        figures = self._get(entry, "figures", where)
        if not isinstance(figures, Mapping) or not figures or not all(
                str(y).isdigit() and isinstance(v, int) and not isinstance(v, bool)
                and v > 0 for y, v in figures.items()):
            raise _Invalid((*where, "figures"), "must map years to whole numbers of people "
                                                "above 0")
        return Population(
            self._str(entry, "id", where), self._str(entry, "title", where),
            self._str(entry, "source", where), self._date(entry, "published", where),
            {int(y): int(v) for y, v in figures.items()},
            str(entry["note"]) if entry.get("note") else None)

    def _disclosure_threshold(self) -> int:
        """``disclosure: {threshold: N}``: counts of people below N (and above 0) are
        suppressed outside the board (docs/disclosure.md); 5 unless the plan says."""
        setting = self.document.get("disclosure")
        if setting is None:
            return 5
        threshold = setting.get("threshold") if isinstance(setting, Mapping) else None
        if not isinstance(threshold, int) or isinstance(threshold, bool) or not (
                3 <= threshold <= 100):
            raise _Invalid(("disclosure", "threshold"), "must be a whole number 3-100")
        return threshold

    def _min_denominator(self) -> int:
        """``statistics: {min_denominator: N}``: the smallest denominator a rate may have
        before it is marked low reliability (default 30)."""
        statistics = self.document.get("statistics") or {}
        if not isinstance(statistics, Mapping):
            raise _Invalid(("statistics",), "must be a mapping")
        value = statistics.get("min_denominator", DEFAULT_MIN_DENOMINATOR)
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise _Invalid(("statistics", "min_denominator"),
                           "must be a whole number of at least 1")
        return value

    def _returns(self, agencies: set[str]) -> ReturnsPolicy | None:
        returns = self.document.get("returns")
        if returns is None:
            return None
        days = self._get(returns, "deadline_days", ("returns",))
        if not isinstance(days, int) or isinstance(days, bool) or not 0 <= days <= 60:
            raise _Invalid(("returns", "deadline_days"), "must be a whole number 0-60")
        owed: dict[str, str] = {}
        for where, entry in self._items(returns, "agencies", ("returns",)):
            code = self._attempt(self._str, entry, "agency", where)
            first = str(entry.get("from")) if isinstance(entry, Mapping) else ""
            if code is not None and code not in agencies:
                self._note((*where, "agency"), f"{code!r} is not in agencies")
            if not re.fullmatch(r"\d{4}-\d{2}", first):
                self._note((*where, "from"), "must be a month YYYY-MM")
            if code is not None:
                owed[code] = first
        return ReturnsPolicy(days, owed)

    def _agency(self, obj: Any, path: PlanPath) -> PlanAgency:
        agency = PlanAgency(self._str(obj, "code", path), self._str(obj, "name", path),
                            self._str(obj, "sector", path))
        if not AGENCY_CODE.match(agency.code):
            raise _Invalid((*path, "code"), f"{agency.code!r} is not an agency code "
                                            "(lower case letters, digits and hyphens)")
        if agency.sector not in SECTORS:
            raise _Invalid((*path, "sector"), f"must be one of {', '.join(SECTORS)}")
        return agency

    def _priority(self, obj: Any, path: PlanPath, agencies: set[str]) -> Priority:
        code = self._str(obj, "code", path)
        title = self._str(obj, "title", path)
        objectives = tuple(o for o in (
            self._attempt(self._objective, o, where, code, agencies)
            for where, o in self._items(obj, "objectives", path)) if o is not None)
        return Priority(code, title, objectives)

    def _objective(self, obj: Any, path: PlanPath, priority: str, agencies: set[str]
                   ) -> Objective:
        code = self._str(obj, "code", path)
        title = self._str(obj, "title", path)
        actions = tuple(a for a in (
            self._attempt(self._action, a, where, code, priority, agencies)
            for where, a in self._items(obj, "actions", path)) if a is not None)
        return Objective(code, title, priority, actions)

    def _action(
        self, obj: Any, path: PlanPath, objective: str, priority: str, agencies: set[str]
    ) -> Action:
        """Each field is checked on its own, so a bad date and an unknown lead are both
        named."""
        before = len(self.problems)
        code = self._attempt(self._str, obj, "code", path)
        title = self._attempt(self._str, obj, "title", path)
        lead = self._attempt(self._str, obj, "lead", path)
        due = self._attempt(self._date, obj, "due", path)
        if code is not None and (not ACTION_CODE.match(code) or not re.match(
                re.escape(objective) + r"(\.|$)", code)):
            self._note((*path, "code"), f"{code!r} must be a code under objective {objective}")
        if lead is not None and lead not in agencies:
            self._note((*path, "lead"), f"{lead!r} is not in agencies")
        if len(self.problems) > before:
            raise _Invalid(path, "")  # already recorded: skip the action
        assert code and title and lead and due
        return Action(code=code, title=title, lead=lead, due=due, objective=objective,
                      priority=priority)
