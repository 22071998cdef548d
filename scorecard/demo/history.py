"""An invented event history for Rotherham, April 2014 to March 2016 (fixed seed).

No real person's data: every event is made up so that the totals match the figures
the partnership published (``shared/reference-figures.md``) at the dates it published
them. History arrives as it really does: monthly returns a few days after month end,
some weeks late, and corrections and retractions months later.
"""

from __future__ import annotations

import random
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from domain.plan import Plan
from scorecard.demo.schools import School, school_register

SEED = 20151216
FIRST_MONTH = date(2014, 4, 1)
LAST_DAY = date(2016, 3, 31)
ZONE = ZoneInfo("Europe/London")
SUPPORT_TYPES = ["referral.received", "case.closed", "action.status_reported", "event.retracted"]
ROLE_TYPES: dict[str, list[str] | None] = {
    "nspcc-helpline": ["helpline.contact", "action.status_reported", "event.retracted"],
    "racs": SUPPORT_TYPES, "grow": SUPPORT_TYPES, "rise": SUPPORT_TYPES,
    "swinton-lock": SUPPORT_TYPES,
}
OTHER_TYPES = ["training.delivered", "school.session_delivered", "youth_session.delivered",
               "action.status_reported", "event.retracted"]

# Returns that arrived late (agency, month) -> day received. October 2015's are the story
# of the 4 November 2015 meeting: most of October was not yet known.
LATE_RETURNS: dict[tuple[str, str], date] = {
    ("nspcc-helpline", "2015-10"): date(2015, 11, 9),
    ("grow", "2015-10"): date(2015, 11, 20),
    ("rise", "2015-10"): date(2015, 11, 26),
    ("rise", "2015-08"): date(2015, 10, 12),
    ("rlscb", "2015-10"): date(2015, 11, 6),
    ("healthy-schools", "2015-10"): date(2015, 11, 12),
    ("city-learning-centres", "2015-10"): date(2015, 11, 5),
    ("swinton-lock", "2015-10"): date(2015, 11, 2),
    ("racs", "2015-10"): date(2015, 11, 3),
}


@dataclass
class Return:
    """One push: an agency's events, received (and so known) at ``known_at``."""

    agency: str
    label: str
    known_at: datetime
    events: list[dict[str, Any]]


@dataclass(frozen=True)
class Governance:
    """A board or agency decision at a known time: approve, accept or change rules."""

    at: datetime
    kind: str  # approve | accept | rules
    details: dict[str, Any]


@dataclass
class History:
    agencies: list[tuple[str, str, str, list[str] | None]]
    returns: list[Return]
    schools: list[School]
    governance: list[Governance] = field(default_factory=list)


# Approvals that lagged behind their return; months the board accepted, and when.
LATE_APPROVALS = {("rise", "2015-10"): date(2015, 12, 10)}
BOARD_ACCEPTANCES = (("2015-09", date(2015, 10, 15)), ("2015-10", date(2015, 11, 25)))


def days(first: date, last: date) -> list[date]:
    return [first + timedelta(n) for n in range((last - first).days + 1)]


def month_key(day: date) -> str:
    return f"{day:%Y-%m}"


def next_month(day: date) -> date:
    return (day.replace(day=28) + timedelta(days=4)).replace(day=1)


