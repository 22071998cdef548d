"""Property-based tests: the parser and the case rules against reference models."""

from __future__ import annotations

import json
import random
from dataclasses import dataclass, field
from datetime import date, timedelta
from zoneinfo import ZoneInfo

from hypothesis import given, settings
from hypothesis import strategies as st

from domain.contract import decode_message, parse_event
from domain.errors import Rejected
from tests.fuzzing import MUTATIONS, TYPES_WITHOUT_STATE, _future, _valid_payload
from tests.support import event, memory_app, reasons, register, submit

LONDON = ZoneInfo("Europe/London")
PARSER_MUTATIONS = [m for m in MUTATIONS if m is not _future]  # future needs a receipt time


def generated(seed: int, event_type: str) -> dict[str, object]:
    message = event(event_type, f"p-{seed}", "2015-06-01")
    message["payload"] = _valid_payload(random.Random(seed), event_type)
    return message


@settings(max_examples=300, deadline=None)
@given(st.integers(0, 2**32), st.sampled_from(TYPES_WITHOUT_STATE))
def test_every_valid_event_parses_to_itself(seed: int, event_type: str) -> None:
    message = generated(seed, event_type)
    parsed = parse_event(decode_message(json.dumps(message).encode()), LONDON)
    assert parsed.payload == message["payload"]


@settings(max_examples=500, deadline=None)
@given(st.integers(0, 2**32), st.sampled_from(TYPES_WITHOUT_STATE),
       st.sampled_from(PARSER_MUTATIONS))
def test_every_mutated_event_is_rejected_for_its_defect(seed: int, event_type: str,
                                                        mutation: object) -> None:
    rng = random.Random(seed)
    mutated, reason = mutation(rng, generated(seed, event_type))  # type: ignore[operator]
    raw = json.dumps(mutated).encode()
    try:
        parse_event(decode_message(raw), LONDON)
    except Rejected as rejected:
        assert rejected.reason == reason
        assert rejected.message
    else:
        raise AssertionError(f"accepted a defective event: {raw!r}")


@settings(max_examples=200, deadline=None)
@given(st.binary(max_size=300))
def test_arbitrary_bytes_never_crash_the_decoder(raw: bytes) -> None:
    try:
        decode_message(raw)
    except Rejected as rejected:
        assert rejected.reason == "invalid"


@dataclass
class CaseModel:
    """The contract's case rules, stated afresh: episodes of (referral, closure)."""

    episodes: list[list[object]] = field(default_factory=list)

    def refer(self, event_id: str, day: date) -> str:
        if self.episodes and self.episodes[-1][2] is None:
            return "case_already_open"
        if self.episodes and day < self.episodes[-1][3]:  # type: ignore[operator]
            return "out_of_order"
        self.episodes.append([event_id, day, None, None])
        return "accepted"

    def close(self, event_id: str, day: date) -> str:
        if not self.episodes or self.episodes[-1][2] is not None:
            return "no_open_case"
        if day < self.episodes[-1][1]:  # type: ignore[operator]
            return "out_of_order"
        self.episodes[-1][2:] = [event_id, day]
        return "accepted"

    def retract(self, target: str) -> str:
        for index, (referral, _, closure, _) in enumerate(self.episodes):
            last = index == len(self.episodes) - 1
            if referral == target:
                if not last or closure is not None:
                    return "bad_reference"
                self.episodes.pop()
                return "accepted"
            if closure == target:
                if not last:
                    return "bad_reference"
                self.episodes[index][2:] = [None, None]
                return "accepted"
        return "bad_reference"


OPERATIONS = st.lists(st.tuples(st.sampled_from(["refer", "close", "retract"]),
                                st.sampled_from(["C-1", "C-2"]), st.integers(0, 30),
                                st.integers(0, 40)), min_size=1, max_size=25)


@settings(max_examples=150, deadline=None)
@given(OPERATIONS)
def test_case_rules_match_the_reference_model(operations: list[tuple[str, str, int, int]]) -> None:
    app = memory_app()
    key = register(app, "racs")
    models = {"C-1": CaseModel(), "C-2": CaseModel()}
    issued: list[str] = []
    for n, (operation, case, offset, pick) in enumerate(operations):
        day = date(2015, 6, 1) + timedelta(days=offset)
        event_id = f"e-{n}"
        if operation == "retract":
            target = issued[pick % len(issued)] if issued else "nothing"
            owner = next((c for c, m in models.items()
                          if any(target in e for e in m.episodes)), None)
            expected = models[owner].retract(target) if owner else "bad_reference"
            message = event("event.retracted", event_id, "2015-08-01", target=target)
        elif operation == "refer":
            expected = models[case].refer(event_id, day)
            message = event("referral.received", event_id, day.isoformat(), case=case)
        else:
            expected = models[case].close(event_id, day)
            message = event("case.closed", event_id, day.isoformat(), case=case)
        assert reasons(submit(app, key, message)) == [expected], (operation, case, day)
        if expected == "accepted" and operation != "retract":
            issued.append(event_id)
