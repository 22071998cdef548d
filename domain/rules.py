"""Targets and RAG rules for a measure: how the board judges a figure.

A target is a trajectory: a list of (from day, value) steps, the one in force at the
report's as-at day applying. RAG rules are ordered and the first that holds wins: each
compares the value with a share of the target (at least that share when higher is
better, at most when lower is better); a last rule without a share catches the rest.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from domain.errors import CommandError

RAG_COLOURS = ("green", "amber", "red")


class RulesError(CommandError):
    """Targets or RAG rules that cannot be applied."""


@dataclass(frozen=True)
class RagRule:
    rag: str
    share: float | None  # of the target; None: always holds

    def describe(self, polarity: str) -> str:
        if self.share is None:
            return f"{self.rag} otherwise"
        sign = ">=" if polarity == "higher" else "<="
        return f"{self.rag} if value {sign} {self.share:.0%} of target"


@dataclass(frozen=True)
class MeasureRules:
    targets: tuple[tuple[dt.date, float], ...]
    rag: tuple[RagRule, ...]

    def target_on(self, day: dt.date) -> float | None:
        in_force = [value for start, value in self.targets if start <= day]
        return in_force[-1] if in_force else None

    def judge(self, value: float | None, day: dt.date, polarity: str) -> str | None:
        target = self.target_on(day)
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

    def to_document(self) -> dict[str, Any]:
        return {
            "target": [{"from": start.isoformat(), "value": value}
                       for start, value in self.targets],
            "rag": [{"rag": r.rag, **({"share": r.share} if r.share is not None else {})}
                    for r in self.rag],
        }

    @classmethod
    def from_document(cls, document: Mapping[str, Any], where: str = "rules") -> MeasureRules:
        targets = []
        for step in _list(document.get("target"), f"{where}.target"):
            try:
                start = dt.date.fromisoformat(str(step["from"]))
                value = float(step["value"])
            except (KeyError, TypeError, ValueError):
                raise RulesError(f"{where}.target: each step needs from (a date) and "
                                 "value (a number)") from None
            targets.append((start, value))
        targets.sort()
        rag = []
        for rule in _list(document.get("rag"), f"{where}.rag"):
            colour = rule.get("rag") if isinstance(rule, Mapping) else None
            if colour not in RAG_COLOURS:
                raise RulesError(f"{where}.rag: each rule needs rag: green, amber or red")
            share = rule.get("share")
            if share is not None and (isinstance(share, bool)
                                      or not isinstance(share, int | float) or share < 0):
                raise RulesError(f"{where}.rag: share must be a non-negative number")
            rag.append(RagRule(str(colour), float(share) if share is not None else None))
        return cls(tuple(targets), tuple(rag))


def _list(value: Any, where: str) -> Sequence[Any]:
    if value is None:
        return []
    if not isinstance(value, list):
        raise RulesError(f"{where} must be a list")
    return value
