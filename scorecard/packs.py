"""Board packs you can reproduce: a meeting's pack (``projections.pack``) as a CSV and as a
printable, self-contained HTML page, each sealed with a content hash.

Both carry the knowledge times and event-log positions they were built from, and the
SHA-256 of their own content without the one line that states it, so anyone holding a
pack can check it was not edited (``verify``) and regenerate it byte for byte with
``scorecard pack --meeting D --known K``: nothing in the content depends on the clock or
on events recorded after K. Figures are as the pack's audience may see them; suppressed
cells carry their GSS symbol.
"""

from __future__ import annotations

import csv
import hashlib
import html
import io
import re
from datetime import date, datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import duckdb

from projections.pack import build_pack
from projections.restatements import signed
from scorecard_ui.formatting import uk_date, uk_time
from scorecard_ui.spreadsheet import neutralised

# The layout's version: a pack regenerates byte for byte with the same version of this
# module (a later layout says so here, so an old pack is not mistaken for a changed one).
PACK_FORMAT = 1
CSV_HASH_PREFIX = "content_sha256,"
HTML_HASH_PREFIX = '<p id="content-hash">'
HASH = re.compile(r"[0-9a-f]{64}")

UNIT_WORDS = {"count": "count", "share": "share (0 to 1)", "rate": "rate per {per:,} people"}


# Dates and numbers as the papers print them ----------------------------------------------

def uk_moment(iso: str, zone: ZoneInfo) -> str:
    """A knowledge time in the plan's zone: "the end of 16 Dec 2015", "1 Jun 2016 at
    01:00"."""
    moment = datetime.fromisoformat(iso).astimezone(zone)
    if (moment.hour, moment.minute, moment.second) == (23, 59, 59):
        return f"the end of {uk_date(moment.date())}"
    return uk_time(moment)


def shown(value: Any, unit: str) -> str:
    if value is None:
        return "–"
    if isinstance(value, str):
        return value
    if unit == "share":
        return f"{value:.1%}"
    return f"{value:,.1f}" if unit == "rate" else f"{value:,g}"


def unit_words(measure: dict[str, Any]) -> str:
    return str(UNIT_WORDS.get(measure["unit"], measure["unit"])).format(per=measure.get("per"))


# Sealing -----------------------------------------------------------------------------------

def _digest(content: str) -> str:
    return hashlib.sha256(content.encode("utf-8")).hexdigest()


def _split(data: bytes) -> tuple[str, str | None]:
    """The content without its hash line, and the hash that line states."""
    lines = data.decode("utf-8").splitlines(keepends=True)
    for at, line in enumerate(lines):
        if line.startswith((CSV_HASH_PREFIX, HTML_HASH_PREFIX)):
            found = HASH.search(line)
            return "".join(lines[:at] + lines[at + 1:]), found.group(0) if found else None
    return "".join(lines), None


def verify(data: bytes) -> bool:
    """Whether a pack's stated hash is the SHA-256 of its content without that line."""
    content, stated = _split(data)
    return stated is not None and _digest(content) == stated


def stated_hash(data: bytes) -> str | None:
    return _split(data)[1]


# CSV -----------------------------------------------------------------------------------------

def pack_csv(pack: dict[str, Any]) -> str:
    """Sections separated by a blank line: the pack's provenance (field, value), the
    measures (numbers as numbers; a suppressed cell as its GSS symbol), each cause with its
    effect, the actions, the symbols; then the hash line."""
    out = io.StringIO()
    rows = _InertWriter(csv.writer(out, lineterminator="\n"))
    rows.writerow(["field", "value"])
    rows.writerows([
        ["pack_format", PACK_FORMAT], ["plan", pack["plan"]["title"]],
        ["plan_code", pack["plan"]["code"]],
        ["meeting", pack["meeting"]], ["meeting_title", pack["meeting_title"] or ""],
        ["events_from", pack["from"]], ["audience", pack["audience"]],
        ["known_at_meeting", pack["known_at_meeting"]], ["known_at", pack["known_at"]],
        ["log_position_at_meeting", pack["log_position_at_meeting"]],
        ["log_position", pack["log_position"]], ["timezone", pack["timezone"]],
    ])
    out.write("\n")
    rows.writerow(["measure", "title", "objective", "unit", "value_then", "markers_then",
                   "value_now", "markers_now", "difference", "target_then", "target_now",
                   "rag_then", "rag_now", "causes"])
    for m in pack["measures"]:
        then, now = m["then"], m["now"]
        rows.writerow([m["id"], m["title"], m["objective"] or "", unit_words(m),
                       _cell(then["value"]), " ".join(then["markers"]), _cell(now["value"]),
                       " ".join(now["markers"]), _cell(m["difference"]),
                       _cell(then["target"]), _cell(now["target"]), then["rag"] or "",
                       now["rag"] or "", _causes_cell(m)])
    out.write("\n")
    rows.writerow(["measure", "cause", "effect", "events", "agencies", "in_words"])
    for m in pack["measures"]:
        for c in m["causes"]:
            rows.writerow([m["id"], c["cause"], _cell(c["effect"]), _cell(c["count"]),
                           "; ".join(c["agencies"]), c["words"]])
    out.write("\n")
    rows.writerow(["action", "title", "lead", "due", "status_then", "status_now", "causes"])
    for a in pack["actions"]:
        rows.writerow([a["code"], a["title"], a["lead"], a["due"], a["then"], a["now"],
                       "; ".join(a["causes"])])
    out.write("\n")
    rows.writerow(["symbol", "meaning"])
    rows.writerows(pack["legend"].items())
    content = out.getvalue()
    return content + f"{CSV_HASH_PREFIX}{_digest(content)}\n"


