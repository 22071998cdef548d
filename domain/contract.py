"""The agency event contract, version 1: decoding and strict validation of one message.

Nothing is coerced: ``"5"`` is not 5, ``true`` is not 1, ``5.0`` is not 5, a date-time
without an offset is not a time. Every failure raises ``InvalidEvent`` (or
``UnknownType``) naming the field and the rule it broke.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any, ClassVar, Literal
from zoneinfo import ZoneInfo

from domain.errors import InvalidEvent, UnknownType
from domain.text import first_lone_surrogate, has_lone_surrogate, visible
from domain.timekeeping import Occurrence, parse_occurred_at

SCHEMA_VERSION = 1
MAX_MESSAGE_BYTES = 64 * 1024
# The deepest valid event is envelope > payload > evaluation (or a list of year groups):
# anything much deeper is not an event, and is refused before code that recurses meets it.
MAX_NESTING = 16
MAX_INT = 2**31 - 1

EVENT_ID = re.compile(r"^[A-Za-z0-9._:-]{1,64}\Z")
AGENCY_CODE = re.compile(r"^[a-z0-9-]{2,40}\Z")
CASE_REF = re.compile(r"^[A-Za-z0-9-]{3,40}\Z")
SCHOOL_URN = re.compile(r"^[0-9]{6}\Z")
ACTION_CODE = re.compile(r"^[0-9]+(\.[0-9]+)*\Z")
MONTH = re.compile(r"^[0-9]{4}-(0[1-9]|1[0-2])\Z")
MEASURE_ID = re.compile(r"^[a-z][a-z0-9_]{0,63}\Z")
DAY = re.compile(r"^[0-9]{4}-(0[1-9]|1[0-2])-(0[1-9]|[12][0-9]|3[01])\Z")
YEAR_GROUPS = ("R", *(f"Y{n}" for n in range(1, 14)))
SECTORS = ("council", "police", "health", "education", "voluntary", "other")


def _fail(path: str, rule: str, value: Any) -> InvalidEvent:
    shown = visible(json.dumps(value, ensure_ascii=False))
    if len(shown) > 60:
        shown = shown[:57] + "..."
    return InvalidEvent(f"{rule} (got {shown})", field=path)


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


# Each field kind is a value, not a closure: what it accepts (its ``kind`` and bounds) can
# be read by what derives from the contract — the read model's column types, the
# upload's conversions of spreadsheet text, the correction form's inputs, the docs'
# tables — and calling it checks a value, naming the field and the rule.


@dataclass(frozen=True)
class Integer:
    lo: int
    hi: int = MAX_INT
    kind: ClassVar[str] = "integer"

    def __call__(self, value: Any, path: str) -> None:
        if not _is_int(value) or not self.lo <= value <= self.hi:
            raise _fail(path, f"must be an integer from {self.lo} to {self.hi}", value)


@dataclass(frozen=True)
class Boolean:
    kind: ClassVar[str] = "boolean"

    def __call__(self, value: Any, path: str) -> None:
        if not isinstance(value, bool):
            raise _fail(path, "must be true or false", value)


@dataclass(frozen=True)
class OneOf:
    choices: tuple[str, ...]
    kind: ClassVar[str] = "choice"

    def __call__(self, value: Any, path: str) -> None:
        if not isinstance(value, str) or value not in self.choices:
            raise _fail(path, "must be one of " + ", ".join(self.choices), value)


@dataclass(frozen=True)
class Text:
    max_length: int
    min_length: int = 0
    kind: ClassVar[str] = "text"

    def __call__(self, value: Any, path: str) -> None:
        if not isinstance(value, str) or not self.min_length <= len(value) <= self.max_length:
            raise _fail(path, f"must be a string of {self.min_length} to {self.max_length} "
                        "characters", value)


@dataclass(frozen=True)
class Matching:
    regex: re.Pattern[str]
    rule: str
    kind: ClassVar[str] = "text"

    def __call__(self, value: Any, path: str) -> None:
        if not isinstance(value, str) or not self.regex.match(value):
            raise _fail(path, self.rule, value)


@dataclass(frozen=True)
class Code:
    """A free code such as a course or programme: 1–100 printable characters."""

    kind: ClassVar[str] = "text"

    def __call__(self, value: Any, path: str) -> None:
        if (not isinstance(value, str) or not 1 <= len(value) <= 100
                or value != value.strip() or not value.isprintable()):
            raise _fail(path, "must be a code of 1 to 100 printable characters", value)


@dataclass(frozen=True)
class YearGroups:
    kind: ClassVar[str] = "choices"
    choices: tuple[str, ...] = YEAR_GROUPS

    def __call__(self, value: Any, path: str) -> None:
        rule = "must be a non-empty list of distinct year groups R, Y1 … Y13"
        if not isinstance(value, list) or not value:
            raise _fail(path, rule, value)
        for index, item in enumerate(value):
            if not isinstance(item, str) or item not in self.choices:
                raise _fail(f"{path}[{index}]", "must be one of R, Y1 … Y13", item)
        if len(set(value)) != len(value):
            raise _fail(path, rule, value)


EVALUATION_FIELDS = ("returned", "improved_risk_understanding", "improved_action_understanding")


@dataclass(frozen=True)
class Record:
    """An object of named fields (the training evaluation)."""

    fields: Mapping[str, tuple[Any, bool]]
    kind: ClassVar[str] = "record"

    def __call__(self, value: Any, path: str) -> None:
        if not isinstance(value, dict):
            raise _fail(path, "must be an object with " + ", ".join(self.fields), value)
        _check_fields(value, self.fields, path)


@dataclass(frozen=True)
class Payload:
    """The envelope's payload: checked against its type's fields once the type is known."""

    kind: ClassVar[str] = "payload"

    def __call__(self, value: Any, path: str) -> None:
        return None


def integer(lo: int, hi: int = MAX_INT) -> Integer:
    return Integer(lo, hi)


def one_of(*choices: str) -> OneOf:
    return OneOf(tuple(choices))


def text(max_length: int, *, min_length: int = 0) -> Text:
    return Text(max_length, min_length)


def matching(regex: re.Pattern[str], rule: str) -> Matching:
    return Matching(regex, rule)


boolean = Boolean()
code = Code()
year_groups = YearGroups()
evaluation = Record({name: (integer(0), True) for name in EVALUATION_FIELDS})

Kind = Integer | Boolean | OneOf | Text | Matching | Code | YearGroups | Record | Payload
Field = tuple[Kind, bool]  # (kind, required)

EVENT_ID_RULE = "must be 1 to 64 characters of A-Z a-z 0-9 . _ : -"

PAYLOADS: dict[str, dict[str, Field]] = {
    "training.delivered": {
        "course": (code, True),
        "audience": (one_of("workforce", "community", "trainer"), True),
        "attendees": (integer(0, 10000), True),
        "sector": (one_of(*SECTORS), False),
        "evaluation": (evaluation, False),
    },
    "school.session_delivered": {
        "school": (matching(SCHOOL_URN, "must be a 6-digit school URN"), True),
        "programme": (code, True),
        "year_groups": (year_groups, True),
        "pupils": (integer(0, 2000), True),
        "format": (one_of("lesson", "performance", "workshop", "assembly", "parents"), True),
    },
    "helpline.contact": {
        "channel": (one_of("phone", "email", "web", "text"), True),
        "cse_related": (boolean, True),
        "in_area": (boolean, True),
        "outcome": (one_of("advice", "enquiry_response", "referral", "signpost", "none"), True),
        "response_minutes": (integer(0), True),
    },
    "referral.received": {
        "case": (matching(CASE_REF, "must be a pseudonymous case reference of 3 to 40 "
                          "characters A-Z a-z 0-9 -"), True),
        "source": (one_of("education", "police", "health", "social_care", "voluntary",
                          "helpline", "self", "family", "other"), True),
        "client": (one_of("child", "young_adult", "adult_survivor", "parent", "sibling"), True),
        "age_band": (one_of("0-10", "11-15", "16-17", "18-24", "25+", "unknown"), True),
        "gender": (one_of("female", "male", "other", "unknown"), True),
        "historic": (boolean, True),
        # Project extensions (optional): the case concerns confirmed CSE (not suspected
        # CSE or other abuse); the service the client is referred into.
        "cse_confirmed": (boolean, False),
        "service": (code, False),
    },
    "case.closed": {
        "case": (matching(CASE_REF, "must be a pseudonymous case reference of 3 to 40 "
                          "characters A-Z a-z 0-9 -"), True),
        "reason": (one_of("support_completed", "disengaged", "transferred", "moved_away",
                          "other"), True),
    },
    "action.status_reported": {
        "action": (matching(ACTION_CODE, "must be a plan action code such as 1.1 or 2.3.4"), True),
        "status": (one_of("not_started", "on_track", "at_risk", "off_track", "complete"), True),
        "note": (text(2000), True),
    },
    # Project extension: a youth-work session outside schools (the informal curriculum).
    "youth_session.delivered": {
        "programme": (code, True),
        "setting": (one_of("youth_centre", "outreach", "online", "other"), True),
        "participants": (integer(0, 2000), True),
    },
    # Project extension: an exception note, the lead agency's account of a measure that is
    # red (or off course by the forecast) at a month's end: what happened, why, what is
    # being done, by when, and who owns the recovery. A revised note supersedes the last.
    "exception.noted": {
        "measure": (matching(MEASURE_ID, "must be a measure id of the plan, such as "
                             "workforce_trained_this_year"), True),
        "month": (matching(MONTH, "must be a month YYYY-MM"), True),
        "what_happened": (text(2000, min_length=1), True),
        "why": (text(2000, min_length=1), True),
        "recovery": (text(2000, min_length=1), True),
        "recover_by": (matching(DAY, "must be a date YYYY-MM-DD"), True),
        "owner": (text(200, min_length=1), True),
    },
    "event.retracted": {
        "target": (matching(EVENT_ID, EVENT_ID_RULE), True),
        "reason": (text(500), True),
    },
}

EVENT_TYPES: tuple[str, ...] = tuple(PAYLOADS)

# Each type's part in the record, besides its case role: most report work done (what the
# plan's measures count); one reports a plan action's status (checked against the
# action's lead; the actions' progress reads it); one comments on a month's figures (an
# exception note: not a return for the month); one retracts an earlier event, named by
# its payload's ``target``. Every type is listed, so that adding one means deciding its
# part (tests/unit/test_registry.py); the domain's rules, the returns calendar, the
# audit's wording and the projections' type filters follow it, and name no type.
RecordRole = Literal["reports", "action_status", "comments", "retracts"]
RECORD_ROLES: dict[str, RecordRole] = {
    "training.delivered": "reports",
    "school.session_delivered": "reports",
    "helpline.contact": "reports",
    "referral.received": "reports",
    "case.closed": "reports",
    "action.status_reported": "action_status",
    "youth_session.delivered": "reports",
    "exception.noted": "comments",
    "event.retracted": "retracts",
}
# The fields a role acts on: a retraction's target, an action's code, a note's measure
# and month (the registry test checks each type of the role has them).
ROLE_FIELDS: dict[RecordRole, tuple[str, ...]] = {
    "reports": (), "action_status": ("action",), "comments": ("measure", "month"),
    "retracts": ("target",)}


def record_role(event_type: str) -> RecordRole:
    return RECORD_ROLES.get(event_type, "reports")


def types_in_role(role: RecordRole) -> tuple[str, ...]:
    return tuple(t for t in EVENT_TYPES if record_role(t) == role)


def the_type_in_role(role: RecordRole) -> str:
    """The one type with this part (a retraction, an action's status, an exception note):
    what the scorecard itself writes or acts on by role."""
    found = types_in_role(role)
    if len(found) != 1:
        raise ValueError(f"the contract has {len(found)} types in the role {role}, not one")
    return found[0]


def types_sql(types: tuple[str, ...] | list[str], column: str = "type",
              negate: bool = False) -> str:
    """SQL naming facts of these types (``NOT IN`` when ``negate``): the registry's types
    quoted, for the projections' filters."""
    quoted = ", ".join("'" + t.replace("'", "''") + "'" for t in types) or "NULL"
    return f"{column} {'NOT IN' if negate else 'IN'} ({quoted})"


# Each type in plain words, as a measure's metadata says what it counts.
TYPE_WORDS: dict[str, str] = {
    "training.delivered": "training sessions delivered",
    "school.session_delivered": "prevention sessions in schools",
    "helpline.contact": "helpline contacts",
    "referral.received": "referrals received",
    "case.closed": "cases closed",
    "action.status_reported": "action progress reports",
    "youth_session.delivered": "youth-work sessions",
    "exception.noted": "exception notes",
    "event.retracted": "retractions",
}

RETRACTION_TYPE = the_type_in_role("retracts")
ACTION_STATUS_TYPE = the_type_in_role("action_status")
EXCEPTION_NOTE_TYPE = the_type_in_role("comments")
# Types that comment on figures rather than report them: not a return for a month.
COMMENTARY_TYPES: tuple[str, ...] = types_in_role("comments")

# Each type's part in a case's life: a referral opens (or re-opens) one, a closure closes
# it; every other type has none, whatever its fields (a new type with a ``case`` field is
# not a closure unless it says so here). Every type is listed, so that adding one means
# deciding its role (tests/unit/test_registry.py). The domain's case rules and the
# projections' case filters follow it.
CaseRole = Literal["opens", "closes", "none"]
CASE_ROLES: dict[str, CaseRole] = {
    "training.delivered": "none",
    "school.session_delivered": "none",
    "helpline.contact": "none",
    "referral.received": "opens",
    "case.closed": "closes",
    "action.status_reported": "none",
    "youth_session.delivered": "none",
    "exception.noted": "none",
    "event.retracted": "none",
}


def case_role(event_type: str) -> CaseRole:
    return CASE_ROLES.get(event_type, "none")


def types_with_role(role: CaseRole) -> tuple[str, ...]:
    """The types that open (or close) a case, for the projections' type filters."""
    return tuple(t for t in EVENT_TYPES if case_role(t) == role)


# Text longer than this is free text (a note): kept in the payload, not a column to count on.
FREE_TEXT_LENGTH = 500
# The payload's ``case`` is a column of its own (``case_ref``) in the read model.
CASE_FIELD = "case"


def payload_field_kinds(payloads: Mapping[str, Mapping[str, Field]] | None = None
                        ) -> dict[str, str]:
    """Each payload field measures filter and count on, with its kind ("integer",
    "boolean" or "text"), in the order the types list them: the read model's typed
    columns. Lists, objects, free text and the case reference are not among them. A name
    used by two types must have one kind in both (else ``ValueError``)."""
    kinds: dict[str, str] = {}
    for fields in (payloads or PAYLOADS).values():
        for name, (check, _) in fields.items():
            if name == CASE_FIELD or isinstance(check, YearGroups | Record | Payload):
                continue
            if isinstance(check, Text) and check.max_length > FREE_TEXT_LENGTH:
                continue
            kind = check.kind if isinstance(check, Integer | Boolean) else "text"
            if kinds.setdefault(name, kind) != kind:
                raise ValueError(f"payload field {name} is {kinds[name]} in one type and "
                                 f"{kind} in another")
    return kinds

ENVELOPE: dict[str, Field] = {
    "event_id": (matching(EVENT_ID, EVENT_ID_RULE), True),
    "agency": (matching(AGENCY_CODE, "must be an agency code of 2 to 40 characters a-z 0-9 -"),
               True),
    # Any string that is not a v1 type is ``unknown_type`` however long (the message's
    # own limit bounds it); only a non-string is ``invalid``.
    "type": (text(MAX_MESSAGE_BYTES), True),
    "schema_version": (integer(SCHEMA_VERSION, SCHEMA_VERSION), True),
    "occurred_at": (text(40), True),
    "payload": (Payload(), True),
    "supersedes": (matching(EVENT_ID, EVENT_ID_RULE), False),
}


def _field_problems(obj: Mapping[str, Any], spec: Mapping[str, Field], prefix: str,
                    ignored: frozenset[str] = frozenset()) -> Iterator[InvalidEvent]:
    """Each field of ``obj`` that breaks ``spec``, in the order the check meets them
    (fields the contract does not have first), a record's own fields within it."""
    where = f"{prefix}." if prefix else ""
    for name in obj:
        if name not in spec and name not in ignored:
            yield InvalidEvent("is not a field of the contract", field=f"{where}{name}")
    for name, (check, required) in spec.items():
        if name not in obj:
            if required:
                yield InvalidEvent("is required", field=f"{where}{name}")
        elif isinstance(check, Record) and isinstance(obj[name], dict):
            yield from _field_problems(obj[name], check.fields, f"{where}{name}")
        else:
            try:
                check(obj[name], f"{where}{name}")
            except InvalidEvent as problem:
                yield problem


def _check_fields(obj: Mapping[str, Any], spec: Mapping[str, Field], prefix: str) -> None:
    for problem in _field_problems(obj, spec, prefix):
        raise problem


def field_problems(message: Mapping[str, Any], zone: ZoneInfo) -> list[InvalidEvent]:
    """Every field of an envelope that breaks its rule, each checked on its own. The
    check (``parse_event``) stops at the first, as a rejection names one field; an
    upload's preview lists them all, so a volunteer corrects a row once, not once per
    field. The same kinds decide, so the list and the rejection cannot disagree."""
    found = list(_field_problems(message, ENVELOPE, "", frozenset({"signature"})))
    payload, event_type = message.get("payload"), message.get("type")
    if "payload" in message and not isinstance(payload, dict):
        found.append(_fail("payload", "must be an object", payload))
    if isinstance(payload, dict) and isinstance(event_type, str) and event_type in PAYLOADS:
        found.extend(_field_problems(payload, PAYLOADS[event_type], "payload"))
    if isinstance(message.get("occurred_at"), str) and not any(
            p.field == "occurred_at" for p in found):
        try:
            parse_occurred_at(message["occurred_at"], zone)
        except ValueError as error:
            found.append(_fail("occurred_at", str(error), message["occurred_at"]))
    return found


@dataclass(frozen=True)
class AgencyEvent:
    """One valid event as an agency sent it, with its local day worked out."""

    event_id: str
    agency: str
    type: str
    occurred_at: str
    occurrence: Occurrence
    payload: dict[str, Any]
    supersedes: str | None
    fingerprint: str

    @property
    def case(self) -> str | None:
        """The case this event opens or closes; ``None`` for a type with no case role."""
        value = self.payload.get("case")
        return value if isinstance(value, str) and case_role(self.type) != "none" else None


def canonical_bytes(envelope: Mapping[str, Any]) -> bytes:
    """The bytes a file line's signature covers: sorted keys, no spaces, UTF-8."""
    return json.dumps(
        dict(envelope), sort_keys=True, separators=(",", ":"), ensure_ascii=False
    ).encode("utf-8")


def fingerprint(envelope: Mapping[str, Any]) -> str:
    """Content identity for idempotency: the canonical envelope without its signature."""
    content = {k: v for k, v in envelope.items() if k != "signature"}
    return hashlib.sha256(canonical_bytes(content)).hexdigest()


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not valid JSON")


def _no_duplicate_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    result: dict[str, Any] = {}
    for key, value in pairs:
        if key in result:
            raise ValueError(f"duplicate key {key!r}")
        result[key] = value
    return result


def decode_message(raw: bytes) -> dict[str, Any]:
    """Decode one message value or JSON Lines line into a JSON object, strictly.

    Every string in the result, field names included, is valid Unicode text (a JSON
    escape may name a lone surrogate, which no later step could encode), and no value is
    nested deeper than ``MAX_NESTING``.
    """
    if len(raw) > MAX_MESSAGE_BYTES:
        raise InvalidEvent(f"the message is {len(raw)} bytes; the limit is {MAX_MESSAGE_BYTES}")
    if not raw.strip():
        raise InvalidEvent("the message is empty")
    try:
        document = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise InvalidEvent(f"the message is not valid UTF-8 ({exc.reason})") from None
    try:
        value = json.loads(
            document, object_pairs_hook=_no_duplicate_keys, parse_constant=_reject_constant
        )
    except RecursionError:
        raise InvalidEvent("the message is nested too deeply to be an event") from None
    except ValueError as exc:
        raise InvalidEvent(f"malformed JSON: {visible(str(exc), 200)}") from None
    if not isinstance(value, dict):
        raise InvalidEvent(f"the message must be one JSON object, not {_json_kind(value)}")
    # Only an escape (\u…) can make a lone surrogate, and only brackets make depth: the
    # walk is skipped for the usual small event.
    if "\\u" in document or document.count("{") + document.count("[") > MAX_NESTING:
        _check_text_and_depth(value)
    return value


def _json_kind(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, list):
        return "an array"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, bool):
        return "true or false"
    return "a number"


