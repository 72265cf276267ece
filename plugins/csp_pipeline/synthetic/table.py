"""Rows as columns of text, checked against the registry's header before anything is written."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Sequence
from pathlib import Path

Table = dict[str, list[str]]  # column name (as in the registry) -> values, "" = missing


def from_rows(rows: Sequence[dict[str, str]], header: Sequence[str]) -> Table:
    return {c: [row[c] for row in rows] for c in header}


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


def to_rows(table: Table, header: Sequence[str]) -> list[tuple[str, ...]]:
    return list(zip(*(table[c] for c in header), strict=True))


def write_csv(path: Path, header: Sequence[str], tables: Iterable[Table | None]) -> int | None:
    """Stream tables (None = nothing from that source) into one file, opened at the first table.

    Returns the rows written, or None when every source sent nothing (no file).
    """
    fh, writer, rows = None, None, 0
    try:
        for table in tables:
            if table is None:
                continue
            check(table, header)
            if fh is None:
                fh = path.open("w", newline="", encoding="utf-8")
                writer = csv.writer(fh, lineterminator="\n")
                writer.writerow(header)
            writer.writerows(zip(*(table[c] for c in header), strict=True))
            rows += length(table)
    finally:
        if fh is not None:
            fh.close()
    return rows if fh is not None else None


def csv_bytes(header: Sequence[str], rows: Iterable[Sequence[str]]) -> bytes:
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(header)
    writer.writerows(rows)
    return buf.getvalue().encode("utf-8")
