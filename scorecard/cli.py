"""``scorecard``: the command line of the agency event contract (section 5), and a few more.

Each command is a thin shell: parse arguments, call the core, print the answer.

A command imports the read model's side (DuckDB, the projections, the renderers) only
when it reads the read model: most commands record an event, and every one is a new
process, so what is imported at the start is paid on each (the tests run hundreds).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, TypeVar

from domain.application import Scorecard
from domain.contract import EVENT_TYPES, MONTH, SECTORS, decode_message
from domain.errors import CommandError, Rejected
from domain.exception_notes import note_message
from domain.timekeeping import iso_utc, parse_day, parse_moment, utc_now
from domain.users import ROLES
from ingest.file_push import produce_file, push_file, push_message
from ingest.kafka_messages import TOPIC
from ingest.kafka_worker import BATCH_SIZE, WorkerSettings
from projections.audiences import AUDIENCES
from scorecard.access import AccessStore
from scorecard.bootstrap import Home, ProjectorBusy, actor, head_of, new_cipher_key
from scorecard.demo.feed import DEFAULT_SECONDS_PER_DAY
from scorecard.service import DEFAULT_INTERVAL, Process, follow, run_together
from scorecard.settings import STORE_ACCESS, Settings, markdown_table
from scorecard_ui.session_tokens import SessionTokens
from scorecard_ui.throttle import (
    Locked,
    SignInThrottle,
    attempt_sign_in,
    said,
    unlock_sign_in,
)

if TYPE_CHECKING:
    import duckdb

    from projections.rejected import View
    from projections.snapshots import Published

T = TypeVar("T")


def _write_key(path: Path, key: str) -> None:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as stream:
        stream.write(key)


def _read_key(path: Path) -> str:
    try:
        key = Path(path).read_text("utf-8").strip()
    except OSError as error:
        raise CommandError(f"cannot read key file {path}: {error.strerror}") from None
    if not key:
        raise CommandError(f"key file {path} is empty")
    return key


def _opened(args: argparse.Namespace) -> tuple[Home, Scorecard]:
    """The home the settings name, and its application (a new home adopts its plan then):
    where every command that records or reads starts."""
    home = Home.from_settings(args.settings)
    return home, home.open()


@contextmanager
def _read_model(args: argparse.Namespace) -> Iterator[tuple[Scorecard, duckdb.DuckDBPyConnection]]:
    """The application and the published read model, brought up to date first
    (``_reading``): where every command that reads the read model starts."""
    home, app = _opened(args)
    with _reading(home, app) as connection:
        yield app, connection


def cmd_init(args: argparse.Namespace) -> int:
    home = Home.from_settings(args.settings)
    app = home.open(args.plan)
    print(f"home {home.path} counts against plan {app.plan.code} ({app.plan.title})")
    return 0


def cmd_agency_add(args: argparse.Namespace) -> int:
    types = [t.strip() for t in args.types.split(",") if t.strip()] if args.types else None
    app = Home.from_settings(args.settings).open()
    key = app.register_agency(args.code, args.name, args.sector, types, by=actor())
    _write_key(args.key_file, key)
    print(f"registered {args.code}; its key is in {args.key_file}")
    return 0


def cmd_agency_rotate_key(args: argparse.Namespace) -> int:
    app = Home.from_settings(args.settings).open()
    if args.grace_hours < 0:
        raise CommandError("--grace-hours cannot be negative")
    now = utc_now()
    key = app.rotate_key(args.code, timedelta(hours=args.grace_hours), by=actor(), at=now)
    _write_key(args.key_file, key)
    until = iso_utc(now + timedelta(hours=args.grace_hours))
    print(f"new key for {args.code} in {args.key_file}; older keys work until {until}")
    return 0


def cmd_agency_revoke_key(args: argparse.Namespace) -> int:
    app = Home.from_settings(args.settings).open()
    app.revoke_key(args.code, args.key_id, by=actor(), at=utc_now())
    print(f"revoked key {args.key_id} of {args.code}")
    return 0


def cmd_agency_keys(args: argparse.Namespace) -> int:
    app = Home.from_settings(args.settings).open()
    agency = app.agency(args.code)
    if agency is None:
        raise CommandError(f"agency {args.code} is not registered")
    for key_id, expires in agency.key_ids().items():
        print(f"{key_id}  {'expires ' + iso_utc(expires) if expires else 'current'}")
    return 0


def _password(args: argparse.Namespace) -> str:
    """From --password-file, else SCORECARD_PASSWORD, else a prompt at a terminal."""
    if args.password_file:
        return _read_key(args.password_file)
    if args.settings.password:
        return str(args.settings.password)
    if sys.stdin.isatty():
        import getpass

        return getpass.getpass("password: ")
    raise CommandError("give the password with --password-file or SCORECARD_PASSWORD")


def cmd_user_add(args: argparse.Namespace) -> int:
    app = Home.from_settings(args.settings).open()
    app.add_user(args.username, args.role, args.agency, _password(args), by=actor())
    print(f"added {args.role} user {args.username}")
    return 0


def cmd_user_disable(args: argparse.Namespace) -> int:
    home = Home.from_settings(args.settings)
    home.open().disable_user(args.username, by=actor(), at=utc_now())
    SessionTokens(AccessStore(home.access_path)).end_all(args.username)
    print(f"disabled {args.username}; their sessions are ended")
    return 0


def cmd_user_enable(args: argparse.Namespace) -> int:
    Home.from_settings(args.settings).open().enable_user(args.username, by=actor(), at=utc_now())
    print(f"enabled {args.username}")
    return 0


def cmd_user_reset_password(args: argparse.Namespace) -> int:
    home = Home.from_settings(args.settings)
    home.open().reset_password(args.username, _password(args), by=actor())
    SessionTokens(AccessStore(home.access_path)).end_all(args.username)
    print(f"reset the password of {args.username}; their sessions are ended")
    return 0


def cmd_user_unlock(args: argparse.Namespace) -> int:
    app = Home.from_settings(args.settings).open()
    forgotten = unlock_sign_in(app, SignInThrottle(app), args.username, by=actor(),
                               at=utc_now())
    print(f"unlocked {args.username} ({forgotten} failed sign-ins forgotten)")
    return 0


def cmd_user_status(args: argparse.Namespace) -> int:
    """A user's role, whether they may sign in, and their failed sign-ins and locks (the
    throttle's count in the event store, as every page process sees it)."""
    app = Home.from_settings(args.settings).open()
    user = app.user(args.username)
    if user is None:
        raise CommandError(f"no user {args.username}")
    print(f"{user.username}: {user.role}" + (f" of {user.agency}" if user.agency else "")
          + ("; disabled" if user.disabled else "; may sign in") + ". "
          + said(*SignInThrottle(app).standing(args.username, utc_now())))
    return 0


