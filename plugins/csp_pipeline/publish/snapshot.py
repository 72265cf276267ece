"""Publishing: a consistent snapshot of the marts that readers can open while the next run writes.

A snapshot is written in full to a new folder (DuckDB file + one Parquet and one CSV file per mart
+ manifest), then `current` is switched to it by an atomic rename of a symlink: a reader sees the
old snapshot or the new one, never a half-written one. A reader that needs several files of one
snapshot resolves `current` once and opens them under the resolved folder (the DuckDB file also
carries its own `meta.snapshot` row with the run id, for readers that open only that file).

The snapshot's report (`report/`, publish/report/) is built inside the new folder from the
snapshot's own data before `current` moves: a reader never sees a report and data of different
nights, and a report that cannot be built fails the publish and leaves the previous snapshot.

Only marts declared in disclosure.yml are published, with disclosure control applied on the
snapshot's copy; the others are withheld and named in the log and the manifest (fail closed).
"""

from __future__ import annotations

import json
import logging
import os
import re
import shutil
import subprocess
from datetime import datetime, timezone
from pathlib import Path

import duckdb

from csp_pipeline.core import ledger
from csp_pipeline.core.schema import ensure_schema
from csp_pipeline.core.settings import PROJECT_ROOT, Settings
from csp_pipeline.core.sql import ident, literal
from csp_pipeline.core.warehouse import columns, connect, tables
from csp_pipeline.ingest import feed_runs
from csp_pipeline.publish.dictionary import write_dictionary
from csp_pipeline.publish.disclosure import FLAG, DisclosureError, load_policy, protect_mart
from csp_pipeline.publish.report import build_report

log = logging.getLogger(__name__)

SNAPSHOT_DB = "published.duckdb"
CSV_SUPPRESSED = "c"


def code_version() -> str:
    try:
        return subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=PROJECT_ROOT,
                              capture_output=True, text=True, check=True).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "unknown"


def _snapshot_name(run_id: str) -> str:
    stamp = datetime.now(timezone.utc).strftime("%Y%m%dT%H%M%S%f")
    return f"{stamp}_{re.sub(r'[^A-Za-z0-9_.-]+', '_', run_id)[:80]}"


class PublishRefused(RuntimeError):
    """A feed's latest run failed and publishing over it was not asked for."""


def feeds_rested_on(settings: Settings) -> dict[str, dict]:
    """Per feed: its latest run (ok or failed, with what failed) and the extract dates of the
    deliveries loaded; refuses (PublishRefused) when a feed failed, unless the settings say to
    publish over failed feeds (CSP_PUBLISH_OVER_FAILED_FEEDS)."""
    with duckdb.connect(str(settings.warehouse)) as con:
        ensure_schema(con)  # a warehouse from before meta.feed_runs
        runs = feed_runs.latest(con)
        dates = dict(con.execute(
            "SELECT feed, min(extract_date)::VARCHAR || ' to ' || max(extract_date)::VARCHAR "
            "FROM meta.deliveries WHERE status = 'loaded' GROUP BY feed").fetchall())
    failed = {f: r["detail"] for f, r in runs.items() if not r["ok"]}
    if failed and not settings.publish_over_failed_feeds:
        raise PublishRefused(
            "not published: the latest run of feed(s) " + ", ".join(sorted(failed)) + " failed ("
            + "; ".join(f"{f}: {d}" for f, d in sorted(failed.items())) + "). The previous "
            "snapshot stays current. Fix the feed and run again, or set "
            "CSP_PUBLISH_OVER_FAILED_FEEDS=1 to publish from partial data (marked in the manifest)")
    return {f: {**runs.get(f, {"run_id": None, "night": None, "ok": True, "detail": None}),
                "extract_dates": dates.get(f)} for f in sorted(set(runs) | set(dates))}


def publish(settings: Settings, run_id: str, keep: int | None = None) -> dict:
    feeds = feeds_rested_on(settings)
    root = settings.published_dir
    snapshots = root / "snapshots"
    snapshots.mkdir(parents=True, exist_ok=True)
    for stale in snapshots.glob(".*.partial"):  # left by a publish that was killed
        shutil.rmtree(stale, ignore_errors=True)
    name = _snapshot_name(run_id)
    work = snapshots / f".{name}.partial"
    work.mkdir()
    try:
        manifest = _write_snapshot(settings, run_id, work, feeds)
        write_dictionary(work)  # from tonight's dbt manifest and the snapshot's own tables
        build_report(work)  # from the snapshot's own data; a failure fails the publish
    except BaseException:
        shutil.rmtree(work, ignore_errors=True)  # never leave a half-written snapshot behind
        raise
    final = snapshots / name
    work.rename(final)
    _switch_current(root, final)
    _prune(snapshots, keep or settings.published_keep)
    return manifest


