"""Fixtures of the browser tests: a demo home and its served page per module, and one
Chromium for the session."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from tests.e2e.browser import close_chromium, served
from tests.e2e.test_command_line import SCORECARD


@pytest.fixture(scope="module")
def demo_home(new_demo_home: Callable[[], Path]) -> Path:
    """The demo home (``scorecard demo --no-ui``), a copy of the session's for each test
    module: the modules that upload or write notes change it, and no other module should
    see that."""
    return new_demo_home()


@pytest.fixture(scope="module")
def demo_url(demo_home: Path) -> Iterator[str]:
    """``scorecard ui`` over the module's demo home, started once for the module: a start
    (Streamlit, the projector, the first run of the page) takes seconds, and each test
    opens its own browser context, so no test sees another's sign-in."""
    with served(SCORECARD, demo_home) as url:
        yield url


@pytest.fixture(scope="session", autouse=True)
def _one_chromium() -> Iterator[None]:
    """The session's Chromium (``browser.chromium``) is closed when the tests end."""
    yield
    close_chromium()
