"""Hostile messages: each is decided and kept, none stops the batch (issue 12, item 1),
and a rejection that does not prove its sender is quarantined, never the agency's own
(issue 12, item 2)."""

from __future__ import annotations

import functools
import hashlib
import json
from datetime import UTC, datetime
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from domain import contract, signing
from domain.application import Delivery, Scorecard
from domain.errors import CommandError, InvalidEvent
from domain.model import Rejection, sent_by_producer
from ingest.file_push import file_line_delivery
from ingest.kafka_messages import UNKNOWN_PRODUCER, Headers, kafka_delivery, readable_headers
from tests.support import event, memory_app, reasons, register, submit

NOW = datetime(2015, 11, 1, 9, 0, tzinfo=UTC)


@pytest.mark.parametrize(("raw", "field"), [
    (b'{"agency":"\\ud800"}', "agency"),
    (b'{"event_id":"ok","agency":"racs\\udfff"}', "agency"),
    (b'{"event_id":"\\udc00-1","agency":"racs"}', "event_id"),
    (b'{"agency":"racs","payload":{"note":"fine \\ud83d then"}}', "payload.note"),
    (b'{"agency":"racs","payload":{"year_groups":["Y8","\\ud800"]}}',
     "payload.year_groups[1]"),
    (b'{"agency":"racs","payload":{"\\ud800x":1}}', "payload.\\ud800x"),
    (b'{"agency":"racs","payload":{"evaluation":{"a":[{"b":"\\uDBFF"}]}}}',
     "payload.evaluation.a[0].b"),
])
def test_a_lone_surrogate_anywhere_is_invalid_and_named_by_its_path(raw: bytes,
                                                                     field: str) -> None:
    with pytest.raises(InvalidEvent) as raised:
        contract.decode_message(raw)
    assert raised.value.field == field
    assert "must be valid Unicode text" in raised.value.message \
        or "field name that is not valid Unicode text" in raised.value.message
    assert "lone surrogate \\u" in raised.value.message
    str(raised.value).encode("utf-8")  # what is kept and shown can always be encoded


def test_a_paired_surrogate_escape_is_ordinary_text() -> None:
    decoded = contract.decode_message(b'{"agency":"racs","note":"\\ud83d\\ude00"}')
    assert decoded["note"] == "\U0001F600"


def test_deep_nesting_is_refused_before_anything_recurses_on_it() -> None:
    deep = b'{"agency":"racs","payload":' + b"[" * 40 + b"]" * 40 + b"}"
    with pytest.raises(InvalidEvent) as raised:
        contract.decode_message(deep)
    assert "nested too deeply" in raised.value.message


def test_a_non_ascii_signature_is_simply_wrong() -> None:
    key = signing.new_key()
    assert not signing.verifies(key, b"x", "v1=\u00e9\u00e9")


def _kafka(key: bytes | None, value: bytes | None, headers: Headers | None = None,
           offset: int = 0) -> Delivery:
    return kafka_delivery(partition=0, offset=offset, key=key, value=value,
                          headers=headers, received_at=NOW)


def _value(message: dict[str, Any]) -> bytes:
    return contract.canonical_bytes(message)


HOSTILE: dict[str, tuple[bytes | None, bytes | None, list[tuple[str, Any]]]] = {
    "surrogate agency": (b"racs", b'{"agency":"\\ud800"}', [("signature", b"v1=00")]),
    "surrogate event id": (b"racs", b'{"agency":"racs","event_id":"\\udc00"}', []),
    "surrogate in a payload string": (
        b"racs", _value(event("action.status_reported", "s-1")).replace(
            b'"Commissioned."', b'"\\ud800"'), []),
    "invalid UTF-8": (b"racs", b'{"agency":"\xff\xfe"}', []),
    "null value": (b"racs", None, []),
    "empty value": (b"racs", b"", []),
    "not an object": (b"racs", b"[1, 2]", []),
    "oversize": (b"racs", b'{"agency":"' + b"x" * 70_000 + b'"}', []),
    "deep nesting": (b"racs", b"[" * 5000 + b"]" * 5000, []),
    "non-UTF-8 header": (b"racs", _value(event("helpline.contact", "h-hdr")),
                         [("signature", b"\xff\xfe\xfd")]),
    "non-ASCII signature": (b"racs", _value(event("helpline.contact", "h-sig")),
                            [("signature", "v1=\u00e9".encode())]),
    "null key": (None, _value(event("helpline.contact", "h-nokey")), []),
    "key naming no agency": (b"not an agency!", _value(event("helpline.contact", "h-x")), []),
    "non-UTF-8 key": (b"\xff", _value(event("helpline.contact", "h-y")), []),
    "garbage signature": (b"racs", _value(event("helpline.contact", "h-z")),
                          [("signature", b"v1=" + b"0" * 64)]),
}


