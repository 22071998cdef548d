"""Every rule of the contract's section 3, decided by the domain on every event store.

Each test runs on in-memory persistence, on a SQLite file and on a throwaway PostgreSQL
database (``event_store_env`` in ``tests/conftest.py``): the contract holds on all three.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Iterator
from datetime import timedelta

import pytest

from domain import signing
from domain.application import Scorecard
from domain.contract import canonical_bytes
from domain.errors import CommandError
from domain.plan import Action
from tests.support import RECEIVED, event, memory_app, reasons, register, signed, submit


@pytest.fixture
def app(event_store_env: dict[str, str]) -> Iterator[Scorecard]:
    scorecard = memory_app(event_store_env)
    yield scorecard
    scorecard.close()


@pytest.fixture
def key(app: Scorecard) -> str:
    return register(app, "racs")


def lead_action(app: Scorecard) -> Action:
    return app.plan.actions[0]


def test_a_valid_event_is_accepted_and_an_identical_copy_is_a_duplicate(
    app: Scorecard, key: str
) -> None:
    contact = event("helpline.contact", "h-1")
    assert reasons(submit(app, key, contact, contact)) == ["accepted", "duplicate"]
    assert reasons(submit(app, key, contact)) == ["duplicate"]


def test_same_event_id_with_different_content_is_a_conflict(app: Scorecard, key: str) -> None:
    submit(app, key, event("helpline.contact", "h-1"))
    outcomes = submit(app, key, event("helpline.contact", "h-1", channel="email"))
    assert reasons(outcomes) == ["event_id_conflict"]
    assert outcomes[0].rejection is not None and outcomes[0].rejection.field == "event_id"


def test_invalid_and_unknown_type(app: Scorecard, key: str) -> None:
    unknown = event("helpline.contact", "h-2")
    unknown["type"] = "helpline.call"
    assert reasons(submit(app, key, b"{oops", event("helpline.contact", "h-1", channel="fax"),
                          unknown)) == ["invalid", "invalid", "unknown_type"]


def test_producer_must_be_the_agency_and_signatures_must_verify(
    app: Scorecard, key: str
) -> None:
    other_key = register(app, "grow")
    forged = event("helpline.contact", "h-1", agency="grow")
    assert reasons(submit(app, key, forged)) == ["unauthenticated"]  # racs claims to be grow
    wrongly_signed = signed(event("helpline.contact", "h-2"), other_key)
    assert reasons(submit(app, key, wrongly_signed)) == ["unauthenticated"]
    tampered = signed(event("helpline.contact", "h-3"), key)
    tampered["payload"]["cse_related"] = False
    assert reasons(submit(app, key, tampered)) == ["unauthenticated"]
    wrong_key = submit(app, "0" * 64, event("helpline.contact", "h-4"), verified=False)
    assert reasons(wrong_key) == ["unauthenticated"]
    assert wrong_key[0].rejection is not None and wrong_key[0].rejection.field == "signature"
    assert reasons(submit(app, key, signed(event("helpline.contact", "h-5"), key))) == ["accepted"]


def test_a_signature_by_the_raw_key_bytes_also_verifies(app: Scorecard, key: str) -> None:
    message = event("helpline.contact", "h-1")
    raw_signature = "v1=" + hmac.new(bytes.fromhex(key), canonical_bytes(message),
                                     hashlib.sha256).hexdigest()
    assert reasons(submit(app, key, {**message, "signature": raw_signature})) == ["accepted"]
    assert signing.verifies(key, b"x", signing.sign(key, b"x"))
    assert not signing.verifies(key, b"x", signing.sign(key, b"y"))


def test_unregistered_and_suspended_agencies(app: Scorecard, key: str) -> None:
    stranger = event("helpline.contact", "h-1", agency="nobody")
    assert reasons(submit(app, key, stranger, producer="nobody")) == ["unknown_agency"]
    app.set_suspended("racs", True, by="test")
    assert reasons(submit(app, key, event("helpline.contact", "h-2"))) == ["unknown_agency"]
    app.set_suspended("racs", False, by="test")
    assert reasons(submit(app, key, event("helpline.contact", "h-2"))) == ["accepted"]


def test_types_not_permitted_for_the_agency(app: Scorecard) -> None:
    key = register(app, "grow", types=["referral.received", "case.closed"])
    outcomes = submit(app, key, event("helpline.contact", "h-1", agency="grow"), producer="grow")
    assert reasons(outcomes) == ["not_permitted"]


def test_an_event_from_the_future(app: Scorecard, key: str) -> None:
    soon = (RECEIVED + timedelta(minutes=4)).isoformat()
    later = (RECEIVED + timedelta(minutes=6)).isoformat()
    tomorrow = (RECEIVED + timedelta(days=1)).date().isoformat()
    assert reasons(submit(app, key, event("helpline.contact", "h-1", soon),
                          event("helpline.contact", "h-2", later),
                          event("helpline.contact", "h-3", tomorrow))) == [
        "accepted", "future", "future"]


def test_case_rules_and_re_referral(app: Scorecard, key: str) -> None:
    refer = event("referral.received", "r-1", "2015-06-01", case="C-100")
    close_before = event("case.closed", "c-0", "2015-05-01", case="C-100")
    close = event("case.closed", "c-1", "2015-07-01", case="C-100")
    close_again = event("case.closed", "c-2", "2015-07-02", case="C-100")
    never = event("case.closed", "c-3", "2015-07-01", case="C-999")
    refer_open = event("referral.received", "r-2", "2015-06-15", case="C-100")
    re_refer_early = event("referral.received", "r-3", "2015-06-20", case="C-100")
    re_refer = event("referral.received", "r-4", "2015-08-01", case="C-100")
    assert reasons(submit(app, key, refer, close_before, refer_open, close, close_again, never,
                          re_refer_early, re_refer)) == [
        "accepted", "out_of_order", "case_already_open", "accepted", "no_open_case",
        "no_open_case", "out_of_order", "accepted"]


def test_action_status_only_for_plan_actions_the_agency_leads(app: Scorecard) -> None:
    action = lead_action(app)
    lead_key = register(app, action.lead)
    other = next(a.code for a in app.plan.agencies if a.code != action.lead)
    other_key = register(app, other)
    assert reasons(submit(app, lead_key, event("action.status_reported", "s-1", agency=action.lead,
                                               action=action.code), producer=action.lead)) == [
        "accepted"]
    assert reasons(submit(app, lead_key, event("action.status_reported", "s-2", agency=action.lead,
                                               action="99.9"), producer=action.lead)) == [
        "unknown_action"]
    assert reasons(submit(app, other_key, event("action.status_reported", "s-3", agency=other,
                                                action=action.code), producer=other)) == [
        "unknown_action"]


def test_supersession_references(app: Scorecard, key: str) -> None:
    original = event("helpline.contact", "h-1")
    correction = event("helpline.contact", "h-2", supersedes="h-1", outcome="advice")
    again = event("helpline.contact", "h-3", supersedes="h-1")
    missing = event("helpline.contact", "h-4", supersedes="nope")
    other_type = event("training.delivered", "t-1", supersedes="h-2")
    assert reasons(submit(app, key, original, correction, again, missing, other_type)) == [
        "accepted", "accepted", "bad_reference", "bad_reference", "bad_reference"]


def test_a_superseding_case_event_must_keep_its_case(app: Scorecard, key: str) -> None:
    submit(app, key, event("referral.received", "r-1", case="C-1"))
    outcomes = submit(app, key, event("referral.received", "r-2", case="C-2", supersedes="r-1"),
                      event("referral.received", "r-3", "2015-09-01", case="C-1",
                            supersedes="r-1"))
    assert reasons(outcomes) == ["bad_reference", "accepted"]


def test_retraction_references(app: Scorecard, key: str) -> None:
    submit(app, key, event("helpline.contact", "h-1"), event("referral.received", "r-1",
                                                                 "2015-06-01", case="C-1"),
           event("case.closed", "c-1", "2015-07-01", case="C-1"))
    outcomes = submit(
        app, key,
        event("event.retracted", "x-1", target="h-1"),
        event("event.retracted", "x-2", target="h-1"),  # already retracted
        event("event.retracted", "x-3", target="zzz"),  # never accepted
        event("event.retracted", "x-4", target="r-1"),  # its closure still stands
        event("event.retracted", "x-5", target="x-1"),  # a retraction
        event("event.retracted", "x-6", target="c-1"),
        event("event.retracted", "x-7", target="r-1"),  # now nothing stands after it
    )
    assert reasons(outcomes) == ["accepted", "bad_reference", "bad_reference", "bad_reference",
                                 "bad_reference", "accepted", "accepted"]
    # With its referral withdrawn, the case can be referred afresh.
    assert reasons(submit(app, key, event("referral.received", "r-2", case="C-1"))) == [
        "accepted"]


def test_a_rejected_batch_member_changes_nothing_and_is_kept_once(
    app: Scorecard, key: str
) -> None:
    bad = event("case.closed", "c-1", case="C-404")
    assert reasons(submit(app, key, bad)) == ["no_open_case"]
    assert reasons(submit(app, key, bad)) == ["no_open_case"]
    topics = [n.topic for n in app.recorder.select_notifications(start=None, limit=100)]
    assert sum(t.endswith("Rejection.Recorded") for t in topics) == 1
    assert not any("Case" in t for t in topics)


def test_registration_rules(app: Scorecard, key: str) -> None:
    with pytest.raises(CommandError, match="already registered"):
        register(app, "racs")
    with pytest.raises(CommandError, match="unknown event types"):
        register(app, "new-one", types=["helpline.call"])
    with pytest.raises(CommandError, match="agency code"):
        register(app, "Bad Code")