def cmd_agency_suspend(args: argparse.Namespace) -> int:
    Home.from_settings(args.settings).open().set_suspended(args.code, True, by=actor())
    print(f"suspended {args.code}")
    return 0


def cmd_agency_resume(args: argparse.Namespace) -> int:
    Home.from_settings(args.settings).open().set_suspended(args.code, False, by=actor())
    print(f"resumed {args.code}")
    return 0


def cmd_push(args: argparse.Namespace) -> int:
    home = Home.from_settings(args.settings)
    if home.kafka_bootstrap and not args.known_at:
        return _push_to_kafka(home.kafka_bootstrap, args.settings.kafka_security, args)
    app = home.open()
    now = utc_now()
    known_at = None
    operator = actor()
    if args.known_at:
        known_at = _parse(lambda t: parse_moment(t, app.plan.zone), args.known_at, "--known-at")
        if known_at > now:
            raise CommandError(f"--known-at {args.known_at} is later than now")
        operator = _backfill_administrator(args, home, app)
    if not Path(args.file).is_file():
        raise CommandError(f"no such file: {args.file}")
    summary = push_file(app, Path(args.file), agency=args.agency, key=_read_key(args.key_file),
                        now=now, known_at=known_at, operator=operator)
    if args.json:
        print(json.dumps({
            "accepted": summary.accepted, "duplicate": summary.duplicate,
            "rejected": summary.rejected,
            "rejections": [
                {"source": o.source, "event_id": o.event_id, "reason": o.rejection.reason,
                 "field": o.rejection.field, "message": o.rejection.message}
                for o in summary.rejections if o.rejection is not None
            ],
        }, indent=2))
    else:
        for outcome in summary.rejections:
            print(f"{outcome.source}: {outcome.rejection}")
        print(summary.line())
    return 0


def _backfill_administrator(args: argparse.Namespace, home: Home, app: Scorecard) -> str:
    """The administrator who authorises a backfill (``--known-at`` on a command that
    records something): ``--admin NAME`` (or ``SCORECARD_ADMIN``, so the contract's own
    form of ``push --known-at`` runs unchanged where an administrator has set both) with
    that user's password from ``SCORECARD_ADMIN_PASSWORD`` or a prompt, checked like a
    sign-in on the page (same throttle, source "command line"). A backfill changes what
    the board knew on a past day, so an agency's key file is not enough; the name
    recorded in the audit is the one whose password was checked, not a variable anyone
    can set."""
    name = args.admin or args.settings.admin
    option = "--admin" if args.admin else "SCORECARD_ADMIN"
    if not name:
        raise CommandError("--known-at is an administrator's backfill: give --admin NAME "
                           "(or SCORECARD_ADMIN=NAME) and the password in "
                           "SCORECARD_ADMIN_PASSWORD or at the prompt")
    password = args.settings.admin_password or ""
    if not password and sys.stdin.isatty():
        import getpass

        password = getpass.getpass(f"password of administrator {name}: ")
    if not password:
        raise CommandError("give the administrator's password in SCORECARD_ADMIN_PASSWORD")
    user = attempt_sign_in(app, SignInThrottle(app), name, password, "command line",
                           utc_now())
    if isinstance(user, Locked):
        raise CommandError(f"too many failed sign-ins for {name}: try again after "
                           f"{user.until:%H:%M} UTC")
    if user is None or user.role != "administrator":
        raise CommandError(f"{option} {name}: not an administrator, or wrong password")
    return str(user.username)


def _recorded_by(args: argparse.Namespace, home: Home, app: Scorecard) -> str:
    """Who a recording command is by: an authenticated administrator for a backfill,
    else the operating-system account running the command."""
    return _backfill_administrator(args, home, app) if args.known_at else actor()


def _known_at(args: argparse.Namespace, app: Scorecard, option: str = "known_at") -> datetime:
    """A ``--known-at``-style option (default now), never later than now."""
    text = getattr(args, option)
    if not text:
        return utc_now()
    moment = _parse(lambda t: parse_moment(t, app.plan.zone), text,
                    "--" + option.replace("_", "-"))
    return moment


def _push_to_kafka(bootstrap: str, security: tuple[tuple[str, str], ...],
                   args: argparse.Namespace) -> int:
    """Produce each line to ``agency-events``; the ingest workers decide them."""
    if not Path(args.file).is_file():
        raise CommandError(f"no such file: {args.file}")
    produced = produce_file(bootstrap, Path(args.file), agency=args.agency,
                            key=_read_key(args.key_file), security=security)
    if args.json:
        print(json.dumps({"produced": produced, "topic": TOPIC}))
    else:
        print(f"produced {produced} to {TOPIC}; the ingest workers decide them")
    return 0


