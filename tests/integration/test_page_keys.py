"""Keys out of the page process (issue 17 item 7): a read page never opens the event
store nor holds its key; a write page opens the event store (its cipher key, the agency
keys it loads) for one rerun and drops it at the rerun's end.

The pages run in this process through Streamlit's AppTest, installed as the page server
installs them (``session.install``), with the projector in a process of its own, so
whatever event-store object is alive after a rerun is the page's."""

from __future__ import annotations

import gc
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from eventsourcing.cryptography import AESCipher
from streamlit.testing.v1 import AppTest

from domain.application import Scorecard
from domain.model import Agency
from projections import snapshots
from scorecard.bootstrap import Home, new_cipher_key
from scorecard.settings import Settings
from scorecard_ui import session

APP = str(Path(__file__).parents[2] / "scorecard_ui" / "app.py")
ROOT = Path(__file__).parents[2]


def held(before: frozenset[int] = frozenset()) -> list[object]:
    """Every event-store application, cipher and agency (with its keys) alive now that
    was not among ``before`` (what other tests of this process may have left)."""
    gc.collect()
    return [found for found in gc.get_objects()
            if isinstance(found, Scorecard | AESCipher | Agency) and id(found) not in before]


def alive() -> frozenset[int]:
    return frozenset(id(found) for found in held())


@pytest.fixture
def environ(tmp_path: Path) -> Iterator[dict[str, str]]:
    """A home whose event store and read model are encrypted, with an agency and two
    users, followed by a projector service in another process."""
    key_file = tmp_path / "secrets" / "cipher.key"
    key_file.parent.mkdir()
    key_file.write_text(new_cipher_key())
    environ = {"SCORECARD_HOME": str(tmp_path / "home"),
               "SCORECARD_CIPHER_KEY_FILE": str(key_file)}
    home = Home.from_settings(Settings.from_environment(environ))
    app = home.open()
    app.register_agency("racs", "RACS", "voluntary", None, by="test")
    app.add_user("root", "administrator", None, "root-password", by="test")
    app.add_user("chair", "board", None, "chair-password", by="test")
    home.project(app)
    app.close()
    del app
    projector = subprocess.Popen(
        [sys.executable, "-m", "scorecard.cli", "project", "--follow", "--interval", "0.1"],
        env=os.environ | environ | {"PYTHONPATH": str(ROOT)}, stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL)
    try:
        yield environ
    finally:
        projector.terminate()
        projector.wait(timeout=30)


@pytest.fixture
def installed(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Undo ``session.install`` (its settings, the kept read model and snapshots) after
    the test."""
    try:
        yield
    finally:
        session._INSTALLED.clear()
        snapshots.keep_open(False)


def signed_in(username: str, password: str) -> AppTest:
    at = AppTest.from_file(APP, default_timeout=60).run()
    at.text_input(key="username").set_value(username)
    at.text_input(key="password").set_value(password)
    return at.button[0].click().run()


def test_a_write_page_drops_the_event_store_and_its_keys_after_each_rerun(
        environ: dict[str, str], installed: None, monkeypatch: pytest.MonkeyPatch) -> None:
    environ = environ | {"SCORECARD_PAGES": "write"}
    for name, value in environ.items():
        monkeypatch.setenv(name, value)
    session.install(Settings.from_environment(environ))
    before = alive()
    at = signed_in("root", "root-password")
    assert not at.exception and at.session_state["user"]["role"] == "administrator"
    assert any(title.value == "Administration" for title in at.title)
    at.selectbox(key="keys_agency").set_value("racs").run()  # loads the agency's keys
    assert not at.exception and at.dataframe  # the agency's key ids were shown
    assert held(before) == []  # nothing of the event store outlived the rerun


def test_a_read_page_never_opens_the_event_store(
        environ: dict[str, str], installed: None, monkeypatch: pytest.MonkeyPatch) -> None:
    home = Home.from_settings(Settings.from_environment(environ))
    settings = home.settings.without_store_access(home.readmodel_key())
    for name in environ:
        monkeypatch.delenv(name, raising=False)
    for name, value in settings.environment().items():
        monkeypatch.setenv(name, value)
    assert settings.cipher_key is None and settings.cipher_key_file is None
    session.install(settings)
    before = alive()
    opened: list[object] = []
    monkeypatch.setattr(Scorecard, "__init__", lambda *args, **kwargs: opened.append(args))
    at = signed_in("chair", "chair-password")
    assert not at.exception and at.session_state["user"]["role"] == "board"
    assert "Delivery Plan" in at.title[0].value  # the board's scorecard, from the read model
    assert opened == [] and held(before) == []
    with pytest.raises(session.NoEventStore):
        session.application()
