"""Line charts as inline SVG with a text alternative, drawn here rather than by a
charting library: the chart is then part of the page's own markup (``role="img"``, a
``<title>`` and a ``<desc>`` that say what it shows, read by screen readers), it prints,
and it carries exactly the points given, so a suppressed month is a gap, never a number.
Every chart on a page also has its data table beneath it (WCAG 1.1.1's alternative).

Shares are drawn on a 0-100% axis; a band shows an interval; vertical rules mark the
meetings; a dashed line is the target."""

from __future__ import annotations

import base64
import html
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta

from scorecard_ui.formatting import uk_date

WIDTH, HEIGHT = 760, 300
LEFT, RIGHT, TOP, BOTTOM = 64, 16, 16, 48
# Blue and a dark orange (a pair colour-blind readers tell apart, each 3:1 or more on
# white), grey, green. No red: red means "off target" everywhere else on the pages.
PALETTE = ("#1d70b8", "#b35900", "#505a5f", "#00703c")


@dataclass(frozen=True)
class Series:
    """One line: a label for the key and the alternative text, points in date order (a
    None value leaves a gap), and how it is drawn."""

    label: str
    points: Sequence[tuple[date, float | None]]
    dashed: bool = False
    colour: str = PALETTE[0]


@dataclass(frozen=True)
class LineChart:
    title: str
    series: Sequence[Series]
    share: bool = False  # values are proportions 0-1, drawn on a 0-100% axis
    band: Sequence[tuple[date, float, float]] = ()  # an interval: day, low, high
    band_label: str = ""
    markers: Sequence[tuple[date, str]] = field(default_factory=tuple)  # meetings
    monthly: bool = False  # one point per month (dated its first day): months on the axis


def _label(value: float, share: bool) -> str:
    if share:
        return f"{value:.0%}"
    return f"{value:,.0f}" if abs(value) >= 10 or value == int(value) else f"{value:,.1f}"


def nice_ticks(top: float, count: int = 5, whole: bool = False) -> list[float]:
    """Round tick values from 0 to at least ``top``; ``whole``: steps of at least 1 (a
    count's axis read 0, 0.2, 0.5, 0.8, 1 for quarter steps rounded to one place)."""
    if top <= 0:
        return [0.0, 1.0]
    raw = top / count
    magnitude = 10 ** math.floor(math.log10(raw))
    steps = (1, 2, 5, 10) if whole and magnitude <= 1 else (1, 2, 2.5, 5, 10)
    step = next(m * magnitude for m in steps if m * magnitude >= raw)
    if whole:
        step = max(step, 1)
    return [step * i for i in range(math.ceil(top / step) + 1)]


def summary(chart: LineChart) -> str:
    """The chart in words: what each line does, from first to last point."""
    parts = []
    for s in chart.series:
        known = [(d, v) for d, v in s.points if v is not None]
        if not known:
            parts.append(f"{s.label}: no values shown.")
            continue
        (d0, v0), (d1, v1) = known[0], known[-1]
        high = max(known, key=lambda p: p[1])
        parts.append(f"{s.label}: {_label(v0, chart.share)} on {uk_date(d0)}, "
                     f"{_label(v1, chart.share)} on {uk_date(d1)}; highest "
                     f"{_label(high[1], chart.share)} on {uk_date(high[0])}.")
    if chart.markers:
        parts.append("Meetings marked: " + ", ".join(
            f"{title} ({uk_date(d)})" for d, title in chart.markers) + ".")
    return " ".join(parts) + " The table below the chart gives every value."


LABEL_GAP = 84  # the least distance between two axis labels' centres ("Sep 2015" is ~50)
LABEL_HALF = 28  # half a month label: a label nearer the edge than this is anchored to it


def _axis_labels(days: Sequence[date], x: Callable[[date], float]
                 ) -> list[tuple[date, str, float]]:
    """The days to label on the x axis, with each label's anchor and position: the last
    day always (the as-at day), then going back every day at least ``LABEL_GAP`` from the
    last one labelled, so labels never overlap, and none runs off either edge."""
    chosen: list[date] = []
    for d in reversed(days):
        if not chosen or x(chosen[-1]) - x(d) >= LABEL_GAP:
            chosen.append(d)
    placed = []
    for d in reversed(chosen):
        at = x(d)
        if at + LABEL_HALF > WIDTH:
            placed.append((d, "end", float(WIDTH - 2)))
        elif at - LABEL_HALF < 0:
            placed.append((d, "start", 2.0))
        else:
            placed.append((d, "middle", at))
    return placed


