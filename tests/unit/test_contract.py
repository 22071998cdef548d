"""The contract's envelope and payload rules, field for field, with no coercion."""

from __future__ import annotations

import json
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from domain.contract import EVENT_TYPES, decode_message, parse_event
from domain.errors import InvalidEvent, UnknownType
from tests.support import VALID_PAYLOADS, event

LONDON = ZoneInfo("Europe/London")


@pytest.mark.parametrize("event_type", EVENT_TYPES)
def test_a_valid_event_of_every_type_parses(event_type: str) -> None:
    parsed = parse_event(event(event_type, "e-1"), LONDON)
    assert parsed.type == event_type
    assert parsed.payload == VALID_PAYLOADS[event_type]


def test_a_date_is_a_local_day_and_a_datetime_is_converted_to_it() -> None:
    late_evening_utc = parse_event(
        event("helpline.contact", "e-1", "2015-06-30T23:30:00+00:00"), LONDON)
    assert late_evening_utc.occurrence.day.isoformat() == "2015-07-01"  # BST
    winter = parse_event(event("helpline.contact", "e-2", "2015-12-31T23:30:00Z"), LONDON)
    assert winter.occurrence.day.isoformat() == "2015-12-31"


def _without(message: dict[str, Any], *path: str) -> dict[str, Any]:
    target = message
    for part in path[:-1]:
        target = target[part]
    del target[path[-1]]
    return message


def _with(message: dict[str, Any], value: Any, *path: str) -> dict[str, Any]:
    target = message
    for part in path[:-1]:
        target = target[part]
    target[path[-1]] = value
    return message


INVALID: list[tuple[str, dict[str, Any], str]] = [
    ("string for integer", _with(event("training.delivered", "e"), "5", "payload", "attendees"),
     "payload.attendees"),
    ("float for integer", _with(event("training.delivered", "e"), 5.0, "payload", "attendees"),
     "payload.attendees"),
    ("boolean for integer", _with(event("training.delivered", "e"), True, "payload", "attendees"),
     "payload.attendees"),
    ("integer above range", _with(event("training.delivered", "e"), 10001, "payload", "attendees"),
     "payload.attendees"),
    ("negative integer", _with(event("school.session_delivered", "e"), -1, "payload", "pupils"),
     "payload.pupils"),
    ("huge integer", _with(event("helpline.contact", "e"), 10**30, "payload", "response_minutes"),
     "payload.response_minutes"),
    ("integer for boolean", _with(event("helpline.contact", "e"), 1, "payload", "cse_related"),
     "payload.cse_related"),
    ("string for boolean", _with(event("referral.received", "e"), "false", "payload", "historic"),
     "payload.historic"),
    ("unknown enum value", _with(event("helpline.contact", "e"), "fax", "payload", "channel"),
     "payload.channel"),
    ("unknown payload field", _with(event("case.closed", "e"), "x", "payload", "name"),
     "payload.name"),
    ("unknown envelope field", _with(event("case.closed", "e"), "2015-01-01", "recorded_at"),
     "recorded_at"),
    ("missing payload field", _without(event("case.closed", "e"), "payload", "reason"),
     "payload.reason"),
    ("missing envelope field", _without(event("case.closed", "e"), "occurred_at"), "occurred_at"),
    ("naive date-time", _with(event("case.closed", "e"), "2015-10-01T10:00:00", "occurred_at"),
     "occurred_at"),
    ("date-time with a space", _with(event("case.closed", "e"), "2015-10-01 10:00:00+00:00",
                                     "occurred_at"), "occurred_at"),
    ("impossible date", _with(event("case.closed", "e"), "2015-02-30", "occurred_at"),
     "occurred_at"),
    ("schema version 2", _with(event("case.closed", "e"), 2, "schema_version"), "schema_version"),
    ("schema version as string", _with(event("case.closed", "e"), "1", "schema_version"),
     "schema_version"),
    ("event id too long", _with(event("case.closed", "e"), "x" * 65, "event_id"), "event_id"),
    ("event id with space", _with(event("case.closed", "e"), "a b", "event_id"), "event_id"),
    ("agency in capitals", _with(event("case.closed", "e"), "RACS", "agency"), "agency"),
    ("supersedes null", _with(event("case.closed", "e"), None, "supersedes"), "supersedes"),
    ("payload not an object", _with(event("case.closed", "e"), [], "payload"), "payload"),
    ("case reference too short", _with(event("case.closed", "e"), "C1", "payload", "case"),
     "payload.case"),
    ("case reference with a space", _with(event("case.closed", "e"), "Jane Doe", "payload",
                                          "case"), "payload.case"),
    ("five-digit URN", _with(event("school.session_delivered", "e"), "12345", "payload",
                             "school"), "payload.school"),
    ("URN as number", _with(event("school.session_delivered", "e"), 123456, "payload", "school"),
     "payload.school"),
    ("empty year groups", _with(event("school.session_delivered", "e"), [], "payload",
                                "year_groups"), "payload.year_groups"),
    ("unknown year group", _with(event("school.session_delivered", "e"), ["Y14"], "payload",
                                 "year_groups"), "payload.year_groups[0]"),
    ("repeated year group", _with(event("school.session_delivered", "e"), ["Y8", "Y8"],
                                  "payload", "year_groups"), "payload.year_groups"),
    ("note too long", _with(event("action.status_reported", "e"), "x" * 2001, "payload", "note"),
     "payload.note"),
    ("retraction reason too long", _with(event("event.retracted", "e"), "x" * 501, "payload",
                                         "reason"), "payload.reason"),
    ("action code with letters", _with(event("action.status_reported", "e"), "A.1", "payload",
                                       "action"), "payload.action"),
    ("evaluation returned above attendees",
     _with(event("training.delivered", "e"), 21, "payload", "evaluation", "returned"),
     "payload.evaluation.returned"),
    ("evaluation improved above returned",
     _with(event("training.delivered", "e"), 19, "payload", "evaluation",
           "improved_risk_understanding"), "payload.evaluation.improved_risk_understanding"),
    ("evaluation missing a count",
     _without(event("training.delivered", "e"), "payload", "evaluation", "returned"),
     "payload.evaluation.returned"),
]


