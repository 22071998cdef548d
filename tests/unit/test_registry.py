"""The contract is the one registry of what an event type means (issue 16 item 1): its
fields' kinds and bounds, and its part in a case's life. Everything that derives from
it — the read model's typed columns, the upload's conversion of spreadsheet text, the
domain's case rules, the projections' case filters, the contract guide's tables — is
checked against it here, and the check is shown to fail on a broken copy."""

from __future__ import annotations

import copy
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import duckdb
import pytest

from domain import contract
from domain.contract import (
    CASE_ROLES,
    PAYLOADS,
    RECORD_ROLES,
    ROLE_FIELDS,
    TYPE_WORDS,
    CaseRole,
    Field,
    RecordRole,
)
from domain.errors import InvalidEvent
from projections.measures import STANDARD_MEASURES
from projections.readmodel import PAYLOAD_COLUMNS, SCHEMA, SQL_TYPES
from projections.standing import case_type_sql
from scorecard_ui.returns_upload import check, read_upload, template_columns
from tests.support import VALID_PAYLOADS

GUIDE = Path(__file__).parents[2] / "docs" / "contract.md"
DOC_TYPE_WORDS = {"integer": (contract.Integer,), "boolean": (contract.Boolean,),
                  "list": (contract.YearGroups,), "object": (contract.Record,),
                  "code": (contract.Code,),
                  "string": (contract.OneOf, contract.Text, contract.Matching)}


def example_value(kind: contract.Kind) -> Any:
    """A value a kind accepts, for fields the examples leave out (None: cannot make one)."""
    if isinstance(kind, contract.Integer):
        return kind.lo
    if isinstance(kind, contract.Boolean):
        return True
    if isinstance(kind, contract.OneOf):
        return kind.choices[0]
    if isinstance(kind, contract.Code):
        return "a-code"
    if isinstance(kind, contract.Text):
        return "x" * max(1, kind.min_length)
    return None


def as_cell(value: Any) -> str:
    """A value as a spreadsheet cell's text, as an agency types it."""
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, list):
        return ";".join(value)
    return str(value)


def guide_tables(text: str) -> dict[str, dict[str, tuple[str, str]]]:
    """Each type's field table in the contract guide: field -> (type word, required);
    the project extensions' optional fields added to their types."""
    tables: dict[str, dict[str, tuple[str, str]]] = {}
    for section in re.split(r"\n### 3\.\d+ ", text)[1:]:
        name = section.split("`")[1]
        tables[name] = {m[0]: (m[1], m[2]) for m in re.findall(
            r"^\| `([a-z_]+)` \| ([a-z]+) \| (yes|no) \|", section, re.M)}
    for where, field, rule in re.findall(
            r"^\| `([a-z._]+)` \| `([a-z_]+)` \(optional\) \| ([^|]+) \|", text, re.M):
        word = "boolean" if rule.strip() == "boolean" else (
            "code" if "code" in rule else "string")
        tables.setdefault(where, {})[field] = (word, "no")
    for new_type, rule in re.findall(r"^\| new type \| `([a-z._]+)` \| ([^|]+) \|", text, re.M):
        tables[new_type] = {m: ("", "") for m in re.findall(
            r"`([a-z_]+)` (?:code|integer|boolean|one of|text)", rule)}
    return tables


