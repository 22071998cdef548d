"""Targets and RAG rules for a measure: how the board judges a figure.

A target is a trajectory: a list of (from day, value) steps, the one in force at the
report's as-at day applying. RAG rules are ordered and the first that holds wins: each
compares the value with a share of the target (at least that share when higher is
better, at most when lower is better); a last rule without a share catches the rest.

A target set for a period (a financial year, a quarter, the plan) is *profiled* through
it, so a figure part-way through the period is judged against the part of the target
due by then: pro rata by day unless the rules give a monthly ``profile`` (twelve
weights, January first, for school terms or seasonal demand), each month's weight then
spread over its days.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from domain.errors import CommandError

RAG_COLOURS = ("green", "amber", "red")
MONTH_KEYS = ("jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov",
              "dec")


class RulesError(CommandError):
    """Targets or RAG rules that cannot be applied: ``field`` (target, rag, profile) and
    ``rule`` say what is wrong, for a plan check to place it in the file."""

    def __init__(self, where: str, field: str, rule: str) -> None:
        super().__init__(f"{where}.{field}{'' if rule.startswith('must') else ':'} {rule}")
        self.field = field
        self.rule = rule


@dataclass(frozen=True)
class RagRule:
    rag: str
    share: float | None  # of the target; None: always holds

    def describe(self, polarity: str) -> str:
        if self.share is None:
            return f"{self.rag} otherwise"
        sign = ">=" if polarity == "higher" else "<="
        return f"{self.rag} if value {sign} {self.share:.0%} of target"


def _month_days(year: int, month: int) -> int:
    following = dt.date(year + month // 12, month % 12 + 1, 1)
    return (following - dt.date(year, month, 1)).days


@dataclass(frozen=True)
class MeasureRules:
    targets: tuple[tuple[dt.date, float], ...]
    rag: tuple[RagRule, ...]
    profile: tuple[float, ...] | None = None  # twelve monthly weights, January first

    def target_on(self, day: dt.date) -> float | None:
        in_force = [value for start, value in self.targets if start <= day]
        return in_force[-1] if in_force else None

    def month_weight(self, year: int, month: int, first: dt.date, last: dt.date) -> float:
        """The month's weight in the period [first, last], for the days of it inside."""
        days = _month_days(year, month)
        start = max(first, dt.date(year, month, 1))
        end = min(last, dt.date(year, month, days))
        inside = max(0, (end - start).days + 1)
        whole = self.profile[month - 1] if self.profile is not None else float(days)
        return whole * inside / days

    @lru_cache(maxsize=1024)  # noqa: B019 (rules are immutable and few; a report asks each)
    def share_due(self, period: tuple[dt.date, dt.date], day: dt.date) -> float:
        """The share of a period's target due by the end of ``day``: 0 before the period,
        1 at its end, and in between by the profile (pro rata by day without one). Kept
        per (rules, period, day): every measure of a report asks it, month by month."""
        first, last = period
        if day < first:
            return 0.0
        total = due = 0.0
        year, month = first.year, first.month
        while dt.date(year, month, 1) <= last:
            total += self.month_weight(year, month, first, last)
            due += self.month_weight(year, month, first, min(last, day))
            year, month = (year + 1, 1) if month == 12 else (year, month + 1)
        return due / total if total else 1.0

    def target_to_date(self, period: tuple[dt.date, dt.date], day: dt.date) -> float | None:
        """The target in force on ``day``, profiled to ``day`` through ``period``."""
        target = self.target_on(day)
        return None if target is None else target * self.share_due(period, day)

    def judge(self, value: float | None, day: dt.date, polarity: str) -> str | None:
        return self.judge_against(value, self.target_on(day), polarity)

    def judge_against(self, value: float | None, target: float | None,
                      polarity: str) -> str | None:
        """The first RAG rule that holds for ``value`` against ``target``."""
        if value is None or target is None:
            return None
        for rule in self.rag:
            if rule.share is None:
                return rule.rag
            threshold = rule.share * target
            if (value >= threshold) if polarity == "higher" else (value <= threshold):
                return rule.rag
        return None

    def describe(self, polarity: str) -> str:
        return "; ".join(rule.describe(polarity) for rule in self.rag)

    def describe_profile(self) -> str:
        if self.profile is None:
            return "pro rata by day through the period"
        weights = ", ".join(f"{key.title()} {w:g}" for key, w in zip(MONTH_KEYS, self.profile,
                                                                       strict=True))
        return f"by monthly profile ({weights}), pro rata by day within a month"

    def to_document(self) -> dict[str, Any]:
        return {
            "target": [{"from": start.isoformat(), "value": value}
                       for start, value in self.targets],
            "rag": [{"rag": r.rag, **({"share": r.share} if r.share is not None else {})}
                    for r in self.rag],
            **({"profile": dict(zip(MONTH_KEYS, self.profile, strict=True))}
               if self.profile is not None else {}),
        }

    @classmethod
    def from_document(cls, document: Mapping[str, Any], where: str = "rules") -> MeasureRules:
        targets = []
        for step in _list(document.get("target"), f"{where}.target"):
            try:
                start = dt.date.fromisoformat(str(step["from"]))
                value = float(step["value"])
            except (KeyError, TypeError, ValueError):
                raise RulesError(where, "target", "each step needs from (a date) and "
                                 "value (a number)") from None
            targets.append((start, value))
        targets.sort()
        rag: list[RagRule] = []
        for rule in _list(document.get("rag"), f"{where}.rag"):
            colour = rule.get("rag") if isinstance(rule, Mapping) else None
            if colour not in RAG_COLOURS:
                raise RulesError(where, "rag", "each rule needs rag: green, amber or red")
            share = rule.get("share")
            if share is not None and (isinstance(share, bool)
                                      or not isinstance(share, int | float) or share < 0):
                raise RulesError(where, "rag", "share must be a non-negative number")
            if rag and rag[-1].share is None:
                raise RulesError(where, "rag", "a rule without a share holds always, so it "
                                 "must be the last")
            rag.append(RagRule(str(colour), float(share) if share is not None else None))
        return cls(tuple(targets), tuple(rag), _profile(document.get("profile"), where))


def _profile(value: Any, where: str) -> tuple[float, ...] | None:
    """``profile: {jan: 1, ..., dec: 1}``: a non-negative weight for each calendar month."""
    if value is None:
        return None
    error = RulesError(where, "profile", "give all twelve months (jan ... dec), each a "
                       "non-negative number, not all zero")
    if not isinstance(value, Mapping) or set(value) != set(MONTH_KEYS):
        raise error
    weights = []
    for key in MONTH_KEYS:
        weight = value[key]
        if isinstance(weight, bool) or not isinstance(weight, int | float) or weight < 0:
            raise error
        weights.append(float(weight))
    if not any(weights):
        raise error
    return tuple(weights)


def _list(value: Any, where: str) -> Sequence[Any]:
    if value is None:
        return []
    if not isinstance(value, list):
        field = where.rsplit(".", 1)
        raise RulesError(field[0], field[-1], "must be a list")
    return value
