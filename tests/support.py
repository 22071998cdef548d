"""Builders shared by the tests: valid contract events, signed lines, a small plan."""

from __future__ import annotations

import copy
import functools
import json
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from domain import signing
from domain.application import Outcome, Scorecard
from domain.contract import canonical_bytes
from domain.plan import load_plan_document
from ingest.file_push import file_line_delivery
from scorecard.bootstrap import Home
from scorecard.service import InThread

RECEIVED = datetime(2015, 11, 1, 9, 0, tzinfo=UTC)
NOW_UTC = datetime(2026, 1, 1, tzinfo=UTC)

VALID_PAYLOADS: dict[str, dict[str, Any]] = {
    "training.delivered": {
        "course": "cse-awareness", "audience": "workforce", "attendees": 20, "sector": "health",
        "evaluation": {"returned": 18, "improved_risk_understanding": 15,
                       "improved_action_understanding": 16},
    },
    "school.session_delivered": {
        "school": "106918", "programme": "chelseas-choice", "year_groups": ["Y8", "Y9"],
        "pupils": 120, "format": "performance",
    },
    "helpline.contact": {
        "channel": "phone", "cse_related": True, "in_area": True, "outcome": "referral",
        "response_minutes": 0,
    },
    "referral.received": {
        "case": "RACS-0001", "source": "police", "client": "child", "age_band": "11-15",
        "gender": "female", "historic": False,
    },
    "case.closed": {"case": "RACS-0001", "reason": "support_completed"},
    "action.status_reported": {"action": "4.1.1", "status": "on_track", "note": "Commissioned."},
    "youth_session.delivered": {"programme": "cse-awareness", "setting": "youth_centre",
                                "participants": 12},
    "exception.noted": {"measure": "actions_complete", "month": "2015-10",
                        "what_happened": "Fewer actions complete than planned",
                        "why": "Commissioning slipped", "recovery": "Contracts signed",
                        "recover_by": "2015-12-31", "owner": "Head of Commissioning"},
    "event.retracted": {"target": "e-1", "reason": "entered twice"},
}


def event(
    event_type: str,
    event_id: str,
    occurred_at: str = "2015-10-01",
    *,
    agency: str = "racs",
    supersedes: str | None = None,
    **payload: Any,
) -> dict[str, Any]:
    """A valid envelope of ``event_type``; keyword arguments override payload fields."""
    body = copy.deepcopy(VALID_PAYLOADS[event_type])
    body.update(payload)
    message: dict[str, Any] = {
        "event_id": event_id, "agency": agency, "type": event_type, "schema_version": 1,
        "occurred_at": occurred_at, "payload": body,
    }
    if supersedes is not None:
        message["supersedes"] = supersedes
    return message


def signed(message: dict[str, Any], key: str) -> dict[str, Any]:
    """The message with a file-line signature under ``key``."""
    return {**message, "signature": signing.sign(key, canonical_bytes(message))}


def line(message: dict[str, Any]) -> bytes:
    return json.dumps(message).encode("utf-8")


def write_jsonl(path: Path, messages: list[dict[str, Any]]) -> Path:
    path.write_text("".join(json.dumps(m) + "\n" for m in messages), encoding="utf-8")
    return path


@functools.cache
def _bundled_plan() -> dict[str, Any]:
    return load_plan_document()


def bundled_plan() -> dict[str, Any]:
    """The bundled plan's document, read and checked once per test process (a read takes
    a tenth of a second, and property tests make an application per example); each call
    gets its own copy to change."""
    return copy.deepcopy(_bundled_plan())


def memory_app(env: dict[str, str] | None = None) -> Scorecard:
    """An application with the bundled plan, in memory unless ``env`` names a store."""
    app = Scorecard(env=env or {"PERSISTENCE_MODULE": "eventsourcing.popo"})
    app.adopt_plan(bundled_plan())
    return app


def register(app: Scorecard, code: str = "racs", types: list[str] | None = None) -> str:
    return app.register_agency(code, code.upper(), "voluntary", types, by="test")


def submit(
    app: Scorecard,
    key: str,
    *messages: dict[str, Any] | bytes,
    producer: str = "racs",
    received_at: datetime = RECEIVED,
    verified: bool = True,
) -> list[Outcome]:
    """Submit messages as file lines of one batch, signing unsigned ones with ``key``."""
    deliveries = [
        file_line_delivery(
            m if isinstance(m, bytes) else line(m), producer=producer, key=key,
            producer_verified=verified, received_at=received_at, backfill=False,
            source=f"test:{n}",
        )
        for n, m in enumerate(messages, start=1)
    ]
    return app.submit(deliveries)


def reasons(outcomes: list[Outcome]) -> list[str]:
    """Each outcome as its status, or its rejection reason."""
    return [o.rejection.reason if o.rejection else o.status for o in outcomes]


def plan_file(path: Path, **overrides: Any) -> Path:
    """The bundled plan with top-level sections replaced (e.g. ``measures``, ``returns``)."""
    import yaml

    document = load_plan_document()
    document.update(overrides)
    path.write_text(yaml.safe_dump(document, sort_keys=False), encoding="utf-8")
    return path


@contextmanager
def seen_by_the_pages(home: Home, monkeypatch: pytest.MonkeyPatch) -> Iterator[Home]:
    """``home`` as the pages see it until the block ends: ``SCORECARD_HOME`` names it, and
    the projector service (in a thread) keeps the pages' read model current."""
    monkeypatch.setenv("SCORECARD_HOME", str(home.path))
    with InThread(home):
        yield home
