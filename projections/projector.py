"""Folds the event store's notification log into the DuckDB read model, exactly once.

Each batch of notifications is written in one DuckDB transaction together with the
position it reached, so a crash either keeps the whole batch and its position or
neither: on restart the projector resumes after the last position it committed.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

import duckdb
import pyarrow as pa
from eventsourcing.domain import DomainEvent

from domain import signing
from domain.application import Scorecard
from domain.contract import record_role
from domain.model import (
    AdoptedPlan,
    Agency,
    Case,
    ExceptionReview,
    FigureCheck,
    MonthAcceptance,
    Rejection,
    ReturnApproval,
    Submission,
    sent_by_producer,
)
from domain.plan import Plan
from domain.timekeeping import to_naive_utc
from domain.users import SignInWindow, User
from projections import fact_counts
from projections.measures import Count
from projections.readmodel import PAYLOAD_COLUMNS, tracked_position
from projections.report import load_plan, scorecard_measures

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
        self.users_touched: set[Any] = set()  # user ids whose events were folded

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

    def _fold(self, batch: _Batch, position: int, event: Any,
              agency_codes: dict[Any, str]) -> None:
        """Fold one event: its audit line, then its rows, each chosen by the event's class
        (``AUDITS`` and ``FOLDS``); an event in neither table changes nothing here."""
        if isinstance(event, Agency.Event) and not isinstance(event, AGENCY_REGISTERED):
            self._agency_code(event.originator_id, agency_codes)  # for the audit line
        if isinstance(event, User.Event):
            self.users_touched.add(event.originator_id)
        if isinstance(event, User.Event) and not isinstance(event, USER_ADDED):
            found: Any = self.app.repository.get(event.originator_id)
            batch.usernames[event.originator_id] = found.username  # for the audit line
        audit = AUDITS.get(type(event))
        if audit is not None:
            audit(batch, position, event, agency_codes)
        fold = FOLDS.get(type(event))
        if fold is not None:
            fold(self, batch, position, event, agency_codes)

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
            if batch.facts or batch.plans:
                fact_counts.record(connection, _plan_counts(connection),
                                   batch.facts[0][0] - 1 if batch.facts else position)
            if batch.ends:
                ends = pa.Table.from_pylist(batch.ends, schema=END_SCHEMA)
                connection.register("ends", ends)
                connection.execute(
                    "UPDATE facts SET ended_at = ends.ended_at, ended_by = ends.ended_by, "
                    "ended_position = ends.ended_position, end_kind = ends.end_kind FROM ends "
                    "WHERE facts.submission_id = ends.submission_id"
                )
                fact_counts.end(connection, "ends")
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


def _plan_counts(connection: duckdb.DuckDBPyConnection) -> list[Count]:
    """The counts of the plan the read model holds (none before a plan is adopted)."""
    try:
        plan = load_plan(connection)
    except LookupError:
        return []
    return fact_counts.counts_of(scorecard_measures(plan))


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


def event_class(aggregate: type, name: str) -> type[DomainEvent]:
    """The event class ``aggregate.name``, found at import: renaming an event class breaks
    the projector's import loudly instead of silently folding nothing."""
    found = getattr(aggregate, name, None)
    if not (isinstance(found, type) and issubclass(found, DomainEvent)):
        raise TypeError(f"{aggregate.__name__} has no event class {name}")
    return found