@dataclass
class _Writer:
    """Collects events into monthly returns and one-off corrections."""

    rng: random.Random
    monthly: dict[tuple[str, str], list[dict[str, Any]]] = field(
        default_factory=lambda: defaultdict(list))
    corrections: list[Return] = field(default_factory=list)
    counters: dict[tuple[str, str], int] = field(default_factory=lambda: defaultdict(int))

    def new_id(self, agency: str, prefix: str, day: date) -> str:
        self.counters[(agency, prefix)] += 1
        return f"{prefix}-{day:%Y%m}-{self.counters[(agency, prefix)]:04d}"

    def envelope(self, agency: str, event_type: str, prefix: str, when: date | datetime,
                 payload: dict[str, Any], supersedes: str | None = None) -> dict[str, Any]:
        day = when.date() if isinstance(when, datetime) else when
        message: dict[str, Any] = {
            "event_id": self.new_id(agency, prefix, day), "agency": agency, "type": event_type,
            "schema_version": 1, "occurred_at": when.isoformat(), "payload": payload,
        }
        if supersedes:
            message["supersedes"] = supersedes
        return message

    def add(self, agency: str, event_type: str, prefix: str, when: date | datetime,
            payload: dict[str, Any]) -> dict[str, Any]:
        message = self.envelope(agency, event_type, prefix, when, payload)
        day = when.date() if isinstance(when, datetime) else when
        self.monthly[(agency, month_key(day))].append(message)
        return message

    def correct(self, agency: str, known: date, label: str, *messages: dict[str, Any]) -> None:
        self.corrections.append(Return(agency, label, _office_hours(known, self.rng),
                                       list(messages)))

    def retract(self, agency: str, known: date, target: dict[str, Any], reason: str) -> None:
        self.correct(agency, known, f"retraction of {target['event_id']}", self.envelope(
            agency, "event.retracted", "ret", known,
            {"target": target["event_id"], "reason": reason}))

    def supersede(self, agency: str, known: date, old: dict[str, Any],
                  reason: str, **changes: Any) -> None:
        payload = {**old["payload"], **changes}
        day = datetime.fromisoformat(old["occurred_at"]).date()
        new = self.envelope(agency, old["type"], "cor", day, payload,
                            supersedes=old["event_id"])
        self.correct(agency, known, f"correction of {old['event_id']}: {reason}", new)


def _office_hours(day: date, rng: random.Random) -> datetime:
    moment = datetime.combine(day, time(rng.randint(9, 16), rng.randint(0, 59)), tzinfo=ZONE)
    return moment


def _spread(total: int, span: Sequence[date], rng: random.Random) -> list[date]:
    return sorted(rng.choice(span) for _ in range(total))


def _exact(counts: dict[str, int], rng: random.Random) -> list[str]:
    """A shuffled list holding each value exactly as many times as asked."""
    values = [value for value, n in counts.items() for _ in range(n)]
    rng.shuffle(values)
    return values


def _helpline(w: _Writer) -> None:
    """NSPCC helpline from launch (December 2014): 194 contacts to 31 October 2015, of
    which 44 about CSE in Rotherham (37 phone, 7 email; 7 advice, 28 enquiry responses,
    9 referrals into services)."""
    rng, agency = w.rng, "nspcc-helpline"
    span = days(date(2014, 12, 1), date(2015, 10, 31))
    cse_channels = _exact({"phone": 37, "email": 7}, rng)
    cse_outcomes = _exact({"advice": 7, "enquiry_response": 28, "referral": 9}, rng)
    contacts: list[tuple[date, dict[str, Any]]] = []
    for day, channel, outcome in zip(_spread(44, span, rng), cse_channels, cse_outcomes,
                                     strict=True):
        contacts.append((day, _contact(rng, channel, True, True, outcome)))
    for day in _spread(150, span, rng):
        cse = rng.random() < 0.3  # about CSE but outside Rotherham, or about something else
        contacts.append((day, _contact(rng, rng.choice(["phone", "phone", "email", "web", "text"]),
                                       cse, not cse,
                                       rng.choice(["advice", "signpost", "none",
                                                   "enquiry_response"]))))
    for day in _spread(95, days(date(2015, 11, 1), LAST_DAY), rng):
        cse = rng.random() < 0.3
        contacts.append((day, _contact(rng, rng.choice(["phone", "email", "web"]), cse,
                                       rng.random() < 0.8,
                                       rng.choice(["advice", "enquiry_response", "referral",
                                                   "signpost"]))))
    for day, payload in sorted(contacts, key=lambda c: c[0]):
        moment = datetime.combine(day, time(rng.randint(0, 23), rng.randint(0, 59)), tzinfo=ZONE)
        w.add(agency, "helpline.contact", "call", moment, payload)
    # A contact keyed twice in October's return, withdrawn when the helpline noticed.
    october = [m for m in w.monthly[(agency, "2015-10")] if not m["payload"]["cse_related"]]
    double = w.add(agency, "helpline.contact", "call",
                   datetime.fromisoformat(october[0]["occurred_at"]), dict(october[0]["payload"]))
    w.retract(agency, date(2015, 12, 2), double, "The same call was entered twice.")


