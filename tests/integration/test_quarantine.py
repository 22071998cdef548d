"""Hostile and planted messages through a real home (SQLite event store, DuckDB read
model, the pages): everything is kept and shown without a crash, and what does not prove
its sender is in the administrators' quarantine, never in the agency's own list or its
Resubmit (issue 12, items 1 and 2)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from uuid import UUID

import pytest

from domain import contract, signing
from domain.application import Delivery, Scorecard
from domain.errors import CommandError
from ingest.file_push import push_file
from ingest.kafka_messages import kafka_delivery
from projections.audit import audit_trail
from projections.rejected import list_rejected
from projections.report import load_plan
from projections.returns import data_quality
from scorecard.bootstrap import Home
from scorecard.rendering import as_json, render_rejected
from scorecard_ui.text import as_text
from tests.html_tables import upload_preview
from tests.integration.test_pages import page
from tests.support import event, reasons, register, seen_by_the_pages

NOW = datetime.now(UTC)


def _kafka(offset: int, key: bytes | None, value: bytes | None, signature: bytes) -> Delivery:
    return kafka_delivery(partition=0, offset=offset, key=key, value=value,
                          headers=[("signature", signature)], received_at=NOW)


def _value(message: dict[str, object]) -> bytes:
    return contract.canonical_bytes(message)


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Home]:
    """racs's own events, good and bad, and a retraction planted under racs's key."""
    home = Home(tmp_path / "home")
    app = home.open()
    key = register(app, "racs")
    register(app, "grow")
    accepted = _value(event("helpline.contact", "h-1", "2015-10-01"))
    own_bad = _value(event("helpline.contact", "own-bad", "2015-10-02", channel="fax"))
    outcomes = app.submit([
        _kafka(0, b"racs", accepted, signing.sign(key, accepted).encode()),
        _kafka(1, b"racs", own_bad, signing.sign(key, own_bad).encode()),
        # Planted: someone who can reach the topic, without racs's key.
        _kafka(2, b"racs", _value(event("event.retracted", "planted-x", "2015-10-03",
                                        target="h-1", reason="planted")), b"v1=" + b"0" * 64),
    ])
    assert reasons(outcomes) == ["accepted", "invalid", "unauthenticated"]
    app.add_user("racs-staff", "agency", "racs", "racs-staff-password", by="test")
    with seen_by_the_pages(home, monkeypatch):
        yield home


def _hostile(home: Home, tmp_path: Path) -> None:
    """Lone surrogates and empty values from Kafka, lone surrogates in racs's own file."""
    app = home.open()
    outcomes = app.submit([
        _kafka(3, b"racs", b'{"agency":"\\ud800","event_id":"planted-s"}', b"v1=00"),
        _kafka(4, None, b'{"agency":"racs","payload":{"note":"\\udfff"}}', b""),
        _kafka(5, b"racs", None, b"v1=00"),
    ])
    assert reasons(outcomes) == ["invalid"] * 3
    lines = tmp_path / "racs.jsonl"
    lines.write_bytes(b'{"agency":"racs","event_id":"\\udc00-line"}\n'
                      + b'{"agency":"\\ud800"}\n'
                      + contract.canonical_bytes(event("helpline.contact", "h-2")) + b"\n")
    racs = app.agency("racs")
    assert racs is not None
    summary = push_file(app, lines, agency="racs", key=racs.current_key() or "", now=NOW)
    assert (summary.accepted, summary.rejected) == (1, 2)


