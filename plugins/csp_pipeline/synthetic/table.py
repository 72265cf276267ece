"""Rows as columns of text, checked against the registry's header before anything is written."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Sequence

Table = dict[str, list[str]]  # column name (as in the registry) -> values, "" = missing


def from_rows(rows: Iterable[dict[str, object]], header: Sequence[str]) -> Table:
    table = empty(header)
    for row in rows:
        for c in header:
            table[c].append(_text(row[c]))
    return table


def _text(value: object) -> str:
    return "" if value is None else str(value)


def empty(header: Sequence[str]) -> Table:
    return {c: [] for c in header}


def length(table: Table) -> int:
    return len(next(iter(table.values()))) if table else 0


def concat(tables: Iterable[Table], header: Sequence[str]) -> Table:
    out = empty(header)
    for t in tables:
        check(t, header)
        for c in header:
            out[c].extend(t[c])
    return out


def check(table: Table, header: Sequence[str]) -> None:
    """A generator producing columns the registry does not declare (or missing one) is a bug."""
    if set(table) != set(header):
        raise ValueError(f"generated columns {sorted(table)} differ from the registry {list(header)}")
    sizes = {len(v) for v in table.values()}
    if len(sizes) > 1:
        raise ValueError(f"ragged generated columns: {sizes}")


def to_rows(table: Table, header: Sequence[str]) -> list[list[str]]:
    return [list(r) for r in zip(*(table[c] for c in header))]


def csv_bytes(header: Sequence[str], rows: Iterable[Sequence[str]]) -> bytes:
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(header)
    writer.writerows(rows)
    return buf.getvalue().encode("utf-8")
