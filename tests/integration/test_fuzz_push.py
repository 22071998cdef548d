"""The push path under generated bad input: no crash, no invalid event accepted, no valid
event lost, every rejected line kept once. ``make fuzz`` runs a million lines
(FUZZ_LINES=1000000); the suite runs a few thousand."""

from __future__ import annotations

import os
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path

from ingest.file_push import push_file
from scorecard.bootstrap import Home
from tests.fuzzing import AGENCY, labelled_lines
from tests.support import register

FUZZ_LINES = int(os.environ.get("FUZZ_LINES", "4000"))
FUZZ_SEED = int(os.environ.get("FUZZ_SEED", "8"))


def test_the_push_path_keeps_its_promises_under_fuzzing(tmp_path: Path) -> None:
    home = Home(tmp_path / "home")
    app = home.open()
    key = register(app, AGENCY)
    path = tmp_path / "fuzz.jsonl"
    labels: list[str] = []
    rejected_lines: set[bytes] = set()
    with path.open("wb") as stream:
        for line, label in labelled_lines(FUZZ_SEED, FUZZ_LINES, key):
            stream.write(line + b"\n")
            labels.append(label)
            if label not in ("accepted", "duplicate"):
                rejected_lines.add(line)

    summary = push_file(app, path, agency=AGENCY, key=key, now=datetime.now(UTC))

    expected = Counter(labels)
    assert summary.accepted == expected["accepted"]
    assert summary.duplicate == expected["duplicate"]
    assert summary.rejected == FUZZ_LINES - expected["accepted"] - expected["duplicate"]
    for outcome in summary.rejections:
        label = labels[int(outcome.source.rsplit(":", 1)[1]) - 1]
        assert outcome.rejection is not None
        assert label != "accepted" and label != "duplicate", outcome.rejection
        if label != "rejected":
            assert outcome.rejection.reason == label, (label, str(outcome.rejection))
    with home.projected(app) as connection:
        facts = connection.execute("SELECT count(*), count(DISTINCT event_id) FROM facts")
        assert facts.fetchone() == (expected["accepted"], expected["accepted"])
        kept = connection.execute("SELECT count(*) FROM rejections").fetchone()
        assert kept == (len(rejected_lines),)