def test_hostile_rejections_are_projected_listed_and_rendered(home: Home,
                                                              tmp_path: Path) -> None:
    _hostile(home, tmp_path)
    app = home.open()
    with home.projected(app) as connection:
        everything = list_rejected(connection, view="all")
        own = list_rejected(connection, "racs")
        quarantine = list_rejected(connection, "racs", "quarantine")
        trail = audit_trail(connection, "racs")
        quality = data_quality(connection, load_plan(connection), NOW, "racs")
    assert len(everything) == 7
    render_rejected(everything).encode("utf-8")
    as_json(everything).encode("utf-8")
    # The agency's own: its signed bad event and the unreadable lines its own push sent.
    assert sorted(r["message"] for r in own) == sorted([
        "must be valid Unicode text (a lone surrogate \\udc00 was found)",
        "must be valid Unicode text (a lone surrogate \\ud800 was found)",
        'must be one of phone, email, web, text (got "fax")',
    ])
    assert not any(r["quarantined"] for r in own)
    assert [r["source"] for r in quarantine] == ["agency-events/0@2", "agency-events/0@3",
                                                 "agency-events/0@5"]
    assert any(r["event_id"] == "planted-x" for r in quarantine)
    assert all(r["quarantined"] for r in quarantine)
    planted = [r for r in trail if r["action"] == "quarantined"]
    assert len(planted) == 3 and {r["actor"] for r in planted} == {"unauthenticated"}
    # Its rejection rate counts only what it sent: 3 rejected of 5 sent, not 6 of 8.
    assert sum(r["events"] for r in quality) == 2
    assert max(r["rejection_rate"] or 0 for r in quality) == 0.6


def test_the_agency_page_lists_and_resubmits_only_its_own(home: Home) -> None:
    at = page("agency", "agency", "racs")
    assert not at.exception
    listed = at.dataframe[0].value
    assert "planted-x" not in set(listed["event_id"])
    assert "own-bad" in set(listed["event_id"])
    choices = at.selectbox(key="resubmit_pick").options
    assert not any("planted" in choice for choice in choices)


def test_the_administrator_sees_the_quarantine(home: Home) -> None:
    at = page("admin", "administrator")
    assert not at.exception
    quarantine = next(d.value for d in at.dataframe
                      if "source" in d.value.columns and "reason" in d.value.columns)
    assert "planted-x" in set(quarantine["event_id"])
    assert "own-bad" not in set(quarantine["event_id"])


def test_resubmitting_a_planted_rejection_is_refused_by_the_application(home: Home) -> None:
    app: Scorecard = home.open()
    with home.projected(app) as connection:
        planted = next(r for r in list_rejected(connection, "racs", "quarantine")
                       if r["event_id"] == "planted-x")
    with pytest.raises(CommandError):
        app.own_rejection(UUID(planted["id"]), "racs")


def test_the_agency_page_uploads_lines_with_lone_surrogates_without_a_traceback(
    home: Home,
) -> None:
    at = page("agency", "agency", "racs")
    at.file_uploader(key="return_upload").set_value((
        "hostile.jsonl",
        b'{"agency":"\\ud800"}\n'
        b'{"agency":"racs","event_id":"u-1","payload":{"note":"\\udfff"}}\n'
        + contract.canonical_bytes(event("helpline.contact", "u-2")) + b"\n",
        "application/jsonl")).run()
    assert not at.exception
    problems = upload_preview(at)
    assert problems[0] == ("[invalid] agency: must be valid Unicode text (a lone surrogate "
                           "\\ud800 was found)")
    assert problems[2] == "ok"
    at.button(key="submit_return").click().run()
    assert not at.exception
    assert "Submitted: 1 accepted, 0 duplicate, 2 rejected" in at.warning[-1].value
    rejected = at.dataframe[0].value  # the page then lists the agency's open rejections
    messages = dict(zip(rejected["field"], rejected["message"], strict=True))
    assert messages["agency"] == ("must be valid Unicode text (a lone surrogate \\ud800 was "
                                  "found)")
    assert messages["payload.note"].endswith("\\udfff was found)")


@pytest.mark.parametrize(("name", "content"), [
    # neither UTF-8 nor Windows-1252 (issue 16: a Windows-1252 CSV is read)
    ("return.csv", b"event_id,type\n\x81\x8d,helpline.contact\n"),
    ("return.csv", b""),
    ("return.xlsx", b"PK\x03\x04 not really a workbook"),
])
def test_an_unreadable_upload_is_named_not_a_traceback(home: Home, name: str,
                                                        content: bytes) -> None:
    at = page("agency", "agency", "racs")
    at.file_uploader(key="return_upload").set_value((name, content, "text/csv")).run()
    assert not at.exception
    assert at.error[0].value.startswith(  # the name as text, not Markdown
        f"{as_text(name)} cannot be read as JSON Lines, CSV or Excel: ")
