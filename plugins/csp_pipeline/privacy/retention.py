"""Landing-zone protection and retention of partner extracts.

Landed and quarantined extracts hold direct identifiers, so their folders are readable by the
pipeline's user only (directories 0700, files 0600), and they are kept no longer than needed:
`purge_expired` deletes landed files already loaded whose extract date (from the file name) is
more than `Settings.retention_days` (CSP_RETENTION_DAYS, default 90) days before the night being
run. Quarantined files and their reports count from the day they were quarantined (the report's
`quarantined_at`), never from the extract date: a late, back-dated extract is not deleted the
night it is quarantined. They are kept at least `QUARANTINE_GRACE_DAYS` whatever the retention
window, so that someone can read the alert, fix the file and release it. Rejects files
(<stem>.rejects.csv and their reports) count from the day their rows were rejected
(meta.rejected_rows), with the same grace period.
The `csp_housekeeping` DAG runs it nightly, and `purge_stale_work`: an audit hands its scan (the
file's rows, pseudonymised) and results to the promote under `<data>/work/`, and the promote
deletes them; a promote that never ran (a run stopped between the two) leaves them, so work files
older than `WORK_MAX_AGE` are deleted.
Each deletion is logged to meta.retention_log and to the Python log. Files that were never loaded
stay: they still have to be processed (or released from quarantine).
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from pathlib import Path

from csp_pipeline.core import ledger
from csp_pipeline.core.registry import REJECTS_SUFFIX, load_registry
from csp_pipeline.core.schema import ensure_schema
from csp_pipeline.core.settings import Settings
from csp_pipeline.core.warehouse import connect
from csp_pipeline.ingest.landing import (
    fingerprint,
    forget_missing_fingerprints,
    known_fingerprint,
    match,
)

log = logging.getLogger(__name__)

REPORT_SUFFIXES = (".report.json", ".report.md")  # beside a quarantined file
QUARANTINE_GRACE_DAYS = 30  # a quarantined or rejects file is never deleted sooner
WORK_MAX_AGE = timedelta(days=2)  # longer than any night's run
WORK_FOLDERS = ("scans", "audits")  # under <data>/work: the audit's hand-over to the promote


@dataclass(frozen=True)
class ExpiredFile:
    path: Path
    feed: str
    kind: str
    extract_date: date
    reason: str  # loaded | quarantined | rejected
    content_hash: str | None


def _quarantined(registry, feed: str, path: Path):
    """The extract a quarantined file (or one of its reports) belongs to, or None."""
    name = path.name
    for suffix in REPORT_SUFFIXES:
        if name.endswith(suffix):
            name = name[: -len(suffix)] + ".csv"
    return match(registry, feed, path.with_name(name))


def expired_files(settings: Settings, today: date, days: int, con) -> list[ExpiredFile]:
    """Landed files already loaded with an extract date before the retention window (today -
    days), and quarantined files quarantined (rejects files rejected) before it, and before the
    grace period."""
    cutoff = today - timedelta(days=days)
    quarantine_cutoff = today - timedelta(days=max(days, QUARANTINE_GRACE_DAYS))
    registry = load_registry()
    found: list[ExpiredFile] = []
    for feed in registry.feeds:
        for path in sorted((settings.landing_dir / feed).glob("*.csv")):
            extract = match(registry, feed, path)
            if extract is None or date.fromisoformat(extract.extract_date) >= cutoff:
                continue
            digest = known_fingerprint(con, path)
            if ledger.was_loaded(con, digest, feed, extract.kind.name, extract.extract_date):
                found.append(ExpiredFile(path, feed, extract.kind.name,
                                         date.fromisoformat(extract.extract_date), "loaded", digest))
        for path in sorted((settings.quarantine_dir / feed).glob("*")):
            extract = _quarantined(registry, feed, path)
            if not (path.is_file() and extract):
                continue
            rejects = REJECTS_SUFFIX.removesuffix("csv") in path.name  # ".rejects."
            extract_day = date.fromisoformat(extract.extract_date)
            since = _rejected_on(con, feed, path) if rejects else _quarantined_on(path)
            if since < quarantine_cutoff:
                found.append(ExpiredFile(path, feed, extract.kind.name, extract_day,
                                         "rejected" if rejects else "quarantined",
                                         fingerprint(path) if path.suffix == ".csv" else None))
    return found


def _quarantined_on(path: Path) -> date:
    """The day a quarantined file (or one of its reports) was quarantined: its JSON report's
    `quarantined_at`; else the file's modification time (a move keeps it: never earlier)."""
    report = path.with_name(path.name.split(".", 1)[0] + ".report.json")
    try:
        return datetime.fromisoformat(json.loads(report.read_text())["quarantined_at"]).date()
    except (OSError, ValueError, KeyError, TypeError):
        return datetime.fromtimestamp(max(path.stat().st_mtime, path.stat().st_ctime)).date()


def _rejected_on(con, feed: str, path: Path) -> date:
    """The day the rows of a rejects file (or its report) were rejected: the latest rejection
    recorded for its original file or a released rejects file of it; else the file's own date."""
    stem = path.name.split(".", 1)[0]
    day = con.execute(
        """SELECT max(rejected_at)::DATE FROM meta.rejected_rows
           WHERE feed = ? AND source_file IN (?, ?)""",
        [feed, f"{stem}.csv", f"{stem}{REJECTS_SUFFIX}"]).fetchone()[0]
    return day or datetime.fromtimestamp(path.stat().st_mtime).date()


def purge_expired(settings: Settings, now: datetime | date,
                  days: int | None = None) -> list[Path]:
    """Delete expired extracts (see module doc); returns the deleted paths."""
    days = settings.retention_days if days is None else days
    today = now.date() if isinstance(now, datetime) else now
    deleted: list[Path] = []
    with connect(settings.warehouse) as con:
        ensure_schema(con)
        for f in expired_files(settings, today, days, con):
            con.execute("BEGIN")
            try:  # the log row and the deletion stand or fall together
                con.execute(
                    """INSERT INTO meta.retention_log (path, feed, kind, extract_date, reason,
                       content_hash, retention_days) VALUES (?, ?, ?, ?, ?, ?, ?)""",
                    [str(f.path), f.feed, f.kind, f.extract_date, f.reason, f.content_hash,
                     days])
                f.path.unlink()
            except BaseException:
                con.execute("ROLLBACK")
                raise
            con.execute("COMMIT")
            log.info("retention: deleted %s (%s, extract date %s, older than %d days)", f.path,
                     f.reason, f.extract_date, days)
            deleted.append(f.path)
        forget_missing_fingerprints(con)
    return deleted


def purge_stale_work(settings: Settings, now: datetime) -> list[Path]:
    """Delete audit hand-overs (scans, results) last written before now - WORK_MAX_AGE; returns
    them. Tonight's are younger: a run in progress keeps its own."""
    cutoff = (now - WORK_MAX_AGE).timestamp()
    stale = [p for folder in WORK_FOLDERS
             for p in sorted((settings.data_dir / "work" / folder).rglob("*"))
             if p.is_file() and not p.is_symlink() and p.stat().st_mtime < cutoff]
    for path in stale:
        path.unlink()
        log.info("retention: deleted stale work file %s (a promote that never ran)", path)
    return stale