def test_every_hostile_kafka_message_is_decided_kept_and_quarantined() -> None:
    app = memory_app()
    key = register(app)
    valid = _value(event("helpline.contact", "h-ok"))
    deliveries = [_kafka(k, v, h, offset=n) for n, (k, v, h) in enumerate(HOSTILE.values())]
    deliveries.append(_kafka(b"racs", valid, [("signature", signing.sign(key, valid))],
                             offset=len(deliveries)))

    outcomes = app.submit(deliveries)  # one batch: the good one behind them gets through

    assert reasons(outcomes)[-1] == "accepted"
    for name, outcome in zip(HOSTILE, outcomes, strict=False):
        assert outcome.rejection is not None, name
        assert outcome.rejection.reason in ("invalid", "unauthenticated"), name
        str(outcome.rejection).encode("utf-8")
    for delivery in deliveries[:-1]:
        kept = _kept(app, delivery, authenticated=False)
        assert kept.quarantined
        with pytest.raises(CommandError):
            app.own_rejection(kept.id, "racs")
    assert _kept(app, deliveries[6], authenticated=False).producer == "racs"
    assert _kept(app, deliveries[11], authenticated=False).producer == UNKNOWN_PRODUCER


def _kept(app: Scorecard, delivery: Delivery, *, authenticated: bool) -> Rejection:
    found: Any = app.repository.get(Rejection.create_id(
        delivery.producer, hashlib.sha256(delivery.raw).hexdigest(), authenticated))
    assert isinstance(found, Rejection)
    return found


def test_a_planted_message_is_quarantined_and_cannot_be_resubmitted_by_the_agency() -> None:
    app = memory_app()
    key = register(app)
    retraction = _value(event("event.retracted", "x-1", target="h-1"))
    planted = _kafka(b"racs", retraction, [("signature", b"v1=" + b"ab" * 32)])
    (outcome,) = app.submit([planted])
    assert outcome.rejection is not None and outcome.rejection.reason == "unauthenticated"
    kept = _kept(app, planted, authenticated=False)
    assert kept.quarantined and kept.producer == "racs"
    with pytest.raises(CommandError, match="not one that racs sent itself"):
        app.own_rejection(kept.id, "racs")

    # The agency's own bad message, signed with its key, is its own to correct...
    own = _value(event("helpline.contact", "h-2", channel="fax"))
    mine = _kafka(b"racs", own, [("signature", signing.sign(key, own))])
    app.submit([mine])
    assert app.own_rejection(_kept(app, mine, authenticated=True).id, "racs").event_id == "h-2"
    # ...but not another agency's.
    register(app, "grow")
    with pytest.raises(CommandError):
        app.own_rejection(_kept(app, mine, authenticated=True).id, "grow")


def test_a_planted_copy_cannot_hide_the_agency_s_own_rejection() -> None:
    app = memory_app()
    key = register(app)
    value = _value(event("helpline.contact", "h-3", channel="fax"))
    app.submit([_kafka(b"racs", value, [("signature", b"v1=00")])])  # planted first
    mine = _kafka(b"racs", value, [("signature", signing.sign(key, value))], offset=1)
    app.submit([mine])
    assert not _kept(app, mine, authenticated=True).quarantined