SUBMISSION_ACCEPTED = event_class(Submission, "Accepted")
SUBMISSION_SUPERSEDED = event_class(Submission, "Superseded")
SUBMISSION_RETRACTED = event_class(Submission, "Retracted")
REJECTION_RECORDED = event_class(Rejection, "Recorded")
REJECTION_WITHDRAWN = event_class(Rejection, "Withdrawn")
AGENCY_REGISTERED = event_class(Agency, "Registered")
AGENCY_SUSPENDED = event_class(Agency, "Suspended")
AGENCY_RESUMED = event_class(Agency, "Resumed")
AGENCY_KEY_ROTATED = event_class(Agency, "KeyRotated")
AGENCY_KEY_REVOKED = event_class(Agency, "KeyRevoked")
PLAN_ADOPTED = event_class(AdoptedPlan, "Adopted")
PLAN_RULES_CHANGED = event_class(AdoptedPlan, "RulesChanged")
USER_ADDED = event_class(User, "Added")
USER_DISABLED = event_class(User, "Disabled")
USER_ENABLED = event_class(User, "Enabled")
USER_PASSWORD_CHANGED = event_class(User, "PasswordChanged")
USER_SIGN_IN_UNLOCKED = event_class(User, "SignInUnlocked")
RETURN_APPROVED = event_class(ReturnApproval, "Approved")
MONTH_ACCEPTED = event_class(MonthAcceptance, "Accepted")
FIGURE_CONFIRMED = event_class(FigureCheck, "Confirmed")
FIGURE_FOLLOW_UP = event_class(FigureCheck, "FollowUpMarked")
EXCEPTION_REVIEWED = event_class(ExceptionReview, "Reviewed")

# Recorded but adding nothing to the read model: an aggregate's empty start, and a case's
# own events (a case's history is read from the facts of the submissions that made it).
NOT_PROJECTED: frozenset[type[DomainEvent]] = frozenset({
    *(event_class(aggregate, "Started")
      for aggregate in (ReturnApproval, MonthAcceptance, ExceptionReview, FigureCheck)),
    *(event_class(Case, name) for name in ("Opened", "Referred", "Closed", "ReferralReplaced",
                                           "ClosureReplaced", "ReferralWithdrawn",
                                           "ClosureWithdrawn")),
    # The sign-in throttle's working record (every attempt, not the record of the
    # partnership); an administrator's unlock is audited by User.SignInUnlocked.
    *(event_class(SignInWindow, name) for name in ("Started", "Attempted", "Succeeded",
                                                   "Unlocked")),
})

Fold = Callable[[Projector, _Batch, int, Any, dict[Any, str]], None]
Audit = Callable[[_Batch, int, Any, dict[Any, str]], None]


def _fold_accepted(_p: Projector, batch: _Batch, position: int, event: Any,
                   _codes: dict[Any, str]) -> None:
    batch.facts.append(fact_row(position, event))


def _fold_ended(_p: Projector, batch: _Batch, position: int, event: Any,
                _codes: dict[Any, str]) -> None:
    batch.ends.append({
        "submission_id": str(event.originator_id),
        "ended_at": to_naive_utc(event.at),
        "ended_position": position,
        "ended_by": event.by_event_id,
        "end_kind": "superseded" if isinstance(event, SUBMISSION_SUPERSEDED) else "retracted",
    })


def _fold_rejection(_p: Projector, batch: _Batch, position: int, event: Any,
                    _codes: dict[Any, str]) -> None:
    batch.rejections.append(_rejection_row(position, event))


def _fold_withdrawal(_p: Projector, batch: _Batch, _position: int, event: Any,
                     _codes: dict[Any, str]) -> None:
    batch.withdrawals.append((to_naive_utc(event.at), str(event.originator_id)))


def _fold_agency(_p: Projector, batch: _Batch, _position: int, event: Any,
                 codes: dict[Any, str]) -> None:
    codes[event.originator_id] = event.code
    batch.agencies.append((event.code, event.name, event.sector,
                           ",".join(event.types) if event.types else None, False,
                           to_naive_utc(event.timestamp)))


def _fold_suspension(projector: Projector, batch: _Batch, _position: int, event: Any,
                     codes: dict[Any, str]) -> None:
    batch.suspensions.append((isinstance(event, AGENCY_SUSPENDED),
                              projector._agency_code(event.originator_id, codes)))


def _fold_plan(_p: Projector, batch: _Batch, position: int, event: Any,
               _codes: dict[Any, str]) -> None:
    plan = Plan.from_document(event.document)
    batch.plans.append(plan)
    batch.rules += [(position, measure_id, json.dumps(rules.to_document()),
                     PLAN_RULES_SINCE, "plan file", "as adopted")
                    for measure_id, rules in (plan.rules or {}).items()]


def _fold_user(_p: Projector, batch: _Batch, _position: int, event: Any,
               _codes: dict[Any, str]) -> None:
    batch.users.append((event.username, event.role, event.agency, False,
                        to_naive_utc(event.timestamp), event.by))


