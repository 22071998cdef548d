"""The contract's command line, run as a user would: the installed ``scorecard`` script.

Each test runs on the embedded SQLite store and on a PostgreSQL event store
(``SCORECARD_EVENT_STORE``), whose events the projector follows into the same read model.
"""

from __future__ import annotations

import csv
import io
import json
import os
import shutil
import stat
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

from domain.errors import REASON_CODES
from projections.measures import MEASURE_IDS
from tests.support import event, signed, write_jsonl

ADMIN_PASSWORD = "an-administrator-password"
SCORECARD = shutil.which("scorecard") or str(Path(__file__).parents[2] / ".venv/bin/scorecard")


class Cli:
    def __init__(self, home: Path, event_store: str | None = None) -> None:
        self.env = dict(os.environ, SCORECARD_HOME=str(home))
        self.env.pop("SCORECARD_KAFKA_BOOTSTRAP", None)
        self.env.pop("SCORECARD_EVENT_STORE", None)
        if event_store:
            self.env["SCORECARD_EVENT_STORE"] = event_store
        self.env["SCORECARD_ADMIN_PASSWORD"] = ADMIN_PASSWORD

    def add_administrator(self) -> tuple[str, str]:
        """An administrator to authorise backfills; the ``--admin`` option naming them."""
        self("user", "add", "root", "--role", "administrator", env={
            "SCORECARD_PASSWORD": ADMIN_PASSWORD})
        return "--admin", "root"

    def __call__(self, *args: str, ok: bool = True,
                 env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
        done = subprocess.run([SCORECARD, *args], env=self.env | (env or {}),
                              capture_output=True, text=True, timeout=120)
        if ok:
            assert done.returncode == 0, done.stderr
        return done

    def json(self, *args: str) -> Any:
        return json.loads(self(*args, "--json").stdout)

    @contextmanager
    def projector(self) -> Iterator[None]:
        """The projector service beside the commands, as in a deployment: reports read
        what it publishes (waiting a moment for it to fold what the log holds)."""
        service = subprocess.Popen([SCORECARD, "project", "--follow", "--interval", "0.05"],
                                   env=self.env, stdout=subprocess.DEVNULL)
        published = Path(self.env["SCORECARD_HOME"]) / "snapshots" / "published.json"
        try:
            deadline = time.monotonic() + 60
            while not published.exists():
                assert service.poll() is None and time.monotonic() < deadline
                time.sleep(0.05)
            yield
        finally:
            service.terminate()
            assert service.wait(timeout=30) == 0


@pytest.fixture(params=["sqlite", "postgres"])
def cli(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Cli]:
    if request.param == "postgres":
        cli = Cli(tmp_path / "home", request.getfixturevalue("postgres_url"))
    else:
        cli = Cli(tmp_path / "home")
    with cli.projector():
        yield cli


def test_every_reason_code_is_rejected_kept_and_listed(cli: Cli, tmp_path: Path) -> None:
    cli("agency", "add", "racs", "--name", "Rotherham Abuse Counselling Service",
        "--sector", "voluntary", "--key-file", str(tmp_path / "racs.key"))
    cli("agency", "add", "grow", "--name", "GROW", "--sector", "voluntary",
        "--types", "referral.received,case.closed", "--key-file", str(tmp_path / "grow.key"))
    key_file = tmp_path / "racs.key"
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    key = key_file.read_text()
    unknown_type = event("helpline.contact", "e-2")
    unknown_type["type"] = "helpline.call"
    lines = [
        event("referral.received", "r-1", "2015-06-01", case="C-1"),
        event("helpline.contact", "e-1", attendees=3),                       # invalid
        unknown_type,                                                         # unknown_type
        event("helpline.contact", "e-3", agency="grow"),                      # unauthenticated
        signed(event("helpline.contact", "e-4"), "f" * 64),                   # unauthenticated
        event("referral.received", "r-1", "2015-06-02", case="C-1"),          # event_id_conflict
        event("case.closed", "c-1", case="C-404"),                            # no_open_case
        event("case.closed", "c-2", "2015-05-01", case="C-1"),                # out_of_order
        event("referral.received", "r-2", "2015-06-05", case="C-1"),          # case_already_open
        event("action.status_reported", "s-1", action="99.1"),                # unknown_action
        event("event.retracted", "x-1", target="nothing"),                    # bad_reference
        event("helpline.contact", "e-5", "2099-01-01"),                       # future
        event("referral.received", "r-1", "2015-06-01", case="C-1"),          # duplicate
        signed(event("helpline.contact", "e-6"), key),                        # accepted as signed
    ]
    pushed = cli("push", str(write_jsonl(tmp_path / "racs.jsonl", lines)), "--agency", "racs",
                 "--key-file", str(key_file))
    assert pushed.stdout.strip().splitlines()[-1] == "accepted 2, duplicate 1, rejected 11"

    grow_lines = [event("helpline.contact", "g-1", agency="grow")]             # not_permitted
    cli("push", str(write_jsonl(tmp_path / "grow.jsonl", grow_lines)), "--agency", "grow",
        "--key-file", str(tmp_path / "grow.key"))
    stranger = [event("helpline.contact", "n-1", agency="nobody")]            # unknown_agency
    cli("push", str(write_jsonl(tmp_path / "nobody.jsonl", stranger)), "--agency", "nobody",
        "--key-file", str(key_file))

    rejected = cli.json("rejected")
    assert sorted({r["reason"] for r in rejected}) == sorted(REASON_CODES)
    assert all(r["message"] and r["line"] and r["status"] == "open" for r in rejected)
    assert {r["agency"] for r in cli.json("rejected", "--agency", "grow")} == {"grow"}
    assert "[future] occurred_at" in cli("rejected", "--agency", "racs").stdout


def test_report_json_has_the_contract_shape_and_replays_knowledge(
    cli: Cli, tmp_path: Path
) -> None:
    cli("agency", "add", "nspcc-helpline", "--name", "NSPCC helpline", "--sector", "voluntary",
        "--key-file", str(tmp_path / "n.key"))
    n = "nspcc-helpline"
    first = [event("helpline.contact", f"h-{i}", "2015-10-0" + str(i), agency=n)
             for i in range(1, 6)]
    late = [event("helpline.contact", "h-9", "2015-10-30", agency=n, cse_related=False)]
    args = ("--agency", n, "--key-file", str(tmp_path / "n.key"), *cli.add_administrator())
    cli("push", str(write_jsonl(tmp_path / "a.jsonl", first)), *args,
        "--known-at", "2015-11-02T09:00:00+00:00")
    cli("push", str(write_jsonl(tmp_path / "b.jsonl", late)), *args,
        "--known-at", "2015-11-20T09:00:00Z")
    too_late = cli("push", str(tmp_path / "b.jsonl"), *args, "--known-at", "2999-01-01", ok=False)
    assert too_late.returncode == 1 and "later than now" in too_late.stderr

    then = cli.json("report", "--as-at", "2015-10-31", "--known-at", "2015-11-04")
    now = cli.json("report", "--as-at", "2015-10-31")
    assert set(then) >= {"as_at", "known_at", "plan", "measures", "actions"}
    assert then["as_at"] == "2015-10-31" and then["known_at"].startswith("2015-11-04T")
    ids = [m["id"] for m in then["measures"]]
    assert ids[: len(MEASURE_IDS)] == list(MEASURE_IDS)  # then the plan's own measures
    for measure in then["measures"]:
        assert set(measure) >= {"id", "title", "value", "by_agency", "target", "rag"}
    for action in then["actions"]:
        assert set(action) >= {"code", "title", "lead", "due", "status", "reported_at"}
        assert action["status"] == "not_started"
    contacts = {m["id"]: m for m in then["measures"]}["helpline_contacts"]
    assert contacts["value"] == 5 and contacts["by_agency"] == {n: 5}
    assert {m["id"]: m["value"] for m in now["measures"]}["helpline_contacts"] == 6
    windowed = cli.json("report", "--as-at", "2015-10-31", "--from", "2015-10-03")
    assert {m["id"]: m["value"] for m in windowed["measures"]}["helpline_contacts"] == 4
    text = cli("report", "--as-at", "2015-10-31").stdout
    assert "helpline_contacts" in text and "Delivery Plan" in text
    assert "[p] provisional" in text  # the legend ends the text report
    assert then["legend"]["[u]"].startswith("low reliability")
    assert contacts["markers"] == ["[p]"] and contacts["completeness"]["received"] == 1
    rows = cli("report", "--as-at", "2015-10-31", "--csv").stdout.split("\n\n")
    table = list(csv.DictReader(io.StringIO(rows[0])))
    assert {r["id"]: r["value"] for r in table}["helpline_contacts"] == "6"
    assert rows[1].startswith("symbol,meaning\n[c],")
    both = cli("report", "--as-at", "2015-10-31", "--csv", "--json", ok=False)
    assert both.returncode == 2 and "not allowed with" in both.stderr


def test_bad_command_lines_name_the_problem(cli: Cli, tmp_path: Path) -> None:
    bad_date = cli("report", "--as-at", "31/10/2015", ok=False)
    assert bad_date.returncode == 1 and "--as-at" in bad_date.stderr
    missing = cli("push", str(tmp_path / "none.jsonl"), "--agency", "racs", "--key-file",
                  str(tmp_path / "none.key"), ok=False)
    assert missing.returncode == 1 and "scorecard:" in missing.stderr
    bad_sector = cli("agency", "add", "x-1", "--name", "X", "--sector", "army", "--key-file",
                     str(tmp_path / "x.key"), ok=False)
    assert bad_sector.returncode == 2 and "sector" in bad_sector.stderr


def test_governance_commands(cli: Cli, tmp_path: Path) -> None:
    key_file = tmp_path / "racs.key"
    cli("agency", "add", "racs", "--name", "RACS", "--sector", "voluntary", "--key-file",
        str(key_file))
    lines = [event("referral.received", f"r-{n}", "2015-10-05", case=f"C-{n:03d}")
             for n in range(3)]
    admin = cli.add_administrator()
    cli("push", str(write_jsonl(tmp_path / "oct.jsonl", lines)), "--agency", "racs",
        "--key-file", str(key_file), "--known-at", "2015-11-20T10:00:00Z", *admin)
    returns = cli.json("returns", "--month", "2015-10")
    assert {r["agency"]: r["status"] for r in returns}["racs"] == "late"
    assert "late" in cli("returns", "--month", "2015-10").stdout

    as_at = ("--as-at", "2015-10-31")
    assert cli.json("report", *as_at)["measures"][7]["marker"] == "p"
    cli("approve", "--agency", "racs", "--month", "2015-10", "--key-file", str(key_file))
    cli("accept", "--month", "2015-10")
    assert cli.json("report", *as_at)["measures"][7]["marker"] is None
    wrong_key = tmp_path / "wrong.key"
    wrong_key.write_text("0" * 64)
    refused = cli("approve", "--agency", "racs", "--month", "2015-10", "--key-file",
                  str(wrong_key), ok=False)
    assert refused.returncode == 1 and "does not belong" in refused.stderr

    cli("rules", "set", "actions_complete", "--target", "2015-04-01=1", "--rag", "green=1",
        "--rag", "red", "--reason", "Test target", "--known-at", "2015-12-01T00:00:00Z",
        *admin)
    then = cli.json("report", *as_at, "--known-at", "2015-11-30")
    now = cli.json("report", *as_at, "--known-at", "2015-11-30", "--rules", "now")
    assert [m["target"] for m in then["measures"] if m["id"] == "actions_complete"] == [5]
    assert [m["target"] for m in now["measures"] if m["id"] == "actions_complete"] == [1]
    terms = "jan=1,feb=1,mar=1,apr=1,may=1,jun=1,jul=1,aug=0,sep=1,oct=1,nov=1,dec=1"
    cli("rules", "set", "workforce_trained_this_year", "--target", "2015-04-01=1100",
        "--rag", "green=1", "--rag", "red", "--profile", terms, "--reason", "School terms")
    trained = {m["id"]: m for m in cli.json("report", *as_at)["measures"]}[
        "workforce_trained_this_year"]
    assert trained["target_to_date"] == 600  # April to October, August weighing 0: 6 of 11
    assert trained["rules"]["profile"]["aug"] == 0
    half = cli("rules", "set", "workforce_trained_this_year", "--target", "2015-04-01=1",
               "--profile", "jan=1", "--reason", "x", ok=False)
    assert half.returncode == 1 and "profile: give all twelve months" in half.stderr

    diff = cli.json("diff", *as_at, "--known-at", "2015-11-01", "--against", "2015-12-02")
    changed = {c["measure"]: {x["cause"] for x in c["causes"]} for c in diff["measures"]}
    assert changed["referrals_received"] == {"late return"}
    assert changed["actions_complete"] == {"rule change"}
    assert "late return" in cli("diff", *as_at, "--known-at", "2015-11-01").stdout
    quality = cli.json("quality", "--agency", "racs")
    assert quality[0]["agency"] == "racs" and quality[0]["days_late"] == 10
    bad_month = cli("returns", "--month", "2015-13", ok=False)
    assert bad_month.returncode == 1 and "YYYY-MM" in bad_month.stderr


def test_a_backfill_needs_an_administrator_s_password_and_is_audited_under_that_name(
        cli: Cli, tmp_path: Path) -> None:
    """Issue 12 item 6: ``push --known-at`` worked with the agency's key file alone, and
    the audit named whoever ``SCORECARD_ACTOR`` said."""
    key_file = tmp_path / "racs.key"
    cli("agency", "add", "racs", "--name", "RACS", "--sector", "voluntary", "--key-file",
        str(key_file))
    cli("user", "add", "cllr", "--role", "scrutiny", env={"SCORECARD_PASSWORD": ADMIN_PASSWORD})
    lines = write_jsonl(tmp_path / "oct.jsonl", [event("referral.received", "r-1",
                                                       "2015-10-05")])
    push = ("push", str(lines), "--agency", "racs", "--key-file", str(key_file),
            "--known-at", "2015-11-20T10:00:00Z")
    spoofed = {"SCORECARD_ACTOR": "someone-else"}
    key_only = cli(*push, ok=False, env=spoofed)
    assert key_only.returncode == 1 and "--admin" in key_only.stderr
    not_admin = cli(*push, "--admin", "cllr", ok=False)
    assert not_admin.returncode == 1 and "not an administrator" in not_admin.stderr
    named_by_variable = cli(*push, ok=False, env={"SCORECARD_ADMIN": "cllr"})
    assert "SCORECARD_ADMIN cllr: not an administrator" in named_by_variable.stderr
    admin = cli.add_administrator()
    wrong = cli(*push, *admin, ok=False, env={"SCORECARD_ADMIN_PASSWORD": "not-it-at-all"})
    assert wrong.returncode == 1 and "wrong password" in wrong.stderr
    wrong = cli(*push, ok=False, env={"SCORECARD_ADMIN": "root",
                                      "SCORECARD_ADMIN_PASSWORD": "not-it-at-all"})
    assert wrong.returncode == 1 and "wrong password" in wrong.stderr
    cli(*push, *admin, env=spoofed)
    backfill = next(r for r in cli.json("audit") if r["action"] == "backfilled")
    assert backfill["actor"] == "root" and backfill["at"] == "2015-11-20T10:00:00Z"
    # the contract's own form, the administrator named in the environment (password checked)
    november = write_jsonl(tmp_path / "nov.jsonl", [event("referral.received", "r-2",
                                                          "2015-11-05", case="RACS-0002")])
    pushed = cli("push", str(november), "--agency", "racs", "--key-file", str(key_file),
                 "--known-at", "2015-12-01T10:00:00Z", env={"SCORECARD_ADMIN": "root", **spoofed})
    assert "accepted 1," in pushed.stdout, pushed.stdout
    assert [r["actor"] for r in cli.json("audit") if r["action"] == "backfilled"] == [
        "root", "root"]
    assert all(r["actor"] != "someone-else" for r in cli.json("audit"))
    # the figures it changed say so: the quality table and the report of that past day
    assert cli.json("quality", "--agency", "racs")[0]["backfilled"] == 1
    assert cli.json("report", "--as-at", "2015-10-31", "--known-at",
                    "2015-11-21")["backfilled"] == {"racs": 1}
    assert "Backfilled by an administrator" in cli(
        "report", "--as-at", "2015-10-31", "--known-at", "2015-11-21").stdout


def test_an_administrator_unlocks_enables_and_resets_a_user(cli: Cli, tmp_path: Path) -> None:
    cli("user", "add", "cllr", "--role", "scrutiny", env={"SCORECARD_PASSWORD": ADMIN_PASSWORD})
    cli("user", "disable", "cllr")
    cli("user", "enable", "cllr")
    cli("user", "reset-password", "cllr", env={"SCORECARD_PASSWORD": "a-new-password"})
    # five wrong passwords for a backfill lock cllr from the command line, the right one
    # included; the lock is in the store, where `user status` reads it
    backfill = ("push", "none.jsonl", "--agency", "racs", "--key-file", "none.key",
                "--known-at", "2015-11-03T10:00:00Z", "--admin", "cllr")
    for password in ["wrong-password"] * 5 + ["a-new-password"]:
        refused = cli(*backfill, ok=False, env={"SCORECARD_ADMIN_PASSWORD": password})
        assert refused.returncode == 1
    assert "too many failed sign-ins for cllr" in refused.stderr
    assert "5 failed sign-ins in the last 15 minutes; locked from command line until" in cli(
        "user", "status", "cllr").stdout
    cli("user", "unlock", "cllr")
    assert "cllr: scrutiny; may sign in. No failed sign-in" in cli(
        "user", "status", "cllr").stdout
    actions = [(r["action"], r["subject"]) for r in cli.json("audit")
               if r["subject"] == "cllr"]
    assert actions == [("user added", "cllr"), ("user disabled", "cllr"),
                       ("user enabled", "cllr"), ("password changed", "cllr"),
                       ("sign-in unlocked", "cllr")]
    assert all(r["actor"].startswith("os:") for r in cli.json("audit"))
    unknown = cli("user", "unlock", "nobody", ok=False)
    assert unknown.returncode == 1 and "no user nobody" in unknown.stderr


def test_push_decides_hostile_lines_and_quarantine_is_listed_apart(tmp_path: Path) -> None:
    cli = Cli(tmp_path / "home")
    with cli.projector():
        cli("agency", "add", "racs", "--name", "RACS", "--sector", "voluntary",
            "--key-file", str(tmp_path / "racs.key"))
        path = tmp_path / "hostile.jsonl"
        path.write_bytes(b'{"agency":"\\ud800"}\n'
                         b'{"agency":"racs","event_id":"e-1","payload":{"note":"\\udfff"}}\n'
                         + json.dumps(signed(event("helpline.contact", "e-2"), "0" * 64)).encode()
                         + b"\n" + json.dumps(event("helpline.contact", "e-3")).encode() + b"\n")
        pushed = cli("push", str(path), "--agency", "racs", "--key-file",
                     str(tmp_path / "racs.key"))
        assert pushed.stdout.strip().splitlines()[-1] == "accepted 1, duplicate 0, rejected 3"
        assert "hostile.jsonl:1: [invalid] agency: must be valid Unicode text (a lone surrogate " \
            "\\ud800 was found)" in pushed.stdout
        assert "payload.note: must be valid Unicode text" in pushed.stdout

        own = cli.json("rejected", "--agency", "racs")
        quarantine = cli.json("rejected", "--quarantine")
        assert sorted(r["source"] for r in own) == ["hostile.jsonl:1", "hostile.jsonl:2"]
        assert [(r["event_id"], r["reason"], r["quarantined"]) for r in quarantine] == [
            ("e-2", "unauthenticated", True)]
        assert len(cli.json("rejected")) == 3  # an administrator's whole view
        assert "quarantine)" in cli("rejected", "--quarantine").stdout


def test_the_contract_s_commands_alone_count_what_was_pushed(tmp_path: Path) -> None:
    """The contract's command line with no projector service running (as an agency or an
    acceptance check uses it): ``report`` counts everything known now, because the
    command does the projector's one pass itself when no service holds the read model."""
    cli = Cli(tmp_path / "home")
    empty = cli("report", "--as-at", "2015-10-31", "--json")
    assert "note" not in empty.stderr
    assert next(m["value"] for m in json.loads(empty.stdout)["measures"]
                if m["id"] == "helpline_contacts") == 0
    key = tmp_path / "n.key"
    cli("agency", "add", "nspcc-helpline", "--name", "NSPCC helpline", "--sector",
        "voluntary", "--key-file", str(key))
    pushed = write_jsonl(tmp_path / "h.jsonl", [
        event("helpline.contact", f"h-{n}", f"2015-10-0{n}", agency="nspcc-helpline")
        for n in range(1, 4)])
    assert "accepted 3" in cli("push", str(pushed), "--agency", "nspcc-helpline",
                                "--key-file", str(key)).stdout
    report = cli("report", "--as-at", "2015-10-31", "--json")
    assert "note" not in report.stderr  # up to date: nothing to warn about
    assert next(m["value"] for m in json.loads(report.stdout)["measures"]
                if m["id"] == "helpline_contacts") == 3