def disagreements(payloads: Mapping[str, Mapping[str, Field]],
                  roles: Mapping[str, CaseRole], guide: str,
                  record_roles: Mapping[str, RecordRole] = RECORD_ROLES,
                  words: Mapping[str, str] = TYPE_WORDS) -> list[str]:
    """Every place where what derives from the registry disagrees with it."""
    found: list[str] = []
    # Record roles: every type decides one; each acts on its fields; the scorecard acts
    # on the one retraction, action status and note type by role.
    for event_type, fields in payloads.items():
        part = record_roles.get(event_type)
        if part is None:
            found.append(f"{event_type}: no record role (reports, action_status, comments "
                         "or retracts)")
            continue
        missing = [f for f in ROLE_FIELDS[part] if f not in fields]
        if missing:
            found.append(f"{event_type}: {part} but has no {', '.join(missing)} field")
        if event_type not in words:
            found.append(f"{event_type}: no plain words for the measures' metadata")
    found += [f"{t}: a record role for a type the contract lacks" for t in record_roles
              if t not in payloads]
    for part in ("action_status", "comments", "retracts"):
        count = sum(record_roles.get(t) == part for t in payloads)
        if count != 1:
            found.append(f"{count} types in the role {part}, not one")
    # The standard measures count reports of types the contract has.
    for measure in STANDARD_MEASURES:
        for count_of in (measure.numerator, measure.denominator):
            if count_of is not None and record_roles.get(count_of.event_type) != "reports":
                found.append(f"{measure.id} counts {count_of.event_type}, not a report type "
                             "of the contract")
    # Case roles: every type decides one; a role needs a case field to act on.
    for event_type, fields in payloads.items():
        role = roles.get(event_type)
        if role is None:
            found.append(f"{event_type}: no case role (opens, closes or none)")
        elif role != "none" and contract.CASE_FIELD not in fields:
            found.append(f"{event_type}: {role} a case but has no {contract.CASE_FIELD} field")
    found += [f"{t}: a case role for a type the contract lacks" for t in roles
              if t not in payloads]
    # The read model: a typed column per countable field, of the field's kind.
    try:
        kinds = contract.payload_field_kinds(payloads)
    except ValueError as error:
        return [*found, str(error)]
    connection = duckdb.connect()
    connection.execute(SCHEMA)
    columns = dict(connection.execute(
        "SELECT column_name, data_type FROM information_schema.columns "
        "WHERE table_name = 'facts'").fetchall())
    for name, kind in kinds.items():
        if columns.get(name) != SQL_TYPES[kind]:
            found.append(f"facts.{name}: the read model has {columns.get(name)}, the "
                         f"contract {SQL_TYPES[kind]}")
    # The upload: every field of every type, typed as an agency types it, reads back as
    # a value the contract accepts.
    template = template_columns()
    for event_type, fields in payloads.items():
        payload = dict(VALID_PAYLOADS.get(event_type, {}))
        for name, (field_kind, _) in fields.items():
            if name not in payload and example_value(field_kind) is not None:
                payload[name] = example_value(field_kind)
        cells = {"event_id": "e-1", "type": event_type, "occurred_at": "05/10/2015"}
        for name, value in payload.items():
            for column, item in (value.items() if isinstance(value, dict) else [(None, value)]):
                cells[f"{name}.{column}" if column else name] = as_cell(item)
        missing = [c for c in cells if c not in template]
        if missing:
            found.append(f"{event_type}: the upload's template lacks {', '.join(missing)}")
            continue
        text = ",".join(cells) + "\n" + ",".join(cells.values()) + "\n"
        rows = list(read_upload("r.csv", text.encode(), "racs"))
        message = rows[0][2]
        if message is None:
            found.append(f"{event_type}: the upload could not read a row: {rows[0][3]}")
            continue
        try:
            contract._check_fields(message["payload"], payloads[event_type], "payload")
        except InvalidEvent as error:
            found.append(f"{event_type}: the upload's reading is refused: {error}")
        if event_type in PAYLOADS and payloads[event_type] is PAYLOADS[event_type]:
            problem = check(message, ZoneInfo("Europe/London"))
            if problem is not None:
                found.append(f"{event_type}: the upload's row is refused: {problem}")
    # The contract guide: each type's table names its fields, kinds and whether required.
    tables = guide_tables(guide)
    for event_type, fields in payloads.items():
        table = tables.get(event_type)
        if table is None:
            found.append(f"{event_type}: not in the contract guide")
            continue
        if set(table) != set(fields):
            found.append(f"{event_type}: the guide lists {sorted(table)}, the contract "
                         f"{sorted(fields)}")
            continue
        for name, (field_kind, required) in fields.items():
            word, says_required = table[name]
            if word and not isinstance(field_kind, DOC_TYPE_WORDS.get(word, ())):
                found.append(f"{event_type}.{name}: the guide says {word}, the contract "
                             f"{type(field_kind).__name__}")
            if says_required and (says_required == "yes") != required:
                found.append(f"{event_type}.{name}: the guide says required {says_required}")
    return found


def test_everything_derived_agrees_with_the_registry() -> None:
    assert disagreements(PAYLOADS, CASE_ROLES, GUIDE.read_text(encoding="utf-8")) == []
    assert list(PAYLOAD_COLUMNS) == list(contract.payload_field_kinds())