class _InertWriter:
    """A CSV writer whose text cells cannot run as spreadsheet formulas (a title or an
    agency's name starting with "=" gets a leading apostrophe); numbers are left alone."""

    def __init__(self, writer: Any) -> None:
        self.writer = writer

    def writerow(self, row: list[Any]) -> None:
        self.writer.writerow([neutralised(cell) for cell in row])

    def writerows(self, rows: Any) -> None:
        for row in rows:
            self.writerow(list(row))


def _cell(value: Any) -> Any:
    """A number as a number (a whole one without ".0"), a symbol as it is, None empty."""
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return value


def _causes_text(m: dict[str, Any]) -> str:
    """The causes in words, each with its effect ("+24 from returns by GROW ...")."""
    if m["causes_hidden"]:
        return "[c]: a side of this change is suppressed, so are its causes"
    return "; ".join(m["sentences"])


def _causes_cell(m: dict[str, Any]) -> str:
    """The causes for a CSV cell: words first, the effect after ("returns by GROW sent
    after 16 Dec 2015: +24"), so the cell never starts like a formula."""
    if m["causes_hidden"]:
        return _causes_text(m)
    parts = [f"{c['words']}: {signed(c['effect'], m['unit'])}" for c in m["causes"]
             if c["effect"] != 0]
    return "; ".join(parts + [s for s in m["sentences"] if s[:1] not in "+\u2212[\u00b1"])


# HTML ----------------------------------------------------------------------------------------

STYLE = """
body{font-family:Arial,Helvetica,sans-serif;color:#0b0c0c;margin:1.5rem;line-height:1.4}
h1{font-size:1.6rem}h2{font-size:1.25rem;margin-top:1.5rem}
table{border-collapse:collapse;margin:.5rem 0 1rem;width:100%}
caption{text-align:left;font-weight:bold;padding:.25rem 0}
th,td{border:1px solid #505a5f;padding:.3rem .5rem;vertical-align:top;text-align:left}
td.n{text-align:right;font-variant-numeric:tabular-nums}
thead th{background:#f3f2f1}
.rag{font-weight:bold;white-space:nowrap}
.rag-green{color:#00703c}.rag-amber{color:#8a4b00}.rag-red{color:#b10e1e}
dl.meta{display:grid;grid-template-columns:max-content auto;gap:.2rem 1rem}
dl.meta dt{font-weight:bold}dl.meta dd{margin:0}
figure{display:inline-block;margin:0 1rem 1rem 0;vertical-align:top;width:22rem}
figure table{font-size:.85rem}figcaption{font-weight:bold;margin-bottom:.25rem}
svg text{font-size:10px;fill:#0b0c0c}
#content-hash{font-size:.8rem;word-break:break-all}
@media print{body{margin:0;font-size:10pt}figure,tr{break-inside:avoid}
h2{break-after:avoid}a{color:inherit}}
"""

# As on the pages (scorecard_ui/style.py): a shape and a word, never colour alone.
RAG_SHAPES = {"green": ("●", "Green"), "amber": ("▲", "Amber"), "red": ("✖", "Red")}


def _rag(rag: str | None) -> str:
    if not rag:
        return "–"
    if rag not in RAG_SHAPES:
        return html.escape(rag)
    shape, word = RAG_SHAPES[rag]
    return (f'<span class="rag rag-{rag}"><span aria-hidden="true">{shape}</span> '
            f"{word}</span>")


def _e(text: Any) -> str:
    return html.escape(str(text))


