"""Servers the tests and the benchmarks start on this machine's loopback: a free port for
any of them, and a Streamlit page (``scorecard ui`` or a bare ``streamlit run``) started,
waited for and stopped.

One home for both, because the browser tests, the command-line tests and
``bench/page_speed.py`` all start pages the same way: in a new session (so the page and
the projector ``scorecard ui`` starts beside it are ended together, by the group's own
id), ready once Streamlit's health check answers ``ok``.
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

# Long enough for a page to start on the shared, loaded machine; a page that answers
# sooner is used at once.
START_SECONDS = 120.0


def free_port() -> int:
    """A loopback port nothing listens on now (the operating system picks it)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@dataclass(frozen=True)
class ServedPage:
    """A running Streamlit page: where it answers, and its process (the group leader)."""

    url: str
    process: subprocess.Popen[bytes]


def wait_until_healthy(url: str, process: subprocess.Popen[bytes],
                       seconds: float = START_SECONDS) -> None:
    """Return once Streamlit's health check at ``url`` answers ``ok``; fail at once if
    ``process`` exits first, and after ``seconds`` if it never answers."""
    deadline = time.monotonic() + seconds
    while True:
        if process.poll() is not None:
            raise RuntimeError(f"the page's process exited with {process.returncode} "
                               f"before {url} answered")
        try:
            with urllib.request.urlopen(f"{url}/_stcore/health", timeout=2) as answer:
                if answer.read() == b"ok":
                    return
        except OSError as error:
            if time.monotonic() > deadline:
                raise RuntimeError(f"{url} did not answer within {seconds:g} s") from error
            time.sleep(0.3)


def stop_group(process: subprocess.Popen[bytes], seconds: float = 30) -> None:
    """End ``process`` and everything it started (its session's group): SIGTERM, and
    SIGKILL for a group still there after ``seconds``."""
    with contextlib.suppress(ProcessLookupError):  # the whole group has gone already
        os.killpg(process.pid, signal.SIGTERM)
    try:
        process.wait(timeout=seconds)
    except subprocess.TimeoutExpired:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)
        process.wait()


@contextmanager
def streamlit_page(command: list[str], env: dict[str, str], *, port: int | None = None,
                   port_option: str = "--port", cwd: Path | None = None,
                   seconds: float = START_SECONDS) -> Iterator[ServedPage]:
    """``command`` (given ``port_option`` and ``port``, a free one by default) serving a
    Streamlit page until the block ends, ready when the block starts; run in ``cwd`` when
    given (Streamlit reads ``.streamlit/secrets.toml`` there). ``port_option`` is
    ``--port`` for ``scorecard ui``, ``--server.port`` for ``streamlit run``."""
    port = port or free_port()
    process = subprocess.Popen([*command, port_option, str(port)], env=env, cwd=cwd,
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                               start_new_session=True)
    try:
        url = f"http://127.0.0.1:{port}"
        wait_until_healthy(url, process, seconds)
        yield ServedPage(url, process)
    finally:
        stop_group(process)