def svg(chart: LineChart) -> str:
    days = sorted({d for s in chart.series for d, _ in s.points}
                  | {d for d, _, _ in chart.band})
    if not days:
        return ""
    values = [v for s in chart.series for _, v in s.points if v is not None]
    values += [h for _, _, h in chart.band]
    ticks = [t / 100 for t in nice_ticks(100, 5)] if chart.share else nice_ticks(
        max(values, default=1) * 1.05, whole=True)
    top = ticks[-1] or 1
    first, last = days[0].toordinal(), days[-1].toordinal()
    span = max(last - first, 1)
    plot_w, plot_h = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM

    def x(d: date) -> float:
        return LEFT + (d.toordinal() - first) / span * plot_w

    def y(v: float) -> float:
        return TOP + plot_h - min(max(v, 0), top) / top * plot_h

    out = [f"<line x1='{LEFT}' y1='{y(t):.1f}' x2='{WIDTH - RIGHT}' y2='{y(t):.1f}' "
           f"stroke='#dee0e2'/><text x='{LEFT - 6}' y='{y(t) + 4:.1f}' text-anchor='end' "
           f"font-size='12' fill='#0b0c0c'>{_label(t, chart.share)}</text>" for t in ticks]
    for d, anchor, label_x in _axis_labels(days, x):
        text = uk_date(d) if d == days[-1] and (d + timedelta(days=1)).day != 1 and (
            not chart.monthly) else f"{d:%b %Y}"
        out.append(f"<text x='{label_x:.1f}' y='{HEIGHT - BOTTOM + 18}' "
                   f"text-anchor='{anchor}' font-size='12' fill='#0b0c0c'>{text}</text>")
    if chart.band:
        upper = " ".join(f"{x(d):.1f},{y(h):.1f}" for d, _, h in chart.band)
        lower = " ".join(f"{x(d):.1f},{y(lo):.1f}" for d, lo, _ in reversed(chart.band))
        out.append(f"<polygon points='{upper} {lower}' fill='#1d70b8' fill-opacity='0.15'/>")
    for d, title in chart.markers:
        if first <= d.toordinal() <= last:
            out.append(f"<line x1='{x(d):.1f}' y1='{TOP}' x2='{x(d):.1f}' "
                       f"y2='{TOP + plot_h}' stroke='#505a5f' stroke-dasharray='2 3'>"
                       f"<title>{html.escape(title)} {uk_date(d)}</title></line>")
    for s in reversed(chart.series):  # the first series drawn last, on top
        runs: list[list[str]] = [[]]
        for d, v in s.points:
            if v is None:
                runs.append([])
            else:
                runs[-1].append(f"{x(d):.1f},{y(v):.1f}")
        dash = " stroke-dasharray='6 4'" if s.dashed else ""
        for run in runs:
            if len(run) > 1:
                out.append(f"<polyline points='{' '.join(run)}' fill='none' "
                           f"stroke='{s.colour}' stroke-width='2.5'{dash}/>")
            elif run:
                cx, cy = run[0].split(",")
                out.append(f"<circle cx='{cx}' cy='{cy}' r='3.5' fill='{s.colour}'/>")
    keys = [(s.label, s.colour, s.dashed) for s in chart.series]
    if chart.band:
        keys.append((chart.band_label or "Interval", "#a5c6e3", False))
    if any(first <= d.toordinal() <= last for d, _ in chart.markers):
        keys.append(("Meetings", "#505a5f", True))
    key_x = LEFT
    for label, colour, dashed in keys:
        dash = " stroke-dasharray='6 4'" if dashed else ""
        out.append(f"<line x1='{key_x}' y1='{HEIGHT - 12}' x2='{key_x + 22}' "
                   f"y2='{HEIGHT - 12}' stroke='{colour}' stroke-width='3'{dash}/>"
                   f"<text x='{key_x + 28}' y='{HEIGHT - 8}' font-size='12' "
                   f"fill='#0b0c0c'>{html.escape(label)}</text>")
        key_x += 40 + 7 * len(label)
    ident = "chart-" + "".join(c for c in chart.title.lower() if c.isalnum())[:40]
    return (f"<svg role='img' aria-labelledby='{ident}-t {ident}-d' viewBox='0 0 {WIDTH} "
            f"{HEIGHT}' width='100%' style='max-width:{WIDTH}px;height:auto' "
            f"font-family='Arial, Helvetica, sans-serif' "
            f"xmlns='http://www.w3.org/2000/svg'><title id='{ident}-t'>"
            f"{html.escape(chart.title)}</title><desc id='{ident}-d'>"
            f"{html.escape(summary(chart))}</desc>{''.join(out)}</svg>")


def image_html(chart: LineChart) -> str:
    """The chart as an ``<img>`` of its SVG, its ``alt`` the chart in words: the page's
    HTML sanitiser removes inline SVG, and an image's alternative text is what screen
    readers announce (the data table follows it on the page)."""
    drawn = svg(chart)
    if not drawn:
        return ""
    source = base64.b64encode(drawn.encode()).decode()
    alt = html.escape(f"{chart.title}. {summary(chart)}", quote=True)
    return (f"<img src='data:image/svg+xml;base64,{source}' alt='{alt}' "
            f"style='width:100%;max-width:{WIDTH}px;height:auto'>")
