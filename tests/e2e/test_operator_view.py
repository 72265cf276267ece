"""What an operator sees of the shared night (tests/support/pipeline.py) and of a night that fails:
one line per stage as it happens, library output in the run's log and each task's own log, a
failure named by DAG, task, file and error with the end of its log, and the daily commands
(`csp status [--json]`, also while a run holds the warehouse, and `csp validate`)."""

from __future__ import annotations

import csv
import json
import os
import re
from pathlib import Path

import duckdb
import pytest

from tests.support.pipeline import NIGHT, csp
from tests.support.webhook import serve

pytestmark = pytest.mark.e2e


def _run_log(output: str) -> Path:
    [log] = re.findall(r"library output goes to (\S+) ", output)
    return Path(log)


def test_the_night_is_told_stage_by_stage_and_briefly(pipeline_run):
    out = pipeline_run.output
    assert "Traceback" not in out
    lines = out.splitlines()
    assert len(lines) < 50, out  # the library output (thousands of lines) is in the log
    for feed in ("education", "fire", "police", "substance_misuse", "youth_justice"):
        assert f"csp_feed_{feed}: started" in lines
        assert re.search(rf"^  {feed}: \d+ file\(s\) loaded, [\d,]+ rows, [\d,]+ rejected; "
                         r"0 file\(s\) quarantined$", out, re.M), feed
    rejects = pipeline_run.settings.quarantine_dir / pipeline_run.broken_file.replace(
        ".csv", ".rejects.report.md")
    assert f"  1 row(s) of {pipeline_run.broken_file} rejected; report: {rejects}" in lines
    assert rejects.exists()
    [dbt] = re.findall(r"^  dbt: (\d+) seeds and (\d+) models built; (\d+) tests passed, "
                       r"(\d+) failed(?:, \d+ warned)?$", out, re.M)
    assert int(dbt[1]) > 40 and int(dbt[2]) > 300 and dbt[3] == "0"
    assert re.search(r"^  published \d+ marts.*: /\S+/published/snapshots/\S+$", out, re.M)


def test_library_output_is_in_the_run_log_and_each_task_log(pipeline_run):
    log = _run_log(pipeline_run.output)
    assert log.is_relative_to(pipeline_run.settings.airflow_home / "logs")
    text = log.read_text()
    assert "Running with dbt=" in text and "Done. PASS=" in text
    # known-harmless library warnings silenced where they arise, not hidden
    for noise in ("Unavailable conversion function", "Asset (Dataset) URIs",
                  "install apache-airflow-providers-openlineage",
                  "[openlineage/namespace] not found"):
        assert noise not in text, noise
    tasks = pipeline_run.settings.airflow_home / "logs" / "dag_id=csp_warehouse"
    [model_log] = tasks.glob("run_id=*/task_id=dbt.cs_fire_monthly_performance_run/attempt=1.log")
    assert "cs_fire_monthly_performance" in model_log.read_text()
    assert "cs_crime_monthly" not in model_log.read_text()  # another task's output


def test_status_reports_every_kind_also_as_json(pipeline_run):
    done = csp(pipeline_run.env, "status", "--json")
    assert done.returncode == 0 and "Traceback" not in done.stderr
    doc = json.loads(done.stdout)
    with duckdb.connect(str(pipeline_run.settings.warehouse), read_only=True) as con:
        expected = con.execute("""SELECT feed, kind, count(*), sum(rows), sum(rows_rejected)
                                  FROM meta.deliveries WHERE status = 'loaded'
                                  GROUP BY ALL ORDER BY 1, 2""").fetchall()
    assert [(f["feed"], f["kind"], f["files_loaded"], f["rows_loaded"], f["rows_rejected"])
            for f in doc["feeds"]] == expected
    assert doc["busy"] is None and doc["published"]["marts"] > 10
    text = csp(pipeline_run.env, "status")
    assert text.returncode == 0 and "police/crimes" in text.stdout


