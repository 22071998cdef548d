"""Builds the demo home by pushing the invented history through the real ingest path.

Every agency is registered with its own key; every return is written as a signed JSON
Lines file under ``demo/returns`` in the home and pushed with its backfilled knowledge
time, exactly as ``scorecard push FILE --known-at ...`` would.
"""

from __future__ import annotations

import json
import shutil
from dataclasses import dataclass
from pathlib import Path

from domain import signing
from domain.application import Scorecard
from domain.contract import canonical_bytes
from domain.timekeeping import utc_now
from ingest.file_push import PushSummary, push_file
from scorecard.bootstrap import Home, actor
from scorecard.demo.history import Governance, History, build_history

# Demo sign-ins (a demo home only: invented people, passwords printed by 'scorecard demo').
DEMO_USERS = (("board", "board", None), ("scrutiny", "scrutiny", None),
              ("admin", "administrator", None), ("racs", "agency", "racs"))


def demo_password(username: str) -> str:
    return f"{username}-demo"


@dataclass(frozen=True)
class DemoSummary:
    agencies: int
    returns: int
    pushed: PushSummary


def clear_home(home: Home) -> None:
    """Remove a previous demo's state (only the files a home is made of)."""
    for name in ("events.sqlite", "events.sqlite-wal", "events.sqlite-shm",
                 "readmodel.duckdb", "readmodel.duckdb.wal"):
        (home.path / name).unlink(missing_ok=True)
    shutil.rmtree(home.path / "demo", ignore_errors=True)


def _write_signed(path: Path, messages: list[dict[str, object]], key: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", encoding="utf-8") as stream:
        for message in messages:
            signature = signing.sign(key, canonical_bytes(message))
            stream.write(json.dumps({**message, "signature": signature}, ensure_ascii=False))
            stream.write("\n")
    return path


def _decide(app: Scorecard, step: Governance, keys: dict[str, str]) -> None:
    details = step.details
    if step.kind == "approve":
        app.approve_return(details["agency"], details["month"], keys[details["agency"]],
                           by=f"{details['agency']} returns officer", at=step.at)
    elif step.kind == "accept":
        app.accept_month(details["month"], by="LSCB board", at=step.at)
    else:
        app.change_rules(details["measure"], details["rules"], details["reason"],
                         by="LSCB board", at=step.at)


def build_demo_home(home: Home, *, replace: bool = True, history: History | None = None
                    ) -> DemoSummary:
    if replace:
        clear_home(home)
    app = home.open()
    history = history or build_history(app.plan)
    keys: dict[str, str] = {}
    for code, name, sector, types in history.agencies:
        keys[code] = app.register_agency(code, name, sector, types, by=actor())
        key_file = home.path / "demo" / "keys" / f"{code}.key"
        key_file.parent.mkdir(parents=True, exist_ok=True)
        key_file.write_text(keys[code], encoding="utf-8")
        key_file.chmod(0o600)
    for username, role, agency in DEMO_USERS:
        app.add_user(username, role, agency, demo_password(username), by=actor())
    pushed = PushSummary()
    returns_dir = home.path / "demo" / "returns"
    now = utc_now()
    decisions = list(history.governance)
    for number, ret in enumerate(history.returns, start=1):
        while decisions and decisions[0].at <= ret.known_at:
            _decide(app, decisions.pop(0), keys)
        path = _write_signed(returns_dir / f"{number:04d}-{ret.agency}.jsonl", ret.events,
                             keys[ret.agency])
        result = push_file(app, path, agency=ret.agency, key=keys[ret.agency], now=now,
                           known_at=ret.known_at, operator=actor())
        pushed.accepted += result.accepted
        pushed.duplicate += result.duplicate
        pushed.rejected += result.rejected
        pushed.rejections.extend(result.rejections)
    for decision in decisions:
        _decide(app, decision, keys)
    home.project(app)  # fold and publish the history, so the page opens at once
    return DemoSummary(len(history.agencies), len(history.returns), pushed)