def cmd_ingest(args: argparse.Namespace) -> int:
    from scorecard.workers import run_workers

    home = Home.from_settings(args.settings)
    if not home.kafka_bootstrap:
        raise CommandError("set SCORECARD_KAFKA_BOOTSTRAP to the Kafka brokers to ingest from")
    home.open()  # a new home adopts its plan once, before the workers start
    settings = WorkerSettings(home.kafka_bootstrap, batch_size=args.batch_size,
                              fault_after_commit=args.settings.fault_after_commit,
                              security=args.settings.kafka_security)
    return run_workers(home, settings, args.workers)


def _window(args: argparse.Namespace) -> tuple[date, date | None]:
    """``--as-at`` and the optional ``--from`` of a report-like command."""
    as_at = _parse(parse_day, args.as_at, "--as-at")
    return as_at, _parse(parse_day, args.from_day, "--from") if args.from_day else None


def cmd_report(args: argparse.Namespace) -> int:
    from projections.disclosure import disclosed_report
    from projections.report import build_report
    from scorecard.rendering import (
        as_json,
        render_disclosed_text,
        render_text,
        report_csv,
        report_json,
    )

    as_at, from_day = _window(args)
    with _read_model(args) as (app, connection):
        report = build_report(connection, as_at=as_at, known_at=_known_at(args, app),
                              from_day=from_day, rules=args.rules)
        if args.audience is not None:
            if args.csv:
                raise CommandError("--csv prints the scorecard as counted; for what "
                                   f"{args.audience} is shown use --for {args.audience} "
                                   "--json, or the text form")
            shown = disclosed_report(connection, report, args.audience)
            print(as_json(shown) if args.json else render_disclosed_text(shown))
            return 0
    if args.csv:
        print(report_csv(report), end="")
    else:
        print(report_json(report) if args.json else render_text(report))
    return 0


def cmd_diff(args: argparse.Namespace) -> int:
    from projections.disclosure import disclosed_restatements
    from projections.restatements import restatements
    from scorecard.rendering import as_json, render_restatements

    as_at, from_day = _window(args)
    with _read_model(args) as (app, connection):
        diff = restatements(connection, as_at=as_at, known_at=_known_at(args, app),
                            against=_known_at(args, app, "against"), from_day=from_day)
        if args.audience is not None:
            diff = disclosed_restatements(connection, diff, args.audience)
    print(as_json(diff) if args.json else render_restatements(diff))
    return 0


def cmd_pack(args: argparse.Namespace) -> int:
    """A meeting's reproducible pack (CSV and printable HTML) into --out."""
    from scorecard.packs import stated_hash, write_pack

    home, app = _opened(args)
    meeting = _parse(parse_day, args.meeting, "--meeting")
    from_day = _parse(parse_day, args.from_day, "--from") if args.from_day else None
    known = _parse(lambda t: parse_moment(t, app.plan.zone), args.known, "--known") if (
        args.known) else None
    with _reading(home, app) as connection:
        paths = write_pack(connection, Path(args.out), meeting=meeting, known_at=known,
                           audience=args.audience, from_day=from_day)
    for path in paths:
        print(f"{path}  sha256 {stated_hash(path.read_bytes())}")
    return 0


def cmd_verify_pack(args: argparse.Namespace) -> int:
    """Check each pack's stated hash against its content: 0 if every one matches."""
    from scorecard.packs import stated_hash, verify

    failed = 0
    for name in args.files:
        try:
            data = Path(name).read_bytes()
        except OSError as error:
            raise CommandError(f"cannot read {name}: {error.strerror}") from None
        good = verify(data)
        failed += not good
        print(f"{name}: {'ok' if good else 'ALTERED or not a pack'} "
              f"(stated sha256 {stated_hash(data) or 'none'})")
    return 1 if failed else 0


def cmd_returns(args: argparse.Namespace) -> int:
    from projections.report import load_plan
    from projections.returns import returns_calendar
    from scorecard.rendering import as_json, render_calendar

    if not MONTH.match(args.month):
        raise CommandError(f"--month {args.month!r} is not a month in the form YYYY-MM")
    with _read_model(args) as (app, connection):
        rows = returns_calendar(connection, load_plan(connection), args.month,
                                _known_at(args, app))
    print(as_json(rows) if args.json else render_calendar(rows))
    return 0


def cmd_quality(args: argparse.Namespace) -> int:
    from projections.report import load_plan
    from projections.returns import data_quality
    from scorecard.rendering import as_json, render_quality

    with _read_model(args) as (app, connection):
        rows = data_quality(connection, load_plan(connection), _known_at(args, app),
                            args.agency)
    print(as_json(rows) if args.json else render_quality(rows))
    return 0


def cmd_approve(args: argparse.Namespace) -> int:
    home, app = _opened(args)
    at = _known_at(args, app)
    app.approve_return(args.agency, args.month, _read_key(args.key_file),
                       by=_recorded_by(args, home, app), at=at)
    print(f"{args.agency} approved its return for {args.month}")
    return 0


def cmd_accept(args: argparse.Namespace) -> int:
    home, app = _opened(args)
    at = _known_at(args, app)
    position = app.accept_month(args.month, by=_recorded_by(args, home, app), at=at)
    print(f"the board accepted {args.month}; figures pinned at log position {position}")
    return 0


def cmd_exception_note(args: argparse.Namespace) -> int:
    """An agency's exception note for a measure's month, signed with its key."""
    home, app = _opened(args)
    now = utc_now()
    known_at = _known_at(args, app) if args.known_at else None
    if known_at is not None and known_at > now:
        raise CommandError(f"--known-at {args.known_at} is later than now")
    operator = _recorded_by(args, home, app)
    written = (known_at or now).astimezone(app.plan.zone).date()
    recover_by = _parse(parse_day, args.recover_by, "--recover-by").isoformat()
    message = note_message(agency=args.agency, measure=args.measure, month=args.month,
                           what_happened=args.what_happened, why=args.why,
                           recovery=args.recovery, recover_by=recover_by, owner=args.owner,
                           written_on=written, supersedes=args.supersedes)
    outcome = push_message(app, message, agency=args.agency, key=_read_key(args.key_file),
                           now=now, source="scorecard exception note", operator=operator,
                           known_at=known_at)
    if outcome.rejection is not None:
        raise CommandError(f"the note was rejected: {outcome.rejection}")
    print(f"exception note {outcome.event_id} for {args.measure} in {args.month}: "
          f"{outcome.status}")
    return 0


