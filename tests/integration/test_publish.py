"""Publishing on a real DuckDB warehouse: atomic snapshots under concurrent readers, the manifest,
fail-closed declaration, disclosure control in every format, and snapshot retention."""

from __future__ import annotations

import csv
import json
import threading
import time
from datetime import datetime
from pathlib import Path

import duckdb
import pytest

from csp_pipeline.core.schema import ensure_schema
from csp_pipeline.core.settings import Settings
from csp_pipeline.publish.snapshot import SNAPSHOT_DB, publish

CRIME_ROWS = {"run-1": 400_000, "run-2": 450_000}  # big enough that a publish takes a while
CUSTODY = [("E06000001", 3, 0), ("E06000002", 12, 5), ("E06000003", 0, 2)]


def build_marts(settings: Settings, run_id: str, crime_rows: int | None = None) -> None:
    """Marts shaped like the contract; every row's la_name carries the run id, and the row count
    of cs_crime_monthly differs per run, so a reader can tell a complete snapshot from a mix."""
    settings.warehouse.parent.mkdir(parents=True, exist_ok=True)
    with duckdb.connect(str(settings.warehouse)) as con:
        ensure_schema(con)
        con.execute("CREATE SCHEMA IF NOT EXISTS marts")
        con.execute("""CREATE OR REPLACE TABLE marts.cs_crime_monthly AS
            SELECT 'E0600000' || (1 + i % 4) AS la_code, $run AS la_name,
                   DATE '2010-01-01' + INTERVAL (i // 56) MONTH AS month,
                   'Type ' || (i % 14) AS crime_type, (i % 7)::BIGINT AS incidents,
                   (i % 5)::BIGINT AS incidents_previous_year, NULL::DOUBLE AS pct_change,
                   NULL AS direction, (i % 90)::BIGINT AS rolling_12m,
                   1.5 AS rate_per_1000_population
            FROM range($n) t(i)""", {"run": run_id, "n": crime_rows or CRIME_ROWS[run_id]})
        con.execute("""CREATE OR REPLACE TABLE marts.yj_custody (la_code VARCHAR, la_name VARCHAR,
            financial_year VARCHAR, period_start DATE, period_end DATE,
            custodial_sentences BIGINT, remands BIGINT, population_10_17 INTEGER,
            custody_rate_per_1000 DOUBLE, period_complete BOOLEAN)""")
        con.executemany("INSERT INTO marts.yj_custody VALUES (?, ?, '2023-24', DATE '2023-04-01', "
                        "DATE '2024-03-31', ?, ?, 10000, ? / 10, true)",
                        [[la, run_id, n, r, n] for la, n, r in CUSTODY])
        # built by dbt but nobody classified its columns: must not leave the platform
        con.execute("CREATE OR REPLACE TABLE marts.yj_child_list AS "
                    "SELECT 'E06000001' AS la_code, $run AS la_name, 'HP000123' AS child_id",
                    {"run": run_id})
        con.execute("DELETE FROM meta.deliveries")
        con.execute("""INSERT INTO meta.deliveries (content_hash, feed, kind, extract_date,
            source_file, bytes, rows, status, run_id) VALUES
            ('aa11', 'fire', 'incidents', DATE '2024-05-30', 'incidents_20240530.csv', 10, 2,
             'loaded', $run),
            ('bb22', 'fire', 'incidents', DATE '2024-05-31', 'incidents_20240531.csv', 10, 2,
             'loaded', $run),
            ('cc33', 'police', 'crimes', DATE '2024-05-31', 'crimes_20240531.csv', 10, 0,
             'quarantined', $run)""", {"run": run_id})


