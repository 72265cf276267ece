"""The whole night through Airflow on generated extracts, checked against the generated rows."""

from __future__ import annotations

import csv
import json
import re
from datetime import timedelta
from pathlib import Path

import duckdb
import pandas as pd
import pytest

from csp_pipeline.core.registry import load_registry
from csp_pipeline.ingest.data_docs import data_docs_index
from csp_pipeline.privacy.leak_scan import identifiers_from_extracts, scan
from csp_pipeline.synthetic import NOT_SYNTHESISED
from tests.support.pipeline import NIGHT, PipelineRun, csp

pytestmark = pytest.mark.e2e

FIRE_TYPES = ["Primary fire", "Secondary fire", "Chimney fire"]


def warehouse(run: PipelineRun, sql: str) -> list[tuple]:
    with duckdb.connect(str(run.settings.warehouse), read_only=True) as con:
        return con.execute(sql).fetchall()


def generated_rows(run: PipelineRun, feed: str, kind: str, key: str) -> pd.DataFrame:
    """Every generated row of a kind, latest version per key (as the delivery rules say)."""
    frames = []
    for path in sorted((run.generated / feed).glob(f"{kind}_*.csv")):
        frame = pd.read_csv(path, dtype=str, keep_default_na=False)
        frame["_file"] = path.name
        frames.append(frame)
    rows = pd.concat(frames, ignore_index=True)
    return rows.drop_duplicates(subset=[key], keep="last")


def test_run_exits_zero_and_every_dag_succeeds(pipeline_run):
    assert pipeline_run.returncode == 0, pipeline_run.output[-3000:]
    states = dict(re.findall(r"^(csp_\w+): (\w+) in \d+ s$", pipeline_run.output, re.M))
    assert states == {dag_id: "success" for dag_id in (
        "csp_feed_education", "csp_feed_fire", "csp_feed_police", "csp_feed_substance_misuse",
        "csp_feed_youth_justice", "csp_warehouse", "csp_housekeeping")}


def csv_rows(path: Path) -> list[list[str]]:
    with path.open(newline="", encoding="utf-8-sig") as fh:
        return list(csv.reader(fh))


def test_a_bad_row_is_rejected_and_the_rest_of_its_file_loads(pipeline_run):
    """The broken file's unknown crime type (data row 2) is a reject: that row goes to the
    rejects file and meta.rejected_rows, every other row of the file loads."""
    name = Path(pipeline_run.broken_file).name
    delivered = csv_rows(pipeline_run.settings.landing_dir / pipeline_run.broken_file)
    [(status, rows, rejected)] = warehouse(pipeline_run, f"""SELECT status, rows, rows_rejected
        FROM meta.deliveries WHERE source_file = '{name}'""")
    assert (status, rows, rejected) == ("loaded", len(delivered) - 2, 1)
    numbers = warehouse(pipeline_run, f"""SELECT _row_number FROM raw.police__crimes
                                          WHERE _source_file = '{name}' ORDER BY 1""")
    assert [n for (n,) in numbers] == [n for n in range(1, len(delivered)) if n != 2]
    assert warehouse(pipeline_run, """SELECT source_file, row_number, column_name, rule, value
                                      FROM meta.rejected_rows""") == [
        (name, 2, "Crime type", "value in the contract's code list", "Burglery")]
    rejects = pipeline_run.settings.quarantine_dir / "police" / name.replace(".csv", ".rejects.csv")
    assert csv_rows(rejects) == [delivered[0], delivered[2]]  # the row as delivered
    doc = json.loads(rejects.with_suffix(".report.json").read_text())
    assert doc["rows"] == {"in_file": len(delivered) - 1, "loaded": len(delivered) - 2,
                           "rejected": 1, "quarantined": 0}
    assert not (pipeline_run.settings.quarantine_dir / "police" / name).exists()
    loaded = dict(warehouse(pipeline_run, "SELECT feed, sum(rows) FROM meta.deliveries "
                                          "WHERE status = 'loaded' GROUP BY feed"))
    assert set(loaded) == {"police", "fire", "education", "substance_misuse", "youth_justice"}
    assert all(n > 0 for n in loaded.values())


def test_every_file_s_rows_are_loaded_or_rejected(pipeline_run):
    """Nothing lost: for every delivery, rows in the file = rows loaded + rows rejected."""
    deliveries = warehouse(pipeline_run, """SELECT feed, source_file, rows, rows_rejected
                                            FROM meta.deliveries WHERE status = 'loaded'""")
    assert len(deliveries) > 10
    for feed, source_file, rows, rejected in deliveries:
        in_file = len(csv_rows(pipeline_run.generated / feed / source_file)) - 1
        assert in_file == rows + rejected, (feed, source_file)