def _write_snapshot(settings: Settings, run_id: str, work: Path, feeds: dict) -> dict:
    db_file = work / SNAPSHOT_DB
    policy = load_policy()
    # Copy from a connection to the warehouse (same configuration as dbt's, which may share this
    # process), attaching the new snapshot file; then protect and export from the snapshot alone.
    with connect(settings.warehouse) as con:
        built = tables(con, "marts")
        inputs = ledger.loaded_inputs(con)
        marts = [m for m in built if policy.declared(m)]
        withheld = {m: "not declared in disclosure.yml" for m in built if m not in marts}
        for mart in withheld:
            log.warning("publish: mart %s is not declared in disclosure.yml; not published", mart)
        con.execute(f"ATTACH {literal(db_file)} AS snap")  # ATTACH takes no parameters
        con.execute("CREATE SCHEMA snap.marts")
        for mart in marts:
            con.execute(f"CREATE TABLE snap.marts.{mart} AS SELECT * FROM marts.{mart}")
        con.execute("DETACH snap")
    published_at = datetime.now(timezone.utc).isoformat(timespec="seconds")
    version = code_version()
    suppression, dropped = {}, {}
    with connect(db_file, private=False) as con:  # aggregates under disclosure control
        for mart in list(marts):
            try:
                p = protect_mart(con, mart, policy)
            except DisclosureError as exc:
                log.error("publish: %s withheld: %s", mart, exc)
                con.execute(f"DROP TABLE marts.{mart}")
                marts.remove(mart)
                withheld[mart] = str(exc)
                continue
            suppression[mart] = {"primary": p.primary, "secondary": p.secondary,
                                 "rates": p.dependent}
            if p.dropped_columns:
                dropped[mart] = p.dropped_columns
        for folder in ("parquet", "csv"):
            (work / folder).mkdir()
        for mart in marts:
            con.execute(f"COPY marts.{mart} TO {literal(work / 'parquet' / (mart + '.parquet'))}"
                        " (FORMAT parquet)")
            con.execute(f"COPY ({csv_select(con, mart)}) TO "
                        f"{literal(work / 'csv' / (mart + '.csv'))} (FORMAT csv, HEADER)")
        con.execute("CREATE SCHEMA meta")
        con.execute("CREATE TABLE meta.snapshot AS SELECT ? AS run_id, ? AS code_version, "
                    "?::TIMESTAMPTZ AS published_at", [run_id, version, published_at])
    manifest = {
        "run_id": run_id, "code_version": version, "published_at": published_at,
        "feeds": feeds, "partial": not all(f["ok"] for f in feeds.values()),
        "marts": marts, "withheld": withheld, "dropped_columns": dropped,
        "suppressed_cells": sum(s["primary"] + s["secondary"] + s["rates"]
                                for s in suppression.values()),
        "suppression": suppression,
        "inputs": [dict(zip(("feed", "kind", "file", "sha256", "extract_date", "rows"), r, strict=True))
                   for r in inputs],
        "files": {"duckdb": SNAPSHOT_DB, "parquet": "parquet/<mart>.parquet",
                  "csv": f"csv/<mart>.csv (suppressed cells: {CSV_SUPPRESSED})"},
        "path": str(settings.published_dir / "current"),
    }
    (work / "manifest.json").write_text(json.dumps(manifest, indent=2) + "\n")
    return manifest


# A text cell a spreadsheet would take for a formula (the OWASP "CSV injection" rule).
FORMULA_START = r"^[=+\-@\t\r]"


def csv_text(column: str) -> str:
    """A text column as the CSV export shows it: a cell starting with =, +, -, @, tab or carriage
    return is prefixed with a single quote so that a spreadsheet shows it as text. Only the CSV:
    the Parquet and DuckDB files keep the true value; numeric columns stay numbers."""
    return (f"CASE WHEN regexp_matches({column}, '{FORMULA_START}') THEN chr(39) || {column} "
            f"ELSE {column} END")


def csv_select(con: duckdb.DuckDBPyConnection, mart: str) -> str:
    """The mart as the CSV export shows it: suppressed cells as `c`, no flag columns, text that
    a spreadsheet would run as a formula neutralised (csv_text)."""
    cols = {c.column: c.data_type for c in columns(con, "marts", mart)}
    flagged = {c for c in cols if c + FLAG in cols and cols[c + FLAG] == "BOOLEAN"}
    select = []
    for c in cols:
        shown = csv_text(ident(c)) if cols[c] == "VARCHAR" else ident(c)
        if c in flagged:
            select.append(f"CASE WHEN {ident(c + FLAG)} THEN {literal(CSV_SUPPRESSED)} "
                          f"ELSE CAST({shown} AS VARCHAR) END AS {ident(c)}")
        elif not (c.endswith(FLAG) and c.removesuffix(FLAG) in flagged):
            select.append(f"{shown} AS {ident(c)}")
    return f"SELECT {', '.join(select)} FROM marts.{mart}"


def _switch_current(root: Path, target: Path) -> None:
    link = root / "current"
    tmp = root / ".current.tmp"
    if tmp.is_symlink() or tmp.exists():
        tmp.unlink()
    tmp.symlink_to(target.relative_to(root))
    os.replace(tmp, link)  # atomic on POSIX: readers follow either the old or the new target


def _prune(snapshots: Path, keep: int) -> None:
    done = sorted(p for p in snapshots.iterdir() if not p.name.startswith("."))
    for old in done[:-keep]:
        shutil.rmtree(old)
