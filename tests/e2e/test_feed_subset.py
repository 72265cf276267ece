"""Any subset of feeds: a partnership onboarding its police feed first. Its landing zone holds only
police files (from `csp generate`); `csp run` through Airflow builds, tests and publishes what it
can: the feeds that never delivered have empty raw tables and empty marts, none of them failing.
"""

from __future__ import annotations

import json
import os
import re
import shutil
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path

import duckdb
import pytest

from csp_pipeline.core.registry import load_registry
from csp_pipeline.core.settings import Settings
from csp_pipeline.ingest.backfill import consolidate
from csp_pipeline.publish.disclosure import load_policy
from tests.support.pipeline import csp

pytestmark = pytest.mark.e2e

START, NIGHT = date(2024, 4, 1), date(2024, 5, 31)
POLICE_MARTS = {"cs_crime_monthly", "dq_feed_health", "dq_police_attribution"}  # police alone fill


@dataclass
class Run:
    settings: Settings
    returncode: int
    output: str


@pytest.fixture(scope="module")
def police_only(tmp_path_factory) -> Run:
    root = tmp_path_factory.mktemp("police_only")
    env = dict(os.environ, CSP_DATA_DIR=str(root / "data"), AIRFLOW_HOME=str(root / "airflow"),
               CSP_DEMO_MODE="1")
    settings = Settings.from_env(env)
    made = csp(env, "generate", "--out", str(root / "generated"), "--start", START.isoformat(),
               "--end", NIGHT.isoformat(), "--scale", "0.2", "--seed", "11")
    assert made.returncode == 0, made.stderr[-2000:]
    shutil.copytree(root / "generated" / "police", settings.landing_dir / "police")
    consolidate(load_registry(), settings.landing_dir, NIGHT - timedelta(days=1))
    done = csp(env, "run", "--date", NIGHT.isoformat())
    return Run(settings, done.returncode, done.stdout + done.stderr)


def rows_per_table(path: Path, schema: str) -> dict[str, int]:
    with duckdb.connect(str(path), read_only=True) as con:
        tables = [t for (t,) in con.execute(
            "SELECT table_name FROM duckdb_tables() WHERE schema_name = ?", [schema]).fetchall()]
        return {t: con.execute(f"SELECT count(*) FROM {schema}.{t}").fetchone()[0]
                for t in tables}


def test_every_dag_succeeds_with_only_police_files(police_only):
    assert police_only.returncode == 0, police_only.output[-3000:]
    # `csp run` prints "<dag_id>: <state> in <n> s" as each DAG ends
    states = dict(re.findall(r"^(csp_\w+): (\w+) in \d+ s$", police_only.output, re.M))
    assert set(states.values()) == {"success"} and "csp_warehouse" in states, states


def test_the_feeds_that_never_delivered_have_empty_raw_tables(police_only):
    raw = rows_per_table(police_only.settings.warehouse, "raw")
    assert set(raw) == {k.id for k in load_registry().kinds}
    assert {t for t, n in raw.items() if n} == {"police__crimes"}


def test_police_marts_are_filled_and_the_others_empty(police_only):
    marts = rows_per_table(police_only.settings.warehouse, "marts")
    assert {m for m, n in marts.items() if n} == POLICE_MARTS, marts
    assert len(marts) > len(POLICE_MARTS)


def test_the_snapshot_is_published_with_every_declared_mart(police_only):
    current = police_only.settings.published_dir / "current"
    manifest = json.loads((current / "manifest.json").read_text())
    policy = load_policy()
    assert set(manifest["marts"]) == set(policy.marts)  # empty marts are published too
    assert all(not policy.declared(m) for m in manifest["withheld"]), manifest["withheld"]
    published = rows_per_table(current / "published.duckdb", "marts")
    assert published["cs_crime_monthly"] > 0
    assert all(n == 0 for m, n in published.items() if m not in POLICE_MARTS)
    assert all((current / "csv" / f"{m}.csv").exists() for m in manifest["marts"])