def _contact(rng: random.Random, channel: str, cse: bool, in_area: bool,
             outcome: str) -> dict[str, Any]:
    minutes = rng.randint(0, 4) if channel == "phone" else rng.randint(10, 300)
    return {"channel": channel, "cse_related": cse, "in_area": in_area, "outcome": outcome,
            "response_minutes": minutes}


@dataclass(frozen=True)
class Caseload:
    """What a support service's figures were at ``as_at``: open and closed episodes."""

    agency: str
    prefix: str
    referrals_from: date
    closures_from: date
    open_cases: int
    closed: int
    re_referrals: int = 0
    from_schools: int = 0
    clients: tuple[str, ...] = ("child", "young_adult", "adult_survivor")
    confirmed_cse: int = 0  # of the cases open at AS_AT, how many are confirmed CSE
    counselling: int = 0  # of the cases open at AS_AT, how many are in counselling


AS_AT = date(2015, 10, 31)
CASELOADS = (
    Caseload("racs", "RACS", date(2014, 6, 1), date(2015, 4, 1), open_cases=96, closed=39,
             re_referrals=2, clients=("child", "young_adult", "adult_survivor"),
             confirmed_cse=35),
    Caseload("grow", "GROW", date(2015, 4, 1), date(2015, 11, 1), open_cases=32, closed=0,
             clients=("child", "parent", "sibling")),
    Caseload("rise", "RISE", date(2014, 10, 1), date(2015, 4, 1), open_cases=37, closed=6,
             clients=("child", "young_adult", "adult_survivor"), counselling=15),
    Caseload("swinton-lock", "SL", date(2015, 7, 1), date(2015, 7, 1), open_cases=107,
             closed=60, re_referrals=3, from_schools=96,
             clients=("child", "young_adult", "parent", "sibling")),
)


def _referral(w: _Writer, load: Caseload, case: str, day: date, source: str) -> dict[str, Any]:
    rng = w.rng
    client = rng.choice(load.clients)
    age = {"child": rng.choice(["11-15", "16-17", "0-10"]), "young_adult": "18-24",
           "adult_survivor": "25+", "parent": "25+", "sibling": rng.choice(["0-10", "11-15"])}
    return w.add(load.agency, "referral.received", "ref", day, {
        "case": case, "source": source, "client": client, "age_band": age[client],
        "gender": rng.choice(["female"] * 6 + ["male", "unknown"]),
        "historic": client == "adult_survivor"})


def _caseload(w: _Writer, load: Caseload) -> None:
    """Exactly ``open_cases`` open and ``closed`` closures at the end of ``AS_AT``."""
    rng = w.rng
    sources = _exact({"education": load.from_schools}, rng)
    other = ["police", "health", "social_care", "voluntary", "helpline", "self", "family"]
    episodes = load.open_cases + load.closed
    sources += [rng.choice(other) for _ in range(episodes - len(sources))]
    rng.shuffle(sources)
    number = 0

    def new_case() -> str:
        nonlocal number
        number += 1
        return f"{load.prefix}-{number:04d}"

    closures: list[tuple[str, date, date]] = []  # case, referred, closed
    for _ in range(load.closed):
        closed = rng.choice(days(load.closures_from, AS_AT))
        referred = rng.choice(days(load.referrals_from, closed))
        closures.append((new_case(), referred, closed))
    still_open = []
    for case, referred, closed in closures:
        _referral(w, load, case, referred, sources.pop())
        w.add(load.agency, "case.closed", "clo", closed, {
            "case": case, "reason": rng.choice(["support_completed"] * 4 + ["disengaged",
                                                                            "moved_away"])})
    early = [c for c in closures if c[2] < AS_AT]
    open_referrals = []
    for case, _, closed in early[: load.re_referrals]:
        again = rng.choice(days(closed + timedelta(days=1), AS_AT))
        open_referrals.append(_referral(w, load, case, again, sources.pop()))
        still_open.append(case)
    for _ in range(load.open_cases - load.re_referrals):
        case = new_case()
        open_referrals.append(_referral(w, load, case, rng.choice(
            days(load.referrals_from, AS_AT)), sources.pop()))
        still_open.append(case)
    # Confirmed CSE and counselling among the cases still open (briefing 2.3.1, 2.3.3).
    for message in rng.sample(open_referrals, load.confirmed_cse):
        message["payload"]["cse_confirmed"] = True
    for message in rng.sample(open_referrals, load.counselling):
        message["payload"]["service"] = "counselling"
    # After the published date: new referrals, and closures of open cases.
    rng.shuffle(still_open)
    for day in _spread(rng.randint(20, 40), days(AS_AT + timedelta(1), LAST_DAY), rng):
        if still_open and rng.random() < 0.6:
            w.add(load.agency, "case.closed", "clo", day,
                  {"case": still_open.pop(), "reason": "support_completed"})
        else:
            _referral(w, load, new_case(), day, rng.choice(other))