def _check_text_and_depth(value: Any) -> None:
    """Every string valid Unicode, no nesting deeper than ``MAX_NESTING``; the first
    fault in document order is named by its field path. Iterative: depth is the input's."""
    stack: list[tuple[Any, str, int]] = [(value, "", 0)]
    while stack:
        item, path, depth = stack.pop()
        if isinstance(item, str):
            if has_lone_surrogate(item):
                raise InvalidEvent(
                    "must be valid Unicode text (a lone surrogate "
                    f"{first_lone_surrogate(item)} was found)", field=path)
            continue
        if not isinstance(item, dict | list):
            continue
        if depth >= MAX_NESTING:
            raise InvalidEvent(f"is nested too deeply to be part of an event (more than "
                               f"{MAX_NESTING} levels)", field=path)
        children: list[tuple[Any, str, int]] = []
        if isinstance(item, dict):
            for key, child in item.items():
                where = f"{path}.{visible(key)}" if path else visible(key)
                if has_lone_surrogate(key):
                    raise InvalidEvent(
                        "is a field name that is not valid Unicode text (a lone surrogate "
                        f"{first_lone_surrogate(key)} was found)", field=where)
                children.append((child, where, depth + 1))
        else:
            children = [(child, f"{path}[{index}]", depth + 1)
                        for index, child in enumerate(item)]
        stack.extend(reversed(children))


