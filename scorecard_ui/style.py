"""The pages' own CSS, injected once per run by ``app.py``: the scorecard's tables and
status tags, and the few overrides of Streamlit's defaults that WCAG 2.2 AA needs.

Status is never colour alone: each tag carries a shape and a word, and the colours are
GOV.UK's tag palette (text on tint at 4.5:1 or better), which colour-blind readers can
tell apart by the shape and the word anyway."""

from __future__ import annotations

import html

import streamlit as st

# (css class, shape, word) for each status a measure, an objective or a priority can have.
STATUS_TAGS: dict[str, tuple[str, str, str]] = {
    "red": ("sc-tag-red", "✖", "Red"),
    "amber": ("sc-tag-amber", "▲", "Amber"),
    "green": ("sc-tag-green", "●", "Green"),
    "none": ("sc-tag-grey", "○", "No target"),
    # Outside the board, a status that would give away a small count of people
    # (``projections.disclosure``); its cell shows the GSS symbol in its place.
    "withheld": ("sc-tag-grey", "", "Withheld"),
}

TABLE_CSS = """
.sc-table-wrap { width: 100%; margin: 0 0 1rem 0; }
.sc-table-scroll { overflow-x: auto; }
.sc-table-scroll:focus { outline: 3px solid #ffdd00; }
.sc-table-scroll > table.sc-table { min-width: 44rem; }
table.sc-table { width: 100%; table-layout: fixed; border-collapse: collapse;
  font-size: 0.9rem; line-height: 1.35; color: #0b0c0c; }
table.sc-table caption { text-align: left; font-weight: 700; font-size: 1.05rem;
  padding: 0 0 0.4rem 0; color: #0b0c0c; caption-side: top; }
table.sc-table th, table.sc-table td { border-bottom: 1px solid #b1b4b6; padding: 0.4rem 0.45rem;
  vertical-align: top; text-align: left; overflow-wrap: anywhere; }
table.sc-table thead th { border-bottom: 2px solid #0b0c0c; font-weight: 700;
  background: #f3f2f1; }
table.sc-table tbody th { font-weight: 400; }
table.sc-table .sc-num { text-align: right; font-variant-numeric: tabular-nums; }
table.sc-table tr.sc-group th { background: #f3f2f1; font-weight: 700; padding-top: 0.6rem; }
table.sc-table tr.sc-group-1 th { background: #dee0e2; font-size: 1rem; }
table.sc-table .sc-group-note { font-weight: 400; margin-left: 0.5rem; }
table.sc-table a { color: #1d70b8; text-decoration: underline; }
table.sc-table a:visited { color: #4c2c92; }
table.sc-table a:focus { outline: 3px solid #ffdd00; background: #ffdd00; color: #0b0c0c; }
.sc-small { font-size: 0.8rem; color: #505a5f; display: block; }
.sc-tag { display: inline-block; padding: 0.05rem 0.4rem; font-weight: 700;
  border-radius: 2px; white-space: nowrap; }
/* In a narrow table column a tag wraps rather than running past the cell's edge, where
   the table's box cut "Red, no note" to "Red, no not" at 1400 px wide. */
table.sc-table td .sc-tag { white-space: normal; }
.sc-tag-red { background: #f4cdc6; color: #942514; }
.sc-tag-amber { background: #fff7bf; color: #594d00; }
.sc-tag-green { background: #cce2d8; color: #005a30; }
.sc-tag-grey { background: #e5e6e7; color: #282d30; }
.sc-tag-blue { background: #bbd4ea; color: #0c2d4a; }
.sc-counts { display: flex; flex-wrap: wrap; gap: 0.5rem; margin: 0.25rem 0 0.75rem 0 !important;
  padding: 0 !important; list-style: none; }
.sc-counts .sc-tag { font-size: 1.1rem; padding: 0.15rem 0.6rem; }
.sc-counts li { margin: 0; }
.sc-visually-hidden { position: absolute !important; width: 1px !important;
  height: 1px !important; margin: 0 !important; padding: 0 !important; overflow: hidden !important;
  clip: rect(0 0 0 0) !important; clip-path: inset(50%) !important; border: 0 !important;
  white-space: nowrap !important; }
.sc-legend { font-size: 0.85rem; color: #0b0c0c; margin: 0 0 0.75rem 0; }
.sc-legend .sc-tag { margin-right: 0.25rem; }
@media print { .sc-table-wrap { break-inside: auto; } tr { break-inside: avoid; } }
"""

# Streamlit's own chrome, to WCAG 2.2 AA (axe-core, tests/e2e/test_accessibility.py):
# captions are the body text a little lighter (Streamlit fades them to 3.8:1; this is 7:1
# or better in the light theme and the dark one, which a fixed grey would not be), and
# small controls (tooltip icons, a date's day, month and year, 18 by 20 pixels) are given
# the 24 by 24 pixel target of criterion 2.5.8. The main menu's "Made with Streamlit" and
# version line (3.9:1, and the version is nobody's business) is not shown.
STREAMLIT_CSS = """
/* The plan's title is long: at 1366 by 768 the answer, not the title, must fill the screen */
[data-testid="stMain"] h1 { font-size: 2.1rem !important; line-height: 1.2 !important; }
[data-testid="stCaptionContainer"], [data-testid="stCaptionContainer"] p,
[data-testid="stCaptionContainer"] strong { color: inherit !important; }
[data-testid="stCaptionContainer"] { opacity: 0.82; }
[data-testid="stDateInputField"] [role="spinbutton"] { display: inline-block;
  min-width: 24px; min-height: 24px; line-height: 24px; text-align: center; }
[data-testid="stTooltipIcon"], [data-testid="stTooltipHoverTarget"] {
  min-width: 24px; min-height: 24px; display: inline-flex; align-items: center;
  justify-content: center; }
[data-baseweb="input"] button, [data-baseweb="select"] svg { min-width: 24px; min-height: 24px; }
div:has(> .stMenuVersionCopyButton) { display: none; }
"""


def apply_style() -> None:
    """Inject the CSS (a style-only ``st.html`` takes no space on the page)."""
    st.html(f"<style>{TABLE_CSS}{STREAMLIT_CSS}</style>")


def status_tag(status: str | None, word: str | None = None) -> str:
    """A status as a tag: shape, word and tint; ``word`` replaces the default word."""
    klass, shape, default = STATUS_TAGS.get(status or "none", STATUS_TAGS["none"])
    text = html.escape(word if word is not None else default)
    mark = f"<span aria-hidden='true'>{shape}</span> " if shape else ""
    return f"<span class='sc-tag {klass}'>{mark}{text}</span>"


def tag(css_class: str, text: str) -> str:
    """Any tag in the palette (``sc-tag-blue`` for "complete", say)."""
    return f"<span class='sc-tag {html.escape(css_class)}'>{html.escape(text)}</span>"
