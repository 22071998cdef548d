"""Fixtures shared by the integration tests (``home`` and ``app`` are in tests/conftest.py)."""

from __future__ import annotations

import pytest

from domain.application import Scorecard
from scorecard.bootstrap import Home
from tests.integration.harbourside import open_harbourside


@pytest.fixture
def harbourside(home: Home) -> tuple[Scorecard, dict[str, str]]:
    """The Harbourside partnership in ``home``: its application and each agency's key."""
    return open_harbourside(home)
