"""Valid extract rows for any declared feed kind, built from its registry declaration alone.

Every value satisfies the column's declaration: code lists, patterns (generated from the regex
itself), types, ranges, the kind's cross-field rules, and dates before the extract date. Business
keys are unique per row. Values vary with the row number, so a file is not one row repeated.
Raw identifiers (PII columns) are recognisable strings, so a test can prove none leaks.
"""

from __future__ import annotations

import csv
import io
import re
from datetime import date, datetime, timedelta
from functools import cache
from itertools import cycle
from pathlib import Path
from re import _parser as sre  # the stdlib's own regex parser: patterns stay the single truth
from typing import Iterator

from csp_pipeline.core.reference import reference_values
from csp_pipeline.core.registry import Column, Kind, Rule, snake

Row = dict[str, str | None]


def matching(pattern: str, seed: int = 0) -> str:
    """A string that fully matches `pattern` (literals, classes, fixed repeats, groups,
    alternation, anchors), its free characters chosen by `seed`."""
    choices = cycle(int(d) for d in f"{seed * 7919 + 12345:012d}"[::-1])
    value = _emit(sre.parse(pattern), choices)
    if not re.fullmatch(pattern, value):
        raise ValueError(f"cannot generate a value for pattern {pattern!r}")
    return value


def _emit(items: sre.SubPattern | list, choices: Iterator[int]) -> str:
    out = []
    for op, av in items:
        name = str(op)
        if name == "LITERAL":
            out.append(chr(av))
        elif name == "IN":
            out.append(_pick(av, choices))
        elif name in ("MAX_REPEAT", "MIN_REPEAT"):
            low, _high, sub = av
            out.extend(_emit(sub, choices) for _ in range(max(low, 1)))
        elif name == "SUBPATTERN":
            out.append(_emit(av[-1], choices))
        elif name == "BRANCH":
            out.append(_emit(av[1][0], choices))
        elif name == "CATEGORY":
            out.append(_pick([(op, av)], choices))
        elif name == "ANY":
            out.append("x")
        elif name != "AT":
            raise NotImplementedError(f"regex construct {name} in a feed pattern")
    return "".join(out)


def _pick(items: list, choices: Iterator[int]) -> str:
    chars: list[str] = []
    for op, av in items:
        name = str(op)
        if name == "LITERAL":
            chars.append(chr(av))
        elif name == "RANGE":
            chars.extend(chr(c) for c in range(av[0], av[1] + 1))
        elif name == "CATEGORY" and str(av) == "CATEGORY_DIGIT":
            chars.extend("0123456789")
        elif name == "CATEGORY" and str(av) == "CATEGORY_WORD":
            chars.extend("abcdefghij")
        else:
            raise NotImplementedError(f"character class item {name} {av} in a feed pattern")
    return chars[next(choices) % len(chars)]


def _months_before(d: date, months: int) -> date:
    index = d.year * 12 + d.month - 1 - months
    return date(index // 12, index % 12 + 1, 1)


@cache
def _reference_values(reference: str) -> list[str]:
    return reference_values(reference)


def valid_value(kind: Kind, col: Column, i: int, extract: date) -> str:
    """A valid raw value of `col` for data row `i` (0-based) of an extract dated `extract`."""
    j = i + 3 * kind.columns.index(col)  # columns of one row differ from each other
    if col.values:
        return col.values[i % len(col.values)]
    if col.reference:  # the reference data of the test's environment (bundled by default)
        values = _reference_values(col.reference)
        return values[i % len(values)]
    if col.pattern:
        return matching(col.pattern, seed=i)
    if col.pii == "birth_date":
        return date(extract.year - 15, 1 + i % 12, 1 + i % 28).isoformat()
    if col.type == "INTEGER":
        low = int(col.min) if col.min is not None else 0
        high = int(col.max) if col.max is not None else low + 1000
        return str(low + (j * 7 + 3) % (high - low + 1))
    if col.type == "DOUBLE":
        low = col.min if col.min is not None else 0.0
        high = col.max if col.max is not None else low + 100.0
        return f"{low + (high - low) * ((i % 10) + 0.5) / 10:.6f}"
    if col.type == "DATE":
        return (extract - timedelta(days=10 + j)).isoformat()
    if col.type == "MONTH":
        return _months_before(extract, 1 + i % 12).strftime("%Y-%m")
    if col.type == "TIMESTAMP":
        moment = datetime.combine(extract, datetime.min.time()) - timedelta(days=1 + i, hours=i)
        return moment.isoformat(timespec="seconds")
    if col.pii == "postcode":
        return f"TS{1 + i % 29} {i % 10}AB"
    if col.pii:
        return f"RAW{snake(col.name).upper()}{i:07d}"  # a direct identifier, recognisably
    return f"{snake(col.name)}-{i}"


_PARSE = {"INTEGER": int, "DOUBLE": float, "DATE": date.fromisoformat,
          "TIMESTAMP": datetime.fromisoformat}


def _comparable(col: Column, text: str | None) -> object | None:
    """The value as the gate parses it; None when missing or unparseable (rules skip those)."""
    if not text:
        return None
    try:
        return _PARSE.get(col.type, str)(text)
    except ValueError:
        return None


def holds(kind: Kind, rule: Rule, row: Row) -> bool:
    a = _comparable(kind.column(rule.a), row.get(rule.a))
    b = _comparable(kind.column(rule.b), row.get(rule.b))
    if a is None or b is None:
        return True
    return a >= b if rule.op == ">=" else a > b  # type: ignore[operator]


def repair(kind: Kind, row: Row, frozen: set[str] = frozenset(),  # type: ignore[assignment]
           skip: Rule | None = None) -> Row:
    """Make every cross-field rule (but `skip`) hold, changing no column in `frozen`:
    raise the left side to the right, or else lower the right side to the left."""
    for _ in range(len(kind.rules) + 1):
        broken = [r for r in kind.rules if r is not skip and not holds(kind, r, row)]
        if not broken:
            return row
        for rule in broken:
            if rule.op != ">=":
                raise NotImplementedError("strict rules need a step per type")
            if rule.a not in frozen:
                row[rule.a] = row[rule.b]
            elif rule.b not in frozen:
                row[rule.b] = row[rule.a]
            else:
                raise ValueError(f"cannot satisfy {rule} with {sorted(frozen)} fixed")
    raise ValueError(f"{kind.id}: cross-field rules do not settle")


def valid_rows(kind: Kind, n: int, extract: date, start: int = 0) -> list[Row]:
    rows = []
    for i in range(start, start + n):
        row: Row = {c.name: valid_value(kind, c, i, extract) for c in kind.columns}
        rows.append(repair(kind, row))
    keys = [tuple(r[k] for k in kind.key) for r in rows]
    assert not kind.key or len(set(keys)) == len(keys), f"{kind.id}: generated keys collide"
    return rows


def csv_bytes(header: list[str], rows: list[Row], newline: str = "\n") -> bytes:
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator=newline)
    writer.writerow(header)
    writer.writerows([[("" if r.get(h) is None else r[h]) for h in header] for r in rows])
    return buf.getvalue().encode()


def write_extract(folder: Path, kind: Kind, extract: date, rows: list[Row],
                  header: list[str] | None = None) -> Path:
    """landing/<feed>/<kind>_<YYYYMMDD>.csv with these rows (columns in declared order)."""
    path = folder / kind.feed / kind.file_name(extract.isoformat())
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(csv_bytes(header or kind.column_names, rows))
    return path
