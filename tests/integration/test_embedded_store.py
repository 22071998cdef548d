"""The embedded default end to end in-process: SQLite event store files, DuckDB read model."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import pytest

from domain.application import Scorecard
from ingest.file_push import push_file
from projections import readmodel
from projections.projector import Projector
from projections.rejected import list_rejected
from projections.report import Report, build_report
from scorecard.bootstrap import Home
from scorecard.settings import Settings
from tests.support import event, register, write_jsonl

NOW = datetime(2026, 1, 1, tzinfo=UTC)
OCT_5 = datetime(2015, 11, 3, 10, 0, tzinfo=UTC)
NOV_10 = datetime(2015, 11, 10, 10, 0, tzinfo=UTC)
MEETING = datetime(2015, 11, 4, 23, 59, tzinfo=UTC)


def push(app: Scorecard, path: Path, messages: list[dict[str, Any]], key: str,
         known_at: datetime | None = None, agency: str = "racs") -> Any:
    return push_file(app, write_jsonl(path, messages), agency=agency, key=key, now=NOW,
                     known_at=known_at)


def report(home: Home, app: Scorecard, known_at: datetime, as_at: date = date(2015, 10, 31),
           from_day: date | None = None) -> Report:
    with home.projected(app) as connection:
        return build_report(connection, as_at=as_at, known_at=known_at, from_day=from_day)


def values(r: Report) -> dict[str, int | float | None]:
    return {m.id: m.value for m in r.measures}


def test_retraction_and_supersession_count_only_from_their_knowledge_time(
    home: Home, app: Scorecard, tmp_path: Path
) -> None:
    key = register(app, "racs")
    push(app, tmp_path / "oct.jsonl", [
        event("helpline.contact", "h-1", "2015-10-02"),
        event("helpline.contact", "h-2", "2015-10-09"),
        event("helpline.contact", "h-3", "2015-10-20", outcome="advice"),
    ], key, known_at=OCT_5)
    push(app, tmp_path / "fix.jsonl", [
        event("helpline.contact", "h-2b", "2015-10-09", supersedes="h-2", outcome="signpost"),
        event("event.retracted", "x-1", "2015-11-09", target="h-3", reason="test call"),
    ], key, known_at=NOV_10)

    before = values(report(home, app, MEETING))
    after = values(report(home, app, NOW))
    assert (before["helpline_contacts"], before["helpline_referrals"]) == (3, 2)
    assert (after["helpline_contacts"], after["helpline_referrals"]) == (2, 1)


def test_a_report_as_known_earlier_is_unchanged_by_later_pushes(
    home: Home, app: Scorecard, tmp_path: Path
) -> None:
    key = register(app, "racs")
    push(app, tmp_path / "a.jsonl", [
        event("referral.received", "r-1", "2015-09-01", case="C-1"),
        event("training.delivered", "t-1", "2015-10-01", attendees=40),
    ], key, known_at=OCT_5)
    earlier = report(home, app, MEETING).to_json()
    push(app, tmp_path / "b.jsonl", [
        event("case.closed", "c-1", "2015-10-15", case="C-1"),
        event("training.delivered", "t-2", "2015-10-20", attendees=10),
        event("training.delivered", "t-1b", "2015-10-01", attendees=45, supersedes="t-1"),
    ], key, known_at=NOV_10)
    push(app, tmp_path / "c.jsonl", [event("event.retracted", "x-1", "2015-12-01",
                                           target="t-2")], key)
    assert report(home, app, MEETING).to_json() == earlier
    now = values(report(home, app, NOW))
    assert now["workforce_trained"] == 45
    assert now["open_cases"] == 0 and now["cases_closed"] == 1
    assert values(report(home, app, NOW, as_at=date(2015, 10, 10)))["open_cases"] == 1


def test_push_records_one_transaction_per_batch(
    home: Home, app: Scorecard, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    key = register(app, "racs")
    saves: list[int] = []
    original = Scorecard._record

    def counting_record(self: Scorecard, processing: Any) -> Any:
        saves.append(len(processing.aggregates))
        return original(self, processing)

    monkeypatch.setattr(Scorecard, "_record", counting_record)
    messages = [event("helpline.contact", f"h-{n}", "2015-10-01") for n in range(4500)]
    summary = push_file(app, write_jsonl(tmp_path / "big.jsonl", messages), agency="racs",
                        key=key, now=NOW, batch_size=2000)
    assert summary.accepted == 4500
    assert saves == [2000, 2000, 500]


CRASHING_PROJECTOR = textwrap.dedent("""
    import os, sys
    from scorecard.bootstrap import Home
    from projections import readmodel, projector

    home = Home(__import__("pathlib").Path(sys.argv[1]))
    app = home.open()
    original = projector.Projector._write
    written = []

    def write_then_die(self, connection, batch, position):
        original(self, connection, batch, position)
        written.append(position)
        if len(written) == 3:
            os._exit(9)  # die straight after the third commit: no cleanup, no flush

    projector.Projector._write = write_then_die
    with readmodel.connect(home.readmodel_path) as connection:
        projector.Projector(app).catch_up(connection, batch_size=700)