def _fold_user_disabled(_p: Projector, batch: _Batch, _position: int, event: Any,
                        _codes: dict[Any, str]) -> None:
    batch.disabled_users.append((batch.usernames[event.originator_id],
                                 isinstance(event, USER_DISABLED)))


def _fold_rules(_p: Projector, batch: _Batch, position: int, event: Any,
                _codes: dict[Any, str]) -> None:
    batch.rules.append((position, event.measure_id, json.dumps(event.rules),
                        to_naive_utc(event.at), event.by, event.reason))


def _fold_approval(_p: Projector, batch: _Batch, position: int, event: Any,
                   _codes: dict[Any, str]) -> None:
    batch.approvals.append((position, event.agency, event.month, to_naive_utc(event.at),
                            event.by))


def _fold_acceptance(_p: Projector, batch: _Batch, position: int, event: Any,
                     _codes: dict[Any, str]) -> None:
    batch.acceptances.append((position, event.month, to_naive_utc(event.at), event.by,
                              event.position))


def _fold_confirmed(_p: Projector, batch: _Batch, position: int, event: Any,
                    _codes: dict[Any, str]) -> None:
    batch.figure_checks.append((position, event.agency, event.measure_id, event.month,
                                "confirmed", event.value, event.rule, event.detail,
                                to_naive_utc(event.at), event.by))


def _fold_follow_up(_p: Projector, batch: _Batch, position: int, event: Any,
                    _codes: dict[Any, str]) -> None:
    batch.figure_checks.append((position, event.agency, event.measure_id, event.month,
                                "follow_up", None, None, event.note, to_naive_utc(event.at),
                                event.by))


def _fold_review(_p: Projector, batch: _Batch, position: int, event: Any,
                 _codes: dict[Any, str]) -> None:
    batch.reviews.append((position, event.measure_id, event.month, event.agency,
                          event.note_event_id, event.decision, event.comment,
                          to_naive_utc(event.at), event.by))


# What each event class adds to the read model: the one place a new event type is folded.
FOLDS: dict[type[DomainEvent], Fold] = {
    SUBMISSION_ACCEPTED: _fold_accepted,
    SUBMISSION_SUPERSEDED: _fold_ended,
    SUBMISSION_RETRACTED: _fold_ended,
    REJECTION_RECORDED: _fold_rejection,
    REJECTION_WITHDRAWN: _fold_withdrawal,
    AGENCY_REGISTERED: _fold_agency,
    AGENCY_SUSPENDED: _fold_suspension,
    AGENCY_RESUMED: _fold_suspension,
    PLAN_ADOPTED: _fold_plan,
    PLAN_RULES_CHANGED: _fold_rules,
    USER_ADDED: _fold_user,
    USER_DISABLED: _fold_user_disabled,
    USER_ENABLED: _fold_user_disabled,
    RETURN_APPROVED: _fold_approval,
    MONTH_ACCEPTED: _fold_acceptance,
    FIGURE_CONFIRMED: _fold_confirmed,
    FIGURE_FOLLOW_UP: _fold_follow_up,
    EXCEPTION_REVIEWED: _fold_review,
}


def _submission_action(event: Any) -> str:
    if record_role(event.type) == "retracts":
        return "retracted"
    if event.supersedes:
        return "corrected"
    return "backfilled" if event.backfill else "submitted"


def _at(event: Any) -> Any:
    return getattr(event, "at", None) or event.timestamp


def _audit_submission(batch: _Batch, position: int, event: Any,
                      _codes: dict[Any, str]) -> None:
    batch.audited(position, event, event.recorded_at, event.operator or event.agency,
                  _submission_action(event), event.agency, event.event_id, type=event.type,
                  signed_with=event.key_id, backfill=event.backfill, source=event.source)


def _audit_rejection(batch: _Batch, position: int, event: Any,
                     _codes: dict[Any, str]) -> None:
    # A quarantined message proves no author: the agency it names is not its actor.
    quarantined = _quarantined(event)
    batch.audited(position, event, event.received_at,
                  "unauthenticated" if quarantined else event.producer,
                  "quarantined" if quarantined else "rejected",
                  event.producer, event.event_id, reason=event.reason, field=event.field,
                  source=event.source)


