"""A generator of labelled push lines: valid events and events with one known defect.

The label is the oracle: what the contract says must become of the line, derived from
how the line was built, not from the parser under test.
"""

from __future__ import annotations

import json
import random
from collections.abc import Callable, Iterator
from dataclasses import dataclass, replace
from typing import Any

from domain import signing
from domain.contract import canonical_bytes
from tests.support import event

AGENCY = "fuzz-agency"
TYPES_WITHOUT_STATE = ("training.delivered", "school.session_delivered", "helpline.contact")


def _valid_payload(rng: random.Random, event_type: str) -> dict[str, Any]:
    if event_type == "training.delivered":
        attendees = rng.randint(0, 10000)
        payload: dict[str, Any] = {
            "course": rng.choice(["cse-l1", "cse-l2", "awareness"]),
            "audience": rng.choice(["workforce", "community", "trainer"]),
            "attendees": attendees,
        }
        if rng.random() < 0.5:
            returned = rng.randint(0, attendees)
            payload["evaluation"] = {"returned": returned,
                                     "improved_risk_understanding": rng.randint(0, returned),
                                     "improved_action_understanding": rng.randint(0, returned)}
        return payload
    if event_type == "school.session_delivered":
        years = rng.sample(["R", *(f"Y{n}" for n in range(1, 14))], rng.randint(1, 3))
        return {"school": f"{rng.randint(0, 999999):06d}", "programme": "chelseas-choice",
                "year_groups": years, "pupils": rng.randint(0, 2000),
                "format": rng.choice(["lesson", "performance", "workshop", "assembly",
                                      "parents"])}
    return {"channel": rng.choice(["phone", "email", "web", "text"]),
            "cse_related": rng.random() < 0.5, "in_area": rng.random() < 0.5,
            "outcome": rng.choice(["advice", "enquiry_response", "referral", "signpost",
                                   "none"]),
            "response_minutes": rng.randint(0, 100000)}


Mutation = Callable[[random.Random, dict[str, Any]], tuple[Any, str]]


def _wrong_type(rng: random.Random, message: dict[str, Any]) -> tuple[Any, str]:
    payload = message["payload"]
    name = rng.choice(sorted(payload))
    value = payload[name]
    payload[name] = (str(value) if not isinstance(value, str) else rng.choice([5, True, None,
                                                                              [value]]))
    if isinstance(value, bool):
        payload[name] = rng.choice([1, 0, "true"])
    elif isinstance(value, int):
        payload[name] = rng.choice([str(value), float(value) + 0.5, 10**40, -1 - value])
    return message, "invalid"


def _missing(rng: random.Random, message: dict[str, Any]) -> tuple[Any, str]:
    if rng.random() < 0.5:
        del message[rng.choice(["event_id", "type", "schema_version", "occurred_at",
                                "payload"])]
    else:
        required = [k for k in message["payload"] if k != "evaluation"]
        del message["payload"][rng.choice(required)]
    return message, "invalid"


def _unknown_field(rng: random.Random, message: dict[str, Any]) -> tuple[Any, str]:
    target = message if rng.random() < 0.5 else message["payload"]
    target[rng.choice(["name", "recorded_at", "extra", "child_name"])] = "x"
    return message, "invalid"


def _bad_time(rng: random.Random, message: dict[str, Any]) -> tuple[Any, str]:
    message["occurred_at"] = rng.choice(["2015-10-01T10:00:00", "2015-13-01", "01/10/2015",
                                         "2015-10-01 10:00:00+00:00", "", "2015-02-30"])
    return message, "invalid"


def _unknown_type(rng: random.Random, message: dict[str, Any]) -> tuple[Any, str]:
    message["type"] = rng.choice(["case.reopened", "helpline.call", "x"])
    return message, "unknown_type"


def _future(rng: random.Random, message: dict[str, Any]) -> tuple[Any, str]:
    message["occurred_at"] = "2099-01-01"
    return message, "future"


MUTATIONS: tuple[Mutation, ...] = (_wrong_type, _missing, _unknown_field, _bad_time,
                                   _unknown_type, _future)
RAW_GARBAGE = (
    lambda rng: bytes(rng.randrange(256) for _ in range(rng.randint(1, 200))),
    lambda rng: b'{"event_id": "\xff\xfe"}',
    lambda rng: b"[" * 2000 + b"]" * 2000,
    lambda rng: b'{"a":' * 3000 + b"1" + b"}" * 3000,
    lambda rng: b'{"event_id": "' + b"x" * 70_000 + b'"}',
    lambda rng: b'{"n": ' + b"9" * 6000 + b"}",
    lambda rng: b"null",
    lambda rng: b'{"x": NaN}',
)


