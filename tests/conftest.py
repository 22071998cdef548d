"""Fixtures shared by every kind of test: a home on disk and its application, the real
services (a PostgreSQL database and a Kafka broker per test) and the demo home (built
once per session, copied for each module that uses it)."""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Callable, Iterator
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


@pytest.fixture(scope="session")
def demo_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The demo home as ``scorecard demo --no-ui`` builds it, once per session: a build
    takes seconds of CPU and a dozen modules need one. Never handed to a test itself:
    each module gets its own copy (``new_demo_home``) to change as it likes."""
    from tests.e2e.test_command_line import SCORECARD

    home = tmp_path_factory.mktemp("demo-template") / "home"
    env = {name: value for name, value in os.environ.items()  # the embedded store, in clear
           if not name.startswith("SCORECARD_")}
    subprocess.run([SCORECARD, "demo", "--no-ui"], env=env | {"SCORECARD_HOME": str(home)},
                   check=True, capture_output=True)
    return home


@pytest.fixture(scope="session")
def new_demo_home(demo_template: Path,
                  tmp_path_factory: pytest.TempPathFactory) -> Callable[[], Path]:
    """A fresh copy of the session's demo home at each call. The home is whole on disk
    (the building process has exited: SQLite and DuckDB closed their files), names its
    files relative to itself, and so works from anywhere it is copied to."""
    def copy() -> Path:
        home = tmp_path_factory.mktemp("demo") / "home"
        shutil.copytree(demo_template, home, symlinks=True)
        return home
    return copy
