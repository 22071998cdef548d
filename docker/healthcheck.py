#!/usr/bin/env python3
"""Health check of the scorecard image (installed as ``scorecard-healthcheck``).

One image runs several commands, so the check takes a mode:

- ``ui``: Streamlit answers ``ok`` on ``/_stcore/health`` (``SCORECARD_UI_PORT``, 8501).
- ``deps`` (the default, for ``ingest`` and ``projector``): the process can reach what it
  needs: a TCP connection opens to the PostgreSQL event store
  (``SCORECARD_EVENT_STORE`` or the file named by ``SCORECARD_EVENT_STORE_FILE``) and,
  when ``SCORECARD_KAFKA_BOOTSTRAP`` is set, to one of the Kafka bootstrap servers.
  A worker that dies makes ``scorecard ingest`` exit (and the restart policy restart
  it), so a live container with reachable dependencies is a healthy one.

Exit 0 when healthy, 1 otherwise, with one line saying why. Standard library only.
"""

from __future__ import annotations

import os
import socket
import sys
import urllib.request
from urllib.parse import urlsplit

TIMEOUT = 3.0


def setting(name: str) -> str | None:
    """An environment value, or the contents of the file named by NAME_FILE."""
    value = os.environ.get(name)
    if value:
        return value
    path = os.environ.get(f"{name}_FILE")
    if path:
        try:
            with open(path, encoding="utf-8") as handle:
                return handle.read().strip() or None
        except OSError:
            return None
    return None


def reachable(host: str, port: int) -> bool:
    try:
        with socket.create_connection((host, port), timeout=TIMEOUT):
            return True
    except OSError:
        return False


def bootstrap_servers(value: str) -> list[tuple[str, int]]:
    servers = []
    for item in value.split(","):
        item = item.strip().rpartition("://")[2]
        host, _, port = item.rpartition(":")
        if host and port.isdigit():
            servers.append((host.strip("[]"), int(port)))
    return servers


def check_deps() -> str | None:
    """None when healthy, else the reason."""
    store = setting("SCORECARD_EVENT_STORE")
    if store:
        parts = urlsplit(store)
        host, port = parts.hostname or "localhost", parts.port or 5432
        if not reachable(host, port):
            return f"event store {host}:{port} is not reachable"
    bootstrap = os.environ.get("SCORECARD_KAFKA_BOOTSTRAP")
    if bootstrap:
        servers = bootstrap_servers(bootstrap)
        if not servers:
            return f"SCORECARD_KAFKA_BOOTSTRAP has no host:port: {bootstrap!r}"
        if not any(reachable(host, port) for host, port in servers):
            return f"no Kafka bootstrap server is reachable: {bootstrap}"
    return None


def check_ui() -> str | None:
    port = int(os.environ.get("SCORECARD_UI_PORT", "8501"))
    url = f"http://127.0.0.1:{port}/_stcore/health"
    try:
        with urllib.request.urlopen(url, timeout=TIMEOUT) as response:
            body = response.read(64).decode("utf-8", "replace").strip()
    except OSError as error:
        return f"{url}: {error}"
    return None if body == "ok" else f"{url} answered {body!r}"


def main(argv: list[str]) -> int:
    mode = argv[1] if len(argv) > 1 else os.environ.get("SCORECARD_HEALTHCHECK", "deps")
    checks = {"deps": check_deps, "ui": check_ui}
    if mode not in checks:
        print(f"scorecard-healthcheck: unknown mode {mode!r} (deps or ui)", file=sys.stderr)
        return 2
    problem = checks[mode]()
    print(problem or f"{mode}: healthy")
    return 1 if problem else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