def check_agency_field(message: Mapping[str, Any]) -> str:
    """The claimed agency, checked first so authentication can compare it."""
    check, _ = ENVELOPE["agency"]
    if "agency" not in message:
        raise InvalidEvent("is required", field="agency")
    check(message["agency"], "agency")
    return str(message["agency"])


def parse_event(message: Mapping[str, Any], zone: ZoneInfo, *,
                canonical: bytes | None = None) -> AgencyEvent:
    """Validate an envelope and its payload against the contract (no signature field).

    ``canonical``: the message's canonical bytes when the caller has them already (a
    file line's signed bytes), so the fingerprint need not encode the message again.
    """
    _check_fields(message, ENVELOPE, "")
    event_type = message["type"]
    if event_type not in PAYLOADS:
        raise UnknownType(
            "is not a type of the contract (one of " + ", ".join(EVENT_TYPES) + ")", field="type"
        )
    payload = message["payload"]
    if not isinstance(payload, dict):
        raise _fail("payload", "must be an object", payload)
    _check_fields(payload, PAYLOADS[event_type], "payload")
    _check_evaluation_totals(event_type, payload)
    try:
        occurrence = parse_occurred_at(message["occurred_at"], zone)
    except ValueError as exc:
        raise _fail("occurred_at", str(exc), message["occurred_at"]) from None
    return AgencyEvent(
        event_id=message["event_id"],
        agency=message["agency"],
        type=event_type,
        occurred_at=message["occurred_at"],
        occurrence=occurrence,
        payload=dict(payload),
        supersedes=message.get("supersedes"),
        fingerprint=hashlib.sha256(canonical).hexdigest() if canonical is not None
        else fingerprint(message),
    )


def _check_evaluation_totals(event_type: str, payload: Mapping[str, Any]) -> None:
    if event_type != "training.delivered" or "evaluation" not in payload:
        return
    found = payload["evaluation"]
    if found["returned"] > payload["attendees"]:
        raise _fail("payload.evaluation.returned", "must not exceed attendees", found["returned"])
    for name in EVALUATION_FIELDS[1:]:
        if found[name] > found["returned"]:
            raise _fail(f"payload.evaluation.{name}", "must not exceed returned", found[name])
