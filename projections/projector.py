"""Folds the event store's notification log into the DuckDB read model, exactly once.

Each batch of notifications is written in one DuckDB transaction together with the
position it reached, so a crash either keeps the whole batch and its position or
neither: on restart the projector resumes after the last position it committed.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

import duckdb
import pyarrow as pa

from domain import signing
from domain.application import Scorecard
from domain.model import Agency, sent_by_producer
from domain.plan import Plan
from domain.timekeeping import to_naive_utc
from projections.readmodel import PAYLOAD_COLUMNS, tracked_position

TRACKING_NAME = "facts"
BATCH_SIZE = 10_000

_TS = pa.timestamp("us")
_ARROW_TYPES = {"VARCHAR": pa.string(), "INTEGER": pa.int32(), "BOOLEAN": pa.bool_()}
FACT_SCHEMA = pa.schema([
    ("position", pa.int64()), ("submission_id", pa.string()), ("agency", pa.string()),
    ("event_id", pa.string()), ("type", pa.string()), ("occurred_at", pa.string()),
    ("occurred_utc", _TS), ("occurred_on", pa.date32()), ("recorded_at", _TS),
    ("backfill", pa.bool_()), ("supersedes", pa.string()), ("ended_at", _TS),
    ("ended_position", pa.int64()), ("ended_by", pa.string()), ("end_kind", pa.string()),
    ("case_ref", pa.string()), ("episode", pa.int32()),
    *((name, _ARROW_TYPES[kind]) for name, kind in PAYLOAD_COLUMNS.items()),
    ("payload", pa.string()),
])
REJECTION_SCHEMA = pa.schema([
    ("position", pa.int64()), ("rejection_id", pa.string()), ("agency", pa.string()),
    ("event_id", pa.string()), ("type", pa.string()), ("reason", pa.string()),
    ("field", pa.string()), ("message", pa.string()), ("raw", pa.string()),
    ("raw_encoding", pa.string()), ("received_at", _TS), ("backfill", pa.bool_()),
    ("source", pa.string()), ("quarantined", pa.bool_()), ("withdrawn_at", _TS),
])
END_SCHEMA = pa.schema([
    ("submission_id", pa.string()), ("ended_at", _TS), ("ended_position", pa.int64()),
    ("ended_by", pa.string()), ("end_kind", pa.string()),
])
# Rules written into the plan file are in force from the beginning of time.
PLAN_RULES_SINCE = datetime(1970, 1, 1)
@dataclass
class _Batch:
    """Rows gathered from one run of notifications, written together."""

    facts: list[tuple[Any, ...]] = field(default_factory=list)
    ends: list[dict[str, Any]] = field(default_factory=list)
    rejections: list[dict[str, Any]] = field(default_factory=list)
    agencies: list[tuple[Any, ...]] = field(default_factory=list)
    suspensions: list[tuple[bool, str]] = field(default_factory=list)
    plans: list[Plan] = field(default_factory=list)
    rules: list[tuple[Any, ...]] = field(default_factory=list)
    approvals: list[tuple[Any, ...]] = field(default_factory=list)
    acceptances: list[tuple[Any, ...]] = field(default_factory=list)
    reviews: list[tuple[Any, ...]] = field(default_factory=list)
    figure_checks: list[tuple[Any, ...]] = field(default_factory=list)
    audit: list[tuple[Any, ...]] = field(default_factory=list)
    users: list[tuple[Any, ...]] = field(default_factory=list)
    disabled_users: list[tuple[str, bool]] = field(default_factory=list)
    withdrawals: list[tuple[Any, str]] = field(default_factory=list)
    usernames: dict[Any, str] = field(default_factory=dict)  # user id -> name, for the audit

    def audited(self, position: int, event: Any, at: Any, actor: str, action: str,
                agency: str | None, subject: str | None, **details: Any) -> None:
        """One line of the audit trail: who did what, to what, and when."""
        self.audit.append((position, to_naive_utc(at), to_naive_utc(event.timestamp), actor,
                           action, agency, subject, json.dumps(details, default=str)))


class Projector:
    """Keeps one DuckDB read model up to date with one event store."""

    def __init__(self, app: Scorecard) -> None:
        self.app = app

    def position(self, connection: duckdb.DuckDBPyConnection) -> int:
        return tracked_position(connection, TRACKING_NAME)

    def catch_up(self, connection: duckdb.DuckDBPyConnection, batch_size: int = BATCH_SIZE) -> int:
        """Fold every notification after the tracked position; return how many."""
        folded = 0
        while True:
            position = self.position(connection)
            notifications = self.app.recorder.select_notifications(
                start=position, limit=batch_size, inclusive_of_start=False
            )
            if not notifications:
                return folded
            batch = _Batch()
            agency_codes: dict[Any, str] = {}
            for notification in notifications:
                domain_event = self.app.mapper.to_domain_event(notification)
                self._fold(batch, notification.id, domain_event, agency_codes)
            self._write(connection, batch, notifications[-1].id)
            folded += len(notifications)

    def _fold(
        self,
        batch: _Batch,
        position: int,
        event: Any,
        agency_codes: dict[Any, str],
    ) -> None:
        kind = type(event).__qualname__
        if kind.startswith("Agency.") and kind != "Agency.Registered":
            self._agency_code(event.originator_id, agency_codes)  # for the audit line
        if kind.startswith("User.") and kind != "User.Added":
            found: Any = self.app.repository.get(event.originator_id)
            batch.usernames[event.originator_id] = found.username  # for the audit line
        _audit(batch, position, event, kind, agency_codes)
        if kind == "Submission.Accepted":
            batch.facts.append(fact_row(position, event))
        elif kind in ("Submission.Superseded", "Submission.Retracted"):
            batch.ends.append({
                "submission_id": str(event.originator_id),
                "ended_at": to_naive_utc(event.at),
                "ended_position": position,
                "ended_by": event.by_event_id,
                "end_kind": "superseded" if kind == "Submission.Superseded" else "retracted",
            })
        elif kind == "Rejection.Recorded":
            batch.rejections.append(_rejection_row(position, event))
        elif kind == "Rejection.Withdrawn":
            batch.withdrawals.append((to_naive_utc(event.at), str(event.originator_id)))
        elif kind == "Agency.Registered":
            agency_codes[event.originator_id] = event.code
            batch.agencies.append((
                event.code, event.name, event.sector,
                ",".join(event.types) if event.types else None, False,
                to_naive_utc(event.timestamp),
            ))
        elif kind in ("Agency.Suspended", "Agency.Resumed"):
            batch.suspensions.append((kind == "Agency.Suspended",
                                      self._agency_code(event.originator_id, agency_codes)))
        elif kind == "AdoptedPlan.Adopted":
            plan = Plan.from_document(event.document)
            batch.plans.append(plan)
            batch.rules += [(position, measure_id, json.dumps(rules.to_document()),
                             PLAN_RULES_SINCE, "plan file", "as adopted")
                            for measure_id, rules in (plan.rules or {}).items()]
        elif kind == "User.Added":
            batch.users.append((event.username, event.role, event.agency, False,
                                to_naive_utc(event.timestamp), event.by))
        elif kind in ("User.Disabled", "User.Enabled"):
            batch.disabled_users.append((batch.usernames[event.originator_id],
                                         kind == "User.Disabled"))
        elif kind == "AdoptedPlan.RulesChanged":
            batch.rules.append((position, event.measure_id, json.dumps(event.rules),
                                to_naive_utc(event.at), event.by, event.reason))
        elif kind == "ReturnApproval.Approved":
            batch.approvals.append((position, event.agency, event.month,
                                    to_naive_utc(event.at), event.by))
        elif kind == "MonthAcceptance.Accepted":
            batch.acceptances.append((position, event.month, to_naive_utc(event.at), event.by,
                                      event.position))
        elif kind == "FigureCheck.Confirmed":
            batch.figure_checks.append((position, event.agency, event.measure_id, event.month,
                                        "confirmed", event.value, event.rule, event.detail,
                                        to_naive_utc(event.at), event.by))
        elif kind == "FigureCheck.FollowUpMarked":
            batch.figure_checks.append((position, event.agency, event.measure_id, event.month,
                                        "follow_up", None, None, event.note,
                                        to_naive_utc(event.at), event.by))
        elif kind == "ExceptionReview.Reviewed":
            batch.reviews.append((position, event.measure_id, event.month, event.agency,
                                  event.note_event_id, event.decision, event.comment,
                                  to_naive_utc(event.at), event.by))

    def _agency_code(self, originator_id: Any, known: dict[Any, str]) -> str:
        if originator_id not in known:
            agency: Any = self.app.repository.get(originator_id)
            assert isinstance(agency, Agency)
            known[originator_id] = agency.code
        return known[originator_id]

    def _write(self, connection: duckdb.DuckDBPyConnection, batch: _Batch, position: int) -> None:
        connection.begin()
        try:
            for plan in batch.plans:
                _write_plan(connection, plan)
            _insert_rows(connection, "agencies", batch.agencies)
            for suspended, code in batch.suspensions:
                connection.execute(
                    "UPDATE agencies SET suspended = ? WHERE code = ?", [suspended, code]
                )
            if batch.facts:
                new_facts = arrow_table(batch.facts, FACT_SCHEMA)
                connection.register("new_facts", new_facts)
                connection.execute("INSERT INTO facts SELECT * FROM new_facts")
                connection.unregister("new_facts")
            if batch.ends:
                ends = pa.Table.from_pylist(batch.ends, schema=END_SCHEMA)
                connection.register("ends", ends)
                connection.execute(
                    "UPDATE facts SET ended_at = ends.ended_at, ended_by = ends.ended_by, "
                    "ended_position = ends.ended_position, end_kind = ends.end_kind FROM ends "
                    "WHERE facts.submission_id = ends.submission_id"
                )
                connection.unregister("ends")
            if batch.rejections:
                rejected = pa.Table.from_pylist(batch.rejections, schema=REJECTION_SCHEMA)
                connection.register("new_rejections", rejected)
                connection.execute("INSERT INTO rejections SELECT * FROM new_rejections")
                connection.unregister("new_rejections")
            if batch.withdrawals:
                connection.executemany(
                    "UPDATE rejections SET withdrawn_at = ? WHERE rejection_id = ?",
                    batch.withdrawals)
            for table, rows in (("measure_rules", batch.rules), ("approvals", batch.approvals),
                                ("acceptances", batch.acceptances),
                                ("exception_reviews", batch.reviews),
                                ("figure_checks", batch.figure_checks), ("audit", batch.audit),
                                ("users", batch.users)):
                _insert_rows(connection, table, rows)
            for username, disabled in batch.disabled_users:
                connection.execute("UPDATE users SET disabled = ? WHERE username = ?",
                                   [disabled, username])
            connection.execute(
                "INSERT OR REPLACE INTO tracking VALUES (?, ?)", [TRACKING_NAME, position]
            )
            connection.commit()
        except BaseException:
            connection.rollback()
            raise


def _insert_rows(connection: duckdb.DuckDBPyConnection, table: str,
                 rows: list[tuple[Any, ...]]) -> None:
    """Append rows through Arrow: DuckDB's ``executemany`` inserts one row at a time,
    which made the audit trail nine tenths of a rebuild."""
    if not rows:
        return
    columns = [pa.array(list(column)) for column in zip(*rows, strict=True)]
    arrow = pa.Table.from_arrays(columns, names=[f"c{i}" for i in range(len(columns))])
    connection.register("new_rows", arrow)
    try:
        connection.execute(f"INSERT INTO {table} SELECT * FROM new_rows")
    finally:
        connection.unregister("new_rows")


def _submission_action(event: Any) -> str:
    if event.type == "event.retracted":
        return "retracted"
    if event.supersedes:
        return "corrected"
    return "backfilled" if event.backfill else "submitted"


USER_ACTIONS = {"User.Added": "user added", "User.Disabled": "user disabled",
                "User.Enabled": "user enabled", "User.PasswordChanged": "password changed",
                "User.SignInUnlocked": "sign-in unlocked"}


def _audit(batch: _Batch, position: int, event: Any, kind: str,
           agency_codes: dict[Any, str]) -> None:
    """The audit trail's line for an event, if it records a decision or a submission."""
    at = getattr(event, "at", None) or event.timestamp
    if kind == "Submission.Accepted":
        batch.audited(position, event, event.recorded_at, event.operator or event.agency,
                      _submission_action(event), event.agency, event.event_id, type=event.type,
                      signed_with=event.key_id, backfill=event.backfill, source=event.source)
    elif kind == "Rejection.Recorded":
        # A quarantined message proves no author: the agency it names is not its actor.
        quarantined = _quarantined(event)
        batch.audited(position, event, event.received_at,
                      "unauthenticated" if quarantined else event.producer,
                      "quarantined" if quarantined else "rejected",
                      event.producer, event.event_id, reason=event.reason, field=event.field,
                      source=event.source)
    elif kind == "Rejection.Withdrawn":
        batch.audited(position, event, at, event.by, "rejection withdrawn", event.agency,
                      event.event_id, rejection=str(event.originator_id))
    elif kind == "Agency.Registered":
        batch.audited(position, event, at, event.by, "agency registered", event.code,
                      signing.key_id(event.key), name=event.name, types=event.types)
    elif kind in ("Agency.Suspended", "Agency.Resumed", "Agency.KeyRotated",
                  "Agency.KeyRevoked"):
        code = agency_codes.get(event.originator_id)
        subject = (signing.key_id(event.new_key) if kind == "Agency.KeyRotated"
                   else getattr(event, "key_id", None))
        details = {"grace_until": event.grace_until} if kind == "Agency.KeyRotated" else {}
        action = {"Agency.Suspended": "agency suspended", "Agency.Resumed": "agency resumed",
                  "Agency.KeyRotated": "key rotated", "Agency.KeyRevoked": "key revoked"}[kind]
        batch.audited(position, event, at, event.by, action, code, subject, **details)
    elif kind == "ReturnApproval.Approved":
        batch.audited(position, event, at, event.by, "return approved", event.agency,
                      event.month)
    elif kind == "MonthAcceptance.Accepted":
        batch.audited(position, event, at, event.by, "month accepted", None, event.month,
                      pinned_position=event.position)
    elif kind in ("FigureCheck.Confirmed", "FigureCheck.FollowUpMarked"):
        action = ("outlier confirmed" if kind == "FigureCheck.Confirmed"
                  else "figure marked for follow-up")
        batch.audited(position, event, at, event.by, action, event.agency,
                      f"{event.measure_id} {event.month}")
    elif kind == "ExceptionReview.Reviewed":
        action = {"accepted": "exception note accepted",
                  "more_requested": "more asked of an exception note"}[event.decision]
        batch.audited(position, event, at, event.by, action, event.agency,
                      event.note_event_id, comment=event.comment)
    elif kind in USER_ACTIONS:
        action = USER_ACTIONS[kind]
        details = {"role": event.role} if kind == "User.Added" else {}
        batch.audited(position, event, at, event.by, action, getattr(event, "agency", None),
                      getattr(event, "username", None) or batch.usernames.get(
                          event.originator_id), **details)
    elif kind == "AdoptedPlan.RulesChanged":
        batch.audited(position, event, at, event.by, "rules changed", None, event.measure_id,
                      reason=event.reason, rules=event.rules)