def _chart(m: dict[str, Any], index: int) -> str:
    """The measure's last six complete months, as known then and now: an SVG with a text
    alternative, and the same points as a table."""
    points = m["trend"]
    numbers = [v for p in points for v in (p["then"], p["now"])
               if isinstance(v, int | float) and not isinstance(v, bool)]
    if not points or not numbers:
        return ""
    unit = m["unit"]
    width, height, left, top, bottom = 320, 130, 44, 12, 24
    high = max(numbers) or 1
    step = (width - left - 28) / max(len(points) - 1, 1)  # room for the last label

    def xy(at: int, value: float) -> str:
        y = top + (height - top - bottom) * (1 - value / high)
        return f"{left + at * step:.1f},{y:.1f}"

    def line(side: str, style: str) -> str:
        runs: list[list[str]] = [[]]
        for at, p in enumerate(points):
            value = p[side]
            if isinstance(value, int | float) and not isinstance(value, bool):
                runs[-1].append(xy(at, float(value)))
            else:
                runs.append([])
        return "".join(f'<polyline points="{" ".join(run)}" fill="none" {style}/>'
                       for run in runs if run)

    labels = "".join(
        f'<text x="{left + at * step:.1f}" y="{height - 8}" text-anchor="middle">'
        f'{_e(_month(p["month"]))}</text>' for at, p in enumerate(points))
    said = "; ".join(f"{_month(p['month'])}: {shown(p['then'], unit)} then, "
                     f"{shown(p['now'], unit)} now" for p in points)
    ident = f"chart-{index}"
    svg = (f'<svg role="img" aria-labelledby="{ident}-t {ident}-d" width="{width}" '
           f'height="{height}" viewBox="0 0 {width} {height}" '
           'xmlns="http://www.w3.org/2000/svg">'
           f'<title id="{ident}-t">{_e(m["title"])}: month by month, as known at the meeting '
           'and as known now</title>'
           f'<desc id="{ident}-d">{_e(said)}</desc>'
           f'<line x1="{left}" y1="{height - bottom}" x2="{width - 10}" y2="{height - bottom}"'
           ' stroke="#505a5f"/>'
           f'<text x="{left - 4}" y="{top + 4}" text-anchor="end">{_e(shown(high, unit))}</text>'
           f'<text x="{left - 4}" y="{height - bottom}" text-anchor="end">0</text>'
           + line("then", 'stroke="#505a5f" stroke-width="2" stroke-dasharray="5 3"')
           + line("now", 'stroke="#1d70b8" stroke-width="2.5"') + labels + "</svg>")
    table = (f"<table><caption>{_e(m['title'])}: each month (dashed line: as known at the "
             "meeting; solid: as known now)</caption><thead><tr><th scope=\"col\">Month</th>"
             "<th scope=\"col\">Then</th><th scope=\"col\">Now</th></tr></thead><tbody>"
             + "".join(f"<tr><th scope=\"row\">{_e(_month(p['month']))}</th>"
                       f"<td class=\"n\">{_e(shown(p['then'], unit))}</td>"
                       f"<td class=\"n\">{_e(shown(p['now'], unit))}</td></tr>"
                       for p in points) + "</tbody></table>")
    return f"<figure><figcaption>{_e(m['title'])}</figcaption>{svg}{table}</figure>"


def _month(label: str) -> str:
    return f"{date.fromisoformat(label + '-01'):%b %Y}"


