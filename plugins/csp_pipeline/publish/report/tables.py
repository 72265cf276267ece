"""Tables as the report prints them: each cell knows the mart column it shows, so a test (or a
reader) can check it against the published file; suppressed cells print as the CSVs do."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from typing import Any

SUPPRESSED = "c"  # as in the published CSV files
SUPPRESSED_NOTE = ("c: 1 to 4 people, suppressed in the published snapshot "
                   "(with what they would let a reader work out)")

# Decimal places shown per column (default: whole numbers for counts, 1 for other decimals).
DECIMALS = {"reoffences_per_reoffender": 2, "relative_rate_index": 2, "pct_change": 0,
            "cost_gbp": 0, "cost_gbp_previous_year": 0, "rate_per_100k": 0}
PERCENT = ("_pct", "pct_change")
MONEY = ("cost_gbp",)


@dataclass
class Cell:
    text: str
    column: str | None = None  # the mart column shown, for checking against the published data
    suppressed: bool = False
    numeric: bool = False
    key: str | None = None  # JSON of the mart key, when it differs from its row's (pivots)


@dataclass
class Table:
    title: str
    headers: list[str]
    rows: list[list[Cell]] = field(default_factory=list)
    keys: list[str] = field(default_factory=list)  # per row: JSON of the mart key it shows
    mart: str | None = None
    la_code: str | None = None
    note: str | None = None

    @property
    def has_suppressed(self) -> bool:
        return any(c.suppressed for row in self.rows for c in row)


def fmt(column: str, value: Any) -> str:
    """A published value as printed: thousands separators, %, £; NULL (not suppressed) as -."""
    if value is None:
        return "-"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, Decimal):  # DECIMAL(p, s) columns: shown with their s places
        value, default = float(value), max(0, -int(value.as_tuple().exponent))
    elif isinstance(value, (int, float)):
        default = 0 if float(value).is_integer() else 1
    else:
        return str(value)
    text = f"{value:,.{DECIMALS.get(column, default)}f}"
    if column.startswith(MONEY):
        return "£" + text
    if column.endswith(PERCENT):
        return text + "%"
    return text


def cell(row: dict, column: str) -> Cell:
    """One published cell: `c` when the snapshot flags it suppressed, else its formatted value."""
    value = row.get(column)
    if row.get(f"{column}_suppressed"):
        return Cell(SUPPRESSED, column, suppressed=True, numeric=True)
    return Cell(fmt(column, value), column, numeric=isinstance(value, (int, float, Decimal))
                and not isinstance(value, bool))


def label(text: str) -> Cell:
    return Cell(text)


def key_json(row: dict, key: list[str]) -> str:
    return json.dumps({k: fmt(k, row[k]) for k in key}, sort_keys=True)


def mart_table(title: str, mart: str, la_code: str, rows: list[dict], key: list[str],
               columns: list[tuple[str, str]], note: str | None = None) -> Table:
    """A table whose cells are published columns: `columns` = (header, mart column)."""
    table = Table(title, [h for h, _ in columns], mart=mart, la_code=la_code, note=note)
    for row in rows:
        table.rows.append([cell(row, c) for _, c in columns])
        table.keys.append(key_json(row, key))
    return table


def pivot_table(title: str, mart: str, la_code: str, rows: list[dict], down: str, across: str,
                column: str, key: list[str], header: str) -> Table:
    """One published column laid out `down` x `across` (e.g. month x indicator); each cell keeps
    its own mart key."""
    downs = list(dict.fromkeys(r[down] for r in rows))
    acrosses = list(dict.fromkeys(r[across] for r in rows))
    table = Table(title, [header, *map(str, acrosses)], mart=mart, la_code=la_code)
    by = {(r[down], r[across]): r for r in rows}
    for d in downs:
        line = [label(fmt(down, d))]
        for a in acrosses:
            r = by.get((d, a))
            if r is None:
                line.append(label("-"))
                continue
            c = cell(r, column)
            c.key = key_json(r, key)
            line.append(c)
        table.rows.append(line)
        table.keys.append("")
    return table