def test_every_generated_row_is_loaded_once_per_delivery(pipeline_run):
    fire = generated_rows(pipeline_run, "fire", "incidents", "INCIDENT_ID")
    (n,) = warehouse(pipeline_run, "SELECT count(DISTINCT incident_id) FROM raw.fire__incidents")[0]
    assert n == len(fire)


def test_fire_performance_mart_matches_counts_from_generated_rows(pipeline_run):
    fire = generated_rows(pipeline_run, "fire", "incidents", "INCIDENT_ID")
    fire["month"] = pd.to_datetime(fire["CALL_DATETIME"]).dt.to_period("M").dt.to_timestamp()
    fires = fire[fire["INCIDENT_TYPE"].isin(FIRE_TYPES)]
    deliberate = fires[fires["ACCIDENTAL_OR_DELIBERATE"] == "Deliberate"]
    acc_dwelling = fires[(fires["ACCIDENTAL_OR_DELIBERATE"] != "Deliberate")
                         & (fires["PROPERTY_CATEGORY"] == "Dwelling")
                         & (fires["INCIDENT_TYPE"] == "Primary fire")]
    expected = {
        "Total Fires": fires.groupby(["LA_CODE", "month"]).size(),
        "Total Deliberate Fires": deliberate.groupby(["LA_CODE", "month"]).size(),
        "Deliberate Primary Fires": deliberate[deliberate["INCIDENT_TYPE"] == "Primary fire"]
        .groupby(["LA_CODE", "month"]).size(),
        "Deliberate Secondary Fires": deliberate[deliberate["INCIDENT_TYPE"] == "Secondary fire"]
        .groupby(["LA_CODE", "month"]).size(),
        "Accidental Dwelling Fires": acc_dwelling.groupby(["LA_CODE", "month"]).size(),
        "Accidental Dwelling Fire Injuries": acc_dwelling.assign(
            n=acc_dwelling["CASUALTIES"].astype(int)).groupby(["LA_CODE", "month"])["n"].sum(),
    }
    mart = warehouse(pipeline_run, "SELECT la_code, month, indicator, value "
                                   "FROM marts.cs_fire_monthly_performance")
    got = {(la, pd.Timestamp(m), ind): v for la, m, ind, v in mart}
    checked = 0
    for indicator, series in expected.items():
        for (la, month), value in series.items():
            assert got[(la, month, indicator)] == value, (la, month, indicator)
            checked += 1
    assert checked > 100
    # months with no incidents of a kind are present as zeros, not missing
    latest = max(m for _, m, _ in got)
    assert all((la, latest, ind) in got for la in fire["LA_CODE"].unique() for ind in expected)


def test_published_snapshot_has_every_mart_as_duckdb_and_parquet(pipeline_run):
    current = pipeline_run.settings.published_dir / "current"
    manifest = json.loads((current / "manifest.json").read_text())
    assert manifest["run_id"] and manifest["code_version"] and manifest["inputs"]
    assert {"cs_fire_monthly_performance", "cs_fire_economic_cost_monthly",
            "cs_fire_hotspot_wards_monthly"} <= set(manifest["marts"])
    with duckdb.connect(str(current / "published.duckdb"), read_only=True) as con:
        for mart in manifest["marts"]:
            con.execute(f"SELECT count(*) FROM marts.{mart}").fetchone()
            assert (current / "parquet" / f"{mart}.parquet").exists()


def test_data_docs_show_every_feeds_validations(pipeline_run):
    index = data_docs_index(pipeline_run.settings.data_dir / "gx")
    pages = {p.relative_to(index.parent / "validations").parts[0]
             for p in index.parent.glob("validations/**/*.html")}
    landed = {k.id for k in load_registry().kinds if (k.feed, k.name) not in NOT_SYNTHESISED}
    assert pages == landed  # a folder of pages per suite that validated a file
    assert "police__crimes" in index.read_text()


def test_dbt_docs_are_generated_from_the_nights_warehouse(pipeline_run):
    site = (pipeline_run.settings.data_dir / "dbt_docs" / "static_index.html").read_text()
    for documented in ("cs_crime_monthly", "yj_kpi_quarterly", "stg_fire__incidents"):
        assert documented in site
    catalog = json.loads((pipeline_run.settings.data_dir / "dbt_docs" / "catalog.json").read_text())
    assert "model.csp.cs_fire_monthly_performance" in catalog["nodes"]


