"""A generator of labelled push lines: valid events and events with one known defect.

The label is the oracle: what the contract says must become of the line, derived from
how the line was built, not from the parser under test.
"""

from __future__ import annotations

import json
import random
from collections.abc import Callable, Iterator
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