def labelled_lines(seed: int, count: int, key: str) -> Iterator[tuple[bytes, str]]:
    """``count`` lines for agency ``AGENCY``, each with what must become of it:
    ``accepted``, ``duplicate``, or the rejection reason (``rejected`` for garbage,
    whose reason the contract leaves to the parser, as long as it is rejected)."""
    rng = random.Random(seed)
    accepted: list[tuple[bytes, dict[str, Any]]] = []
    for n in range(count):
        roll = rng.random()
        if roll < 0.05 and accepted:
            line, _ = rng.choice(accepted)
            yield line, "duplicate"
            continue
        if roll < 0.08 and accepted:
            _, original = rng.choice(accepted)
            conflicting = json.loads(json.dumps(original))
            conflicting["occurred_at"] = "2014-01-01" if original["occurred_at"] != \
                "2014-01-01" else "2014-01-02"
            yield _signed_line(conflicting, key), "event_id_conflict"
            continue
        if roll < 0.12:
            garbage = rng.choice(RAW_GARBAGE)(rng).replace(b"\n", b" ").replace(b"\r", b" ")
            yield b"#" + garbage, "rejected"  # never blank: blank lines are skipped
            continue
        event_type = rng.choice(TYPES_WITHOUT_STATE)
        message = event(event_type, f"fz-{seed}-{n}", f"2015-{rng.randint(1, 12):02d}-"
                        f"{rng.randint(1, 28):02d}", agency=AGENCY)
        message["payload"] = _valid_payload(rng, event_type)
        if roll < 0.16:
            line = _signed_line(message, "0" * 64)
            yield line, "unauthenticated"
            continue
        if roll < 0.35:
            mutated, reason = rng.choice(MUTATIONS)(rng, message)
            yield _signed_line(mutated, key), reason
            continue
        line = _signed_line(message, key)
        accepted.append((line, message))
        yield line, "accepted"


def _signed_line(message: dict[str, Any], key: str) -> bytes:
    signature = signing.sign(key, canonical_bytes(message))
    return json.dumps({**message, "signature": signature}).encode("utf-8")


# Kafka messages -------------------------------------------------------------------------

KafkaHeaders = list[tuple[str, str | bytes | None]]


@dataclass(frozen=True)
class KafkaCase:
    """One generated Kafka message and what must become of it: ``accepted``,
    ``duplicate``, ``own`` (a rejection listed as the agency's own: it was signed with the
    agency's key) or ``quarantine`` (a rejection that proves no sender)."""

    key: bytes | None
    value: bytes | None
    headers: KafkaHeaders
    expected: str


def _random_bytes(rng: random.Random, most: int) -> bytes:
    return bytes(rng.randrange(256) for _ in range(rng.randint(0, most)))


def _random_name(rng: random.Random) -> str:
    """A header name: any text a client can send (no lone surrogates: they cannot be)."""
    return "".join(chr(rng.choice([rng.randint(32, 126), rng.randint(0xA0, 0xD7FF),
                                   rng.randint(0xE000, 0x10FFFF)]))
                   for _ in range(rng.randint(0, 12)))


def _random_headers(rng: random.Random) -> KafkaHeaders:
    headers: KafkaHeaders = []
    for _ in range(rng.randint(0, 3)):
        name = "signature" if rng.random() < 0.5 else _random_name(rng)
        headers.append((name, None if rng.random() < 0.1 else _random_bytes(rng, 80)))
    return headers


def _surrogate(rng: random.Random, message: dict[str, Any]) -> bytes:
    """The event's JSON with a lone surrogate escape in one of its strings or keys."""
    escape = f"\\u{rng.randint(0xD800, 0xDFFF):04x}".encode()
    value = canonical_bytes(message)
    target = rng.choice([b'"' + message["agency"].encode() + b'"',
                         b'"' + message["event_id"].encode() + b'"', b'"channel"',
                         b'"phone"', b'"email"', b'"web"', b'"text"', b'"payload"'])
    if target not in value:
        target = b'"payload"'
    return value.replace(target, target[:-1] + escape + b'"', 1)