def cmd_exception_review(args: argparse.Namespace) -> int:
    """The board accepts a note or asks its agency for more."""
    home, app = _opened(args)
    decision = "accepted" if args.accept else "more_requested"
    app.review_exception(args.measure, args.month, args.agency, args.note, decision,
                         args.comment or "", by=_recorded_by(args, home, app),
                         at=_known_at(args, app))
    print(f"exception note {args.note} for {args.measure} in {args.month}: "
          f"{decision.replace('_', ' ')}")
    return 0


def cmd_exception_list(args: argparse.Namespace) -> int:
    """Every measure's exception flag for the as-at month, as known."""
    from projections.report import build_report
    from scorecard.rendering import as_json

    as_at, from_day = _window(args)
    with _read_model(args) as (app, connection):
        report = build_report(connection, as_at=as_at, known_at=_known_at(args, app),
                              from_day=from_day)
    flags = {m.id: m.exception.to_json() for m in report.measures if m.exception}
    if args.json:
        print(as_json(flags))
    else:
        for measure_id, flag in flags.items():
            note = flag["note"]
            why = ", ".join(flag["reasons"]) or "no longer owed"
            print(f"{measure_id} {flag['month']} ({why}): {flag['status'].replace('_', ' ')}"
                  + (f" - {note['agency']} {note['event_id']}" if note else ""))
        if not flags:
            print("no exception notes owed or written")
    return 0


def cmd_evidence(args: argparse.Namespace) -> int:
    """The events behind a measure's figure; with --verify, each signature checked again."""
    from projections.evidence import check_signature, evidence
    from scorecard.rendering import as_json

    as_at, from_day = _window(args)
    with _read_model(args) as (app, connection):
        found = evidence(connection, args.measure, as_at=as_at,
                         known_at=_known_at(args, app), from_day=from_day)
    shown = found.to_json(with_cases=args.with_cases)
    if args.verify:
        for row, event in zip(shown["events"], found.events, strict=True):
            row["signature"] = check_signature(app, event.submission_id).to_json()
    if args.json:
        print(as_json(shown))
        return 0
    since = f"from {shown['window']['from']} " if shown["window"]["from"] else ""
    print(f"{found.measure.title} ({found.measure.id}): {len(found.events)} events {since}"
          f"to {found.window[1]}, as known at {shown['known_at']}")
    print(f"counted: {shown['counted']}")
    for row in shown["events"]:
        check = f"  signature {row['signature']['status']}" if args.verify else ""
        case = f"  case {row['case']}" if args.with_cases and row.get("case") else ""
        print(f"{row['event_id']:<28} {row['agency']:<22} {row['type']:<26} "
              f"occurred {row['occurred_at']:<25} known {row['known_at']}  "
              f"{row['arrival']}{case}{check}")
    return 0


def cmd_outliers_check(args: argparse.Namespace) -> int:
    """The figures a return would make that the outlier rule questions (nothing is sent)."""
    from projections.outliers import flag_return
    from projections.report import load_plan
    from scorecard.rendering import as_json

    home, app = _opened(args)
    if not Path(args.file).is_file():
        raise CommandError(f"no such file: {args.file}")
    messages = []
    for number, line in enumerate(Path(args.file).read_bytes().splitlines(), start=1):
        if not line.strip():
            continue
        try:
            messages.append(decode_message(line))
        except Rejected as error:
            print(f"line {number}: not judged: {error}", file=sys.stderr)
    with _reading(home, app) as connection:
        flags = flag_return(connection, load_plan(connection), args.agency, messages,
                            utc_now())
    if args.json:
        print(as_json([f.to_json() for f in flags]))
    else:
        for flag in flags:
            print(flag.explain())
        print(f"{len(flags)} figure(s) questioned" if flags else "no figure questioned")
    return 0


def cmd_outliers_list(args: argparse.Namespace) -> int:
    """Figures confirmed after being questioned at entry, and their follow-up marks."""
    from projections.outliers import confirmed_figures
    from scorecard.rendering import as_json

    with _read_model(args) as (app, connection):
        rows = confirmed_figures(connection, _known_at(args, app), args.agency)
    if args.json:
        print(as_json(rows))
    else:
        for r in rows:
            follow = f"  follow up: {r['follow_up_note']}" if r["follow_up"] else ""
            print(f"{r['agency']} {r['measure']} {r['month']}: {r['explain']} "
                  f"(confirmed by {r['confirmed_by']}){follow}")
        if not rows:
            print("no confirmed outliers")
    return 0


def cmd_outliers_follow_up(args: argparse.Namespace) -> int:
    """The board's reviewer marks a confirmed figure for follow-up."""
    app = Home.from_settings(args.settings).open()
    app.mark_figure_for_follow_up(args.agency, args.measure, args.month, args.note,
                                  by=actor(), at=utc_now())
    print(f"{args.agency} {args.measure} {args.month} marked for follow-up")
    return 0


def cmd_rules_set(args: argparse.Namespace) -> int:
    home, app = _opened(args)
    by = _recorded_by(args, home, app)
    targets = []
    for step in args.target or []:
        start, _, value = step.partition("=")
        targets.append({"from": _parse(parse_day, start, "--target").isoformat(),
                        "value": _parse(float, value, "--target")})
    rag: list[dict[str, object]] = []
    for rule in args.rag or []:
        colour, _, share = rule.partition("=")
        rag.append({"rag": colour, **({"share": _parse(float, share, "--rag")} if share else {})})
    document: dict[str, object] = {"target": targets, "rag": rag}
    if args.profile:
        weights = dict(part.partition("=")[::2] for part in args.profile.split(","))
        document["profile"] = {month.strip(): _parse(float, weight, "--profile")
                               for month, weight in weights.items()}
    app.change_rules(args.measure, document, args.reason, by=by, at=_known_at(args, app))
    print(f"rules for {args.measure} changed")
    return 0


