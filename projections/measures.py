"""Measures as data: what to count, over which events, for which period.

A measure is a count (or a rate: numerator over denominator) of standing facts. Counts
are written as small mappings, in code for the contract's standard measures and in the
plan file for a partnership's own, and compiled here into SQL. Field names are checked
against the contract and values are rendered as SQL literals, so a plan file can never
inject SQL.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from domain.contract import EVENT_TYPES, PAYLOADS, TYPE_WORDS
from domain.plan import POLARITIES
from projections.readmodel import PAYLOAD_COLUMNS

# Fields with a column of their own in ``facts``; others are read from the payload JSON.
COLUMNS = {"agency", *PAYLOAD_COLUMNS}
PAYLOAD_FIELDS = {name for fields in PAYLOADS.values() for name in fields}
PERIODS = ("window", "cumulative", "monthly", "quarterly", "financial_year")
PROFILED_PERIODS = ("cumulative", "monthly", "quarterly", "financial_year")
DEFAULT_NO_TARGET = "the plan gives no target and no reason for having none"


class MeasureError(ValueError):
    """A measure definition that cannot be compiled; ``field`` names the key of the
    measure at fault when it is known, so a plan check can place it in the file."""

    def __init__(self, message: str, field: str | None = None) -> None:
        super().__init__(message)
        self.field = field


@dataclass(frozen=True)
class MeasureNotes:
    """What the plan says about a measure beyond its count: why it has no target, whether
    its target is illustrative and who set it, the minimum denominator of a rate, and
    caveats for readers."""

    no_target_reason: str | None = None
    target_illustrative: bool = False
    target_set_by: str | None = None
    min_denominator: int | None = None  # None: the plan's default
    caveats: str | None = None

    @classmethod
    def parse(cls, spec: Mapping[str, Any], measure_id: str) -> MeasureNotes:
        def text(key: str) -> str | None:
            value = spec.get(key)
            if value is None:
                return None
            if not isinstance(value, str) or not value.strip():
                raise MeasureError(f"measure {measure_id}: {key} must be non-empty text", key)
            return value.strip()

        illustrative = spec.get("target_illustrative", False)
        if not isinstance(illustrative, bool):
            raise MeasureError(f"measure {measure_id}: target_illustrative must be true or "
                               "false", "target_illustrative")
        minimum = spec.get("min_denominator")
        if minimum is not None and (isinstance(minimum, bool) or not isinstance(minimum, int)
                                    or minimum < 1):
            raise MeasureError(f"measure {measure_id}: min_denominator must be a whole "
                               "number of at least 1", "min_denominator")
        return cls(text("no_target_reason"), illustrative, text("target_set_by"), minimum,
                   text("caveats"))


def _column(name: str) -> str:
    if name == "case":
        return "case_ref"
    if name in COLUMNS:
        return name
    if name in PAYLOAD_FIELDS:
        return f"(payload->>'{name}')"
    raise MeasureError(f"{name!r} is not a field of any event type")


def _literal(value: Any) -> str:
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, int | float):
        return repr(value)
    if isinstance(value, str):
        return "'" + value.replace("'", "''") + "'"
    raise MeasureError(f"{value!r} is not a number, string or boolean")


def _condition(name: str, rule: Any) -> str:
    column = _column(name)
    if isinstance(rule, list):
        return f"{column} IN ({', '.join(_literal(v) for v in rule)})"
    if isinstance(rule, Mapping):
        parts = []
        if "min" in rule:
            parts.append(f"{column} >= {_literal(rule['min'])}")
        if "max" in rule:
            parts.append(f"{column} <= {_literal(rule['max'])}")
        if not parts or set(rule) - {"min", "max"}:
            raise MeasureError(f"condition on {name} must have min and/or max")
        return " AND ".join(parts)
    return f"{column} = {_literal(rule)}"


EVENT_WORDS = TYPE_WORDS  # each type in plain words: the contract's registry


def _plain_condition(name: str, rule: Any) -> str:
    words = name.replace("_", " ")
    if isinstance(rule, bool):
        return f"{words} is {'yes' if rule else 'no'}"
    if isinstance(rule, list):
        return f"{words} is one of {', '.join(str(v) for v in rule)}"
    if isinstance(rule, Mapping):
        parts = []
        if "min" in rule:
            parts.append(f"at least {rule['min']}")
        if "max" in rule:
            parts.append(f"at most {rule['max']}")
        return f"{words} is {' and '.join(parts)}"
    return f"{words} is {rule}"


@dataclass(frozen=True)
class Count:
    """``count`` events of a type, or ``sum`` / ``distinct`` one of their fields."""

    event_type: str
    aggregate: str = "count"
    field: str | None = None
    where: Mapping[str, Any] = dataclasses.field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.event_type not in EVENT_TYPES:
            raise MeasureError(f"{self.event_type!r} is not an event type of the contract "
                               f"(one of {', '.join(EVENT_TYPES)})")
        if self.aggregate not in ("count", "sum", "distinct"):
            raise MeasureError("aggregate must be count, sum or distinct")
        if (self.aggregate == "count") != (self.field is None):
            raise MeasureError("sum and distinct need a field; count takes none")
        self.expression()
        # Compiled once (frozen: ``where`` cannot change after this): a report asks for
        # each count's condition thousands of times as it writes its statements.
        object.__setattr__(self, "_condition", self._compile_condition())

    def expression(self) -> str:
        if self.aggregate == "count":
            return "count(*)"
        column = _column(self.field or "")
        if self.aggregate == "sum":
            return f"sum({column})"
        return f"count(DISTINCT {column})"

    def column(self) -> str:
        """The SQL of the field a sum or distinct count reads."""
        return _column(self.field or "")

    def condition(self) -> str:
        return str(self.__dict__["_condition"])

    def _compile_condition(self) -> str:
        parts = [f"type = {_literal(self.event_type)}"]
        parts += [_condition(name, rule) for name, rule in self.where.items()]
        return " AND ".join(parts)

    def describe(self) -> str:
        what = "events" if self.field is None else f"{self.aggregate} of {self.field}"
        filters = ", ".join(f"{k} {v}" for k, v in self.where.items())
        return f"{what} of {self.event_type}" + (f" where {filters}" if filters else "")

    def plain(self) -> str:
        """The count in plain English, for the measure's metadata."""
        things = EVENT_WORDS.get(self.event_type, self.event_type)
        if self.aggregate == "count":
            what = f"the number of {things}"
        elif self.aggregate == "sum":
            what = f"the total {self.field} of {things}"
        else:
            what = f"the number of different {self.field}s in {things}"
        filters = [_plain_condition(name, rule) for name, rule in self.where.items()]
        return what + (" where " + " and ".join(filters) if filters else "")

    @classmethod
    def parse(cls, spec: Mapping[str, Any]) -> Count:
        """From the plan file: ``{count: TYPE}``, ``{sum: FIELD, of: TYPE}``,
        ``{distinct: FIELD, of: TYPE}``, each with an optional ``where``."""
        where = spec.get("where") or {}
        if not isinstance(where, Mapping):
            raise MeasureError("where must be a mapping of field to value")
        if "count" in spec:
            return cls(str(spec["count"]), "count", None, dict(where))
        for aggregate in ("sum", "distinct"):
            if aggregate in spec:
                return cls(str(spec.get("of")), aggregate, str(spec[aggregate]), dict(where))
        raise MeasureError("a count needs count:, sum: or distinct:")


