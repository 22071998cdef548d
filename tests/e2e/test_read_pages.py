"""A read page process (``SCORECARD_PAGES=read``) serves the board with no event store: its
configured PostgreSQL is a socket that answers nobody and is never even connected to,
sign-in works from the access store's sign-in list, and the board shows figures from
the encrypted read model with the read-model key alone (not the cipher key)."""

from __future__ import annotations

import os
import socket
import subprocess
from pathlib import Path

from scorecard.bootstrap import derive_readmodel_key, new_cipher_key
from scorecard.demo.build import demo_password
from tests.e2e.browser import browser_page, screenshot, sign_in, sign_out, submit_sign_in
from tests.e2e.test_command_line import SCORECARD
from tests.e2e.test_processes_together import children, command_line
from tests.loopback import streamlit_page


def environment_of(pid: int) -> dict[str, str]:
    pairs = Path(f"/proc/{pid}/environ").read_bytes().split(b"\0")
    return dict(pair.decode().split("=", 1) for pair in pairs if b"=" in pair)


def test_the_board_is_served_while_the_event_store_is_unreachable(tmp_path: Path) -> None:
    home = tmp_path / "home"
    cipher = new_cipher_key()  # the record and the read model encrypted at rest
    env = dict(os.environ, SCORECARD_HOME=str(home), SCORECARD_CIPHER_KEY=cipher)
    subprocess.run([SCORECARD, "demo", "--no-ui"], env=env, check=True, capture_output=True)
    (home / "events.sqlite").rename(tmp_path / "events.sqlite")  # no record in the home
    with socket.socket() as postgres:  # where the event store is said to be: it never answers
        postgres.bind(("127.0.0.1", 0))
        postgres.listen()
        postgres.setblocking(False)
        read_env = dict(env, SCORECARD_PAGES="read",
                        SCORECARD_EVENT_STORE="postgresql://scorecard:secret@127.0.0.1:"
                                              f"{postgres.getsockname()[1]}/scorecard")
        with streamlit_page([SCORECARD, "ui"], read_env) as served:
            url = served.url
            members = children(served.process.pid)
            assert not any("project" in command_line(pid) for pid in members)  # no projector
            page_env = environment_of(members[0])
            assert page_env["SCORECARD_PAGES"] == "read"
            assert not {"SCORECARD_EVENT_STORE", "SCORECARD_CIPHER_KEY"} & set(page_env)
            assert cipher not in "".join(page_env.values())
            # only the read model's key, derived from the cipher key it was not given
            assert page_env["SCORECARD_READMODEL_KEY"] == derive_readmodel_key(cipher)

            with browser_page() as page:
                page.goto(url)
                submit_sign_in(page, "board", "not-the-password")
                page.get_by_text("Unknown user or wrong password").wait_for(timeout=30_000)
                sign_in(page, url, "board", demo_password("board"))
                row = page.locator("tr", has_text="Helpline contacts").first
                row.wait_for(timeout=30_000)
                assert any(ch.isdigit() for ch in row.inner_text())
                screenshot(page, "board-read-page-no-event-store")
                assert page.get_by_role("link", name="Agency returns").count() == 0
                # an agency user's pages are on the other page process
                sign_out(page)
                sign_in(page, url, "racs", demo_password("racs"))
                page.get_by_text("Your pages are not served here").wait_for(timeout=30_000)
            try:
                postgres.accept()
                connected = True
            except BlockingIOError:
                connected = False
            assert not connected, "the read page process tried the event store"
            assert not (home / "events.sqlite").exists()
