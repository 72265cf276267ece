"""Realistic partner-file defects, one per chosen file, described in a manifest for tests.

A non-empty file is chosen with probability `dirty`, deterministically from (seed, file name), and
given one defect among those that apply to its kind. Row numbers are 1-based data rows (the header is not
counted), as the loader's `_row_number`.

    bad_code          a code-list value in the wrong case or with a stray character
    missing_key       the business key blank in one row
    impossible_date   a date that does not exist (YYYY-02-30)
    future_date       the event date 30 days after the extract date
    duplicate_row     one row sent twice (its business key repeats)
    renamed_column    one header renamed (case changed), as when a partner edits a report
    truncated         the file cut off in the middle of a row (no final newline)
    non_utf8          one value written in Windows-1252, not UTF-8
    age_out_of_range  youth justice children only: a birth date making the child 9 or 18
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta

import numpy as np

from csp_pipeline.core.registry import Kind
from csp_pipeline.synthetic.table import csv_bytes
from csp_pipeline.synthetic.timeline import file_rng

MARK = "\x00latin1\x00"  # placeholder replaced by non-UTF-8 bytes after encoding


@dataclass
class Defect:
    file: str  # <feed>/<file name>
    defect: str
    column: str | None = None
    rows: list[int] = field(default_factory=list)
    value: str | None = None
    data: bytes = b""

    def describe(self) -> dict[str, object]:
        return {"file": self.file, "defect": self.defect, "column": self.column, "rows": self.rows,
                "value": self.value}


def _filled(rows: Sequence[Sequence[str]], col: int) -> list[int]:
    return [r for r, row in enumerate(rows) if row[col] != ""]


def _candidates(kind: Kind, rows: Sequence[Sequence[str]]) -> dict[str, list[int]]:
    """Defect -> columns (header positions) it could hit in this file; [-1] when column-free."""
    names = kind.column_names
    pos = {c.name: i for i, c in enumerate(kind.columns)}
    out: dict[str, list[int]] = {"renamed_column": list(range(len(names)))}
    out["bad_code"] = [pos[c.name] for c in kind.columns
                       if (c.values or c.reference) and _filled(rows, pos[c.name])]
    out["missing_key"] = [pos[kind.key[0]]] if kind.key else []
    out["impossible_date"] = [pos[c.name] for c in kind.columns
                              if c.type == "DATE" and not c.pii and _filled(rows, pos[c.name])]
    out["future_date"] = [pos[kind.date_column]] if kind.date_column else []
    out["duplicate_row"] = [-1] if kind.key else []
    out["truncated"] = [-1]
    out["non_utf8"] = [pos[c.name] for c in kind.columns  # free text, where accents occur
                       if c.type == "VARCHAR" and not (c.values or c.reference) and not c.pattern
                       and c.pii in (None, "drop") and c.name not in kind.key
                       and not c.name.upper().endswith("ID")]
    if kind.id == "youth_justice__children":
        out["age_out_of_range"] = [pos["DATE_OF_BIRTH"]]
    return {d: cols for d, cols in out.items() if cols}


def _miscode(value: str) -> str:
    return value.upper() if value != value.upper() else value + "X"


def _rng(kind: Kind, night: date, seed: int) -> np.random.Generator:
    return file_rng(seed, f"{kind.feed}/{kind.file_name(night.isoformat())}")


def chosen(kind: Kind, night: date, seed: int, share: float) -> bool:
    """Whether this night's file of the kind gets a defect (if it has rows)."""
    return bool(_rng(kind, night, seed).random() < share)


def spoil(kind: Kind, rows: Sequence[Sequence[str]], night: date, seed: int) -> Defect:
    """One defect for a chosen, non-empty file: the damaged bytes and their description."""
    if not rows:
        raise ValueError("an empty file stays clean")
    name = kind.file_name(night.isoformat())
    rng = _rng(kind, night, seed)
    rng.random()  # the draw that chose the file
    options = _candidates(kind, rows)
    defect = sorted(options)[int(rng.integers(0, len(options)))]
    col = options[defect][int(rng.integers(0, len(options[defect])))]
    header = list(kind.column_names)
    body = [list(r) for r in rows]
    d = Defect(file=f"{kind.feed}/{name}", defect=defect,
               column=header[col] if col >= 0 and defect not in ("truncated",) else None)
    candidates = _filled(body, col) if col >= 0 else list(range(len(body)))
    r = candidates[int(rng.integers(0, len(candidates)))] if candidates else 0
    if defect == "renamed_column":
        header[col] = _miscode(header[col]) if header[col] != header[col].upper() \
            else header[col].lower()
        d.value = header[col]
    elif defect == "bad_code":
        body[r][col] = d.value = _miscode(body[r][col])
    elif defect == "missing_key":
        body[r][col] = d.value = ""
    elif defect == "impossible_date":
        body[r][col] = d.value = f"{night.year}-02-30"
    elif defect == "future_date":
        later = night + timedelta(days=30)
        body[r][col] = d.value = later.isoformat() + body[r][col][10:]  # keeps any time part
    elif defect == "age_out_of_range":
        age = int(rng.choice([9, 18]))
        body[r][col] = d.value = (date(night.year - age, night.month, 1) - timedelta(days=40)
                                  if age == 9 else date(night.year - age, 1, 1)).isoformat()
    elif defect == "duplicate_row":
        body.insert(r + 1, list(body[r]))
        d.rows = [r + 1, r + 2]
    elif defect == "non_utf8":
        body[r][col] = body[r][col] + " " + MARK
        d.value = "Caf\\xe9"
    data = csv_bytes(header, body)
    if defect == "non_utf8":
        data = data.replace(MARK.encode(), "Café".encode("cp1252"))
    if defect == "truncated":
        lines = data.split(b"\n")
        line = lines[r + 1]
        data = b"\n".join(lines[: r + 1] + [line[: max(1, len(line) // 2)]])
    if defect not in ("renamed_column", "duplicate_row"):
        d.rows = [r + 1]
    d.data = data
    return d

