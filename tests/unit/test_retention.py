"""Landing-zone protection (owner-only permissions) and retention of extracts, on real files and
a real DuckDB warehouse."""

from __future__ import annotations

import json
import logging
import os
import stat
from datetime import date, datetime, timedelta
from pathlib import Path

import duckdb
import pytest

from csp_pipeline.core.registry import load_registry
from csp_pipeline.core.schema import ensure_schema
from csp_pipeline.core.settings import ConfigurationError, Settings
from csp_pipeline.core.warehouse import connect
from csp_pipeline.ingest import quarantine
from csp_pipeline.ingest.landing import discover, fingerprint, secure_tree
from csp_pipeline.ingest.results import RuleResult
from csp_pipeline.privacy.retention import WORK_MAX_AGE, purge_expired, purge_stale_work

NOW = datetime(2024, 5, 31, 2, 0)


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def land(settings: Settings, feed: str, name: str, text: str = "A,B\n1,2\n") -> Path:
    path = settings.landing_dir / feed / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    path.chmod(0o644)
    return path


def record_loaded(settings: Settings, path: Path, feed: str, kind: str, extract_date: str,
                  status: str = "loaded") -> None:
    with connect(settings.warehouse) as con:
        ensure_schema(con)
        con.execute("""INSERT INTO meta.deliveries (content_hash, feed, kind, extract_date,
                       source_file, rows, status, run_id) VALUES (?, ?, ?, ?, ?, 1, ?, 'r')""",
                    [fingerprint(path), feed, kind, extract_date, path.name, status])


def test_secure_tree_makes_folders_0700_and_files_0600_without_following_links(tmp_path):
    root = tmp_path / "landing"
    (root / "fire" / "sub").mkdir(parents=True)
    f = root / "fire" / "incidents_20240531.csv"
    f.write_text("x")
    outside = tmp_path / "outside.txt"
    outside.write_text("y")
    outside.chmod(0o644)
    (root / "fire" / "link").symlink_to(outside)
    for p in (root, root / "fire", root / "fire" / "sub"):
        p.chmod(0o755)
    f.chmod(0o644)
    secure_tree(root)
    assert [mode(p) for p in (root, root / "fire", root / "fire" / "sub")] == [0o700] * 3
    assert mode(f) == 0o600
    assert mode(outside) == 0o644  # a link's target is not ours to change


def test_discover_and_quarantine_leave_extracts_readable_by_the_pipeline_user_only(settings):
    registry = load_registry()
    path = land(settings, "fire", "incidents_20240531.csv")
    (settings.landing_dir / "fire").chmod(0o755)
    [extract] = discover(registry, settings.landing_dir, "fire", None)
    assert mode(settings.landing_dir / "fire") == 0o700 and mode(path) == 0o600
    failed = RuleResult(expectation="e", rule="r", column="INCIDENT_ID", severity="blocking",
                        success=False, unexpected_count=1, rows=[1])
    quarantine.move(settings, extract, "hash", "run", [failed])
    folder = settings.quarantine_dir / "fire"
    files = sorted(folder.iterdir())
    assert [p.name for p in files] == ["incidents_20240531.csv", "incidents_20240531.report.json",
                                       "incidents_20240531.report.md"]
    assert mode(folder) == 0o700 and all(mode(p) == 0o600 for p in files)