def _training(w: _Writer) -> None:
    """2014/15: 1,552 workers trained; community awareness November 2014 to March 2015:
    375 plus 113 at the November 2014 conference launch, 8 staff trained as trainers."""
    rng = w.rng
    sectors = ["council", "police", "health", "education", "voluntary", "other"]
    year_1415 = days(date(2014, 4, 1), date(2015, 3, 31))
    for day, size in zip(_spread(52, year_1415, rng), _sizes(1552, 52, rng), strict=True):
        w.add("rlscb", "training.delivered", "trn", day, {
            "course": rng.choice(["cse-level-1", "cse-level-2", "cse-e-learning-workshop"]),
            "audience": "workforce", "attendees": size, "sector": rng.choice(sectors)})
    w.add("cypf-consortium", "training.delivered", "trn", date(2014, 11, 20), {
        "course": "cse-conference-launch", "audience": "community", "attendees": 113})
    w.add("cypf-consortium", "training.delivered", "trn", date(2014, 11, 27), {
        "course": "cse-train-the-trainer", "audience": "trainer", "attendees": 8,
        "sector": "voluntary"})
    community = days(date(2014, 12, 1), date(2015, 3, 31))
    for day, size in zip(_spread(15, community, rng), _sizes(375, 15, rng), strict=True):
        returned = max(0, size - rng.randint(0, 3))
        w.add("cypf-consortium", "training.delivered", "trn", day, {
            "course": "cse-community-awareness", "audience": "community", "attendees": size,
            "evaluation": {"returned": returned,
                           "improved_risk_understanding": round(returned * 0.85),
                           "improved_action_understanding": round(returned * 0.87)}})
    year_1516 = days(date(2015, 4, 1), LAST_DAY)
    for day, size in zip(_spread(12, year_1516, rng), _sizes(330, 12, rng), strict=True):
        w.add("cypf-consortium", "training.delivered", "trn", day, {
            "course": "cse-community-awareness", "audience": "community", "attendees": size})
    courses = []
    for day, size in zip(_spread(60, year_1516, rng), _sizes(1900, 60, rng), strict=True):
        courses.append(w.add("rlscb", "training.delivered", "trn", day, {
            "course": rng.choice(["cse-level-1", "cse-level-2"]), "audience": "workforce",
            "attendees": size, "sector": rng.choice(sectors)}))
    w.add("healthy-schools", "training.delivered", "trn", date(2015, 11, 17), {
        "course": "chelseas-choice-preview", "audience": "workforce", "attendees": 62,
        "sector": "education"})
    november = next(c for c in courses if c["occurred_at"].startswith("2015-11"))
    w.supersede("rlscb", date(2016, 2, 10), november, "register recounted",
                attendees=november["payload"]["attendees"] + 9)


def _youth_work(w: _Writer) -> None:
    """2014/15: 341 CSE sessions delivered by IYSS in the informal curriculum."""
    rng = w.rng
    for span, count in ((days(date(2014, 4, 1), date(2015, 3, 31)), 341),
                        (days(date(2015, 4, 1), LAST_DAY), 318)):
        for day in _spread(count, span, rng):
            w.add("rmbc-iyss", "youth_session.delivered", "yth", day, {
                "programme": "cse-informal-curriculum",
                "setting": rng.choice(["youth_centre"] * 3 + ["outreach", "online"]),
                "participants": rng.randint(4, 24)})


def _sizes(total: int, parts: int, rng: random.Random) -> list[int]:
    cuts = sorted(rng.sample(range(1, total), parts - 1))
    return [b - a for a, b in zip([0, *cuts], [*cuts, total], strict=True)]


