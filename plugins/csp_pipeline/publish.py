"""Publishing: a consistent snapshot of the marts that readers can open while the next run writes.

A snapshot is written in full to a new folder (DuckDB file + one Parquet file per mart + manifest),
then `current` is switched to it by an atomic rename of a symlink: a reader sees the old snapshot
or the new one, never a half-written one.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
from datetime import datetime, timezone
from pathlib import Path

import duckdb

from csp_pipeline.disclosure import protect_snapshot
from csp_pipeline.settings import PROJECT_ROOT, Settings

KEEP_SNAPSHOTS = 5


def code_version() -> str:
    try:
        return subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=PROJECT_ROOT,
                               capture_output=True, text=True, check=True).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "unknown"


def _snapshot_name(run_id: str) -> str:
    stamp = datetime.now(timezone.utc).strftime("%Y%m%dT%H%M%S%f")
    return f"{stamp}_{re.sub(r'[^A-Za-z0-9_.-]+', '_', run_id)[:80]}"


def publish(settings: Settings, run_id: str) -> dict:
    root = settings.published_dir
    snapshots = root / "snapshots"
    snapshots.mkdir(parents=True, exist_ok=True)
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
    _prune(snapshots)
    return manifest


def _write_snapshot(settings: Settings, run_id: str, work: Path) -> dict:
    db_file = work / "published.duckdb"
    # Copy from a connection to the warehouse (same configuration as dbt's, which may share this
    # process), attaching the new snapshot file; then protect and export from the snapshot alone.
    with duckdb.connect(str(settings.warehouse)) as con:
        marts = [r[0] for r in con.execute(
            "SELECT table_name FROM duckdb_tables() WHERE database_name = current_database() "
            "AND schema_name = 'marts' ORDER BY 1").fetchall()]
        inputs = con.execute(
            "SELECT feed, kind, source_file, content_hash, extract_date::VARCHAR, rows "
            "FROM meta.deliveries WHERE status = 'loaded' ORDER BY feed, kind, extract_date"
        ).fetchall()
        snapshot = str(db_file).replace("'", "''")
        con.execute(f"ATTACH '{snapshot}' AS snap")  # ATTACH takes no parameters
        con.execute("CREATE SCHEMA snap.marts")
        for mart in marts:
            con.execute(f"CREATE TABLE snap.marts.{mart} AS SELECT * FROM marts.{mart}")
        con.execute("DETACH snap")
    with duckdb.connect(str(db_file)) as con:
        suppressed = protect_snapshot(con, marts)
        (work / "parquet").mkdir()
        for mart in marts:
            con.execute(f"COPY marts.{mart} TO '{work / 'parquet' / (mart + '.parquet')}' "
                        "(FORMAT parquet)")
    manifest = {
        "run_id": run_id, "code_version": code_version(),
        "published_at": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "marts": marts, "suppressed_cells": suppressed,
        "inputs": [dict(zip(("feed", "kind", "file", "sha256", "extract_date", "rows"), r))
                   for r in inputs],
        "path": str(settings.published_dir / "current"),
    }
    (work / "manifest.json").write_text(json.dumps(manifest, indent=2) + "\n")
    return manifest


def _switch_current(root: Path, target: Path) -> None:
    link = root / "current"
    tmp = root / ".current.tmp"
    if tmp.is_symlink() or tmp.exists():
        tmp.unlink()
    tmp.symlink_to(target.relative_to(root))
    os.replace(tmp, link)  # atomic on POSIX: readers follow either the old or the new target


def _prune(snapshots: Path) -> None:
    done = sorted(p for p in snapshots.iterdir() if not p.name.startswith("."))
    for old in done[:-KEEP_SNAPSHOTS]:
        shutil.rmtree(old)
