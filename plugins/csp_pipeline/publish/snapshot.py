"""Publishing: a consistent snapshot of the marts that readers can open while the next run writes.

A snapshot is written in full to a new folder (DuckDB file + one Parquet and one CSV file per mart
+ manifest), then `current` is switched to it by an atomic rename of a symlink: a reader sees the
old snapshot or the new one, never a half-written one. A reader that needs several files of one
snapshot resolves `current` once and opens them under the resolved folder (the DuckDB file also
carries its own `meta.snapshot` row with the run id, for readers that open only that file).

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

from csp_pipeline.publish.disclosure import FLAG, DisclosureError, load_policy, protect_mart
from csp_pipeline.core.settings import PROJECT_ROOT, Settings
from csp_pipeline.core.warehouse import bound

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


def publish(settings: Settings, run_id: str, keep: int | None = None) -> dict:
    root = settings.published_dir
    snapshots = root / "snapshots"
    snapshots.mkdir(parents=True, exist_ok=True)
    for stale in snapshots.glob(".*.partial"):  # left by a publish that was killed
        shutil.rmtree(stale, ignore_errors=True)
    name = _snapshot_name(run_id)
    work = snapshots / f".{name}.partial"
    work.mkdir()
    try:
        manifest = _write_snapshot(settings, run_id, work)
    except BaseException:
        shutil.rmtree(work, ignore_errors=True)  # never leave a half-written snapshot behind
        raise
    final = snapshots / name
    work.rename(final)
    _switch_current(root, final)
    _prune(snapshots, keep or settings.published_keep)
    return manifest


def _sql_path(path: Path) -> str:
    return "'" + str(path).replace("'", "''") + "'"


def _write_snapshot(settings: Settings, run_id: str, work: Path) -> dict:
    db_file = work / SNAPSHOT_DB
    policy = load_policy()
    # Copy from a connection to the warehouse (same configuration as dbt's, which may share this
    # process), attaching the new snapshot file; then protect and export from the snapshot alone.
    with bound(duckdb.connect(str(settings.warehouse))) as con:
        built = [r[0] for r in con.execute(
            "SELECT table_name FROM duckdb_tables() WHERE database_name = current_database() "
            "AND schema_name = 'marts' ORDER BY 1").fetchall()]
        inputs = con.execute(
            "SELECT feed, kind, source_file, content_hash, extract_date::VARCHAR, rows "
            "FROM meta.deliveries WHERE status = 'loaded' ORDER BY feed, kind, extract_date"
        ).fetchall()
        marts = [m for m in built if policy.declared(m)]
        withheld = {m: "not declared in disclosure.yml" for m in built if m not in marts}
        for mart in withheld:
            log.warning("publish: mart %s is not declared in disclosure.yml; not published", mart)
        con.execute(f"ATTACH {_sql_path(db_file)} AS snap")  # ATTACH takes no parameters
        con.execute("CREATE SCHEMA snap.marts")
        for mart in marts:
            con.execute(f"CREATE TABLE snap.marts.{mart} AS SELECT * FROM marts.{mart}")
        con.execute("DETACH snap")
    published_at = datetime.now(timezone.utc).isoformat(timespec="seconds")
    version = code_version()
    suppression, dropped = {}, {}
    with bound(duckdb.connect(str(db_file))) as con:
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
            con.execute(f"COPY marts.{mart} TO {_sql_path(work / 'parquet' / (mart + '.parquet'))}"
                        " (FORMAT parquet)")
            con.execute(f"COPY ({csv_select(con, mart)}) TO "
                        f"{_sql_path(work / 'csv' / (mart + '.csv'))} (FORMAT csv, HEADER)")
        con.execute("CREATE SCHEMA meta")
        con.execute("CREATE TABLE meta.snapshot AS SELECT ? AS run_id, ? AS code_version, "
                    "?::TIMESTAMPTZ AS published_at", [run_id, version, published_at])
    manifest = {
        "run_id": run_id, "code_version": version, "published_at": published_at,
        "marts": marts, "withheld": withheld, "dropped_columns": dropped,
        "suppressed_cells": sum(s["primary"] + s["secondary"] + s["rates"]
                                for s in suppression.values()),
        "suppression": suppression,
        "inputs": [dict(zip(("feed", "kind", "file", "sha256", "extract_date", "rows"), r))
                   for r in inputs],
        "files": {"duckdb": SNAPSHOT_DB, "parquet": "parquet/<mart>.parquet",
                  "csv": f"csv/<mart>.csv (suppressed cells: {CSV_SUPPRESSED})"},
        "path": str(settings.published_dir / "current"),
    }
    (work / "manifest.json").write_text(json.dumps(manifest, indent=2) + "\n")
    return manifest


def csv_select(con: duckdb.DuckDBPyConnection, mart: str) -> str:
    """The mart as the CSV export shows it: suppressed cells as `c`, no flag columns."""
    cols = {r[0]: r[1] for r in con.execute(
        "SELECT column_name, data_type FROM duckdb_columns() WHERE database_name = "
        "current_database() AND schema_name = 'marts' AND table_name = ? ORDER BY column_index",
        [mart]).fetchall()}
    flagged = {c for c in cols if c + FLAG in cols and cols[c + FLAG] == "BOOLEAN"}
    select = []
    for c in cols:
        if c in flagged:
            select.append(f"CASE WHEN \"{c}{FLAG}\" THEN '{CSV_SUPPRESSED}' "
                          f"ELSE CAST(\"{c}\" AS VARCHAR) END AS \"{c}\"")
        elif not (c.endswith(FLAG) and c.removesuffix(FLAG) in flagged):
            select.append(f'"{c}"')
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
