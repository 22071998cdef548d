"""The invented Harbourside partnership (examples/harbourside) as the integration tests
use it: its plan, its three agencies, and their example events pushed as known on
1 Oct 2019. The ``harbourside`` fixture (tests/integration/conftest.py) opens it."""

from __future__ import annotations

from datetime import UTC, date, datetime
from pathlib import Path

from domain.application import Scorecard
from ingest.file_push import push_file
from scorecard.bootstrap import Home

EXAMPLE = Path(__file__).parents[2] / "examples" / "harbourside"
COUNCIL = "harbourside-council"
AGENCIES = {COUNCIL: "council", "harbourside-police": "police",
            "harbour-youth-trust": "voluntary"}
NOW = datetime(2026, 1, 1, tzinfo=UTC)
AS_AT = date(2019, 9, 30)
MEASURE = "workers_trained_this_year"  # red at 30 Sep 2019


def at(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


def open_harbourside(home: Home) -> tuple[Scorecard, dict[str, str]]:
    """``home`` counting against the Harbourside plan, each agency registered and its
    example events pushed (none rejected); the application and each agency's key."""
    app = home.open(EXAMPLE / "plan.yaml")
    keys = {code: app.register_agency(code, code, sector, None, by="test")
            for code, sector in AGENCIES.items()}
    for code, key in keys.items():
        summary = push_file(app, EXAMPLE / "events" / f"{code}.jsonl", agency=code, key=key,
                            now=NOW, known_at=at("2019-10-01T09:00:00"))
        assert summary.rejected == 0
    return app, keys