@pytest.mark.parametrize(("case", "message", "field"), INVALID, ids=[c[0] for c in INVALID])
def test_invalid_values_are_rejected_naming_the_field(
    case: str, message: dict[str, Any], field: str
) -> None:
    with pytest.raises(InvalidEvent) as raised:
        parse_event(message, LONDON)
    assert raised.value.reason == "invalid"
    assert raised.value.field == field
    assert raised.value.message


@pytest.mark.parametrize(("field", "path", "value"), [
    ("event_id", ("event_id",), "b9\n"), ("agency", ("agency",), "racs\n"),
    ("payload.case", ("payload", "case"), "ABC-1\n"),
    ("payload.school", ("payload", "school"), "123456\n"),
    ("payload.action", ("payload", "action"), "4.2.1\n"),
    ("supersedes", ("supersedes",), "e\n")])
def test_a_trailing_newline_is_not_part_of_any_code(field: str, path: tuple[str, ...],
                                                    value: str) -> None:
    """``$`` in a pattern matches before a final newline: "123456\n" was a second school
    and "b9\n" a second idempotency key."""
    kind = {"payload.school": "school.session_delivered",
            "payload.action": "action.status_reported"}.get(field, "referral.received")
    with pytest.raises(InvalidEvent) as raised:
        parse_event(_with(event(kind, "e"), value, *path), LONDON)
    assert (raised.value.reason, raised.value.field) == ("invalid", field)


@pytest.mark.parametrize("when", ["2015-02-30", "2015-10-01T10:00:00+25:00",
                                  "2015-10-01T24:00:00Z"])
def test_a_date_of_the_right_shape_that_does_not_exist_names_the_rule(when: str) -> None:
    with pytest.raises(InvalidEvent) as raised:
        parse_event(_with(event("case.closed", "e"), when, "occurred_at"), LONDON)
    assert raised.value.field == "occurred_at"
    assert "must be an ISO 8601 date" in raised.value.message
    assert "timedelta" not in raised.value.message and "isoformat" not in raised.value.message