def read_snapshot(db: Path, manifest: Path | None) -> str:
    """Open a snapshot as a reader would; returns its run id after checking it is complete."""
    with duckdb.connect(str(db), read_only=True) as con:
        (run_id,) = con.execute("SELECT run_id FROM meta.snapshot").fetchone()
        names = con.execute("SELECT DISTINCT la_name FROM marts.cs_crime_monthly").fetchall()
        n = con.execute("SELECT count(*) FROM marts.cs_crime_monthly").fetchone()[0]
        custody = con.execute("SELECT DISTINCT la_name FROM marts.yj_custody").fetchall()
    assert names == [(run_id,)] and custody == [(run_id,)], (run_id, names, custody)
    assert n == CRIME_ROWS[run_id], (run_id, n)
    if manifest is not None:
        assert json.loads(manifest.read_text())["run_id"] == run_id
    return run_id


def test_readers_see_a_complete_snapshot_old_or_new_while_the_next_one_is_published(settings):
    build_marts(settings, "run-1")
    publish(settings, "run-1", keep=2)
    build_marts(settings, "run-2")
    current = settings.published_dir / "current"
    seen: list[tuple[float, str]] = []
    errors: list[BaseException] = []
    stop = threading.Event()

    def reader() -> None:
        while not stop.is_set():
            try:
                # a reader of the DuckDB file alone, through the symlink...
                seen.append((time.monotonic(), read_snapshot(current / SNAPSHOT_DB, None)))
                # ...and one that resolves `current` once, then opens the manifest and the file
                snap = current.resolve()
                seen.append((time.monotonic(),
                             read_snapshot(snap / SNAPSHOT_DB, snap / "manifest.json")))
            except BaseException as exc:  # noqa: BLE001 - reported by the test thread
                errors.append(exc)
                return

    thread = threading.Thread(target=reader)
    thread.start()
    while not seen:
        time.sleep(0.01)
    started = time.monotonic()
    manifest = publish(settings, "run-2", keep=2)
    finished = time.monotonic()
    deadline = time.monotonic() + 30
    while not any(r == "run-2" for _, r in seen[-3:]) and time.monotonic() < deadline:
        time.sleep(0.01)
    stop.set()
    thread.join()

    assert not errors, errors[0]
    during = [r for t, r in seen if started <= t <= finished]
    assert len(during) >= 5, f"the reader must overlap the publish ({len(during)} reads)"
    assert {r for _, r in seen} == {"run-1", "run-2"}
    assert manifest["run_id"] == "run-2"
    assert not list((settings.published_dir / "snapshots").glob(".*"))  # no partial left
    assert not list(current.resolve().glob("*.wal"))


def test_manifest_records_run_code_inputs_and_time(settings):
    build_marts(settings, "run-1")
    before = datetime.now().astimezone()
    manifest = publish(settings, "run-1")
    on_disk = json.loads((settings.published_dir / "current" / "manifest.json").read_text())
    assert on_disk == manifest
    assert manifest["run_id"] == "run-1" and manifest["code_version"]
    published_at = datetime.fromisoformat(manifest["published_at"])
    assert abs((published_at - before).total_seconds()) < 120
    assert [(i["file"], i["sha256"]) for i in manifest["inputs"]] == [
        ("incidents_20240530.csv", "aa11"), ("incidents_20240531.csv", "bb22")]  # loaded only
    assert manifest["inputs"][0]["extract_date"] == "2024-05-30"


