"""Drill-through: a figure's events, as known then, and their signatures checked again
against the key valid when each arrived (including after a key rotation)."""

from __future__ import annotations

import base64
import json
import sqlite3
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest

from domain.application import Scorecard
from domain.errors import CommandError
from domain.model import Submission
from ingest.file_push import push_file
from projections.evidence import check_signature, evidence
from projections.report import build_report
from scorecard.bootstrap import Home
from tests.integration.harbourside import AS_AT, COUNCIL, MEASURE, NOW, at
from tests.support import event, write_jsonl


def test_the_events_behind_a_figure_are_those_it_counts_as_known_then(
        home: Home, harbourside: tuple[Scorecard, dict[str, str]], tmp_path: Path) -> None:
    app, keys = harbourside
    correction = event("training.delivered", "hbc-tr-002b", "2019-06-11", agency=COUNCIL,
                       supersedes="hbc-tr-002", course="online-grooming", attendees=30,
                       sector="education")
    summary = push_file(app, write_jsonl(tmp_path / "fix.jsonl", [correction]), agency=COUNCIL,
                        key=keys[COUNCIL], now=NOW, known_at=at("2019-10-10T09:00:00"))
    assert summary.accepted == 1
    with home.projected(app) as connection:
        before = evidence(connection, MEASURE, as_at=AS_AT, known_at=at("2019-10-05T00:00:00"))
        after = evidence(connection, MEASURE, as_at=AS_AT, known_at=at("2019-10-11T00:00:00"))
        report = build_report(connection, as_at=AS_AT, known_at=at("2019-10-11T00:00:00"))
        cases = evidence(connection, "open_cases", as_at=AS_AT, known_at=at("2019-10-11"))
    assert [e.event_id for e in before.events] == ["hbc-tr-001", "hbc-tr-002", "hbc-tr-003"]
    assert [e.event_id for e in after.events] == ["hbc-tr-001", "hbc-tr-002b", "hbc-tr-003"]
    fixed = after.events[1]
    assert fixed.corrects == "hbc-tr-002" and fixed.arrival == "correction of hbc-tr-002"
    assert fixed.known_at == at("2019-10-10T09:00:00") and fixed.backfill
    assert after.events[0].arrival == "backfill"
    # The listed events add up to the figure the report shows.
    counted = after.to_json()["events"]
    assert len(counted) == 3
    assert report.measure(MEASURE).value == 40 + 30 + 25
    assert after.window == (date(2019, 4, 1), AS_AT)
    # Case references only on request (the board's own view).
    assert "case" not in cases.to_json()["events"][0]
    assert cases.to_json(with_cases=True)["events"][0]["case"] == "HYT-0001"
    with home.projected(app) as connection, pytest.raises(CommandError, match="no measure"):
        evidence(connection, "no_such", as_at=AS_AT, known_at=NOW)


def test_signatures_verify_again_against_the_key_valid_on_arrival_after_rotation(
        home: Home, harbourside: tuple[Scorecard, dict[str, str]], tmp_path: Path) -> None:
    app, _ = harbourside
    old = app.agency(COUNCIL)
    assert old is not None
    old_key_id = next(iter(old.key_ids()))
    new_key = app.rotate_key(COUNCIL, timedelta(0), by="admin", at=datetime.now(UTC))
    app.revoke_key(COUNCIL, old_key_id, by="admin", at=datetime.now(UTC))
    later = event("training.delivered", "hbc-tr-005", "2019-09-10", agency=COUNCIL,
                  course="online-grooming", attendees=20)
    assert push_file(app, write_jsonl(tmp_path / "later.jsonl", [later]), agency=COUNCIL,
                     key=new_key, now=datetime.now(UTC)).accepted == 1
    with home.projected(app) as connection:
        found = evidence(connection, MEASURE, as_at=AS_AT, known_at=datetime.now(UTC))
    checks = {e.event_id: check_signature(app, e.submission_id) for e in found.events}
    assert {i: c.status for i, c in checks.items()} == {
        "hbc-tr-001": "verifies", "hbc-tr-002": "verifies", "hbc-tr-003": "verifies",
        "hbc-tr-005": "verifies"}
    assert checks["hbc-tr-001"].key_id == old_key_id  # revoked since, valid on arrival
    assert checks["hbc-tr-005"].key_id != old_key_id


def test_a_tampered_stored_event_fails_its_signature_check(
        home: Home, harbourside: tuple[Scorecard, dict[str, str]]) -> None:
    app, _ = harbourside
    submission_id = Submission.create_id(COUNCIL, "hbc-tr-001")
    assert check_signature(app, str(submission_id)).status == "verifies"
    store = sqlite3.connect(home.path / "events.sqlite")
    (state,) = store.execute(
        "SELECT state FROM stored_events WHERE originator_id IN (?, ?) "
        "AND originator_version = 1", [submission_id.hex, str(submission_id)]).fetchone()
    stored = json.loads(state)
    signed = base64.b64decode(stored["signed"]).replace(b'"attendees":40', b'"attendees":400')
    stored["signed"] = base64.b64encode(signed).decode("ascii")
    store.execute("UPDATE stored_events SET state = ? WHERE originator_version = 1 AND "
                  "(originator_id = ? OR originator_id = ?)",
                  [json.dumps(stored).encode(), submission_id.hex, str(submission_id)])
    store.commit()
    store.close()
    fresh = Scorecard(env=home.event_store_env())
    check = check_signature(fresh, str(submission_id))
    assert check.status == "fails"
    assert "does not verify" in check.detail
