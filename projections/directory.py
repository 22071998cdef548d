"""Who is registered: agencies and users as the read model knows them, for the
administration page and the agency chooser. Rows of plain values; the page lays them out.
"""

from __future__ import annotations

from typing import Any

import duckdb

AGENCY_COLUMNS = ("code", "name", "sector", "types", "suspended", "registered_at")
USER_COLUMNS = ("username", "role", "agency", "disabled", "added_at", "added_by")


def _rows(connection: duckdb.DuckDBPyConnection, sql: str,
          columns: tuple[str, ...]) -> list[dict[str, Any]]:
    return [dict(zip(columns, row, strict=True)) for row in connection.execute(sql).fetchall()]


def agencies(connection: duckdb.DuckDBPyConnection) -> list[dict[str, Any]]:
    """Every registered agency, by code."""
    return _rows(connection, f"SELECT {', '.join(AGENCY_COLUMNS)} FROM agencies ORDER BY code",
                 AGENCY_COLUMNS)


def agency_codes(connection: duckdb.DuckDBPyConnection) -> list[str]:
    """The codes of every registered agency, in order."""
    return [code for code, in connection.execute(
        "SELECT code FROM agencies ORDER BY code").fetchall()]


def users(connection: duckdb.DuckDBPyConnection) -> list[dict[str, Any]]:
    """Every user who can sign in with a password, by username (never a password hash:
    the read model holds none)."""
    return _rows(connection, f"SELECT {', '.join(USER_COLUMNS)} FROM users ORDER BY username",
                 USER_COLUMNS)