def test_only_declared_marts_leave_the_platform_with_disclosure_control_in_every_format(
        settings):
    build_marts(settings, "run-1")
    manifest = publish(settings, "run-1")
    snap = (settings.published_dir / "current").resolve()
    assert manifest["marts"] == ["cs_crime_monthly", "yj_custody"]
    assert "yj_child_list" in manifest["withheld"]
    assert not (snap / "parquet" / "yj_child_list.parquet").exists()
    assert not (snap / "csv" / "yj_child_list.csv").exists()
    with duckdb.connect(str(snap / SNAPSHOT_DB), read_only=True) as con:
        tables = {r[0] for r in con.execute(
            "SELECT table_name FROM duckdb_tables() WHERE schema_name = 'marts'").fetchall()}
        assert tables == {"cs_crime_monthly", "yj_custody"}
        db_rows = con.execute("SELECT la_code, custodial_sentences, custodial_sentences_suppressed,"
                              " remands, custody_rate_per_1000 FROM marts.yj_custody "
                              "ORDER BY la_code").fetchall()
        pq_rows = con.execute(
            f"SELECT la_code, custodial_sentences, custodial_sentences_suppressed, remands, "
            f"custody_rate_per_1000 FROM '{snap / 'parquet' / 'yj_custody.parquet'}' "
            "ORDER BY la_code").fetchall()
    assert db_rows == pq_rows == [("E06000001", None, True, 0, None),
                                  ("E06000002", 12, False, 5, 1.2),
                                  ("E06000003", 0, False, None, 0.0)]
    with (snap / "csv" / "yj_custody.csv").open(newline="") as fh:
        rows = {r["la_code"]: r for r in csv.DictReader(fh)}
    assert (rows["E06000001"]["custodial_sentences"], rows["E06000001"]["custody_rate_per_1000"],
            rows["E06000001"]["remands"]) == ("c", "c", "0")
    assert (rows["E06000003"]["custodial_sentences"], rows["E06000003"]["remands"]) == ("0", "c")
    assert rows["E06000002"]["custodial_sentences"] == "12"
    assert not any(k.endswith("_suppressed") for k in rows["E06000001"])
    assert manifest["suppression"]["yj_custody"] == {"primary": 2, "secondary": 0, "rates": 1}
    crime_csv = (snap / "csv" / "cs_crime_monthly.csv").read_text().splitlines()
    assert len(crime_csv) == CRIME_ROWS["run-1"] + 1 and ",c," not in "".join(crime_csv[:1000])


def test_analysts_can_read_every_file_of_a_snapshot_as_its_exports(settings):
    """The snapshot's database is as readable as its CSV and Parquet exports (the warehouse's
    owner-only rule is not applied to it), and holds no spill folder."""
    build_marts(settings, "run-1", crime_rows=1000)
    publish(settings, "run-1")
    snap = (settings.published_dir / "current").resolve()
    export_mode = (snap / "csv" / "yj_custody.csv").stat().st_mode & 0o777
    assert (snap / SNAPSHOT_DB).stat().st_mode & 0o777 == export_mode
    assert not list(snap.glob("*.tmp"))


def test_the_last_n_snapshots_are_kept_and_current_is_the_newest(settings):
    build_marts(settings, "run-1", crime_rows=100)
    names = []
    for i in range(4):
        names.append(Path(publish(settings, f"night-{i}", keep=2)["path"]).resolve().name)
    kept = sorted(p.name for p in (settings.published_dir / "snapshots").iterdir())
    assert len(kept) == 2 and kept[-1] == names[-1] and kept[0] == names[-2]
    doc = json.loads((settings.published_dir / "current" / "manifest.json").read_text())
    assert doc["run_id"] == "night-3"


FORMULAS = ['=HYPERLINK("http://evil.example","Ward")', "+cmd", "-2+3", "@SUM(A1)", "\tx", "\ry"]


def test_csv_exports_neutralise_formula_cells_and_keep_numbers_while_parquet_keeps_the_truth(
        settings):
    """OWASP CSV injection: a text cell starting with = + - @ tab or CR is prefixed with ' in the
    CSV; a negative number stays a number; Parquet and DuckDB keep the value as built."""
    build_marts(settings, "run-1", crime_rows=100)
    with duckdb.connect(str(settings.warehouse)) as con:
        for i, text in enumerate(FORMULAS):
            con.execute("UPDATE marts.cs_crime_monthly SET crime_type = ?, pct_change = -12.5 "
                        "WHERE incidents = ?", [text, i])
    publish(settings, "run-1")
    snap = (settings.published_dir / "current").resolve()
    with (snap / "csv" / "cs_crime_monthly.csv").open(newline="") as fh:
        rows = list(csv.DictReader(fh))
    shown = {r["crime_type"] for r in rows if r["pct_change"]}
    assert shown == {"'" + f for f in FORMULAS}
    assert {r["pct_change"] for r in rows if r["pct_change"]} == {"-12.5"}
    assert any(r["crime_type"] == "Type 13" for r in rows)  # plain text untouched
    with duckdb.connect(str(snap / SNAPSHOT_DB), read_only=True) as con:
        db = {r[0] for r in con.execute("SELECT crime_type FROM marts.cs_crime_monthly "
                                        "WHERE pct_change < 0").fetchall()}
        pq = {r[0] for r in con.execute(
            f"SELECT crime_type FROM '{snap / 'parquet' / 'cs_crime_monthly.parquet'}' "
            "WHERE pct_change < 0").fetchall()}
    assert db == pq == set(FORMULAS)