def test_status_while_a_run_holds_the_warehouse_reads_the_published_manifest(pipeline_run):
    with duckdb.connect(str(pipeline_run.settings.warehouse)):  # a writer, as a run is
        done = csp(pipeline_run.env, "status")
        as_json = csp(pipeline_run.env, "status", "--json")
    assert done.returncode == 0 and as_json.returncode == 0
    assert "Traceback" not in done.stdout + done.stderr + as_json.stderr
    assert "The warehouse is busy: a run is writing the warehouse" in done.stdout
    doc = json.loads(as_json.stdout)
    assert doc["source"] == "published snapshot manifest"
    manifest = json.loads((pipeline_run.settings.published_dir / "current" /
                           "manifest.json").read_text())
    assert sum(f["files_loaded"] for f in doc["feeds"]) == len(manifest["inputs"])


def test_validate_the_nights_broken_file_would_load_without_its_bad_row(pipeline_run):
    path = pipeline_run.settings.landing_dir / pipeline_run.broken_file
    with path.open(newline="") as fh:
        rows = sum(1 for _ in csv.reader(fh)) - 1
    done = csp(pipeline_run.env, "validate", str(path))
    assert done.returncode == 0, done.stdout + done.stderr
    assert f"would load: {rows:,} rows, 1 rejected" in done.stdout
    assert "volume checked against the kind's recent deliveries" in done.stdout


# ---------------------------------------------------------------------------- a failed night


@pytest.fixture(scope="module")
def failed_night(tmp_path_factory):
    """A backfill whose first night's warehouse build fails: the deployment's reference data has
    a bad value. The backfill stops there; its nights are run as `csp run` runs one."""
    root = tmp_path_factory.mktemp("failed")
    (root / "data" / "landing").mkdir(parents=True)
    (root / "ref").mkdir()
    (root / "ref" / "ref_populations.csv").write_text(
        "la_code,year,population_total,population_10_17\nE06000001,2023,many,9000\n")
    with serve(200) as hook:
        env = dict(os.environ, CSP_DATA_DIR=str(root / "data"), AIRFLOW_HOME=str(root / "af"),
                   CSP_DEMO_MODE="1", CSP_REFERENCE_DIR=str(root / "ref"),
                   CSP_RETRY_DELAY_SECONDS="0", CSP_ALERT_WEBHOOK_URL=hook.url)
        done = csp(env, "backfill", "--from", NIGHT.isoformat(), "--to", "2024-06-01")
        received = list(hook.received)
    return done, received, root


def test_a_failed_night_says_where_and_a_backfill_stops_there(failed_night):
    done, _, root = failed_night
    assert done.returncode == 1
    err = done.stderr
    assert f"csp run: the night of {NIGHT} FAILED in csp_warehouse" in err
    [line] = [x for x in err.splitlines() if x.startswith("  DAG csp_warehouse, task prepare:")]
    assert (f"{root / 'ref' / 'ref_populations.csv'} row 1, column population_total: 'many' is "
            "not a whole number") in line
    [log] = re.findall(r"last \d+ lines of its log (\S+):", err)
    assert Path(log).exists() and "dag_id=csp_warehouse" in log and "task_id=prepare" in log
    assert "ReferenceDataError" in err.split(log, 1)[1]  # the tail of that log, printed
    assert "  FAILED csp_warehouse.prepare: " in done.stdout  # as it happened
    assert "Traceback" not in done.stdout
    assert "== backfill night 1 of 2: 2024-05-31" in done.stdout
    assert "night 2 of 2" not in done.stdout
    assert ("csp backfill: stopped at 2024-05-31 (night 1 of 2); nights after it were not run"
            in err)


def test_a_failed_task_is_alerted(failed_night):
    _, received, _ = failed_night
    failed = [p for _, p in received if p["event"] == "task_failed"]
    assert {(p["dag_id"], p["task_id"]) for p in failed} == {("csp_warehouse", "prepare")}
    assert "population_total" in failed[0]["error"]
