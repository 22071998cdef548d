"""An attacker on suppressed figures: every figure a reader can see is a linear equation
over unknown counts (per agency, per stretch of days, per version); a ``[c]`` cell is
recovered when its own equation is a linear combination of the shown ones (exact
elimination modulo a large prime), or, for small histories, when every history of
non-negative counts that agrees with everything shown gives it the same value."""

from __future__ import annotations

import itertools
from collections.abc import Hashable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

PRIME = 2**61 - 1



@dataclass
class Cell:
    label: str
    vector: dict[Any, int]
    value: int


@dataclass
class Views:
    """Everything the reader saw: shown cells (with their values) and hidden ones."""

    shown: list[Cell] = field(default_factory=list)
    hidden: list[Cell] = field(default_factory=list)

    def add(self, label: str, vector: Mapping[Any, int], value: int,
            visible: bool) -> None:
        cell = Cell(label, {k: v for k, v in vector.items() if v}, value)
        (self.shown if visible else self.hidden).append(cell)


class _Basis:
    """Row-reduced shown equations, modulo PRIME."""

    def __init__(self) -> None:
        self.rows: dict[Hashable, dict[Hashable, int]] = {}  # pivot atom -> row
        self.order: list[Hashable] = []

    def reduce(self, vector: Mapping[Any, int]) -> dict[Any, int]:
        row = {k: v % PRIME for k, v in vector.items() if v % PRIME}
        for pivot in self.order:
            if pivot in row:
                factor = row[pivot]
                for atom, coefficient in self.rows[pivot].items():
                    updated = (row.get(atom, 0) - factor * coefficient) % PRIME
                    if updated:
                        row[atom] = updated
                    else:
                        row.pop(atom, None)
        return row

    def add(self, vector: Mapping[Any, int]) -> None:
        row = self.reduce(vector)
        if not row:
            return
        pivot = min(row, key=repr)
        inverse = pow(row[pivot], PRIME - 2, PRIME)
        row = {k: v * inverse % PRIME for k, v in row.items()}
        for other in self.order:  # keep it fully reduced
            if pivot in self.rows[other]:
                factor = self.rows[other][pivot]
                merged = dict(self.rows[other])
                for atom, coefficient in row.items():
                    updated = (merged.get(atom, 0) - factor * coefficient) % PRIME
                    if updated:
                        merged[atom] = updated
                    else:
                        merged.pop(atom, None)
                self.rows[other] = merged
        self.rows[pivot] = row
        self.order.append(pivot)


def linear_recoveries(views: Views) -> list[Cell]:
    """The hidden cells whose value follows from the shown ones by linear algebra."""
    basis = _Basis()
    for cell in views.shown:
        basis.add(cell.vector)
    return [cell for cell in views.hidden if not basis.reduce(cell.vector)]


def bounded_recoveries(views: Views, atoms: Sequence[Hashable], most: int) -> list[Cell]:
    """The hidden cells that take one value in every history of counts 0..``most`` per
    atom agreeing with all shown cells (each hidden cell being at least 1, as a reader
    knows: zero is always shown). Atoms not listed are taken as known to be 0. Only for
    a few atoms."""
    if (most + 1) ** len(atoms) > 300_000:
        raise ValueError("too many histories for a brute-force attack")
    index = {atom: i for i, atom in enumerate(atoms)}
    grid = np.array(list(itertools.product(range(most + 1), repeat=len(atoms))),
                    dtype=np.int64).reshape(-1, len(atoms))

    def matrix(cells: list[Cell]) -> np.ndarray:
        rows = np.zeros((len(cells), len(atoms)), dtype=np.int64)
        for r, cell in enumerate(cells):
            for atom, coefficient in cell.vector.items():
                if atom in index:
                    rows[r, index[atom]] = coefficient
        return rows

    keep = np.ones(len(grid), dtype=bool)
    if views.shown:
        shown = matrix(views.shown)
        keep &= (grid @ shown.T == np.array([c.value for c in views.shown])).all(axis=1)
    hidden = matrix(views.hidden) if views.hidden else np.zeros((0, len(atoms)), np.int64)
    values = grid @ hidden.T
    keep &= (values >= 1).all(axis=1)
    feasible = values[keep]
    assert len(feasible), "the true history must agree with what was shown"
    return [cell for i, cell in enumerate(views.hidden)
            if len(np.unique(feasible[:, i])) == 1]