""")


def test_the_projection_resumes_after_a_crash_with_nothing_lost_or_counted_twice(
    home: Home, app: Scorecard, tmp_path: Path
) -> None:
    key = register(app, "racs")
    messages = [event("helpline.contact", f"h-{n}", "2015-10-01") for n in range(3000)]
    push(app, tmp_path / "many.jsonl", messages, key)
    crashed = subprocess.run([sys.executable, "-c", CRASHING_PROJECTOR, str(home.path)],
                             capture_output=True, text=True)
    assert crashed.returncode == 9, crashed.stderr
    with readmodel.connect(home.readmodel_path) as connection:
        position = Projector(app).position(connection)
        partial = connection.execute("SELECT count(*) FROM facts").fetchone()
    # 2,100 notifications folded: the plan, the agency and 2,098 contacts.
    assert position == 2100 and partial == (2098,)
    assert values(report(home, app, NOW))["helpline_contacts"] == 3000
    assert values(report(home, app, NOW))["helpline_contacts"] == 3000


class FailsAtTracking:
    """A connection that fails when the projector records its position, mid-transaction."""

    def __init__(self, inner: Any) -> None:
        self.inner = inner

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)

    def execute(self, sql: str, *args: Any) -> Any:
        if sql.startswith("INSERT OR REPLACE INTO tracking"):
            raise RuntimeError("disk full")
        return self.inner.execute(sql, *args)


def test_a_failure_inside_the_transaction_keeps_neither_rows_nor_position(
    home: Home, app: Scorecard, tmp_path: Path
) -> None:
    key = register(app, "racs")
    push(app, tmp_path / "few.jsonl",
         [event("helpline.contact", f"h-{n}", "2015-10-01") for n in range(50)], key)
    with readmodel.connect(home.readmodel_path) as connection:
        with pytest.raises(RuntimeError):
            Projector(app).catch_up(FailsAtTracking(connection))  # type: ignore[arg-type]
        assert connection.execute("SELECT count(*) FROM facts").fetchone() == (0,)
        assert Projector(app).position(connection) == 0
    assert values(report(home, app, NOW))["helpline_contacts"] == 50


def test_rebuild_reaches_the_same_figures(home: Home, app: Scorecard, tmp_path: Path) -> None:
    key = register(app, "racs")
    push(app, tmp_path / "a.jsonl", [
        event("referral.received", "r-1", "2015-09-01", case="C-1"),
        event("helpline.contact", "h-1", "2015-10-02"),
        event("event.retracted", "x-1", "2015-10-03", target="h-1"),
    ], key)
    before = report(home, app, NOW).to_json()
    assert home.rebuild(app) > 0
    assert report(home, app, NOW).to_json() == before


def test_rejections_are_listed_with_reasons_and_marked_when_resubmitted(
    home: Home, app: Scorecard, tmp_path: Path
) -> None:
    key = register(app, "racs")
    push(app, tmp_path / "a.jsonl", [
        event("helpline.contact", "h-1", "2015-10-02", response_minutes="5"),
        event("case.closed", "c-1", "2015-10-02", case="C-7"),
    ], key)
    push(app, tmp_path / "b.jsonl", [event("helpline.contact", "h-1", "2015-10-02")], key)
    with home.projected(app) as connection:
        listed = list_rejected(connection, "racs")
        assert list_rejected(connection, "grow") == []
    assert [(r["event_id"], r["reason"], r["field"], r["status"]) for r in listed] == [
        ("h-1", "invalid", "payload.response_minutes", "resubmitted"),
        ("c-1", "no_open_case", "payload.case", "open"),
    ]
    assert '"response_minutes": "5"' in listed[0]["line"]


def test_a_read_model_of_an_older_schema_is_rebuilt(
    home: Home, app: Scorecard, tmp_path: Path
) -> None:
    key = register(app, "racs")
    push(app, tmp_path / "a.jsonl", [event("helpline.contact", "h-1", "2015-10-02")], key)
    home.project(app)
    with home.working_readmodel() as connection:  # the projector's own file, made old
        connection.execute("UPDATE meta SET value = 'old' WHERE name = 'schema'")
        connection.execute("ALTER TABLE facts DROP COLUMN ended_position")
    push(app, tmp_path / "b.jsonl", [event("helpline.contact", "h-2", "2015-10-03")], key)
    # The projector's next pass finds the old schema, rebuilds and folds both events (a
    # fold into the old table, which lacks a column, would fail).
    assert values(report(home, app, NOW))["helpline_contacts"] == 2


def test_the_read_model_s_memory_cap_comes_from_the_settings(tmp_path: Path) -> None:
    path = tmp_path / "readmodel.duckdb"
    with readmodel.connect(path) as connection:
        default = connection.execute("SELECT current_setting('memory_limit')").fetchone()
    settings = Settings.from_environment({"SCORECARD_DUCKDB_MEMORY_LIMIT": "300MB"})
    with readmodel.connect(path, memory_limit=settings.duckdb_memory_limit) as connection:
        capped = connection.execute("SELECT current_setting('memory_limit')").fetchone()
    assert capped == ("286.1 MiB",) != default  # DuckDB shows 300 MB in MiB