def _schools(w: _Writer, schools: list[School]) -> None:
    """2014/15: 1,330 Year 8 pupils at CSE sessions in secondary schools (41% of Year 8).
    Autumn 2015: Keeping Safe Online in 25 schools; anti-bullying support in 25 schools."""
    rng = w.rng
    secondary = [s for s in schools if s.phase == "secondary"]
    primary = [s for s in schools if s.phase == "primary"]
    year_1415 = days(date(2014, 9, 1), date(2015, 3, 31))
    pupils = _sizes(1330, len(secondary) * 2, rng)
    for n, count in enumerate(pupils):
        school = secondary[n % len(secondary)]
        w.add("healthy-schools", "school.session_delivered", "ses", rng.choice(year_1415), {
            "school": school.urn, "programme": "cse-year-8-lesson", "year_groups": ["Y8"],
            "pupils": count, "format": "lesson"})
    autumn = days(date(2015, 9, 7), date(2015, 11, 30))  # known by the 16 December papers
    for school in rng.sample(primary, 18) + rng.sample(secondary, 7):
        years = ["Y5", "Y6"] if school.phase == "primary" else ["Y7"]
        w.add("city-learning-centres", "school.session_delivered", "ses", rng.choice(autumn), {
            "school": school.urn, "programme": "keeping-safe-online", "year_groups": years,
            "pupils": sum(school.rolls[y] for y in years), "format": "workshop"})
    for school in rng.sample(primary, 20) + rng.sample(secondary, 5):
        year = rng.choice(list(school.rolls))
        w.add("healthy-schools", "school.session_delivered", "ses", rng.choice(autumn), {
            "school": school.urn, "programme": "anti-bullying", "year_groups": [year],
            "pupils": school.rolls[year], "format": rng.choice(["assembly", "workshop"])})
    spring = days(date(2016, 1, 11), LAST_DAY)
    for school in secondary:
        w.add("healthy-schools", "school.session_delivered", "ses", rng.choice(spring), {
            "school": school.urn, "programme": "chelseas-choice", "year_groups": ["Y8", "Y9"],
            "pupils": school.rolls["Y8"] + school.rolls["Y9"], "format": "performance"})
    for school in rng.sample(primary, 30):
        w.add("nspcc-schools", "school.session_delivered", "ses", rng.choice(spring), {
            "school": school.urn, "programme": "speak-out-stay-safe", "year_groups": ["Y5", "Y6"],
            "pupils": school.rolls["Y5"] + school.rolls["Y6"], "format": "assembly"})


STATUS_NOTES = {
    "on_track": "Progressing to plan; next milestone agreed at the CSE sub-group.",
    "at_risk": "Slippage reported to the CSE sub-group; recovery plan being agreed.",
    "off_track": "Behind plan; escalated to the LSCB for decision.",
    "complete": "Delivered and signed off by the CSE sub-group.",
    "not_started": "Not yet started; scheduled for a later phase of the plan.",
}
QUARTER_ENDS = (date(2015, 6, 30), date(2015, 9, 30), date(2015, 12, 31), date(2016, 3, 31))


def _actions(w: _Writer, plan: Plan) -> None:
    """Each lead reports its actions' status at every quarter end, with a note."""
    rng = w.rng
    for action in plan.actions:
        for quarter_end in QUARTER_ENDS:
            status = _status(action.code, action.due, quarter_end, rng)
            note = f"Quarter to {quarter_end:%d %B %Y}: {STATUS_NOTES[status]}"
            w.add(action.lead, "action.status_reported", "sts", quarter_end, {
                "action": action.code, "status": status, "note": note})
    # The scorecard (1.4.3): promised for September 2015, still missing on 4 November
    # (an update sent ahead of that meeting), delivered in January 2016.
    ahead = w.envelope("rmbc-cyps", "action.status_reported", "sts", date(2015, 10, 30), {
        "action": "1.4.3", "status": "off_track", "note": "The CSE scorecard was not "
        "circulated in September; data sharing between partners is still being agreed."})
    w.correct("rmbc-cyps", date(2015, 11, 2), "status update ahead of the Commission", ahead)
    w.add("rmbc-cyps", "action.status_reported", "sts", date(2016, 1, 29), {
        "action": "1.4.3", "status": "complete",
        "note": "The CSE scorecard is now circulated monthly."})


