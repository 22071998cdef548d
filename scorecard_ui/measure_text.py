"""A measure's facts in words, from one measure of the report JSON as its reader may see
it (``Report.to_json()`` for the board, ``projections.disclosure``'s document for anyone
else): the value with its markers, the target so far, the forecast, the interval, the
trend, whose returns are in, and the plain-English metadata. The overview, the measure's
page and the packs write a measure the same way because they all call these."""

from __future__ import annotations

from typing import Any

from projections.statistics import OFF_COURSE, ON_COURSE
from scorecard_ui.figures import shown
from scorecard_ui.formatting import uk_month

Measure = dict[str, Any]  # one measure of the (disclosed) report JSON

SUPPRESSED = "[c]"


def suppressed(value: Any) -> bool:
    """A GSS symbol ([c], [x]) put in place of a figure by the disclosure control."""
    return isinstance(value, str) and value.startswith("[")


def markers(m: Measure) -> list[str]:
    """GSS markers of a measure ([p], [r], [c], [x]...); a symbol its value already is,
    once."""
    return [code for code in m.get("markers") or [] if code != m["value"]]


def value_text(m: Measure) -> str:
    return " ".join([shown(m["value"], m.get("unit", "count")), *markers(m)])


def target_text(m: Measure) -> str:
    """The target so far beside the whole period's ("1,279 so far of 1,800"), or why
    there is none."""
    unit = m.get("unit", "count")
    if m["target"] is None:
        return f"None: {m['no_target_reason']}" if m.get("no_target_reason") else "None"
    whole = shown(m["target"], unit)
    to_date = m.get("target_to_date")
    if to_date is None or to_date == m["target"]:
        return whole
    so_far = shown(to_date if unit == "share" else round(to_date), unit)
    return f"{so_far} so far of {whole}"


def forecast_text(m: Measure) -> str:
    f = m.get("forecast")
    if not f:
        return ""
    if any(suppressed(f.get(k)) for k in ("value", "low", "high", "p_meet")):
        return SUPPRESSED
    unit = m.get("unit", "count")

    def figure(value: float) -> str:  # a forecast count is whole: nobody trains 0.8 of one
        return shown(value, unit) if unit != "count" else f"{value:,.0f}"

    return (f"{f['outlook'].capitalize()}: {figure(f['value'])} expected "
            f"({figure(f['low'])} to {figure(f['high'])}); "
            f"{chance_text(f['p_meet'])} chance of meeting the target")


def chance_text(p_meet: float) -> str:
    """The chance of meeting the target as a whole percentage, except where rounding
    would carry it across the line between outlooks: 0.895 is "at risk", and "90%" beside
    it would contradict the tag, so it reads "just under 90%"."""
    whole = f"{p_meet:.0%}"
    for line in (ON_COURSE, OFF_COURSE):
        if p_meet < line <= round(p_meet, 2):
            return f"just under {line:.0%}"
        if round(p_meet, 2) <= line < p_meet:
            return f"just over {line:.0%}"
    return whole


def rate_text(m: Measure) -> str:
    """A rate's numerator and denominator and its 95% Wilson interval."""
    numerator, denominator = m.get("numerator"), m.get("denominator")
    if numerator is None or denominator is None:
        return ""
    low, high = m.get("ci_low"), m.get("ci_high")
    if suppressed(numerator) or suppressed(denominator):
        return SUPPRESSED
    if m.get("unit") == "rate" and m.get("per"):
        interval = f" (95% CI {low:,.1f} to {high:,.1f})" if low is not None else ""
        return f"{shown(numerator)} in {shown(denominator)} people{interval}"
    parts = f"{shown(numerator)} of {shown(denominator)}"
    if low is None or high is None or suppressed(low) or suppressed(high):
        return parts
    return f"{parts} (95% CI {low:.0%} to {high:.0%})"


def trend_text(m: Measure) -> str:
    trend = m["trend"]
    if suppressed(trend.get("direction")):
        return SUPPRESSED
    return f"{trend.get('arrow', '')} {trend['direction']}".strip()


def returns_text(m: Measure) -> str:
    """Whose returns are in for the latest complete month."""
    c = m.get("completeness")
    if not c:
        return ""
    month = uk_month(c["month"])
    if not c["expected"]:
        return f"None owed for {month}"
    return f"{c['received']} of {c['expected']} in for {month}"


METADATA_LABELS = {
    "counted": "What is counted", "numerator": "Numerator", "denominator": "Denominator",
    "agencies": "Contributing agencies", "period": "Period", "polarity": "Polarity",
    "target": "Target", "target_set_by": "Target set by", "trend_method": "Trend",
    "interval_method": "Interval", "forecast_method": "Forecast", "caveats": "Caveats",
    "disclosure": "Disclosure", "last_return": "Last return", "next_return": "Next return due"}


def metadata_items(m: Measure) -> list[tuple[str, str]]:
    """The metadata as (label, plain-English text) pairs, then the machine definition."""
    items = []
    for key, label in METADATA_LABELS.items():
        value = (m.get("metadata") or {}).get(key)
        if value:
            items.append((label, ", ".join(value) if isinstance(value, list) else str(value)))
    items.append(("Definition (machine)", str(m["definition"])))
    return items


def metadata_text(m: Measure) -> str:
    """The metadata as a Markdown list (for an expander)."""
    return "\n".join(f"- **{label}:** {text}" if label != "Definition (machine)"
                     else f"- **{label}:** `{text}`" for label, text in metadata_items(m))
