"""A partnership's delivery plan as data: priorities, objectives, actions and their leads.

The bundled plan is Rotherham's CSE Delivery Plan 2015–18 (``plans/``); another
partnership loads its own YAML file of the same shape. The plan is adopted into the
event store as a document, so every home records exactly which plan it counts against.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Mapping
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import yaml

from domain.contract import ACTION_CODE, AGENCY_CODE, SECTORS
from domain.errors import CommandError
from domain.rules import MeasureRules, RulesError

BUNDLED_PLAN = "rotherham-cse-2015-18.yaml"
DEFAULT_MIN_DENOMINATOR = 30  # below it a rate is marked low reliability, [u]


class PlanError(CommandError):
    """A plan file that does not describe a usable plan."""


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
    disclosure_threshold: int = 5  # counts of people from 1 to this less one show as [c]
    min_denominator: int = DEFAULT_MIN_DENOMINATOR
    populations: Mapping[str, Population] | None = None

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
    def from_document(cls, document: Mapping[str, Any]) -> Plan:
        """Build and check a plan from its (JSON-safe) document."""
        return _PlanReader(document).read()


def _jsonable(value: Any) -> Any:
    """YAML gives dates as ``date`` objects; the stored document keeps ISO strings."""
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_jsonable(v) for v in value]
    return value


def load_plan_document(path: Path | None = None) -> dict[str, Any]:
    """Read a plan file (the bundled one by default) into a JSON-safe document."""
    if path is None:
        source = resources.files("domain").joinpath("plans", BUNDLED_PLAN).read_text("utf-8")
    else:
        source = Path(path).read_text("utf-8")
    try:
        document = yaml.safe_load(source)
    except yaml.YAMLError as exc:
        raise PlanError(f"the plan file is not valid YAML: {exc}") from None
    if not isinstance(document, dict):
        raise PlanError("the plan file must be a mapping with plan, agencies and priorities")
    checked: dict[str, Any] = _jsonable(document)
    Plan.from_document(checked)
    return checked


class _PlanReader:
    """Reads a plan document, naming the path of anything wrong with it."""

    def __init__(self, document: Mapping[str, Any]) -> None:
        self.document = document

    def _get(self, obj: Any, key: str, path: str) -> Any:
        if not isinstance(obj, Mapping) or key not in obj:
            raise PlanError(f"plan file: {path}.{key} is required")
        return obj[key]

    def _str(self, obj: Any, key: str, path: str) -> str:
        value = self._get(obj, key, path)
        if not isinstance(value, str) or not value.strip():
            raise PlanError(f"plan file: {path}.{key} must be non-empty text")
        return value

    def _date(self, obj: Any, key: str, path: str) -> dt.date:
        value = self._get(obj, key, path)
        try:
            return dt.date.fromisoformat(str(value))
        except ValueError:
            raise PlanError(f"plan file: {path}.{key} must be a date YYYY-MM-DD") from None

    def _list(self, obj: Any, key: str, path: str) -> list[Any]:
        value = self._get(obj, key, path)
        if not isinstance(value, list):
            raise PlanError(f"plan file: {path}.{key} must be a list")
        return value

    def read(self) -> Plan:
        head = self._get(self.document, "plan", "")
        timezone = self._str(head, "timezone", "plan")
        try:
            ZoneInfo(timezone)
        except (ZoneInfoNotFoundError, ValueError):
            raise PlanError(f"plan file: plan.timezone {timezone!r} is not a time zone") from None
        agencies = tuple(self._agency(a, f"agencies[{i}]")
                         for i, a in enumerate(self._list(self.document, "agencies", "")))
        agency_codes = {a.code for a in agencies}
        priorities = tuple(self._priority(p, f"priorities[{i}]", agency_codes)
                           for i, p in enumerate(self._list(self.document, "priorities", "")))
        meetings = tuple(
            Meeting(self._date(m, "date", where), self._str(m, "title", where))
            for where, m in ((f"meetings[{i}]", m)
                             for i, m in enumerate(self.document.get("meetings") or []))
        )
        plan = Plan(
            code=self._str(head, "code", "plan"),
            title=self._str(head, "title", "plan"),
            partnership=self._str(head, "partnership", "plan"),
            starts=self._date(head, "starts", "plan"),
            ends=self._date(head, "ends", "plan"),
            timezone=timezone,
            agencies=agencies,
            priorities=priorities,
            meetings=meetings,
            document=self.document,
            measures=tuple(self._measures()),
            rules=self._rules(),
            returns=self._returns(agency_codes),
            disclosure_threshold=self._disclosure_threshold(),
            min_denominator=self._min_denominator(),
            populations=self._populations(),
        )
        codes = [a.code for a in plan.actions]
        duplicates = sorted({c for c in codes if codes.count(c) > 1})
        if duplicates:
            raise PlanError(f"plan file: action codes appear twice: {', '.join(duplicates)}")
        return plan

    def _measures(self) -> list[Mapping[str, Any]]:
        measures = self.document.get("measures") or []
        if not isinstance(measures, list) or not all(
            isinstance(m, Mapping) and isinstance(m.get("id"), str) for m in measures
        ):
            raise PlanError("plan file: measures must be a list, each with an id")
        for spec in measures:
            if spec.get("disclosure", "people") not in ("people", "none"):
                raise PlanError(f"plan file: measures[{spec['id']}].disclosure must be "
                                "people (counts people: small counts suppressed) or none")
        return measures

    def _disclosure_threshold(self) -> int:
        """``disclosure: {threshold: N}``: counts of people below N (and above 0) are
        suppressed outside the board (docs/disclosure.md); 5 unless the plan says."""
        setting = self.document.get("disclosure")
        if setting is None:
            return 5
        threshold = setting.get("threshold") if isinstance(setting, Mapping) else None
        if not isinstance(threshold, int) or isinstance(threshold, bool) or not (
                3 <= threshold <= 100):
            raise PlanError("plan file: disclosure.threshold must be a whole number 3-100")
        return threshold

    def _rules(self) -> dict[str, MeasureRules]:
        try:
            return {
                m["id"]: MeasureRules.from_document(m, f"measures[{m['id']}]")
                for m in self._measures() if "target" in m or "rag" in m
            }
        except RulesError as error:
            raise PlanError(f"plan file: {error}") from None

    def _populations(self) -> dict[str, Population]:
        """``populations:`` each with id, title, source, published (a date) and figures
        (year: people), checked; and every measure's ``population`` must name one."""
        found: dict[str, Population] = {}
        for i, entry in enumerate(self.document.get("populations") or []):
            where = f"populations[{i}]"
            figures = self._get(entry, "figures", where)
            if not isinstance(figures, Mapping) or not figures or not all(
                    str(y).isdigit() and isinstance(v, int) and not isinstance(v, bool)
                    and v > 0 for y, v in figures.items()):
                raise PlanError(f"plan file: {where}.figures must map years to whole "
                                "numbers of people above 0")
            population = Population(
                self._str(entry, "id", where), self._str(entry, "title", where),
                self._str(entry, "source", where), self._date(entry, "published", where),
                {int(y): int(v) for y, v in figures.items()},
                str(entry["note"]) if entry.get("note") else None)
            found[population.id] = population
        for spec in self._measures():
            named = spec.get("population")
            if named is not None and named not in found:
                raise PlanError(f"plan file: measures[{spec['id']}].population {named!r} is "
                                "not in populations")
        return found

    def _min_denominator(self) -> int:
        """``statistics: {min_denominator: N}``: the smallest denominator a rate may have
        before it is marked low reliability (default 30)."""
        statistics = self.document.get("statistics") or {}
        if not isinstance(statistics, Mapping):
            raise PlanError("plan file: statistics must be a mapping")
        value = statistics.get("min_denominator", DEFAULT_MIN_DENOMINATOR)
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise PlanError("plan file: statistics.min_denominator must be a whole number "
                            "of at least 1")
        return value

    def _returns(self, agencies: set[str]) -> ReturnsPolicy | None:
        returns = self.document.get("returns")
        if returns is None:
            return None
        days = self._get(returns, "deadline_days", "returns")
        if not isinstance(days, int) or isinstance(days, bool) or not 0 <= days <= 60:
            raise PlanError("plan file: returns.deadline_days must be a whole number 0-60")
        owed: dict[str, str] = {}
        for i, entry in enumerate(self._list(returns, "agencies", "returns")):
            code = self._str(entry, "agency", f"returns.agencies[{i}]")
            first = str(self._get(entry, "from", f"returns.agencies[{i}]"))
            if code not in agencies or not re.match(r"^\d{4}-\d{2}$", first):
                raise PlanError(f"plan file: returns.agencies[{i}] needs a plan agency and "
                                "from: YYYY-MM")
            owed[code] = first
        return ReturnsPolicy(days, owed)

    def _agency(self, obj: Any, path: str) -> PlanAgency:
        agency = PlanAgency(self._str(obj, "code", path), self._str(obj, "name", path),
                            self._str(obj, "sector", path))
        if not AGENCY_CODE.match(agency.code):
            raise PlanError(f"plan file: {path}.code {agency.code!r} is not an agency code")
        if agency.sector not in SECTORS:
            raise PlanError(f"plan file: {path}.sector must be one of {', '.join(SECTORS)}")
        return agency

    def _priority(self, obj: Any, path: str, agencies: set[str]) -> Priority:
        code = self._str(obj, "code", path)
        objectives = tuple(self._objective(o, f"{path}.objectives[{i}]", code, agencies)
                           for i, o in enumerate(self._list(obj, "objectives", path)))
        return Priority(code, self._str(obj, "title", path), objectives)

    def _objective(self, obj: Any, path: str, priority: str, agencies: set[str]) -> Objective:
        code = self._str(obj, "code", path)
        actions = tuple(self._action(a, f"{path}.actions[{i}]", code, priority, agencies)
                        for i, a in enumerate(self._list(obj, "actions", path)))
        return Objective(code, self._str(obj, "title", path), priority, actions)

    def _action(
        self, obj: Any, path: str, objective: str, priority: str, agencies: set[str]
    ) -> Action:
        action = Action(
            code=self._str(obj, "code", path),
            title=self._str(obj, "title", path),
            lead=self._str(obj, "lead", path),
            due=self._date(obj, "due", path),
            objective=objective,
            priority=priority,
        )
        if not ACTION_CODE.match(action.code) or not re.match(
            re.escape(objective) + r"(\.|$)", action.code
        ):
            raise PlanError(
                f"plan file: {path}.code {action.code!r} must be a code under objective {objective}"
            )
        if action.lead not in agencies:
            raise PlanError(f"plan file: {path}.lead {action.lead!r} is not in agencies")
        return action
