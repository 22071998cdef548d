"""Fixtures of the browser tests."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

from tests.e2e.test_command_line import SCORECARD


@pytest.fixture(scope="module")
def demo_home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The demo home (``scorecard demo --no-ui``), built afresh for each test module: the
    modules that upload or write notes change it, and no other module should see that."""
    home = tmp_path_factory.mktemp("demo") / "home"
    subprocess.run([SCORECARD, "demo", "--no-ui"], env=dict(os.environ, SCORECARD_HOME=str(home)),
                   check=True, capture_output=True)
    return home