def _audit_withdrawal(batch: _Batch, position: int, event: Any,
                      _codes: dict[Any, str]) -> None:
    batch.audited(position, event, _at(event), event.by, "rejection withdrawn", event.agency,
                  event.event_id, rejection=str(event.originator_id))


def _audit_registered(batch: _Batch, position: int, event: Any,
                      _codes: dict[Any, str]) -> None:
    batch.audited(position, event, _at(event), event.by, "agency registered", event.code,
                  signing.key_id(event.key), name=event.name, types=event.types)


def _audit_agency(action: str) -> Audit:
    def audit(batch: _Batch, position: int, event: Any, codes: dict[Any, str]) -> None:
        rotated = isinstance(event, AGENCY_KEY_ROTATED)
        subject = signing.key_id(event.new_key) if rotated else getattr(event, "key_id", None)
        details = {"grace_until": event.grace_until} if rotated else {}
        batch.audited(position, event, _at(event), event.by, action,
                      codes.get(event.originator_id), subject, **details)
    return audit


def _audit_approval(batch: _Batch, position: int, event: Any,
                    _codes: dict[Any, str]) -> None:
    batch.audited(position, event, _at(event), event.by, "return approved", event.agency,
                  event.month)


def _audit_acceptance(batch: _Batch, position: int, event: Any,
                      _codes: dict[Any, str]) -> None:
    batch.audited(position, event, _at(event), event.by, "month accepted", None, event.month,
                  pinned_position=event.position)


def _audit_figure(action: str) -> Audit:
    def audit(batch: _Batch, position: int, event: Any, _codes: dict[Any, str]) -> None:
        batch.audited(position, event, _at(event), event.by, action, event.agency,
                      f"{event.measure_id} {event.month}")
    return audit


def _audit_review(batch: _Batch, position: int, event: Any, _codes: dict[Any, str]) -> None:
    action = {"accepted": "exception note accepted",
              "more_requested": "more asked of an exception note"}[event.decision]
    batch.audited(position, event, _at(event), event.by, action, event.agency,
                  event.note_event_id, comment=event.comment)


def _audit_user(action: str, with_role: bool = False) -> Audit:
    def audit(batch: _Batch, position: int, event: Any, _codes: dict[Any, str]) -> None:
        details = {"role": event.role} if with_role else {}
        batch.audited(position, event, _at(event), event.by, action,
                      getattr(event, "agency", None),
                      getattr(event, "username", None) or batch.usernames.get(
                          event.originator_id), **details)
    return audit


def _audit_rules(batch: _Batch, position: int, event: Any, _codes: dict[Any, str]) -> None:
    batch.audited(position, event, _at(event), event.by, "rules changed", None,
                  event.measure_id, reason=event.reason, rules=event.rules)


# The audit trail's line for each event class that records a decision or a submission.
AUDITS: dict[type[DomainEvent], Audit] = {
    SUBMISSION_ACCEPTED: _audit_submission,
    REJECTION_RECORDED: _audit_rejection,
    REJECTION_WITHDRAWN: _audit_withdrawal,
    AGENCY_REGISTERED: _audit_registered,
    AGENCY_SUSPENDED: _audit_agency("agency suspended"),
    AGENCY_RESUMED: _audit_agency("agency resumed"),
    AGENCY_KEY_ROTATED: _audit_agency("key rotated"),
    AGENCY_KEY_REVOKED: _audit_agency("key revoked"),
    RETURN_APPROVED: _audit_approval,
    MONTH_ACCEPTED: _audit_acceptance,
    FIGURE_CONFIRMED: _audit_figure("outlier confirmed"),
    FIGURE_FOLLOW_UP: _audit_figure("figure marked for follow-up"),
    EXCEPTION_REVIEWED: _audit_review,
    USER_ADDED: _audit_user("user added", with_role=True),
    USER_DISABLED: _audit_user("user disabled"),
    USER_ENABLED: _audit_user("user enabled"),
    USER_PASSWORD_CHANGED: _audit_user("password changed"),
    USER_SIGN_IN_UNLOCKED: _audit_user("sign-in unlocked"),
    PLAN_RULES_CHANGED: _audit_rules,
}


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
