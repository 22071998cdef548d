"""Keys that rotate and revoke, and the audit trail of every decision."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from domain.application import Scorecard
from domain.errors import CommandError
from ingest.file_push import push_file
from projections.audit import audit_trail
from scorecard.bootstrap import Home
from tests.support import event, reasons, register, signed, submit, write_jsonl

T0 = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)


def at(hours: float) -> datetime:
    return T0 + timedelta(hours=hours)


def test_an_old_key_works_through_its_grace_period_then_fails(app: Scorecard) -> None:
    old = register(app, "racs")
    new = app.rotate_key("racs", timedelta(hours=24), by="admin", at=T0)
    assert old != new
    contact = event("helpline.contact", "h-1", "2026-03-01")
    by_old_in_grace = submit(app, old, signed(contact, old), received_at=at(23))
    by_old_after = submit(app, old, signed(event("helpline.contact", "h-2", "2026-03-01"), old),
                          received_at=at(25))
    by_new_after = submit(app, new, signed(event("helpline.contact", "h-3", "2026-03-01"), new),
                          received_at=at(25))
    assert reasons(by_old_in_grace + by_old_after + by_new_after) == [
        "accepted", "unauthenticated", "accepted"]
    agency = app.agency("racs")
    assert agency is not None
    assert not agency.holds_key(old, at(25)) and agency.holds_key(new, at(25))


def test_a_revoked_key_fails_at_once(app: Scorecard) -> None:
    key = register(app, "racs")
    agency = app.agency("racs")
    assert agency is not None
    (key_id,) = agency.key_ids()
    app.revoke_key("racs", key_id, by="admin", at=T0)
    assert reasons(submit(app, key, event("helpline.contact", "h-1", "2026-03-01"),
                          received_at=at(1))) == ["unauthenticated"]
    with pytest.raises(CommandError, match="no key"):
        app.revoke_key("racs", key_id, by="admin", at=T0)


def test_the_audit_trail_names_who_did_what_and_when(
    home: Home, app: Scorecard, tmp_path: Path
) -> None:
    key = register(app, "racs")
    now = datetime.now(UTC)
    push_file(app, write_jsonl(tmp_path / "a.jsonl", [
        event("helpline.contact", "h-1", "2015-10-01"),
        event("helpline.contact", "bad", "2015-10-01", channel="fax"),
    ]), agency="racs", key=key, now=now, known_at=datetime(2015, 11, 3, tzinfo=UTC),
        operator="data officer")
    push_file(app, write_jsonl(tmp_path / "b.jsonl", [
        event("helpline.contact", "h-1b", "2015-10-01", supersedes="h-1", outcome="advice"),
        event("event.retracted", "x-1", "2015-12-01", target="h-1b", reason="test call"),
    ]), agency="racs", key=key, now=now)
    app.approve_return("racs", "2015-10", key, by="racs manager", at=now)
    app.accept_month("2015-10", by="board chair", at=now)
    app.change_rules("actions_complete", {"target": [{"from": "2015-04-01", "value": 3}],
                                          "rag": [{"rag": "green", "share": 1}]},
                     "New target", by="board chair", at=now)
    app.rotate_key("racs", timedelta(hours=1), by="admin", at=now)
    app.set_suspended("racs", True, by="admin")
    with home.projected(app) as connection:
        trail = audit_trail(connection)
        assert {r["agency"] for r in audit_trail(connection, "racs")} == {"racs"}
        assert audit_trail(connection, since=now + timedelta(days=1)) == []
    seen = [(r["actor"], r["action"], r["subject"]) for r in trail]
    agency = app.agency("racs")
    assert agency is not None
    first_key = next(iter(agency.key_ids()))
    for expected in [
        ("test", "agency registered", first_key),
        ("data officer", "backfilled", "h-1"),
        ("racs", "rejected", "bad"),
        ("racs", "corrected", "h-1b"),
        ("racs", "retracted", "x-1"),
        ("racs manager", "return approved", "2015-10"),
        ("board chair", "month accepted", "2015-10"),
        ("board chair", "rules changed", "actions_complete"),
        ("admin", "agency suspended", None),
    ]:
        assert expected in seen, expected
    backfill = next(r for r in trail if r["action"] == "backfilled")
    assert backfill["at"] == "2015-11-03T00:00:00Z" and backfill["recorded"] > backfill["at"]
    assert backfill["details"]["signed_with"] == first_key
    rotated = next(r for r in trail if r["action"] == "key rotated")
    assert rotated["actor"] == "admin" and rotated["subject"] != first_key
