"""Rendering reports for people: the command line's text, CSV and JSON.

The read side (``projections/``) answers questions with values; how they are laid out for
a terminal or a spreadsheet is decided here, so a change of layout never touches a
query and a projection never formats a figure. The page renders with Streamlit's own
widgets (``scorecard_ui/``) and takes the CSV download from here.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Mapping
from typing import Any

from domain.timekeeping import iso_utc
from projections import symbols
from projections.disclosure import SUPPRESSED, is_number
from projections.report import MeasureValue, Report, plain_number
from projections.restatements import effect_sentences, signed

# The scorecard ------------------------------------------------------------

def _shown(value: int | float | None, unit: str = "count") -> str:
    if value is None:
        return "-"
    if unit == "share":
        return f"{value:.1%}"
    return f"{value:,.1f}" if unit == "rate" else f"{value}"


def _target_text(m: MeasureValue) -> str:
    """The target so far, and the full target when it is profiled: "1,279 of 1,800"."""
    if m.target is None:
        return "-"
    if m.unit == "share" or m.target_to_date is None or m.target_to_date == m.target:
        return _shown(plain_number(m.target), m.unit)
    return f"{m.target_to_date:,.0f} of {m.target:,.0f}"


def render_text(report: Report) -> str:
    lines = [
        report.plan["title"],
        f"Events from {report.from_day} to the end of {report.as_at}, "
        f"as known at {iso_utc(report.known_at)}; rules as known {report.rules_as_of}",
        "",
        f"{'measure':<30} {'value':>9} {'':<7} {'target':>14} {'rag':<6} {'forecast':<11} "
        f"{'trend':<24} by agency",
    ]
    for m in report.measures:
        split = ", ".join(f"{code} {_shown(v, m.unit)}" for code, v in m.by_agency.items())
        outlook = m.forecast.outlook if m.forecast else "-"
        lines.append(f"{m.id:<30} {_shown(m.value, m.unit):>9} {''.join(m.markers):<7} "
                     f"{_target_text(m):>14} {m.rag or '-':<6} {outlook:<11} "
                     f"{m.trend_detail.shown:<24} {split}")
    if report.backfilled:
        lines += ["", "Backfilled by an administrator (recorded after the time shown): "
                  + ", ".join(f"{code} {n}" for code, n in report.backfilled.items())]
    flagged = [m for m in report.measures if m.exception is not None]
    if flagged:
        lines += ["", "Exception notes (a measure red or off course at the month's end):"]
    for m in flagged:
        assert m.exception is not None
        note = m.exception.note
        lines.append(f"  {m.id} {m.exception.month}: {m.exception.status.replace('_', ' ')}"
                     + (f" - {note.agency}: {note.recovery} by {note.recover_by} "
                        f"(owner: {note.owner})" if note else ""))
    lines += ["", f"{'action':<8} {'status':<12} {'lead':<22} {'due':<10}  title"]
    for a in report.actions:
        lines.append(f"{a.code:<8} {a.status:<12} {a.lead:<22} {a.due}  {a.title[:60]}")
    lines += ["", "Symbols: " + symbols.legend_text("; ")]
    return "\n".join(lines)


def report_json(report: Report) -> str:
    return json.dumps(report.to_json(), indent=2, ensure_ascii=False)


CSV_COLUMNS = (
    "id", "title", "value", "markers", "unit", "per", "numerator", "denominator", "ci_low",
    "ci_high", "target", "target_to_date", "no_target_reason", "rag", "forecast",
    "forecast_low", "forecast_high", "p_meet", "outlook", "trend", "trend_marker",
    "returns_month", "returns_expected", "returns_received", "last_return", "definition",
)


def csv_row(m: MeasureValue) -> dict[str, Any]:
    """One measure as a row of the CSV export (numbers unformatted, markers in brackets)."""
    f = m.forecast.to_json() if m.forecast else {}
    c = m.completeness.to_json() if m.completeness else {}
    row = {
        "id": m.id, "title": m.title, "value": plain_number(m.value),
        "markers": " ".join(m.markers), "unit": m.unit, "per": m.per,
        "numerator": plain_number(m.numerator), "denominator": plain_number(m.denominator),
        "ci_low": plain_number(m.ci[0]) if m.ci else None,
        "ci_high": plain_number(m.ci[1]) if m.ci else None,
        "target": plain_number(m.target), "target_to_date": plain_number(m.target_to_date),
        "no_target_reason": m.no_target_reason, "rag": m.rag,
        "forecast": f.get("value"), "forecast_low": f.get("low"),
        "forecast_high": f.get("high"), "p_meet": f.get("p_meet"), "outlook": f.get("outlook"),
        "trend": m.trend_detail.words, "trend_marker": m.trend_detail.marker,
        "returns_month": c.get("month"), "returns_expected": c.get("expected"),
        "returns_received": c.get("received"),
        "last_return": iso_utc(m.last_return) if m.last_return else None,
        "definition": m.definition,
    }
    return row


def report_csv(report: Report) -> str:
    """The measures as CSV, one row each, then the symbols' legend after a blank line
    (an empty cell is a figure that does not apply to the measure)."""
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=CSV_COLUMNS, lineterminator="\n")
    writer.writeheader()
    for m in report.measures:
        writer.writerow(csv_row(m))
    out.write("\n")
    legend = csv.writer(out, lineterminator="\n")
    legend.writerow(["symbol", "meaning"])
    legend.writerows(symbols.LEGEND.items())
    return out.getvalue()


# Returns and data quality ------------------------------------------------

def render_calendar(rows: list[dict[str, Any]]) -> str:
    if not rows:
        return "no returns are owed for that month"
    lines = [f"Returns for {rows[0]['month']} (due by {rows[0]['deadline']})",
             f"{'agency':<18} {'status':<12} {'arrived':<22} {'events':>6}  approved"]
    for r in rows:
        lines.append(f"{r['agency']:<18} {r['status']:<12} {r['arrived'] or '-':<22} "
                     f"{r['events']:>6}  {r['approved'] or '-'}")
    return "\n".join(lines)


def render_quality(rows: list[dict[str, Any]]) -> str:
    lines = [f"{'agency':<22} {'month':<8} {'events':>6} {'revised':>8} {'rejected':>9} "
             f"{'days late':>9} {'backfilled':>10}"]
    for r in rows:
        revised = "-" if r["revision_rate"] is None else f"{r['revision_rate']:.1%}"
        rejected = "-" if r["rejection_rate"] is None else f"{r['rejection_rate']:.1%}"
        late = "-" if r["days_late"] is None else str(r["days_late"])
        lines.append(f"{r['agency']:<22} {r['month']:<8} {r['events']:>6} {revised:>8} "
                     f"{rejected:>9} {late:>9} {r['backfilled']:>10}")
    return "\n".join(lines)


def as_json(value: Any) -> str:
    """Rows, a diff or a trail as the JSON the ``--json`` options print."""
    return json.dumps(value, indent=2, ensure_ascii=False)


# What changed between two times ------------------------------------------

def render_restatements(diff: dict[str, Any]) -> str:
    lines = [f"Scorecard as at {diff['as_at']} (events from {diff['from']}): "
             f"known at {diff['known_at']} against {diff['against']}"]
    if not diff["measures"] and not diff["actions"]:
        return lines[0] + "\nno differences"
    for change in diff["measures"]:
        then, now = change["then"], change["now"]
        lines.append(f"\n{change['measure']}: {then['value']} ({then['rag'] or '-'}) -> "
                     f"{now['value']} ({now['rag'] or '-'})")
        lines += [_cause_line(cause) for cause in change["causes"]]
        lines += _effect_lines(change)
    for change in diff["actions"]:
        lines.append(f"\naction {change['action']}: {change['then']} -> {change['now']}")
        lines += [_cause_line(cause) for cause in change["causes"]]
        lines += [f"    {cause['words']}" for cause in change["causes"] if "words" in cause]
    return "\n".join(lines)


def _effect_lines(change: Mapping[str, Any]) -> list[str]:
    """Added to the text form: the difference and each cause's effect (new lines only,
    so the lines before them read as they always have)."""
    if "difference" not in change:
        return []
    unit = str(change.get("unit") or "count")
    difference = change["difference"]
    lines = [f"  difference: {signed(difference, unit) if difference is not None else '-'}"]
    return lines + [f"    {sentence}" for sentence in effect_sentences(change)]


def _cause_line(cause: dict[str, Any]) -> str:
    if cause["cause"] == "rule change":
        change = cause["changes"][-1]
        return f"  rule change by {change['by']} at {change['known_at']}: {change['reason']}"
    if "agencies" not in cause and "events" not in cause:  # disclosure: a side is hidden
        return f"  causes: {cause['count']} (one side of this change is suppressed)"
    events = cause.get("events")
    if events is None:  # as disclosed outside the board: the agencies, never the events
        return f"  {cause['cause']}: {cause['count']} event(s) from " \
            + ", ".join(cause.get("agencies", []))
    agencies = sorted({e["agency"] for e in events})
    return (f"  {cause['cause']}: {cause['count']} event(s) from {', '.join(agencies)}, e.g. "
            + ", ".join(e["event_id"] for e in events[:3]))


# A disclosed report -------------------------------------------------------

def _cell(value: Any) -> str:
    if value is None:
        return "-"
    if isinstance(value, float) and not value.is_integer() and value <= 1:
        return f"{value:.1%}"
    return f"{value:g}" if is_number(value) else str(value)


def render_disclosed_text(document: Mapping[str, Any]) -> str:
    """The text form of a disclosed report (``scorecard report --for scrutiny``)."""
    lines = [
        document["plan"]["title"],
        f"Events from {document['from']} to the end of {document['as_at']}, as known at "
        f"{document['known_at']}; shown for {document.get('disclosure', {}).get('audience')}"
        f" ({SUPPRESSED}: suppressed, docs/disclosure.md)",
        "",
        f"{'measure':<30} {'value':>9} {'markers':<8} {'target':>8} {'rag':<6} by agency",
    ]
    for m in document["measures"]:
        markers = " ".join(m.get("markers") or [])
        split = ", ".join(f"{code} {_cell(v)}" for code, v in (m.get("by_agency") or {}).items())
        lines.append(f"{m['id']:<30} {_cell(m['value']):>9} {markers:<8} "
                     f"{_cell(m.get('target')):>8} {m.get('rag') or '-':<6} {split}")
    return "\n".join(lines)


# The audit trail ---------------------------------------------------------

def render_audit(rows: list[dict[str, Any]]) -> str:
    if not rows:
        return "nothing in the audit trail"
    lines = []
    for r in rows:
        extra = ", ".join(f"{k}={v}" for k, v in r["details"].items() if v not in (None, ""))
        lines.append(f"{r['at']}  {r['actor']:<24} {r['action']:<18} {r['agency'] or '-':<16} "
                     f"{r['subject'] or '-'}  {extra}")
    return "\n".join(lines)


# Rejected events ---------------------------------------------------------

def render_rejected(rejections: list[dict[str, Any]]) -> str:
    if not rejections:
        return "no rejected events"
    lines = [f"{len(rejections)} rejected event(s)"]
    for r in rejections:
        field = f" {r['field']}:" if r["field"] else ""
        where = f"{r['source']}, {r['status']}" + (", quarantine" if r["quarantined"] else "")
        lines.append(
            f"{r['received_at']}  {r['agency']}  {r['event_id'] or '-'}  [{r['reason']}]{field} "
            f"{r['message']}  ({where})"
        )
    return "\n".join(lines)