def pack_html(pack: dict[str, Any]) -> str:
    """The printable pack: provenance, the scorecard then and now with causes and their
    effects, charts with their data, the actions and the symbols; then the hash line."""
    zone = ZoneInfo(pack["timezone"])
    title = f"{pack['plan']['title']}: scorecard for the meeting of {uk_date(pack['meeting'])}"
    audience = ("the board (figures as counted)" if pack["audience"] == "board" else
                f"{pack['audience']} (small numbers suppressed: docs/disclosure.md)")
    meta = [
        ("Meeting", f"{uk_date(pack['meeting'])}"
         + (f": {pack['meeting_title']}" if pack["meeting_title"] else "")),
        ("Events counted", f"from {uk_date(pack['from'])} to the end of "
                           f"{uk_date(pack['meeting'])}"),
        ("Then", f"as known at {uk_moment(pack['known_at_meeting'], zone)} "
                 f"({pack['known_at_meeting']}), event log to position "
                 f"{pack['log_position_at_meeting']}"),
        ("Now", f"as known at {uk_moment(pack['known_at'], zone)} ({pack['known_at']}), "
                f"event log to position {pack['log_position']}"),
        ("Shown to", audience),
    ]
    head = ["Measure", "Unit", "Then", "Now", "Difference", "Target then", "Target now",
            "RAG then", "RAG now", "What changed it, and by how much"]
    body = []
    for m in pack["measures"]:
        unit = m["unit"]
        then, now = m["then"], m["now"]
        difference = m["difference"]
        body.append(
            f"<tr><th scope=\"row\">{_e(m['title'])}</th><td>{_e(unit_words(m))}</td>"
            f"<td class=\"n\">{_e(shown(then['value'], unit))}{_markers(then)}</td>"
            f"<td class=\"n\">{_e(shown(now['value'], unit))}{_markers(now)}</td>"
            f"<td class=\"n\">{_e(signed(difference, unit) if difference is not None else '–')}"
            f"</td><td class=\"n\">{_e(shown(then['target'], unit))}</td>"
            f"<td class=\"n\">{_e(shown(now['target'], unit))}</td>"
            f"<td>{_rag(then['rag'])}</td><td>{_rag(now['rag'])}</td>"
            f"<td>{_e(_causes_text(m)) or 'no change'}</td></tr>")
    actions = "".join(
        f"<tr><th scope=\"row\">{_e(a['code'])}</th><td>{_e(a['title'])}</td>"
        f"<td>{_e(a['lead'])}</td><td>{_e(uk_date(a['due']))}</td>"
        f"<td>{_e(a['then'].replace('_', ' '))}</td><td>{_e(a['now'].replace('_', ' '))}</td>"
        f"<td>{_e('; '.join(a['causes']))}</td></tr>" for a in pack["actions"])
    charts = "".join(_chart(m, at) for at, m in enumerate(pack["measures"]))
    content = (
        "<!doctype html>\n<html lang=\"en-GB\">\n<head>\n<meta charset=\"utf-8\">\n"
        f"<title>{_e(title)}</title>\n"
        f"<meta name=\"scorecard-known-at\" content=\"{_e(pack['known_at'])}\">\n"
        f"<meta name=\"scorecard-log-position\" content=\"{pack['log_position']}\">\n"
        f"<meta name=\"scorecard-pack-format\" content=\"{PACK_FORMAT}\">\n"
        f"<style>{STYLE}</style>\n</head>\n<body>\n<main>\n<h1>{_e(title)}</h1>\n"
        "<dl class=\"meta\">" + "".join(f"<dt>{_e(k)}</dt><dd>{_e(v)}</dd>" for k, v in meta)
        + "</dl>\n<h2>The scorecard then and now</h2>\n"
        "<table><caption>Each measure as known at the meeting (then) and as known at "
        f"{_e(uk_moment(pack['known_at'], zone))} (now), and what changed it</caption><thead><tr>"
        + "".join(f"<th scope=\"col\">{_e(h)}</th>" for h in head) + "</tr></thead><tbody>\n"
        + "\n".join(body) + "\n</tbody></table>\n"
        "<h2>Month by month</h2>\n" + charts + "\n<h2>Actions</h2>\n"
        "<table><caption>The plan's actions: status as known then and now</caption><thead>"
        "<tr>" + "".join(f"<th scope=\"col\">{h}</th>" for h in (
            "Action", "Title", "Lead", "Due", "Status then", "Status now", "Why it changed"))
        + "</tr></thead><tbody>" + actions + "</tbody></table>\n<h2>Symbols</h2>\n"
        "<dl class=\"meta\">"
        + "".join(f"<dt>{_e(k)}</dt><dd>{_e(v)}</dd>" for k, v in pack["legend"].items())
        + "</dl>\n<p>RAG is given in words and a shape (● green, ▲ amber, ■ red), not by "
        "colour alone. Regenerate this pack with <code>scorecard pack --meeting "
        f"{_e(pack['meeting'])} --known {_e(pack['known_at'])}"
        + (f" --for {_e(pack['audience'])}" if pack["audience"] != "board" else "")
        + "</code>: the same bytes.</p>\n</main>\n")
    tail = "</body>\n</html>\n"
    seal = (f"{HTML_HASH_PREFIX}Content hash (SHA-256 of this file without this line): "
            f"<code>{_digest(content + tail)}</code></p>\n")
    return content + seal + tail


def _markers(side: dict[str, Any]) -> str:
    markers = [m for m in side["markers"] if m != side["value"]]
    return f" <span class=\"markers\">{_e(' '.join(markers))}</span>" if markers else ""


# Files -----------------------------------------------------------------------------------

def pack_name(pack: dict[str, Any]) -> str:
    known = pack["known_at"].replace(":", "").replace("-", "").split(".")[0].rstrip("Z")
    return f"pack-{pack['meeting']}-{pack['audience']}-known-{known}"


def write_pack(connection: duckdb.DuckDBPyConnection, out: Path, *, meeting: date,
               known_at: datetime | None = None, audience: str = "board",
               from_day: date | None = None) -> tuple[Path, Path]:
    """Build the pack and write its CSV and HTML into ``out``."""
    pack = build_pack(connection, meeting=meeting, known_at=known_at, audience=audience,
                      from_day=from_day)
    out.mkdir(parents=True, exist_ok=True)
    name = pack_name(pack)
    paths = out / f"{name}.csv", out / f"{name}.html"
    paths[0].write_bytes(pack_csv(pack).encode("utf-8"))
    paths[1].write_bytes(pack_html(pack).encode("utf-8"))
    return paths
