"""Fixtures shared by every kind of test: a home on disk and its application, and the real
services, a PostgreSQL database and a Kafka broker per test."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from domain.application import Scorecard
from scorecard.bootstrap import Home
from tests.services import Broker, ensure_postgres, running_broker, throwaway_database

BACKENDS = ("popo", "sqlite", "postgres")


@pytest.fixture
def home(tmp_path: Path) -> Home:
    return Home(tmp_path / "home")


@pytest.fixture
def app(home: Home) -> Scorecard:
    return home.open()


@pytest.fixture(scope="session")
def postgres_server() -> None:
    ensure_postgres()


@pytest.fixture
def postgres_url(postgres_server: None) -> Iterator[str]:
    """The URL of a new, empty PostgreSQL database, dropped after the test."""
    with throwaway_database() as url:
        yield url


@pytest.fixture
def kafka(tmp_path: Path) -> Iterator[Broker]:
    """A fresh Tansu broker with the scorecard's topics (it starts in well under a second)."""
    with running_broker(log_path=tmp_path / "tansu.log") as broker:
        broker.create_topics()
        yield broker


@pytest.fixture(params=BACKENDS)
def event_store_env(request: pytest.FixtureRequest, tmp_path: Path) -> dict[str, str]:
    """``eventsourcing`` settings for each backend the contract must hold on."""
    from scorecard.bootstrap import postgres_env

    if request.param == "popo":
        return {"PERSISTENCE_MODULE": "eventsourcing.popo"}
    if request.param == "sqlite":
        return Home(tmp_path).event_store_env()
    return postgres_env(request.getfixturevalue("postgres_url"))