def test_purge_deletes_loaded_and_quarantined_extracts_past_retention_only(settings, caplog):
    old_loaded = land(settings, "fire", "incidents_20240201.csv")
    record_loaded(settings, old_loaded, "fire", "incidents", "2024-02-01")
    replaced = land(settings, "fire", "incidents_20240202.csv")  # loaded, then re-issued
    record_loaded(settings, replaced, "fire", "incidents", "2024-02-02", status="superseded")
    never_loaded = land(settings, "fire", "incidents_20240203.csv")
    changed = land(settings, "police", "crimes_20240204.csv")  # bytes differ from the delivery
    record_loaded(settings, changed, "police", "crimes", "2024-02-04")
    changed.write_text("A,B\n1,3\n")
    recent = land(settings, "fire", "incidents_20240305.csv")  # inside 90 days of 31 May
    record_loaded(settings, recent, "fire", "incidents", "2024-03-05")
    not_an_extract = land(settings, "fire", "notes_2024.csv")
    q = settings.quarantine_dir / "police"
    q.mkdir(parents=True)
    old_q = [q / f"crimes_20240110{s}" for s in (".csv", ".report.json", ".report.md")]
    new_q = [q / f"crimes_20240530{s}" for s in (".csv", ".report.json", ".report.md")]
    for p in old_q + new_q:
        p.write_text("quarantined")
    for p, when in ((old_q[1], "2024-01-10T03:00:00+00:00"), (new_q[1], "2024-05-30T03:00:00+00:00")):
        p.write_text(json.dumps({"quarantined_at": when}))

    caplog.set_level(logging.INFO, logger="csp_pipeline.privacy.retention")
    deleted = purge_expired(settings, NOW, days=90)

    assert sorted(deleted) == sorted([old_loaded, replaced, *old_q])
    assert not any(p.exists() for p in deleted)
    assert all(p.exists() for p in [never_loaded, changed, recent, not_an_extract, *new_q])
    with duckdb.connect(str(settings.warehouse), read_only=True) as con:
        log_rows = con.execute("SELECT path, feed, kind, extract_date::VARCHAR, reason, "
                               "retention_days FROM meta.retention_log ORDER BY path").fetchall()
    assert sorted(r[0] for r in log_rows) == sorted(str(p) for p in deleted)
    assert ("fire", "incidents", "2024-02-01", "loaded", 90) in [r[1:] for r in log_rows]
    assert ("police", "crimes", "2024-01-10", "quarantined", 90) in [r[1:] for r in log_rows]
    assert all(f"deleted {p}" in caplog.text for p in deleted)
    assert purge_expired(settings, NOW, days=90) == []  # nothing left to do


def test_retention_window_comes_from_the_environment(settings):
    path = land(settings, "fire", "incidents_20240520.csv")
    record_loaded(settings, path, "fire", "incidents", "2024-05-20")
    assert settings.retention_days == 90
    env = {"CSP_DATA_DIR": str(settings.data_dir)}
    assert purge_expired(Settings.from_env({**env, "CSP_RETENTION_DAYS": "30"}),
                         date(2024, 6, 15)) == []
    assert purge_expired(Settings.from_env({**env, "CSP_RETENTION_DAYS": "7"}),
                         date(2024, 6, 15)) == [path]
    for bad in ("0", "-3", "ninety"):
        with pytest.raises(ConfigurationError, match="CSP_RETENTION_DAYS"):
            Settings.from_env({**env, "CSP_RETENTION_DAYS": bad})


def test_a_quarantined_file_ages_from_its_quarantine_date_and_is_kept_the_grace_period(settings):
    """A partner's late, back-dated extract (extract date far past retention) quarantined
    tonight is not deleted by tonight's housekeeping, nor before the grace period, even with a
    retention window shorter than it."""
    from csp_pipeline.privacy.retention import QUARANTINE_GRACE_DAYS

    extract = land(settings, "fire", "incidents_20230105.csv")
    [found] = discover(load_registry(), settings.landing_dir, "fire", None)
    failed = RuleResult(expectation="e", rule="r", column="INCIDENT_ID", severity="blocking",
                        success=False, unexpected_count=1, rows=[1])
    quarantine.move(settings, found, "hash", "run", [failed])
    kept = sorted((settings.quarantine_dir / "fire").iterdir())
    assert len(kept) == 3 and not extract.exists()
    today = datetime.now()
    assert purge_expired(settings, today, days=90) == []
    short = Settings.from_env({"CSP_DATA_DIR": str(settings.data_dir), "CSP_RETENTION_DAYS": "7"})
    assert purge_expired(short, today + timedelta(days=QUARANTINE_GRACE_DAYS - 1)) == []
    assert all(p.exists() for p in kept)
    assert sorted(purge_expired(short, today + timedelta(days=QUARANTINE_GRACE_DAYS + 1))) == kept


def test_an_audit_hand_over_whose_promote_never_ran_is_deleted_after_two_days(settings):
    now = datetime(2024, 6, 3, 2, 0)
    work = settings.data_dir / "work"
    old_scan, new_scan = work / "scans" / "a.crimes.csv.duckdb", work / "scans" / "b.csv.duckdb"
    old_audit = work / "audits" / "night-1" / "a.crimes.csv.audit.json"
    for path in (old_scan, new_scan, old_audit):
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text("x")
    stale = (now - WORK_MAX_AGE - timedelta(minutes=1)).timestamp()
    for path in (old_scan, old_audit):
        os.utime(path, (stale, stale))
    fresh = (now - timedelta(hours=1)).timestamp()
    os.utime(new_scan, (fresh, fresh))
    assert sorted(purge_stale_work(settings, now)) == sorted([old_scan, old_audit])
    assert new_scan.exists() and not old_scan.exists() and not old_audit.exists()