def cmd_rejected(args: argparse.Namespace) -> int:
    from projections.rejected import list_rejected
    from scorecard.rendering import as_json, render_rejected

    # An agency's list is its own rejections only; quarantine is asked for by name.
    view: View = "quarantine" if args.quarantine else "own" if args.agency else "all"
    with _read_model(args) as (_app, connection):
        rejections = list_rejected(connection, args.agency, view)
    print(as_json(rejections) if args.json else render_rejected(rejections))
    return 0


def cmd_project(args: argparse.Namespace) -> int:
    """The projector: once, or as the service (``--follow``) until SIGTERM or Ctrl-C."""
    home = Home.from_settings(args.settings)
    if args.follow:
        return follow(home, args.interval)
    app = home.open_store()
    try:
        folded = home.project(app, wait=READ_WAIT_SECONDS * 5)
    except ProjectorBusy:  # the service is running but has not caught up
        head = head_of(app)
        print(f"the projector service is running; the read model is "
              f"{_behind(home.published(), head)}")
        return 0
    print(f"folded {folded} events; the read model is published up to log position "
          f"{head_of(app)}")
    return 0


# How long a report waits for the projector to fold what the event log already holds.
READ_WAIT_SECONDS = 3.0


def _behind(published: Published | None, head: int) -> str:
    if published is None:
        return "not published yet"
    behind = published.behind(head)
    if not behind:
        return "up to date with the event log"
    return (f"{behind} event(s) behind the event log (published "
            f"{published.published_at:%d %b %Y %H:%M:%S} UTC)")


@contextmanager
def _reading(home: Home, app: Scorecard) -> Iterator[duckdb.DuckDBPyConnection]:
    """The published read model for a report, up to date with the event log.

    The agencies' contract makes ``report`` count everything known now, so when the read
    model is behind and no projector service is running, the command does the
    projector's one pass itself (``scorecard project``) before it reads; when a service
    holds the working file, it waits a moment for that service to publish. Still behind
    after that (a busy service), the report says so on standard error (the report itself
    stays machine-readable). The pages never do this: they only read."""
    head = head_of(app)
    published = home.published()
    if published is None or published.behind(head):
        try:
            with home.working_readmodel(wait=0.2) as connection:
                home.fold_and_publish(app, connection)
        except ProjectorBusy:  # the service folds it: give it a moment
            home.wait_for(head, READ_WAIT_SECONDS)
        published = home.published()
    if published is None or published.behind(head):
        print(f"scorecard: note: the read model is {_behind(published, head)}; the "
              "projector service has not caught up yet", file=sys.stderr)
    with home.reader() as connection:
        yield connection


def cmd_audit(args: argparse.Namespace) -> int:
    from projections.audit import audit_trail
    from scorecard.rendering import as_json, render_audit

    home, app = _opened(args)
    since = _known_at(args, app, "since") if args.since else None
    with _reading(home, app) as connection:
        rows = audit_trail(connection, args.agency, since)
    print(as_json(rows) if args.json else render_audit(rows))
    return 0


def cmd_settings(args: argparse.Namespace) -> int:
    """The effective configuration, secrets masked; or the table of every setting."""
    if args.table:
        print(markdown_table(), end="")
        return 0
    shown = args.settings.effective()
    width = max(len(name) for name, _ in shown)
    for name, value in shown:
        print(f"{name:<{width}}  {value}")
    return 0


def cmd_cipher_key(args: argparse.Namespace) -> int:
    print(new_cipher_key())
    return 0


def cmd_readmodel_key(args: argparse.Namespace) -> int:
    """The read model's key, for a read page process's SCORECARD_READMODEL_KEY."""
    key = Home.from_settings(args.settings).readmodel_key()
    if key is None:
        raise CommandError("no cipher key (SCORECARD_CIPHER_KEY or SCORECARD_CIPHER_KEY_FILE)"
                           " nor read-model key is set: the read model is not encrypted")
    print(key)
    return 0


def cmd_rebuild(args: argparse.Namespace) -> int:
    folded = Home.from_settings(args.settings).rebuild()
    print(f"rebuilt the read model from {folded} stored events")
    return 0


def cmd_demo(args: argparse.Namespace) -> int:
    from scorecard.demo import build_demo_home
    from scorecard.demo.build import DEMO_USERS, demo_password

    home = Home.from_settings(args.settings)
    build_demo_home(home, replace=True)
    print(f"demo home built at {home.path}")
    print("sign in as: " + ", ".join(f"{name} / {demo_password(name)} ({role})"
                                     for name, role, _ in DEMO_USERS))
    if args.no_ui:
        return 0
    return _serve(home, args, feed=None if args.no_feed else args.feed_seconds_per_day)


def cmd_ui(args: argparse.Namespace) -> int:
    return _serve(Home.from_settings(args.settings), args)


