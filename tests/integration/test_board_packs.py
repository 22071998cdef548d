"""Board packs you can reproduce (issue 15, item 4): a meeting's pack, rebuilt after more
events (late returns for the meeting's own months among them) as known at the meeting, is
the same bytes; as known now it differs, and says why; each states a hash that verifies."""

from __future__ import annotations

import csv
import io
import os
import re
import subprocess
from collections.abc import Callable
from datetime import UTC, date, datetime
from pathlib import Path

import pytest

from domain.timekeeping import end_of_day
from ingest.file_push import push_file
from projections.pack import build_pack
from scorecard.bootstrap import Home
from scorecard.packs import pack_csv, pack_html, stated_hash, verify
from tests.e2e.test_command_line import SCORECARD
from tests.support import event, write_jsonl

MEETING = date(2015, 11, 4)


@pytest.fixture(scope="module")
def demo(new_demo_home: Callable[[], Path]) -> Home:
    home = Home(new_demo_home())
    return home


def packs(home: Home, out: Path, *args: str) -> dict[str, bytes]:
    """``scorecard pack`` run as a user would; the files it wrote, by suffix."""
    done = subprocess.run([SCORECARD, "pack", "--meeting", MEETING.isoformat(), "--out",
                           str(out), *args], env=dict(os.environ, SCORECARD_HOME=str(home.path)),
                          capture_output=True, text=True, check=True)
    paths = [Path(line.split()[0]) for line in done.stdout.splitlines()]
    for path in paths:  # the hash printed is the one the file states
        assert str(stated_hash(path.read_bytes())) in done.stdout
    return {path.suffix: path.read_bytes() for path in paths}


def sections(data: bytes) -> list[list[list[str]]]:
    text = data.decode("utf-8")
    return [list(csv.reader(io.StringIO(block))) for block in text.strip().split("\n\n")]


def late_returns(home: Home, tmp_path: Path, code: str) -> None:
    """A new helpline partner's October contacts and training, sent long after."""
    app = home.open()
    key = app.register_agency(code, f"Late Helpline Trust {code[-1].upper()}", "voluntary",
                              None, by="test")
    messages = [event("helpline.contact", f"late-c-{n}", f"2015-10-{n + 2:02d}",
                      agency=code) for n in range(7)]
    messages += [event("training.delivered", "late-t-1", "2015-10-20", agency=code,
                       attendees=30)]
    outcome = push_file(app, write_jsonl(tmp_path / "late.jsonl", messages),
                        agency=code, key=key, now=datetime.now(UTC))
    assert outcome.accepted == len(messages), outcome


@pytest.mark.parametrize("audience", ["board", "scrutiny"])
def test_a_past_meetings_pack_regenerates_byte_identical_after_more_events(
    demo: Home, tmp_path: Path, audience: str,
) -> None:
    extra = [] if audience == "board" else ["--for", "scrutiny"]
    before = packs(demo, tmp_path / "before", *extra)
    assert set(before) == {".csv", ".html"}
    for data in before.values():
        assert verify(data)
        tampered = data.replace(b"Helpline contacts", b"Helpline Contacts", 1)
        assert not verify(tampered)
    altered = tmp_path / "altered.csv"
    altered.write_bytes(before[".csv"].replace(b"Helpline contacts", b"Helpline Contacts", 1))
    first = next((tmp_path / "before").glob("*.csv"))
    checked = subprocess.run([SCORECARD, "verify-pack", str(first), str(altered)],
                             capture_output=True, text=True)
    assert checked.returncode == 1
    assert f"{first}: ok" in checked.stdout and f"{altered}: ALTERED" in checked.stdout
    late_returns(demo, tmp_path, f"late-helpline-{audience[0]}")  # b, s: one each
    demo.project()  # the projector publishes them (no service runs beside this test)
    again = packs(demo, tmp_path / "again", *extra)
    assert again == before  # byte for byte, after the late returns

    now = packs(demo, tmp_path / "now", "--known", datetime.now(UTC).isoformat(), *extra)
    assert now[".csv"] != before[".csv"] and verify(now[".csv"]) and verify(now[".html"])
    meta, measures, causes, *_ = sections(now[".csv"])
    fields = dict(row for row in meta[1:])
    assert fields["audience"] == audience and fields["meeting"] == "2015-11-04"
    assert int(fields["log_position"]) > int(fields["log_position_at_meeting"])
    head, *rows = measures
    contacts = dict(zip(head, next(r for r in rows if r[0] == "helpline_contacts"), strict=True))
    assert "Late Helpline Trust" in contacts["causes"]
    assert any(r[0] == "helpline_contacts" and "Late Helpline Trust" in r[4]
               for r in causes[1:])
    if audience == "board":
        old = dict(zip(head, next(r for r in sections(before[".csv"])[1][1:]
                                  if r[0] == "helpline_contacts"), strict=True))
        assert int(contacts["difference"]) == int(contacts["value_now"]) - int(
            old["value_then"])
        assert re.search(r"returns by [^;]*Late Helpline Trust[^;]* sent after 4 Nov 2015: \+\d+",
                         contacts["causes"]), contacts["causes"]
    assert b"Late Helpline Trust" in now[".html"]


def test_the_pack_is_plain_data_and_accessible_markup(demo: Home) -> None:
    app = demo.open()
    with demo.projected(app) as connection:
        pack = build_pack(connection, meeting=date(2015, 12, 16),
                          known_at=end_of_day(date(2016, 2, 1), app.plan.zone))
    data = pack_csv(pack).encode()
    meta, measures, *_ = sections(data)
    head, *rows = measures
    for row in rows:  # numbers as numbers: a figure parses, or is a GSS symbol, or empty
        for name in ("value_then", "value_now", "difference", "target_then"):
            cell = dict(zip(head, row, strict=True))[name]
            assert cell == "" or re.fullmatch(r"-?\d+(\.\d+)?|\[[a-z]\]", cell), (name, cell)
    assert dict(row for row in meta[1:])["known_at"] == "2016-02-01T23:59:59.999999Z"
    page = pack_html(pack)
    assert verify(page.encode())
    assert "<script" not in page and "http" not in page.replace(
        'xmlns="http://www.w3.org/2000/svg"', "")  # self-contained
    assert page.count("<caption>") == page.count("<table>") >= 3
    assert 'scope="col"' in page and 'scope="row"' in page
    charts = re.findall(r"<svg role=\"img\" aria-labelledby=\"([^\"]+)\"", page)
    assert charts and all(f'id="{ident.split()[0]}"' in page for ident in charts)
    assert page.count("<desc") == len(charts)
    assert "16 Dec 2015" in page and "@media print" in page
    assert re.search(r"\b2015-12-16T", page)  # the knowledge times, and no other clock
    today = datetime.now(UTC).date()
    assert today.isoformat() not in page and f"{today.day} {today:%b %Y}" not in page