@dataclass(frozen=True)
class Measure:
    """One line of the scorecard."""

    id: str
    title: str
    numerator: Count | None = None
    denominator: Count | None = None
    kind: str = "flow"
    period: str = "window"
    objective: str | None = None
    polarity: str = "higher"
    standard: bool = False
    about: MeasureNotes = dataclasses.field(default_factory=MeasureNotes)
    population: str | None = None  # a count per ``per`` of this plan population
    per: int | None = None

    @property
    def is_rate(self) -> bool:
        return self.denominator is not None

    @property
    def is_profiled(self) -> bool:
        """A count over a fixed period, whose target is due through the period (a rate's
        or a position's target is a level, due at any time)."""
        return self.kind == "flow" and not self.is_rate and self.period in PROFILED_PERIODS

    @property
    def can_forecast(self) -> bool:
        """A count or rate over a fixed period (a distinct count is forecast from the
        new items each month, which add up to it; a rate of distinct counts is not)."""
        return (self.kind == "flow" and self.period in PROFILED_PERIODS
                and (self.denominator is None or all(
                    c.aggregate != "distinct" for c in (self.numerator, self.denominator)
                    if c is not None)))

    def counted(self) -> str:
        """What is counted, in plain English."""
        if self.kind == "open_cases":
            which = f" ({self.numerator.plain()})" if self.numerator else ""
            return f"the number of cases referred and not closed at the end of the day{which}"
        if self.kind == "actions_complete":
            return "the number of plan actions whose latest reported status is complete"
        assert self.numerator is not None
        if self.denominator is None:
            return self.numerator.plain()
        return f"{self.numerator.plain()}, as a share of {self.denominator.plain()}"

    def definition(self) -> str:
        if self.kind == "open_cases":
            which = f" ({self.numerator.describe()})" if self.numerator else ""
            return f"cases referred and not closed at the end of the as-at day{which}"
        if self.kind == "actions_complete":
            return "plan actions whose latest reported status is complete"
        assert self.numerator is not None
        text = self.numerator.describe()
        if self.denominator is not None:
            text += f", as a share of {self.denominator.describe()}"
        return text