def _serve(home: Home, args: argparse.Namespace, feed: float | None = None) -> int:
    """The projector, the page and (for the demo, one plan day every ``feed`` seconds) the
    demo feed, started and stopped together: Ctrl-C or SIGTERM stops all of them, and so
    does any one failing (the feed may also finish its year and leave the others)."""
    server_path = Path(__file__).resolve().parent.parent / "scorecard_ui" / "server.py"
    settings = home.settings
    inherited = dict(os.environ)
    if settings.reads_only:  # read pages: no event store, no key, no projector here
        settings = settings.without_store_access(home.readmodel_key())
        inherited = {name: value for name, value in inherited.items()
                     if name not in STORE_ACCESS and name.removesuffix("_FILE")
                     not in STORE_ACCESS}
    env = inherited | settings.environment()
    members = []
    if not (args.no_projector or settings.reads_only):
        members.append(Process(
            "projector", [sys.executable, "-m", "scorecard.cli", "project", "--follow"], env,
            ready=lambda: home.published() is not None))
    if feed is not None:
        members.append(Process(
            "demo feed", [sys.executable, "-m", "scorecard.demo.feed", "--seconds-per-day",
                          str(feed)], env, essential=False))
    members.append(Process("page", [
        sys.executable, "-m", "streamlit", "run", str(server_path),
        "--server.address", args.host, "--server.port", str(args.port),
        "--server.headless", "true",
        *(f"--{name}={value}" for name, value in STREAMLIT_SETTINGS.items())], env))
    print(f"serving the scorecard on http://{args.host}:{args.port}/", flush=True)
    return run_together(members)


# The page's Streamlit settings (also in scorecard_ui/.streamlit/config.toml, for a
# deployment that runs Streamlit itself): no tracebacks or developer toolbar for users,
# uploads capped (docs/security.md).
STREAMLIT_SETTINGS = {
    "client.showErrorDetails": "none",
    "client.toolbarMode": "viewer",
    "server.maxUploadSize": "64",  # MAX_UPLOAD_BYTES of scorecard_ui/returns_upload.py
    "browser.gatherUsageStats": "false",
    "theme.base": "light",  # one theme, the one tested to WCAG 2.2 AA (docs/accessibility.md)
    "theme.primaryColor": "#1d70b8",  # GOV.UK blue: a focused field is not drawn in red
}


def _parse(parser: Callable[[str], T], text: str, option: str) -> T:
    try:
        return parser(text)
    except ValueError as error:
        raise CommandError(f"{option}: {error}") from None


