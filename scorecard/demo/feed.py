"""The demo's live feed: while ``make demo`` runs, a small simulated agency feed plays the
plan's final year (its last twelve months) on an accelerated clock, so the board's live
view moves as it would with agencies pushing.

Each simulated day the NSPCC helpline reports a few contacts and, now and then, the
safeguarding board a training session. The messages are signed with the demo agencies'
own keys (``demo/keys`` in the home) and pushed through the real push path
(``ingest.file_push.push_file``), so they are checked, decided and recorded as any
agency's would be. Event ids are deterministic (``feed-YYYYMMDD-NNN``) and so is every
payload (seeded by the day): a restarted feed sends the same messages again, which the
domain finds duplicates, and nothing is counted twice.

The feed's events happen in the plan's final year (2017-18 for the bundled plan) and
become known now, so the figures the partnership published (for 2014-16, as known in
2015) are untouched.
"""

from __future__ import annotations

import argparse
import json
import random
import sys
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any

from domain import contract, signing
from domain.application import Scorecard
from domain.plan import Plan
from domain.timekeeping import utc_now
from ingest.file_push import PushSummary, push_file
from scorecard.bootstrap import Home
from scorecard.settings import Settings

DEFAULT_SECONDS_PER_DAY = 2.0
HELPLINE = "nspcc-helpline"
TRAINER = "rlscb"


def final_year(plan: Plan) -> tuple[date, date]:
    """The plan's last twelve months: from the day after ``ends`` a year before, to ``ends``."""
    ends = plan.ends
    try:
        year_before = ends.replace(year=ends.year - 1)
    except ValueError:  # 29 February
        year_before = ends.replace(year=ends.year - 1, day=28)
    return year_before + timedelta(days=1), ends


@dataclass(frozen=True)
class FeedDay:
    """One simulated day's messages, by agency."""

    day: date
    messages: dict[str, list[dict[str, Any]]]

    @property
    def count(self) -> int:
        return sum(len(m) for m in self.messages.values())


def day_messages(plan: Plan, day: date) -> FeedDay:
    """The messages of ``day``: the same every time (the random source is seeded by the
    day), with ids ``feed-YYYYMMDD-NNN``."""
    rng = random.Random(f"feed-{day.isoformat()}")
    serial = 0
    messages: dict[str, list[dict[str, Any]]] = {}

    def add(agency: str, event_type: str, at: datetime, payload: dict[str, Any]) -> None:
        nonlocal serial
        serial += 1
        messages.setdefault(agency, []).append({
            "event_id": f"feed-{day:%Y%m%d}-{serial:03d}", "agency": agency,
            "type": event_type, "schema_version": 1, "occurred_at": at.isoformat(),
            "payload": payload})

    for _ in range(rng.randint(1, 4)):
        at = datetime.combine(day, time(rng.randint(8, 21), rng.randint(0, 59)),
                              tzinfo=plan.zone)
        channel = rng.choice(["phone", "phone", "email", "web"])
        cse = rng.random() < 0.3
        add(HELPLINE, "helpline.contact", at, {
            "channel": channel, "cse_related": cse, "in_area": rng.random() < 0.8,
            "outcome": rng.choice(["advice", "enquiry_response", "referral", "signpost"]),
            "response_minutes": rng.randint(0, 4) if channel == "phone"
            else rng.randint(10, 300)})
    if day.weekday() < 5 and rng.random() < 0.25:
        add(TRAINER, "training.delivered", datetime.combine(day, time(10), tzinfo=plan.zone), {
            "course": rng.choice(["cse-level-1", "cse-level-2"]), "audience": "workforce",
            "attendees": rng.randint(8, 30),
            "sector": rng.choice(["council", "police", "health", "education"])})
    return FeedDay(day, messages)


def demo_keys(home: Home) -> dict[str, str]:
    """The demo agencies' keys, as the demo build wrote them."""
    folder = home.path / "demo" / "keys"
    return {path.stem: path.read_text("utf-8").strip() for path in folder.glob("*.key")}


def play_day(app: Scorecard, home: Home, feed_day: FeedDay, keys: dict[str, str],
             now: datetime | None = None) -> PushSummary:
    """Sign and push one day's messages, each agency's as a file, as an agency would."""
    total = PushSummary()
    folder = home.path / "demo" / "feed"
    folder.mkdir(parents=True, exist_ok=True)
    for agency, messages in sorted(feed_day.messages.items()):
        key = keys[agency]
        path = folder / f"{feed_day.day:%Y%m%d}-{agency}.jsonl"
        with path.open("w", encoding="utf-8") as stream:
            for message in messages:
                signature = signing.sign(key, contract.canonical_bytes(message))
                stream.write(json.dumps({**message, "signature": signature}) + "\n")
        pushed = push_file(app, path, agency=agency, key=key, now=now or utc_now())
        total.accepted += pushed.accepted
        total.duplicate += pushed.duplicate
        total.rejected += pushed.rejected
        total.rejections.extend(pushed.rejections)
    return total


def run_feed(home: Home, seconds_per_day: float, stop: threading.Event,
             days: int | None = None, log: Any = None) -> PushSummary:
    """Play the final year from its first day, one day every ``seconds_per_day`` seconds,
    until ``stop``, the year's end, or ``days`` days have been played."""
    app = home.open()
    first, last = final_year(app.plan)
    keys = demo_keys(home)
    total = PushSummary()
    day, played = first, 0
    while day <= last and (days is None or played < days) and not stop.is_set():
        pushed = play_day(app, home, day_messages(app.plan, day), keys)
        total.accepted += pushed.accepted
        total.duplicate += pushed.duplicate
        total.rejected += pushed.rejected
        total.rejections.extend(pushed.rejections)
        if log is not None:
            log(f"demo feed: {day:%d %b %Y}: {pushed.line()}")
        day, played = day + timedelta(days=1), played + 1
        stop.wait(seconds_per_day)
    return total


def main(argv: Sequence[str] | None = None) -> int:
    """``python -m scorecard.demo.feed``: what ``scorecard demo`` runs beside the page."""
    from scorecard.service import stop_on_signals

    parser = argparse.ArgumentParser(prog="scorecard-demo-feed")
    parser.add_argument("--seconds-per-day", type=float, default=DEFAULT_SECONDS_PER_DAY)
    args = parser.parse_args(argv)
    home = Home.from_settings(Settings.from_environment())
    if not (home.path / "demo" / "keys").is_dir():
        print("scorecard: the demo feed needs a demo home (scorecard demo)", file=sys.stderr)
        return 1
    run_feed(home, args.seconds_per_day, stop_on_signals(),
             log=lambda text: print(text, flush=True))
    return 0


if __name__ == "__main__":
    sys.exit(main())