def fact_row(position: int, event: Any) -> tuple[Any, ...]:
    """One row of ``facts``, in FACT_SCHEMA's order."""
    payload: dict[str, Any] = event.payload
    return (
        position, str(event.originator_id), event.agency, event.event_id, event.type,
        event.occurred_at, to_naive_utc(event.occurred_utc),
        date.fromisoformat(event.occurred_on[:10]), to_naive_utc(event.recorded_at),
        event.backfill, event.supersedes,
        None, None, None, None,  # ended_at, ended_position, ended_by, end_kind
        payload.get("case"), event.episode,
        *(payload.get(name) for name in PAYLOAD_COLUMNS),
        json.dumps(payload, sort_keys=True, ensure_ascii=False),
    )


def arrow_table(rows: list[tuple[Any, ...]], schema: pa.Schema) -> pa.Table:
    """Rows (tuples in the schema's order) as an Arrow table, built column by column."""
    columns = zip(*rows, strict=True)
    return pa.Table.from_arrays(
        [pa.array(column, type=kind) for column, kind in zip(columns, schema.types, strict=True)],
        schema=schema)


def _rejection_row(position: int, event: Any) -> dict[str, Any]:
    return {
        "position": position,
        "rejection_id": str(event.originator_id),
        "agency": event.producer,
        "event_id": event.event_id,
        "type": event.type,
        "reason": event.reason,
        "field": event.field,
        "message": event.message,
        "raw": event.raw,
        "raw_encoding": event.raw_encoding,
        "received_at": to_naive_utc(event.received_at),
        "backfill": event.backfill,
        "source": event.source,
        "quarantined": _quarantined(event),
        "withdrawn_at": None,
    }


def _quarantined(event: Any) -> bool:
    """Whether a ``Rejection.Recorded`` is in quarantine (not provably its producer's);
    one recorded before rejections said so is judged by its reason."""
    return not sent_by_producer(getattr(event, "authenticated", None), event.reason)


def _write_plan(connection: duckdb.DuckDBPyConnection, plan: Plan) -> None:
    connection.execute("DELETE FROM plan WHERE code = ?", [plan.code])
    connection.execute(
        "INSERT INTO plan VALUES (?, ?, ?, ?, ?, ?, ?)",
        [plan.code, plan.title, plan.partnership, plan.starts, plan.ends, plan.timezone,
         json.dumps(plan.document, ensure_ascii=False)],
    )
    connection.execute("DELETE FROM plan_actions")
    connection.executemany(
        "INSERT INTO plan_actions VALUES (?, ?, ?, ?, ?, ?, ?)",
        [(i, a.code, a.title, a.lead, a.due, a.objective, a.priority)
         for i, a in enumerate(plan.actions)],
    )
