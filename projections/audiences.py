"""Who a report can be made for (``--for``): the board sees the figures as counted,
scrutiny sees small counts of people suppressed (``projections/disclosure.py``,
docs/disclosure.md).

Kept apart from the disclosure rules so the command line can offer the choice without
importing DuckDB and the report at its start (``scorecard/cli.py``)."""

from __future__ import annotations

AUDIENCES = ("board", "scrutiny")
