"""Realistic defects injected into a share of generated files, recorded in a manifest for tests."""

from __future__ import annotations

import csv
import io
import zlib
from datetime import date, timedelta
from pathlib import Path

import numpy as np

from csp_pipeline.registry import Kind

DEFECTS = ["bad_code", "missing_key", "impossible_date", "future_date", "duplicate_row",
           "renamed_column", "truncated", "non_utf8"]


def _applicable(kind: Kind, defect: str) -> bool:
    if defect == "bad_code":
        return any(c.values and not c.pii for c in kind.columns)
    if defect in ("impossible_date",):
        return any(c.type == "DATE" and not c.pii for c in kind.columns)
    if defect == "future_date":
        return kind.date_column is not None
    if defect == "duplicate_row":
        return bool(kind.key)
    return True


def maybe_dirty(path: Path, kind: Kind, rows: list[dict], extract_date: date, share: float,
                seed: int) -> dict | None:
    """With probability `share` (deterministic per file) give the file one defect; describe it."""
    rng = np.random.default_rng([seed, zlib.crc32(path.name.encode()), 99])
    if not rows or rng.random() >= share:
        return None
    defect = str(rng.choice([d for d in DEFECTS if _applicable(kind, d)]))
    i = int(rng.integers(0, len(rows)))
    column = None
    rows = [dict(r) for r in rows]
    header = kind.column_names
    if defect == "bad_code":
        column = next(c.name for c in kind.columns if c.values and not c.pii)
        rows[i][column] = "Not a listed code"
    elif defect == "missing_key":
        column = kind.key[0]
        rows[i][column] = ""
    elif defect == "impossible_date":
        column = next(c.name for c in kind.columns if c.type == "DATE" and not c.pii)
        rows[i][column] = f"{extract_date.year}-02-30"
    elif defect == "future_date":
        column = kind.date_column
        later = extract_date + timedelta(days=30)
        col_type = kind.column(column).type
        rows[i][column] = later.isoformat() + ("T12:00:00" if col_type == "TIMESTAMP" else "")
    elif defect == "duplicate_row":
        rows.insert(i + 1, dict(rows[i]))
        i += 1
    elif defect == "renamed_column":
        column = header[int(rng.integers(0, len(header)))]
        header = [h if h != column else column.lower() + "_x" for h in header]
        rows = [{(k if k != column else column.lower() + "_x"): v for k, v in r.items()}
                for r in rows]
    buf = io.StringIO()
    writer = csv.DictWriter(buf, fieldnames=header, lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    data = buf.getvalue().encode()
    if defect == "truncated":
        lines = data.split(b"\n")
        keep = b"\n".join(lines[: i + 2])
        data = keep[: max(len(b"\n".join(lines[: i + 1])) + 3, len(keep) - 5)]
    elif defect == "non_utf8":
        lines = data.split(b"\n")
        lines[i + 1] = lines[i + 1].replace(b",", b",\xe9", 1)
        data = b"\n".join(lines)
    path.write_bytes(data)
    return {"file": f"{kind.feed}/{path.name}", "defect": defect, "column": column,
            "row": i + 1}