ADMIN_HELP = ("the administrator authorising a --known-at backfill (default: "
              "SCORECARD_ADMIN; password: SCORECARD_ADMIN_PASSWORD or a prompt)")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="scorecard",
        description="A live, replayable scorecard for a safeguarding partnership's delivery plan.",
    )
    commands = parser.add_subparsers(dest="command", required=True)

    init = commands.add_parser("init", help="create the home (with the bundled plan or --plan)")
    init.add_argument("--plan", type=Path, help="a plan YAML file instead of the bundled plan")
    init.set_defaults(run=cmd_init)

    agency = commands.add_parser("agency", help="register and manage agencies")
    agency_commands = agency.add_subparsers(dest="agency_command", required=True)
    add = agency_commands.add_parser("add", help="register an agency and write its key")
    add.add_argument("code")
    add.add_argument("--name", required=True)
    add.add_argument("--sector", required=True, choices=SECTORS)
    add.add_argument("--types", help="comma-separated types it may send: " + ",".join(EVENT_TYPES))
    add.add_argument("--key-file", required=True, type=Path)
    add.set_defaults(run=cmd_agency_add)
    for name, run in (("suspend", cmd_agency_suspend), ("resume", cmd_agency_resume),
                      ("keys", cmd_agency_keys)):
        sub = agency_commands.add_parser(name, help=f"{name} an agency" if name != "keys"
                                         else "list an agency's key ids and their expiry")
        sub.add_argument("code")
        sub.set_defaults(run=run)
    rotate = agency_commands.add_parser("rotate-key", help="issue a new key; old keys expire")
    rotate.add_argument("code")
    rotate.add_argument("--key-file", required=True, type=Path)
    rotate.add_argument("--grace-hours", type=float, default=72.0,
                        help="how long older keys keep working (default 72)")
    rotate.set_defaults(run=cmd_agency_rotate_key)
    revoke = agency_commands.add_parser("revoke-key", help="stop a key working at once")
    revoke.add_argument("code")
    revoke.add_argument("key_id")
    revoke.set_defaults(run=cmd_agency_revoke_key)

    user = commands.add_parser("user", help="people who sign in to the scorecard page")
    user_commands = user.add_subparsers(dest="user_command", required=True)
    user_add = user_commands.add_parser("add", help="add a user with a role")
    user_add.add_argument("username")
    user_add.add_argument("--role", required=True, choices=ROLES)
    user_add.add_argument("--agency", help="the agency of an agency user")
    user_add.add_argument("--password-file", type=Path)
    user_add.set_defaults(run=cmd_user_add)
    user_disable = user_commands.add_parser("disable", help="stop a user signing in")
    user_disable.add_argument("username")
    user_disable.set_defaults(run=cmd_user_disable)
    user_enable = user_commands.add_parser("enable", help="let a disabled user sign in again")
    user_enable.add_argument("username")
    user_enable.set_defaults(run=cmd_user_enable)
    user_reset = user_commands.add_parser(
        "reset-password", help="set a new password (SCORECARD_PASSWORD, --password-file or "
        "a prompt) and end the user's sessions")
    user_reset.add_argument("username")
    user_reset.add_argument("--password-file", type=Path)
    user_reset.set_defaults(run=cmd_user_reset_password)
    user_unlock = user_commands.add_parser(
        "unlock", help="forget a user's failed sign-ins (from every address)")
    user_unlock.add_argument("username")
    user_unlock.set_defaults(run=cmd_user_unlock)
    user_status = user_commands.add_parser(
        "status", help="a user's role, whether they may sign in, failed sign-ins and locks")
    user_status.add_argument("username")
    user_status.set_defaults(run=cmd_user_status)

    push = commands.add_parser("push", help="submit a JSON Lines file of agency events")
    push.add_argument("file", type=Path)
    push.add_argument("--agency", required=True)
    push.add_argument("--key-file", required=True, type=Path)
    push.add_argument("--known-at", help="administrator's backfill: the knowledge time to record")
    push.add_argument("--json", action="store_true")
    push.add_argument("--admin", help=ADMIN_HELP)
    push.set_defaults(run=cmd_push)

    ingest = commands.add_parser(
        "ingest", help="consume agency-events from Kafka (SCORECARD_KAFKA_BOOTSTRAP)")
    ingest.add_argument("--workers", type=int, default=1, help="worker processes (default 1)")
    ingest.add_argument("--batch-size", type=int, default=BATCH_SIZE,
                        help=f"most messages decided in one transaction (default {BATCH_SIZE})")
    ingest.set_defaults(run=cmd_ingest)

    report = commands.add_parser("report", help="the scorecard for a window, as known at a time")
    report.add_argument("--as-at", required=True)
    report.add_argument("--known-at")
    report.add_argument("--from", dest="from_day")
    report.add_argument("--rules", choices=("then", "now"), default="then",
                        help="judge by the rules in force at --known-at (then) or today's")
    shape = report.add_mutually_exclusive_group()
    shape.add_argument("--json", action="store_true")
    shape.add_argument("--csv", action="store_true",
                       help="one row per measure, then the symbols' legend")
    report.add_argument("--for", dest="audience", choices=AUDIENCES,
                        help="print only what this role is shown (scrutiny: small counts of "
                             "people as [c], docs/disclosure.md); default: as counted")
    report.set_defaults(run=cmd_report)

    diff = commands.add_parser("diff", help="what changed between two knowledge times, and why")
    diff.add_argument("--as-at", required=True)
    diff.add_argument("--known-at", required=True)
    diff.add_argument("--against", help="the other knowledge time (default now)")
    diff.add_argument("--from", dest="from_day")
    diff.add_argument("--json", action="store_true")
    diff.add_argument("--for", dest="audience", choices=AUDIENCES,
                        help="print only what this role is shown (scrutiny: small counts of "
                             "people as [c], docs/disclosure.md); default: as counted")
    diff.set_defaults(run=cmd_diff)

    pack = commands.add_parser("pack", help="a meeting's board pack (CSV and printable HTML) "
                               "that regenerates byte for byte")
    pack.add_argument("--meeting", required=True, help="the meeting's day (the pack's as-at)")
    pack.add_argument("--known", help="as known at this time (default: the end of the "
                                      "meeting's day, the pack as the meeting had it)")
    pack.add_argument("--from", dest="from_day", help="count events from (default: plan start)")
    pack.add_argument("--for", dest="audience", choices=AUDIENCES, default="board",
                      help="board: as counted; scrutiny: small counts of people as [c]")
    pack.add_argument("--out", required=True, help="folder for the two files")
    pack.set_defaults(run=cmd_pack)
    checked = commands.add_parser("verify-pack", help="check a pack's content hash")
    checked.add_argument("files", nargs="+", help="pack files (CSV or HTML)")
    checked.set_defaults(run=cmd_verify_pack)

    returns = commands.add_parser("returns", help="the returns calendar for a month")
    returns.add_argument("--month", required=True)
    returns.add_argument("--known-at")
    returns.add_argument("--json", action="store_true")
    returns.set_defaults(run=cmd_returns)

    quality = commands.add_parser("quality", help="lateness, revision and rejection rates")
    quality.add_argument("--agency")
    quality.add_argument("--known-at")
    quality.add_argument("--json", action="store_true")
    quality.set_defaults(run=cmd_quality)

    approve = commands.add_parser("approve", help="an agency approves its return for a month")
    approve.add_argument("--agency", required=True)
    approve.add_argument("--month", required=True)
    approve.add_argument("--key-file", required=True, type=Path)
    approve.add_argument("--known-at", help="administrator's backfill of the approval time")
    approve.add_argument("--admin", help=ADMIN_HELP)
    approve.set_defaults(run=cmd_approve)

    accept = commands.add_parser("accept", help="the board accepts a month's scorecard")
    accept.add_argument("--month", required=True)
    accept.add_argument("--known-at", help="administrator's backfill of the acceptance time")
    accept.add_argument("--admin", help=ADMIN_HELP)
    accept.set_defaults(run=cmd_accept)

    exception = commands.add_parser(
        "exception", help="exception notes for red or off-course measures, and their review")
    exception_commands = exception.add_subparsers(dest="exception_command", required=True)
    note = exception_commands.add_parser("note", help="an agency's note for a measure's month")
    note.add_argument("--agency", required=True)
    note.add_argument("--key-file", type=Path, required=True)
    note.add_argument("--measure", required=True)
    note.add_argument("--month", required=True, help="YYYY-MM: the month the measure was red")
    note.add_argument("--what-happened", required=True)
    note.add_argument("--why", required=True)
    note.add_argument("--recovery", required=True, help="what is being done")
    note.add_argument("--recover-by", required=True, help="the date recovery is due")
    note.add_argument("--owner", required=True, help="who owns the recovery (a role)")
    note.add_argument("--supersedes", help="the event id of the note this one revises")
    note.add_argument("--known-at", help="administrator's backfill of when it was known")
    note.add_argument("--admin", help=ADMIN_HELP)
    note.set_defaults(run=cmd_exception_note)
    review = exception_commands.add_parser("review", help="the board accepts a note or asks "
                                           "for more")
    review.add_argument("--measure", required=True)
    review.add_argument("--month", required=True)
    review.add_argument("--agency", required=True)
    review.add_argument("--note", required=True, help="the note's event id")
    decided = review.add_mutually_exclusive_group(required=True)
    decided.add_argument("--accept", action="store_true")
    decided.add_argument("--ask-more", action="store_true")
    review.add_argument("--comment", help="what more is asked for (needed with --ask-more)")
    review.add_argument("--known-at", help="administrator's backfill of the decision time")
    review.add_argument("--admin", help=ADMIN_HELP)
    review.set_defaults(run=cmd_exception_review)
    listing = exception_commands.add_parser("list", help="each measure's exception flag")
    listing.add_argument("--as-at", required=True)
    listing.add_argument("--known-at")
    listing.add_argument("--from", dest="from_day")
    listing.add_argument("--json", action="store_true")
    listing.set_defaults(run=cmd_exception_list)

    drill = commands.add_parser("evidence", help="the events behind a measure's figure")
    drill.add_argument("--measure", required=True)
    drill.add_argument("--as-at", required=True)
    drill.add_argument("--known-at")
    drill.add_argument("--from", dest="from_day")
    drill.add_argument("--verify", action="store_true",
                       help="check each signature again against the key valid on arrival")
    drill.add_argument("--with-cases", action="store_true",
                       help="show case references (the board's own view only)")
    drill.add_argument("--json", action="store_true")
    drill.set_defaults(run=cmd_evidence)

    outliers = commands.add_parser("outliers", help="figures questioned at entry")
    outlier_commands = outliers.add_subparsers(dest="outliers_command", required=True)
    check = outlier_commands.add_parser("check", help="which figures a return file would "
                                        "make that the outlier rule questions")
    check.add_argument("file")
    check.add_argument("--agency", required=True)
    check.add_argument("--json", action="store_true")
    check.set_defaults(run=cmd_outliers_check)
    listed = outlier_commands.add_parser("list", help="figures confirmed after questioning")
    listed.add_argument("--agency")
    listed.add_argument("--known-at")
    listed.add_argument("--json", action="store_true")
    listed.set_defaults(run=cmd_outliers_list)
    follow = outlier_commands.add_parser("follow-up", help="mark a confirmed figure for "
                                         "follow-up")
    for name in ("--agency", "--measure", "--month", "--note"):
        follow.add_argument(name, required=True)
    follow.set_defaults(run=cmd_outliers_follow_up)

    rules = commands.add_parser("rules", help="targets and RAG rules of the plan's measures")
    rules_commands = rules.add_subparsers(dest="rules_command", required=True)
    rules_set = rules_commands.add_parser("set", help="record new rules for a measure")
    rules_set.add_argument("measure")
    rules_set.add_argument("--target", action="append", metavar="FROM=VALUE",
                           help="a target step, e.g. 2016-04-01=0.9 (repeatable)")
    rules_set.add_argument("--rag", action="append", metavar="COLOUR[=SHARE]",
                           help="an ordered RAG rule, e.g. green=1.0 amber=0.8 red")
    rules_set.add_argument("--profile", metavar="jan=W,...,dec=W",
                           help="the target's monthly profile, all twelve months (default: "
                                "pro rata by day through the period)")
    rules_set.add_argument("--reason", required=True)
    rules_set.add_argument("--known-at", help="administrator's backfill of the change time")
    rules_set.add_argument("--admin", help=ADMIN_HELP)
    rules_set.set_defaults(run=cmd_rules_set)

    rejected = commands.add_parser("rejected", help="rejected events with their reasons")
    rejected.add_argument("--agency", help="only this agency's own rejections")
    rejected.add_argument("--quarantine", action="store_true",
                          help="only quarantine: messages not proven to come from the agency "
                               "they name (with --agency, those naming it)")
    rejected.add_argument("--json", action="store_true")
    rejected.set_defaults(run=cmd_rejected)

    project = commands.add_parser("project", help="bring the read model up to date")
    project.add_argument("--follow", action="store_true",
                         help="keep following the event store (the projector service)")
    project.add_argument("--interval", type=float, default=DEFAULT_INTERVAL,
                         help="seconds between catch-ups when following (default "
                              f"{DEFAULT_INTERVAL})")
    project.set_defaults(run=cmd_project)

    audit = commands.add_parser("audit", help="who did what, and when")
    audit.add_argument("--agency")
    audit.add_argument("--since", help="only what was recorded from this time on")
    audit.add_argument("--json", action="store_true")
    audit.set_defaults(run=cmd_audit)

    settings = commands.add_parser(
        "settings", help="print the effective settings (secrets masked), or --table")
    settings.add_argument("--table", action="store_true",
                          help="every setting as the markdown table of docs/operations.md")
    settings.set_defaults(run=cmd_settings)

    cipher = commands.add_parser("cipher-key", help="print a new key for SCORECARD_CIPHER_KEY")
    cipher.set_defaults(run=cmd_cipher_key)
    readmodel_key = commands.add_parser(
        "readmodel-key", help="print the read model's encryption key (derived from the "
        "cipher key) for a read page process's SCORECARD_READMODEL_KEY")
    readmodel_key.set_defaults(run=cmd_readmodel_key)

    rebuild = commands.add_parser("rebuild", help="rebuild the read model from the event store")
    rebuild.set_defaults(run=cmd_rebuild)

    for name, run, text in (("demo", cmd_demo, "build the demo home and serve the scorecard"),
                            ("ui", cmd_ui, "serve the scorecard for SCORECARD_HOME")):
        sub = commands.add_parser(name, help=text)
        if name == "demo":
            sub.add_argument("--no-ui", action="store_true", help="build the home only")
            sub.add_argument("--no-feed", action="store_true",
                             help="no live feed of the plan's final year beside the page")
            sub.add_argument("--feed-seconds-per-day", type=float,
                             default=DEFAULT_SECONDS_PER_DAY,
                             help="real seconds per simulated plan day of the live feed "
                                  f"(default {DEFAULT_SECONDS_PER_DAY:g})")
        sub.add_argument("--host", default="127.0.0.1")
        sub.add_argument("--port", type=int, default=8501)
        sub.add_argument("--no-projector", action="store_true",
                         help="do not start a projector: one runs as its own service")
        sub.set_defaults(run=run)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        args.settings = Settings.from_environment()  # the one read of the environment
        code: int = args.run(args)
    except CommandError as error:
        print(f"scorecard: {error}", file=sys.stderr)
        return 1
    return code


if __name__ == "__main__":
    sys.exit(main())
