"""One feed DAG run through Airflow (dag.test, SQLite metadata) when a file cannot be read: the
kind's other files still load, oldest first, the Asset is still emitted for the warehouse build,
and the run fails visibly."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from datetime import date, timedelta

import duckdb

from csp_pipeline.core.registry import load_registry
from csp_pipeline.core.settings import PROJECT_ROOT, Settings
from tests.support.rows import valid_rows, write_extract

NIGHT = date(2024, 5, 31)
RUN_FEED_DAG = """
import json, sys
from datetime import datetime, timezone
from csp_pipeline.orchestration.runner import load_dags, prepare
from csp_pipeline.core.settings import Settings
prepare(Settings.from_env())
run = load_dags().get_dag("csp_feed_fire").test(
    logical_date=datetime(2024, 5, 31, 2, tzinfo=timezone.utc))
states = {ti.task_id: str(ti.state) for ti in run.get_task_instances()}
print(json.dumps({"run": str(run.state), "tasks": states}))
"""


def test_a_file_that_errors_fails_the_run_after_the_kinds_other_files_load(tmp_path):
    env = dict(os.environ, CSP_DATA_DIR=str(tmp_path / "data"), CSP_DEMO_MODE="1",
               AIRFLOW_HOME=str(tmp_path / "airflow"), CSP_RETRY_DELAY_SECONDS="1")
    settings = Settings.from_env(env)
    kind = load_registry().kind("fire", "incidents")
    days = [NIGHT - timedelta(days=2), NIGHT - timedelta(days=1), NIGHT]
    for i, day in enumerate(days):
        write_extract(settings.landing_dir, kind, day, valid_rows(kind, 20, day, start=100 * i))
    broken = settings.landing_dir / "fire" / kind.file_name(days[1].isoformat())
    broken.unlink()
    broken.mkdir()  # named like an extract, but cannot be read as one

    done = subprocess.run([sys.executable, "-c", RUN_FEED_DAG], env=env, cwd=PROJECT_ROOT,
                          capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-3000:]
    result = json.loads(done.stdout.strip().splitlines()[-1])
    assert result == {"run": "failed", "tasks": {
        "discover": "success", "audit": "success", "process": "failed", "report": "success",
        "all_files_processed": "upstream_failed", "feed_failed": "success"}}
    assert f"{broken.name}: IsADirectoryError" in done.stdout + done.stderr
    with duckdb.connect(str(settings.warehouse), read_only=True) as con:
        loaded = con.execute("SELECT extract_date, rows FROM meta.deliveries "
                             "WHERE status = 'loaded' ORDER BY processed_at").fetchall()
        feed_run = con.execute("SELECT feed, ok, detail FROM meta.feed_runs").fetchall()
    assert loaded == [(days[0], 20), (days[2], 20)]  # in extract-date order, around the broken one
    [(feed, ok, detail)] = feed_run  # the warehouse build will not publish over it
    assert (feed, ok) == ("fire", False) and f"{broken.name}: IsADirectoryError" in detail
