"""An invented register of Rotherham's schools: URN, phase and year-group rolls.

No real school is named. URNs are six digits in an invented range; rolls are plausible
sizes chosen so that the Year 8 cohort is about 3,244 pupils (1,330 is then 41%).
"""

from __future__ import annotations

import random
from dataclasses import dataclass

PRIMARY_YEARS = ("R", "Y1", "Y2", "Y3", "Y4", "Y5", "Y6")
SECONDARY_YEARS = ("Y7", "Y8", "Y9", "Y10", "Y11")
YEAR8_COHORT = 3244


@dataclass(frozen=True)
class School:
    urn: str
    name: str
    phase: str  # primary or secondary
    rolls: dict[str, int]


def school_register(seed: int = 2015, primaries: int = 100, secondaries: int = 16) -> list[School]:
    rng = random.Random(seed)
    schools = [
        School(f"9{n:05d}", f"Primary school {n:03d}", "primary",
               {year: rng.randint(25, 60) for year in PRIMARY_YEARS})
        for n in range(1, primaries + 1)
    ]
    year8 = _split(YEAR8_COHORT, secondaries, rng, low=140)
    for n in range(1, secondaries + 1):
        rolls = {year: max(100, year8[n - 1] + rng.randint(-15, 15)) for year in SECONDARY_YEARS}
        rolls["Y8"] = year8[n - 1]
        schools.append(School(f"95{n:04d}", f"Secondary school {n:02d}", "secondary", rolls))
    return schools


def _split(total: int, parts: int, rng: random.Random, low: int) -> list[int]:
    """``parts`` integers of at least ``low`` adding up to ``total``."""
    weights = [rng.uniform(0.8, 1.2) for _ in range(parts)]
    spare = total - low * parts
    shares = [low + int(spare * w / sum(weights)) for w in weights]
    shares[0] += total - sum(shares)
    return shares