@pytest.mark.parametrize("name", ["case.reopened", "x" * 101, "t" * 5000])
def test_an_unknown_type_has_its_own_reason(name: str) -> None:
    """Any string that is not a v1 type, however long; a type that is not a string is
    a wrong field."""
    message = event("case.closed", "e")
    message["type"] = name
    with pytest.raises(UnknownType) as raised:
        parse_event(message, LONDON)
    assert raised.value.reason == "unknown_type"
    assert raised.value.field == "type"
    message["type"] = 5
    with pytest.raises(InvalidEvent) as invalid:
        parse_event(message, LONDON)
    assert invalid.value.field == "type"


@pytest.mark.parametrize(
    ("raw", "words"),
    [
        (b"{not json", "malformed JSON"),
        (b"[1, 2]", "one JSON object"),
        (b'{"a": 1, "a": 2}', "duplicate key"),
        (b'{"a": NaN}', "NaN"),
        (b'{"a": "\xff\xfe"}', "UTF-8"),
        (b"[" * 100_000 + b"]" * 100_000, "bytes"),
        (b'{"a":' * 5000 + b"1" + b"}" * 5000, "nested"),
        (b'{"n": ' + b"9" * 5000 + b"}", "malformed JSON"),
    ],
    ids=["malformed", "array", "duplicate-key", "nan", "bad-utf8", "oversized", "deep", "bigint"],
)
def test_undecodable_messages_are_invalid_with_a_reason(raw: bytes, words: str) -> None:
    with pytest.raises(InvalidEvent) as raised:
        decode_message(raw)
    assert words in raised.value.message


def test_fingerprint_ignores_key_order_and_signature() -> None:
    message = event("helpline.contact", "e-1")
    reordered = json.loads(json.dumps(dict(reversed(list(message.items())))))
    assert parse_event(message, LONDON).fingerprint == parse_event(reordered, LONDON).fingerprint


def test_every_field_problem_of_a_row_is_listed_and_the_rejection_s_among_them() -> None:
    """A volunteer's row with three mistakes was named for the first only, so it was
    corrected and rejected three times over."""
    from domain.contract import field_problems

    row = event("referral.received", "e")
    row["payload"].update(source="GP", client="adult", historic="yes")
    assert [p.field for p in field_problems(row, LONDON)] == [
        "payload.source", "payload.client", "payload.historic"]
    assert field_problems(event("referral.received", "e"), LONDON) == []
    for case, message, field in INVALID:  # the one a rejection names is always listed
        if case.startswith("evaluation") and "missing" not in case:
            continue  # a rule between fields (each count within the one before it)
        assert field in [p.field for p in field_problems(message, LONDON)], case


@pytest.mark.parametrize("hostile", [
    {"payload": [1, 2]}, {"payload": {"case": {"a": {"b": {"c": [[[]]]}}}}},
    {"event_id": "\ud800", "payload": {"case": "\udfff" * 3}},
    {"type": "x" * 70_000, "occurred_at": "9" * 10_000},
    {"payload": {"evaluation": "not an object", "attendees": 10**40}},
    {"payload": None, "type": None, "occurred_at": 20151001, "supersedes": ["a"]},
])
def test_listing_every_field_problem_survives_hostile_rows(hostile: dict[str, Any]) -> None:
    """The preview lists a row's problems before anything is submitted: whatever the row
    holds, the list is made (each problem naming its field), never an exception."""
    from domain.contract import field_problems

    message = event("training.delivered", "e")
    for name, value in hostile.items():
        if name == "payload" and isinstance(value, dict):
            message["payload"].update(value)
        else:
            message[name] = value
    problems = field_problems(message, LONDON)
    assert problems and all(isinstance(p, InvalidEvent) and p.field for p in problems)
    assert all(len(str(p)) < 2_500 for p in problems)  # bounded, however long the input