def test_status_reports_loaded_rejected_quarantined_and_published(pipeline_run):
    out = csp(pipeline_run.env, "status")
    assert out.returncode == 0, out.stderr
    assert "fire/incidents" in out.stdout and "Published:" in out.stdout
    assert f"{NIGHT}" in out.stdout
    # the partner's crimes extract is the source of every Cleveland Police month
    police = [line for line in out.stdout.splitlines() if line.startswith("  Cleveland Police ")]
    assert police and all("partner extract" in line for line in police)
    header, police = (next(line.split() for line in out.stdout.splitlines()
                           if line.split()[:1] == [first]) for first in ("feed/kind", "police/crimes"))
    assert police[header.index("rejected")] == "1"


def test_no_direct_identifier_passes_the_boundary(pipeline_run, tmp_path):
    """Every PII value of the generated extracts, searched for in the warehouse, the published
    snapshot, every file under the data and Airflow folders except the landing zone (quarantine
    reports, GE results and Data Docs, task logs, the Airflow database holding XComs) and the
    run's own output."""
    identifiers = identifiers_from_extracts(pipeline_run.generated)
    assert len(identifiers) > 1000  # names, dates of birth, postcodes, UPNs, case ids
    console = tmp_path / "csp-run.log"
    console.write_text(pipeline_run.output)
    assert scan(pipeline_run.settings, identifiers, extra_paths=[console]) == []


def test_extracts_past_retention_are_deleted_and_logged(pipeline_run):
    cutoff = NIGHT - timedelta(days=90)
    dated = re.compile(r"_(\d{8})\.csv$")

    def extract_dates(root: Path) -> dict[str, str]:
        return {f"{p.parent.name}/{p.name}": m[1] for p in root.glob("*/*.csv")
                if (m := dated.search(p.name))}

    expired = {f for f, d in extract_dates(pipeline_run.generated).items() if d < f"{cutoff:%Y%m%d}"}
    assert expired and not expired & set(extract_dates(pipeline_run.settings.landing_dir))
    logged = warehouse(pipeline_run, "SELECT path, reason, retention_days FROM meta.retention_log")
    assert {f"{Path(p).parent.name}/{Path(p).name}" for p, _, _ in logged} == expired
    assert {(reason, days) for _, reason, days in logged} == {("loaded", 90)}


def test_rerunning_the_night_changes_nothing(pipeline_run):
    def state():
        return warehouse(pipeline_run, """
            SELECT (SELECT count(*) FROM raw.fire__incidents),
                   (SELECT count(*) FROM raw.police__crimes),
                   (SELECT count(*) FROM meta.deliveries WHERE status = 'loaded'),
                   (SELECT sum(hash(indicator || la_code || month || value))
                    FROM marts.cs_fire_monthly_performance)""")[0]

    before = state()
    again = csp(pipeline_run.env, "run", "--date", NIGHT.isoformat())
    assert again.returncode == 0, again.stdout[-2000:] + again.stderr[-2000:]
    assert state() == before


def test_a_fixed_rejects_file_is_released_and_its_row_added_on_the_next_run(pipeline_run):
    """Runs after the other tests: it changes the warehouse."""
    name = Path(pipeline_run.broken_file).name
    rejects = pipeline_run.settings.quarantine_dir / "police" / name.replace(".csv", ".rejects.csv")
    rejects.write_text(rejects.read_text().replace("Burglery", "Burglary"))
    (police_before,) = warehouse(pipeline_run, "SELECT count(*) FROM raw.police__crimes")[0]

    released = csp(pipeline_run.env, "release", f"police/{rejects.name}")
    assert released.returncode == 0, released.stderr
    again = csp(pipeline_run.env, "run", "--date", NIGHT.isoformat())
    assert again.returncode == 0, again.stdout[-2000:] + again.stderr[-2000:]

    ledger = warehouse(pipeline_run, f"""SELECT source_file, status, rows, rows_rejected
        FROM meta.deliveries WHERE source_file IN ('{name}', '{rejects.name}')
        ORDER BY processed_at""")
    expected = len(pd.read_csv(pipeline_run.generated / "police" / name))
    assert ledger == [(name, "loaded", expected - 1, 1), (rejects.name, "loaded", 1, 0)]
    (police_after,) = warehouse(pipeline_run, "SELECT count(*) FROM raw.police__crimes")[0]
    assert police_after == police_before + 1
    assert not rejects.exists()
