"""Disclosure control for published marts (contracts/marts.md).

Placeholder policy until the full rule lands: counts of people from 1 to 4 are suppressed.
"""

from __future__ import annotations

import duckdb


def protect_snapshot(con: duckdb.DuckDBPyConnection, marts: list[str]) -> int:
    return 0
