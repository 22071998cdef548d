"""The page's Streamlit settings and the home's file permissions."""

from __future__ import annotations

import os
import stat
import tomllib
from collections.abc import Iterator
from pathlib import Path

import pytest

from scorecard.bootstrap import Home
from scorecard.cli import STREAMLIT_SETTINGS
from scorecard_ui.returns_upload import MAX_UPLOAD_BYTES

CONFIG = Path(__file__).parents[2] / "scorecard_ui" / ".streamlit" / "config.toml"


def test_users_get_no_tracebacks_no_developer_toolbar_and_bounded_uploads() -> None:
    """Issue 12 items 5 and 9, issue 15 item 6: the settings a user's page runs with."""
    config = tomllib.loads(CONFIG.read_text("utf-8"))
    assert config["client"]["showErrorDetails"] == "none"
    assert config["client"]["toolbarMode"] == "viewer"
    # the reader's own limit, which names it, is the one Streamlit enforces first
    assert config["server"]["maxUploadSize"] == MAX_UPLOAD_BYTES // 2**20 <= 64
    # one theme, the light one the accessibility tests check (docs/accessibility.md)
    assert config["theme"]["base"] == "light"
    # focus and primary buttons in GOV.UK blue, not the red that means "off target"
    assert config["theme"]["primaryColor"] == "#1d70b8"
    for name, value in (("client.showErrorDetails", "none"), ("client.toolbarMode", "viewer"),
                        ("server.maxUploadSize", str(MAX_UPLOAD_BYTES // 2**20)),
                        ("theme.base", "light"), ("theme.primaryColor", "#1d70b8")):
        assert STREAMLIT_SETTINGS[name] == value  # what `scorecard ui` passes


@pytest.fixture
def usual_umask() -> Iterator[None]:
    previous = os.umask(0o022)
    try:
        yield
    finally:
        os.umask(previous)


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_the_home_is_private_and_its_stores_owner_only(tmp_path: Path,
                                                        usual_umask: None) -> None:
    """Issue 12 item 10: events.sqlite and readmodel.duckdb were created 0644."""
    home = Home(tmp_path / "home")
    app = home.open()
    app.add_user("chair", "board", None, "chair-password", by="test")
    with home.projected(app):
        pass
    assert mode(home.path) == 0o700
    for path in home.path.rglob("*"):
        assert mode(path) == (0o700 if path.is_dir() else 0o600), path.name
    assert {p.name for p in home.path.iterdir()} >= {"events.sqlite", "readmodel.duckdb",
                                                     "snapshots", "access.sqlite"}
    published = home.published()
    assert published is not None and mode(published.file) == 0o600


def test_an_existing_open_home_is_narrowed(tmp_path: Path, usual_umask: None) -> None:
    home = Home(tmp_path / "home")
    home.path.mkdir(mode=0o755)
    home.open()
    assert mode(home.path) == 0o700 and mode(home.event_store_path) == 0o600