def kafka_cases(seed: int, count: int, keys: dict[str, str]) -> Iterator[KafkaCase]:
    """``count`` messages: about a third valid signed events of the agencies in ``keys``
    (some sent twice), the rest hostile, of every class a producer could send."""
    rng = random.Random(seed)
    agencies = sorted(keys)
    sent: list[KafkaCase] = []

    def valid_event(n: int) -> tuple[str, dict[str, Any]]:
        agency = rng.choice(agencies)
        message = event("helpline.contact", f"kz-{seed}-{n}",
                        f"2015-{rng.randint(1, 12):02d}-{rng.randint(1, 28):02d}",
                        agency=agency)
        message["payload"] = _valid_payload(rng, "helpline.contact")
        return agency, message

    def signed_headers(agency: str, value: bytes) -> KafkaHeaders:
        return [("signature", signing.sign(keys[agency], value).encode())]

    for n in range(count):
        roll = rng.random()
        agency, message = valid_event(n)
        value = canonical_bytes(message)
        key = agency.encode()
        if roll < 0.30:
            case = KafkaCase(key, value, signed_headers(agency, value), "accepted")
            sent.append(case)
            yield case
            continue
        if roll < 0.33 and sent:
            yield replace(rng.choice(sent), expected="duplicate")
            continue
        hostile = rng.randrange(16)
        if hostile == 0:  # arbitrary bytes everywhere
            yield KafkaCase(rng.choice([None, _random_bytes(rng, 20), key]),
                            _random_bytes(rng, 300), _random_headers(rng), "quarantine")
        elif hostile == 1:  # a lone surrogate, with a signature that cannot verify
            yield KafkaCase(key, _surrogate(rng, message), _random_headers(rng), "quarantine")
        elif hostile == 2:  # a lone surrogate, signed by the agency itself: its own mistake
            bad = _surrogate(rng, message)
            yield KafkaCase(key, bad, signed_headers(agency, bad), "own")
        elif hostile == 3:
            yield KafkaCase(key, value.replace(b'"phone"', b'"\xff\xfe"'),
                            _random_headers(rng), "quarantine")  # invalid UTF-8
        elif hostile == 4:
            yield KafkaCase(key, rng.choice([None, b""]), _random_headers(rng), "quarantine")
        elif hostile == 5:
            yield KafkaCase(key, rng.choice([b"null", b"[]", b"1", b'"x"', b"true"]),
                            _random_headers(rng), "quarantine")
        elif hostile == 6:  # oversize
            yield KafkaCase(key, b'{"agency":"' + b"x" * 70_000 + b'"}',
                            signed_headers(agency, b"x"), "quarantine")
        elif hostile == 7:  # deep nesting
            depth = rng.choice([20, 3000, 20_000])
            yield KafkaCase(key, b"[" * depth + b"]" * depth, [], "quarantine")
        elif hostile == 8:  # a signature header that is not UTF-8, or not ASCII
            yield KafkaCase(key, value, [("signature", rng.choice([b"\xff\xfe", "v1=\u00e9"
                                                                  .encode()]))], "quarantine")
        elif hostile == 9:  # a null key on a correctly signed event
            yield KafkaCase(None, value, signed_headers(agency, value), "quarantine")
        elif hostile == 10:  # a key naming no agency
            yield KafkaCase(rng.choice([b"nobody", b"not an agency", b"\xff\xfe", b"RACS"]),
                            value, signed_headers(agency, value), "quarantine")
        elif hostile == 11:  # planted under another agency's key: a garbage signature
            yield KafkaCase(key, value, [("signature", b"v1=" + b"0" * 64)], "quarantine")
        elif hostile == 12:  # the agency's own invalid event, signed
            message["payload"]["channel"] = "fax"
            bad = canonical_bytes(message)
            yield KafkaCase(key, bad, signed_headers(agency, bad), "own")
        elif hostile == 13:  # signed under another agency's key: the wrong producer
            other = next(a for a in agencies if a != agency)
            yield KafkaCase(other.encode(), value, signed_headers(agency, value), "quarantine")
        elif hostile == 14:  # another's signature first, its own second: the first counts
            yield KafkaCase(key, value, [("signature", b"v1=" + b"1" * 64),
                                         *signed_headers(agency, value)], "quarantine")
        else:  # a payload that is not an object
            message["payload"] = [message["payload"]]
            yield KafkaCase(key, canonical_bytes(message), _random_headers(rng), "quarantine")
