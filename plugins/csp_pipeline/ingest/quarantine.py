"""Quarantine: a file that fails a blocking rule is moved aside with a report; nothing is lost.

Rows rejected by reject rules go, as delivered, to a rejects file beside the quarantined files
(quarantine/<feed>/<original stem>.rejects.csv, with a report); `csp release` of it lands it as
a supplementary delivery whose rows are added to its kind and extract date.
"""

from __future__ import annotations

import csv
import json
import os
import shutil
from datetime import datetime, timezone
from pathlib import Path
from typing import TYPE_CHECKING

from csp_pipeline.core.registry import REJECTS_SUFFIX
from csp_pipeline.core.sql import ident
from csp_pipeline.ingest.extract_sql import numbered_rows_sql
from csp_pipeline.ingest.landing import secure_tree

if TYPE_CHECKING:
    import duckdb

    from csp_pipeline.core.settings import Settings
    from csp_pipeline.ingest.landing import Extract
    from csp_pipeline.ingest.results import RuleResult

FETCH_ROWS = 10_000


def report_text(label: str, results: list[RuleResult], rows: dict | None = None) -> str:
    lines = [f"# Quarantined: {label}", ""]
    if rows:
        lines += [_rows_line(rows), ""]
    for r in results:
        if not r.success:
            lines.append(f"- {r.describe(label)}")
    lines += ["", "Fix the file (or the partner's extract) and release it with:",
              f"    csp release {label}", ""]
    return "\n".join(lines)


def _rows_line(rows: dict) -> str:
    if rows.get("in_file") is None:
        return "Rows in the file: not read (the file's shape is wrong); all of it is quarantined."
    return (f"Rows in the file: {rows['in_file']}: {rows['loaded']} loaded, {rows['rejected']} "
            f"rejected, {rows['quarantined']} quarantined.")


def _failures(results: list[RuleResult]) -> list[dict]:
    return [{"rule": r.rule, "expectation": r.expectation, "column": r.column,
             "severity": r.severity, "unexpected_count": r.unexpected_count, "rows": r.rows,
             "sample_values": r.values, "tolerance": r.tolerance,
             "over_tolerance": r.over_tolerance}
            for r in results if not r.success]


def _folder(settings: Settings, extract: Extract) -> Path:
    folder = settings.quarantine_dir / extract.kind.feed
    folder.mkdir(parents=True, exist_ok=True)
    os.chmod(folder, 0o700)  # before anything is written into it
    return folder


def move(settings: Settings, extract: Extract, digest: str, run_id: str,
         results: list[RuleResult], rows_in_file: int | None = None) -> None:
    """Move the file to quarantine/<feed>/ with a JSON and a Markdown report beside it.

    Reports name file, rule, column, count and row numbers; values of PII columns are masked.
    """
    folder = _folder(settings, extract)
    target = folder / extract.path.name
    shutil.move(str(extract.path), target)
    rows = {"in_file": rows_in_file, "loaded": 0, "rejected": 0, "quarantined": rows_in_file}
    doc = {
        "file": extract.label, "content_hash": digest, "run_id": run_id,
        "extract_date": extract.extract_date,
        "quarantined_at": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "rows": rows, "failures": _failures(results),
    }
    target.with_suffix(".report.json").write_text(json.dumps(doc, indent=2) + "\n")
    target.with_suffix(".report.md").write_text(report_text(extract.label, results, rows))
    secure_tree(folder)  # files and reports: readable by the pipeline's user only


def rejects_path(settings: Settings, extract: Extract) -> Path:
    """quarantine/<feed>/<original stem>.rejects.csv (a supplementary file's rejects too)."""
    stem = extract.path.name.removesuffix(REJECTS_SUFFIX).removesuffix(".csv")
    return settings.quarantine_dir / extract.kind.feed / f"{stem}{REJECTS_SUFFIX}"


def report_path(settings: Settings, extract: Extract, rejects: bool = False) -> Path:
    """The Markdown report of a quarantined file, or of the rows rejected from it."""
    base = (rejects_path(settings, extract) if rejects
            else settings.quarantine_dir / extract.kind.feed / extract.path.name)
    return base.with_suffix(".report.md")


def write_rejects(settings: Settings, con: duckdb.DuckDBPyConnection, extract: Extract,
                  source: Path, header: list[str], rejected: str, digest: str, run_id: str,
                  results: list[RuleResult], rows: dict) -> list[Path]:
    """The rejected rows as delivered (the file's header, the raw text of its own columns, in
    file order, in its own encoding, so that the fixed file is released as the same kind or
    variant) to the rejects file, with a JSON and a Markdown report; returns the paths.

    `source` is the file as the gate read it (UTF-8: landing.utf8_copy); `rejected` names a
    relation of (row_number, column_name, rule, value) in `con`.
    """
    _folder(settings, extract)
    path = rejects_path(settings, extract)
    reader = con.execute(
        f"SELECT {', '.join(ident(h) for h in header)} FROM {numbered_rows_sql(header)} "
        f"WHERE _row_number IN (SELECT row_number FROM {rejected}) ORDER BY _row_number",
        {"path": str(source)})
    with path.open("w", newline="", encoding=extract.encoding) as fh:
        out = csv.writer(fh, lineterminator="\n")
        out.writerow(header)
        while batch := reader.fetchmany(FETCH_ROWS):
            out.writerows(["" if v is None else v for v in row] for row in batch)
    records = con.execute(f"""SELECT row_number, dense_rank() OVER (ORDER BY row_number),
                                     column_name, rule, value
                              FROM {rejected} ORDER BY row_number, rule, column_name""").fetchall()
    release = f"{extract.kind.feed}/{path.name}"
    doc = {
        "file": extract.label, "rejects_file": release, "content_hash": digest, "run_id": run_id,
        "extract_date": extract.extract_date,
        "rejected_at": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "rows": rows, "failures": _failures(r for r in results if r.rejects_rows),
        "rejected": [{"row": n, "rejects_file_row": i, "column": c, "rule": rule, "value": v}
                     for n, i, c, rule, v in records],
    }
    json_path = path.with_suffix(".report.json")
    md_path = path.with_suffix(".report.md")
    json_path.write_text(json.dumps(doc, indent=2) + "\n")
    lines = [f"# Rows rejected: {extract.label}", "", _rows_line(rows), "",
             f"The rejected rows, as delivered, are in {path.name} (in file order):", ""]
    lines += [f"- {r.describe(extract.label)}" for r in results if r.rejects_rows]
    lines += ["", f"Fix those rows in {path.name} and release it with:",
              f"    csp release {release}",
              f"Its rows are then added to the {extract.extract_date} delivery; its good rows stay.",
              ""]
    md_path.write_text("\n".join(lines))
    secure_tree(path.parent)
    return [path, json_path, md_path]