def test_a_failed_feed_blocks_publishing_unless_told_and_the_manifest_says_what_it_rests_on(
        tmp_path):
    from csp_pipeline.ingest import feed_runs
    from csp_pipeline.publish.snapshot import PublishRefused

    settings = Settings.from_env({"CSP_DATA_DIR": str(tmp_path / "data")})
    build_marts(settings, "run-1", crime_rows=100)
    with duckdb.connect(str(settings.warehouse)) as con:
        feed_runs.record(con, "fire", "night-1", "2024-05-31", True)
        feed_runs.record(con, "police", "night-1", "2024-05-31", True)
    first = publish(settings, "run-1")
    assert first["partial"] is False
    assert first["feeds"]["fire"] == {"run_id": "night-1", "night": "2024-05-31", "ok": True,
                                      "detail": None,
                                      "extract_dates": "2024-05-30 to 2024-05-31"}
    with duckdb.connect(str(settings.warehouse)) as con:
        feed_runs.record(con, "police", "night-2", "2024-06-01", False,
                         "1 of 1 file(s) failed: crimes_20240601.csv: OSError: disk full")
    with pytest.raises(PublishRefused, match=r"police.*crimes_20240601.csv.*previous snapshot"):
        publish(settings, "run-2")
    current = settings.published_dir / "current"
    assert json.loads((current / "manifest.json").read_text())["run_id"] == "run-1"
    assert len(list((settings.published_dir / "snapshots").iterdir())) == 1

    told = Settings.from_env({"CSP_DATA_DIR": str(tmp_path / "data"),
                              "CSP_PUBLISH_OVER_FAILED_FEEDS": "1"})
    partial = publish(told, "run-2")
    assert partial["partial"] is True and partial["feeds"]["police"]["ok"] is False
    assert "disk full" in partial["feeds"]["police"]["detail"]
    assert partial["feeds"]["fire"]["ok"] is True
    with duckdb.connect(str(settings.warehouse)) as con:  # a good rerun clears the failure
        feed_runs.record(con, "police", "night-2-rerun", "2024-06-01", True)
    assert publish(settings, "run-3")["partial"] is False


def test_a_report_that_cannot_be_built_fails_the_publish_and_keeps_the_previous_snapshot(
        settings, monkeypatch):
    """The report and dictionary are assembled in the new folder before `current` moves."""
    from csp_pipeline.publish import snapshot
    from csp_pipeline.publish.report.build import ReportError

    build_marts(settings, "run-1", crime_rows=5_000)
    publish(settings, "run-1")
    current = settings.published_dir / "current"
    first = current.resolve()
    assert (first / "report" / "index.html").exists() and (first / "DATA_DICTIONARY.md").exists()

    def broken(folder: Path) -> Path:
        (folder / "report").mkdir()  # half-built, then fails
        raise ReportError("template missing")

    monkeypatch.setattr(snapshot, "build_report", broken)
    build_marts(settings, "run-2", crime_rows=5_000)
    with pytest.raises(ReportError):
        publish(settings, "run-2")
    assert current.resolve() == first
    assert json.loads((current / "manifest.json").read_text())["run_id"] == "run-1"
    assert sorted(p.name for p in (settings.published_dir / "snapshots").iterdir()) == [first.name]
