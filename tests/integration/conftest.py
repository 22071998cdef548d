"""Fixtures shared by the integration tests: a home on disk and its application."""

from __future__ import annotations

from pathlib import Path

import pytest

from domain.application import Scorecard
from scorecard.bootstrap import Home


@pytest.fixture
def home(tmp_path: Path) -> Home:
    return Home(tmp_path / "home")


@pytest.fixture
def app(home: Home) -> Scorecard:
    return home.open()