def _flow(measure_id: str, title: str, count: Count) -> Measure:
    return Measure(measure_id, title, numerator=count, standard=True)


STANDARD_MEASURES: tuple[Measure, ...] = (
    _flow("workforce_trained", "Workers trained (CSE training and events)",
          Count("training.delivered", "sum", "attendees", {"audience": "workforce"})),
    _flow("community_trained", "Community members at CSE awareness training",
          Count("training.delivered", "sum", "attendees", {"audience": "community"})),
    _flow("schools_reached", "Schools reached by prevention sessions",
          Count("school.session_delivered", "distinct", "school")),
    _flow("pupils_reached", "Pupils attending prevention sessions",
          Count("school.session_delivered", "sum", "pupils")),
    _flow("helpline_contacts", "Helpline contacts", Count("helpline.contact")),
    _flow("helpline_cse_contacts", "Helpline contacts about CSE in the area",
          Count("helpline.contact", where={"cse_related": True, "in_area": True})),
    _flow("helpline_referrals", "Helpline contacts referred into services",
          Count("helpline.contact", where={"outcome": "referral"})),
    _flow("referrals_received", "Referrals received by support services",
          Count("referral.received")),
    _flow("cases_closed", "Cases closed", Count("case.closed")),
    Measure("open_cases", "Cases open at the end of the period", kind="open_cases",
            standard=True),
    Measure("actions_complete", "Delivery-plan actions complete", kind="actions_complete",
            standard=True),
)

MEASURE_IDS: tuple[str, ...] = tuple(m.id for m in STANDARD_MEASURES)


def plan_measure(spec: Mapping[str, Any], standard: Mapping[str, Measure]) -> Measure:
    """A measure from the plan file: a new count or rate, or a standard measure given an
    objective and polarity (a standard measure's counting is fixed by the contract)."""
    measure_id = str(spec.get("id", ""))
    polarity = str(spec.get("polarity", "higher"))
    if polarity not in POLARITIES:
        raise MeasureError(f"measure {measure_id}: polarity must be higher, lower or none",
                           "polarity")
    objective = spec.get("objective")
    about = MeasureNotes.parse(spec, measure_id)
    if measure_id in standard:
        base = standard[measure_id]
        return Measure(base.id, base.title, base.numerator, base.denominator, base.kind,
                       base.period, str(objective) if objective else None, polarity, True,
                       about)
    if "open_cases" in spec and spec.get("title"):
        chosen = spec["open_cases"] or {}
        where = chosen.get("where") or {} if isinstance(chosen, Mapping) else None
        if not isinstance(where, Mapping):
            raise MeasureError(f"measure {measure_id}: open_cases must be a mapping with "
                               "where: a mapping of field to value", "open_cases")
        try:
            referrals = Count("referral.received", where=dict(where))
        except MeasureError as error:
            raise MeasureError(f"measure {measure_id}: {error}", "open_cases") from None
        return Measure(measure_id, str(spec["title"]), referrals, kind="open_cases",
                       objective=str(objective) if objective else None, polarity=polarity,
                       about=about)
    if "numerator" not in spec or not spec.get("title"):
        raise MeasureError(f"measure {measure_id!r} needs a title and a numerator")
    period = str(spec.get("period", "cumulative"))
    if period not in PERIODS[1:]:
        raise MeasureError(f"measure {measure_id}: period must be one of "
                           + ", ".join(PERIODS[1:]), "period")
    counts: dict[str, Count] = {}
    for part in ("numerator", "denominator"):
        if part not in spec:
            continue
        if not isinstance(spec[part], Mapping):
            raise MeasureError(f"measure {measure_id}: {part} must be a mapping such as "
                               "{count: TYPE}", part)
        try:
            counts[part] = Count.parse(spec[part])
        except MeasureError as error:
            raise MeasureError(f"measure {measure_id}: {error}", part) from None
    numerator, denominator = counts["numerator"], counts.get("denominator")
    population, per = spec.get("population"), spec.get("per")
    per_population = population is not None or per is not None
    if per_population and (denominator is not None or not isinstance(population, str)
                           or isinstance(per, bool) or not isinstance(per, int) or per < 1):
        raise MeasureError(f"measure {measure_id}: a rate per population needs population "
                           "(an id of the plan's populations) and per (a whole number such "
                           "as 10000), and no denominator", "population")
    return Measure(measure_id, str(spec["title"]), numerator, denominator, "flow", period,
                   str(objective) if objective else None, polarity, False, about,
                   population, per)


def check_plan_measure(spec: Mapping[str, Any]) -> None:
    """The plan's check of one measure (``domain.plan.MeasureCheck``): it must compile
    against the contract's registry of event types and fields, here and now, rather
    than when a report is first built."""
    plan_measure(spec, {m.id: m for m in STANDARD_MEASURES})