def test_the_check_fails_on_a_broken_copy_of_the_registry() -> None:
    guide = GUIDE.read_text(encoding="utf-8")
    payloads = copy.copy(PAYLOADS)
    payloads["youth_session.delivered"] = {**PAYLOADS["youth_session.delivered"],
                                           "participants": (contract.Boolean(), True)}
    payloads["referral.received"] = {**PAYLOADS["referral.received"],
                                     "age_band": (contract.Integer(0, 99), True)}
    payloads["case.note"] = {"case": PAYLOADS["case.closed"]["case"],
                             "note": (contract.Text(200), True)}
    found = disagreements(payloads, CASE_ROLES, guide)
    assert "case.note: no case role (opens, closes or none)" in found
    assert "case.note: not in the contract guide" in found
    assert any(f.startswith("referral.received.age_band: the guide says string") for f in found)
    assert any(f.startswith("facts.participants: the read model has INTEGER") for f in found)
    assert any("the upload's reading is refused" in f for f in found), found
    assert "case.note: no record role (reports, action_status, comments or retracts)" in found


def test_the_check_fails_on_a_broken_copy_of_the_record_roles() -> None:
    guide = GUIDE.read_text(encoding="utf-8")
    roles = {**RECORD_ROLES, "helpline.contact": "retracts", "case.closed": "comments"}
    words = {t: w for t, w in TYPE_WORDS.items() if t != "youth_session.delivered"}
    found = disagreements(PAYLOADS, CASE_ROLES, guide, roles, words)
    assert "helpline.contact: retracts but has no target field" in found
    assert "case.closed: comments but has no measure, month field" in found
    assert "2 types in the role retracts, not one" in found
    assert "youth_session.delivered: no plain words for the measures' metadata" in found
    assert any(f.startswith("helpline_contacts counts helpline.contact, not a report")
               for f in found), found


# Code that names a type by its role must ask the registry: the types the scorecard acts
# on by role (a retraction, an action's status, a note) are named only in the contract.
SOURCES = [path for folder in ("domain", "projections", "ingest", "scorecard_ui", "scorecard")
           for path in (Path(__file__).parents[2] / folder).rglob("*.py")
           if path.name != "contract.py" and "demo" not in path.parts]


def role_literals(sources: Mapping[str, str], record_roles: Mapping[str, RecordRole]
                  ) -> list[str]:
    """Each place a source names, as a literal, a type the scorecard acts on by role."""
    named = [t for t, part in record_roles.items() if part != "reports"]
    return [f"{where}:{number}: {event_type}"
            for where, text in sources.items()
            for number, line in enumerate(text.splitlines(), start=1)
            for event_type in named
            if re.search(r"""['"]""" + re.escape(event_type) + r"""['"]""", line)]


def test_no_code_names_a_type_it_acts_on_by_role() -> None:
    sources = {str(p): p.read_text(encoding="utf-8") for p in SOURCES}
    assert len(sources) > 50
    assert role_literals(sources, RECORD_ROLES) == []
    # and the scan finds one where there is one
    broken = {"projections/x.py": "SQL = \"WHERE type <> 'event.retracted'\"\n"}
    assert role_literals(broken, RECORD_ROLES) == ["projections/x.py:1: event.retracted"]


def test_a_field_of_two_kinds_is_refused() -> None:
    broken: dict[str, dict[str, Field]] = {"a.b": {"n": (contract.Integer(0), True)},
                                           "c.d": {"n": (contract.Boolean(), True)}}
    with pytest.raises(ValueError, match="payload field n is integer in one type"):
        contract.payload_field_kinds(broken)


def test_the_projections_case_filters_come_from_the_registry() -> None:
    assert case_type_sql("opens") == "type IN ('referral.received')"
    assert case_type_sql("opens", "closes", column="c.type") == \
        "c.type IN ('referral.received', 'case.closed')"


def test_a_type_that_carries_a_case_but_has_no_role_is_not_a_closure(
        monkeypatch: pytest.MonkeyPatch) -> None:
    """Before: ``AgencyEvent.case`` was any payload's ``case`` and the case rules treated
    every type but a referral as a closure, so this event closed the case."""
    from tests.support import event, memory_app, reasons, register, submit

    monkeypatch.setitem(PAYLOADS, "case.note", {"case": PAYLOADS["case.closed"]["case"],
                                                "note": (contract.Text(200), True)})
    monkeypatch.setitem(CASE_ROLES, "case.note", "none")
    app = memory_app()
    key = register(app, "racs")
    note = {"event_id": "n-1", "agency": "racs", "type": "case.note", "schema_version": 1,
            "occurred_at": "2015-10-03", "payload": {"case": "RACS-0001", "note": "seen"}}
    outcomes = submit(app, key, event("referral.received", "r-1", "2015-10-01"), note,
                      event("case.closed", "c-1", "2015-10-05"))
    assert reasons(outcomes) == ["accepted", "accepted", "accepted"]  # still open to close