def _status(code: str, due: date, on: date, rng: random.Random) -> str:
    if code == "1.4.3":  # the scorecard: late, then delivered in January 2016
        return "at_risk" if on <= date(2015, 9, 30) else \
            "off_track" if on <= date(2015, 12, 31) else "complete"
    if on >= due:
        return "complete" if rng.random() < 0.75 else "off_track"
    if on < date(2015, 9, 1) and rng.random() < 0.15:
        return "not_started"
    return rng.choice(["on_track"] * 5 + ["at_risk"])


def _arrivals(w: _Writer) -> list[Return]:
    """Monthly returns arrive a few days after month end; some weeks late. An agency's
    returns never overtake each other."""
    rng = w.rng
    returns: list[Return] = []
    by_agency: dict[str, list[str]] = defaultdict(list)
    for agency, month in w.monthly:
        by_agency[agency].append(month)
    for agency, months in sorted(by_agency.items()):
        previous: datetime | None = None
        for month in sorted(months):
            first = date.fromisoformat(f"{month}-01")
            due = next_month(first) + timedelta(days=rng.randint(2, 9))
            arrival = _office_hours(LATE_RETURNS.get((agency, month), due), rng)
            if previous is not None and arrival <= previous:
                arrival = previous + timedelta(minutes=30)
            previous = arrival
            returns.append(Return(agency, f"{month} monthly return", arrival,
                                  w.monthly[(agency, month)]))
    return returns


def build_history(plan: Plan, seed: int = SEED) -> History:
    rng = random.Random(seed)
    writer = _Writer(rng)
    schools = school_register(seed)
    _helpline(writer)
    for load in CASELOADS:
        _caseload(writer, load)
    _training(writer)
    _youth_work(writer)
    _schools(writer, schools)
    _actions(writer, plan)
    # A closure keyed in error in September, withdrawn in October (the case stays open).
    closed_by_november = {m["payload"]["case"] for (agency, month), messages
                          in writer.monthly.items() if agency == "racs" and month <= "2015-10"
                          for m in messages if m["type"] == "case.closed"}
    open_in_september = [m["payload"]["case"] for m in writer.monthly[("racs", "2015-09")]
                         if m["type"] == "referral.received"
                         and m["payload"]["case"] not in closed_by_november]
    wrong = writer.add("racs", "case.closed", "clo", date(2015, 9, 30),
                       {"case": open_in_september[0], "reason": "other"})
    writer.retract("racs", date(2015, 10, 20), wrong, "Closed in error: support continues.")
    monthly = _arrivals(writer)
    returns = sorted(monthly + writer.corrections, key=lambda r: r.known_at)
    agencies = [(a.code, a.name, a.sector, ROLE_TYPES.get(a.code, OTHER_TYPES))
                for a in plan.agencies]
    return History(agencies, returns, schools, _governance(monthly, plan, rng))


def _governance(monthly: list[Return], plan: Plan, rng: random.Random) -> list[Governance]:
    """Agencies owing returns approve each on arrival (one lags); the board accepts
    September and October 2015; on 16 December 2015 it raises the email target."""
    owed = plan.returns.owed_from if plan.returns else {}
    steps = []
    for ret in monthly:
        month = ret.label[:7]
        if ret.agency in owed and month >= owed[ret.agency]:
            lagged = LATE_APPROVALS.get((ret.agency, month))
            at = _office_hours(lagged, rng) if lagged else ret.known_at + timedelta(hours=2)
            steps.append(Governance(at, "approve", {"agency": ret.agency, "month": month}))
    for month, day in BOARD_ACCEPTANCES:
        steps.append(Governance(_office_hours(day, rng), "accept", {"month": month}))
    steps.append(Governance(datetime.combine(date(2015, 12, 16), time(17, 0), tzinfo=ZONE),
                            "rules", {
        "measure": "email_answered_within_2_hours",
        "rules": {"target": [{"from": "2015-04-01", "value": 0.6},
                             {"from": "2015-12-16", "value": 0.8}],
                  "rag": [{"rag": "green", "share": 1.0}, {"rag": "amber", "share": 0.9},
                          {"rag": "red"}]},
        "reason": "The Commission asked that emails be answered faster.",
    }))
    return sorted(steps, key=lambda step: step.at)