def test_a_file_line_is_the_agency_s_own_only_when_the_pusher_holds_its_key() -> None:
    app = memory_app()
    key = register(app)
    unreadable = b'{"agency":"racs","event_id":"\\ud800"}'
    (own,) = submit(app, key, unreadable)
    (stranger,) = submit(app, "0" * 64, unreadable, verified=False)
    assert reasons([own, stranger]) == ["invalid", "invalid"]
    kept: dict[bool, Any] = {authenticated: app.repository.get(Rejection.create_id(
        "racs", hashlib.sha256(unreadable).hexdigest(), authenticated))
        for authenticated in (True, False)}
    assert not kept[True].quarantined and kept[False].quarantined


def test_a_line_with_a_wrong_signature_is_quarantined_even_from_the_agency_s_push() -> None:
    app = memory_app()
    key = register(app)
    line = json.dumps({**event("helpline.contact", "h-4"), "signature": "v1=" + "0" * 64})
    delivery = file_line_delivery(line.encode(), producer="racs", key=key,
                                  producer_verified=True, received_at=NOW, backfill=False,
                                  source="t:1")
    (outcome,) = app.submit([delivery])
    assert outcome.rejection is not None and outcome.rejection.reason == "unauthenticated"
    assert _kept(app, delivery, authenticated=False).quarantined


def test_headers_the_client_cannot_read_make_the_message_invalid_not_a_crash() -> None:
    def unreadable() -> Headers:
        raise UnicodeDecodeError("utf-8", b"\xff", 0, 1, "invalid start byte")

    headers, problem = readable_headers(unreadable)
    assert headers is None and problem is not None and "UnicodeDecodeError" in problem
    delivery = kafka_delivery(partition=0, offset=0, key=b"racs", value=b"{}", headers=headers,
                              received_at=NOW, unreadable=problem)
    app = memory_app()
    register(app)
    (outcome,) = app.submit([delivery])
    assert outcome.rejection is not None
    assert outcome.rejection.message.startswith("the message cannot be read: its headers: ")


def test_a_rejection_kept_before_quarantine_existed_is_judged_by_its_reason() -> None:
    # Only reasons that follow a verified signature stay the agency's own on upgrade.
    assert sent_by_producer(None, "future") and sent_by_producer(None, "bad_reference")
    assert not sent_by_producer(None, "invalid")
    assert not sent_by_producer(None, "unauthenticated")
    assert not sent_by_producer(None, "unknown_agency")
    assert sent_by_producer(True, "invalid") and not sent_by_producer(False, "future")


LONE_SURROGATES = st.integers(0xD800, 0xDFFF).map(chr)
HOSTILE_TEXT = st.text(st.one_of(st.characters(), LONE_SURROGATES), max_size=12)
JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers() | HOSTILE_TEXT,
    lambda children: st.lists(children, max_size=4)
    | st.dictionaries(HOSTILE_TEXT, children, max_size=4),
    max_leaves=12,
)


@settings(max_examples=150, deadline=None)
@given(st.dictionaries(HOSTILE_TEXT, JSON_VALUES, max_size=6))
def test_a_decoded_message_always_encodes_again(document: dict[str, Any]) -> None:
    raw = json.dumps(document).encode("ascii")  # escapes, lone surrogates included
    try:
        decoded = contract.decode_message(raw)
    except InvalidEvent as rejected:
        assert str(rejected).encode("utf-8")  # a reason that can be stored and shown
        return
    assert json.loads(contract.canonical_bytes(decoded)) == decoded  # encodes, same value
    assert len(contract.fingerprint(decoded)) == 64


@settings(max_examples=200, deadline=None)
@given(key=st.none() | st.binary(max_size=12), value=st.none() | st.binary(max_size=200)
       | st.dictionaries(HOSTILE_TEXT, JSON_VALUES, max_size=6).map(
           lambda d: json.dumps(d).encode()),
       headers=st.lists(st.tuples(st.text(max_size=10), st.none() | st.binary(max_size=70)),
                        max_size=3))
def test_any_kafka_message_is_decided_and_kept(key: bytes | None, value: bytes | None,
                                               headers: list[tuple[str, Any]]) -> None:
    (outcome,) = _shared_app().submit([_kafka(key, value, headers)])
    assert outcome.rejection is not None
    str(outcome.rejection).encode("utf-8")


@functools.cache
def _shared_app() -> Scorecard:
    """One application for every generated message (each is rejected: none changes what
    the next one meets but the kept rejections)."""
    app = memory_app()
    register(app)
    return app
